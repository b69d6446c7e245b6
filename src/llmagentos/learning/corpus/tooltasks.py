"""Generators of tool-using conversations: pick the tool, write the call, answer from the result.

Each generator takes a seeded `random.Random` and a split; the split chooses the question
frames and entities (held-out ones for "eval"), so eval prompts never occur in training.
"""

from __future__ import annotations

import random
from typing import Any

from llmagentos.learning.corpus import pools
from llmagentos.learning.corpus.example import (
    Example,
    Target,
    answer_text,
    call_text,
    observation,
)
from llmagentos.learning.corpus.pools import Pool, Split, _pool
from llmagentos.learning.corpus.tools import offer, system_prompt
from llmagentos.tools.builtin import evaluate


def _frames(text: str, held_out: int = 2, extra: str = "") -> Pool:
    return _pool(text, held_out, extra)


def tool_conversation(
    rng: random.Random,
    task: str,
    user: str,
    tool: str,
    arguments: dict[str, Any],
    result: Any,
    answer: str,
    fact: str,
    extra_tools: int | None = None,
) -> Example:
    """system + user → call → observation → answer, both assistant turns scored."""
    tools = offer(rng, tool, extra_tools)
    messages = (
        {"role": "system", "content": system_prompt(tools)},
        {"role": "user", "content": user},
        {"role": "assistant", "content": call_text(tool, arguments)},
        {"role": "tool", "name": tool, "content": observation(result)},
        {"role": "assistant", "content": answer_text(answer, True)},
    )
    targets = (
        Target("tool", True, tool=tool, arguments=arguments),
        Target("answer", True, fact=fact),
    )
    return Example(task, messages, targets, tuple(tools))


# -- calculator ---------------------------------------------------------------------------

# Operation phrases are vocabulary, not frames: all of them are trained; frames are held out.
_OPS: list[tuple[str, str]] = [
    ("the sum of {a} and {b}", "{a} + {b}"),
    ("{a} plus {b}", "{a} + {b}"),
    ("{a} added to {b}", "{b} + {a}"),
    ("{a} minus {b}", "{a} - {b}"),
    ("{b} subtracted from {a}", "{a} - {b}"),
    ("the difference between {a} and {b}", "{a} - {b}"),
    ("{a} times {b}", "{a} * {b}"),
    ("{a} multiplied by {b}", "{a} * {b}"),
    ("the product of {a} and {b}", "{a} * {b}"),
    ("{a} divided by {b}", "{a} / {b}"),
    ("{a} split {b} ways", "{a} / {b}"),
    ("{p}% of {a}", "{a} * {p} / 100"),
    ("{p} percent of {a}", "{a} * {p} / 100"),
    ("the square root of {a}", "sqrt({a})"),
    ("{a} to the power {b}", "{a} ** {b}"),
    ("{a} squared", "{a} ** 2"),
]
_CALC_FRAMES = _frames(
    "What is {x}?|Compute {x}.|Calculate {x}.|How much is {x}?|Use the calculator to find {x}."
    "|Please compute {x}.|What do you get for {x}?|Find {x}."
    "|Could you work out {x} for me?|I need to know {x}, please.",
    extra="Tell me {x}.|Quick maths: {x}?|Determine {x}.|What's {x}?|Help me calculate {x}."
    "|Solve {x}.|Can you compute {x}?|What does {x} come to?|{x} is how much?"
    "|Run the numbers: {x}.",
)
_EXPR_FRAMES = _frames(
    "Compute {label} as `{expr}`.|Calculate `{expr}`.|What is {expr}?|Evaluate {expr}."
    "|Work out {label}: `{expr}`."
    "|Find {label} by evaluating `{expr}`.|Give me the value of {expr}.",
    extra="Work out `{expr}`.|Compute `{expr}` for {label}.|{label} is `{expr}`; what is it?"
    "|Evaluate `{expr}` please.|Solve `{expr}`.|Run `{expr}` through the calculator.",
)
_LABELS = pools.shared(
    "the total cost|the area of the room|the monthly rent|the number of seats|the average score"
    "|the distance in km|the price per item|the weekly hours|the budget per team|the tip"
)


def _number(rng: random.Random) -> int:
    return rng.choice([rng.randint(2, 20), rng.randint(10, 99), rng.randint(100, 999)])


