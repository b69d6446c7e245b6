"""`EnvClient`: an environment as agent code sees it, every call a tool syscall.

It remembers the episode's seed and actions, so when the kernel restarted and the
environment is gone (`UnknownEnvironment`), it rebuilds it with `env_reset(actions=...)`
and goes on: the process's replay answers the old steps from the journal, and the
rebuilt environment is where the journal says it was.
"""

from __future__ import annotations

from typing import Any

from llmagentos.envs.errors import UnknownEnvironment
from llmagentos.envs.tools import DEFAULT_ENV
from llmagentos.errors import ErrorInfo, LLMAgentOSError, error_from_info
from llmagentos.kernel.context import ProcessContext
from llmagentos.kernel.syscalls import ToolResult
from llmagentos.records import record


@record
class Observed:
    """What a reset or a step returned."""

    observation: Any
    reward: float = 0.0
    terminated: bool = False
    truncated: bool = False
    info: dict[str, Any] | None = None

    @property
    def done(self) -> bool:
        return self.terminated or self.truncated


def _raise_for(result: ToolResult) -> Any:
    if result.ok:
        return result.output
    info = ErrorInfo(type=result.error_type or "ToolFailed", message=result.error or "")
    raise error_from_info(info)


class EnvClient:
    """One environment owned by the calling process (async programs)."""

    def __init__(
        self,
        ctx: ProcessContext,
        env_id: str,
        *,
        env: str = DEFAULT_ENV,
        config: dict[str, Any] | None = None,
    ) -> None:
        self.ctx = ctx
        self.env_id = env_id
        self.env = env
        self.config = dict(config or {})
        self.seed: int | None = None
        self.actions: list[int | str] = []
        self.n_actions: int | None = None

    async def reset(self, seed: int | None = None) -> Observed:
        """Start an episode (creating the environment on first use)."""
        self.seed, self.actions = seed, []
        out = await self._reset([])
        return Observed(out["observation"], info=out["info"])

    async def _reset(self, actions: list[int | str]) -> dict[str, Any]:
        result = await self.ctx.tool(
            "env_reset",
            env_id=self.env_id,
            env=self.env,
            seed=self.seed,
            config=self.config,
            actions=actions,
        )
        out: dict[str, Any] = _raise_for(result)
        self.n_actions = out.get("actions")
        return out

    async def step(self, action: int | str) -> Observed:
        """Take one action; rebuilds the environment first if the kernel lost it."""
        result = await self.ctx.tool("env_step", env_id=self.env_id, action=action)
        if not result.ok and result.error_type == UnknownEnvironment.__name__:
            await self._reset(list(self.actions))
            result = await self.ctx.tool("env_step", env_id=self.env_id, action=action)
        out = _raise_for(result)
        self.actions.append(action)
        return Observed(
            out["observation"], out["reward"], out["terminated"], out["truncated"], out["info"]
        )

    async def render(self) -> str:
        return str(_raise_for(await self.ctx.tool("env_render", env_id=self.env_id)))

    async def close(self) -> bool:
        try:
            return bool(_raise_for(await self.ctx.tool("env_close", env_id=self.env_id)))
        except LLMAgentOSError:
            return False
