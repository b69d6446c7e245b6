"""The `builtin:` model provider: a named model folder, served by the local LLM core.

`builtin:tiny` is the model shipped in the package; `builtin:<name>` is any causal model in
the models directory (`llmagentos model list`). The folder is handed to the `hf:` provider,
so the built-in model runs on the same continuous-batching core as any local model.
Options pass through (`builtin:tiny?max_batch=8`), except `models_dir`, which says where
to look for user models.
"""

from __future__ import annotations

from typing import Any

from llmagentos.errors import UnknownModel
from llmagentos.learning import store
from llmagentos.llm.base import LLMBackend
from llmagentos.llm.spec import ModelSpec, create_backend

DEFAULT = "tiny"


def builtin_backend(spec: ModelSpec, **kwargs: Any) -> LLMBackend:
    """Resolve `builtin:<name>` to its folder and build the local core's backend on it."""
    name = spec.model or DEFAULT
    path = store.resolve(name, kwargs.pop("models_dir", None))
    kind = store.read_manifest(path).get("kind", "causal-lm")
    if kind != "causal-lm":
        raise UnknownModel(
            f"model {name!r} at {path} is a {kind}, not a chat model; builtin: specs load "
            "causal language models",
            name=name,
        )
    kwargs.setdefault("guided_tools", True)  # builtin models write the ReAct agent's JSON
    try:
        return create_backend(ModelSpec(provider="hf", model=str(path)), **kwargs)
    except UnknownModel as exc:
        raise UnknownModel(
            f"cannot load builtin:{name} from {path} through the local core: {exc.message}",
            name=name,
        ) from exc
