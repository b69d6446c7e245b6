"""Masked-LM pretraining (optionally with next-sentence prediction) of a BERT encoder.

Instances are sentence pairs `[CLS] A [SEP] B [SEP]`: with NSP, B is the next sentence half
of the time (label 0) and a sentence from elsewhere otherwise (label 1); without it, runs of
consecutive sentences fill the window. Masking follows BERT (15% of tokens: 80% `[MASK]`,
10% random, 10% kept) and is drawn from a generator seeded by the step, so a resumed run
masks exactly as an uninterrupted one.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from llmagentos.learning.build import build_encoder
from llmagentos.learning.config import EncoderConfig, TrainConfig
from llmagentos.learning.data import Batch, ExampleBatches, Record, holdout, split_sentences
from llmagentos.learning.errors import CorpusTooSmall
from llmagentos.learning.loop import train
from llmagentos.learning.pretrain import Trained, count_params, digest, run_tokenizer, save_model
from llmagentos.learning.progress import Reporter
from llmagentos.learning.tokenizer import HFTokenizer, train_wordpiece

MASK_RATE = 0.15


def _pairs(docs: list[list[list[int]]], budget: int, nsp: bool, seed: int) -> list[Record]:
    """Sentence-pair (NSP) or packed-sentence instances from tokenised documents."""
    rng = random.Random(f"pairs:{seed}")
    out: list[Record] = []
    for d, sentences in enumerate(docs):
        if not nsp:
            piece: list[int] = []
            for sentence in sentences:
                if piece and len(piece) + len(sentence) > budget:
                    out.append({"a": piece[:budget], "b": []})
                    piece = []
                piece = piece + sentence
            if piece:
                out.append({"a": piece[:budget], "b": []})
            continue
        for i in range(len(sentences) - 1):
            b, label = sentences[i + 1], 0
            if rng.random() < 0.5:
                other = _random_sentence(rng, docs, d, i)
                if other is not None:
                    b, label = other, 1
            half = budget // 2
            a, b = sentences[i][: budget - min(len(b), half)], b[:half]
            out.append({"a": a, "b": b, "nsp": label})
    return out


def _random_sentence(
    rng: random.Random, docs: list[list[list[int]]], d: int, i: int
) -> list[int] | None:
    """A sentence that does not follow sentence `i` of document `d` (another document's if
    there is one)."""
    if len(docs) > 1:
        j = rng.randrange(len(docs) - 1)
        j += j >= d
        if docs[j]:
            return rng.choice(docs[j])
    far = [k for k in range(len(docs[d])) if k not in (i, i + 1)]
    return docs[d][rng.choice(far)] if far else None


def _records(pairs: list[Record], cls: int, sep: int) -> list[Record]:
    records = []
    for p in pairs:
        a, b = p["a"], p["b"]
        ids = [cls, *a, sep] + ([*b, sep] if b else [])
        row: Record = {
            "input_ids": ids,
            "token_type_ids": [0] * (len(a) + 2) + [1] * (len(ids) - len(a) - 2),
        }
        if "nsp" in p:
            row["next_sentence_label"] = p["nsp"]
        records.append(row)
    return records


class Masker:
    """Applies BERT masking to a batch with a generator seeded by `(seed, step)`."""

    def __init__(self, tokenizer: HFTokenizer, seed: int) -> None:
        self.mask_id = tokenizer.mask_token_id
        self.vocab = len(tokenizer)
        self.special = sorted(set(tokenizer.all_special_ids))
        self.seed = seed

    def __call__(self, batch: Batch, step: int) -> Batch:
        import torch

        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + step + 2**32)
        ids = batch["input_ids"].clone()
        maskable = batch["attention_mask"].bool() & ~torch.isin(ids, torch.tensor(self.special))
        chosen = (torch.rand(ids.shape, generator=gen) < MASK_RATE) & maskable
        labels = torch.where(chosen, ids, torch.full_like(ids, -100))
        roll = torch.rand(ids.shape, generator=gen)
        ids[chosen & (roll < 0.8)] = self.mask_id
        swap = chosen & (roll >= 0.8) & (roll < 0.9)
        ids[swap] = torch.randint(0, self.vocab, ids.shape, generator=gen)[swap]
        return {**batch, "input_ids": ids, "labels": labels}


def pretrain_masked(
    texts: Sequence[str],
    out_dir: Path,
    *,
    model: EncoderConfig | None = None,
    train_config: TrainConfig | None = None,
    nsp: bool = True,
    vocab_size: int = 4096,
    tokenizer: HFTokenizer | None = None,
    run_dir: Path | None = None,
    eval_fraction: float = 0.05,
    reporter: Reporter | None = None,
    restart: bool = False,
) -> Trained:
    """Pretrain a BERT encoder with masked LM (+ NSP) and save it to `out_dir`."""
    config = model or EncoderConfig()
    tc = train_config or TrainConfig()
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise CorpusTooSmall("the corpus is empty: there is no text to pretrain on")
    run = run_dir or out_dir.with_name(out_dir.name + ".run")
    tok = run_tokenizer(run, lambda: tokenizer or train_wordpiece(texts, vocab_size), restart)
    sentences = [split_sentences(t) for t in texts]
    if nsp and not any(len(s) >= 2 for s in sentences):
        raise CorpusTooSmall(
            "next-sentence prediction needs documents of at least two sentences; "
            "add longer documents or turn NSP off (--no-nsp)"
        )
    ids = [tok(s, add_special_tokens=False)["input_ids"] if s else [] for s in sentences]
    train_docs, eval_docs = holdout(ids, eval_fraction, tc.seed)
    budget = min(tc.seq_len, config.max_positions) - 3
    cls, sep = tok.cls_token_id, tok.sep_token_id
    examples = _records(_pairs(train_docs, budget, nsp, tc.seed), cls, sep)
    eval_examples = _records(_pairs(eval_docs, budget, nsp, tc.seed + 1), cls, sep)
    if not examples or not eval_examples:
        raise CorpusTooSmall(
            f"the corpus is too small: {len(texts)} document(s) gave {len(examples)} training "
            f"and {len(eval_examples)} eval instance(s); add text",
            documents=len(texts),
        )
    pad = {"input_ids": tok.pad_token_id or 0}
    masker = Masker(tok, tc.seed)
    data = ExampleBatches(examples, tc.batch_size, seed=tc.seed, pad=pad, transform=masker)
    evals = ExampleBatches(eval_examples, tc.batch_size, seed=tc.seed, pad=pad, transform=masker)
    net = build_encoder(config, len(tok), tc, pad_id=tok.pad_token_id or 0, nsp=nsp)
    fingerprint = {"model": asdict(config), "data": digest(ids), "nsp": nsp, "vocab": len(tok)}
    result = train(
        net,
        data,
        tc,
        run,
        eval_data=evals,
        fingerprint=fingerprint,
        title="pretraining (masked LM" + (" + NSP)" if nsp else ")"),
        reporter=reporter,
        restart=restart,
    )
    metrics = {"eval_loss": result.eval_loss, "perplexity": result.perplexity}
    path = save_model(
        net,
        tok,
        out_dir,
        "masked-lm",
        objective="mlm+nsp" if nsp else "mlm",
        parameters=count_params(net),
        train=asdict(tc),
        model=asdict(config),
        metrics=metrics,
        tokens=result.tokens,
        seconds=round(result.seconds, 1),
    )
    return Trained(path, result, count_params(net), metrics)
