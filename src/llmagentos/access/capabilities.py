"""Capabilities: what a process may touch, and how a child's are derived from its parent's.

`Capabilities` itself is declared in `llmagentos.kernel.syscalls` (it travels inside
`Spawn`); this module gives it meaning:

* A pattern field (`tools`, `namespaces`, `peers`, `topics`, `models`) is an allow-list
  of `fnmatch` globs, matched case-sensitively (`"*"` allows everything, `()` nothing).
* `spawn` says whether the process may start children.
* Budgets (`max_tokens`, `max_tool_calls`, `max_wall_s`, `max_syscalls`) cap usage;
  `None` means no cap.
* In a *requested* set, `None` means "inherit the parent's". `derive` resolves a request
  against the parent; `allows` reads a remaining `None` as `ROOT`'s value (everything),
  which is what a process without a parent inherits.

Children never get more than their parent: `derive` raises `PermissionDenied` when a
requested pattern is not covered by the parent's patterns or a budget is larger.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Iterable
from typing import Final

from llmagentos.errors import InvalidArgument, PermissionDenied
from llmagentos.kernel.syscalls import Capabilities
from llmagentos.records import replace

__all__ = [
    "BUDGET_FIELDS",
    "PATTERN_FIELDS",
    "ROOT",
    "allowed_patterns",
    "allows",
    "covers",
    "derive",
    "matcher",
    "matches",
]

PATTERN_FIELDS: Final = ("tools", "namespaces", "peers", "topics", "models")
BUDGET_FIELDS: Final = ("max_tokens", "max_tool_calls", "max_wall_s", "max_syscalls")

# Built with `replace` because mypy cannot see the constructor `@record` generates.
ROOT: Final = replace(
    Capabilities(),
    tools=("*",),
    namespaces=("*",),
    peers=("*",),
    topics=("*",),
    models=("*",),
    spawn=True,
)
"""Everything allowed, no budgets: the capabilities of the kernel's first processes."""


# -- matching ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def matcher(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """A predicate for "matches one of `patterns`", compiled once per distinct allow-list.

    Literals become a set lookup and globs one combined regex.
    """
    if any(_is_star_only(p) for p in patterns):
        return lambda _target: True
    literals = frozenset(p for p in patterns if not has_magic(p))
    globs = [p for p in patterns if has_magic(p)]
    if not globs:
        return literals.__contains__
    regex = re.compile("|".join(fnmatch.translate(p) for p in globs))
    if not literals:
        return lambda target: regex.match(target) is not None
    return lambda target: target in literals or regex.match(target) is not None


def matches(patterns: tuple[str, ...], target: str) -> bool:
    """Whether `target` matches any of `patterns` (compiled once, then cached)."""
    return matcher(patterns)(target)


def allowed_patterns(caps: Capabilities, field: str) -> tuple[str, ...] | None:
    """The allow-list of a pattern field (`None`: unrestricted)."""
    if field not in PATTERN_FIELDS:
        raise InvalidArgument(f"{field!r} is not a capability pattern field", field=field)
    value: tuple[str, ...] | None = getattr(caps, field)
    return value


def allows(caps: Capabilities, field: str, target: str) -> bool:
    """Whether `caps` allow `target` under `field` (`""` is a call no capability governs)."""
    if not field:
        return True
    if field == "spawn":
        return caps.spawn is not False
    patterns = allowed_patterns(caps, field)
    return patterns is None or matcher(patterns)(target)


# -- pattern inclusion ------------------------------------------------------------------
#
# `covers(parent, child)` must be *sound*: when it says yes, every string the child glob
# matches is matched by the parent glob. Exact glob inclusion is expensive in general, so
# the check is a conservative structural one. Both globs are split into tokens (a literal
# character, `?`, a `[...]` class, `*`); the child is covered when its token sequence can
# be aligned with the parent's so that
#   * a parent `*` absorbs any run of child tokens (including child `*`s),
#   * a parent `?` takes exactly one single-character child token (literal, `?`, class),
#   * a parent class takes one child literal it matches, or an identical class,
#   * a parent literal takes the same child literal,
#   * a child `*` is taken only by a parent `*`.
# Each alignment maps every string of the child onto the parent, hence soundness. It
# accepts literals, identical globs and narrower globs such as `web.*` under `web*` or
# `a?c` under `a*`; it rejects some true inclusions (`?*` under `*?`), which is the safe
# direction: the request is refused, never widened.

_STAR: Final = "*"
_ANY: Final = "?"


def has_magic(pattern: str) -> bool:
    """Whether `pattern` is a glob rather than a literal name."""
    return any(c in pattern for c in "*?[")


def _is_star_only(pattern: str) -> bool:
    return bool(pattern) and pattern.strip("*") == ""


@functools.lru_cache(maxsize=4096)
def _tokens(pattern: str) -> tuple[str, ...]:
    """Split a glob the way `fnmatch.translate` reads it ("[" without "]" is a literal)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "[":
            j = i + 1
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j < n:
                out.append(pattern[i : j + 1])
                i = j + 1
                continue
            out.append("\\[")  # unterminated: a literal "[", kept apart from class tokens
        elif c == "*":
            if not out or out[-1] != _STAR:  # "**" matches what "*" matches
                out.append(_STAR)
        else:
            out.append(c)
        i += 1
    return tuple(out)


