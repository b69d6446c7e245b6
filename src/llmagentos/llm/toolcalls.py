"""Tool calls and final answers read out of a model's text, for backends without native tool calls.

Accepted forms, anywhere in the text (leading prose is fine):

* JSON objects: `{"tool": "x", "arguments": {...}}`, `{"name": "x", "arguments"|"parameters":
  {...}}`, OpenAI's `{"function": {"name": ..., "arguments": "..."}}`, LangChain's
  `{"action": "x", "action_input": ...}`, `{"tool_calls": [...]}`, or arrays of calls; bare,
  in ```json fences or in `<tool_call>...</tool_call>` tags;
* ReAct: `Action: name` then `Action Input: {...}`;
* final answers: `{"answer": "..."}` or `Final Answer: ...`.

Output that clearly tried to be a tool call but is broken raises `MalformedModelOutput` with
a message written for the model: what was wrong and the shape expected. Nothing else is
raised, whatever the text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from llmagentos.errors import MalformedModelOutput
from llmagentos.llm.types import ToolCallRequest
from llmagentos.records import record

EXPECTED = 'a JSON object like {"tool": "<tool name>", "arguments": {"<arg>": <value>}}'

_NAME_RE = re.compile(r"[A-Za-z_][\w.\-]{0,127}")
_ACTION = re.compile(r"^[ \t]*Action[ \t]*\d*[ \t]*:[ \t]*(?P<name>.*)$", re.M | re.I)
_ACTION_INPUT = re.compile(r"^[ \t]*Action[ \t]*\d*[ \t]*Input[ \t]*\d*[ \t]*:[ \t]*", re.M | re.I)
_OBSERVATION = re.compile(r"^[ \t]*Observation[ \t]*\d*[ \t]*:", re.M | re.I)
_FINAL = re.compile(r"^[ \t]*Final[ \t]+Answer[ \t]*:[ \t]*", re.M | re.I)
_TAG = re.compile(r"<tool_call>(.*?)(?:</tool_call>|\Z)", re.S)
_EMPTY_WRAPPERS = re.compile(r"<tool_call>\s*(?:</tool_call>)?|```[\w-]*\s*```", re.S)
_START = re.compile(r"\{|\[\s*\{")
# A broken object that starts with one of these keys was meant as a call or an answer.
_TRIED = re.compile(
    r"""\{\s*["'](?:tool|tool_name|function|tool_calls|action|answer|final_answer)["']\s*:"""
    r"""|\{\s*["']name["']\s*:[^{}]{0,200}["'](?:arguments|parameters)["']""",
    re.S,
)
_ARG_KEYS = ("arguments", "parameters", "args", "action_input", "tool_input", "input")
_NAME_KEYS = ("tool", "tool_name", "action", "name", "function")
_ANSWER_KEYS = ("answer", "final_answer")
_MAX_STARTS = 256  # bounds the work on adversarial text full of braces


@record
class ParsedOutput:
    """What a model's text asked for: tool calls, a final answer, and the remaining prose."""

    tool_calls: tuple[ToolCallRequest, ...] = ()
    answer: str | None = None
    text: str = ""  # the text with the call/answer markup taken out (the model's "thought")


def _malformed(what: str) -> MalformedModelOutput:
    return MalformedModelOutput(f'{what}. Expected {EXPECTED}, or {{"answer": "..."}}.')


def parse_model_output(text: str) -> ParsedOutput:
    """Parse tool calls or a final answer out of `text` (see the module docstring)."""
    react = _parse_react(text)
    if react is not None:
        return react
    return _parse_json(text)


# -- ReAct --------------------------------------------------------------------------------


def _parse_react(text: str) -> ParsedOutput | None:
    action = _ACTION.search(text)
    final = _FINAL.search(text)
    if action is None and final is None:
        return None
    if action is not None and final is not None:
        raise MalformedModelOutput(
            "Your reply has both an 'Action:' and a 'Final Answer:'. Write either "
            "'Action: <tool name>' with 'Action Input: {...}', or 'Final Answer: ...', not both."
        )
    if final is not None:
        return ParsedOutput(answer=text[final.end() :].strip(), text=text[: final.start()].strip())
    assert action is not None
    name = action.group("name").strip().strip("`'\"").strip()
    if not _NAME_RE.fullmatch(name):
        raise MalformedModelOutput(
            f"'Action:' must be followed by exactly one tool name, got {name[:80]!r}. Expected:\n"
            'Action: <tool name>\nAction Input: {"<arg>": <value>}'
        )
    arguments = "{}"
    found = _ACTION_INPUT.search(text, action.end())
    if found is not None:
        raw = text[found.end() :]
        stop = _OBSERVATION.search(raw)
        arguments = _react_arguments(raw[: stop.start()] if stop else raw)
    call = ToolCallRequest(id="call_0", name=name, arguments=arguments)
    return ParsedOutput(tool_calls=(call,), text=text[: action.start()].strip())


def _react_arguments(raw: str) -> str:
    raw = raw.strip()
    if raw.startswith("```"):  # a fenced input: drop the fence lines
        raw = raw.split("\n", 1)[1] if "\n" in raw else ""
        raw = raw.rsplit("```", 1)[0].strip()
    if not raw:
        return "{}"
    if raw[0] in "{[":
        try:
            value, _ = json.JSONDecoder().raw_decode(raw)
        except (ValueError, RecursionError) as exc:
            raise MalformedModelOutput(
                f"'Action Input:' is not valid JSON ({_why(exc)}). Write the arguments as one "
                'JSON object with double-quoted keys, e.g. Action Input: {"query": "..."}'
            ) from None
        if not isinstance(value, dict):
            raise MalformedModelOutput(
                "'Action Input:' must be a JSON object of arguments, e.g. "
                'Action Input: {"query": "..."}'
            )
        return json.dumps(value, ensure_ascii=False)
    # A plain-text input (classic ReAct) is passed on as the tool's single "input" argument.
    return json.dumps({"input": raw.strip("\"'`")}, ensure_ascii=False)


def _why(exc: BaseException) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)[:120]


