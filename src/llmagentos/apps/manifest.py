"""App manifests (`app.toml`): what an app is, what it runs, and what it may touch.

```toml
name = "customer_service"              # lowercase letters, digits, '_' or '-'
version = "0.1.0"
description = "Answers customers from an FAQ and an order database."
entry = "llmagentos.apps.customer_service.app:main"   # module:function, the program
model = "builtin:tiny"                 # default model spec (`--model` overrides)
offline_model = "llmagentos.apps.customer_service.offline:model"  # a double's factory
tools = ["llmagentos.apps.customer_service.orders:TOOLS"]         # tools, lists, factories

[capabilities]                         # what the app's process may do (see `access`)
namespaces = ["app/customer_service", "app/customer_service/*"]
spawn = false
max_tokens = 50000

[[policy]]                             # allow / deny / ask rules the app runs under
effect = "ask"
kinds = ["tool"]
targets = ["escalate_to_human"]
reason = "a person takes over the conversation"

[args]                                 # default program arguments (`--arg` overrides)
questions = ["Where is order K-4471?"]
```

A manifest is untrusted input: it is validated with pydantic here, at the boundary, and
every mistake comes back as one `InvalidManifest` naming the file and the fields.
Defaults: `capabilities.tools` is the app's own tools; `namespaces` is `app/<name>` and
below; `spawn` is false; everything else is inherited (unrestricted, no budget).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any

import pydantic

from llmagentos.access import Policy, Rule
from llmagentos.apps.errors import InvalidManifest
from llmagentos.errors import LLMAgentOSError
from llmagentos.kernel.syscalls import Capabilities
from llmagentos.llm.spec import parse_model_spec
from llmagentos.records import record

MANIFEST = "app.toml"
_NAME = r"^[a-z][a-z0-9_-]{0,63}$"
_VERSION = r"^\d+\.\d+(\.\d+)?([-+.][0-9A-Za-z.-]+)?$"
_REFERENCE = r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$"


@record
class AppManifest:
    """A validated manifest (see the module docstring for the fields)."""

    name: str
    version: str
    entry: str
    description: str = ""
    model: str | None = None
    offline_model: str | None = None
    tools: tuple[str, ...] = ()
    capabilities: Capabilities = Capabilities()
    policy: tuple[Rule, ...] = ()
    args: dict[str, Any] | None = None

    @property
    def namespace(self) -> str:
        """The storage namespace the app's data lives in."""
        return f"app/{self.name}"


_Count = Annotated[int, pydantic.Field(ge=0)]


class _Capabilities(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    tools: list[str] | None = None
    namespaces: list[str] | None = None
    peers: list[str] | None = None
    topics: list[str] | None = None
    models: list[str] | None = None
    spawn: bool = False
    max_tokens: _Count | None = None
    max_tool_calls: _Count | None = None
    max_syscalls: _Count | None = None
    max_wall_s: Annotated[float, pydantic.Field(gt=0)] | None = None

    @pydantic.field_validator("tools", "namespaces", "peers", "topics", "models")
    @classmethod
    def _patterns(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(not p or not p.strip() for p in value):
            raise ValueError("patterns must be non-empty strings")
        return value


class _Manifest(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    name: str = pydantic.Field(pattern=_NAME)
    version: str = pydantic.Field(pattern=_VERSION)
    description: str = ""
    entry: str = pydantic.Field(pattern=_REFERENCE)
    model: str | None = None
    offline_model: str | None = pydantic.Field(None, pattern=_REFERENCE)
    tools: list[pydantic.constr(pattern=_REFERENCE)] = []  # type: ignore[valid-type]
    capabilities: _Capabilities = _Capabilities()
    policy: list[dict[str, Any]] = []
    args: dict[str, Any] = {}

    @pydantic.field_validator("model")
    @classmethod
    def _spec(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_model_spec(value)
            except LLMAgentOSError as exc:
                raise ValueError(exc.message) from None
        return value


def _describe(exc: pydantic.ValidationError, source: str) -> InvalidManifest:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "manifest"
        problems.append(f"{where}: {err['msg']}")
    return InvalidManifest(
        f"invalid app manifest {source}: " + "; ".join(problems), problems=problems
    )


def parse_manifest(data: dict[str, Any], *, source: str = "data") -> AppManifest:
    """Validate plain manifest data into an `AppManifest`."""
    try:
        m = _Manifest.model_validate(data)
    except pydantic.ValidationError as exc:
        raise _describe(exc, source) from None
    try:
        policy = Policy.from_dict({"rules": m.policy}, source=f"{source} [[policy]]")
    except LLMAgentOSError as exc:
        raise InvalidManifest(exc.message) from None
    caps = m.capabilities
    capabilities = Capabilities(
        tools=None if caps.tools is None else tuple(caps.tools),
        namespaces=(
            (f"app/{m.name}", f"app/{m.name}/*")
            if caps.namespaces is None
            else tuple(caps.namespaces)
        ),
        peers=None if caps.peers is None else tuple(caps.peers),
        topics=None if caps.topics is None else tuple(caps.topics),
        models=None if caps.models is None else tuple(caps.models),
        spawn=caps.spawn,
        max_tokens=caps.max_tokens,
        max_tool_calls=caps.max_tool_calls,
        max_wall_s=caps.max_wall_s,
        max_syscalls=caps.max_syscalls,
    )
    return AppManifest(
        name=m.name,
        version=m.version,
        entry=m.entry,
        description=m.description,
        model=m.model,
        offline_model=m.offline_model,
        tools=tuple(m.tools),
        capabilities=capabilities,
        policy=policy.rules,
        args=dict(m.args),
    )


def load_manifest(path: str | Path) -> AppManifest:
    """Read `app.toml` from an app directory (or the file itself)."""
    p = Path(path)
    file = p / MANIFEST if p.is_dir() else p
    if not file.is_file():
        raise InvalidManifest(f"no {MANIFEST} in {p}: an app directory needs a manifest")
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidManifest(f"invalid app manifest {file}: not TOML: {exc}") from None
    return parse_manifest(data, source=str(file))
