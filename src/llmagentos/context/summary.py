"""Conversation state of the context manager, its table, and the summary call's request.

A process may hold several conversations (a coordinator talking to a model about
different things); each is identified by its system prompt and first message. Its
running summary covers the messages before `covered`, and `fingerprint` hashes them,
so a summary is only used for a conversation that still starts with what it summarizes.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from llmagentos.context.tokens import TokenCounter
from llmagentos.context.window import leading_system, truncate
from llmagentos.llm.types import LLMRequest, Message

__all__ = [
    "SCHEMA",
    "Conversation",
    "conversation_id",
    "fingerprint",
    "render",
    "summary_request",
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS context_summaries (
    pid INTEGER NOT NULL,
    conv TEXT NOT NULL,
    summary TEXT NOT NULL,
    covered INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (pid, conv)
) WITHOUT ROWID;
"""
"""Idempotent DDL: the running summaries, kept across restarts, compacted with the process."""

SUMMARY_SYSTEM = (
    "You keep the running summary of a conversation between a user and an assistant whose"
    " context window is small. Rewrite the summary so that it also covers the new messages."
    " Keep every fact the user stated (names, numbers, dates, places, preferences), decisions,"
    " results of tool calls and open questions; drop small talk. Reply with the summary only,"
    " in at most {words} words."
)


def _digest(*parts: str) -> str:
    h = hashlib.sha1(usedforsecurity=False)
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def render(message: Message) -> str:
    """A message as one line of text (`role: content`, tool calls spelled out)."""
    parts = [message.content.strip()] if message.content.strip() else []
    parts += [f"[calls {c.name}({c.arguments})]" for c in message.tool_calls]
    return f"{message.role}: {' '.join(parts)}"


def conversation_id(messages: Sequence[Message]) -> str:
    """Which conversation this is: its system prompt and first message."""
    lead = leading_system(messages)
    head = [render(m) for m in messages[: lead + 1]]
    return _digest(*head)[:16]


def fingerprint(messages: Sequence[Message], upto: int) -> str:
    """A hash of the first `upto` messages."""
    return _digest(*(render(m) for m in messages[:upto]))


@dataclass
class Conversation:
    """What the context manager knows about one conversation of one process."""

    pid: int
    conv: str
    summary: str | None = None
    covered: int = 0  # messages before this index are in the summary
    fingerprint: str = ""
    stored: set[int] = field(default_factory=set)  # indices already in long-term memory
    task: asyncio.Task[None] | None = None
    failures: int = 0
    retry_at: float = 0.0

    def summary_for(self, messages: Sequence[Message]) -> str | None:
        """The summary, if this conversation still starts with what it covers."""
        if not self.summary or self.covered > len(messages):
            return None
        return self.summary if fingerprint(messages, self.covered) == self.fingerprint else None

    def load(self, conn: sqlite3.Connection) -> None:
        row = conn.execute(
            "SELECT summary, covered, fingerprint FROM context_summaries WHERE pid = ?"
            " AND conv = ?",
            (self.pid, self.conv),
        ).fetchone()
        if row is not None:
            self.summary, self.covered, self.fingerprint = row[0], int(row[1]), row[2]

    def save(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO context_summaries(pid, conv, summary, covered, fingerprint,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            (self.pid, self.conv, self.summary or "", self.covered, self.fingerprint, time.time()),
        )


def summary_request(
    previous: str | None,
    pending: Sequence[str],
    window: int,
    max_tokens: int,
    counter: TokenCounter,
) -> tuple[LLMRequest, int]:
    """The summary call for as many pending messages as fit the window, and how many.

    The request itself fits: the instructions, the previous summary and the messages take
    at most `window - max_tokens` tokens; one message too long for the room is cut.
    """
    system = SUMMARY_SYSTEM.format(words=max(16, int(max_tokens * 0.6)))
    budget = window - max_tokens - counter.text(system) - 16  # 16: the request's overhead
    prior = truncate(previous or "(nothing yet)", budget // 2, lambda t: counter.text(t, "user"))
    head = f"Summary so far:\n{prior}\n\nNew messages:"
    lines: list[str] = []
    for line in pending:
        candidate = "\n".join([head, *lines, line])
        if counter.text(candidate, "user") <= budget:
            lines.append(line)
            continue
        if not lines:  # a single message longer than the room: summarize its start
            room = budget - counter.text(head, "user") - 4
            cut = truncate(line, room, lambda t: counter.text(t, "user"))
            if cut:
                lines.append(cut)
        break
    user = "\n".join([head, *lines])
    request = LLMRequest(
        messages=(Message(role="system", content=system), Message(role="user", content=user)),
        max_tokens=max_tokens,
        temperature=0.0,
    )
    return request, len(lines)
