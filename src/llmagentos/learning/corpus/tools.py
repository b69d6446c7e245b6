"""The tools the corpus teaches, described exactly as the ReAct agent shows them to a model.

The stubs are real `@tool`s, so their schemas come from the same code path an app's tools
take, and the system prompt is built with the SDK's own `DEFAULT_SYSTEM` and
`describe_tools`: what the model is trained on is byte for byte what it will see.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from llmagentos.llm.types import ToolSpec
from llmagentos.sdk.react import DEFAULT_SYSTEM, describe_tools
from llmagentos.tools import calculator, tool


@tool
def order_status(order_id: str) -> dict[str, str]:
    """Look up the shipping status of a customer order by its id.

    Args:
        order_id: The order id, e.g. "K-4471".
    """
    raise NotImplementedError  # a stub: only its description is used


@tool
def search_memory(query: str) -> list[dict[str, Any]]:
    """Search the agent's long-term memory for notes relevant to a query.

    Args:
        query: What to look for.
    """
    raise NotImplementedError


@tool
def env_step(env_id: str, action: int | str) -> dict[str, Any]:
    """Take one action; returns observation, reward, terminated, truncated and info.

    Args:
        env_id: The environment.
        action: The action: an index, or in the maze a move name (up, down, left, right).
    """
    raise NotImplementedError  # mirrors `llmagentos.envs.tools`' env_step


@tool
def get_weather(city: str) -> dict[str, Any]:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    raise NotImplementedError


@tool
def send_message(to: str, text: str) -> str:
    """Send a short message to a person.

    Args:
        to: The person's name.
        text: The message.
    """
    raise NotImplementedError


@tool
def publish_report(title: str, body: str) -> str:
    """Publish a report to the team (needs an operator's approval)."""
    raise NotImplementedError


SPECS: dict[str, ToolSpec] = {
    t.name: t.spec
    for t in (
        calculator,
        order_status,
        search_memory,
        env_step,
        get_weather,
        send_message,
        publish_report,
    )
}
"""Every tool the corpus uses, by name."""


def system_prompt(tools: Sequence[str]) -> str:
    """The ReAct agent's default system prompt offering `tools`."""
    return DEFAULT_SYSTEM.replace("{tools}", describe_tools(tuple(SPECS[t] for t in tools)))


def offer(rng: random.Random, needed: str | None, extra: int | None = None) -> list[str]:
    """A shuffled tool list holding `needed` (if any) and up to `extra` other tools."""
    others = [t for t in SPECS if t != needed]
    count = rng.choice([0, 1, 1, 2, 2, 3]) if extra is None else extra
    chosen = rng.sample(others, count) + ([needed] if needed else [])
    if not chosen:
        chosen = [rng.choice(others)]
    rng.shuffle(chosen)
    return chosen
