"""Durable mailboxes and topics: rows in the OS database, written with the sender's journal
entry and consumed with the receiver's, so a message is delivered exactly once."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from llmagentos.kernel.syscalls import Envelope


def deliver(
    conn: sqlite3.Connection,
    sender: int,
    recipient: int,
    payload: Any,
    *,
    topic: str | None = None,
    reply_to: int | None = None,
    correlation: int | None = None,
) -> int:
    """Put one message in `recipient`'s mailbox; return its id."""
    cur = conn.execute(
        "INSERT INTO mailbox(recipient, sender, topic, payload, reply_to, correlation, sent_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (recipient, sender, topic, json.dumps(payload), reply_to, correlation, time.time()),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def take(
    conn: sqlite3.Connection,
    recipient: int,
    *,
    topic: str | None = None,
    sender: int | None = None,
    correlation: int | None = None,
) -> Envelope | None:
    """Consume the oldest pending message that matches the filters, if any."""
    sql = "SELECT * FROM mailbox WHERE recipient = ? AND consumed = 0"
    params: list[Any] = [recipient]
    if topic is not None:
        sql += " AND topic = ?"
        params.append(topic)
    if sender is not None:
        sql += " AND sender = ?"
        params.append(sender)
    if correlation is not None:
        sql += " AND correlation = ?"
        params.append(correlation)
    row = conn.execute(sql + " ORDER BY id LIMIT 1", params).fetchone()
    if row is None:
        return None
    conn.execute("UPDATE mailbox SET consumed = 1 WHERE id = ?", (row["id"],))
    return Envelope(
        id=row["id"],
        sender=row["sender"],
        recipient=row["recipient"],
        payload=json.loads(row["payload"]),
        topic=row["topic"],
        reply_to=row["reply_to"],
        correlation=row["correlation"],
        sent_at=row["sent_at"],
    )


def subscribers(conn: sqlite3.Connection, topic: str) -> list[int]:
    rows = conn.execute("SELECT pid FROM subscriptions WHERE topic = ? ORDER BY pid", (topic,))
    return [r[0] for r in rows.fetchall()]


def subscribe(conn: sqlite3.Connection, topic: str, pid: int) -> None:
    conn.execute("INSERT OR IGNORE INTO subscriptions(topic, pid) VALUES (?, ?)", (topic, pid))


def unsubscribe(conn: sqlite3.Connection, topic: str, pid: int) -> None:
    conn.execute("DELETE FROM subscriptions WHERE topic = ? AND pid = ?", (topic, pid))


def sender_of(conn: sqlite3.Connection, message_id: int) -> tuple[int, int] | None:
    """(sender, recipient) of a message, for replies."""
    row = conn.execute("SELECT sender, recipient FROM mailbox WHERE id = ?", (message_id,))
    found = row.fetchone()
    return None if found is None else (found[0], found[1])


def pending_count(conn: sqlite3.Connection, recipient: int) -> int:
    row = conn.execute(
        "SELECT count(*) FROM mailbox WHERE recipient = ? AND consumed = 0", (recipient,)
    ).fetchone()
    return int(row[0])
