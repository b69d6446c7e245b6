"""`LLM`, the seed's model facade: outside any kernel, in sync and async programs."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmagentos import LLM, Kernel, ProcessContext, Runtime, SyncContext
from llmagentos.errors import InvalidArgument, UnknownModel
from llmagentos.sdk.runtime import default_runtime, set_default_runtime
from llmagentos.testing import FunctionModel, NullModel


def journal_rows(state_dir: Path, pid: int) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(state_dir / "os.db")
    try:
        return conn.execute(
            "SELECT seq, kind, status FROM journal WHERE pid = ? ORDER BY seq", (pid,)
        ).fetchall()
    finally:
        conn.close()


def test_generate_text_outside_a_kernel_is_a_syscall_of_the_shell(
    runtime: Runtime, echo_model: FunctionModel, tmp_path: Path
) -> None:
    assert default_runtime() is runtime
    assert LLM("fn").generate_text("hello", max_length=7) == "echo: hello"

    request = echo_model.last_request
    assert request.max_tokens == 7  # the seed's max_length
    assert request.model == "fn"
    assert [(m.role, m.content) for m in request.messages] == [("user", "hello")]
    [shell] = [p for p in runtime.kernel.ps() if p.name == "shell"]
    assert shell.state == "running"
    assert shell.usage.llm_calls == 1 and shell.usage.tokens_out == 2

    LLM("fn").generate_text("again")
    assert echo_model.calls == 2
    runtime.stop()  # flushes and closes the journal
    assert journal_rows(tmp_path / "rt", shell.pid) == [(0, "llm", "done"), (1, "llm", "done")]


def test_options_given_once_apply_to_every_call(
    runtime: Runtime, echo_model: FunctionModel
) -> None:
    model = LLM("fn", temperature=0.25, max_tokens=9)
    model.chat([{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}])
    assert echo_model.last_request.temperature == 0.25
    assert echo_model.last_request.max_tokens == 9
    assert [m.role for m in echo_model.last_request.messages] == ["system", "user"]
    model.generate_text("hi", max_length=3, temperature=0.5)  # a call's own options win
    assert echo_model.last_request.max_tokens == 3
    assert echo_model.last_request.temperature == 0.5
    raw = model.generate("complete me")
    assert raw.text == "echo: complete me" and echo_model.last_request.raw_prompt


def test_llm_without_a_spec_uses_the_kernel_default_model(
    runtime: Runtime, echo_model: FunctionModel
) -> None:
    assert LLM().generate_text("x") == "echo: x"
    assert echo_model.last_request.model == ""  # the kernel chose its default
    assert repr(LLM("fn")) == "LLM('fn')"


def test_an_unknown_model_is_a_typed_error_naming_the_known_ones(runtime: Runtime) -> None:
    with pytest.raises(UnknownModel, match=r"model 'nope' is not loaded; known: fn"):
        LLM("nope").generate_text("x")
    # The shell survives a refused call.
    assert LLM("fn").generate_text("still here") == "echo: still here"


def test_achat_outside_a_kernel_says_what_to_use_instead() -> None:
    import asyncio

    with pytest.raises(RuntimeError, match=r"use model.chat\(...\) / model.generate_text"):
        asyncio.run(LLM("fn").achat("hi"))


async def test_inside_an_async_program_llm_is_async_only(
    make_kernel: Callable[..., Any],
) -> None:
    model = FunctionModel(lambda messages, request: "ok " + messages[-1].content)
    kernel: Kernel = await make_kernel(models={"m": model})

    async def program(ctx: ProcessContext) -> dict[str, Any]:
        try:
            LLM("m").generate_text("blocking")
        except RuntimeError as exc:
            refused = str(exc)
        answer = await LLM("m").achat("async")
        text = await LLM("m", temperature=0.1).agenerate_text("short", max_length=4)
        return {"refused": refused, "answer": answer.text, "text": text}

    status = await kernel.run(program)
    assert status.state == "done", status.error
    assert "this is an async agent" in status.result["refused"]
    assert "await model.agenerate_text" in status.result["refused"]
    assert status.result["answer"] == "ok async" and status.result["text"] == "ok short"
    assert model.last_request.max_tokens == 4 and model.last_request.temperature == 0.1
    # Only the two calls that went through were made, both by the program's process.
    assert model.calls == 2
    assert kernel.ps()[0].usage.llm_calls == 2


async def test_inside_a_sync_program_llm_calls_are_the_programs_syscalls(
    make_kernel: Callable[..., Any],
) -> None:
    model = NullModel("fine")
    kernel: Kernel = await make_kernel(models={"m": model})

    def program(ctx: SyncContext) -> dict[str, Any]:
        import asyncio

        text = LLM("m").generate_text("hi", max_length=5)
        try:
            asyncio.run(LLM("m").achat("hi"))
        except RuntimeError as exc:
            refused = str(exc)
        return {"text": text, "refused": refused}

    status = await kernel.run(program)
    assert status.state == "done", status.error
    assert status.result["text"] == "fine"
    assert "this is a sync program" in status.result["refused"]
    [proc] = kernel.ps()
    assert proc.usage.llm_calls == 1
    assert model.last_request.max_tokens == 5


def test_a_runtime_set_but_not_started_is_started_on_first_use(tmp_path: Path) -> None:
    model = NullModel("booted")
    rt = Runtime(state_dir=tmp_path / "lazy", models={"m": model})
    with pytest.raises(RuntimeError, match=r"is not started: call runtime\.start"):
        rt.shell()
    set_default_runtime(rt)
    try:
        assert LLM("m").generate_text("x") == "booted"
        assert rt.running
    finally:
        set_default_runtime(None)
        rt.stop()
    with pytest.raises(RuntimeError, match="was stopped; create a new one"):
        rt.start()
    with pytest.raises(RuntimeError, match="was stopped"):
        rt.shell()


def test_a_runtime_that_cannot_boot_raises_and_leaves_no_thread(tmp_path: Path) -> None:
    with Runtime(state_dir=tmp_path / "one", models={"m": NullModel()}) as first:
        second = Runtime(state_dir=tmp_path / "one", models={"m": NullModel()})
        with pytest.raises(InvalidArgument, match="another kernel is running"):
            second.start()
        assert not second.running
        assert not second._thread.is_alive()
        assert first.running
    assert not first.running


def test_a_runtime_can_be_retried_after_a_bad_model_spec(tmp_path: Path) -> None:
    from llmagentos.errors import LLMAgentOSError

    with pytest.raises(LLMAgentOSError, match="no provider 'bogus'"):
        Runtime(state_dir=tmp_path / "s", models={"m": "bogus:x"}).start()
    with Runtime(state_dir=tmp_path / "s", models={"m": NullModel("fixed")}):
        pass


CRASHING_SCRIPT = """
import os, sys
from llmagentos import LLM, Runtime
from llmagentos.sdk.runtime import set_default_runtime
from llmagentos.testing import NullModel

