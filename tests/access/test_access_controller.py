"""AccessController: targets of each syscall, capability denials, policy, audit rows."""

from __future__ import annotations

import timeit
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmagentos.access import (
    ROOT,
    SCHEMAS,
    AccessController,
    AuditLog,
    Policy,
    Rule,
    Subject,
    derive,
    target_of,
)
from llmagentos.errors import PermissionDenied
from llmagentos.kernel.syscalls import (
    Capabilities,
    FileDelete,
    FileList,
    FileRead,
    FileWrite,
    Forget,
    Kill,
    KVDelete,
    KVGet,
    KVList,
    KVPut,
    LLMCall,
    Now,
    Publish,
    Recall,
    Receive,
    Remember,
    Reply,
    Request,
    Send,
    Sleep,
    Spawn,
    Subscribe,
    Syscall,
    ToolInvoke,
    Unsubscribe,
    Wait,
)
from llmagentos.llm.types import LLMRequest, Message
from llmagentos.storage.db import Database

SUBJECT = Subject(pid=7, name="summarizer", program="apps.summarizer:main")
CAPS = derive(
    ROOT,
    Capabilities(
        tools=("search", "calc"),
        namespaces=("shared",),
        peers=("writer", "3"),
        topics=("news.*",),
        models=("builtin:*",),
        spawn=False,
    ),
)
OWN = "proc-7"


def llm(model: str = "") -> LLMCall:
    return LLMCall(LLMRequest(messages=(Message("user", "hi"),), model=model))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "os.db").open(SCHEMAS)
    yield database
    database.close()


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (ToolInvoke("shell", {}), ("tools", "shell")),
        (KVPut("k", 1), ("namespaces", OWN)),
        (KVGet("k", namespace="shared"), ("namespaces", "shared")),
        (KVDelete("k"), ("namespaces", OWN)),
        (KVList(namespace="x"), ("namespaces", "x")),
        (FileWrite("a.txt", "x", namespace="docs"), ("namespaces", "docs")),
        (FileRead("a.txt"), ("namespaces", OWN)),
        (FileList(), ("namespaces", OWN)),
        (FileDelete("a.txt"), ("namespaces", OWN)),
        (Remember("fact"), ("namespaces", OWN)),
        (Recall("q", namespace="team"), ("namespaces", "team")),
        (Forget("m1"), ("namespaces", OWN)),
        (Send(3, "hi"), ("peers", "3")),
        (Request("writer", "hi"), ("peers", "writer")),
        (Publish("news.ai", {}), ("topics", "news.ai")),
        (Subscribe("news.ai"), ("topics", "news.ai")),
        (Unsubscribe("sports"), ("topics", "sports")),
        (llm("builtin:tiny"), ("models", "builtin:tiny")),
        (llm(), ("models", "default")),
        (Spawn("pkg.mod:main"), ("spawn", "pkg.mod:main")),
        (Reply(1, "ok"), ("", "")),
        (Receive(), ("", "")),
        (Wait(3), ("", "")),
        (Kill(3), ("", "")),
        (Now(), ("", "")),
        (Sleep(1.0), ("", "")),
    ],
)
def test_target_of(call: Syscall, expected: tuple[str, str]) -> None:
    assert target_of(call, OWN) == expected


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            ToolInvoke("shell", {}),
            "process 7 (summarizer) may not use tool 'shell': allowed tools are ['search', 'calc']",
        ),
        (
            KVPut("k", 1, namespace="other"),
            "may not access namespace 'other': allowed namespaces are ['shared']",
        ),
        (Remember("x", namespace="other"), "may not access namespace 'other'"),
        (Send(9, "hi"), "may not message process '9': allowed peers are ['writer', '3']"),
        (Request("boss", "hi"), "may not message process 'boss'"),
        (Publish("sports", 1), "may not use topic 'sports': allowed topics are ['news.*']"),
        (Subscribe("sports"), "may not use topic 'sports'"),
        (llm("openai:gpt-4o"), "may not use model 'openai:gpt-4o'"),
        (llm(), "may not use model 'default'"),
        (Spawn("pkg:main"), "process 7 (summarizer) may not spawn processes"),
    ],
)
def test_capability_denials(call: Syscall, message: str) -> None:
    decision = AccessController().check(SUBJECT, CAPS, call, OWN)
    assert decision.effect == "deny" and decision.rule_index is None
    assert message in decision.reason


