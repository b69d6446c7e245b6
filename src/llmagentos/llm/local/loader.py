"""Loading a Hugging Face causal LM from disk: config, weights, tokenizer, chat template.

Never downloads: every `from_pretrained` runs with `local_files_only=True`, so a name that
is not a local folder must already be in the local Hugging Face cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmagentos.errors import InvalidArgument, UnknownModel


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """A model ready for the engine: on its device, with our attention plugged in."""

    model: Any
    tokenizer: Any
    eos_ids: tuple[int, ...]
    window: int
    device: Any
    source: str


def resolve_dtype(name: str | None, device: Any) -> Any:
    """`"float32"`, `"bfloat16"`, `"float16"`, or None: float32 on CPU, bfloat16 on CUDA."""
    import torch

    if name is None:
        return torch.float32 if device.type == "cpu" else torch.bfloat16
    dtype = getattr(torch, str(name), None)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise InvalidArgument(f"dtype {name!r} is not a torch floating-point type")
    return dtype


def load_model(
    source: str,
    *,
    device: str = "cpu",
    dtype: str | None = None,
    window: int | None = None,
    threads: int | None = None,
) -> LoadedModel:
    """Load `source` (a folder, or a name in the local HF cache) for the engine."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from llmagentos.llm.local import attention

    if threads is not None:
        torch.set_num_threads(int(threads))  # process-wide: torch has one intra-op pool
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise InvalidArgument(f"bad device {device!r}: {exc}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidArgument(f"device {device!r} asked for, but CUDA is not available")
    if not Path(source).is_dir() and ("/" not in source or source.startswith(("/", "."))):
        raise UnknownModel(f"no model folder at {source!r}", source=source)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
        model: Any = AutoModelForCausalLM.from_pretrained(
            source,
            dtype=resolve_dtype(dtype, dev),
            local_files_only=True,
            attn_implementation="sdpa",
        )
    except (OSError, ValueError) as exc:
        raise UnknownModel(
            f"cannot load a causal LM from {source!r}: {exc}", source=source
        ) from exc
    model = model.to(dev).eval()
    config = model.config.get_text_config()
    _check_supported(model, config, source)
    model.set_attn_implementation(attention.NAME)
    if model.config._attn_implementation != attention.NAME:
        raise UnknownModel(
            f"{source!r} ({type(model).__name__}) does not use transformers' attention "
            "interface, which the local engine needs",
            source=source,
        )
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        eos_ids=_eos_ids(model, tokenizer),
        window=_window(config, tokenizer, window),
        device=dev,
        source=source,
    )


def _check_supported(model: Any, config: Any, source: str) -> None:
    if getattr(config, "attn_logit_softcapping", None):
        raise UnknownModel(f"{source!r}: attention soft-capping is not supported by the engine")
    kinds = set(getattr(config, "layer_types", None) or ["full_attention"])
    if kinds - {"full_attention", "sliding_attention"}:
        raise UnknownModel(f"{source!r}: layer types {sorted(kinds)} are not supported")


def _window(config: Any, tokenizer: Any, asked: int | None) -> int:
    window = int(getattr(config, "max_position_embeddings", 0) or 0) or 2048
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < window:
        window = limit
    # Sliding-window layers attend to everything within the window, so capping the context
    # at the sliding window makes them plain full attention, which the engine computes.
    sliding = getattr(config, "sliding_window", None)
    if sliding and getattr(config, "use_sliding_window", True):
        window = min(window, int(sliding))
    if asked is not None:
        if asked < 2:
            raise InvalidArgument(f"context window must be >= 2, got {asked}")
        window = min(window, int(asked))
    return window


def _eos_ids(model: Any, tokenizer: Any) -> tuple[int, ...]:
    found: set[int] = set()
    gen = getattr(model, "generation_config", None)
    for value in (getattr(gen, "eos_token_id", None), tokenizer.eos_token_id):
        if isinstance(value, int):
            found.add(value)
        elif isinstance(value, (list, tuple)):
            found.update(int(v) for v in value)
    return tuple(sorted(v for v in found if v >= 0))
