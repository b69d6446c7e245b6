"""Optional Stable-Baselines3 algorithms (DQN, PPO) for the same Gymnasium environments.

Stable-Baselines3 is the `sb3` extra, not a dependency: it needs torch, so install it
with the project's constraints (`pip install -c constraints.txt 'llmagentos[sb3]'`) to
keep the torch build the rest of llmagentos uses. Without it, `make_sb3` raises
`MissingExtra` saying so.

```python
from llmagentos.envs import MazeEnv
from llmagentos.learning.rl.sb3 import make_sb3

model = make_sb3("PPO", MazeEnv(size=7, maze_seed=1, observation="array"))
model.learn(20_000)
```
"""

from __future__ import annotations

import importlib
from typing import Any

from llmagentos.envs.errors import MissingExtra
from llmagentos.errors import InvalidArgument

ALGORITHMS = ("DQN", "PPO", "A2C")


def make_sb3(algorithm: str, env: Any, *, policy: str = "MlpPolicy", **options: Any) -> Any:
    """A Stable-Baselines3 model for `env` (`algorithm`: DQN, PPO or A2C)."""
    name = algorithm.upper()
    if name not in ALGORITHMS:
        raise InvalidArgument(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    try:
        sb3 = importlib.import_module("stable_baselines3")
    except ImportError:
        raise MissingExtra(
            "Stable-Baselines3 is not installed; install the extra with"
            " `pip install -c constraints.txt 'llmagentos[sb3]'` to use DQN, PPO or A2C",
            module="stable_baselines3",
        ) from None
    return getattr(sb3, name)(policy, env, **options)
