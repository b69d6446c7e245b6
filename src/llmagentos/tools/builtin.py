"""Ready-made tools: `calculator` (safe arithmetic) and `python_exec` (sandboxed Python)."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from llmagentos.errors import InvalidArgument
from llmagentos.tools.sandbox import Sandbox, SandboxResult, SubprocessSandbox
from llmagentos.tools.tool import Tool, tool

Number = int | float

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "sqrt": math.sqrt,
    "exp": math.exp,
    "log": math.log,
    "log10": math.log10,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "floor": math.floor,
    "ceil": math.ceil,
}
_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}
_MAX_BITS = 100_000  # bounds `**` so "9**9**9" is refused instead of hanging the thread


def evaluate(expression: str) -> Number:
    """Evaluate an arithmetic expression without `eval`: numbers, operators, math calls."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise InvalidArgument(f"not an arithmetic expression: {exc.msg}") from None
    return _eval(tree.body)


def _eval(node: ast.AST) -> Number:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        if isinstance(node.value, bool):  # True is an int to Python, not a number to us
            raise InvalidArgument("not allowed in an arithmetic expression: booleans")
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        return _BINARY[type(node.op)](left, right)  # type: ignore[no-any-return]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))  # type: ignore[no-any-return]
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        return _FUNCTIONS[node.func.id](*(_eval(a) for a in node.args))  # type: ignore[no-any-return]
    raise InvalidArgument(f"not allowed in an arithmetic expression: {ast.unparse(node)!r}")


def _check_power(base: Number, exponent: Number) -> None:
    if not (isinstance(base, int) and isinstance(exponent, int)):
        return  # float powers overflow to an error on their own
    if abs(base) > 1 and exponent * base.bit_length() > _MAX_BITS:
        raise InvalidArgument(f"result of {base}**{exponent} is too large")


@tool(side_effects=False, timeout_s=5.0)
def calculator(expression: str) -> Number:
    """Evaluate an arithmetic expression and return the number. Supports + - * / // % **,
    parentheses, pi, e, tau and the functions abs, round, min, max, sqrt, exp, log, log10,
    sin, cos, tan, floor and ceil.

    Args:
        expression: The expression, e.g. "2 * (3 + 4) ** 2" or "sqrt(2) / 2".
    """
    return evaluate(expression)


def make_python_exec(sandbox: Sandbox, *, name: str = "python_exec") -> Tool[..., Any]:
    """Build a tool that runs Python code in `sandbox`."""

    async def python_exec(code: str) -> SandboxResult:
        """Run a Python script in a sandbox and return its exit code, stdout and stderr.
        Each call starts a fresh interpreter (nothing is kept between calls) with limited
        memory and time; print what you want to see.

        Args:
            code: The complete Python script to run.
        """
        return await sandbox.run(code)

    # The sandbox enforces its own, shorter wall timeout; this one is only a backstop.
    return tool(name=name, side_effects=False, timeout_s=120.0)(python_exec)


python_exec = make_python_exec(SubprocessSandbox())

BUILTIN_TOOLS: tuple[Tool[..., Any], ...] = (calculator, python_exec)
"""Every ready-made tool, for `ToolRegistry(BUILTIN_TOOLS)`."""
