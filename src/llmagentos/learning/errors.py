"""Errors of the training stack, each a subclass of a `llmagentos.errors` type.

```
UserError
├── InvalidArgument
│   ├── CorpusTooSmall        empty or too little text/examples for the run asked for
│   ├── LabelMismatch         label sets of data, split or base model disagree
│   └── TrainingDiverged      the loss became NaN/inf (learning rate too high)
├── RequestTooLarge
│   └── ConfigTooLarge        the model/batch would not fit in memory; refused up front
└── InvalidState
    └── CheckpointError       a checkpoint is corrupt, partial, or from another config
```
"""

from __future__ import annotations

from llmagentos.errors import InvalidArgument, InvalidState, RequestTooLarge


class CorpusTooSmall(InvalidArgument):
    code = "corpus_too_small"


class LabelMismatch(InvalidArgument):
    code = "label_mismatch"


class TrainingDiverged(InvalidArgument):
    code = "training_diverged"


class ConfigTooLarge(RequestTooLarge):
    code = "config_too_large"


class CheckpointError(InvalidState):
    code = "checkpoint_error"


__all__ = [
    "CheckpointError",
    "ConfigTooLarge",
    "CorpusTooSmall",
    "LabelMismatch",
    "TrainingDiverged",
]
