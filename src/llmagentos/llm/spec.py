"""Model spec strings (`openai:gpt-4o-mini`, `hf:/path`, `builtin:tiny`) and the provider registry.

Grammar: `provider:model[@base_url][?key=value&...]`, or a bare provider name for providers
that need no model (`scripted`, `test`). Providers are plugged in with `register_provider`,
so new cores (the local Hugging Face core, the builtin model) register themselves without
this module changing. Factories are imported lazily: parsing a spec imports nothing heavy.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import field
from typing import Any
from urllib.parse import parse_qsl

from llmagentos.errors import InvalidArgument, UnknownModel
from llmagentos.llm.base import LLMBackend
from llmagentos.records import record

Option = str | int | float | bool
ProviderFactory = Callable[..., LLMBackend]
"""`factory(spec, **overrides) -> LLMBackend`; overrides already include the spec's options."""

EXAMPLES = "'openai:gpt-4o-mini', 'openai:llama3@http://localhost:11434/v1', 'builtin:tiny'"
_PROVIDER_RE = re.compile(r"[a-z][a-z0-9_\-]*")


@record
class ModelSpec:
    """A parsed model spec: which provider, which model, where, and provider options."""

    provider: str
    model: str = ""
    base_url: str | None = None
    options: Mapping[str, Option] = field(default_factory=dict)

    def __str__(self) -> str:
        text = f"{self.provider}:{self.model}" if self.model else self.provider
        if self.base_url:
            text += f"@{self.base_url}"
        if self.options:
            text += "?" + "&".join(f"{k}={_format(v)}" for k, v in self.options.items())
        return text


def _format(value: Option) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _bad(spec: str, why: str) -> InvalidArgument:
    return InvalidArgument(f"bad model spec {spec!r}: {why}; examples: {EXAMPLES}", spec=spec)


def _option_value(text: str) -> Option:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def parse_model_spec(spec: str) -> ModelSpec:
    """Parse a spec string into a `ModelSpec`; bad syntax raises `InvalidArgument`."""
    if not isinstance(spec, str) or not spec.strip():
        raise _bad(str(spec), "it is empty")
    text = spec.strip()
    options: dict[str, Option] = {}
    if "?" in text:
        text, query = text.rsplit("?", 1)
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=False)
        if not pairs or any(not k.isidentifier() for k, _ in pairs):
            raise _bad(spec, "options go after '?' as key=value pairs joined by '&'")
        options = {k: _option_value(v) for k, v in pairs}
    provider, sep, rest = text.partition(":")
    provider = provider.strip().lower()
    if not sep:
        if provider in _providers and provider in _BARE_OK:
            return ModelSpec(provider=provider, options=options)
        raise _bad(spec, "it has no provider prefix (write 'provider:model')")
    if not _PROVIDER_RE.fullmatch(provider):
        raise _bad(spec, f"provider {provider!r} is not a lowercase name")
    model, base_url = rest, None
    # `hf:` paths may contain '@' (e.g. user@host dirs), and base URLs only follow models.
    if provider != "hf" and "@" in rest:
        model, base_url = rest.split("@", 1)
        if not re.match(r"https?://[^/\s]+", base_url):
            raise _bad(spec, f"base URL {base_url!r} must start with http:// or https://")
        base_url = base_url.rstrip("/")
    model = model.strip()
    if not model and provider not in _BARE_OK:
        raise _bad(spec, f"provider {provider!r} needs a model name after ':'")
    return ModelSpec(provider=provider, model=model, base_url=base_url, options=options)


# -- registry ---------------------------------------------------------------------------

_lock = threading.Lock()
_providers: dict[str, ProviderFactory] = {}
_BARE_OK = {"scripted", "test"}  # providers whose spec may omit the model


def register_provider(name: str, factory: ProviderFactory, *, replace: bool = False) -> None:
    """Make `name:` specs build backends with `factory(spec, **overrides)`."""
    if not _PROVIDER_RE.fullmatch(name):
        raise InvalidArgument(f"provider name {name!r} must be a lowercase name like 'openai'")
    with _lock:
        if name in _providers and not replace and _providers[name] is not factory:
            raise InvalidArgument(f"provider {name!r} is already registered; pass replace=True")
        _providers[name] = factory


