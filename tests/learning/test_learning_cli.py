"""`llmagentos model ...`: train, fine-tune, eval, list, corpus — through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from llmagentos.cli.main import main
from llmagentos.models import shipped_dir

pytest.importorskip("transformers")

SMALL = ["--steps", "4", "--batch-size", "4", "--seq-len", "32", "--seed", "1"]


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, ["model", *args], catch_exceptions=False)


def test_corpus_list_and_causal_training(tmp_path: Path, texts: list[str]) -> None:
    out = tmp_path / "corpus"
    result = cli("corpus", str(out), "--examples", "30")
    assert result.exit_code == 0, result.output
    assert len((out / "train.jsonl").read_text().splitlines()) == 30
    assert (out / "intent.eval.jsonl").exists() and (out / "eval.jsonl").exists()

    (tmp_path / "docs.txt").write_text("\n\n".join(texts))
    shape = ["--hidden-size", "32", "--layers", "2", "--heads", "2", "--vocab-size", "300"]
    result = cli(
        "train", "causal", "--corpus", str(tmp_path / "docs.txt"), "--name", "lm", *shape, *SMALL
    )
    assert result.exit_code == 0, result.output
    assert "perplexity" in result.output
    listed = json.loads(cli("list", "--json").output)
    assert [(m["name"], m["kind"], m["source"]) for m in listed if m["source"] == "user"] == [
        ("lm", "causal-lm", "user")
    ]


def test_bad_input_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("\n\n")
    result = cli("train", "masked", "--corpus", str(tmp_path / "empty.txt"), "--name", "b")
    assert result.exit_code == 1
    assert "holds no text" in result.output and "Traceback" not in result.output
    result = cli("eval", "ghost")
    assert result.exit_code == 1 and "no model named 'ghost'" in result.output


def test_classifier_finetune_then_eval(tmp_path: Path) -> None:
    from llmagentos.learning import corpus

    for split, n in (("train", 120), ("eval", 30)):
        rows = corpus.labelled_texts(0, n, split, "sentiment")
        (tmp_path / f"{split}.jsonl").write_text(
            "".join(json.dumps({"text": t, "label": lab}) + "\n" for t, lab in rows)
        )
    result = cli(
        "finetune",
        "classify",
        "--data",
        str(tmp_path / "train.jsonl"),
        "--name",
        "senti",
        "--eval-data",
        str(tmp_path / "eval.jsonl"),
        "--steps",
        "6",
        "--lr",
        "1e-3",
    )
    assert result.exit_code == 0, result.output
    assert "macro F1" in result.output
    result = cli(
        "eval",
        "senti",
        "--data",
        str(tmp_path / "eval.jsonl"),
        "--json",
        str(tmp_path / "fig.json"),
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "fig.json").read_text())["support"] == 30


def test_a_head_on_a_sentence_encoder_through_the_cli(tmp_path: Path) -> None:
    from llmagentos.learning import corpus

    for split, n in (("train", 120), ("eval", 30)):
        rows = corpus.news_headlines(0, n, split)
        (tmp_path / f"{split}.jsonl").write_text(
            "".join(json.dumps({"text": t, "label": lab}) + "\n" for t, lab in rows)
        )
    data = ["--data", str(tmp_path / "train.jsonl")]
    result = cli(
        "finetune", "classify", *data, "--name", "news", "--encoder", "hash", "--steps", "60"
    )
    assert result.exit_code == 0, result.output
    assert "macro F1" in result.output and "1539 parameters" in result.output  # 3 x 512 + 3
    result = cli(
        "eval", "news", "--data", str(tmp_path / "eval.jsonl"), "--json", str(tmp_path / "f")
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "f").read_text())["support"] == 30
    listed = {m["name"]: m for m in json.loads(cli("list", "--json").output)}
    assert listed["news"]["kind"] == "embedding-classifier"
    assert listed["news-sentiment"]["source"] == "shipped"
    # a head is not fine-tuned: network options are refused, as is --base with --encoder
    result = cli(
        "finetune", "classify", *data, "--name", "x", "--encoder", "hash", "--seq-len", "8"
    )
    assert result.exit_code == 2 and "takes no seq_len" in result.output
    result = cli(
        "finetune", "classify", *data, "--name", "x", "--encoder", "hash", "--base", "tiny"
    )
    assert result.exit_code == 2 and "not both" in result.output
    result = cli("eval", "news")
    assert result.exit_code == 1 and "--data" in result.output


def test_train_news_sentiment_writes_a_head_by_that_name(tmp_path: Path) -> None:
    result = cli("train", "news-sentiment", "--encoder", "hash:64", "--name", "ns")
    assert result.exit_code == 0, result.output
    assert "saved" in result.output and "195 parameters" in result.output  # 3 x 64 + 3
    assert "accuracy" in result.output


def test_chat_finetune_then_eval(tmp_path: Path, chat_base: Path) -> None:
    from llmagentos.learning import corpus

    corpus.write_jsonl(corpus.generate(24, seed=4), tmp_path / "chat.jsonl")
    result = cli(
        "finetune",
        "chat",
        "--data",
        str(tmp_path / "chat.jsonl"),
        "--base",
        str(chat_base),
        "--name",
        "chatty",
        "--steps",
        "2",
        "--batch-size",
        "4",
    )
    assert result.exit_code == 0, result.output
    result = cli("eval", "chatty", "--per-task", "1", "--json", str(tmp_path / "e.json"))
    assert result.exit_code == 0, result.output
    figures = json.loads((tmp_path / "e.json").read_text())
    assert 0.0 <= figures["tool_call_valid_rate"] <= 1.0 and "per_task" in figures


def test_the_builtin_recipe_end_to_end_on_a_toy_scale(tmp_path: Path) -> None:
    from llmagentos.learning.builtin import BuiltinRecipe, train_builtin
    from llmagentos.learning.config import CausalConfig, TrainConfig

    tc = TrainConfig(steps=2, batch_size=2, seq_len=512, warmup_steps=1, eval_every=2)
    recipe = BuiltinRecipe(
        examples=200,
        vocab_size=800,
        pretrain=tc,
        sft=tc,
        refine=tc,
        refine_examples=200,
        refine2=tc,
        refine2_examples=200,
        polish=tc,
        polish_examples=200,
        eval_per_task=1,
        model=CausalConfig(hidden_size=32, layers=1, heads=2),
        split_capitals=True,
        copy_drills=50,
        copy_warmup=tc,
    )
    done = train_builtin("toy", recipe=recipe)
    assert done.path.name == "toy" and (done.path / "chat_template.jinja").exists()
    assert set(done.evaluation) >= {"tool_call_valid_rate", "classifier_accuracy", "per_task"}
    assert json.loads((done.path / "llmagentos.json").read_text())["recipe"]["examples"] == 200
    runs = done.path.parent / ".runs" / "toy"
    assert (runs / "refine" / "log.jsonl").exists() and (runs / "refine2" / "log.jsonl").exists()
    assert (runs / "refine-out" / "model.safetensors").exists()
    assert (runs / "refine2-out" / "model.safetensors").exists()  # the polish stage's base
    assert json.loads((done.path / "llmagentos.json").read_text())["base"] == str(
        runs / "refine2-out"
    )
    stages = ("warmup", "pretrain", "sft", "refine", "refine2", "polish")
    logged = [json.loads((runs / st / "log.jsonl").read_text().splitlines()[-1]) for st in stages]
    assert done.seconds >= sum(line["elapsed_s"] for line in logged) * 0.5 > 0  # all stages
    assert (runs / "warmup" / "log.jsonl").exists() and (runs / "warm" / "config.json").exists()
    base = json.loads((runs / "base" / "llmagentos.json").read_text())
    assert base["init"] == str(runs / "warm")  # pretraining went on from the warm-up
    assert done.tuned.path == done.path and done.path.parent.name != ".runs"
    # the tokenizer spells a name alike after a space and after a quote (split_capitals)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(done.path))
    assert tok.tokenize('"Kalomir')[1:] == tok.tokenize(" Kalomir")[1:]


def test_the_copying_recipe_adds_drills_and_scales_them() -> None:
    from llmagentos.learning.builtin import BuiltinRecipe

    plain, shipped = BuiltinRecipe(), BuiltinRecipe.copying()
    assert (plain.copy_drills, plain.split_capitals) == (0, False)  # the first model's
    assert shipped.copy_drills > 0 and shipped.split_capitals and shipped.copy_warmup
    assert shipped.pretrain.steps > plain.pretrain.steps
    assert shipped.scaled(0.01).copy_drills == int(shipped.copy_drills * 0.01)
    assert plain.polish is None and shipped.polish is not None  # the wide-phrasing stage
    assert shipped.scaled(0.1).polish_examples == int(shipped.polish_examples * 0.1)
    tiny = shipped_dir("tiny")
    assert tiny is not None
    manifest = json.loads((tiny / "llmagentos.json").read_text())
    assert manifest["recipe"]["split_capitals"] and manifest["recipe"]["polish"]  # it is tiny's


def test_train_builtin_runs_the_copying_recipe_by_default(tmp_path: Path) -> None:
    result = cli(
        "train", "builtin", "--scale", "0.0002", "--no-eval",
        "--name", "cand", "--models-dir", str(tmp_path), "--threads", "1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    runs = tmp_path / ".runs" / "cand"
    assert (runs / "warmup" / "log.jsonl").exists()  # the default (copying) recipe's first
    assert (runs / "polish" / "log.jsonl").exists()  # ...and its last
    assert (runs / "refine-out" / "model.safetensors").exists()
    assert json.loads((tmp_path / "cand" / "llmagentos.json").read_text())["recipe"][
        "split_capitals"
    ]
    bad = CliRunner().invoke(main, ["model", "train", "builtin", "--recipe", "nope"])
    assert bad.exit_code != 0 and "nope" in bad.output
