"""`llmagentos app ...` in a subprocess, as a person types it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

COMMAND = [sys.executable, "-c", "from llmagentos.cli.main import main; main()"]

APP_CODE = '''
from llmagentos import tool


@tool(side_effects=True)
def announce(text: str) -> str:
    """Announce something to everyone (a person approves it first)."""
    return f"announced {text}"


async def run(ctx, word="hi", loud=False):
    if loud:
        result = await ctx.tool("announce", text=word)
        return result.output
    return word * 2
'''

MANIFEST = textwrap.dedent(
    """
    name = "echoapp"
    version = "1.0"
    entry = "echo_main:run"
    tools = ["echo_main:announce"]

    [[policy]]
    effect = "ask"
    kinds = ["tool"]
    targets = ["announce"]
    """
)


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "LLMAGENTOS_BLOCK_REAL_MODELS": "1"}
    return subprocess.run(
        [*COMMAND, "app", *args, "--state-dir", "state"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_list_install_run_and_clear_errors(tmp_path: Path) -> None:
    app = tmp_path / "echoapp"
    app.mkdir()
    (app / "echo_main.py").write_text(APP_CODE)
    (app / "app.toml").write_text(MANIFEST)
    installed = cli(tmp_path, "install", str(app), "--grant", "max_tokens=10")
    assert installed.returncode == 0, installed.stderr
    assert "installed echoapp 1.0" in installed.stdout and "'max_tokens': 10" in installed.stdout

    listed = cli(tmp_path, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    sources = {a["name"]: a["source"] for a in json.loads(listed.stdout)}
    assert sources["summarizer"] == "bundled" and sources["echoapp"] == str(app.resolve())

    quiet = ("--model", "test:null", "--quiet")
    plain = cli(tmp_path, "run", "echoapp", "--arg", "word=yo", *quiet)
    assert plain.returncode == 0, plain.stderr
    assert "echoapp asks a person before some actions" in plain.stdout  # its policy has "ask"
    assert (
        "echoapp (pid 1, model test:null) ended done" in plain.stdout and '"yoyo"' in plain.stdout
    )

    approved = cli(tmp_path, "run", "echoapp", "--arg", "loud=true", "--approve", *quiet)
    assert approved.returncode == 0, approved.stderr
    assert '"announced hi"' in approved.stdout and "asks a person" not in approved.stdout


def test_unknown_apps_and_bad_manifests_fail_with_a_message(tmp_path: Path) -> None:
    unknown = cli(tmp_path, "run", "sumarizer")
    assert unknown.returncode == 1
    assert "no app named 'sumarizer'; did you mean 'summarizer'" in unknown.stderr
    app = tmp_path / "bad"
    app.mkdir()
    (app / "app.toml").write_text('name = "Bad App"\nversion = "1.0"\nentry = "x:run"\n')
    bad = cli(tmp_path, "install", str(app))
    assert bad.returncode == 1 and "name: String should match pattern" in bad.stderr
