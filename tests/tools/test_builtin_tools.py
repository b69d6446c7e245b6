"""The ready-made tools: `calculator` and `python_exec`."""

from __future__ import annotations

import math

import pytest

from llmagentos.errors import InvalidArgument
from llmagentos.tools import (
    BUILTIN_TOOLS,
    SandboxResult,
    SubprocessSandbox,
    ToolContext,
    ToolRegistry,
    calculator,
    make_python_exec,
    python_exec,
)
from llmagentos.tools.builtin import evaluate


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("1 + 2 * 3", 7),
        ("2 * (3 + 4) ** 2", 98),
        ("-7 // 2 + 7 % 3", -3),
        ("10 / 4", 2.5),
        ("sqrt(16) + abs(-2) + max(1, 5, 3)", 11.0),
        ("round(pi, 3)", 3.142),
        ("2 ** 10", 1024),
        ("2 ** -1", 0.5),
    ],
)
def test_calculator_evaluates(expression: str, value: float) -> None:
    assert calculator(expression) == value


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os').system('true')", "not allowed"),
        ("x + 1", "not allowed in an arithmetic expression: 'x'"),
        ("'a' * 3", "not allowed"),
        ("(1).__class__", "not allowed"),
        ("True + 1", "booleans"),
        ("sqrt(x=4)", "not allowed"),
        ("9 ** 9 ** 9", "too large"),
        ("1 +", "not an arithmetic expression"),
    ],
)
def test_calculator_refuses_anything_else(expression: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        evaluate(expression)


def test_calculator_float_overflow_is_an_error() -> None:
    with pytest.raises(OverflowError):
        evaluate("10.0 ** 400")
    assert math.isclose(evaluate("e ** 2"), math.e**2)


async def test_builtins_through_a_registry(ctx: ToolContext) -> None:
    async with ToolRegistry(BUILTIN_TOOLS) as reg:
        assert reg.names() == ("calculator", "python_exec")
        assert not calculator.side_effects and not python_exec.side_effects
        assert python_exec.parameters["required"] == ["code"]
        calc = await reg.invoke("calculator", {"expression": "1/0"}, context=ctx)
        assert (calc.error_type, calc.error) == (
            "ToolFailed",
            "ZeroDivisionError: division by zero",
        )
        ran = await reg.invoke("python_exec", {"code": "print(6 * 7)"}, context=ctx)
    assert ran.ok
    assert ran.output == {
        "exit_code": 0,
        "stdout": "42\n",
        "stderr": "",
        "timed_out": False,
        "truncated": False,
    }


async def test_python_exec_with_a_custom_sandbox(ctx: ToolContext) -> None:
    class Recorder:
        def __init__(self) -> None:
            self.codes: list[str] = []

        async def run(self, code: str, *, timeout_s: float | None = None) -> SandboxResult:
            self.codes.append(code)
            return SandboxResult(exit_code=0, stdout="fake\n", stderr="")

    recorder = Recorder()
    fake = make_python_exec(recorder, name="fake_exec")
    short = make_python_exec(SubprocessSandbox(timeout_s=0.3), name="short_exec")
    async with ToolRegistry([fake, short]) as reg:
        assert (await reg.invoke("fake_exec", {"code": "1"}, context=ctx)).output[
            "stdout"
        ] == "fake\n"
        slow = await reg.invoke("short_exec", {"code": "while True: pass"}, context=ctx)
    assert recorder.codes == ["1"]
    assert slow.ok and slow.output["timed_out"]
