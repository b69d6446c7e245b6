"""The training stack: tokenizers, pretraining, fine-tuning, and the built-in model.

```python
from llmagentos.learning import CausalConfig, TrainConfig, pretrain_causal, finetune_chat

base = pretrain_causal(texts, Path("models/base"), model=CausalConfig(hidden_size=256),
                       train_config=TrainConfig(steps=1000))
chat = finetune_chat(conversations, Path("models/chat"), base=base.path)
```

- tokenizers trained locally (`train_bpe`, `train_wordpiece`);
- pretraining from scratch: causal LM (`pretrain_causal`, Llama architecture) and masked LM
  with optional next-sentence prediction (`pretrain_masked`, BERT);
- fine-tuning: a classification head (`finetune_classifier`, accuracy / F1 on a held-out
  split) and instruction tuning on chat data, loss on assistant tokens (`finetune_chat`);
- `train_builtin`: the recipe of `builtin:tiny` on the generated corpus (`corpus`).

Every run checkpoints and resumes, is deterministic given its seed, and refuses configs
that would not fit in memory (`ConfigTooLarge`). torch and transformers (the `local` extra)
are imported only when a function here runs.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BuiltinRecipe": "builtin",
    "train_builtin": "builtin",
    "CausalConfig": "config",
    "EncoderConfig": "config",
    "TrainConfig": "config",
    "estimate_memory": "config",
    "finetune_classifier": "classifier",
    "finetune_chat": "sft",
    "pretrain_causal": "pretrain",
    "pretrain_masked": "masked",
    "train_bpe": "tokenizer",
    "train_wordpiece": "tokenizer",
    "TrainResult": "loop",
    "Trained": "pretrain",
    "CheckpointError": "errors",
    "ConfigTooLarge": "errors",
    "CorpusTooSmall": "errors",
    "LabelMismatch": "errors",
    "TrainingDiverged": "errors",
    "models_dir": "store",
    "list_models": "store",
    "resolve": "store",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'llmagentos.learning' has no attribute {name!r}")
    return getattr(importlib.import_module(f"llmagentos.learning.{module}"), name)