def _expression(rng: random.Random) -> str:
    a, b, c = _number(rng), _number(rng), _number(rng)
    shapes = ["{a} * {b}", "{a} + {b} * {c}", "({a} + {b}) / {c}", "{a} * {b} - {c}", "{a} / {b}"]
    return rng.choice(shapes).format(a=a, b=b, c=c)


def calculator_task(rng: random.Random, split: Split) -> Example:
    if rng.random() < 0.35:
        expression = _expression(rng)
        user = _EXPR_FRAMES.pick(rng, split).format(label=rng.choice(_LABELS), expr=expression)
    else:
        phrase, template = rng.choice(_OPS)
        slots = {"a": _number(rng), "b": rng.randint(2, 12), "p": rng.choice([5, 10, 15, 20, 25])}
        if "**" in template:
            slots["a"] = rng.randint(2, 30)
        user = _CALC_FRAMES.pick(rng, split).format(x=phrase.format(**slots))
        expression = template.format(**slots)
    result = evaluate(expression)  # the real tool's value, e.g. 12.0 for 24 / 2
    shown = observation(result)
    return tool_conversation(
        rng, "calculator", user, "calculator", {"expression": expression}, result, shown, shown
    )


# -- orders, weather, memory, messages, reports -------------------------------------------

_ORDER_FRAMES = _frames(
    "Where is my order {id}?|What is the status of order {id}?|Can you check order {id} for me?"
    "|Has order {id} shipped yet?|Order {id}: where is it?|Please track order {id}."
    "|Any news on my package {id}?|I am waiting for order {id}, where is it now?",
    extra="Track order {id}.|What happened to order {id}?|Is order {id} on its way?"
    "|Status of order {id}, please.|Look into order {id} for me.|Did order {id} ship?"
    "|When does order {id} arrive?|My order {id} has not come yet.|Check on order {id}."
    "|Find order {id} and say where it is.",
)


def order_task(rng: random.Random, split: Split) -> Example:
    oid, status, date = pools.order_id(rng), rng.choice(pools.ORDER_STATUS), rng.choice(pools.DATES)
    result = {"order_id": oid, "status": status, "eta": date}
    answer = f"Order {oid} is {status}. Expected delivery: {date}."
    user = _ORDER_FRAMES.pick(rng, split).format(id=oid)
    return tool_conversation(
        rng, "order", user, "order_status", {"order_id": oid}, result, answer, status
    )


_WEATHER_FRAMES = _frames(
    "What is the weather in {city}?|Is it raining in {city}?|How warm is it in {city} today?"
    "|What's the weather like in {city} right now?|What is the forecast for {city}?"
    "|Do I need an umbrella in {city} today?|Weather in {city}, please."
    "|Tell me the weather forecast for {city}.|Will I need an umbrella in {city}?",
    extra="How is the weather in {city}?|Is it sunny in {city}?|What's it like outside in {city}?"
    "|Check the weather in {city}.|Any rain expected in {city} today?"
    "|Is it cold in {city} at the moment?|Get me the current weather for {city}."
    "|I'm heading to {city}; what's the weather there?|Could you look at the weather in {city}?"
    "|What temperature is it in {city}?|{city} weather?|Is it windy in {city}?",
)


def weather_task(rng: random.Random, split: Split) -> Example:
    city, sky, temp = pools.TOWNS.pick(rng, split), rng.choice(pools.WEATHER), rng.randint(-5, 34)
    result = {"city": city, "conditions": sky, "temp_c": temp}
    user = _WEATHER_FRAMES.pick(rng, split).format(city=city)
    answer = f"It is {sky} and {temp} C in {city}."
    return tool_conversation(
        rng, "weather", user, "get_weather", {"city": city}, result, answer, sky
    )


_MEMORY_FRAMES = _frames(
    "What did I note about {topic}?|Search your memory for {topic}."
    "|Do you remember anything about {topic}?|What do my notes say about {topic}?"
    "|Look up my notes on {topic}.|Check your memory: what about {topic}?",
    extra="Find my note about {topic}.|What have I saved about {topic}?"
    "|Search the notes for {topic}.|Recall what I told you about {topic}."
    "|Any notes about {topic}?|What was written down about {topic}?"
    "|Show what we stored on {topic}.|I wrote something about {topic}; what was it?"
    "|Remind me what I noted on {topic}.|Is there anything in memory on {topic}?"
    "|Retrieve my memo on {topic}.|What do we know about {topic} from my notes?",
)
_NOTES = (
    "{topic}: moved to {day} at {time}.",
    "{topic}: {person} is in charge.",
    "{topic}: the budget is {price}.",
    "{topic}: it happens in {city}.",
)


