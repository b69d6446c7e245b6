"""`llmagentos model`: train, fine-tune, evaluate and list models, with progress displays.

Models are written to the models directory (`--models-dir`, `$LLMAGENTOS_MODELS`, default
`~/.cache/llmagentos/models`), where `builtin:<name>` specs find them. Training stages
checkpoint as they go: Ctrl-C (or SIGTERM) saves, and the same command resumes.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from llmagentos.errors import LLMAgentOSError

console = Console()
err_console = Console(stderr=True)
DIR_HELP = "Models directory (default: $LLMAGENTOS_MODELS or ~/.cache/llmagentos/models)."


@contextmanager
def _training(what: str) -> Iterator[None]:
    """Typed errors become clean messages; Ctrl-C / SIGTERM leave a resumable checkpoint."""

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    except LLMAgentOSError as exc:
        raise click.ClickException(exc.message) from None
    except KeyboardInterrupt:
        click.echo(f"{what} stopped; run the same command again to resume", err=True)
        sys.exit(130)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _reporter() -> Any:
    from llmagentos.learning.progress import RichReporter

    return RichReporter(err_console)


def _train_config(defaults: dict[str, Any], **given: Any) -> Any:
    from llmagentos.learning.config import TrainConfig

    values = {**defaults, **{k: v for k, v in given.items() if v is not None}}
    return TrainConfig(**values)


def train_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options every training command shares (None: the command's own default)."""
    options = [
        click.option("--steps", type=int, help="Optimizer steps."),
        click.option("--batch-size", type=int, help="Examples per step."),
        click.option("--seq-len", type=int, help="Tokens per example (longer ones dropped)."),
        click.option("--lr", type=float, help="Peak learning rate."),
        click.option("--seed", type=int, help="Seed (data order, init, masking)."),
        click.option("--threads", type=int, help="CPU threads for torch."),
        click.option("--max-memory-gb", type=float, help="Refuse configs needing more."),
        click.option("--restart", is_flag=True, help="Ignore checkpoints; start over."),
        click.option("--models-dir", type=click.Path(file_okay=False), help=DIR_HELP),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _pop_train(kwargs: dict[str, Any]) -> dict[str, Any]:
    keys = ("steps", "batch_size", "seq_len", "lr", "seed", "threads", "max_memory_gb")
    return {k: kwargs.pop(k) for k in keys}


@click.group()
def model() -> None:
    """Train, fine-tune, evaluate and list models (the `local` extra provides torch)."""


# -- train --------------------------------------------------------------------------------


@model.group()
def train() -> None:
    """Train a model from scratch: `builtin` (the built-in model), `news-sentiment` (the
    sentiment monitor's classifier), `causal` or `masked`."""


@train.command("builtin")
@click.option("--name", default="tiny", show_default=True, help="Model name to save as.")
@click.option("--output", type=click.Path(file_okay=False), help="Save here instead.")
@click.option("--scale", type=float, default=1.0, help="Scale steps and corpus (quick trials).")
@click.option(
    "--recipe",
    "recipe_name",
    type=click.Choice(["copying", "plain"]),
    default="copying",
    show_default=True,
    help="copying: the model in the package (a copy warm-up first, about 2 h 50 min on 2"
    " cores); plain: the earlier recipe (68 min; copies poorly).",
)
@click.option("--threads", type=int, help="CPU threads for torch.")
@click.option("--no-eval", is_flag=True, help="Skip the held-out evaluation at the end.")
@click.option("--restart", is_flag=True, help="Ignore checkpoints; start over.")
@click.option("--models-dir", type=click.Path(file_okay=False), help=DIR_HELP)
def train_builtin_cmd(
    name: str,
    output: str | None,
    scale: float,
    recipe_name: str,
    threads: int | None,
    no_eval: bool,
    restart: bool,
    models_dir: str | None,
) -> None:
    """Reproduce `builtin:tiny` from scratch: corpus, tokenizer, pretraining, tuning, eval."""
    from llmagentos.learning.builtin import BuiltinRecipe, train_builtin

    recipe = BuiltinRecipe.copying() if recipe_name == "copying" else BuiltinRecipe()
    recipe = recipe.with_threads(threads)
    if scale != 1.0:
        recipe = recipe.scaled(scale)
    with _training("training"):
        result = train_builtin(
            name,
            recipe=recipe,
            root=models_dir,
            reporter=_reporter(),
            output=Path(output) if output else None,
            restart=restart,
            evaluate=not no_eval,
        )
    console.print(
        f"saved [bold]{result.path}[/] ({result.tuned.parameters / 1e6:.1f}M "
        f"parameters, {result.seconds / 60:.1f} min of training over all stages)"
    )
    if result.evaluation:
        _print_eval(result.evaluation)


@train.command("news-sentiment")
@click.option("--name", default="news-sentiment", show_default=True, help="Model name to save as.")
@click.option(
    "--encoder",
    default="minilm",
    show_default=True,
    help="Sentence encoder under the head: minilm (the `memory` extra) or hash[:dim].",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--models-dir", type=click.Path(file_okay=False), help=DIR_HELP)
def train_news_sentiment_cmd(name: str, encoder: str, seed: int, models_dir: str | None) -> None:
    """Reproduce the shipped `news-sentiment` classifier (a head on MiniLM; ~15 s)."""
    from llmagentos.learning import store
    from llmagentos.learning.embedding_classifier import train_news_sentiment

    with _training("training"):
        done = train_news_sentiment(
            store.models_dir(models_dir) / store.check_name(name),
            encoder=encoder,
            seed=seed,
            reporter=_reporter(),
        )
    _print_head(done)


def _causal_or_masked(kind: str, corpus: str, name: str, kwargs: dict[str, Any]) -> None:
    from llmagentos.learning import store
    from llmagentos.learning.config import CausalConfig, EncoderConfig
    from llmagentos.learning.data import load_texts

    train_cfg = _train_config(
        {"steps": 1000, "batch_size": 16, "seq_len": 256}, **_pop_train(kwargs)
    )
    root, restart = kwargs.pop("models_dir"), kwargs.pop("restart")
    vocab, nsp = kwargs.pop("vocab_size"), kwargs.pop("nsp")
    shape = {k: v for k, v in kwargs.items() if v is not None}
    out = store.models_dir(root) / store.check_name(name)
    run = store.run_dir(name, "pretrain", root)
    with _training("pretraining"):
        texts = load_texts(corpus)
        if kind == "causal":
            from llmagentos.learning.pretrain import pretrain_causal

            done = pretrain_causal(
                texts,
                out,
                model=CausalConfig(**shape),
                train_config=train_cfg,
                vocab_size=vocab,
                run_dir=run,
                reporter=_reporter(),
                restart=restart,
            )
        else:
            from llmagentos.learning.masked import pretrain_masked

            done = pretrain_masked(
                texts,
                out,
                model=EncoderConfig(**shape),
                nsp=nsp,
                train_config=train_cfg,
                vocab_size=vocab,
                run_dir=run,
                reporter=_reporter(),
                restart=restart,
            )
    ppl = done.metrics.get("perplexity")
    console.print(
        f"saved [bold]{done.path}[/] ({done.parameters / 1e6:.2f}M parameters); "
        f"eval loss {done.metrics.get('eval_loss') or float('nan'):.3f}, "
        f"perplexity {ppl or float('nan'):.2f}"
    )


def _shape_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--corpus",
            required=True,
            type=click.Path(exists=True),
            help='.txt (blank-line separated documents), .jsonl with "text", or a dir.',
        ),
        click.option("--name", required=True, help="Model name to save as."),
        click.option("--vocab-size", type=int, default=4096, show_default=True),
        click.option("--hidden-size", type=int),
        click.option("--layers", type=int),
        click.option("--heads", type=int),
    ]
    for option in reversed(options):
        fn = option(fn)
    return train_options(fn)


