"""Environments as kernel tools: an agent process owns environments and acts in them by syscall.

Why tools and not new syscall types: the tool call *is* the kernel's extension seam. A
`ToolInvoke` is already scheduled (per-tool resource and concurrency limit), checked
against the caller's capabilities and the policy (so `Capabilities(tools=("env_*",))`
grants environment use and a policy rule can make `env_step` ask a person), metered,
journaled, and answered from the journal when a crashed process is replayed. An
environment step therefore gets every kernel guarantee without one line of kernel code.

```python
kernel = Kernel(..., tools=env_tools())          # a fresh registry for this kernel
# in a process:
first = await ctx.tool("env_reset", env_id="m", config={"maze_seed": 7, "observation": "index"})
step = await ctx.tool("env_step", env_id="m", action="right")   # ToolResult, output a dict
```

Ownership: the process that first resets an id owns it (`ToolContext.pid`); another
process touching it gets `PermissionDenied`. Environments live in this registry's memory
and die with the kernel; after a restart `env_step` answers `UnknownEnvironment` and the
agent rebuilds the environment with `env_reset(..., actions=[...])`, which replays its
moves (what `llmagentos.envs.client.EnvClient` does by itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmagentos.access.capabilities import matches
from llmagentos.envs.errors import UnknownEnvironment, require
from llmagentos.envs.layout import action_index
from llmagentos.errors import InvalidArgument, InvalidState, PermissionDenied
from llmagentos.tools import Tool, ToolContext, tool

DEFAULT_ENV = "llmagentos/Maze-v0"
MAX_REPLAY_ACTIONS = 100_000


@dataclass
class _Live:
    """One live environment and who owns it."""

    env: Any
    owner: int
    name: str
    discrete_actions: bool
    last_key: str = ""  # the idempotency key of the last call, and what it returned
    last_result: Any = None
    steps: int = 0
    episode_over: bool = False
    config: dict[str, Any] = field(default_factory=dict)


class EnvRegistry:
    """The live environments of one kernel, keyed by id, each owned by one process.

    `allowed`: glob patterns of Gymnasium ids agents may create (default: this
    package's own); `max_envs` bounds how many may be alive at once.
    """

    def __init__(self, *, allowed: tuple[str, ...] = ("llmagentos/*",), max_envs: int = 256):
        self.allowed = allowed
        self.max_envs = max_envs
        self._envs: dict[str, _Live] = {}

    def __len__(self) -> int:
        return len(self._envs)

    def _get(self, ctx: ToolContext, env_id: str) -> _Live:
        live = self._envs.get(env_id)
        if live is None:
            raise UnknownEnvironment(
                f"no environment {env_id!r} (never reset, closed, or lost when the kernel"
                " restarted): call env_reset first",
                env_id=env_id,
            )
        if live.owner != ctx.pid:
            raise PermissionDenied(
                f"environment {env_id!r} belongs to process {live.owner}; process {ctx.pid}"
                " may not use it",
                env_id=env_id,
                owner=live.owner,
            )
        return live

    def _make(self, ctx: ToolContext, env_id: str, env: str, config: dict[str, Any]) -> _Live:
        if not env_id or len(env_id) > 128:
            raise InvalidArgument("env_id must be 1 to 128 characters")
        if not matches(self.allowed, env):
            raise PermissionDenied(
                f"environment {env!r} is not offered here; allowed: {list(self.allowed)}"
            )
        if len(self._envs) >= self.max_envs:
            raise InvalidState(
                f"{self.max_envs} environments are alive; close some with env_close first"
            )
        require("gymnasium", "envs")
        import gymnasium
        from gymnasium.envs.registration import load_env_creator

        config = dict(config)
        try:
            spec = gymnasium.spec(env)
        except gymnasium.error.Error as exc:
            raise UnknownEnvironment(f"no Gymnasium environment {env!r}: {exc}") from None
        creator = load_env_creator(spec.entry_point) if isinstance(spec.entry_point, str) else None
        modes = getattr(creator, "metadata", {}).get("render_modes", [])
        if "ansi" in modes:  # so env_render has text to show
            config.setdefault("render_mode", "ansi")
        try:
            made = gymnasium.make(env, **config)
        except TypeError as exc:  # an unknown keyword in config is the caller's mistake
            raise InvalidArgument(f"bad config for {env!r}: {exc}") from None
        discrete = isinstance(made.action_space, gymnasium.spaces.Discrete)
        return _Live(made, ctx.pid, env, discrete, config=config)

    # -- operations (each is one tool) ---------------------------------------------------

    def reset(
        self,
        ctx: ToolContext,
        env_id: str,
        env: str = DEFAULT_ENV,
        seed: int | None = None,
        config: dict[str, Any] | None = None,
        actions: list[int | str] | None = None,
    ) -> dict[str, Any]:
        live = self._envs.get(env_id)
        if live is not None and live.last_key == ctx.idempotency_key:
            return live.last_result  # type: ignore[no-any-return]
        if live is None or (config is not None and config != _without_render(live.config)):
            if live is not None:
                self._get(ctx, env_id)  # only the owner may reconfigure it
                self.close(ctx, env_id)
            live = self._make(ctx, env_id, env, config or {})
            self._envs[env_id] = live
        else:
            self._get(ctx, env_id)
        obs, info = live.env.reset(seed=seed)
        live.steps, live.episode_over = 0, False
        replay = list(actions or [])
        if len(replay) > MAX_REPLAY_ACTIONS:
            raise InvalidArgument(f"at most {MAX_REPLAY_ACTIONS} actions can be replayed")
        reward_sum = 0.0
        for a in replay:  # rebuild an episode in progress (after a kernel restart)
            obs, reward, terminated, truncated, info = live.env.step(self._action(live, a))
            live.steps += 1
            reward_sum += float(reward)
            live.episode_over = bool(terminated or truncated)
        result = {
            "env_id": env_id,
            "observation": jsonable(obs),
            "info": jsonable(info),
            "actions": _space_size(live.env.action_space),
            "replayed": len(replay),
            "replayed_reward": reward_sum,
        }
        live.last_key, live.last_result = ctx.idempotency_key, result
        return result

    def step(self, ctx: ToolContext, env_id: str, action: int | str) -> dict[str, Any]:
        live = self._get(ctx, env_id)
        if live.last_key == ctx.idempotency_key:
            return live.last_result  # type: ignore[no-any-return]
        if live.episode_over:
            raise InvalidState(f"the episode in {env_id!r} is over; call env_reset")
        obs, reward, terminated, truncated, info = live.env.step(self._action(live, action))
        live.steps += 1
        live.episode_over = bool(terminated or truncated)
        result = {
            "observation": jsonable(obs),
            "reward": float(reward),
            "terminated": bool(terminated),
            "truncated": bool(truncated),
            "info": jsonable(info),
        }
        live.last_key, live.last_result = ctx.idempotency_key, result
        return result

    def render(self, ctx: ToolContext, env_id: str) -> str:
        live = self._get(ctx, env_id)
        frame = live.env.render()
        if not isinstance(frame, str):
            raise InvalidState(f"environment {env_id!r} has no text rendering")
        return frame

    def close(self, ctx: ToolContext, env_id: str) -> bool:
        if env_id not in self._envs:
            return False
        live = self._get(ctx, env_id)
        del self._envs[env_id]
        live.env.close()
        return True

    @staticmethod
    def _action(live: _Live, action: int | str) -> Any:
        if live.name == DEFAULT_ENV:
            return action_index(
                int(action) if isinstance(action, str) and action.isdigit() else action
            )
        if live.discrete_actions and isinstance(action, int):
            return action
        raise InvalidArgument(f"environment {live.name!r} takes integer actions, got {action!r}")

    # -- as tools ------------------------------------------------------------------------

    def tools(self) -> list[Tool[..., Any]]:
        """`env_reset`, `env_step`, `env_render`, `env_close` bound to this registry."""
        return [_reset_tool(self), _step_tool(self), _render_tool(self), _close_tool(self)]


def _without_render(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k != "render_mode"}


def _space_size(space: Any) -> int | None:
    n = getattr(space, "n", None)
    return int(n) if n is not None else None


def jsonable(value: Any) -> Any:
    """Observations and infos as JSON values: arrays become nested lists, tuples lists."""
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


# Environment calls take microseconds and touch only this registry, so the tools are
# async (run on the kernel loop, no thread hop). side_effects=False: the state is in
# memory and dies with the kernel, so there is no outside effect whose intent the
# journal must make durable first, and a re-run with the same idempotency key returns
# the remembered result instead of stepping twice.


def _reset_tool(reg: EnvRegistry) -> Tool[..., Any]:
    async def env_reset(
        ctx: ToolContext,
        env_id: str,
        env: str = DEFAULT_ENV,
        seed: int | None = None,
        config: dict[str, Any] | None = None,
        actions: list[int | str] | None = None,
    ) -> dict[str, Any]:
        """Create (first call) or reset an environment you own; returns the first observation.

        Args:
            env_id: Your name for the environment.
            env: Gymnasium id of the environment to create.
            seed: Seed of the episode.
            config: Keyword arguments for the environment, e.g. {"size": 9, "maze_seed": 3}.
            actions: Actions to replay after the reset (to rebuild an episode in progress).
        """
        return reg.reset(ctx, env_id, env, seed, config, actions)

    return tool(side_effects=False, timeout_s=30)(env_reset)


def _step_tool(reg: EnvRegistry) -> Tool[..., Any]:
    async def env_step(ctx: ToolContext, env_id: str, action: int | str) -> dict[str, Any]:
        """Take one action; returns observation, reward, terminated, truncated and info.

        Args:
            env_id: The environment.
            action: The action: an index, or in the maze a move name (up, down, left, right).
        """
        return reg.step(ctx, env_id, action)

    return tool(side_effects=False, timeout_s=30)(env_step)


def _render_tool(reg: EnvRegistry) -> Tool[..., Any]:
    async def env_render(ctx: ToolContext, env_id: str) -> str:
        """The environment as text (the maze: # wall, . floor, S start, G goal, A you).

        Args:
            env_id: The environment.
        """
        return reg.render(ctx, env_id)

    return tool(side_effects=False, timeout_s=30)(env_render)


def _close_tool(reg: EnvRegistry) -> Tool[..., Any]:
    async def env_close(ctx: ToolContext, env_id: str) -> bool:
        """Close an environment you own; False if there was none.

        Args:
            env_id: The environment.
        """
        return reg.close(ctx, env_id)

    return tool(side_effects=False, timeout_s=30)(env_close)


def env_tools(**options: Any) -> list[Tool[..., Any]]:
    """The environment tools over a fresh `EnvRegistry(**options)` (one per kernel)."""
    return EnvRegistry(**options).tools()


ENV_TOOLS: list[Tool[..., Any]] = env_tools()
"""Tools over one process-wide registry, for the command line:
`llmagentos run agent.py --tool llmagentos.envs.tools:ENV_TOOLS`."""
