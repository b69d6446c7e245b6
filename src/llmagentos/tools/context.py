"""`ToolContext`: what the kernel tells a tool about the call it is serving."""

from __future__ import annotations

from llmagentos.records import record


@record
class ToolContext:
    """Facts about one tool call, injected into tools that ask for them.

    A tool asks by declaring a parameter annotated `ToolContext` (any name; `ctx` by
    convention). The parameter is filled by the registry and left out of the schema the
    model sees.

    - `pid`: the calling process.
    - `call_id`: this call's id, unique within the process.
    - `idempotency_key`: stable across crash replay: if the kernel crashes after the tool
      ran but before its result was journaled, the call is made again with the *same*
      key. Tools with external side effects (sending mail, charging a card, writing to
      another system) should pass it on or record it, so the second call is a no-op.
    - `deadline`: wall-clock time (`time.time()` seconds) by which the call must end, or
      None. The registry already enforces it; long-running tools may also check it.
    - `namespace`: the storage namespace the call acts in ("" means the caller's own).
    """

    pid: int
    call_id: str
    idempotency_key: str
    deadline: float | None = None
    namespace: str = ""
