"""Supervised instruction tuning of a causal model on chat-formatted conversations.

Conversations are Hugging Face chat messages (`{"role", "content"}`, assistant turns may
carry `tool_calls`). They are rendered with the model's own chat template, and the loss is
taken on assistant tokens only — the tokens the template's `{% generation %}` blocks mark —
so the model learns to answer, not to predict its prompts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmagentos.errors import InvalidArgument
from llmagentos.learning.build import quiet_transformers, seed_everything
from llmagentos.learning.config import TrainConfig, check_memory, estimate_memory
from llmagentos.learning.data import ExampleBatches, Record, holdout
from llmagentos.learning.errors import CorpusTooSmall
from llmagentos.learning.loop import train
from llmagentos.learning.pretrain import Trained, count_params, digest, save_model
from llmagentos.learning.progress import Reporter
from llmagentos.learning.tokenizer import HFTokenizer

if TYPE_CHECKING:
    from torch import nn

Conversation = Sequence[dict[str, Any]]
_ROLES = {"system", "user", "assistant", "tool"}


def check_conversation(index: int, messages: Conversation) -> None:
    """`InvalidArgument` naming the conversation and what is wrong with it."""
    if not isinstance(messages, Sequence) or not messages:
        raise InvalidArgument(f"conversation {index} is empty or not a list of messages")
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in _ROLES:
            raise InvalidArgument(
                f"conversation {index}: every message needs a role in {sorted(_ROLES)},"
                f" got {m!r:.80}"
            )
        if not isinstance(m.get("content", ""), str):
            raise InvalidArgument(f"conversation {index}: message content must be a string")
    if not any(m["role"] == "assistant" for m in messages):
        raise InvalidArgument(f"conversation {index} has no assistant turn to learn from")


def encode_chat(
    tok: HFTokenizer, conversations: Sequence[Conversation], max_len: int
) -> tuple[list[Record], int]:
    """Token ids with assistant-only labels; also how many were too long and dropped."""
    if not getattr(tok, "chat_template", None):
        raise InvalidArgument("the base model's tokenizer has no chat template")
    records: list[Record] = []
    dropped = 0
    for i, messages in enumerate(conversations):
        check_conversation(i, messages)
        enc: Any = tok.apply_chat_template(
            list(messages), tokenize=True, return_dict=True, return_assistant_tokens_mask=True
        )
        ids, mask = list(enc["input_ids"]), list(enc["assistant_masks"])
        if len(ids) > max_len:
            dropped += 1
            continue
        labels = [t if m else -100 for t, m in zip(ids, mask, strict=True)]
        records.append({"input_ids": ids, "labels": labels})
    if records and all(all(lab == -100 for lab in r["labels"]) for r in records):
        raise InvalidArgument(
            "the chat template marks no assistant tokens (it needs {% generation %} blocks), "
            "so there is nothing to learn from"
        )
    return records, dropped


def load_causal(base: Path, tc: TrainConfig) -> tuple[nn.Module, HFTokenizer]:
    """A causal LM and its tokenizer from `base`, after checking training fits in memory."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    quiet_transformers()
    config = AutoConfig.from_pretrained(str(base))
    if not getattr(config, "is_decoder", False) and "CausalLM" not in str(config.architectures):
        raise InvalidArgument(f"{base} is not a causal language model ({config.architectures})")
    from llmagentos.learning.build import count_parameters

    estimate = estimate_memory(
        count_parameters(AutoModelForCausalLM.from_config, config),
        batch=tc.batch_size,
        seq=tc.seq_len,
        hidden=config.hidden_size,
        ffn=config.intermediate_size,
        layers=config.num_hidden_layers,
        heads=config.num_attention_heads,
        vocab=config.vocab_size,
    )
    check_memory(estimate, tc.max_memory_gb)
    seed_everything(tc.seed)
    net = AutoModelForCausalLM.from_pretrained(str(base), dtype="float32")
    return net, AutoTokenizer.from_pretrained(str(base))


def finetune_chat(
    conversations: Sequence[Conversation],
    out_dir: Path,
    *,
    base: Path,
    eval_conversations: Sequence[Conversation] | None = None,
    heldout_fraction: float = 0.05,
    train_config: TrainConfig | None = None,
    run_dir: Path | None = None,
    reporter: Reporter | None = None,
    restart: bool = False,
    manifest: dict[str, Any] | None = None,
) -> Trained:
    """Instruction-tune the causal model at `base` on `conversations`; save to `out_dir`."""
    tc = train_config or TrainConfig(steps=500, batch_size=16, seq_len=512, lr=1e-3)
    if not conversations:
        raise CorpusTooSmall("there are no conversations to fine-tune on")
    if eval_conversations is None:
        train_convs, eval_convs = holdout(list(conversations), heldout_fraction, tc.seed)
    else:
        train_convs, eval_convs = list(conversations), list(eval_conversations)
    net, tok = load_causal(base, tc)
    records, dropped = encode_chat(tok, train_convs, tc.seq_len)
    eval_records, _ = encode_chat(tok, eval_convs, tc.seq_len)
    if not records or not eval_records:
        raise CorpusTooSmall(
            f"{len(records)} training and {len(eval_records)} eval conversation(s) fit in "
            f"seq_len {tc.seq_len} ({dropped} dropped as too long); add data or raise seq_len"
        )
    pad = {"input_ids": tok.pad_token_id or 0}
    data = ExampleBatches(records, tc.batch_size, seed=tc.seed, pad=pad)
    evals = ExampleBatches(eval_records, tc.batch_size, seed=tc.seed, pad=pad)
    run = run_dir or out_dir.with_name(out_dir.name + ".run")
    fingerprint = {"base": digest([str(base)]), "data": digest([r["input_ids"] for r in records])}
    if dropped and reporter is not None:
        reporter.note(f"{dropped} conversation(s) longer than seq_len {tc.seq_len} were left out")
    result = train(
        net,
        data,
        tc,
        run,
        eval_data=evals,
        fingerprint=fingerprint,
        title="fine-tuning (chat)",
        reporter=reporter,
        restart=restart,
    )
    metrics = {"eval_loss": result.eval_loss, "perplexity": result.perplexity}
    extra = {"base": str(base), "objective": "sft-assistant-only", **(manifest or {})}
    path = save_model(
        net,
        tok,
        out_dir,
        "causal-lm",
        parameters=count_params(net),
        train=asdict(tc),
        metrics=metrics,
        tokens=result.tokens,
        seconds=round(result.seconds, 1),
        **extra,
    )
    return Trained(path, result, count_params(net), metrics)
