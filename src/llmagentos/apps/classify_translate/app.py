"""A pipeline of two agents: texts go to the classifier, then to the translator, then back.

The coordinator (the app's process) spawns both with narrowed capabilities: the
classifier may message only the translator, the translator only the coordinator, and
neither may spawn or use tools. Every hop is a `send` system call into a durable mailbox,
so a crash loses no message and delivers none twice.
"""

from __future__ import annotations

import re
from typing import Any

from llmagentos.kernel.context import ProcessContext
from llmagentos.kernel.syscalls import Capabilities

STOP = {"type": "stop"}
LABELS = ("positive", "negative", "neutral")
_LABEL = re.compile("|".join(LABELS))


def sentiment_prompt(text: str) -> str:
    return (
        f"Classify the sentiment of this review as positive, negative or neutral.\nReview: {text}"
    )


def translation_prompt(text: str, target: str) -> str:
    return f"Translate this text from English to {target}: {text}"


async def classifier(ctx: ProcessContext, translator: int) -> int:
    """Label each text it receives and pass it on; forwards the stop signal."""
    handled = 0
    while True:
        env = await ctx.receive(timeout=120)
        if env is None or env.payload == STOP:
            await ctx.send(translator, STOP)
            return handled
        reply = await ctx.chat(sentiment_prompt(env.payload["text"]), max_tokens=8)
        found = _LABEL.search(reply.text.lower())
        await ctx.send(translator, {**env.payload, "label": found.group(0) if found else "unknown"})
        handled += 1


async def translator(ctx: ProcessContext, collector: int, target: str) -> int:
    """Translate each labelled text it receives and send it to the collector."""
    handled = 0
    while True:
        env = await ctx.receive(timeout=120)
        if env is None or env.payload == STOP:
            return handled
        reply = await ctx.chat(translation_prompt(env.payload["text"], target), max_tokens=200)
        await ctx.send(collector, {**env.payload, "translation": reply.text.strip()})
        handled += 1


async def main(ctx: ProcessContext, texts: list[str], target: str = "French") -> dict[str, Any]:
    """Classify and translate `texts`; returns them in order with label and translation."""
    alone = Capabilities(tools=(), spawn=False)
    to_me = Capabilities(tools=(), spawn=False, peers=(str(ctx.pid),))
    t_pid = await ctx.spawn(
        translator, {"collector": ctx.pid, "target": target}, name="translator", capabilities=to_me
    )
    c_caps = Capabilities(tools=alone.tools, spawn=False, peers=(str(t_pid),))
    c_pid = await ctx.spawn(
        classifier, {"translator": t_pid}, name="classifier", capabilities=c_caps
    )
    for i, text in enumerate(texts):
        await ctx.send(c_pid, {"id": i, "text": text})
    await ctx.send(c_pid, STOP)
    results: dict[int, Any] = {}
    while len(results) < len(texts):
        env = await ctx.receive(timeout=120, sender=t_pid)
        if env is None:
            break
        results[env.payload["id"]] = env.payload
    handled = [(await ctx.wait(pid)).result for pid in (c_pid, t_pid)]
    return {"results": [results[i] for i in sorted(results)], "handled": handled}
