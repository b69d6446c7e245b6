"""Installing and running third-party apps: grants, clear errors, the real kernel."""

from __future__ import annotations

import itertools
import json
import sqlite3
import textwrap
from pathlib import Path

import pytest

from llmagentos.apps import (
    AppConflict,
    AppStore,
    CapabilityNotGranted,
    InvalidManifest,
    UnknownApp,
    run_app,
)
from llmagentos.testing import FunctionModel

_ids = itertools.count()

CODE = '''
from llmagentos import tool


@tool
def greet(who: str) -> str:
    """Greet someone."""
    return f"hello {who}"


@tool
def shout(who: str) -> str:
    """Greet someone loudly."""
    return f"HELLO {who}"


async def run(ctx, who="world", tool="greet"):
    reply = await ctx.chat(f"say hi to {who}")
    result = await ctx.tool(tool, who=who)
    return {"tool": result.output, "model": reply.text}
'''


def make_app(
    root: Path, capabilities: str = "", tools: str = '"{pkg}.main:greet"'
) -> tuple[Path, str]:
    """A third-party app package with a unique name (so imports never collide)."""
    pkg = f"hello{next(_ids)}"
    app = root / pkg
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "main.py").write_text(CODE)
    (app / "app.toml").write_text(
        textwrap.dedent(
            f"""
            name = "{pkg}"
            version = "0.2.0"
            description = "Says hello."
            entry = "{pkg}.main:run"
            tools = [{tools.format(pkg=pkg)}]
            {capabilities}
            """
        )
    )
    return app, pkg


def model() -> FunctionModel:
    return FunctionModel(lambda messages, request: "hi!", name="fn")


def test_bundled_apps_are_listed_and_a_typo_gets_a_suggestion(tmp_path: Path) -> None:
    store = AppStore(tmp_path)
    assert {a.name for a in store.available()} >= {"summarizer", "maze_solver"}
    assert all(a.bundled for a in store.available())
    with pytest.raises(UnknownApp, match="did you mean 'summarizer'"):
        store.get("sumarizer")


async def test_an_installed_app_runs_as_a_process_with_its_tools(tmp_path: Path) -> None:
    src, name = make_app(tmp_path)
    state = tmp_path / "state"
    info = AppStore(state).install(src)
    assert info.granted is not None and info.granted.tools == ("greet",)
    assert [a.name for a in AppStore(state).available() if not a.bundled] == [name]
    outcome = await run_app(name, {"who": "ada"}, state_dir=state, model=model())
    assert outcome.status.state == "done", outcome.status.error
    assert outcome.status.result == {"tool": "hello ada", "model": "hi!"}
    with sqlite3.connect(state / "os.db") as db:
        kinds = [k for (k,) in db.execute("SELECT kind FROM journal ORDER BY seq")]
        (row,) = db.execute("SELECT name, caps FROM processes").fetchall()
    assert kinds == ["llm", "tool"]
    assert row[0] == name and json.loads(row[1])["tools"] == ["greet"]


def test_broken_apps_are_refused_at_install_and_leave_nothing(tmp_path: Path) -> None:
    store = AppStore(tmp_path / "state")
    src, _ = make_app(tmp_path)
    (src / "main.py").write_text("x = 1\n")
    with pytest.raises(InvalidManifest, match=r"does not load: program .*'run' not found"):
        store.install(src)
    src, _ = make_app(tmp_path, tools='"{pkg}.main:nothing"')
    with pytest.raises(InvalidManifest, match="does not load"):
        store.install(src)
    assert not [p for p in store.root.iterdir() if (p / "install.json").exists()]
    assert not list(store.root.glob(".staging-*"))
    bundled = Path(__import__("llmagentos.apps.summarizer").apps.summarizer.__file__).parent
    with pytest.raises(AppConflict, match="bundled app"):
        store.install(bundled)


def test_grants_can_be_narrower_than_the_ask_only_by_refusing_the_app(tmp_path: Path) -> None:
    src, _ = make_app(tmp_path)
    store = AppStore(tmp_path / "state")
    with pytest.raises(CapabilityNotGranted, match=r"it wants tools \['greet'\]"):
        store.install(src, {"tools": "shout"})
    info = store.install(src, {"max_tokens": "500"})  # a budget the app did not ask for
    assert info.granted is not None and info.granted.max_tokens == 500


async def test_a_budget_granted_at_install_binds_the_process(tmp_path: Path) -> None:
    src, name = make_app(tmp_path)
    state = tmp_path / "state"
    AppStore(state).install(src, {"max_tool_calls": "0"})
    outcome = await run_app(name, state_dir=state, model=model())
    assert outcome.status.state == "failed"
    assert "quota exceeded" in (outcome.status.error or "").lower()


async def test_a_manifest_that_asks_for_more_after_install_is_refused(tmp_path: Path) -> None:
    src, name = make_app(tmp_path)
    state = tmp_path / "state"
    info = AppStore(state).install(src)
    assert info.code_root is not None
    installed = info.code_root / name / "app.toml"
    installed.write_text(installed.read_text() + "\n[capabilities]\nspawn = true\n")
    with pytest.raises(CapabilityNotGranted, match="asks for more than it was granted"):
        await run_app(name, state_dir=state, model=model())


async def test_a_tool_outside_the_grant_is_denied_by_the_kernel(tmp_path: Path) -> None:
    tools = '"{pkg}.main:greet", "{pkg}.main:shout"'
    src, name = make_app(tmp_path, '[capabilities]\ntools = ["greet"]', tools=tools)
    state = tmp_path / "state"
    AppStore(state).install(src)
    outcome = await run_app(name, {"tool": "shout"}, state_dir=state, model=model())
    assert outcome.status.state == "failed"
    assert "may not use tool 'shout'" in (outcome.status.error or "")


def test_installed_apps_can_be_removed_but_bundled_ones_cannot(tmp_path: Path) -> None:
    src, name = make_app(tmp_path)
    store = AppStore(tmp_path / "state")
    store.install(src)
    store.remove(name)
    with pytest.raises(UnknownApp):
        store.get(name)
    with pytest.raises(AppConflict, match="cannot be removed"):
        store.remove("summarizer")
