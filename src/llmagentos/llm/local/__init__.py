"""The local core: Hugging Face causal LMs served in-process by a continuous-batching engine.

Needs the `local` extra (torch, transformers); `llmagentos` itself never imports this
package, the `hf:` spec factory does, when a spec asks for it: `hf:/path/to/model`,
options after `?` (`hf:/m?device=cuda&max_batch=64&policy=las`) go to `LocalBackend`.

```
backend.py    LocalBackend: LLMBackend over the engine, chat templates, tool calls, scoring
runner.py     the engine thread and its bridge to asyncio
engine.py     EngineCore: admission, preemption, one forward pass per step, sampling
batcher.py    the pure step: who holds a batch row, how many tokens each
policy.py     the ranking: the kernel's policies, and least attained service per agent
packing.py    a step's tokens packed into one row, logits kept only where needed
kvmanager.py  where KV lives (rows, store, nowhere), TTL, budget, prefix reuse
kvcache.py    the KV tensors: batch rows and compact stored copies
prefix.py     chained block hashes -> holders of that prefix
attention.py  packed prefill + batched decode, plugged into transformers' attention
sampling.py   greedy / temperature / top-p with per-sequence generators; detok.py: text
chat.py       chat templates; loader.py: loading from disk; tiny.py: test models
```
"""

from llmagentos.llm.local.backend import LocalBackend
from llmagentos.llm.local.config import EngineConfig, EngineStats
from llmagentos.llm.local.engine import EngineCore
from llmagentos.llm.local.loader import LoadedModel, load_model
from llmagentos.llm.local.params import (
    Caller,
    Generation,
    SamplingParams,
    Score,
    Snapshot,
    TokenEvent,
)
from llmagentos.llm.local.runner import EngineRunner, Handle, run_sync

__all__ = [
    "Caller",
    "EngineConfig",
    "EngineCore",
    "EngineRunner",
    "EngineStats",
    "Generation",
    "Handle",
    "LoadedModel",
    "LocalBackend",
    "SamplingParams",
    "Score",
    "Snapshot",
    "TokenEvent",
    "load_model",
    "run_sync",
]
