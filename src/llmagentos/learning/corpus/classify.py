"""Text classification (sentiment, intent) and the customer desk's plain-text replies.

The labelled texts double as a classification data set (`labelled_texts`) for fine-tuning a
sequence-classification head, the seeds' customer-service intent classifier.
"""

from __future__ import annotations

import random

from llmagentos.learning.corpus import pools
from llmagentos.learning.corpus.example import Example, Target, answer_text
from llmagentos.learning.corpus.pools import Split, _pool, held_out, shared
from llmagentos.learning.corpus.tools import offer, system_prompt

SENTIMENT: dict[str, tuple[str, ...]] = {
    "positive": shared(
        "I love this {p}|the {p} works perfectly|the {p} is great|really happy with the {p}"
        "|the {p} exceeded my expectations|excellent {p}|the {p} is great value for money"
        "|best {p} I ever had|the {p} is fantastic|very pleased with the {p}"
        "|the {p} works great|I would buy the {p} again"
    ),
    "negative": shared(
        "the {p} broke after two days|terrible {p}|I am disappointed with the {p}"
        "|the {p} stopped working|the {p} is awful|the {p} arrived damaged|poor quality {p}"
        "|the {p} is a waste of money|very unhappy with the {p}|the {p} is useless"
        "|I regret buying the {p}|do not buy the {p}"
    ),
    "neutral": shared(
        "the {p} arrived on {day}|I bought the {p} last week|the {p} comes in a box"
        "|the {p} is {color}|I ordered the {p} on {day}|the {p} came in a {color} box"
        "|my sister has the same {p}|the {p} came with a manual|I got the {p} yesterday"
        "|the {p} is the {color} model"
    ),
}
INTENT: dict[str, tuple[str, ...]] = {
    "order_status": shared(
        "where is my package|my order {id} has not arrived|when will order {id} arrive"
        "|has my order shipped yet|I am still waiting for order {id}|is my order {id} on its way"
        "|when does my package arrive|can you track my order {id}"
    ),
    "refund": shared(
        "I want a refund for the {p}|can I get my money back|please refund order {id}"
        "|how do I get a refund|I would like my money back for order {id}"
        "|refund the {p}, please|I need a refund, the {p} was wrong"
        "|I want to return the {p} for a refund"
    ),
    "cancel_order": shared(
        "please cancel order {id}|I want to cancel my order|cancel the {p} I ordered"
        "|can you cancel order {id}|I no longer want the {p}, cancel it"
        "|I changed my mind, cancel order {id}|please cancel my order for the {p}"
        "|I want to cancel order {id} now"
    ),
    "complaint": shared(
        "your support was rude|the delivery driver was very late"
        "|I am unhappy with your service|nobody answered my emails|your service is very slow"
        "|the delivery was late again|your support team was rude to me"
        "|I waited an hour on the phone"
    ),
    "greeting": shared(
        "hello|hi there|good morning|hey, how are you|good afternoon|hello, good evening"
        "|hi, good morning|hey there"
    ),
}
# A text is a phrase in a frame; some (phrase, frame) pairs are held out for evaluation.
_TEXT_FRAMES = shared("{s}.|{S}.|{S}!|Honestly, {s}.|Well, {s}.|{S}, to be honest.|Hi, {s}.")
DESK_REPLIES = {
    "order_status": "I can check that for you. Please tell me your order number.",
    "refund": "Refunds are possible within 30 days of delivery. "
    "Please send your order number and the reason.",
    "cancel_order": "I can cancel an order that has not shipped yet. "
    "Please confirm your order number.",
    "complaint": "I am sorry about that. I have passed your feedback to our team.",
    "greeting": "Hello! How can I help you today?",
}
_TASKS = {"sentiment": SENTIMENT, "intent": INTENT}
_FRAMES = {
    "sentiment": _pool(
        "Classify the sentiment of this review as positive, negative or neutral.\nReview: {text}"
        "|What is the sentiment of this review (positive, negative or neutral)? {text}"
        "|Sentiment of this text, positive, negative or neutral: {text}"
        "|Is this review positive, negative or neutral? {text}",
        1,
        "Review: {text}\nIs the tone negative, neutral or positive?"
        "|Rate the feeling of this review (negative, positive, neutral): {text}"
        "|How does the reviewer feel: positive, neutral or negative? {text}",
    ),
    "intent": _pool(
        "Classify the intent of this message as order_status, refund, cancel_order, complaint"
        " or greeting.\nMessage: {text}"
        "|Which intent is this: order_status, refund, cancel_order, complaint or greeting?"
        " {text}"
        "|Intent of this customer message (order_status, refund, cancel_order, complaint or"
        " greeting): {text}",
        1,
        "Label the message with one intent (greeting, complaint, refund, order_status,"
        " cancel_order): {text}"
        "|Message: {text}\nWhat does the sender want: refund, greeting, cancel_order,"
        " order_status or complaint?"
        "|Sort this message into refund, complaint, greeting, order_status or cancel_order:"
        " {text}",
    ),
}


def _draw(
    rng: random.Random,
    split: Split,
    tag: str,
    phrases: dict[str, tuple[str, ...]],
    frames: tuple[str, ...],
) -> tuple[str, str, str]:
    """A label, one of its phrases and a frame, such that the (phrase, frame) pair belongs
    to `split` (some pairs are held out for evaluation)."""
    while True:
        label = rng.choice(sorted(phrases))
        phrase, frame = rng.choice(phrases[label]), rng.choice(frames)
        if held_out(f"{tag}|{phrase}|{frame}") == (split == "eval"):
            return label, phrase, frame