# -- JSON ---------------------------------------------------------------------------------


def _scan(text: str) -> Iterator[tuple[int, int, Any, BaseException | None]]:
    """Yield `(start, end, value, error)` for each JSON object or array of objects in `text`."""
    decoder = json.JSONDecoder()
    pos = 0
    for _ in range(_MAX_STARTS):
        m = _START.search(text, pos)
        if m is None:
            return
        start = m.start()
        try:
            value, end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError) as exc:
            yield start, start + 1, None, exc
            pos = start + 1
            continue
        yield start, end, value, None
        pos = end


def _parse_json(text: str) -> ParsedOutput:
    tags = [(m.start(), m.end()) for m in _TAG.finditer(text)]
    calls: list[ToolCallRequest] = []
    answers: list[str] = []
    spans: list[tuple[int, int]] = []
    for start, end, value, error in _scan(text):
        if error is not None:
            if _TRIED.match(text, text.find("{", start)) or any(a <= start < b for a, b in tags):
                hint = (
                    " (use double quotes, not single quotes)"
                    if "'" in text[start : start + 30]
                    else ""
                )
                raise _malformed(f"Your tool call is not valid JSON: {_why(error)}{hint}")
            continue
        found = _classify(value, len(calls))
        if found is None:
            continue
        spans.append((start, end))
        if isinstance(found, str):
            answers.append(found)
        else:
            calls.extend(found)
    for a, b in tags:
        if not any(a <= s < b for s, _ in spans):
            raise _malformed("The <tool_call> block does not contain a JSON tool call")
    if calls and answers:
        raise _malformed("Your reply has both tool calls and a final answer; write only one")
    return ParsedOutput(
        tool_calls=tuple(calls), answer=answers[0] if answers else None, text=_prose(text, spans)
    )


def _prose(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` without the consumed JSON and the tags or fences that held it."""
    kept, pos = [], 0
    for start, end in spans:
        kept.append(text[pos:start])
        pos = end
    kept.append(text[pos:])
    return _EMPTY_WRAPPERS.sub("", "".join(kept)).strip()


def _classify(value: Any, first_index: int) -> list[ToolCallRequest] | str | None:
    """Tool calls, an answer, or None when `value` is ordinary JSON that is neither."""
    if isinstance(value, list):
        flags = [isinstance(v, dict) and _is_call(v) for v in value]
        if value and all(flags):
            return [_call(v, first_index + i) for i, v in enumerate(value)]
        if any(flags):
            raise _malformed("Your list of tool calls contains items that are not tool calls")
        return None
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("tool_calls"), list):
        return _classify(value["tool_calls"], first_index) or []
    if str(value.get("action", "")).strip().lower() in ("final answer", "final_answer"):
        return _answer_text(value.get("action_input", ""))
    if _is_call(value):
        return [_call(value, first_index)]
    for key in _ANSWER_KEYS:
        if key in value:
            return _answer_text(value[key])
    return None


def _is_call(d: dict[str, Any]) -> bool:
    if any(k in d for k in ("tool", "tool_name", "action")):
        return True
    if isinstance(d.get("function"), dict):
        return True
    return ("name" in d or "function" in d) and any(k in d for k in _ARG_KEYS)


def _answer_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _call(d: dict[str, Any], index: int) -> ToolCallRequest:
    source = d["function"] if isinstance(d.get("function"), dict) else d
    name = next((source[k] for k in _NAME_KEYS if k in source), None)
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name.strip()):
        raise _malformed(
            f'A tool call needs the tool\'s name as a string in "tool", got {name!r:.80}'
        )
    raw = next((source[k] for k in _ARG_KEYS if k in source), None)
    given = d.get("id")
    call_id = given if isinstance(given, str) and given else f"call_{index}"
    return ToolCallRequest(id=call_id, name=name.strip(), arguments=_arguments(raw, name))


def _arguments(raw: Any, name: str) -> str:
    if raw is None:
        return "{}"
    if isinstance(raw, dict):
        return json.dumps(raw, ensure_ascii=False)
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw) if raw.strip() else {}
        except (ValueError, RecursionError):
            # A plain string (LangChain's action_input) becomes the single "input" argument.
            return json.dumps({"input": raw}, ensure_ascii=False)
        if isinstance(parsed, dict):
            return json.dumps(parsed, ensure_ascii=False)
    raise _malformed(f"The arguments of tool {name!r} must be a JSON object, got {raw!r:.80}")
