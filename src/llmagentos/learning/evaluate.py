"""Scoring a chat model on the held-out corpus: tool calls, answers, labels, moves.

Each assistant turn of an eval example is a prompt (the turns before it) and a `Target`.
The model's greedy reply is parsed the way the ReAct agent parses it (`llm.toolcalls`), and
scored: is the tool call valid (parses, names an offered tool, arguments fit its schema),
is it the right tool, does the answer contain the fact, is the label right.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmagentos.errors import MalformedModelOutput
from llmagentos.learning.corpus import SPECS, Example, Target
from llmagentos.llm.toolcalls import parse_model_output

Generate = Callable[[list[list[dict[str, Any]]], list[tuple[str, ...]]], list[str]]
"""Replies for a batch of prompts (each a list of chat messages), given the names of the
tools each offers (a generator passes them to the model as the agent does, or ignores them:
the prompts describe the tools either way)."""

HEADLINE = (
    "tool_call_valid_rate",
    "tool_choice_accuracy",
    "answer_exact_or_contained_rate",
    "classifier_accuracy",
)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower()).strip(" .!\"'")


def contains(text: str, fact: str) -> bool:
    """`fact` occurs in `text` as whole words (case and spacing ignored)."""
    return re.search(r"(?<!\w)" + re.escape(_norm(fact)) + r"(?!\w)", _norm(text)) is not None


def fits_schema(tool: str, arguments: dict[str, Any]) -> bool:
    """Required arguments present, no unknown ones, strings where strings, enums kept."""
    schema = SPECS[tool].parameters
    props: dict[str, Any] = schema.get("properties", {})
    if any(k not in arguments for k in schema.get("required", [])):
        return False
    for key, value in arguments.items():
        spec = props.get(key)
        if spec is None:
            return False
        if spec.get("type") == "string" and not isinstance(value, str):
            return False
        if "enum" in spec and value not in spec["enum"]:
            return False
    return True


@dataclass(slots=True)
class Score:
    """One scored turn."""

    task: str
    kind: str
    reply: str
    checks: dict[str, bool] = field(default_factory=dict)


def score(task: str, target: Target, offered: Sequence[str], reply: str) -> Score:
    """Score `reply` against `target` (see the module docstring)."""
    result = Score(task, target.kind, reply)
    try:
        parsed = parse_model_output(reply)
    except MalformedModelOutput:
        parsed = None
    call = parsed.tool_calls[0] if parsed and len(parsed.tool_calls) == 1 else None
    args: Any = json.loads(call.arguments) if call else None
    if target.tool is not None:  # a tool call is expected
        valid = call is not None and call.name in offered and fits_schema(call.name, args)
        result.checks["tool_valid"] = valid
        result.checks["tool_choice"] = valid and call is not None and call.name == target.tool
        result.checks["tool_arguments"] = valid and args == target.arguments
        if target.kind == "move":
            moved = args.get("action") if valid and isinstance(args, dict) else None
            result.checks["move"] = moved in target.good_moves
        return result
    answer = _answer(parsed, reply, target.react)
    if target.kind == "label":
        result.checks["label"] = answer is not None and _norm(answer) == target.label
    elif target.kind == "move":
        result.checks["move"] = answer is not None and _norm(answer) in target.good_moves
    elif target.kind == "summary":
        result.checks["summary"] = answer is not None and contains(answer, target.fact or "")
    elif target.kind == "reply":
        result.checks["reply"] = _norm(reply) == _norm(target.fact or "")
    elif target.kind == "translation":
        result.checks["translation"] = _norm(reply) == _norm(target.fact or "")
    elif target.kind == "picks":
        wanted = set((target.fact or "").split("\n"))
        named = {line.partition(":")[0].strip() for line in reply.splitlines() if ":" in line}
        result.checks["picks"] = named == wanted
    else:
        result.checks["answer"] = answer is not None and contains(answer, target.fact or "")
        result.checks["format"] = answer is not None
    return result


def _answer(parsed: Any, reply: str, react: bool) -> str | None:
    if parsed is not None and parsed.answer is not None:
        return str(parsed.answer)
    if react or (parsed is not None and parsed.tool_calls):
        return None  # the agent wanted {"answer": ...}; anything else is a miss
    return reply


_METRICS = {
    "tool_call_valid_rate": "tool_valid",
    "tool_choice_accuracy": "tool_choice",
    "tool_argument_accuracy": "tool_arguments",
    "answer_exact_or_contained_rate": "answer",
    "classifier_accuracy": "label",
    "maze_move_accuracy": "move",
    "summary_lead_rate": "summary",
    "desk_reply_accuracy": "reply",
    "translation_exact_rate": "translation",
    "recommend_picks_accuracy": "picks",
}


def summarize(scores: Sequence[Score]) -> dict[str, Any]:
    """Headline rates, the same per task, and counts."""

    def rates(items: Sequence[Score]) -> dict[str, float]:
        out = {}
        for metric, check in _METRICS.items():
            values = [s.checks[check] for s in items if check in s.checks]
            if values:
                out[metric] = round(sum(values) / len(values), 4)
        return out

    by_task: dict[str, list[Score]] = defaultdict(list)
    for s in scores:
        by_task[s.task].append(s)
    return {
        **rates(scores),
        "turns": len(scores),
        "per_task": {task: rates(items) for task, items in sorted(by_task.items())},
    }


def run_eval(
    generate: Generate,
    examples: Sequence[Example],
    *,
    batch_size: int = 16,
    on_batch: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, Any], list[Score]]:
    """Generate a reply for every assistant turn of `examples` and score them all."""
    turns = [(ex, prompt, target) for ex in examples for prompt, _, target in ex.turns()]
    scores: list[Score] = []
    began = time.monotonic()
    for start in range(0, len(turns), batch_size):
        chunk = turns[start : start + batch_size]
        replies = generate([prompt for _, prompt, _ in chunk], [ex.tools for ex, _, _ in chunk])
        for (ex, _, target), reply in zip(chunk, replies, strict=True):
            scores.append(score(ex.task, target, ex.tools, reply))
        if on_batch is not None:
            on_batch(min(start + batch_size, len(turns)), len(turns))
    summary = summarize(scores)
    summary["seconds"] = round(time.monotonic() - began, 1)
    return summary, scores


def correction_recovery(
    generate: Generate, examples: Sequence[Example], scores: Sequence[Score]
) -> dict[str, Any]:
    """Where a tool call was due and the reply could not be used at all (it does not parse,
    or is empty), send the ReAct agent's own correction (`sdk.react.correction`) and ask
    again, once, as the agent does: how many come back as a valid call. `scores` are
    `run_eval`'s for `examples`."""
    from llmagentos.sdk.react import correction

    turns = [(ex, prompt, target) for ex in examples for prompt, _, target in ex.turns()]
    broken: list[tuple[Example, list[dict[str, Any]], Target]] = []
    for (ex, prompt, target), result in zip(turns, scores, strict=True):
        problem = correction(result.reply) if target.tool is not None else None
        if problem is not None:
            said = [{"role": "assistant", "content": result.reply}]
            broken.append((ex, [*prompt, *said, {"role": "user", "content": problem}], target))
    if broken:
        replies = generate([prompt for _, prompt, _ in broken], [ex.tools for ex, _, _ in broken])
    else:
        replies = []
    recovered = sum(
        score(ex.task, target, ex.tools, reply).checks["tool_valid"]
        for (ex, _, target), reply in zip(broken, replies, strict=True)
    )
    rate = round(recovered / len(broken), 4) if broken else None
    return {"broken_calls": len(broken), "recovered": recovered, "recovery_rate": rate}


