"""The recipe of `builtin:tiny`: generated corpus → BPE tokenizer → (copy warm-up →)
causal pretraining → instruction tuning → held-out evaluation.

`BuiltinRecipe.copying()` is the shipped model's recipe: a copy warm-up from a fresh model
first (`corpus.drill`), pretraining from it, and four tuning stages. Instruction tuning
runs in stages: the first on the general mixture (`v1`: every task's
format), the second, `refine`, on a larger draw of the `v2` mixture — the same tasks plus
the bundled apps' own prompts (desk, recommender, translator) and a longer copy drill —
starting from the first's weights. A recipe may add a last stage, `polish`, on the `v4`
mixture: the tool tasks again, asked in more ways than the first mixtures use (the
"wide" split of `corpus.pools`). `train_builtin()` is what `llmagentos model train
builtin` runs. Every stage checkpoints under the models directory's `.runs/<name>/`, so
an interrupted run picks up where it stopped; the same recipe and seed give the same
model.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmagentos.learning import corpus, store
from llmagentos.learning.config import CausalConfig, TrainConfig
from llmagentos.learning.corpus.drill import copy_conversations, copy_spans, drill_pieces
from llmagentos.learning.pretrain import Trained, pretrain_causal
from llmagentos.learning.progress import Reporter, SilentReporter
from llmagentos.learning.sft import finetune_chat
from llmagentos.learning.tokenizer import train_bpe


@dataclass(frozen=True, slots=True)
class BuiltinRecipe:
    """Sizes and schedules of the built-in model. The defaults are the plain recipe (the
    first shipped model; it copies poorly); `copying()` makes today's `builtin:tiny`."""

    seed: int = 0
    examples: int = 24_000
    vocab_size: int = 4096
    split_capitals: bool = False
    """A space before a capital is its own token (see `train_bpe`)."""
    copy_drills: int = 0
    """Spans to say back in the copy warm-up (`corpus.drill`)."""
    copy_warmup: TrainConfig | None = None
    """A first stage, from a fresh model, on `copy_drills` spans said back (loss on the copy
    alone); pretraining then starts from it. `None` (or no drills) skips it."""
    model: CausalConfig = field(
        default_factory=lambda: CausalConfig(hidden_size=256, layers=4, heads=4, max_positions=1024)
    )
    pretrain: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            steps=600,
            batch_size=16,
            seq_len=512,
            lr=2e-3,
            warmup_steps=60,
            eval_every=300,
            checkpoint_every=100,
        )
    )
    sft: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            steps=600,
            batch_size=16,
            seq_len=512,
            lr=1e-3,
            warmup_steps=30,
            eval_every=300,
            checkpoint_every=100,
        )
    )
    refine_examples: int = 48_000
    refine: TrainConfig | None = field(
        default_factory=lambda: TrainConfig(
            steps=3000,
            batch_size=16,
            seq_len=512,
            lr=7e-4,
            warmup_steps=60,
            eval_every=1000,
            checkpoint_every=100,
        )
    )
    """The second instruction-tuning stage (on the `v2` mixture); `None` skips it."""
    refine2_examples: int = 64_000
    refine2: TrainConfig | None = None
    """A third stage (on the `v3` mixture: long spans to copy, larger mazes); `None` skips it."""
    polish_examples: int = 16_000
    polish: TrainConfig | None = None
    """A last stage (on the `v4` mixture: tool calls asked in more ways, answers from
    passages, almost no copy drill); `None` skips it."""
    eval_per_task: int = 40

    @classmethod
    def copying(cls) -> BuiltinRecipe:
        """The recipe of `builtin:tiny`: names spelled the same wherever they stand, a copy
        warm-up before pretraining, a longer pretraining on a larger corpus, so the model
        learns to copy what it has never seen (the plain recipe's model says back 6 % of
        held-out copy drills, this one 21 %), then the plain recipe's tuning stages and a
        last one on requests asked in more ways (`polish`, the `v4` mixture); see
        docs/builtin_model.md."""
        base = cls()
        warmup = TrainConfig(
            steps=2000,
            batch_size=32,
            seq_len=512,
            lr=1e-3,
            weight_decay=0.0,
            warmup_steps=20,
            min_lr_ratio=0.5,
            eval_every=500,
            checkpoint_every=100,
        )
        return dataclasses.replace(
            base,
            examples=48_000,
            split_capitals=True,
            copy_drills=64_000,
            copy_warmup=warmup,
            pretrain=base.pretrain.replace(steps=4000, warmup_steps=200, eval_every=1000),
            polish=base.sft.replace(steps=1000, lr=4e-4, warmup_steps=20, eval_every=500),
        )

    def _stages(self, change: Callable[[TrainConfig], TrainConfig]) -> dict[str, Any]:
        """Every stage's config passed through `change` (a skipped stage stays `None`)."""
        names = ("copy_warmup", "pretrain", "sft", "refine", "refine2", "polish")
        return {n: change(tc) if (tc := getattr(self, n)) else None for n in names}

    def with_threads(self, threads: int | None) -> BuiltinRecipe:
        return dataclasses.replace(self, **self._stages(lambda tc: tc.replace(threads=threads)))

    def scaled(self, factor: float) -> BuiltinRecipe:
        """The same recipe with `factor` times the steps and examples (for quick trials)."""

        def steps(tc: TrainConfig) -> TrainConfig:
            n = max(2, int(tc.steps * factor))
            return tc.replace(
                steps=n,
                warmup_steps=min(tc.warmup_steps, n // 2),
                eval_every=max(1, min(tc.eval_every, n)),
                checkpoint_every=max(1, min(tc.checkpoint_every, n)),
            )

        return dataclasses.replace(
            self,
            examples=max(200, int(self.examples * factor)),
            copy_drills=int(self.copy_drills * factor),
            refine_examples=max(200, int(self.refine_examples * factor)),
            refine2_examples=max(200, int(self.refine2_examples * factor)),
            polish_examples=max(200, int(self.polish_examples * factor)),
            **self._stages(steps),
        )


@dataclass(frozen=True, slots=True)
class BuiltinResult:
    """The trained model's directory, each stage's run, and the held-out eval."""

    path: Path
    pretrained: Trained
    tuned: Trained
    evaluation: dict[str, Any]
    seconds: float = 0.0
    """Training time of every stage together (warm-up, pretraining, each tuning stage)."""


def _render(tok: Any, examples: list[corpus.Example]) -> list[str]:
    return [tok.apply_chat_template(list(e.messages), tokenize=False) for e in examples]


def _copy_warmup(
    r: BuiltinRecipe, tc: TrainConfig, tokenizer: Any, runs: Path, rep: Reporter, restart: bool
) -> Trained:
    """A fresh model taught to say back `r.copy_drills` made-up spans under `tc` (the
    recipe's `copy_warmup`; see `corpus.drill`)."""
    from llmagentos.learning.build import build_causal
    from llmagentos.learning.pretrain import save_model

    fresh = runs / "fresh"
    if restart or not (fresh / "model.safetensors").exists():
        pad, eos = tokenizer.pad_token_id or 0, tokenizer.eos_token_id
        net = build_causal(r.model, len(tokenizer), tc, pad_id=pad, eos_id=eos)
        save_model(net, tokenizer, fresh, "causal-lm", objective="initialisation")
    spans = copy_spans(drill_pieces(tokenizer), r.copy_drills, r.seed)
    rep.note(f"copy warm-up: {len(spans)} made-up spans to say back")
    return finetune_chat(
        copy_conversations(spans),
        runs / "warm",
        base=fresh,
        train_config=tc,
        run_dir=runs / "warmup",
        reporter=rep,
        restart=restart,
    )


def train_builtin(
    name: str = "tiny",
    *,
    recipe: BuiltinRecipe | None = None,
    root: str | Path | None = None,
    output: Path | None = None,
    reporter: Reporter | None = None,
    restart: bool = False,
    evaluate: bool = True,
) -> BuiltinResult:
    """Train the built-in model from nothing; save it as model `name` (or to `output`)."""
    from llmagentos.learning.evaluate import hf_generator, run_eval

    r = recipe or BuiltinRecipe.copying()
    rep = reporter or SilentReporter()
    runs = store.run_dir(name, "pretrain", root).parent
    out = output or store.models_dir(root) / store.check_name(name)
    rep.note(f"generating {r.examples} training conversations (seed {r.seed})")
    examples = corpus.generate(r.examples, r.seed, "train")
    texts = [m["content"] for e in examples for m in e.messages]
    tokenizer = train_bpe(texts, r.vocab_size, split_capitals=r.split_capitals)
    warm, seconds = None, 0.0
    if r.copy_warmup is not None and r.copy_drills:
        warmed = _copy_warmup(r, r.copy_warmup, tokenizer, runs, rep, restart)
        warm, seconds = warmed.path, warmed.result.seconds
    pretrained = pretrain_causal(
        _render(tokenizer, examples),
        runs / "base",
        model=r.model,
        train_config=r.pretrain,
        tokenizer=tokenizer,
        run_dir=runs / "pretrain",
        reporter=rep,
        restart=restart,
        init=warm,
    )
    recipe_json = json.loads(json.dumps(dataclasses.asdict(r), default=str))
    manifest = {"recipe": recipe_json, "builtin": name, "corpus_seed": r.seed}
    stages = [
        (r.refine, r.refine_examples, "v2", "refine"),
        (r.refine2, r.refine2_examples, "v3", "refine2"),
        (r.polish, r.polish_examples, "v4", "polish"),
    ]
    stages = [s for s in stages if s[0] is not None]
    tuned = finetune_chat(
        [e.messages for e in examples],
        runs / "tuned" if stages else out,
        base=pretrained.path,
        train_config=r.sft,
        run_dir=runs / "sft",
        reporter=rep,
        restart=restart,
        manifest=manifest,
    )
    seconds += pretrained.result.seconds + tuned.result.seconds
    for i, (tc, count, mixture, stage) in enumerate(stages):
        assert tc is not None
        rep.note(f"generating {count} conversations of the {mixture} mixture ({stage})")
        drawn = corpus.generate(count, r.seed, "train", mixture=mixture)
        tuned = finetune_chat(
            [e.messages for e in drawn],
            out if i == len(stages) - 1 else runs / f"{stage}-out",
            base=tuned.path,
            train_config=tc,
            run_dir=runs / stage,
            reporter=rep,
            restart=restart,
            manifest=manifest,
        )
        seconds += tuned.result.seconds
    evaluation: dict[str, Any] = {}
    if evaluate:
        rep.note(f"evaluating on {r.eval_per_task} held-out examples per task")
        generate = hf_generator(str(out), threads=r.sft.threads)
        evaluation, _ = run_eval(generate, corpus.eval_set(r.seed, r.eval_per_task))
        saved = store.read_manifest(out)
        saved["evaluation"] = evaluation
        (out / store.MANIFEST).write_text(json.dumps(saved, indent=2, default=str) + "\n")
    return BuiltinResult(out, pretrained, tuned, evaluation, seconds)