def registered_providers() -> tuple[str, ...]:
    """Names of the registered providers, sorted."""
    return tuple(sorted(_providers))


def create_backend(spec: str | ModelSpec, **overrides: Any) -> LLMBackend:
    """Build the backend a spec names; keyword overrides win over the spec's options."""
    parsed = parse_model_spec(spec) if isinstance(spec, str) else spec
    factory = _providers.get(parsed.provider)
    if factory is None:
        raise UnknownModel(
            f"no provider {parsed.provider!r} for model spec {str(parsed)!r}; registered: "
            f"{', '.join(registered_providers())}",
            provider=parsed.provider,
        )
    kwargs: dict[str, Any] = {**parsed.options, **overrides}
    try:
        return factory(parsed, **kwargs)
    except TypeError as exc:
        # An unexpected keyword is the user's mistake, not a crash.
        if "keyword argument" not in str(exc) and "positional argument" not in str(exc):
            raise
        raise InvalidArgument(
            f"bad options for provider {parsed.provider!r}: {exc}", provider=parsed.provider
        ) from exc


# -- built-in providers -----------------------------------------------------------------


def _openai(spec: ModelSpec, **kwargs: Any) -> LLMBackend:
    from llmagentos.llm.openai import OpenAIBackend

    if spec.base_url is not None:
        kwargs.setdefault("base_url", spec.base_url)
    return OpenAIBackend(spec.model, **kwargs)


def _builtin(spec: ModelSpec, **kwargs: Any) -> LLMBackend:
    """`builtin:tiny` (shipped) or `builtin:<name>` (models directory), on the local core."""
    from llmagentos.learning.provider import builtin_backend

    return builtin_backend(spec, **kwargs)


def _not_yet(what: str) -> ProviderFactory:
    def factory(spec: ModelSpec, **kwargs: Any) -> LLMBackend:
        raise UnknownModel(
            f"cannot load {str(spec)!r}: {what} is not installed/available yet in this build; "
            "use an 'openai:' spec against a local server or a llmagentos.testing double",
            provider=spec.provider,
        )

    return factory


def _hf_local(spec: ModelSpec, **kwargs: Any) -> LLMBackend:
    """`hf:/path/to/model?device=cpu&max_batch=32`: the local continuous-batching core."""
    try:
        from llmagentos.llm.local import LocalBackend
    except ImportError as exc:
        raise UnknownModel(
            f"cannot load {str(spec)!r}: the local core needs torch and transformers "
            f"({exc}); install the 'local' extra: pip install -c constraints.txt "
            "'llmagentos[local]'",
            provider=spec.provider,
        ) from exc
    return LocalBackend(spec.model, **kwargs)


def _test_double(spec: ModelSpec, **kwargs: Any) -> LLMBackend:
    """`scripted`, `test:scripted` (ScriptedModel), `test`, `test:null`, `test:latency`."""
    from llmagentos import testing

    kind = spec.model or ("scripted" if spec.provider == "scripted" else "null")
    doubles: dict[str, Callable[..., LLMBackend]] = {
        "null": testing.NullModel,
        "scripted": testing.ScriptedModel,
        "latency": testing.LatencyModel,
    }
    if kind not in doubles:
        raise InvalidArgument(
            f"unknown test double {kind!r} in {str(spec)!r}; use one of "
            "'test:null', 'test:scripted', 'test:latency' or 'scripted'"
        )
    if kind == "scripted" and "replies" not in kwargs:
        kwargs["replies"] = ["ok"]
        kwargs.setdefault("cycle", True)
    return doubles[kind](**kwargs)


register_provider("openai", _openai)
register_provider("hf", _hf_local)
register_provider("builtin", _builtin)
register_provider("scripted", _test_double)
register_provider("test", _test_double)