def hf_generator(
    model_dir: str, *, max_new_tokens: int = 96, threads: int | None = None
) -> Generate:
    """Greedy batched generation with `transformers` from a saved model directory."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from llmagentos.learning.build import quiet_transformers

    quiet_transformers()
    if threads:
        torch.set_num_threads(threads)
    tok: Any = AutoTokenizer.from_pretrained(model_dir)
    tok.padding_side = "left"
    model: Any = AutoModelForCausalLM.from_pretrained(model_dir, dtype="float32")
    model.eval()

    def generate(prompts: list[list[dict[str, Any]]], tools: list[tuple[str, ...]]) -> list[str]:
        texts = [
            tok.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts
        ]
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False)
        new = out[:, enc["input_ids"].shape[1] :]
        return [tok.decode(row, skip_special_tokens=True).strip() for row in new]

    return generate


def evaluate_classifier(
    model_dir: str, rows: Sequence[tuple[str, str]], *, threads: int | None = None
) -> dict[str, Any]:
    """Accuracy, per-label F1 and macro F1 of a saved classifier on `(text, label)` rows."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from llmagentos.learning.classifier import predict
    from llmagentos.learning.metrics import classification_report

    if threads:
        torch.set_num_threads(threads)
    net: Any = AutoModelForSequenceClassification.from_pretrained(model_dir)
    tok = AutoTokenizer.from_pretrained(model_dir)
    names = [net.config.id2label[i] for i in range(net.config.num_labels)]
    predicted = predict(net, tok, [t for t, _ in rows], 128)
    return classification_report([lab for _, lab in rows], [names[p] for p in predicted], names)
