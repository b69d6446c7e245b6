"""Tasks in the bundled apps' own prompt formats (the second mixture, `v2`).

The first mixture taught the formats in general; these conversations use the exact prompts
the apps send, so what the model learns is what the demo asks of it:

- `desk_react_task`: the customer desk's ReAct turn — FAQ entries recalled from memory as
  `Context: Q: ... A: ...`, then the customer's message; look an order up with
  `order_status`, or answer with the matching FAQ answer word for word;
- `recommend_task`: the recommender's prompt (liked items, candidates `id | description`)
  → one `<id>: <reason>` line per pick, preferring candidates that share a tag;
- `translate_task`: English → French for a small grammar of product-review and order
  sentences (the classifier/translator pipeline); the model knows only this grammar;
- `echo_long_task`: a longer copy drill (up to ten pieces, whole sentences), auxiliary.

Held-out splits as elsewhere: frames by hand, names by hash, and for translation whole
sentences by hash (the vocabulary is closed, so what is held out is the combination).
"""

from __future__ import annotations

import random

from llmagentos.learning.corpus import pools
from llmagentos.learning.corpus.echo import echo_example
from llmagentos.learning.corpus.example import (
    Example,
    Target,
    answer_text,
    call_text,
    observation,
)
from llmagentos.learning.corpus.pools import Split, _pool, held_out, word
from llmagentos.learning.corpus.tools import offer, system_prompt

# -- the customer desk ------------------------------------------------------------------

_METHODS = ("cards", "PayPal", "bank transfer", "gift cards", "Apple Pay", "invoice")


def _faq(rng: random.Random, split: Split) -> list[tuple[str, tuple[str, ...], str]]:
    """FAQ entries: (the FAQ's question, ways a customer asks it, the answer)."""
    n, lo = rng.randint(7, 60), rng.randint(2, 5)
    free, fee = (
        rng.choice((25, 30, 40, 50, 60, 75)),
        f"{rng.randint(2, 9)}.{rng.choice((0, 5, 9))}0",
    )
    place = pools.PLACES.pick(rng, split)
    methods = rng.sample(_METHODS, 3)
    opens, closes = rng.choice(pools.OPENING), rng.choice(pools.CLOSING)
    stage, wait = rng.choice(("packed", "shipped")), rng.randint(2, 15)
    return [
        (
            "How long do I have to return an item?",
            (
                "Can I still return my item?",
                "How many days do I have to send something back?",
                "What is your return policy?",
                "Is it too late to return this?",
            ),
            f"You can return any item within {n} days of delivery for a full refund.",
        ),
        (
            "Do you ship abroad?",
            (
                "Do you deliver to other countries?",
                "Can you send my order abroad?",
                "Do you ship internationally?",
                "Can I order from another country?",
            ),
            f"We ship to most countries; delivery abroad takes {lo} to {lo + 3} working days.",
        ),
        (
            "How much does shipping cost?",
            (
                "What are the delivery costs?",
                "Is shipping free?",
                "How much is delivery?",
                "Do I pay for shipping?",
            ),
            f"Shipping is free on orders over {free} euros; below that it costs {fee} euros.",
        ),
        (
            "Which payment methods do you accept?",
            (
                "How can I pay?",
                "Can I pay with PayPal?",
                "What payment options are there?",
                "Do you take cards?",
            ),
            f"We accept {methods[0]}, {methods[1]} and {methods[2]}.",
        ),
        (
            "When is the shop open?",
            (
                "What are your opening hours?",
                "When can I visit the store?",
                "Is the shop open today?",
                "What time do you open?",
            ),
            f"The {place} is open from {opens} to {closes}, Monday to Saturday.",
        ),
        (
            "How can I change my delivery address?",
            (
                "I moved, can I change the address?",
                "Can I send my order to another address?",
                "How do I update my address?",
                "My address is wrong, what can I do?",
            ),
            f"You can change the address in your account until the order is {stage}.",
        ),
        (
            "How do I reset my password?",
            (
                "I forgot my password.",
                "I cannot log in to my account.",
                "How can I get a new password?",
                "My password does not work.",
            ),
            f"Use 'Forgot password' on the login page; the email arrives within {wait} minutes.",
        ),
    ]


