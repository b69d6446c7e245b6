"""Sandboxes for untrusted code: the `Sandbox` role and a subprocess implementation.

`SubprocessSandbox` runs Python source in a fresh, isolated interpreter (`python -I`) in
a temporary directory, with resource limits (CPU time, address space, open files, file
size), a wall-clock timeout that kills the whole process group, a scrubbed environment
and capped output. It stops runaway and careless code; it is *not* a boundary against a
determined attacker (no namespaces, seccomp or network isolation): put the process in a
container or VM for that.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Protocol

from llmagentos.records import record, replace

# Runs first in the child: set the limits, then replace itself with the real interpreter.
# Doing it there (not with `preexec_fn`) is safe when the parent has threads, and limits
# survive `exec`, so the user's code starts already confined.
_BOOTSTRAP = """
import os, resource, sys
for name, value in __import__("json").loads(sys.argv[1]).items():
    which = getattr(resource, name)
    soft, hard = value
    _, current = resource.getrlimit(which)
    if current != resource.RLIM_INFINITY:
        soft, hard = min(soft, current), min(hard, current)
    resource.setrlimit(which, (soft, hard))
os.execv(sys.argv[2], sys.argv[2:])
"""

_POLL_S = 0.005  # how often to look whether the process has ended
_DRAIN_S = 2.0  # how long to wait for the pipes to close after the process group died


@record
class SandboxResult:
    """How a sandboxed run ended: exit code (negative: killed by that signal) and output."""

    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool = False
    truncated: bool = False

    @property
    def ok(self) -> bool:
        """Whether the code ran to the end without error."""
        return self.exit_code == 0 and not self.timed_out


class Sandbox(Protocol):
    """Something that runs untrusted Python source and reports what happened."""

    async def run(self, code: str, *, timeout_s: float | None = None) -> SandboxResult:
        """Run `code` as a script; never raises for anything the code does."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class SubprocessSandbox:
    """Runs code in a resource-limited `python -I` subprocess (see the module docstring).

    `max_output_bytes` caps stdout and stderr each; the rest is read and dropped so the
    child never blocks on a full pipe. CPU time defaults to the wall timeout plus one
    second, so a busy loop dies even if the wall-clock kill were to miss it.
    """

    timeout_s: float = 10.0
    memory_bytes: int = 512 * 1024 * 1024
    cpu_s: int | None = None
    open_files: int = 64
    file_bytes: int = 16 * 1024 * 1024
    max_output_bytes: int = 64 * 1024
    python: str = sys.executable

    async def run(self, code: str, *, timeout_s: float | None = None) -> SandboxResult:
        """Run `code` as `main.py` in a fresh temporary directory."""
        timeout = self.timeout_s if timeout_s is None else timeout_s
        with tempfile.TemporaryDirectory(
            prefix="llmagentos-sandbox-", ignore_cleanup_errors=True
        ) as tmp:
            Path(tmp, "main.py").write_text(code, encoding="utf-8")
            proc = await asyncio.create_subprocess_exec(
                *self._command(timeout),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=tmp,
                env=_scrubbed_env(tmp),
                start_new_session=True,  # its own process group, so one kill gets children too
            )
            result = await self._collect(proc, timeout)
        # Tracebacks name the random temporary directory; the agent needs only "main.py".
        return replace(result, stderr=result.stderr.replace(f"{tmp}{os.sep}", ""))

    def _command(self, timeout: float) -> list[str]:
        cpu = self.cpu_s if self.cpu_s is not None else math.ceil(timeout) + 1
        limits = {
            "RLIMIT_CPU": (cpu, cpu + 1),  # SIGXCPU at the soft limit, SIGKILL at the hard
            "RLIMIT_AS": (self.memory_bytes, self.memory_bytes),
            "RLIMIT_NOFILE": (self.open_files, self.open_files),
            "RLIMIT_FSIZE": (self.file_bytes, self.file_bytes),
        }
        child = [self.python, "-I", "-B", "-X", "utf8", "main.py"]
        return [self.python, "-I", "-S", "-c", _BOOTSTRAP, json.dumps(limits), *child]

    async def _collect(self, proc: asyncio.subprocess.Process, timeout: float) -> SandboxResult:
        assert proc.stdout is not None and proc.stderr is not None
        readers = asyncio.gather(
            _read_capped(proc.stdout, self.max_output_bytes),
            _read_capped(proc.stderr, self.max_output_bytes),
        )
        try:
            timed_out = not await _exited(proc, timeout)
            # Also after a normal exit: children it left behind would hold the pipes open.
            _kill_group(proc.pid)
            # Only a process that left the group (setsid) can still hold them; stop waiting.
            (out, out_cut), (err, err_cut) = await asyncio.wait_for(readers, _DRAIN_S)
            await _exited(proc, _DRAIN_S)  # for the real exit status of a killed process
        except TimeoutError:
            out, err, out_cut, err_cut = b"", b"", False, False
        except BaseException:  # cancelled by the caller: leave nothing running
            _kill_group(proc.pid)
            readers.cancel()
            raise
        return SandboxResult(
            exit_code=-signal.SIGKILL if proc.returncode is None else proc.returncode,
            stdout=out.decode("utf-8", errors="replace"),
            stderr=err.decode("utf-8", errors="replace"),
            timed_out=timed_out,
            truncated=out_cut or err_cut,
        )


def _scrubbed_env(home: str) -> dict[str, str]:
    """Only what a Python script needs: none of the parent's secrets or settings."""
    return {
        "PATH": os.defpath,
        "HOME": home,
        "TMPDIR": home,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }


async def _exited(proc: asyncio.subprocess.Process, timeout: float) -> bool:
    """Wait up to `timeout` for the process itself to end; False if it is still running.

    Polls `returncode`: `Process.wait()` also waits for the pipes to close, which a
    child the process left behind can delay until the timeout.
    """
    deadline = time.monotonic() + timeout
    while proc.returncode is None:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        await asyncio.sleep(min(_POLL_S, left))
    return True


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # the group is already gone


async def _read_capped(stream: asyncio.StreamReader, limit: int) -> tuple[bytes, bool]:
    kept = bytearray()
    truncated = False
    while chunk := await stream.read(64 * 1024):
        room = limit - len(kept)
        if len(chunk) > room:
            truncated = True
            chunk = chunk[: max(room, 0)]
        kept += chunk
    return bytes(kept), truncated