def _literal(token: str) -> str | None:
    """The character a literal token stands for, or None for `?`, `*` and classes."""
    if token == "\\[":
        return "["
    if token in (_STAR, _ANY) or (len(token) > 1 and token.startswith("[")):
        return None
    return token


def _token_covers(parent: str, child: str) -> bool:
    """Whether every character the child token matches, the parent token matches."""
    if parent == _ANY:
        return child != _STAR
    if child == _STAR:
        return False
    char = _literal(child)
    if _literal(parent) is not None:
        return char is not None and char == _literal(parent)
    # parent is a class
    if char is not None:
        return fnmatch.fnmatchcase(char, parent)
    return child == parent


@functools.lru_cache(maxsize=8192)
def covers(parent: str, child: str) -> bool:
    """Whether the glob `parent` matches every string the glob `child` can match (sound)."""
    if parent == child or _is_star_only(parent):
        return True
    if not has_magic(child):
        return fnmatch.fnmatchcase(child, parent)
    p, c = _tokens(parent), _tokens(child)
    # ok[i][j]: parent tokens p[i:] cover child tokens c[j:]
    ok = [[False] * (len(c) + 1) for _ in range(len(p) + 1)]
    ok[len(p)][len(c)] = True
    for i in range(len(p) - 1, -1, -1):
        for j in range(len(c), -1, -1):
            if p[i] == _STAR:
                ok[i][j] = ok[i + 1][j] or (j < len(c) and ok[i][j + 1])
            else:
                ok[i][j] = j < len(c) and _token_covers(p[i], c[j]) and ok[i + 1][j + 1]
    return ok[0][0]


def _uncovered(parent: tuple[str, ...], child: Iterable[str]) -> list[str]:
    return [c for c in child if not any(covers(p, c) for p in parent)]


# -- derivation -------------------------------------------------------------------------


def derive(parent: Capabilities, requested: Capabilities | None) -> Capabilities:
    """The capabilities a child gets when it asks for `requested` (None: the parent's).

    Raises `PermissionDenied`, naming the field and the excess, when the request exceeds
    the parent's capabilities; `InvalidArgument` for a negative budget.
    """
    if requested is None:
        return parent
    values: dict[str, object] = {}
    for field in PATTERN_FIELDS:
        values[field] = _derive_patterns(field, getattr(parent, field), getattr(requested, field))
    if requested.spawn is None:
        values["spawn"] = parent.spawn
    elif requested.spawn and parent.spawn is False:
        raise PermissionDenied("may not grant 'spawn': the parent may not spawn", field="spawn")
    else:
        values["spawn"] = requested.spawn
    for field in BUDGET_FIELDS:
        values[field] = _derive_budget(field, getattr(parent, field), getattr(requested, field))
    return replace(Capabilities(), **values)


def _derive_patterns(
    field: str, parent: tuple[str, ...] | None, child: tuple[str, ...] | None
) -> tuple[str, ...] | None:
    if child is None:
        return parent
    if isinstance(child, str):  # a bare string would be read character by character
        raise InvalidArgument(f"{field} must be a tuple of patterns, not a string", field=field)
    if parent is None:
        return tuple(child)
    excess = _uncovered(parent, child)
    if excess:
        raise PermissionDenied(
            f"may not grant {field} {excess}: not covered by the parent's {list(parent)}",
            field=field,
            excess=excess,
            allowed=list(parent),
        )
    return tuple(child)


def _derive_budget(field: str, parent: float | None, child: float | None) -> float | None:
    if child is None:
        return parent
    if child < 0:
        raise InvalidArgument(f"{field} must not be negative, got {child}", field=field)
    if parent is not None and child > parent:
        raise PermissionDenied(
            f"may not grant {field}={child}: exceeds the parent's {parent} by {child - parent}",
            field=field,
            requested=child,
            allowed=parent,
        )
    return child