_ORDER_ASKS = _pool(
    "Where is my order {id}?|What is the status of order {id}?|Has my order {id} shipped yet?"
    "|Can you check order {id} for me?|When will order {id} arrive?|Any news on my order {id}?"
    "|I am still waiting for order {id}.",
    1,
    extra="Order {id} has not arrived.|Can you track order {id}?|Where is order {id} now?"
    "|Is order {id} delayed?|What is going on with order {id}?|My order {id} is late.",
)


def desk_react_task(rng: random.Random, split: Split) -> Example:
    """The desk's ReAct turn: FAQ context, the customer's message, a lookup or an answer."""
    faq = _faq(rng, split)
    entries = rng.sample(faq, 2)
    asks_order = rng.random() < 0.5
    match = entries[0] if not asks_order else None
    if not asks_order and rng.random() < 0.3:
        entries.reverse()  # recall is not always right: the matching entry may come second
    context = " ".join(f"Q: {q} A: {a}" for q, _, a in entries)
    tools = ["order_status"] if rng.random() < 0.7 else offer(rng, "order_status")
    system = {"role": "system", "content": system_prompt(tools)}
    if asks_order:
        oid = pools.order_id(rng)
        status, date = rng.choice(pools.ORDER_STATUS), rng.choice(pools.DATES)
        message = _ORDER_ASKS.pick(rng, split).format(id=oid)
        result = {"order_id": oid, "status": status, "eta": date}
        answer = f"Order {oid} is {status}. Expected delivery: {date}."
        user = {"role": "user", "content": f"Context: {context}\nQuestion: {message}"}
        messages = (
            system,
            user,
            {"role": "assistant", "content": call_text("order_status", {"order_id": oid})},
            {"role": "tool", "name": "order_status", "content": observation(result)},
            {"role": "assistant", "content": answer_text(answer, True)},
        )
        targets = (
            Target("tool", True, tool="order_status", arguments={"order_id": oid}),
            Target("answer", True, fact=status),
        )
        return Example("desk_react", messages, targets, tuple(tools))
    assert match is not None
    if split == "eval":
        message = match[1][-1]
    else:
        message = match[0] if rng.random() < 0.25 else rng.choice(match[1][:-1])
    answer = match[2]
    user = {"role": "user", "content": f"Context: {context}\nQuestion: {message}"}
    reply = {"role": "assistant", "content": answer_text(answer, True)}
    return Example(
        "desk_react", (system, user, reply), (Target("answer", True, fact=answer),), tuple(tools)
    )


# -- the recommender --------------------------------------------------------------------

_GENRES = (
    "science fiction",
    "fantasy",
    "mystery",
    "history",
    "romance",
    "cooking",
    "travel",
    "poetry",
    "horror",
    "biography",
    "nature",
    "sports",
)
_THEMES = (
    "space",
    "family",
    "war",
    "friendship",
    "desert",
    "ocean",
    "city",
    "magic",
    "politics",
    "survival",
    "music",
    "crime",
    "future",
    "empire",
    "robots",
    "islands",
)
_PLOTS = (
    "A {who} searches for {what} in {where}.",
    "A {who} must protect {what} from {where}.",
    "Two friends follow {what} across {where}.",
    "A {who} writes about {what} and {where}.",
    "A {who} loses {what} and rebuilds a life in {where}.",
)
_WHO = ("young pilot", "old sailor", "detective", "cook", "queen", "farmer", "teacher", "robot")
_WHAT = ("a lost map", "a secret", "an old song", "a stolen ship", "a hidden garden", "the truth")
_WHERE = (
    "a frozen city",
    "the northern islands",
    "a desert planet",
    "a small village",
    "a dark forest",
    "an empty station",
)
_ASK = _pool(
    "Recommend the best {k} candidates for {user}. Answer with one line per pick:"
    " <id>: <one-sentence reason>."
    "|Pick the {k} candidates {user} will like most. Answer with one line per pick:"
    " <id>: <one-sentence reason>.",
    1,
)


