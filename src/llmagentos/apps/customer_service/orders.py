"""The customer desk's tools over its SQLite order database (created from `orders.sql`).

`order_status` reads an order; `escalate_to_human` opens a ticket for the support team.
The app's policy marks the latter "ask": the call waits, durably, for a person to
approve it, and the ticket is keyed by the call's idempotency key, so a call re-run after
a crash finds its ticket instead of opening a second one.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from llmagentos.apps.factory import AppData, tool_factory
from llmagentos.errors import NotFound
from llmagentos.tools import Tool, ToolContext, tool

SCHEMA = Path(__file__).with_name("orders.sql")


def ensure_database(path: Path) -> Path:
    """Create the order database from the bundled SQL unless it exists."""
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    with sqlite3.connect(tmp) as conn:
        conn.executescript(SCHEMA.read_text(encoding="utf-8"))
    conn.close()
    tmp.replace(path)  # a half-written database is never seen under the real name
    return path


def build(app: AppData) -> list[Tool[..., Any]]:
    """The tools, bound to this app's database."""
    db = ensure_database(app.path("orders.db"))

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(db, timeout=10)

    @tool(side_effects=False, timeout_s=10)
    def order_status(order_id: str) -> dict[str, str]:
        """Look up the shipping status of a customer order by its id.

        Args:
            order_id: The order id, e.g. "K-4471".
        """
        key = order_id.strip().lstrip("#").upper()
        with connect() as conn:
            row = conn.execute(
                "SELECT order_id, status, eta FROM orders WHERE order_id = ?", (key,)
            ).fetchone()
        if row is None:
            raise NotFound(f"there is no order {order_id!r}; order ids look like K-4471")
        return {"order_id": row[0], "status": row[1], "eta": row[2]}

    @tool(side_effects=True, timeout_s=10)
    def escalate_to_human(ctx: ToolContext, summary: str, customer_message: str) -> dict[str, Any]:
        """Hand the conversation to a person on the support team (they approve it first).

        Args:
            summary: One line on what the customer needs.
            customer_message: The customer's own words.
        """
        with connect() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO escalations(key, summary, message, created_at)"
                " VALUES (?, ?, ?, ?)",
                (ctx.idempotency_key, summary, customer_message, time.time()),
            )
            (ticket,) = conn.execute(
                "SELECT rowid FROM escalations WHERE key = ?", (ctx.idempotency_key,)
            ).fetchone()
        return {"ticket": int(ticket), "summary": summary}

    return [order_status, escalate_to_human]


TOOLS = tool_factory(build)
