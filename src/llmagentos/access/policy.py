"""Policy: ordered allow / deny / ask rules over syscall kinds, targets and programs.

The first rule that matches a call decides it; when none does, `Policy.default` does.
A policy is plain data, so a person can write one as TOML:

```toml
default = "allow"

[[rules]]
effect = "deny"
kinds = ["tool"]
targets = ["shell", "exec*"]
reason = "no shell access"

[[rules]]
effect = "ask"
kinds = ["storage"]
targets = ["shared*"]
programs = ["summarizer*"]
reason = "writes to shared storage need a person"
```

Files are untrusted input: they are validated with pydantic, and a mistake comes back
as `InvalidArgument` naming the rule and the field.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import pydantic

from llmagentos.access.capabilities import matcher
from llmagentos.errors import InvalidArgument, NotFound
from llmagentos.kernel.syscalls import SYSCALL_TYPES
from llmagentos.records import record

__all__ = ["KINDS", "Decision", "Effect", "Policy", "Rule"]

Effect = Literal["allow", "deny", "ask"]

KINDS: frozenset[str] = frozenset(t.kind for t in SYSCALL_TYPES)
"""The syscall kinds a rule may name (besides `"*"`)."""


@record
class Rule:
    """One policy rule: when kind, target and program all match, `effect` applies."""

    effect: Effect
    kinds: tuple[str, ...] = ("*",)
    targets: tuple[str, ...] = ("*",)
    programs: tuple[str, ...] = ("*",)
    reason: str = ""


@record
class Decision:
    """What access control said about a call, and why (`rule_index`: the deciding rule)."""

    effect: Effect
    reason: str = ""
    rule_index: int | None = None

    @property
    def allowed(self) -> bool:
        return self.effect == "allow"


# -- validation at the trust boundary ---------------------------------------------------


def _patterns(value: Any) -> Any:
    """Accept a single pattern where a list is expected."""
    return [value] if isinstance(value, str) else value


class _RuleModel(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    effect: Effect
    kinds: list[str] = pydantic.Field(default_factory=lambda: ["*"], min_length=1)
    targets: list[str] = pydantic.Field(default_factory=lambda: ["*"], min_length=1)
    programs: list[str] = pydantic.Field(default_factory=lambda: ["*"], min_length=1)
    reason: str = ""

    @pydantic.field_validator("kinds", "targets", "programs", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return _patterns(value)

    @pydantic.field_validator("kinds")
    @classmethod
    def _known_kinds(cls, kinds: list[str]) -> list[str]:
        unknown = [k for k in kinds if k != "*" and k not in KINDS]
        if unknown:
            raise ValueError(f"unknown syscall kinds {unknown}; known: {sorted(KINDS)} or '*'")
        return kinds

    @pydantic.field_validator("targets", "programs")
    @classmethod
    def _non_empty(cls, patterns: list[str]) -> list[str]:
        if any(not p for p in patterns):
            raise ValueError("patterns must not be empty strings")
        return patterns


class _PolicyModel(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    default: Effect = "allow"
    rules: list[_RuleModel] = pydantic.Field(default_factory=list)


def _describe(exc: pydantic.ValidationError, source: str) -> InvalidArgument:
    """Turn pydantic's report into one message naming the rule and field of each error."""
    problems = []
    for err in exc.errors():
        loc = err["loc"]
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            where = f"rule {loc[1]}" + (f", field {loc[2]!r}" if len(loc) > 2 else "")
        else:
            where = "field " + ".".join(str(p) for p in loc) if loc else "policy"
        problems.append(f"{where}: {err['msg']}")
    return InvalidArgument(f"invalid policy {source}: " + "; ".join(problems), problems=problems)


# -- evaluation -------------------------------------------------------------------------

_Check = Callable[[str], bool]
_Candidates = tuple[tuple[_Check, _Check, Decision], ...]


class Policy:
    """An ordered rule list; `decide` returns the first matching rule's `Decision`."""

    def __init__(self, rules: Iterable[Rule] = (), default: Effect = "allow") -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.default: Effect = default
        self._default_decision = Decision(default, f"no rule matched; default is {default}")
        # Decisions are constant per rule, so they are built once, not per call.
        self._compiled = tuple(
            (
                frozenset(r.kinds),
                "*" in r.kinds,
                matcher(r.targets),
                matcher(r.programs),
                Decision(r.effect, r.reason or f"rule {i} ({r.effect})", i),
            )
            for i, r in enumerate(self.rules)
        )
        self._by_kind: dict[str, _Candidates] = {}

    def _rules_for(self, kind: str) -> _Candidates:
        """The rules that can apply to `kind`, in order (computed once per kind)."""
        cached = self._by_kind.get(kind)
        if cached is None:
            cached = tuple(
                (targets, programs, decision)
                for kinds, any_kind, targets, programs, decision in self._compiled
                if any_kind or kind in kinds
            )
            self._by_kind[kind] = cached
        return cached

    def decide(self, kind: str, target: str, program: str, name: str | None = None) -> Decision:
        """Decide a call of `kind` on `target` by a process running `program` (or `name`)."""
        for target_ok, program_ok, decision in self._rules_for(kind):
            if not target_ok(target):
                continue
            if program_ok(program) or (name is not None and program_ok(name)):
                return decision
        return self._default_decision

    # -- loading ----------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "data") -> Policy:
        """Build a policy from plain data (`{"default": ..., "rules": [...]}`), validated."""
        try:
            model = _PolicyModel.model_validate(dict(data))
        except pydantic.ValidationError as exc:
            raise _describe(exc, source) from None
        rules = [
            Rule(
                effect=r.effect,
                kinds=tuple(r.kinds),
                targets=tuple(r.targets),
                programs=tuple(r.programs),
                reason=r.reason,
            )
            for r in model.rules
        ]
        return cls(rules, default=model.default)

    @classmethod
    def from_json(cls, text: str, *, source: str = "JSON") -> Policy:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidArgument(f"invalid policy {source}: not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidArgument(f"invalid policy {source}: expected an object at the top")
        return cls.from_dict(data, source=source)

    @classmethod
    def from_toml(cls, text: str, *, source: str = "TOML") -> Policy:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidArgument(f"invalid policy {source}: not TOML: {exc}") from None
        return cls.from_dict(data, source=source)

    @classmethod
    def from_file(cls, path: str | Path) -> Policy:
        """Load a `.toml` or `.json` policy file."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise NotFound(f"policy file {str(p)!r} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidArgument(f"cannot read policy file {str(p)!r}: {exc}") from None
        source = f"file {str(p)!r}"
        if p.suffix.lower() == ".json":
            return cls.from_json(text, source=source)
        if p.suffix.lower() == ".toml":
            return cls.from_toml(text, source=source)
        raise InvalidArgument(f"policy file {str(p)!r} must end in .toml or .json")

    def __repr__(self) -> str:
        return f"Policy({len(self.rules)} rules, default={self.default!r})"
