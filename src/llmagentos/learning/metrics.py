"""Classification metrics: accuracy, per-label precision / recall / F1, macro F1."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def classification_report(
    gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str] | None = None
) -> dict[str, Any]:
    """`{"accuracy", "macro_f1", "support", "labels": {label: {precision, recall, f1, support}}}`.

    Macro F1 averages over `labels` (default: every label seen in `gold`), so a class the
    model never predicts pulls the figure down instead of disappearing from it.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    names = list(labels) if labels is not None else sorted(set(gold))
    per: dict[str, dict[str, float]] = {}
    for name in names:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p == name)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if p == name != g)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == name != p)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per[name] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": tp + fn,
        }
    correct = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p)
    return {
        "accuracy": round(correct / len(gold), 4) if gold else 0.0,
        "macro_f1": round(sum(v["f1"] for v in per.values()) / len(per), 4) if per else 0.0,
        "support": len(gold),
        "labels": per,
    }
