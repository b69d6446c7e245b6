"""Copying: say back a string of made-up names, ids and numbers (an auxiliary task).

It drills the skill every other task leans on — reproducing a span of the prompt exactly —
on short, cheap sequences. The corpus trains on it; the evaluation leaves it out, since
it would only flatter the figures.
"""

from __future__ import annotations

import random

from llmagentos.learning.corpus import pools
from llmagentos.learning.corpus.example import Example, Target, answer_text
from llmagentos.learning.corpus.pools import Pool, Split, _pool
from llmagentos.learning.corpus.tools import offer, system_prompt

_FRAMES = _pool(
    "Repeat exactly: {x}|Say this back to me: {x}|Copy this text: {x}|Echo: {x}|Please repeat: {x}",
    1,
)


def _piece(rng: random.Random, split: Split) -> str:
    kind = rng.randrange(7)
    if kind == 0:
        return pools.order_id(rng)
    if kind == 1:
        return str(rng.randint(0, 99999))
    if kind == 2:
        return pools.PEOPLE.pick(rng, split)
    if kind == 3:
        return pools.PLACES.pick(rng, split)
    if kind == 4:
        return pools.PRODUCTS.pick(rng, split)
    return pools.word(rng)


def echo_example(
    rng: random.Random,
    split: Split,
    task: str,
    text: str,
    frames: Pool,
    react_share: float,
    extra_tools: tuple[int, ...],
) -> Example:
    """A copy-drill conversation saying back `text`: plain, or (`react_share` of the time)
    under the agent prompt with up to `max(extra_tools)` tools offered."""
    react = rng.random() < react_share
    messages: list[dict[str, str]] = []
    tools: list[str] = []
    if react:
        tools = offer(rng, None, extra=rng.choice(extra_tools))
        messages.append({"role": "system", "content": system_prompt(tools)})
    messages += [
        {"role": "user", "content": frames.pick(rng, split).format(x=text)},
        {"role": "assistant", "content": answer_text(text, react)},
    ]
    return Example(task, tuple(messages), (Target("answer", react, fact=text),), tuple(tools))


def echo_task(rng: random.Random, split: Split) -> Example:
    text = " ".join(_piece(rng, split) for _ in range(rng.randint(1, 5)))
    return echo_example(rng, split, "echo", text, _FRAMES, 0.3, (0, 1))
