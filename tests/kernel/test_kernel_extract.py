"""`ctx.extract(messages, Type)`: a typed reply, guided by the type's schema and validated."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any, Literal

import pydantic
import pytest

from llmagentos import Kernel
from llmagentos.errors import InvalidArgument, MalformedModelOutput
from llmagentos.sdk.llm import LLM
from llmagentos.testing import FunctionModel


class Invoice(pydantic.BaseModel):
    number: str = pydantic.Field(max_length=12)
    total: float
    paid: bool | None = None
    lines: list[str] = []


def scripted(*replies: str) -> FunctionModel:
    queue = list(replies)
    return FunctionModel(lambda messages, request: queue.pop(0))


def llm_calls(kernel: Kernel) -> list[dict[str, Any]]:
    with sqlite3.connect(kernel.config.state_dir / "os.db") as db:
        rows = db.execute("SELECT call FROM journal WHERE kind = 'llm'").fetchall()
    return [json.loads(c) for (c,) in rows]


async def test_a_reply_is_validated_and_asked_again_once(make_kernel: Callable[..., Any]) -> None:
    model = scripted('{"number": "A-1", "total": "lots"}', '{"number": "A-1", "total": 12.5}')
    kernel = await make_kernel(models={"m": model})

    async def prog(ctx: Any) -> Any:
        invoice = await ctx.extract("Read the invoice.", Invoice)
        assert isinstance(invoice, Invoice)
        return invoice.model_dump()

    status = await kernel.run(prog)
    assert status.state == "done", status.error
    assert status.result == Invoice(number="A-1", total=12.5).model_dump()
    calls = llm_calls(kernel)
    assert len(calls) == 2
    fmt = calls[0]["request"]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "Invoice"
    assert fmt["json_schema"]["schema"] == Invoice.model_json_schema()


async def test_replies_that_never_fit_are_a_typed_error(make_kernel: Callable[..., Any]) -> None:
    kernel = await make_kernel(models={"m": FunctionModel(lambda m, r: "Sure! Here it is.")})

    async def prog(ctx: Any) -> list[str]:
        out = []
        for shape, kwargs in ((Invoice, {"attempts": 3}), (Invoice, {"attempts": 0})):
            try:
                await ctx.extract("Read it.", shape, **kwargs)
            except (MalformedModelOutput, InvalidArgument) as exc:
                out.append(f"{type(exc).__name__}: {exc}")
        try:
            await ctx.extract("Read it.", Callable[[int], int])
        except InvalidArgument:
            out.append("InvalidArgument: schema")
        return out

    status = await kernel.run(prog)
    assert status.state == "done", status.error
    assert status.result[0].startswith("MalformedModelOutput: the model's reply is not a valid")
    assert "after 3 attempt(s)" in status.result[0] and "Invalid JSON" in status.result[0]
    assert status.result[1] == "InvalidArgument: attempts must be at least 1, got 0"
    assert status.result[2] == "InvalidArgument: schema"
    assert len(llm_calls(kernel)) == 3


async def test_the_built_in_model_fills_a_type_it_was_never_trained_on(
    make_kernel: Callable[..., Any],
) -> None:
    """The real path: the shipped model on the local core, guided by the schema."""
    pytest.importorskip("torch")
    from llmagentos.llm.spec import create_backend

    class Ticket(pydantic.BaseModel):
        title: str = pydantic.Field(max_length=40)
        priority: Literal["low", "high"]
        tags: list[str] = pydantic.Field(default=[], max_length=3)

    backend = create_backend("builtin:tiny")
    kernel = await make_kernel(models={"tiny": backend})

    async def prog(ctx: Any) -> Any:
        ticket = await ctx.extract("The printer on floor 2 is on fire.", Ticket, max_tokens=60)
        assert isinstance(ticket, Ticket)
        labels = await LLM().aextract("Name two colours.", list[Literal["red", "blue", "green"]])
        return [ticket.model_dump(), labels]

    status = await kernel.run(prog)
    assert status.state == "done", status.error
    ticket, labels = status.result
    assert len(ticket["title"]) <= 40 and ticket["priority"] in ("low", "high")
    assert all(c in ("red", "blue", "green") for c in labels)


async def test_sync_programs_extract_too(make_kernel: Callable[..., Any]) -> None:
    kernel = await make_kernel(models={"m": scripted('["a", "b"]', '{"number": "7", "total": 1}')})

    def prog(ctx: Any) -> Any:  # runs in a worker thread; calls block on the kernel loop
        names = ctx.extract("Two letters.", list[str])
        invoice = LLM().extract("Read it.", Invoice)
        return [names, invoice.number]

    status = await kernel.run(prog)
    assert status.state == "done", status.error
    assert status.result == [["a", "b"], "7"]
