"""Every bundled app end to end: a real kernel, real SQLite, the app's offline double."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from llmagentos.apps import AppStore, choose_model, prepare_app, run_app, spawn_app
from llmagentos.apps.classify_translate import offline as pipeline
from llmagentos.apps.runner import AppRun
from llmagentos.apps.sentiment_monitor import offline as news
from llmagentos.apps.sentiment_monitor import scoring
from llmagentos.apps.sentiment_monitor.app import SCORES
from llmagentos.apps.summarizer import offline as summaries
from llmagentos.errors import LLMAgentOSError
from llmagentos.kernel.config import KernelConfig
from llmagentos.kernel.kernel import Kernel
from llmagentos.memory.manager import MemoryConfig
from llmagentos.records import replace
from llmagentos.testing import FunctionModel

HASHED = {"memory": MemoryConfig(embedder="hash")}  # no model download in tests


async def run(name: str, state: Path, args: dict[str, Any] | None = None, **kw: Any) -> AppRun:
    kw.setdefault("model", "offline")
    outcome = await run_app(name, args, state_dir=state, kernel_options=HASHED, **kw)
    assert outcome.status.state == "done", outcome.status.error
    return outcome


def journal(state: Path, sql: str = "SELECT kind, call FROM journal") -> list[Any]:
    with sqlite3.connect(state / "os.db") as db:
        return db.execute(sql).fetchall()


async def test_summarizer_keeps_the_seeds_api(tmp_path: Path) -> None:
    text = (
        "The council approved the cycling plan. The plan adds forty kilometres of lanes."
        " Shops asked for parking."
    )
    out = (await run("summarizer", tmp_path, {"texts": [text, "One sentence only."]})).status.result
    assert out["summaries"] == ["The plan adds forty kilometres of lanes.", "One sentence only."]
    assert out["extractive"] and out["picked"] == [1, 0]
    calls = [json.loads(c) for k, c in journal(tmp_path) if k == "llm"]
    assert calls[0]["request"]["messages"][0]["content"].startswith("Summarize this text: ")
    assert calls[0]["request"]["max_tokens"] == 100  # summarize(text) -> generate_text(.., 100)
    # the model is asked to pick one of the text's sentences; a one-sentence text is its own
    assert calls[0]["request"]["response_format"] == {
        "type": "choice",
        "choices": [
            "The council approved the cycling plan.",
            "The plan adds forty kilometres of lanes.",
            "Shops asked for parking.",
        ],
    }
    assert calls[1]["request"].get("response_format") is None


async def test_summarizer_reports_a_summary_the_text_does_not_support(tmp_path: Path) -> None:
    from llmagentos.apps.summarizer.app import grounding

    text = "The council approved the cycling plan. Shops asked for parking."
    invented = FunctionModel(lambda messages, request: "Zora Veldra opened the Ashven Clinic.")
    out = (await run("summarizer", tmp_path, {"text": text}, model=invented)).status.result
    assert out["grounded"] == [False] and out["grounding"] == [0.0] and out["picked"] == [None]
    assert grounding("The council approved the plan.", text) == 1.0
    assert grounding("", text) == 0.0
    from llmagentos.apps.demo import caveat  # the demo marks it with "~", not "✓"

    assert caveat("summarizer", out) and not caveat("summarizer", {"grounded": [True]})


async def reject_every_approval(kernel: Kernel, until: asyncio.Future[Any]) -> None:
    while not until.done():
        for pending in kernel.approvals.list("pending"):
            kernel.approvals.decide(pending.id, False, by="test", note="not today")
        await asyncio.sleep(0.02)


async def test_customer_service_answers_looks_up_and_escalates(tmp_path: Path) -> None:
    questions = [
        "Where is my order T-7781?",
        "Do you ship abroad?",
        "I want a refund, the blender arrived broken.",
        "Where is order Z-0000?",
    ]
    out = await run("customer_service", tmp_path, {"questions": questions}, approve=True)
    answers = out.status.result["answers"]
    assert answers[0]["text"] == "Order T-7781 is out for delivery. Expected delivery: March 14."
    assert "We ship to all EU countries" in answers[1]["text"]
    assert answers[2]["intent"] == "refund" and "ticket #1" in answers[2]["text"]
    assert "could not find that order" in answers[3]["text"]
    assert out.status.result["faq_loaded"] == 8
    with sqlite3.connect(AppStore(tmp_path).data("customer_service").path("orders.db")) as db:
        assert db.execute("SELECT count(*) FROM escalations").fetchone()[0] == 1
    # The FAQ is in long-term memory now: a second run does not load it again, and a
    # person who rejects the escalation gets a polite answer, not a crash.
    again = await run(
        "customer_service",
        tmp_path,
        {"questions": ["Can I get my money back?"]},
        model="offline",
        display=reject_every_approval,
    )
    assert again.status.result["faq_loaded"] == 0
    assert "could not hand this to a colleague" in again.status.result["answers"][0]["text"]


async def test_maze_solver_learns_the_shortest_path_and_keeps_its_policy(tmp_path: Path) -> None:
    args = {"size": 7, "maze_seed": 3, "loops": 0.2, "episodes": 200}
    first = (await run("maze_solver", tmp_path, args)).status.result
    assert first["success"] and first["steps_over_optimal"] <= 1.05
    assert first["model_questions"] == first["model_answers_understood"] > 0
    assert first["stopped"] == "converged" and not first["reloaded_policy"]
    steps = [c for k, c in journal(tmp_path) if k == "tool" and '"env_step"' in c]
    assert len(steps) >= first["train_steps"] + first["steps"]  # every move was a syscall
    second = (await run("maze_solver", tmp_path, args)).status.result
    assert second["reloaded_policy"] and second["model_questions"] == 0
    assert second["steps"] == first["steps"] and second["runs"] == 2


async def test_classifier_and_translator_cooperate_through_messages(tmp_path: Path) -> None:
    texts = ["I love this lamp.", "The kettle broke after two days.", "It came in a box."]
    out = (await run("classify_translate", tmp_path, {"texts": texts})).status.result
    assert [r["label"] for r in out["results"]] == ["positive", "negative", "neutral"]
    assert out["results"][0]["translation"] == "Je adore ce lampe."
    assert out["handled"] == [3, 3]
    sends = journal(tmp_path, "SELECT pid, call FROM journal WHERE kind = 'ipc'")
    assert len({pid for pid, _ in sends}) == 3  # coordinator, classifier, translator


async def test_sentiment_monitor_raises_alerts_on_the_watched_company(tmp_path: Path) -> None:
    items = [
        {"company": "ACME", "headline": "ACME profits surge"},
        {"company": "Globex", "headline": "Globex shares plunge"},
        {"company": "ACME", "headline": "ACME faces fraud probe"},
    ]
    args = {"items": items, "method": "model"}
    out = (await run("sentiment_monitor", tmp_path, args)).status.result
    assert out["scored"] == 3 and out["method"] == "model"
    assert out["labels"] == {"positive": 1, "neutral": 0, "negative": 2}
    assert [a["headline"] for a in out["alerts"]] == ["ACME faces fraud probe"]
    assert out["alerts"][0]["running_score"] == 0.0
    assert out["agreement"] == [0, 0]  # these items carry no reference labels
    calls = [json.loads(c) for k, c in journal(tmp_path) if k == "llm"]
    assert all(  # the model is asked for one of the labels
        c["request"]["response_format"] == {"type": "choice", "choices": list(SCORES)}
        for c in calls
    )


async def test_sentiment_monitor_checks_its_sample_against_reference_labels(
    tmp_path: Path,
) -> None:
    from llmagentos.apps.demo import caveat
    from llmagentos.apps.sentiment_monitor.app import NEWS

    always_neutral = FunctionModel(lambda messages, request: "neutral")
    args = {"method": "model"}
    out = (await run("sentiment_monitor", tmp_path, args, model=always_neutral)).status.result
    neutral = sum(item["label"] == "neutral" for item in NEWS)
    assert out["agreement"] == [neutral, len(NEWS)] and out["alerts"] == []
    assert caveat("sentiment_monitor", out)  # the demo marks it "~"
    seen = [c for k, c in journal(tmp_path) if k == "llm"]
    assert not any("reference" in c or '"label"' in c for c in seen)  # never shown the answer
    assert not caveat("sentiment_monitor", {**out, "agreement": [7, 7]})


@pytest.mark.skipif(not scoring.available(), reason="the `memory` extra is not installed")
async def test_sentiment_monitor_labels_with_its_classifier_tool_by_default(tmp_path: Path) -> None:
    from llmagentos.apps.demo import caveat

    never = FunctionModel(lambda messages, request: pytest.fail("the model was asked"))
    out = (await run("sentiment_monitor", tmp_path, {}, model=never)).status.result
    assert out["method"] == "classifier" and out["agreement"] == [7, 7]
    assert [a["headline"] for a in out["alerts"]] == [
        "ACME recalls 40,000 vacuum robots over battery fires",
        "ACME shares plunge as regulators open a probe",
    ]
    assert not caveat("sentiment_monitor", out)
    rows = journal(tmp_path, "SELECT call FROM journal WHERE kind = 'tool'")
    calls = [json.loads(c) for (c,) in rows]
    assert len(calls) == 7 and {c["name"] for c in calls} == {"news_sentiment"}
    assert all("label" not in c["arguments"] for c in calls)  # only the headline goes in


@pytest.mark.skipif(not scoring.available(), reason="the `memory` extra is not installed")
async def test_the_news_sentiment_tool_refuses_an_empty_headline() -> None:
    from llmagentos.tools import ToolContext, ToolRegistry

    registry = ToolRegistry(scoring.TOOLS)
    ctx = ToolContext(pid=1, call_id="c", idempotency_key="k")
    ok = await registry.invoke(
        "news_sentiment", {"headline": "Globex shares rise after strong quarter"}, context=ctx
    )
    assert ok.ok and ok.output["label"] == "positive"
    assert set(ok.output["scores"]) == set(SCORES) and 0.5 < ok.output["confidence"] <= 1
    empty = await registry.invoke("news_sentiment", {"headline": "  "}, context=ctx)
    assert not empty.ok and empty.error_type == "InvalidArgument"
    assert "the headline is empty" in (empty.error or "")


async def test_sentiment_monitor_method_is_checked_and_auto_falls_back_to_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = await run_app(
        "sentiment_monitor",
        {"method": "vibes"},
        state_dir=tmp_path / "a",
        kernel_options=HASHED,
        model="offline",
    )
    assert outcome.status.state == "failed"
    assert "method must be one of auto, classifier, model" in (outcome.status.error or "")
    monkeypatch.setattr(scoring, "available", lambda: False)
    out = (await run("sentiment_monitor", tmp_path / "b", {})).status.result
    assert out["method"] == "model" and out["agreement"] == [7, 7]  # the offline double
    assert any(k == "llm" for k, _ in journal(tmp_path / "b"))


async def test_recommender_remembers_history_and_recommends_unseen_items(tmp_path: Path) -> None:
    args = {"user": "bo", "history": ["the-hobbit", "earthsea"], "k": 2}
    out = (await run("recommender", tmp_path, args)).status.result
    picks = [r["id"] for r in out["recommendations"]]
    assert len(picks) == 2 and not set(picks) & {"the-hobbit", "earthsea"}
    assert out["liked"] == ["The Hobbit", "A Wizard of Earthsea"]
    more = await run("recommender", tmp_path, {**args, "history": ["mistborn"]})
    assert more.status.result["liked"] == ["The Hobbit", "A Wizard of Earthsea", "Mistborn"]
    assert "mistborn" not in [r["id"] for r in more.status.result["recommendations"]]
    assert {r["by"] for r in out["recommendations"]} == {"model"}
    alone = await run("recommender", tmp_path, {"user": "cy", "history": ["the-hobbit"], "k": 3})
    assert len(alone.status.result["recommendations"]) == 3  # even if recall finds fewer


async def test_recommender_says_which_picks_the_model_made(tmp_path: Path) -> None:
    def one_valid_pick(messages: Any, request: Any) -> str:
        prompt = messages[-1].content
        first = prompt.split("Candidates:\n- ")[1].split(" |")[0]
        return f"{first}: it is like what you liked.\nno-such-book: invented."

    args = {"user": "bo", "history": ["the-hobbit", "earthsea"], "k": 2}
    model = FunctionModel(one_valid_pick)
    out = (await run("recommender", tmp_path, args, model=model)).status.result
    # the model was asked for k lines, each a candidate's id and a reason that holds for it
    fmt = model.last_request.response_format
    assert fmt["type"] == "picks" and fmt["count"] == 2
    assert set(fmt["texts"]) == set(fmt["choices"]) and len(fmt["choices"]) == 4
    assert all(c.endswith(":") for c in fmt["choices"])
    assert [r["by"] for r in out["recommendations"]] == ["model", "search"]
    assert out["recommendations"][0]["reason"] == "it is like what you liked."
    assert "no-such-book" not in [r["id"] for r in out["recommendations"]]
    from llmagentos.apps.demo import caveat

    assert caveat("recommender", out) and not caveat("maze_solver", out)


def test_the_reasons_a_pick_may_give_are_true() -> None:
    from llmagentos.apps.recommender.app import catalog, reasons

    items = catalog()
    liked = [items["the-hobbit"], items["earthsea"]]
    for item in items.values():
        for reason in reasons("bo", item, liked):
            if "something new" in reason:
                assert not any(set(item["tags"]) & set(x["tags"]) for x in liked)
                continue
            tag, _, rest = reason.strip().partition(" like ")
            title = rest.removesuffix(", which bo liked.")
            (other,) = [x for x in liked if x["title"] == title]
            assert tag in item["tags"] and tag in other["tags"]


def test_a_default_model_that_cannot_load_falls_back_to_the_double_with_a_note() -> None:
    manifest = replace(AppStore(".").get("summarizer").manifest, model="builtin:no-such-model")
    name, backend, note = choose_model(manifest, None)
    assert name == "offline" and backend.name == "summarizer-offline"
    assert note is not None and "builtin:no-such-model is not available" in note
    with pytest.raises(LLMAgentOSError, match="no-such-model"):
        choose_model(manifest, "builtin:no-such-model")  # asked for by name: no fallback


async def test_several_apps_share_one_kernel_and_one_model(tmp_path: Path) -> None:
    def one_model(messages: Any, request: Any) -> str:  # what the built-in model will be
        prompt = messages[-1].content
        if prompt.startswith("Summarize"):
            return summaries.extract(prompt.partition(":")[2])
        if prompt.startswith("Sentiment of this text"):
            return news.answer(messages, request)
        return pipeline.answer(messages, request)

    apps = [
        prepare_app(n, tmp_path) for n in ("summarizer", "classify_translate", "sentiment_monitor")
    ]
    kernel = Kernel(
        KernelConfig(state_dir=tmp_path, **HASHED),
        models={"model": FunctionModel(one_model)},
        tools=[t for app in apps for t in app.tools],
    )
    async with kernel:
        pids = [await spawn_app(kernel, app) for app in apps]
        statuses = [await kernel.wait(pid, timeout=60) for pid in pids]
    assert [s.state for s in statuses] == ["done"] * 3, [s.error for s in statuses]
    assert statuses[1].result["handled"] == [3, 3]
    assert len(statuses[2].result["alerts"]) == 2