set_default_runtime(Runtime(state_dir=sys.argv[1], models={"m": NullModel("hi")}).start())
print(LLM("m").generate_text("x"), flush=True)
os._exit(0)  # no runtime.stop(): the shell is left unfinished, as after a crash
"""


def test_a_shell_left_by_a_crashed_runtime_ends_at_the_next_boot(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = tmp_path / "crash.py"
    script.write_text(CRASHING_SCRIPT)
    state = tmp_path / "s"
    out = subprocess.run(
        [sys.executable, str(script), str(state)], capture_output=True, text=True, timeout=30
    )
    assert out.stdout == "hi\n", out.stderr
    with Runtime(state_dir=state, models={"m": NullModel()}) as rt:
        status = rt.call(rt.kernel.wait(1, timeout=10))
        assert (status.state, status.error) == ("done", None)
        assert rt.shell().pid == 2  # a new shell; the old one stays ended


def test_the_default_runtime_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMAGENTOS_STATE_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("LLMAGENTOS_MODEL", "test:null")
    set_default_runtime(None)
    rt = default_runtime()
    try:
        assert LLM().generate_text("hello") == "ok"
        assert default_runtime() is rt
        assert rt.kernel.default_model == "default"
        assert (tmp_path / "env" / "os.db").exists()
    finally:
        set_default_runtime(None)
        rt.stop()