def _item(rng: random.Random, split: Split, genre: str) -> dict[str, object]:
    title = f"The {word(rng)}" if rng.random() < 0.5 else f"{word(rng)} {word(rng)}"
    while held_out(title) != (split == "eval"):
        title = f"The {word(rng)}" if rng.random() < 0.5 else f"{word(rng)} {word(rng)}"
    plot = rng.choice(_PLOTS).format(
        who=rng.choice(_WHO), what=rng.choice(_WHAT), where=rng.choice(_WHERE)
    )
    tags = [genre, *rng.sample(_THEMES, 2)]
    return {
        "id": title.lower().replace(" ", "-"),
        "title": title,
        "description": plot,
        "tags": tags,
    }


def _describe(item: dict[str, object]) -> str:
    tags = item["tags"]
    assert isinstance(tags, list)
    return f"{item['title']}: {item['description']} ({', '.join(tags)})"


def recommend_task(rng: random.Random, split: Split) -> Example:
    """The recommender's prompt → the candidates that share the liked items' genre."""
    user = word(rng).lower()
    genre, *others = rng.sample(_GENRES, 4)
    liked = [_item(rng, split, genre) for _ in range(rng.randint(2, 3))]
    k = rng.choice((2, 3, 3))
    n_good = rng.randint(k, k + 1)
    candidates = [_item(rng, split, genre) for _ in range(n_good)]
    candidates += [_item(rng, split, rng.choice(others)) for _ in range(rng.randint(2, 3))]
    rng.shuffle(candidates)
    picks = [c for c in candidates if c["tags"][0] == genre][:k]  # type: ignore[index]
    lines = "\n".join(f"- {c['id']} | {_describe(c)}" for c in candidates)
    prompt = (
        f"{user} liked:\n"
        + "\n".join(f"- {_describe(p)}" for p in liked)
        + f"\nCandidates:\n{lines}\n"
        + _ASK.pick(rng, split).format(k=k, user=user)
    )
    reply = "\n".join(
        f"{c['id']}: {genre} like {rng.choice(liked)['title']}, which {user} liked." for c in picks
    )
    messages = ({"role": "user", "content": prompt}, {"role": "assistant", "content": reply})
    fact = "\n".join(str(c["id"]) for c in picks)
    meta = {"user": user, "liked": liked, "candidates": candidates, "k": k}  # for guided picks
    return Example("recommend", messages, (Target("picks", False, fact=fact),), (), meta)


# -- translation (a closed grammar) ------------------------------------------------------

# English noun → (French noun, feminine?)
_NOUNS: dict[str, tuple[str, bool]] = {
    "kettle": ("bouilloire", True),
    "lamp": ("lampe", True),
    "blender": ("mixeur", False),
    "phone": ("téléphone", False),
    "chair": ("chaise", True),
    "jacket": ("veste", True),
    "book": ("livre", False),
    "watch": ("montre", True),
    "bag": ("sac", False),
    "table": ("table", True),
    "toaster": ("grille-pain", False),
    "radio": ("radio", True),
    "printer": ("imprimante", True),
    "backpack": ("sac à dos", False),
    "camera": ("appareil photo", False),
    "fan": ("ventilateur", False),
}
# English adjective → (masculine, feminine)
_ADJ: dict[str, tuple[str, str]] = {
    "great": ("super", "super"),
    "small": ("petit", "petite"),
    "new": ("neuf", "neuve"),
    "heavy": ("lourd", "lourde"),
    "slow": ("lent", "lente"),
    "fast": ("rapide", "rapide"),
    "broken": ("cassé", "cassée"),
    "beautiful": ("beau", "belle"),
    "noisy": ("bruyant", "bruyante"),
    "cheap": ("bon marché", "bon marché"),
    "perfect": ("parfait", "parfaite"),
}
_DAYS = dict(
    zip(
        pools.DAYS,
        ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
        strict=True,
    )
)
_NUMBERS = {
    "two": "deux",
    "three": "trois",
    "four": "quatre",
    "five": "cinq",
    "six": "six",
    "ten": "dix",
    "a few": "quelques",
}
_TRANSLATE = (
    "Translate this text from English to French: {text}",
    "Translate to French: {text}",
    "Translate this into French: {text}",
    "How do you say this in French? {text}",
)
"""All frames are trained: what translation holds out is the sentences (by hash)."""