@train.command("causal")
@_shape_options
def train_causal_cmd(corpus: str, name: str, **kwargs: Any) -> None:
    """Pretrain a causal LM (Llama architecture, BPE tokenizer) on local text."""
    _causal_or_masked("causal", corpus, name, {**kwargs, "nsp": False})


@train.command("masked")
@_shape_options
@click.option("--nsp/--no-nsp", default=True, help="Add next-sentence prediction.")
def train_masked_cmd(corpus: str, name: str, **kwargs: Any) -> None:
    """Pretrain a BERT encoder (WordPiece tokenizer) with masked LM (+ next sentence)."""
    _causal_or_masked("masked", corpus, name, kwargs)


# -- finetune ------------------------------------------------------------------------------


@model.group()
def finetune() -> None:
    """Fine-tune: `classify` (a classification head) or `chat` (instruction tuning)."""


@finetune.command("classify")
@click.option(
    "--data",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help='JSON lines with "text" and "label".',
)
@click.option("--name", required=True, help="Model name to save as.")
@click.option("--base", help="Pretrained model name or path (default: a fresh small encoder).")
@click.option(
    "--encoder",
    help="Instead of fine-tuning a network, fit a head on this frozen sentence encoder's"
    " embeddings: minilm (the `memory` extra) or hash[:dim].",
)
@click.option("--labels", help="Comma-separated label set (default: the data's labels).")
@click.option(
    "--eval-data",
    type=click.Path(exists=True, dir_okay=False),
    help="Held-out JSON lines (default: a stratified 20% of --data).",
)
@train_options
def finetune_classify_cmd(
    data: str,
    name: str,
    base: str | None,
    encoder: str | None,
    labels: str | None,
    eval_data: str | None,
    **kwargs: Any,
) -> None:
    """Fine-tune a sequence classifier (intent, sentiment); reports accuracy and F1."""
    from llmagentos.learning import store
    from llmagentos.learning.classifier import finetune_classifier
    from llmagentos.learning.data import read_labelled

    if encoder is not None:
        if base is not None:
            raise click.UsageError("give --base (fine-tune a network) or --encoder, not both")
        _fit_head(data, name, encoder, labels, eval_data, kwargs)
        return

    tc = _train_config(
        {"steps": 300, "batch_size": 16, "seq_len": 128, "lr": 5e-4, "eval_every": 100},
        **_pop_train(kwargs),
    )
    root = kwargs["models_dir"]
    with _training("fine-tuning"):
        done = finetune_classifier(
            read_labelled(data),
            store.models_dir(root) / store.check_name(name),
            base=store.resolve(base, root) if base else None,
            labels=[x.strip() for x in labels.split(",")] if labels else None,
            eval_examples=read_labelled(eval_data) if eval_data else None,
            train_config=tc,
            run_dir=store.run_dir(name, "classify", root),
            reporter=_reporter(),
            restart=kwargs["restart"],
        )
    console.print(f"saved [bold]{done.path}[/]")
    _print_classification(done.metrics)


