"""The engine's ranking of sequences: the kernel's policies, plus least attained service per agent.

The engine ranks every step, so a policy here also decides preemption: a waiting sequence
that ranks strictly better than a running one takes its row. `fifo`, `priority`, `rr` and
`las-program` are the kernel's own classes (`kernel.policies`), fed with the same
`QueuedCall` records. `las` is `AgentLAS`: per agent rather than per program, it ranks a
call by its agent's attained service plus the call's own demand (`max_tokens`), so among
agents that have had as much service, the shorter call goes first; equal keys keep their
order, so equal calls do not take turns (which would only make all of them late).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from llmagentos.kernel.policies import Policy, make_policy
from llmagentos.kernel.scheduler import Key, QueuedCall


class AgentLAS:
    """Least attained service per agent (`QueuedCall.program` names the agent).

    Service is the tokens an agent's finished calls generated; a call ranks by its agent's
    service plus its own `est_tokens`, then by arrival. An agent that becomes active starts
    no lower than the least service of the active agents, so newcomers cannot starve them.
    """

    def __init__(self) -> None:
        self._service: dict[Hashable, int] = {}
        self._active: dict[Hashable, int] = {}  # agent -> calls queued or running
        self._floor = 0

    def flow(self, call: QueuedCall) -> Hashable:
        return call.call_id  # each call is ranked on its own demand

    def flow_key(self, flow: Hashable) -> Key:
        return ()

    def call_key(self, call: QueuedCall) -> Key:
        demand = self._service.get(call.program, 0) + max(call.est_tokens, 0)
        return (float(demand), call.enqueued_at, float(call.call_id))

    def on_enqueue(self, call: QueuedCall) -> None:
        agent = call.program
        if agent not in self._active:
            active = [self._service.get(a, 0) for a in self._active]
            floor = min(active) if active else self._floor
            self._service[agent] = max(self._service.get(agent, 0), floor)
            self._active[agent] = 0
        self._active[agent] += 1

    def on_leave(self, call: QueuedCall) -> None:
        self._release(call.program)

    def on_dispatch(self, call: QueuedCall) -> None:
        pass

    def on_complete(self, call: QueuedCall, tokens: int) -> None:
        self._service[call.program] = self._service.get(call.program, 0) + max(tokens, 0)
        self._release(call.program)

    def _release(self, agent: Hashable) -> None:
        self._active[agent] -= 1
        if not self._active[agent]:
            del self._active[agent]
            self._floor = max(self._floor, self._service.get(agent, 0))


def engine_policy(name: str, **options: Any) -> tuple[Policy, bool]:
    """The policy named `name` and whether its flows are agents (`las`) or programs."""
    key = name.lower().replace("_", "-")
    if key in ("las", "least-attained-service"):
        return AgentLAS(), True
    if key == "las-program":
        return make_policy("las", **options), False
    try:
        return make_policy(name, **options), False
    except ValueError:
        raise ValueError(
            f"unknown engine policy {name!r}; choose from fifo, priority, rr, las, las-program"
        ) from None
