"""`SubprocessSandbox`: real subprocesses, real limits."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from llmagentos.tools import Sandbox, SandboxResult, SubprocessSandbox

pytestmark = pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")


async def test_normal_code_returns_its_output() -> None:
    sandbox: Sandbox = SubprocessSandbox()
    result = await sandbox.run("import sys\nprint(sum(range(10)))\nprint('warn', file=sys.stderr)")
    assert result == SandboxResult(exit_code=0, stdout="45\n", stderr="warn\n")
    assert result.ok


async def test_errors_show_a_clean_traceback() -> None:
    result = await SubprocessSandbox().run("x = 1\nraise ValueError('bad value')\n")
    assert result.exit_code == 1 and not result.ok
    assert 'File "main.py", line 2' in result.stderr
    assert result.stderr.endswith("ValueError: bad value\n")


async def test_infinite_loop_is_killed_by_the_wall_timeout() -> None:
    start = time.monotonic()
    result = await SubprocessSandbox(timeout_s=0.5).run("while True:\n    pass\n")
    assert time.monotonic() - start < 3
    assert result.timed_out and result.exit_code < 0 and not result.ok


async def test_children_die_with_the_sandbox() -> None:
    code = (
        "import subprocess, sys\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
        "print(p.pid, flush=True)\n"
    )
    start = time.monotonic()
    result = await SubprocessSandbox(timeout_s=5).run(code)
    # The orphan kept the pipes open; the sandbox killed it instead of waiting 30 s.
    assert time.monotonic() - start < 4
    assert result.exit_code == 0 and result.stdout.strip().isdigit()


async def test_memory_bomb_fails_cleanly() -> None:
    result = await SubprocessSandbox(memory_bytes=256 * 1024 * 1024).run(
        "blob = bytearray(1024 ** 3)\n"
    )
    assert not result.timed_out
    assert result.exit_code == 1
    assert "MemoryError" in result.stderr


async def test_output_is_truncated() -> None:
    result = await SubprocessSandbox(max_output_bytes=1000).run(
        "import sys\nprint('x' * 100_000)\nsys.stderr.write('e' * 5000)\n"
    )
    assert result.exit_code == 0 and result.truncated
    assert result.stdout == "x" * 1000 and result.stderr == "e" * 1000


async def test_environment_is_scrubbed_and_files_are_limited(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    code = (
        "import os\n"
        "print(sorted(os.environ))\n"
        "print(os.path.basename(os.getcwd()).startswith('llmagentos-sandbox-'))\n"
        "try:\n"
        "    open('big.bin', 'wb').write(b'0' * 2_000_000)\n"
        "except OSError as exc:\n"
        "    print('refused', exc.errno)\n"
    )
    result = await SubprocessSandbox(file_bytes=1_000_000).run(code)
    lines = result.stdout.splitlines()
    assert lines[0] == "['HOME', 'LANG', 'LC_ALL', 'PATH', 'TMPDIR']"
    assert lines[1] == "True"
    assert lines[2] == "refused 27"  # EFBIG
    assert "sk-secret" not in result.stdout


async def test_cancelling_the_run_kills_the_process(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    code = (
        f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(30)\n"
    )
    task = asyncio.create_task(SubprocessSandbox(timeout_s=30).run(code))
    for _ in range(200):
        if pid_file.exists() and pid_file.read_text():
            break
        await asyncio.sleep(0.01)
    pid = int(pid_file.read_text())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(200):
        if not _alive(pid):
            break
        await asyncio.sleep(0.01)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child not yet reaped is a zombie: dead for our purposes.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


async def test_cpu_limit_stops_a_busy_loop_before_the_wall_timeout() -> None:
    result = await SubprocessSandbox(timeout_s=10, cpu_s=1).run("while True:\n    pass\n")
    assert not result.timed_out
    assert result.exit_code in (-signal.SIGXCPU, -signal.SIGKILL)
