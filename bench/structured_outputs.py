"""Typed replies on the local core: guided by the type's schema vs the model left free.

Four Pydantic types (a Literal and a bounded string; a nested list with Optional fields;
`$ref`s to a shared model; a list of literals), eight requests each, asked of a local model
twice through the same continuously batched core with the same prompt (the request and the
type's JSON schema): `free`, as a client without guided decoding asks, and `guided`, with
the schema also as `response_format` (what `ctx.extract` sends; the core guides decoding).
Figures: the share of replies Pydantic accepts, tokens per reply, wall time of the batch
and time per generated token (prefill included, the same for both).

Run: `.venv/bin/python bench/structured_outputs.py --json bench/results/structured_outputs.json`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any, Literal

import pydantic
from rich.console import Console
from rich.table import Table


class Ticket(pydantic.BaseModel):
    title: str = pydantic.Field(max_length=40)
    priority: Literal["low", "medium", "high"]


class Line(pydantic.BaseModel):
    item: str
    qty: int
    price: float | None = None


class Invoice(pydantic.BaseModel):
    number: str
    paid: bool
    lines: list[Line] = pydantic.Field(max_length=3)


class Address(pydantic.BaseModel):
    city: str
    country: str | None = None


class Person(pydantic.BaseModel):
    name: str
    home: Address
    work: Address | None = None


SHAPES: dict[str, Any] = {
    "Ticket": Ticket,
    "Invoice": Invoice,
    "Person": Person,
    "list[Literal]": list[Literal["red", "green", "blue"]],
}
PROMPTS = {
    "Ticket": [
        "The printer on floor 2 is jammed again.",
        "Our website is down for every customer.",
        "Please change the colour of the login button.",
        "The coffee machine makes a strange noise.",
        "Payroll did not run this month.",
        "A user forgot her password.",
        "The office wifi is slow in the afternoon.",
        "Servers in the north region are overheating.",
    ],
    "Invoice": [
        "Invoice 17: two lamps at 30 dollars, paid.",
        "Bill B-9 for three chairs, not paid yet.",
        "Invoice 204, one desk, paid in cash.",
        "Receipt 5: four pens and a notebook.",
        "Invoice X-1 for ten cups, unpaid.",
        "Bill 88: a kettle for 25 euros, paid.",
        "Invoice 3 lists two shelves and a lamp.",
        "Invoice 61 for one printer, still open.",
    ],
    "Person": [
        "Ana lives in Lisbon and works in Porto.",
        "Bo lives in Oslo, Norway.",
        "Chen is from Shanghai and works from home.",
        "Dara moved to Dublin last year.",
        "Eli lives in Austin and works in Dallas.",
        "Fay's home is in Nairobi, Kenya.",
        "Gus lives in Rome; his office is in Milan.",
        "Hana lives in Kyoto.",
    ],
    "list[Literal]": [
        "Name two colours of a traffic light.",
        "Which colours are in the French flag?",
        "Pick a colour for the sea.",
        "List the colours of grass and sky.",
        "What colour is a ripe tomato?",
        "Name every colour you like.",
        "Which colour means go?",
        "Pick two colours for a logo.",
    ],
}


async def ask_all(spec: str, guided: bool, max_tokens: int) -> list[dict[str, Any]]:
    from llmagentos.llm.spec import create_backend
    from llmagentos.llm.types import LLMRequest, Message

    backend: Any = create_backend(spec)
    jobs = []
    for name, shape in SHAPES.items():
        adapter: Any = pydantic.TypeAdapter(shape)
        schema = adapter.json_schema()
        for prompt in PROMPTS[name]:
            fmt = None
            if guided:
                fmt = {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}
            # the same prompt both ways, so the prefill is the same work
            text = f"{prompt}\nReply with JSON matching this schema: {json.dumps(schema)}"
            request = LLMRequest(
                messages=(Message(role="user", content=text),),
                max_tokens=max_tokens,
                response_format=fmt,
            )
            jobs.append((name, adapter, request))
    try:
        began = time.perf_counter()
        replies = await asyncio.gather(*(backend.complete(r) for _, _, r in jobs))
        seconds = time.perf_counter() - began
    finally:
        await backend.aclose()
    out = []
    for (name, adapter, _), reply in zip(jobs, replies, strict=True):
        try:
            adapter.validate_json(reply.text)
            valid = True
        except pydantic.ValidationError:
            valid = False
        out.append(
            {
                "shape": name,
                "valid": valid,
                "tokens": reply.usage.completion_tokens,
                "text": reply.text[:120],
                "seconds": seconds,
            }
        )
    return out


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    tokens = sum(r["tokens"] for r in rows)
    seconds = rows[0]["seconds"]
    per_shape = {
        name: round(sum(r["valid"] for r in rows if r["shape"] == name) / len(PROMPTS[name]), 3)
        for name in SHAPES
    }
    return {
        "valid_rate": round(sum(r["valid"] for r in rows) / len(rows), 3),
        "valid_by_shape": per_shape,
        "tokens_per_reply": round(tokens / len(rows), 1),
        "seconds": round(seconds, 2),
        "ms_per_token": round(1000 * seconds / max(tokens, 1), 2),
        "examples": [r for r in rows if not r["valid"]][:3],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="builtin:tiny?guided_tools=false")
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    console = Console()
    results = {}
    for way, guided in (("free", False), ("guided", True)):
        with console.status(f"asking {sum(map(len, PROMPTS.values()))} requests, {way}"):
            results[way] = summarize(asyncio.run(ask_all(args.model, guided, args.max_tokens)))
    table = Table(title=f"Typed replies from {args.model} ({args.max_tokens} tokens at most)")
    for column in ("way", *SHAPES, "all valid", "tokens / reply", "seconds", "ms / token"):
        table.add_column(column, justify="left" if column == "way" else "right")
    for way, r in results.items():
        table.add_row(
            way,
            *(f"{r['valid_by_shape'][s]:.2f}" for s in SHAPES),
            f"{r['valid_rate']:.3f}",
            f"{r['tokens_per_reply']:.1f}",
            f"{r['seconds']:.2f}",
            f"{r['ms_per_token']:.2f}",
        )
    console.print(table)
    free, guided = results.values()
    ratio = guided["ms_per_token"] / max(free["ms_per_token"], 1e-9)
    console.print(f"time per token, guided / free: {ratio:.2f}x")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        out = {
            "model": args.model,
            "max_tokens": args.max_tokens,
            "results": results,
            "ms_per_token_ratio": round(ratio, 2),
            "command": " ".join(["python", *sys.argv]),
        }
        args.json.write_text(json.dumps(out, indent=2) + "\n")
        console.print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
