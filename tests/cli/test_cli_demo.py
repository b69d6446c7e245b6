"""`llmagentos demo`: the main job runs every bundled app on one kernel, offline."""

from __future__ import annotations

import json
from pathlib import Path

from cli_workspace import Workspace
from click.testing import CliRunner

from llmagentos.apps.demo import APPS
from llmagentos.apps.sentiment_monitor import scoring
from llmagentos.cli.main import main


def test_demo_runs_every_app_and_writes_a_report(ws: Workspace) -> None:
    out = ws.cli(
        "demo", "--model", "offline", "--embedder", "hash", "--state-dir", "demo", timeout=300
    )
    assert out.returncode == 0, out.stdout + out.stderr
    for app in APPS:
        assert f"✓ {app}" in out.stdout
    assert "1 operator approvals" in out.stdout or "2 operator approvals" in out.stdout
    summary = json.loads((ws.root / "demo" / "summary.json").read_text())
    assert summary["ok"] and set(summary["apps"]) == set(APPS)
    assert summary["apps"]["maze_solver"]["result"]["success"] is True
    report = (ws.root / "demo" / "report.html").read_text()
    assert "<svg" in report and "Tokens per agent" in report and "customer_service" in report
    # What it leaves behind is an ordinary state directory the other commands read.
    ws.state = "demo"
    rows = ws.ps("-a")
    names = {r["name"] for r in rows.values()}
    assert {"demo", "reporter", *APPS, "desk", "translator", "classifier"} <= names
    assert all(r["state"] == "done" for r in rows.values())


def test_demo_refuses_a_directory_that_is_not_llmagentos_state(tmp_path: Path) -> None:
    # The demo wipes its state directory first: it must not wipe someone's files.
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me")
    result = CliRunner().invoke(main, ["demo", "--state-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "holds no llmagentos state" in result.output
    assert precious.read_text() == "keep me"


def test_demo_rejects_unknown_apps(tmp_path: Path) -> None:
    state = str(tmp_path / "s")
    result = CliRunner().invoke(main, ["demo", "--apps", "summarizer,nope", "--state-dir", state])
    assert result.exit_code == 1
    assert "unknown demo apps ['nope']" in result.output


def test_demo_refuses_a_state_directory_a_kernel_is_using(tmp_path: Path) -> None:
    from llmagentos.storage.lock import StateLock

    state = tmp_path / "busy"
    state.mkdir()
    (state / "os.db").write_bytes(b"")
    lock = StateLock(state)
    lock.acquire()
    try:
        result = CliRunner().invoke(main, ["demo", "--state-dir", str(state)])
    finally:
        lock.release()
    assert result.exit_code == 1
    assert "a kernel is running on" in result.output
    assert (state / "os.db").exists()


def test_the_demo_on_the_built_in_model_guides_its_apps_replies(ws: Workspace) -> None:
    """The main job as a newcomer runs it (the shipped model, offline): every app ends, the
    summary is one of the text's sentences and the recommendations the model's own picks
    among the candidates, with reasons that hold — the shapes the apps ask the model for."""
    from llmagentos.apps.recommender.app import catalog
    from llmagentos.apps.summarizer.app import SAMPLE, sentences

    out = ws.cli("demo", "--embedder", "hash", "--state-dir", "demo", timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    summary = json.loads((ws.root / "demo" / "summary.json").read_text())
    apps = summary["apps"]
    assert all(a["state"] == "done" for a in apps.values()), apps
    summarized = apps["summarizer"]["result"]
    assert summarized["summaries"][0] in sentences(SAMPLE) and summarized["grounded"] == [True]
    recommended = apps["recommender"]["result"]
    items = {i["title"]: i for i in catalog().values()}
    liked = [items[t] for t in recommended["liked"]]
    for rec in recommended["recommendations"]:
        assert rec["by"] == "model" and rec["title"] not in recommended["liked"]
        tags = items[rec["title"]]["tags"]
        if "something new" in rec["reason"]:  # shares no tag with anything they liked
            assert not any(set(tags) & set(x["tags"]) for x in liked)
            continue
        tag, _, rest = rec["reason"].partition(" like ")
        other = items[rest.removesuffix(f", which {recommended['user']} liked.")]
        assert other in liked and tag in tags and tag in other["tags"]
    assert "✓ summarizer" in out.stdout and "✓ recommender" in out.stdout
    monitored = apps["sentiment_monitor"]["result"]
    if scoring.available():  # the classifier labels the headlines, not the tiny model
        agreed, checked = monitored["agreement"]
        assert monitored["method"] == "classifier" and agreed >= 0.8 * checked
        assert "✓ sentiment_monitor" in out.stdout and "news_sentiment classifier" in out.stdout
