"""Helpers for CLI tests: the real `llmagentos` command in subprocesses, on tmp state dirs."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

_SCRIPT = Path(sys.executable).with_name("llmagentos")
# The installed entry point when there is one; otherwise the same `main` through -c.
COMMAND = (
    [str(_SCRIPT)]
    if _SCRIPT.exists()
    else [sys.executable, "-c", "from llmagentos.cli.main import main; main()"]
)

PROGRAMS = textwrap.dedent(
    '''
    """Programs and tools the CLI tests run."""

    from llmagentos import tool
    from llmagentos.errors import ApprovalRejected


    @tool(side_effects=True)
    def publish(text: str) -> str:
        """Publish text to the team."""
        return f"published {text}"


    async def main(ctx, n):
        reply = await ctx.chat("hi")
        ctx.log(f"n is {n}")
        return {"n": n, "text": reply.text}


    async def fails(ctx):
        raise ValueError("boom")


    async def markup(ctx):
        return "[bold]kept[/bold] and [/x]"


    async def loop(ctx, steps=400, delay=0.05):
        for i in range(steps):
            await ctx.sleep(delay)
            if i % 5 == 0:
                ctx.log(f"tick {i}")
        return steps


    async def publisher(ctx, text):
        try:
            result = await ctx.tool("publish", text=text)
        except ApprovalRejected as exc:
            return {"rejected": exc.message}
        return {"output": result.output}
    '''
)

ASK_POLICY = textwrap.dedent(
    """
    default = "allow"

    [[rules]]
    effect = "ask"
    kinds = ["tool"]
    targets = ["publish"]
    reason = "publishing needs a person"
    """
)


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["COLUMNS"] = "200"  # rich tables and lines are not cut at 80 columns
    env["LLMAGENTOS_BLOCK_REAL_MODELS"] = "1"
    env.pop("LLMAGENTOS_MODEL", None)
    return env


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Workspace:
    """A directory with the test programs, a state dir, and the CLI run inside it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.state = "state"
        (root / "progs.py").write_text(PROGRAMS)
        (root / "ask.toml").write_text(ASK_POLICY)
        self.background: list[subprocess.Popen[str]] = []

    @property
    def db(self) -> Path:
        return self.root / self.state / "os.db"

    def args(self, *args: str) -> list[str]:
        return [*COMMAND, *args]

    def cli(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run the CLI to completion."""
        return subprocess.run(
            self.args(*args),
            cwd=self.root,
            env=cli_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start the CLI in the background (killed at teardown if still running), with
        Ctrl-C at its default as in a terminal: a shell that runs the tests as a
        background job hands its children SIGINT ignored, and Python keeps it so."""
        proc = subprocess.Popen(
            self.args(*args),
            cwd=self.root,
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_default_sigint,
        )
        self.background.append(proc)
        return proc

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Read the state database directly (as an observer, never a writer)."""
        if not self.db.exists():
            return []
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10)
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError:  # the kernel has not created the table yet
            return []
        finally:
            conn.close()

    def state_of(self, pid: int) -> str | None:
        rows = self.query("SELECT state FROM processes WHERE pid = ?", (pid,))
        return str(rows[0]["state"]) if rows else None

    def journal_len(self, pid: int) -> int:
        rows = self.query("SELECT count(*) AS n FROM journal WHERE pid = ?", (pid,))
        return int(rows[0]["n"]) if rows else 0

    def ps(self, *flags: str) -> dict[int, dict[str, Any]]:
        out = self.cli("ps", "--json", *flags, "--state-dir", self.state)
        assert out.returncode == 0, out.stderr
        return {row["pid"]: row for row in json.loads(out.stdout)}

    def cleanup(self) -> None:
        for proc in self.background:
            if proc.poll() is None:
                proc.kill()
            try:
                proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                pass


def wait_for(check: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def finish(proc: subprocess.Popen[str], timeout: float = 20) -> tuple[int, str, str]:
    """Wait for a background CLI to exit; its (returncode, stdout, stderr)."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=10)
        pytest.fail(f"the CLI did not exit within {timeout}s:\n{out}\n{err}")
    return proc.returncode, out, err