def _fit_head(
    data: str,
    name: str,
    encoder: str,
    labels: str | None,
    eval_data: str | None,
    kwargs: dict[str, Any],
) -> None:
    from llmagentos.learning import store
    from llmagentos.learning.data import read_labelled
    from llmagentos.learning.embedding_classifier import train_embedding_classifier

    given = {k: v for k, v in _pop_train(kwargs).items() if v is not None}
    unused = sorted(set(given) - {"steps", "lr", "seed"})
    if unused:
        raise click.UsageError(f"--encoder fits a head; it takes no {', '.join(unused)}")
    with _training("fitting"):
        done = train_embedding_classifier(
            read_labelled(data),
            store.models_dir(kwargs["models_dir"]) / store.check_name(name),
            encoder=encoder,
            labels=[x.strip() for x in labels.split(",")] if labels else None,
            eval_examples=read_labelled(eval_data) if eval_data else None,
            reporter=_reporter(),
            **given,
        )
    _print_head(done)


def _print_head(done: Any) -> None:
    console.print(f"saved [bold]{done.path}[/] ({done.parameters} parameters, {done.seconds} s)")
    _print_classification(done.metrics)


@finetune.command("chat")
@click.option(
    "--data",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help='JSON lines with "messages" (chat format; assistant turns are learned).',
)
@click.option("--base", required=True, help="Causal model name or path to start from.")
@click.option("--name", required=True, help="Model name to save as.")
@train_options
def finetune_chat_cmd(data: str, base: str, name: str, **kwargs: Any) -> None:
    """Instruction-tune a causal model on chat examples (loss on assistant tokens only)."""
    from llmagentos.learning import store
    from llmagentos.learning.data import read_jsonl
    from llmagentos.learning.sft import finetune_chat

    tc = _train_config(
        {"steps": 500, "batch_size": 16, "seq_len": 512, "lr": 1e-3}, **_pop_train(kwargs)
    )
    root = kwargs["models_dir"]
    with _training("fine-tuning"):
        rows = read_jsonl(data)
        done = finetune_chat(
            [r.get("messages") or [] for r in rows],
            store.models_dir(root) / store.check_name(name),
            base=store.resolve(base, root),
            train_config=tc,
            run_dir=store.run_dir(name, "chat", root),
            reporter=_reporter(),
            restart=kwargs["restart"],
        )
    console.print(
        f"saved [bold]{done.path}[/]; eval loss {done.metrics['eval_loss']:.3f}, "
        f"perplexity {done.metrics['perplexity']:.2f}"
    )


