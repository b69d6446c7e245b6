"""Docstring parsing for tools: the summary paragraph and per-argument descriptions.

Two common styles are understood, and may be mixed:

```
Google:                          reST:
    Args:                            :param query: what to look for
        query (str): what to             and how.
            look for.                :param int limit: at most this many
        limit: at most this many.
```
"""

from __future__ import annotations

import dataclasses
import inspect
import re

_ARGS_HEADER = re.compile(
    r"^(args|arguments|parameters|params|keyword args|keyword arguments|other parameters)"
    r"\s*:\s*$",
    re.IGNORECASE,
)
_ANY_HEADER = re.compile(r"^[A-Za-z][A-Za-z ]*:\s*$")
_GOOGLE_ITEM = re.compile(r"^\**(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_REST_PARAM = re.compile(
    r"^:(?:param|parameter|arg|argument|key|keyword)\s+(?:[^:]*\s)?\**(\w+)\s*:\s*(.*)$"
)


@dataclasses.dataclass(frozen=True, slots=True)
class Docstring:
    """A parsed docstring: the first paragraph and each documented argument."""

    description: str
    params: dict[str, str]


def parse_docstring(doc: str | None) -> Docstring:
    """Parse `doc` (Google "Args:" sections and/or reST ":param x:" fields)."""
    lines = inspect.cleandoc(doc or "").splitlines()
    params = _google_params(lines)
    params.update(_rest_params(lines))
    return Docstring(description=_first_paragraph(lines), params=params)


def _first_paragraph(lines: list[str]) -> str:
    taken: list[str] = []
    for line in lines:
        stripped = line.strip()
        if not stripped:
            if taken:
                break
            continue
        # A docstring without a blank line before its "Args:" or ":param" still ends here.
        if _ANY_HEADER.match(stripped) or stripped.startswith(":"):
            break
        taken.append(stripped)
    return " ".join(taken)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _google_params(lines: list[str]) -> dict[str, str]:
    params: dict[str, list[str]] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not _ARGS_HEADER.match(line.strip()):
            continue
        header_indent = _indent(line)
        item_indent: int | None = None
        current: list[str] | None = None
        while i < len(lines):
            line = lines[i]
            if line.strip() and _indent(line) <= header_indent:
                break  # dedent: the section is over
            i += 1
            if not line.strip():
                continue
            item_indent = _indent(line) if item_indent is None else item_indent
            match = _GOOGLE_ITEM.match(line.strip())
            if _indent(line) == item_indent and match:
                current = params.setdefault(match.group(1), [])
                current.append(match.group(2))
            elif current is not None:
                current.append(line.strip())
    return {name: _join(parts) for name, parts in params.items()}


def _rest_params(lines: list[str]) -> dict[str, str]:
    params: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        stripped = line.strip()
        match = _REST_PARAM.match(stripped)
        if match:
            current = params.setdefault(match.group(1), [])
            current.append(match.group(2))
        elif stripped.startswith(":") or not stripped or _indent(line) == 0:
            current = None  # another field (":returns:", ":type x:") or the end of this one
        elif current is not None:
            current.append(stripped)
    return {name: _join(parts) for name, parts in params.items()}


def _join(parts: list[str]) -> str:
    return " ".join(p for p in parts if p).strip()