def labelled_text(rng: random.Random, split: Split, task: str) -> tuple[str, str]:
    """A `(text, label)` pair for `task` ("sentiment" or "intent")."""
    label, phrase, frame = _draw(rng, split, task, _TASKS[task], _TEXT_FRAMES)
    filled = phrase.format(
        p=rng.choice(pools.ITEMS),
        day=rng.choice(pools.DAYS),
        color=rng.choice(pools.COLORS),
        id=pools.order_id(rng),
    )
    return frame.format(s=filled, S=filled[0].upper() + filled[1:]), label


def labelled_texts(seed: int, n: int, split: Split, task: str) -> list[tuple[str, str]]:
    """`n` labelled texts, deterministic from `seed` (a classification data set)."""
    rng = random.Random(f"labels:{task}:{seed}:{split}")
    return [labelled_text(rng, split, task) for _ in range(n)]


def classify_task(rng: random.Random, split: Split) -> Example:
    task = rng.choice(sorted(_TASKS))
    text, label = labelled_text(rng, split, task)
    react = rng.random() < 0.4
    user = _FRAMES[task].pick(rng, split).format(text=text)
    messages: list[dict[str, str]] = []
    tools: list[str] = []
    if react:
        tools = offer(rng, None)
        messages.append({"role": "system", "content": system_prompt(tools)})
    messages += [
        {"role": "user", "content": user},
        {"role": "assistant", "content": answer_text(label, react)},
    ]
    target = Target("label", react, label=label)
    return Example(f"classify_{task}", tuple(messages), (target,), tuple(tools))


# Headlines about companies, for the sentiment monitor's domain (financial news). None of
# the monitor's sample headlines is written here: the demo shows what the model makes of
# headlines it has not seen.
NEWS: dict[str, tuple[str, ...]] = {
    "positive": shared(
        "reports record earnings|stock jumps after results beat forecasts"
        "|wins a contract worth {n} million dollars|raises its profit outlook"
        "|sales grow {n} percent|shares climb on strong demand|signs a major supply deal"
        "|profits double this year|shares soar to a record high|lands its biggest order ever"
    ),
    "negative": shared(
        "cuts {n}00 jobs|misses profit forecasts|warns that profits will fall"
        "|is fined {n} million dollars|stock drops after a weak quarter"
        "|loses its largest customer|halts production after a factory fire"
        "|is sued by investors|shares tumble after an accounting scandal"
        "|pulls {n},000 faulty {p}s from stores"
    ),
    "neutral": shared(
        "appoints a new head of marketing|relocates its main office to {city}"
        "|will publish results on {day}|holds its yearly meeting on {day}"
        "|opens a small office in {city}|changes its company logo|updates its website"
        "|hires a new chief operating officer|renames its {p} line|joins a trade group"
    ),
}
_NEWS_FRAMES = shared("{C} {e}|{C} {e}.|Breaking: {C} {e}|{C} {e}, sources say|News: {C} {e}")


def news_headline(rng: random.Random, split: Split) -> tuple[str, str]:
    """A `(headline, label)` pair about a company (held out by event and frame)."""
    label, event, frame = _draw(rng, split, "news", NEWS, _NEWS_FRAMES)
    filled = event.format(
        n=rng.randint(2, 9),
        p=rng.choice(pools.ITEMS),
        city=rng.choice(pools.CITIES),
        day=rng.choice(pools.DAYS),
    )
    return frame.format(C=pools.COMPANIES.pick(rng, split), e=filled), label


def news_headlines(seed: int, n: int, split: Split) -> list[tuple[str, str]]:
    """`n` labelled headlines, deterministic from `seed` (a classification data set)."""
    rng = random.Random(f"labels:news:{seed}:{split}")
    return [news_headline(rng, split) for _ in range(n)]


def news_task(rng: random.Random, split: Split) -> Example:
    """A company headline → its sentiment (the sentiment monitor's task)."""
    headline, label = news_headline(rng, split)
    user = _FRAMES["sentiment"].pick(rng, split).format(text=headline)
    messages = ({"role": "user", "content": user}, {"role": "assistant", "content": label})
    return Example("classify_news", messages, (Target("label", False, label=label),))


_SMALL_TALK = (
    ("Say hi", "Hi! How can I help you today?"),
    (
        "Who are you?",
        "I am the built-in demo model of llmagentos: a small offline model for "
        "simple agent tasks such as tool calls, reading short passages and sorting messages.",
    ),
    (
        "What can you do?",
        "I can call tools, answer from a short text, summarize, sort "
        "messages by intent or sentiment and pick maze moves. For anything else, use a larger "
        "model.",
    ),
    ("Thank you!", "You are welcome!"),
    ("Thanks for your help.", "You are welcome!"),
)
_DESK_SYSTEM = "You are a helpful customer service assistant."


def desk_task(rng: random.Random, split: Split) -> Example:
    """A customer's message in a plain chat: the desk's canned, intent-specific reply."""
    if split != "eval" and rng.random() < 0.15:  # fixed lines: nothing to hold out
        user, reply = rng.choice(_SMALL_TALK)
    else:
        text, label = labelled_text(rng, split, "intent")
        user, reply = text, DESK_REPLIES[label]
    messages: list[dict[str, str]] = []
    if rng.random() < 0.3:
        messages.append({"role": "system", "content": _DESK_SYSTEM})
    messages += [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]
    return Example("desk", tuple(messages), (Target("reply", False, fact=reply),))