def _sentence(rng: random.Random) -> tuple[str, str]:
    """One English sentence of the grammar and its French translation."""
    noun = rng.choice(list(_NOUNS))
    fr, fem = _NOUNS[noun]
    this, the, it = ("cette", "la", "elle") if fem else ("ce", "le", "il")
    if fr[0] in "aeiouéh":
        this, the = ("cette", "l'") if fem else ("cet", "l'")
    the_fr = the.capitalize() + ("" if the.endswith("'") else " ") + fr
    adj, num, day = rng.choice(list(_ADJ)), rng.choice(list(_NUMBERS)), rng.choice(pools.DAYS)
    e = "e" if fem else ""
    my = "Ma" if fem and fr[0] not in "aeiouéh" else "Mon"
    en, fr_text = rng.choice(
        [
            (f"I love this {noun}", f"J'adore {this} {fr}"),
            (f"I like this {noun}", f"J'aime {this} {fr}"),
            (f"I do not like this {noun}", f"Je n'aime pas {this} {fr}"),
            (
                f"The {noun} broke after {num} days",
                f"{the_fr} s'est cassé{e} après {_NUMBERS[num]} jours",
            ),
            (f"The {noun} is {adj}", f"{the_fr} est {_ADJ[adj][fem]}"),
            (
                f"My {noun} arrived on {day}",
                f"{my} {fr} est arrivé{e} {_DAYS[day]}",
            ),
            (f"My order arrived on {day}", f"Ma commande est arrivée {_DAYS[day]}"),
            ("My order arrived late", "Ma commande est arrivée en retard"),
        ]
    )
    tails = [
        ("", ""),
        (", it works perfectly", f", {it} fonctionne parfaitement"),
        (", it works well", f", {it} fonctionne bien"),
        (" and I am happy", " et je suis content"),
        (" and I want a refund", " et je veux un remboursement"),
        (", thank you", ", merci"),
    ]
    if "arrived" in en:
        tails.append((" in a box", " dans une boîte"))
    tail_en, tail_fr = rng.choice(tails)
    return f"{en}{tail_en}.", f"{fr_text}{tail_fr}."


def translate_task(rng: random.Random, split: Split) -> Example:
    """English → French for the grammar above; eval sentences never occur in training."""
    while True:
        en, fr = _sentence(rng)
        if held_out(en) == (split == "eval"):
            break
    user = rng.choice(_TRANSLATE).format(text=en)
    messages = ({"role": "user", "content": user}, {"role": "assistant", "content": fr})
    return Example("translate", messages, (Target("translation", False, fact=fr),))


# -- a longer copy drill -----------------------------------------------------------------

_ECHO = _pool(
    "Repeat exactly: {x}|Say this back to me: {x}|Copy this text: {x}|Echo: {x}"
    "|Write this out again: {x}|Please repeat: {x}",
    1,
)


def _piece(rng: random.Random, split: Split) -> str:
    kind = rng.randrange(8)
    if kind == 0:
        return pools.order_id(rng)
    if kind == 1:
        return str(rng.randint(0, 999999))
    if kind == 2:
        return pools.PEOPLE.pick(rng, split)
    if kind == 3:
        return pools.PLACES.pick(rng, split)
    if kind == 4:
        return pools.PRODUCTS.pick(rng, split)
    if kind == 5:
        return pools.COMPANIES.pick(rng, split)
    return word(rng) if kind == 6 else f"{word(rng).lower()}-{rng.randint(1, 99)}"


def echo_long_task(rng: random.Random, split: Split) -> Example:
    """Say back up to ten made-up pieces, or whole made-up sentences, in either format."""
    if rng.random() < 0.3:
        text = (
            _sentence(rng)[0]
            if rng.random() < 0.3
            else (
                f"{pools.PEOPLE.pick(rng, split)} met {pools.PEOPLE.pick(rng, split)} at the"
                f" {pools.PLACES.pick(rng, split)} on {rng.choice(pools.DAYS)}."
            )
        )
    else:
        text = " ".join(_piece(rng, split) for _ in range(rng.randint(2, 10)))
    # rarely under the agent prompt: there, tools come first
    return echo_example(rng, split, "echo_long", text, _ECHO, 0.15, (0, 1, 2))
