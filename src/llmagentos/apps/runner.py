"""Running an app: boot a kernel with its model, tools and policy, spawn its entry point.

The app's process gets exactly the capabilities its manifest asks for, after checking
them against what it was granted; whatever it spawns derives from those. The model is
`model` if given (a spec, a backend, or `"offline"` for the app's offline double), else
the manifest's default; when that default cannot be loaded (the built-in model is not
installed, say) and the app ships an offline double, the double runs instead and the
returned `AppRun.notes` says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmagentos.access import Policy, Rule
from llmagentos.apps.errors import InvalidManifest
from llmagentos.apps.factory import resolve_tools
from llmagentos.apps.manifest import AppManifest
from llmagentos.apps.store import AppStore, check_granted, importable, requested_capabilities
from llmagentos.errors import LLMAgentOSError
from llmagentos.kernel.config import KernelConfig
from llmagentos.kernel.kernel import Kernel
from llmagentos.kernel.programs import ProgramRegistry
from llmagentos.kernel.syscalls import Capabilities, ExitStatus
from llmagentos.llm.base import LLMBackend
from llmagentos.llm.spec import create_backend
from llmagentos.tools import Tool

OFFLINE = "offline"
Display = Callable[[Kernel, "asyncio.Future[Any]"], Awaitable[None]]


@dataclass
class AppRun:
    """How an app run ended, which model it used, and anything worth telling the user."""

    status: ExitStatus
    model: str
    notes: list[str] = field(default_factory=list)


def offline_model(manifest: AppManifest) -> LLMBackend:
    """The app's offline double (a rule-based stand-in for a model)."""
    if manifest.offline_model is None:
        raise InvalidManifest(f"app {manifest.name!r} ships no offline_model")
    factory = ProgramRegistry().resolve(manifest.offline_model)
    backend: LLMBackend = factory()
    return backend


def choose_model(
    manifest: AppManifest, model: str | LLMBackend | None
) -> tuple[str, LLMBackend, str | None]:
    """(name, backend, a note for the user or None); see the module docstring."""
    if model is not None and not isinstance(model, str):
        return getattr(model, "name", "model"), model, None
    if model == OFFLINE or (model is None and manifest.model is None):
        return OFFLINE, offline_model(manifest), None
    spec = model or manifest.model
    assert spec is not None
    try:
        return spec, create_backend(spec), None
    except LLMAgentOSError as exc:
        if model is not None or manifest.offline_model is None:
            raise
        note = (
            f"model {spec} is not available ({exc.message}); running on the app's offline"
            " double, a rule-based stand-in, not a language model"
        )
        return OFFLINE, offline_model(manifest), note


async def approve_everything(kernel: Kernel, stop: asyncio.Event, by: str = "operator") -> int:
    """Stand in for a person at `llmagentos approvals`: approve every request."""
    approved = 0
    while not stop.is_set():
        for pending in kernel.approvals.list("pending"):
            kernel.approvals.decide(pending.id, True, by=by, note="approved by --approve")
            approved += 1
        try:
            await asyncio.wait_for(stop.wait(), 0.05)
        except TimeoutError:
            pass
    return approved


@dataclass(frozen=True)
class PreparedApp:
    """An app ready to spawn on a kernel: its tools, capabilities and policy rules.

    To run several apps on one kernel (the main job), prepare each, boot the kernel with
    all their tools and rules, and `spawn_app` each; keep `code_root` importable.
    """

    manifest: AppManifest
    tools: tuple[Tool[..., Any], ...]
    capabilities: Capabilities
    rules: tuple[Rule, ...]
    code_root: Path | None


def prepare_app(name: str, state_dir: str | Path = ".llmagentos") -> PreparedApp:
    """Find app `name`, build its tools for its data directory, check its grants."""
    store = AppStore(state_dir)
    info = store.get(name)
    manifest = info.manifest
    with importable(info.code_root):
        tools = resolve_tools(manifest.tools, store.data(name))
    caps = requested_capabilities(manifest, [t.name for t in tools])
    if info.granted is not None:
        caps = check_granted(name, info.granted, caps)
    return PreparedApp(manifest, tuple(tools), caps, manifest.policy, info.code_root)


async def spawn_app(kernel: Kernel, app: PreparedApp, args: dict[str, Any] | None = None) -> int:
    """Start the app's entry point as a process (its default args under `args`)."""
    return await kernel.spawn(
        app.manifest.entry,
        {**(app.manifest.args or {}), **(args or {})},
        name=app.manifest.name,
        capabilities=app.capabilities,
    )


async def run_app(
    name: str,
    args: dict[str, Any] | None = None,
    *,
    state_dir: str | Path = ".llmagentos",
    model: str | LLMBackend | None = None,
    policy: Policy | None = None,
    approve: bool = False,
    resume: bool = False,
    display: Display | None = None,
    kernel_options: dict[str, Any] | None = None,
) -> AppRun:
    """Run app `name` alone on a kernel, to the end (see the module docstring).

    `policy`: operator rules, checked before the app's own; `approve`: approve every
    "ask" at once (an operator stand-in); `resume`: also resume unfinished processes of
    earlier runs; `display(kernel, until)`: e.g. a live process table; `kernel_options`:
    more `KernelConfig` fields (a memory embedder, a scheduler).
    """
    app = prepare_app(name, state_dir)
    model_name, backend, note = choose_model(app.manifest, model)
    rules = (*(policy.rules if policy else ()), *app.rules)
    kernel = Kernel(
        KernelConfig(state_dir=state_dir, recover=resume, **(kernel_options or {})),
        models={model_name: backend},
        tools=list(app.tools),
        policy=Policy(rules, default=policy.default if policy else "allow"),
    )
    with importable(app.code_root):
        async with kernel:
            stop = asyncio.Event()
            approver = asyncio.create_task(approve_everything(kernel, stop)) if approve else None
            try:
                done = asyncio.ensure_future(kernel.wait(await spawn_app(kernel, app, args)))
                if display is not None:
                    await display(kernel, done)
                status = await done
            finally:
                stop.set()
                if approver is not None:
                    await approver
    return AppRun(status, model_name, [note] if note else [])