def _note(rng: random.Random, topic: str, split: Split) -> tuple[str, str]:
    slots = {
        "day": rng.choice(pools.DAYS),
        "time": rng.choice(pools.TIMES),
        "person": pools.PEOPLE.pick(rng, split),
        "price": pools.price(rng),
        "city": rng.choice(pools.CITIES),
    }
    template = rng.choice(_NOTES)
    fact = next(v for k, v in slots.items() if "{" + k + "}" in template)
    return template.format(topic=topic[0].upper() + topic[1:], **slots), fact


def memory_task(rng: random.Random, split: Split) -> Example:
    topic, other = pools.TOPICS.pick_n(rng, split, 2)
    note, fact = _note(rng, topic, split)
    hits = [{"text": note, "score": 0.91}]
    if rng.random() < 0.6:
        hits.append({"text": _note(rng, other, split)[0], "score": 0.42})
    user = _MEMORY_FRAMES.pick(rng, split).format(topic=topic)
    return tool_conversation(
        rng, "memory", user, "search_memory", {"query": topic}, hits, note, fact
    )


_MESSAGE_FRAMES = _frames(
    "Tell {name} that {msg}.|Send {name} a message saying {msg}.|Message {name}: {msg}."
    "|Let {name} know that {msg}.|Notify {name}: {msg}."
    "|Please let {name} know that {msg}.|Could you notify {name} that {msg}?",
    extra="Drop {name} a note: {msg}.|Write to {name}: {msg}.|Ping {name} and say {msg}."
    "|Send a message to {name}: {msg}.|Can you say to {name}: {msg}?"
    "|Inform {name}: {msg}.|Pass this on to {name}: {msg}.|Text {name}: {msg}."
    "|Message for {name}: {msg}.|I need {name} to hear this: {msg}.",
)
_MESSAGES = (
    "the meeting moved to {day}",
    "the report is ready",
    "lunch is at {time}",
    "the server is back up",
    "the delivery arrives on {date}",
    "I will be late today",
    "the tickets cost {price}",
)


def message_task(rng: random.Random, split: Split) -> Example:
    name = pools.PEOPLE.pick(rng, split)
    msg = rng.choice(_MESSAGES).format(
        day=rng.choice(pools.DAYS),
        time=rng.choice(pools.TIMES),
        date=rng.choice(pools.DATES),
        price=pools.price(rng),
    )
    user = _MESSAGE_FRAMES.pick(rng, split).format(name=name, msg=msg)
    args = {"to": name, "text": msg[0].upper() + msg[1:] + "."}
    return tool_conversation(
        rng, "message", user, "send_message", args, "sent", f"I told {name}: {args['text']}", name
    )


_REPORT_FRAMES = _frames(
    'Publish a report titled "{title}" that says: {body}'
    '|Publish the report "{title}" with this text: {body}'
    '|Post the report "{title}": {body}'
    '|Please post a report titled "{title}" with the text: {body}',
    1,
    extra='Create a report called "{title}" saying: {body}|New report "{title}": {body}'
    '|Publish this as "{title}": {body}|File a report named "{title}". Text: {body}',
)
_TITLES = pools.shared(
    "Weekly results|Sales update|Team news|Incident summary|Launch plan|Budget review|Q3 notes"
)


def report_task(rng: random.Random, split: Split) -> Example:
    title = rng.choice(_TITLES)
    company = pools.COMPANIES.pick(rng, split)
    body = f"{company} grew {rng.randint(2, 40)}% this quarter."
    user = _REPORT_FRAMES.pick(rng, split).format(title=title, body=body)
    result = f"published {title!r} ({len(body)} characters)"
    return tool_conversation(
        rng,
        "report",
        user,
        "publish_report",
        {"title": title, "body": body},
        result,
        f'The report "{title}" is published.',
        title,
    )