@pytest.mark.parametrize(
    "call",
    [
        ToolInvoke("calc", {}),
        KVPut("k", 1),  # own namespace, although only "shared" is listed
        FileRead("a", namespace=OWN),
        Recall("q", namespace="shared"),
        Send(3, "hi"),
        Request("writer", "hi"),
        Publish("news.ai", 1),
        llm("builtin:tiny"),
        Reply(99, "ok"),  # always allowed
        Receive(),
        Now(),
    ],
)
def test_capability_allows(call: Syscall) -> None:
    assert AccessController().check(SUBJECT, CAPS, call, OWN).allowed


def test_peers_match_by_name_or_pid_through_resolver() -> None:
    aliases = {3: ["3", "reviewer"], "writer": ["writer", "4"], 9: ["9", "writer"]}
    controller = AccessController(resolve_peer=lambda to: aliases.get(to, [str(to)]))
    assert controller.check(SUBJECT, CAPS, Send(9, "hi"), OWN).allowed  # pid 9 is "writer"
    assert controller.check(SUBJECT, CAPS, Send("reviewer", "hi"), OWN).effect == "deny"
    assert controller.check(SUBJECT, CAPS, Send(5, "hi"), OWN).effect == "deny"


def test_spawn_asking_for_more_than_the_parent_is_denied() -> None:
    parent = derive(ROOT, Capabilities(tools=("calc",)))
    controller = AccessController()
    ok = Spawn("pkg:main", capabilities=Capabilities(tools=("calc",)))
    assert controller.check(SUBJECT, parent, ok, OWN).allowed
    greedy = Spawn("pkg:main", capabilities=Capabilities(tools=("shell",)))
    decision = controller.check(SUBJECT, parent, greedy, OWN)
    assert decision.effect == "deny" and "tools ['shell']" in decision.reason


def test_policy_applies_after_capabilities() -> None:
    policy = Policy(
        [
            Rule("deny", ("tool",), ("calc",), programs=("summarizer",), reason="no calc"),
            Rule("ask", ("storage",), ("shared",), reason="shared writes need a person"),
            Rule("deny", ("tool",), ("shell",), reason="policy says no shell"),
        ]
    )
    controller = AccessController(policy)
    # the program does not match "summarizer", the process name does
    assert controller.check(SUBJECT, CAPS, ToolInvoke("calc", {}), OWN).reason == "no calc"
    asked = controller.check(SUBJECT, CAPS, KVPut("k", 1, namespace="shared"), OWN)
    assert (asked.effect, asked.rule_index) == ("ask", 1)
    # capabilities decide first: the capability message, not the policy's
    shell = controller.check(SUBJECT, CAPS, ToolInvoke("shell", {}), OWN)
    assert shell.rule_index is None and "allowed tools" in shell.reason


def test_require_raises_on_deny_and_returns_ask() -> None:
    controller = AccessController(Policy([Rule("ask", ("tool",))]))
    with pytest.raises(PermissionDenied, match="may not use tool 'shell'"):
        controller.require(SUBJECT, CAPS, ToolInvoke("shell", {}), OWN)
    assert controller.require(SUBJECT, CAPS, ToolInvoke("calc", {}), OWN).effect == "ask"


def test_every_decision_is_audited(db: Database) -> None:
    audit = AuditLog(db)
    controller = AccessController(Policy([Rule("ask", ("storage",), ("shared",))]), audit)
    controller.check(SUBJECT, CAPS, ToolInvoke("calc", {}), OWN)
    controller.check(SUBJECT, CAPS, ToolInvoke("shell", {}), OWN)
    controller.check(SUBJECT, CAPS, KVPut("k", 1, namespace="shared"), OWN)
    audit.flush()
    rows = audit.query()
    assert [(r.pid, r.program, r.kind, r.target, r.effect) for r in rows] == [
        (7, "apps.summarizer:main", "tool", "calc", "allow"),
        (7, "apps.summarizer:main", "tool", "shell", "deny"),
        (7, "apps.summarizer:main", "storage", "shared", "ask"),
    ]
    assert "allowed tools" in rows[1].reason


def test_check_is_fast(db: Database) -> None:
    """A handful of rules, audit on: an allow costs microseconds (loose bound for CI)."""
    policy = Policy([Rule("deny", ("tool",), (f"t{i}*",)) for i in range(5)])
    controller = AccessController(policy, AuditLog(db))
    call = ToolInvoke("calc", {})
    n = 5000
    per_call = timeit.timeit(lambda: controller.check(SUBJECT, CAPS, call, OWN), number=n) / n
    assert per_call < 100e-6
