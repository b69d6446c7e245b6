"""`llmagentos run`, `ps` and `logs`: the real command on a real state directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_workspace import Workspace
from click.testing import CliRunner

from llmagentos.cli.main import main


def invoke(ws: Workspace, *args: str) -> tuple[int, str]:
    """Run the CLI in this process (cheap) from the workspace directory."""
    runner = CliRunner()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ws.root)
        mp.setenv("COLUMNS", "200")
        result = runner.invoke(main, list(args))
    return result.exit_code, result.output


def test_run_prints_the_result_and_ps_lists_the_process(ws: Workspace) -> None:
    out = ws.cli(
        "run", "progs.py:main", "--arg", "n=3", "--model", "m=test:null",
        "--state-dir", ws.state, "--quiet",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "pid 1 ended done" in out.stdout
    assert json.loads(out.stdout.split("ended done", 1)[1]) == {"n": 3, "text": "ok"}

    rows = ws.ps("-a")
    assert rows[1]["state"] == "done"
    assert rows[1]["name"] == "main"
    assert rows[1]["args"] == {"n": 3}
    assert rows[1]["result"] == {"n": 3, "text": "ok"}
    assert rows[1]["usage"]["llm_calls"] == 1
    assert rows[1]["usage"]["tokens_in"] == 1 and rows[1]["usage"]["tokens_out"] == 1
    assert rows[1]["caps"]["tools"] == ["*"]
    # Without -a only live processes are listed, and the text form says no kernel runs.
    assert ws.ps() == {}
    table = ws.cli("ps", "-a", "--state-dir", ws.state)
    assert "kernel not running" in table.stdout and "main" in table.stdout


def test_a_failing_program_exits_1_with_its_error(ws: Workspace) -> None:
    out = ws.cli("run", "progs.py:fails", "--state-dir", ws.state, "--quiet")
    assert out.returncode == 1
    assert "pid 1 ended failed" in out.stdout
    assert "ValueError: boom" in out.stdout
    assert "Traceback" not in out.stderr
    # The traceback is kept, in the process's log.
    logs = ws.cli("logs", "1", "--state-dir", ws.state)
    assert logs.returncode == 0
    assert "[error]" in logs.stdout and 'raise ValueError("boom")' in logs.stdout


def test_a_missing_program_file_is_a_clean_error(ws: Workspace) -> None:
    out = ws.cli("run", "nothere.py:main", "--state-dir", ws.state, "--quiet")
    assert out.returncode != 0
    assert "program file 'nothere.py' does not exist" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_logs_show_journal_lines_and_log_lines(ws: Workspace) -> None:
    code, _ = invoke(
        ws, "run", "progs.py:main", "--arg", "n=5", "--model", "m=test:null",
        "--state-dir", ws.state, "--quiet",
    )  # fmt: skip
    assert code == 0
    code, out = invoke(ws, "logs", "1", "--journal", "--state-dir", ws.state)
    assert code == 0
    journal_line = next(line for line in out.splitlines() if line.startswith("#0"))
    assert "llm" in journal_line and "done" in journal_line
    assert '"LLMCall"' in journal_line and "LLMResponse" in journal_line
    assert "[info] n is 5" in out
    # Without --journal only the log.
    code, out = invoke(ws, "logs", "1", "--state-dir", ws.state)
    assert "#0" not in out and "n is 5" in out


def test_program_output_is_printed_as_text_not_markup(ws: Workspace) -> None:
    code, out = invoke(ws, "run", "progs.py:markup", "--state-dir", ws.state, "--quiet")
    assert code == 0, out
    assert "[bold]kept[/bold] and [/x]" in out


def test_the_live_table_is_drawn_without_quiet(ws: Workspace) -> None:
    code, out = invoke(
        ws, "run", "progs.py:main", "--arg", "n=1", "--model", "m=test:null",
        "--state-dir", ws.state,
    )  # fmt: skip
    assert code == 0, out
    assert "llmagentos run progs.py:main" in out and "PID" in out and "done" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--arg", "n"], "expected KEY=VALUE, got 'n'"),
        (["--arg", "=3"], "expected KEY=VALUE"),
        (["--scheduler", "bogus"], "'bogus' is not one of"),
        (["--model", "gpt"], "expected NAME=SPEC"),
        (["--model", "m=bogus:x"], "no provider 'bogus'"),
        (["--tool", "nocolon"], "expected module:attr"),
        (["--tool", "progs.py:nothere"], "--tool 'progs.py:nothere': 'nothere' not found"),
        (["--tool", "no_such_module_xyz:t"], "--tool 'no_such_module_xyz:t'"),
        (["--policy", "missing.toml"], "policy file 'missing.toml' does not exist"),
    ],
)
def test_bad_run_options_are_clean_errors(ws: Workspace, args: list[str], message: str) -> None:
    code, out = invoke(ws, "run", "progs.py:main", *args, "--state-dir", ws.state, "--quiet")
    assert code in (1, 2)
    assert message in out
    assert "Traceback" not in out


def test_an_invalid_policy_file_names_the_problem(ws: Workspace) -> None:
    (ws.root / "bad.toml").write_text('[[rules]]\neffect = "maybe"\n')
    code, out = invoke(ws, "run", "progs.py:main", "--policy", "bad.toml", "--state-dir", "s")
    assert code == 1
    assert "invalid policy file 'bad.toml'" in out and "rule 0" in out


def test_a_deny_policy_refuses_the_tool(ws: Workspace) -> None:
    (ws.root / "deny.json").write_text(
        json.dumps({"rules": [{"effect": "deny", "kinds": ["tool"], "reason": "no tools today"}]})
    )
    code, out = invoke(
        ws, "run", "progs.py:publisher", "--arg", "text=x", "--tool", "progs.py:publish",
        "--policy", "deny.json", "--state-dir", ws.state, "--quiet",
    )  # fmt: skip
    assert code == 1
    assert "PermissionDenied: no tools today" in out


def test_tools_by_reference_run_without_a_policy(ws: Workspace) -> None:
    code, out = invoke(
        ws, "run", "progs.py:publisher", "--arg", "text=hi", "--tool", "progs.py:publish",
        "--tool", "llmagentos.tools:BUILTIN_TOOLS", "--state-dir", ws.state, "--quiet",
    )  # fmt: skip
    assert code == 0, out
    assert "published hi" in out


def test_ps_logs_and_control_on_a_missing_state_dir(ws: Workspace) -> None:
    for args in (["ps"], ["logs", "1"], ["kill", "1"], ["approvals", "list"]):
        code, out = invoke(ws, *args, "--state-dir", "nowhere")
        assert code == 1, args
        assert "no llmagentos state in nowhere" in out
    assert not (ws.root / "nowhere").exists()


def test_unknown_pids_are_clean_errors(ws: Workspace) -> None:
    code, _ = invoke(ws, "run", "progs.py:markup", "--state-dir", ws.state, "--quiet")
    assert code == 0
    for args in (["logs", "7"], ["kill", "7"], ["suspend", "7"], ["resume", "7"]):
        code, out = invoke(ws, *args, "--state-dir", ws.state)
        assert code == 1, args
        assert "no process with pid 7" in out
    code, out = invoke(ws, "kill", "1", "--state-dir", ws.state)
    assert code == 0 and "already ended (done)" in out


def test_version_and_help(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and "version" in result.output
    result = CliRunner().invoke(main, ["run", "--help"])
    assert "--policy" in result.output and "--tool" in result.output