# -- eval, list, corpus --------------------------------------------------------------------


@model.command("eval")
@click.argument("name")
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False),
    help='Classifiers: JSON lines with "text" and "label".',
)
@click.option(
    "--per-task",
    type=int,
    default=40,
    show_default=True,
    help="Chat models: held-out examples per corpus task.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--threads", type=int)
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Write figures here.")
@click.option("--models-dir", type=click.Path(file_okay=False), help=DIR_HELP)
def eval_cmd(
    name: str,
    data: str | None,
    per_task: int,
    seed: int,
    threads: int | None,
    json_out: str | None,
    models_dir: str | None,
) -> None:
    """Evaluate model NAME: a chat model on the held-out corpus, a classifier on --data."""
    from llmagentos.learning import store

    with _training("evaluation"):
        path = store.resolve(name, models_dir)
        kind = store.read_manifest(path).get("kind", "causal-lm")
        if kind in ("classifier", "embedding-classifier"):
            if data is None:
                raise click.ClickException("a classifier is evaluated on --data (JSON lines)")
            from llmagentos.learning.data import read_labelled
            from llmagentos.learning.embedding_classifier import evaluate_embedding_classifier
            from llmagentos.learning.evaluate import evaluate_classifier

            rows = read_labelled(data)
            if kind == "classifier":
                figures = evaluate_classifier(str(path), rows, threads=threads)
            else:
                figures = evaluate_embedding_classifier(path, rows)
            _print_classification(figures)
        elif kind == "causal-lm":
            figures = _eval_chat(path, per_task, seed, threads)
            _print_eval(figures)
        else:
            raise click.ClickException(
                f"{name} is a {kind}; eval covers chat models and classifiers"
            )
    if json_out:
        Path(json_out).write_text(json.dumps(figures, indent=2) + "\n")
        console.print(f"wrote {json_out}")


def _eval_chat(path: Path, per_task: int, seed: int, threads: int | None) -> dict[str, Any]:
    from rich.progress import Progress

    from llmagentos.learning import corpus
    from llmagentos.learning.evaluate import hf_generator, run_eval

    generate = hf_generator(str(path), threads=threads)
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task("evaluating", total=None)
        figures, _ = run_eval(
            generate,
            corpus.eval_set(seed, per_task),
            on_batch=lambda done, total: progress.update(task, completed=done, total=total),
        )
    return figures


def _print_eval(figures: dict[str, Any]) -> None:
    from llmagentos.learning.tables import eval_table

    console.print(eval_table(figures))


def _print_classification(figures: dict[str, Any]) -> None:
    from llmagentos.learning.tables import classification_table

    console.print(classification_table(figures))


@model.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.option("--models-dir", type=click.Path(file_okay=False), help=DIR_HELP)
def list_cmd(as_json: bool, models_dir: str | None) -> None:
    """Models you trained (models directory) and those shipped with llmagentos."""
    from llmagentos.learning import store

    found = store.list_models(models_dir)
    if as_json:
        click.echo(json.dumps([m.to_json() for m in found], indent=2))
        return
    from llmagentos.learning.tables import models_table

    console.print(models_table(found, f"models ({store.models_dir(models_dir)})"))


@model.command("corpus")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--examples", type=int, default=24_000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def corpus_cmd(out: str, examples: int, seed: int) -> None:
    """Write the generated corpus to OUT: chat train/eval sets and labelled texts."""
    from llmagentos.learning import corpus

    n, m = corpus.export(Path(out), examples, seed)
    console.print(
        f"wrote {n} training and {m} held-out conversations, and labelled texts, to {out}"
    )
