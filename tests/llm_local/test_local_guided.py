"""Guided tool replies on the local core: a random model's every reply is a valid call or
answer (and without the guide it is not), sampled or greedy, cut short or resumed."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from llmagentos.errors import InvalidArgument
from llmagentos.llm import LLMRequest, Message, ToolSpec, create_backend
from llmagentos.llm.guides import response_guide, schema_guide, tool_reply_guide
from llmagentos.llm.local import Generation, LocalBackend, SamplingParams
from llmagentos.llm.toolcalls import parse_model_output

TOOLS = (
    ToolSpec(
        "search",
        "Search notes.",
        {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    ),
    ToolSpec(
        "add",
        "Add two numbers.",
        {
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            "required": ["a", "b"],
        },
    ),
    ToolSpec(
        "move",
        "Move.",
        {
            "type": "object",
            "properties": {"action": {"enum": ["up", "down", "left", "right"]}},
            "required": ["action"],
        },
    ),
)
GUIDE = tool_reply_guide(TOOLS)


def ask(text: str, **kw: Any) -> LLMRequest:
    # one tool: the tiny model's template prints the schemas, and its window is small
    return LLMRequest(messages=(Message(role="user", content=text),), tools=TOOLS[:1], **kw)


def run(core: Any, prompts: list[list[int]], params: SamplingParams) -> list[Generation]:
    ids = [core.add(p, params) for p in prompts]
    results: dict[int, Generation] = {}
    while core.has_work():
        for event in core.step():
            if isinstance(event.result, Generation):
                results[event.seq_id] = event.result
    return [results[i] for i in ids]


def usable(text: str) -> bool:
    """What the ReAct agent can use: one call of an offered tool fitting its schema, or an
    answer (checked against the schema independently of the guide's own matcher)."""
    try:
        parsed = parse_model_output(text)
    except Exception:
        return False
    if parsed.answer is not None:
        return True
    if len(parsed.tool_calls) != 1:
        return False
    call = parsed.tool_calls[0]
    spec = {t.name: t for t in TOOLS}.get(call.name)
    if spec is None:
        return False
    args = json.loads(call.arguments)
    props = spec.parameters["properties"]
    if set(args) - set(props) or set(spec.parameters["required"]) - set(args):
        return False
    for key, value in args.items():
        if "enum" in props[key] and value not in props[key]["enum"]:
            return False
        if props[key].get("type") == "number" and not isinstance(value, int | float):
            return False
    return True


async def raw(b: LocalBackend, request: LLMRequest) -> Generation:
    handle = await b.start(request)
    result = None
    async for event in handle.events():
        result = event.result or result
    assert isinstance(result, Generation)
    return result


QUESTIONS = [f"question {i}: " + "what is the weather in the city " * (i % 4) for i in range(10)]


def test_every_guided_reply_is_usable_and_free_ones_are_not(make_core: Any, tiny: Any) -> None:
    core = make_core(max_batch=4)
    prompts = [tiny.tokenizer.encode(q) for q in QUESTIONS]
    for max_tokens in (24, 40, 120):
        for g in run(core, prompts, SamplingParams(max_tokens=max_tokens, guide=GUIDE)):
            assert usable(g.text), (max_tokens, g.text)
            assert len(g.token_ids) <= max_tokens
    plain = run(core, prompts, SamplingParams(max_tokens=40))
    assert not any(usable(g.text) for g in plain)  # the guide is what made them valid


async def test_the_backend_guides_requests_that_offer_tools(tiny_path: Path) -> None:
    guided = create_backend(f"hf:{tiny_path}?guided_tools=true&max_batch=4")
    assert isinstance(guided, LocalBackend) and guided.guided_tools
    try:
        got = await asyncio.gather(*(raw(guided, ask(q, max_tokens=30)) for q in QUESTIONS))
        assert all(usable(g.text) and ('"search"' in g.text or '"answer"' in g.text) for g in got)
        # the response carries a call natively, as any tool-calling backend's does
        answer = await guided.complete(ask(QUESTIONS[0], max_tokens=30))
        assert answer.message.tool_calls or parse_model_output(answer.text).answer is not None
    finally:
        await guided.aclose()


async def test_without_tools_the_guide_changes_nothing(tiny_path: Path) -> None:
    guided = create_backend(f"hf:{tiny_path}?guided_tools=true")
    free = create_backend(f"hf:{tiny_path}")
    try:
        plain = LLMRequest(messages=(Message(role="user", content="hello agent"),), max_tokens=20)
        assert (await guided.complete(plain)).text == (await free.complete(plain)).text
    finally:
        await guided.aclose()
        await free.aclose()


async def test_sampled_guided_replies_are_usable_and_follow_their_seed(tiny_path: Path) -> None:
    b = LocalBackend(str(tiny_path), guided_tools=True)
    try:
        requests = [ask(QUESTIONS[i % 3], max_tokens=30, temperature=1.3, seed=i) for i in range(8)]
        first = await asyncio.gather(*(raw(b, r) for r in requests))
        again = await asyncio.gather(*(raw(b, r) for r in requests))
        assert [g.text for g in first] == [g.text for g in again]
        assert all(usable(g.text) for g in first), [g.text for g in first]
        assert len({g.text for g in first}) > 1
    finally:
        await b.aclose()


def test_sampling_all_tools_stays_usable(make_core: Any, tiny: Any) -> None:
    core = make_core(max_batch=8)
    prompts = [tiny.tokenizer.encode(q) for q in QUESTIONS]
    for seed in range(3):
        params = SamplingParams(max_tokens=50, temperature=1.5, top_p=0.95, seed=seed, guide=GUIDE)
        assert all(usable(g.text) for g in run(core, prompts, params))


async def test_a_guided_generation_resumes_exactly(tiny_path: Path) -> None:
    b = LocalBackend(str(tiny_path), guided_tools=True)
    try:
        request = ask("a long story about agents", max_tokens=200)
        whole = await raw(b, request)
        handle = await b.start(request)
        async for event in handle.events():
            if event.token_ids:
                break
        snap = await b.snapshot(handle)
        handle.cancel()
        resumed = None
        async for event in (await b.resume(snap)).events():
            resumed = event.result or resumed
        assert isinstance(resumed, Generation)
        assert resumed.token_ids == whole.token_ids and usable(resumed.text)
    finally:
        await b.aclose()


def test_the_engine_guides_any_schema(make_core: Any, tiny: Any) -> None:
    schema = {"type": "array", "items": {"type": "integer"}}
    prompts = [tiny.tokenizer.encode(q) for q in QUESTIONS[:4]]
    for g in run(make_core(), prompts, SamplingParams(max_tokens=25, guide=schema_guide(schema))):
        value = json.loads(g.text)
        assert isinstance(value, list) and all(isinstance(v, int) for v in value)


def test_the_engine_writes_what_a_pydantic_model_accepts(make_core: Any, tiny: Any) -> None:
    """A random model guided by a Pydantic model's schema ($defs, Optional, Literal, lengths):
    every reply validates, even the ones the token budget cut short and the guide closed."""
    from typing import Literal

    import pydantic

    class Item(pydantic.BaseModel):
        sku: str = pydantic.Field(min_length=2, max_length=6)
        qty: int | None = pydantic.Field(default=None, ge=1, le=99)

    class Order(pydantic.BaseModel):
        status: Literal["open", "shipped"] | None
        items: list[Item] = pydantic.Field(max_length=2)

    guide = schema_guide(Order.model_json_schema())
    prompts = [tiny.tokenizer.encode(q) for q in QUESTIONS[:4]]
    for budget in (40, 80):  # the shortest valid order fits in either
        for g in run(make_core(), prompts, SamplingParams(max_tokens=budget, guide=guide)):
            Order.model_validate_json(g.text)


def test_builtin_models_are_guided_by_default() -> None:
    pytest.importorskip("safetensors")
    on = create_backend("builtin:tiny")
    off = create_backend("builtin:tiny?guided_tools=false")
    try:
        assert isinstance(on, LocalBackend) and on.guided_tools
        assert isinstance(off, LocalBackend) and not off.guided_tools
    finally:
        asyncio.run(on.aclose())
        asyncio.run(off.aclose())
    assert GUIDE.accepts('{"tool": "move", "arguments": {"action": "up"}}')


async def test_a_request_can_ask_for_a_choice_or_a_json_schema(tiny_path: Path) -> None:
    b = LocalBackend(str(tiny_path))  # no guided_tools: a request's own format still holds
    options = ["The plan adds forty kilometres of lanes.", "Work starts in May.", "Shops object."]
    try:
        for q in QUESTIONS[:4]:
            choice = {"type": "choice", "choices": options}
            plain = LLMRequest(messages=(Message(role="user", content=q),), max_tokens=60)
            reply = await b.complete(dataclasses.replace(plain, response_format=choice))
            assert reply.text in options
            schema = {
                "type": "object",
                "properties": {"label": {"enum": ["good", "bad"]}, "score": {"type": "number"}},
                "required": ["label", "score"],
            }
            fmt = {"type": "json_schema", "json_schema": {"schema": schema}}
            value = json.loads(
                (await b.complete(dataclasses.replace(plain, response_format=fmt))).text
            )
            assert value["label"] in ("good", "bad") and isinstance(value["score"], int | float)
        with pytest.raises(InvalidArgument, match="unknown response_format"):
            await b.complete(dataclasses.replace(plain, response_format={"type": "yaml"}))
        assert (await b.complete(plain)).text not in options  # the format did the choosing
    finally:
        await b.aclose()


def test_characters_the_tokenizer_spells_a_byte_at_a_time(make_core: Any, tiny: Any) -> None:
    # none of these characters is a token of its own: each is two to four byte tokens
    options = ["crème brûlée", "Zoë Ærø", "€5 à Kraków", "日本語 ok", "🙂 fine"]
    assert any(
        "\ufffd" in tiny.tokenizer.decode([t])
        for o in options
        for t in tiny.tokenizer.encode(o, add_special_tokens=False)
    )
    core = make_core(max_batch=8)
    prompts = [tiny.tokenizer.encode(q) for q in QUESTIONS]
    choice = response_guide({"type": "choice", "choices": options})
    for params in (
        SamplingParams(max_tokens=40, guide=choice),
        SamplingParams(max_tokens=40, temperature=1.5, seed=3, guide=choice),
    ):
        assert all(g.text in options for g in run(core, prompts, params))
    enum = schema_guide(
        {"type": "object", "properties": {"dish": {"enum": options}}, "required": ["dish"]}
    )
    for max_tokens in (30, 60):
        for g in run(core, prompts, SamplingParams(max_tokens=max_tokens, guide=enum)):
            assert json.loads(g.text)["dish"] in options, g.text
    free = schema_guide({"type": "array", "items": {"type": "string"}})
    for g in run(core, prompts, SamplingParams(max_tokens=50, temperature=1.5, seed=1, guide=free)):
        assert isinstance(json.loads(g.text), list), g.text  # no half characters left
