"""Text classification (sentiment, intent) and the customer desk's plain-text replies.

The labelled texts double as a classification data set (`labelled_texts`) for fine-tuning a
sequence-classification head, the seeds' customer-service intent classifier.
"""

from __future__ import annotations

import random

from llmagentos.learning.corpus import pools
from llmagentos.learning.corpus.example import Example, Target, answer_text
from llmagentos.learning.corpus.pools import Pool, Split, _pool
from llmagentos.learning.corpus.tools import offer, system_prompt

SENTIMENT: dict[str, Pool] = {
    "positive": _pool(
        "I love this {product}.|The {product} works perfectly.|Great {product}, fast delivery."
        "|The {product} exceeded my expectations.|Really happy with the {product}."
        "|Excellent {product}, I would buy it again.|The {product} is great value for money."
        "|Best purchase this year, the {product} is excellent."
        "|I am really happy, the {product} works great.",
        2,
    ),
    "negative": _pool(
        "The {product} broke after two days.|Terrible {product}, do not buy it."
        "|I am disappointed with the {product}.|The {product} stopped working."
        "|The {product} is awful.|Poor quality, the {product} arrived damaged."
        "|I want to return the {product}, it is terrible."
        "|Waste of money, the {product} is awful.|Very disappointed, the {product} broke.",
        2,
    ),
    "neutral": _pool(
        "The {product} arrived on {day}.|I bought the {product} last week."
        "|The {product} comes in a box.|The {product} is {color}.|I ordered the {product} on {day}."
        "|The {product} was delivered in a {color} box.|My sister has the same {product}."
        "|The {product} came on {day} in a box.|I got the {product} last {day}.",
        2,
    ),
}
INTENT: dict[str, Pool] = {
    "order_status": _pool(
        "Where is my package?|My order {id} has not arrived.|When will order {id} arrive?"
        "|Has my order shipped yet?|I am still waiting for my order {id}."
        "|Is my order {id} on its way?|When does my package arrive?",
        2,
    ),
    "refund": _pool(
        "I want a refund for the {product}.|Can I get my money back?|Please refund order {id}."
        "|How do I get a refund?|I would like my money back for order {id}."
        "|Can you refund the {product}, please?|I need a refund, the {product} was wrong.",
        2,
    ),
    "cancel_order": _pool(
        "Please cancel order {id}.|I want to cancel my order.|Cancel the {product} I ordered."
        "|Can you cancel order {id}?|I no longer want the {product}, please cancel it."
        "|I changed my mind, cancel order {id}.|Please cancel my order for the {product}.",
        2,
    ),
    "complaint": _pool(
        "Your support was rude.|The delivery driver was very late.|I am unhappy with your service."
        "|Nobody answered my emails.|Your service is very slow."
        "|I am very unhappy, the delivery was late again.|Your support team was rude to me.",
        2,
    ),
    "greeting": _pool(
        "Hello!|Hi there.|Good morning!|Hey, how are you?|Good afternoon.|Hello, good evening!"
        "|Hi, good morning!",
        2,
    ),
}
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
    ),
    "intent": _pool(
        "Classify the intent of this message as order_status, refund, cancel_order, complaint"
        " or greeting.\nMessage: {text}"
        "|Which intent is this: order_status, refund, cancel_order, complaint or greeting?"
        " {text}"
        "|Intent of this customer message (order_status, refund, cancel_order, complaint or"
        " greeting): {text}",
        1,
    ),
}


def labelled_text(rng: random.Random, split: Split, task: str) -> tuple[str, str]:
    """A `(text, label)` pair for `task` ("sentiment" or "intent")."""
    label = rng.choice(sorted(_TASKS[task]))
    template = _TASKS[task][label].pick(rng, split)
    text = template.format(
        product=pools.PRODUCTS.pick(rng, split).split(" ", 1)[-1],
        day=rng.choice(pools.DAYS),
        color=rng.choice(pools.COLORS),
        id=pools.order_id(rng),
    )
    return text, label


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
    if split == "train" and rng.random() < 0.15:  # fixed lines: nothing to hold out
        user, reply = rng.choice(_SMALL_TALK)
    else:
        text, label = labelled_text(rng, split, "intent")
        user, reply = text, DESK_REPLIES[label]
    messages: list[dict[str, str]] = []
    if rng.random() < 0.3:
        messages.append({"role": "system", "content": _DESK_SYSTEM})
    messages += [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]
    return Example("desk", tuple(messages), (Target("reply", False, fact=reply),))
