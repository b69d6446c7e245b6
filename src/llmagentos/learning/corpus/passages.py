"""Reading tasks: answer from a passage (given, or retrieved by `search_memory`), summarise.

A passage holds several facts about the entity asked about and, often, the same kind of
fact about a second entity, so the answer has to come from the right sentence.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from llmagentos.learning.corpus import pools
from llmagentos.learning.corpus.example import Example, Target, answer_text
from llmagentos.learning.corpus.pools import Names, Pool, Split, _pool
from llmagentos.learning.corpus.tools import offer, system_prompt
from llmagentos.learning.corpus.tooltasks import tool_conversation


@dataclass(frozen=True, slots=True)
class Attribute:
    """One kind of fact: its sentence, how to draw its value, and the questions about it."""

    fact: str
    value: Callable[[random.Random], str]
    questions: Pool


def _attr(
    fact: str, value: Callable[[random.Random], str], *questions: str, extra: str = ""
) -> Attribute:
    """An attribute whose last question frame is held out for evaluation; `extra` are
    `|`-separated questions of the "wide" split."""
    return Attribute(fact, value, Pool(questions[:-1], questions[-1:], pools.shared(extra)))


def _choice(items: tuple[str, ...]) -> Callable[[random.Random], str]:
    return lambda rng: rng.choice(items)


def _number(low: int, high: int, unit: str = "") -> Callable[[random.Random], str]:
    return lambda rng: f"{rng.randint(low, high)}{unit}"


def _person(rng: random.Random) -> str:
    return pools.PEOPLE.pick(rng, "train")


ENTITIES: dict[str, tuple[Names, list[Attribute]]] = {
    "place": (
        pools.PLACES,
        [
            _attr(
                "{e} opens at {v}.",
                _choice(pools.OPENING),
                "When does {e} open?",
                "What time does {e} open?",
                "At what time does {e} open?",
                extra="Opening hours of {e}?|How early can you get into {e}?",
            ),
            _attr(
                "{e} closes at {v}.",
                _choice(pools.CLOSING),
                "When does {e} close?",
                "What time does {e} close?",
                "At what time does {e} close?",
                extra="Closing time of {e}?|How late can you stay at {e}?",
            ),
            _attr(
                "{e} is on {v}.",
                _choice(pools.STREETS),
                "Where is {e}?",
                "What street is {e} on?",
                "On which street is {e}?",
                extra="What is the address of {e}?|Where can I find {e}?",
            ),
            _attr(
                "{e} is run by {v}.",
                _person,
                "Who runs {e}?",
                "Who is in charge of {e}?",
                "Who manages {e}?",
                extra="Who leads {e}?|Who is the boss of {e}?",
            ),
        ],
    ),
    "product": (
        pools.PRODUCTS,
        [
            _attr(
                "The {e} costs {v}.",
                pools.price,
                "How much does the {e} cost?",
                "What is the price of the {e}?",
                "What does the {e} cost?",
                extra="How expensive is the {e}?|Price of the {e}?",
            ),
            _attr(
                "The {e} comes in {v}.",
                _choice(pools.COLORS),
                "What color is the {e}?",
                "Which color does the {e} come in?",
                "In what color is the {e} sold?",
                extra="The {e} is what color?|Which shade does the {e} come in?",
            ),
            _attr(
                "The {e} has a {v} warranty.",
                _number(1, 5, "-year"),
                "How long is the warranty on the {e}?",
                "What warranty does the {e} have?",
                "How many years of warranty come with the {e}?",
                extra="Is the {e} under warranty, and for how long?|Warranty on the {e}?",
            ),
            _attr(
                "The {e} weighs {v}.",
                _number(1, 20, " kg"),
                "How heavy is the {e}?",
                "What does the {e} weigh?",
                "What is the weight of the {e}?",
                extra="How much does the {e} weigh?|Is the {e} heavy? How heavy?",
            ),
        ],
    ),
    "person": (
        pools.PEOPLE,
        [
            _attr(
                "{e} works as a {v}.",
                _choice(pools.JOBS),
                "What does {e} do for a living?",
                "What is {e}'s job?",
                "What job does {e} have?",
                extra="What is {e}'s line of work?|What work does {e} do?",
            ),
            _attr(
                "{e} lives in {v}.",
                _choice(pools.CITIES),
                "Where does {e} live?",
                "Which city does {e} live in?",
                "In which city does {e} live now?",
                extra="Where is {e}'s home?|What city is {e} living in?",
            ),
            _attr(
                "{e} was born in {v}.",
                pools.year,
                "When was {e} born?",
                "In what year was {e} born?",
                "What is {e}'s year of birth?",
                extra="Which year was {e} born in?|Born in which year, {e}?",
            ),
            _attr(
                "{e}'s favorite food is {v}.",
                _choice(pools.FOODS),
                "What is {e}'s favorite food?",
                "Which food does {e} like most?",
                "What food does {e} love most?",
                extra="What does {e} like to eat best?|Name {e}'s favorite dish.",
            ),
        ],
    ),
    "company": (
        pools.COMPANIES,
        [
            _attr(
                "{e} was founded in {v}.",
                pools.year,
                "When was {e} founded?",
                "In what year was {e} founded?",
                "What year was {e} started?",
                extra="When did {e} begin?|Since what year has {e} existed?",
            ),
            _attr(
                "{e} is based in {v}.",
                _choice(pools.CITIES),
                "Where is {e} based?",
                "Which city is {e} based in?",
                "Where are the headquarters of {e}?",
                extra="Where is {e} located?|In which city does {e} have its office?",
            ),
            _attr(
                "{e} makes {v}.",
                _choice(pools.GOODS),
                "What does {e} make?",
                "What products does {e} make?",
                "What does {e} produce?",
                extra="Which goods does {e} sell?|What goods come from {e}?",
            ),
            _attr(
                "{e} has {v} employees.",
                _number(12, 4800),
                "How many employees does {e} have?",
                "How many people work at {e}?",
                "What is the number of staff at {e}?",
                extra="How big is the team at {e}?|How many workers does {e} have?",
            ),
        ],
    ),
}

_QA_FRAMES = _pool(
    "Context: {p}\nQuestion: {q}|Read this: {p}\n{q}|{p}\nBased on the text above: {q}"
    "|Passage: {p}\nQ: {q}|Here is a passage. {p}\nAnswer this: {q}"
    "|Use this information: {p}\nWhat is the answer to: {q}",
    2,
    "Text: {p}\nQuestion: {q}|Facts: {p}\nQ: {q}|Notes: {p}\nQuery: {q}"
    "|{p}\nFrom the text: {q}|Read the following. {p}\n{q}",
)


def _passage(rng: random.Random, split: Split) -> tuple[str, str, str, str]:
    """(passage, question, fact sentence, fact value) about a fresh entity."""
    kind = rng.choice(sorted(ENTITIES))
    pool, attributes = ENTITIES[kind]
    entity, other = pool.pick_n(rng, split, 2)
    asked, *rest = rng.sample(attributes, rng.randint(2, 3))
    value = asked.value(rng)
    sentence = asked.fact.format(e=entity, v=value)
    sentences = [sentence] + [a.fact.format(e=entity, v=a.value(rng)) for a in rest]
    if rng.random() < 0.7:  # a rival fact of the same kind: the name decides which one
        rival = next((v for v in (asked.value(rng) for _ in range(8)) if v != value), value)
        sentences.append(asked.fact.format(e=other, v=rival))
    rng.shuffle(sentences)
    question = asked.questions.pick(rng, split).format(e=entity)
    return " ".join(sentences), question, sentence, value


def qa_task(rng: random.Random, split: Split) -> Example:
    """Context and question in the prompt: answer directly, in either format."""
    passage, question, sentence, value = _passage(rng, split)
    react = rng.random() < 0.4
    user = _QA_FRAMES.pick(rng, split).format(p=passage, q=question)
    messages: list[dict[str, str]] = []
    tools: list[str] = []
    if react:
        tools = offer(rng, None)
        messages.append({"role": "system", "content": system_prompt(tools)})
    messages += [
        {"role": "user", "content": user},
        {"role": "assistant", "content": answer_text(sentence, react)},
    ]
    return Example("qa", tuple(messages), (Target("answer", react, fact=value),), tuple(tools))


def retrieval_task(rng: random.Random, split: Split) -> Example:
    """A question with no context: search memory, then answer from the passage found."""
    passage, question, sentence, value = _passage(rng, split)
    hits = [{"text": passage, "score": round(rng.uniform(0.6, 0.95), 2)}]
    return tool_conversation(
        rng, "retrieval", question, "search_memory", {"query": question}, hits, sentence, value
    )


# -- summaries ----------------------------------------------------------------------------

_LEADS = (
    "{company} opened a new office in {city}.",
    "{person} won the {city} marathon on {day}.",
    "{place} will close for repairs until {date}.",
    "{company} released the {product} on {date}.",
    "{person} joined {company} as head of sales.",
    "{place} is moving to {street} in {date}.",
    "{company} cut the price of the {product} to {price}.",
    "{person} will give a talk at {place} on {day}.",
)
_DETAILS = (
    "The plan took {n} months.",
    "More news will follow next week.",
    "The team celebrated with {food}.",
    "Tickets cost {price}.",
    "Local news covered the story.",
    "Staff were told on {day}.",
    "It was a busy week for everyone.",
    "Questions can go to the front desk.",
)
_FILLERS = ("Here is today's update.", "News from the team:", "Quick note.", "An update for you.")
_SUMMARY_FRAMES = _pool(
    "Summarize in one sentence: {doc}|Summarize this text: {doc}|Write a short summary: {doc}"
    "|Give me a one-sentence summary of this: {doc}",
    1,
)


def summary_task(rng: random.Random, split: Split) -> Example:
    slots = {
        "company": pools.COMPANIES.pick(rng, split),
        "person": pools.PEOPLE.pick(rng, split),
        "place": pools.PLACES.pick(rng, split),
        "product": pools.PRODUCTS.pick(rng, split),
        "city": rng.choice(pools.CITIES),
        "day": rng.choice(pools.DAYS),
        "date": rng.choice(pools.DATES),
        "street": rng.choice(pools.STREETS),
        "price": pools.price(rng),
        "food": rng.choice(pools.FOODS),
        "n": rng.randint(2, 11),
    }
    lead = rng.choice(_LEADS).format(**slots)
    details = [d.format(**slots) for d in rng.sample(_DETAILS, rng.randint(2, 3))]
    sentences = ([rng.choice(_FILLERS)] if rng.random() < 0.3 else []) + [lead, *details]
    react = rng.random() < 0.3
    user = _SUMMARY_FRAMES.pick(rng, split).format(doc=" ".join(sentences))
    messages: list[dict[str, str]] = []
    tools: list[str] = []
    if react:
        tools = offer(rng, None)
        messages.append({"role": "system", "content": system_prompt(tools)})
    messages += [
        {"role": "user", "content": user},
        {"role": "assistant", "content": answer_text(lead, react)},
    ]
    target = Target("summary", react, fact=lead)
    meta = {"sentences": sentences}  # for extractive summaries (a choice among them)
    return Example("summary", tuple(messages), (target,), tuple(tools), meta)
