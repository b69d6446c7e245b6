"""Fine-tuning: classification heads with held-out metrics, and chat instruction tuning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmagentos.errors import InvalidArgument
from llmagentos.learning import corpus
from llmagentos.learning.config import EncoderConfig, TrainConfig
from llmagentos.learning.errors import CorpusTooSmall, LabelMismatch
from llmagentos.learning.store import read_manifest

pytest.importorskip("transformers")

from llmagentos.learning.classifier import finetune_classifier, stratified_split
from llmagentos.learning.masked import pretrain_masked
from llmagentos.learning.sft import encode_chat, finetune_chat

CLS = TrainConfig(steps=60, batch_size=16, seq_len=48, lr=1e-3, warmup_steps=4, eval_every=60)


@pytest.fixture(scope="module")
def sentiment() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    return (
        corpus.labelled_texts(0, 240, "train", "sentiment"),
        corpus.labelled_texts(0, 60, "eval", "sentiment"),
    )


def test_classifier_from_scratch_learns_and_reports_accuracy_and_f1(
    tmp_path: Path, sentiment: tuple[list[tuple[str, str]], list[tuple[str, str]]]
) -> None:
    train, held = sentiment
    done = finetune_classifier(train, tmp_path / "cls", eval_examples=held, train_config=CLS)
    m = done.metrics
    assert m["support"] == len(held)
    assert set(m["labels"]) == {"negative", "neutral", "positive"}
    assert m["accuracy"] > 0.5  # chance is a third; the keywords are easy
    assert 0 < m["macro_f1"] <= 1
    manifest = read_manifest(tmp_path / "cls")
    assert manifest["kind"] == "classifier"
    assert manifest["labels"] == ["negative", "neutral", "positive"]


def test_classifier_on_a_pretrained_encoder(
    tmp_path: Path, texts: list[str], tiny_encoder: EncoderConfig, quick: TrainConfig
) -> None:
    base = pretrain_masked(
        texts, tmp_path / "bert", model=tiny_encoder, train_config=quick, vocab_size=200
    ).path
    rows = corpus.labelled_texts(1, 80, "train", "intent")
    done = finetune_classifier(
        rows, tmp_path / "intent", base=base, train_config=CLS.replace(steps=6)
    )
    assert done.metrics["support"] == len(stratified_split(rows, 0.2, 0)[1])
    assert json.loads((tmp_path / "intent" / "config.json").read_text())["architectures"] == [
        "BertForSequenceClassification"
    ]


def test_stratified_split_keeps_every_label_in_training() -> None:
    rows = [("a", "x")] * 10 + [("b", "y")] * 5 + [("c", "z")]
    train, held = stratified_split(rows, 0.2, seed=0)
    assert {lab for _, lab in train} == {"x", "y", "z"}
    assert sorted(lab for _, lab in held) == ["x", "x", "y"]


@pytest.mark.parametrize(
    ("labels", "eval_rows", "match"),
    [
        (["positive", "negative"], None, "not in the label set"),
        (["positive", "negative", "neutral", "angry"], None, "no training examples"),
        (None, [("meh", "bored")], "not in the label set"),
        (["positive"], None, "at least two labels"),
    ],
)
def test_mismatched_label_sets_are_refused(
    tmp_path: Path,
    sentiment: tuple[list[tuple[str, str]], list[tuple[str, str]]],
    labels: list[str] | None,
    eval_rows: list[tuple[str, str]] | None,
    match: str,
) -> None:
    with pytest.raises(LabelMismatch, match=match):
        finetune_classifier(
            sentiment[0], tmp_path / "x", labels=labels, eval_examples=eval_rows, train_config=CLS
        )


def test_a_classifier_base_with_other_labels_is_refused(
    tmp_path: Path, sentiment: tuple[list[tuple[str, str]], list[tuple[str, str]]]
) -> None:
    first = finetune_classifier(sentiment[0], tmp_path / "a", train_config=CLS.replace(steps=2))
    intents = corpus.labelled_texts(0, 50, "train", "intent")
    with pytest.raises(LabelMismatch, match="base classifier"):
        finetune_classifier(intents, tmp_path / "b", base=first.path, train_config=CLS)


def test_too_few_examples_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CorpusTooSmall):
        finetune_classifier([("good", "pos"), ("bad", "neg")], tmp_path / "x")


def test_chat_labels_cover_assistant_turns_only(chat_base: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(chat_base))
    example = next(e for e in corpus.generate(50, seed=9) if e.task == "order")
    (record,), dropped = encode_chat(tok, [example.messages], max_len=1024)
    assert dropped == 0
    learned = [t for t in record["labels"] if t != -100]
    assistant = [m["content"] for m in example.messages if m["role"] == "assistant"]
    assert tok.decode(learned) == "<|end|>".join(assistant) + "<|end|>"
    _, dropped = encode_chat(tok, [example.messages], max_len=20)
    assert dropped == 1


def test_chat_finetuning_saves_a_chat_model(tmp_path: Path, chat_base: Path) -> None:
    convs = [e.messages for e in corpus.generate(40, seed=2)]
    tc = TrainConfig(steps=4, batch_size=4, seq_len=512, warmup_steps=1, eval_every=4)
    done = finetune_chat(convs, tmp_path / "chat", base=chat_base, train_config=tc)
    assert done.metrics["eval_loss"] is not None
    manifest = read_manifest(tmp_path / "chat")
    assert manifest["kind"] == "causal-lm" and manifest["objective"] == "sft-assistant-only"
    generation = json.loads((tmp_path / "chat" / "generation_config.json").read_text())
    assert 1 in generation["eos_token_id"]  # <|end|> stops generation


@pytest.mark.parametrize(
    ("conversation", "match"),
    [
        ([{"role": "user", "content": "hi"}], "no assistant turn"),
        ([{"role": "robot", "content": "hi"}], "role"),
        ([], "empty"),
    ],
)
def test_bad_conversations_are_refused(
    tmp_path: Path, chat_base: Path, conversation: list[dict[str, str]], match: str
) -> None:
    with pytest.raises(InvalidArgument, match=match):
        finetune_chat([conversation] * 3, tmp_path / "x", base=chat_base)


def test_chat_finetuning_needs_a_causal_base(tmp_path: Path, texts: list[str]) -> None:
    base = pretrain_masked(
        texts,
        tmp_path / "bert",
        model=EncoderConfig(hidden_size=32, layers=1, heads=2),
        train_config=TrainConfig(steps=1, batch_size=4, seq_len=32),
        vocab_size=200,
    ).path
    with pytest.raises(InvalidArgument, match="not a causal"):
        finetune_chat([[{"role": "assistant", "content": "x"}]] * 3, tmp_path / "c", base=base)
