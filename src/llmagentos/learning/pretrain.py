"""Causal-LM pretraining from scratch, and saving finished models.

`pretrain_causal(texts, out_dir, ...)` trains a BPE tokenizer (or takes one), packs the
token stream into `seq_len` blocks, holds some documents out for eval loss / perplexity,
builds a Llama-architecture model (or, with `init`, continues from a saved one and its
tokenizer), runs the shared loop, and saves a Hugging Face directory with the tokenizer
(chat template included) and a manifest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmagentos.learning import store
from llmagentos.learning.build import build_causal, quiet_transformers
from llmagentos.learning.chat import END
from llmagentos.learning.config import CausalConfig, TrainConfig
from llmagentos.learning.data import ExampleBatches, holdout, pack_blocks
from llmagentos.learning.errors import CorpusTooSmall
from llmagentos.learning.loop import TrainResult, train
from llmagentos.learning.progress import Reporter
from llmagentos.learning.tokenizer import HFTokenizer, train_bpe

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True, slots=True)
class Trained:
    """A finished run: where the model was saved, the run's figures, and extra metrics."""

    path: Path
    result: TrainResult
    parameters: int
    metrics: dict[str, Any]


def digest(values: Sequence[Any]) -> str:
    """A short content hash of a data set (part of a run's fingerprint)."""
    h = hashlib.sha256()
    for v in values:
        h.update(repr(v).encode())
    return h.hexdigest()[:16]


def run_tokenizer(run_dir: Path, make: Any, restart: bool) -> HFTokenizer:
    """The run's tokenizer: the one saved in `run_dir` when resuming, else `make()`, saved."""
    from transformers import AutoTokenizer

    path = run_dir / "tokenizer"
    if path.is_dir() and not restart:
        return AutoTokenizer.from_pretrained(str(path))
    tokenizer = make()
    tokenizer.save_pretrained(str(path))
    return tokenizer


def save_model(
    net: nn.Module,
    tokenizer: HFTokenizer,
    out_dir: Path,
    kind: str,
    **manifest: Any,
) -> Path:
    """Write model, tokenizer and manifest to `out_dir` (atomically replacing it)."""
    from transformers import GenerationConfig as _Generation

    quiet_transformers()
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    net.save_pretrained(str(tmp))  # type: ignore[operator]
    if kind == "causal-lm":
        # The context window the local core serves is the one the model was built for.
        tokenizer.model_max_length = getattr(net.config, "max_position_embeddings", 2048)
    tokenizer.save_pretrained(str(tmp))
    if kind == "causal-lm":
        stops = [tokenizer.convert_tokens_to_ids(t) for t in (END, "<|user|>", "<|system|>")]
        generation: Any = _Generation
        generation(
            eos_token_id=stops,
            pad_token_id=tokenizer.pad_token_id,
            do_sample=False,
            max_new_tokens=256,
        ).save_pretrained(str(tmp))
    store.write_manifest(tmp, kind, **manifest)
    return store.publish(tmp, out_dir)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def pretrain_causal(
    texts: Sequence[str],
    out_dir: Path,
    *,
    model: CausalConfig | None = None,
    train_config: TrainConfig | None = None,
    vocab_size: int = 4096,
    tokenizer: HFTokenizer | None = None,
    run_dir: Path | None = None,
    eval_fraction: float = 0.05,
    reporter: Reporter | None = None,
    restart: bool = False,
    init: Path | None = None,
) -> Trained:
    """Pretrain a causal LM on `texts` and save it to `out_dir` (see the module docstring);
    from the weights and tokenizer saved at `init` if given (`model` is then ignored)."""
    config = model or CausalConfig()
    tc = train_config or TrainConfig()
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise CorpusTooSmall("the corpus is empty: there is no text to pretrain on")
    run = run_dir or out_dir.with_name(out_dir.name + ".run")
    start: Any = None
    if init is not None:
        from llmagentos.learning.sft import load_causal

        start, tok = load_causal(init, tc)
    else:
        tok = run_tokenizer(run, lambda: tokenizer or train_bpe(texts, vocab_size), restart)
    eos_token = tok.convert_tokens_to_ids(END) if END in tok.get_vocab() else tok.eos_token_id
    if not isinstance(eos_token, int):
        raise CorpusTooSmall("the tokenizer has no end-of-text token to separate documents")
    eos: int = eos_token
    train_docs, eval_docs = holdout(texts, eval_fraction, tc.seed)
    ids = tok(train_docs, add_special_tokens=False)["input_ids"]
    blocks = pack_blocks(ids, tc.seq_len, eos)
    eval_blocks = pack_blocks(
        tok(eval_docs, add_special_tokens=False)["input_ids"], tc.seq_len, eos
    )
    if not blocks or not eval_blocks:
        n_tokens = sum(len(i) + 1 for i in ids)
        raise CorpusTooSmall(
            f"the corpus is too small: {len(texts)} document(s), {n_tokens} training tokens, "
            f"{len(blocks)} training and {len(eval_blocks)} eval block(s) of seq_len "
            f"{tc.seq_len}; add text or lower seq_len (a held-out {eval_fraction:.0%} of the "
            "documents must fill at least one block too)",
            documents=len(texts),
        )
    net = (
        start
        if start is not None
        else build_causal(config, len(tok), tc, pad_id=tok.pad_token_id or 0, eos_id=eos)
    )
    data = ExampleBatches(blocks, tc.batch_size, seed=tc.seed, group_by_length=False)
    evals = ExampleBatches(eval_blocks, tc.batch_size, seed=tc.seed, group_by_length=False)
    origin = {"model": asdict(config)} if init is None else {"init": digest([str(init)])}
    fingerprint = {**origin, "data": digest(ids), "vocab": len(tok)}
    result = train(
        net,
        data,
        tc,
        run,
        eval_data=evals,
        fingerprint=fingerprint,
        title="pretraining (causal LM)",
        reporter=reporter,
        restart=restart,
    )
    metrics = {"eval_loss": result.eval_loss, "perplexity": result.perplexity}
    path = save_model(
        net,
        tok,
        out_dir,
        "causal-lm",
        objective="causal-lm",
        parameters=count_params(net),
        train=asdict(tc),
        **({"init": str(init)} if init is not None else {"model": asdict(config)}),
        metrics=metrics,
        tokens=result.tokens,
        seconds=round(result.seconds, 1),
    )
    return Trained(path, result, count_params(net), metrics)
