"""The engine's ranking of sequences: the kernel's policies, plus least attained service per agent.

The engine ranks every step, so a policy here also decides preemption: a waiting sequence
that ranks strictly better than a running one takes its row. `fifo`, `priority`, `rr` and
`las-program` are the kernel's own classes (`kernel.policies`), fed with the same
`QueuedCall` records. `las` is `AgentLAS`: least attained service per agent rather than per
program, with service counted in doubling levels (multi-level feedback): an agent's calls
rank by the level of the service it has had, then by the call's own demand
(`max_tokens`), then by when the agent first appeared. Within a level agents therefore do
not take turns: an agent that has started keeps going until it has had a level's worth of
service, so short programs finish one after another instead of all at the end (exact
service keys would run everyone's first call before anyone's second), while an agent that
has had much more service than the others — a long program — drops a level each time its
service doubles and waits behind them.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from llmagentos.kernel.policies import Policy, make_policy
from llmagentos.kernel.scheduler import Key, QueuedCall


class AgentLAS:
    """Least attained service per agent, in levels (`QueuedCall.program` names the agent).

    Service is the tokens an agent's finished calls generated. Level 0 is service below
    `quantum` tokens, level k below `quantum * 2**k`. A call ranks by its agent's level,
    its own `est_tokens`, the order in which agents first appeared, then arrival. An agent
    that becomes active starts no lower than the least service of the active agents, so
    newcomers cannot starve them.
    """

    def __init__(self, quantum: int = 64) -> None:
        if quantum < 1:
            raise ValueError("quantum must be at least one token")
        self.quantum = quantum
        self._service: dict[Hashable, int] = {}
        self._active: dict[Hashable, int] = {}  # agent -> calls queued or running
        self._since: dict[Hashable, int] = {}  # agent -> order of first appearance
        self._activations = 0
        self._floor = 0

    def level(self, service: int) -> int:
        """The level of `service` tokens: 0 below one quantum, +1 for each doubling."""
        return 0 if service < self.quantum else (service // self.quantum).bit_length()

    def flow(self, call: QueuedCall) -> Hashable:
        return call.call_id  # each call is ranked on its own

    def flow_key(self, flow: Hashable) -> Key:
        return ()

    def call_key(self, call: QueuedCall) -> Key:
        agent = call.program
        return (
            float(self.level(self._service.get(agent, 0))),
            float(max(call.est_tokens, 0)),
            float(self._since.get(agent, self._activations)),
            call.enqueued_at,
            float(call.call_id),
        )

    def on_enqueue(self, call: QueuedCall) -> None:
        agent = call.program
        if agent not in self._active:
            active = [self._service.get(a, 0) for a in self._active]
            floor = min(active) if active else self._floor
            self._service[agent] = max(self._service.get(agent, 0), floor)
            self._active[agent] = 0
            if agent not in self._since:
                self._since[agent] = self._activations
                self._activations += 1
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
        quantum = options.get("quantum")
        return (AgentLAS() if quantum is None else AgentLAS(int(quantum))), True
    if key == "las-program":
        return make_policy("las", **options), False
    try:
        return make_policy(name, **options), False
    except ValueError:
        raise ValueError(
            f"unknown engine policy {name!r}; choose from fifo, priority, rr, las, las-program"
        ) from None
