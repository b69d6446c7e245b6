"""Scoring model replies the way the ReAct agent reads them."""

from __future__ import annotations

import json

from llmagentos.learning import corpus
from llmagentos.learning.corpus import Target
from llmagentos.learning.evaluate import contains, run_eval, score, summarize

CALL = Target("tool", True, tool="order_status", arguments={"order_id": "K-1234"})
OFFERED = ("order_status", "calculator")


def test_a_right_call_is_valid_chosen_and_exact() -> None:
    reply = 'Let me check. {"tool": "order_status", "arguments": {"order_id": "K-1234"}}'
    assert score("order", CALL, OFFERED, reply).checks == {
        "tool_valid": True,
        "tool_choice": True,
        "tool_arguments": True,
    }


def test_wrong_tool_bad_arguments_and_broken_json() -> None:
    other = '{"tool": "calculator", "arguments": {"expression": "1 + 1"}}'
    assert score("order", CALL, OFFERED, other).checks["tool_choice"] is False
    assert score("order", CALL, OFFERED, other).checks["tool_valid"] is True
    missing = '{"tool": "order_status", "arguments": {"id": "K-1234"}}'
    assert score("order", CALL, OFFERED, missing).checks["tool_valid"] is False
    unoffered = '{"tool": "get_weather", "arguments": {"city": "Oslo"}}'
    assert score("order", CALL, OFFERED, unoffered).checks["tool_valid"] is False
    broken = '{"tool": "order_status", "arguments": {"order_id": "K-1234"'
    assert score("order", CALL, OFFERED, broken).checks["tool_valid"] is False
    assert score("order", CALL, OFFERED, '{"answer": "shipped"}').checks["tool_valid"] is False


def test_answers_must_contain_the_fact_as_whole_words() -> None:
    target = Target("answer", True, fact="7 am")
    assert score("qa", target, (), '{"answer": "It opens at 7 am."}').checks["answer"]
    assert not score("qa", target, (), '{"answer": "It opens at 17 am."}').checks["answer"]
    assert not score("qa", target, (), "It opens at 7 am.").checks["answer"]  # not ReAct JSON
    plain = Target("answer", False, fact="7 am")
    assert score("qa", plain, (), "It opens at 7 AM.").checks["answer"]
    assert contains("Price: $249.", "$249") and not contains("$2490", "$249")


def test_labels_moves_and_desk_replies() -> None:
    label = Target("label", False, label="refund")
    assert score("c", label, (), "refund").checks["label"]
    assert not score("c", label, (), "refund, maybe cancel_order").checks["label"]
    move = Target(
        "move",
        True,
        tool="env_step",
        arguments={"env_id": "m", "action": "down"},
        good_moves=("down", "left"),
    )
    call = json.dumps({"tool": "env_step", "arguments": {"env_id": "m", "action": "left"}})
    checks = score("maze", move, ("env_step",), call).checks
    assert checks["move"] and checks["tool_valid"] and not checks["tool_arguments"]


def test_run_eval_with_a_perfect_model_scores_everything_one() -> None:
    examples = corpus.eval_set(seed=0, per_task=3)
    answers = {
        json.dumps(prompt): message["content"]
        for ex in examples
        for prompt, message, _ in ex.turns()
    }

    def oracle(prompts: list[list[dict[str, str]]], tools: list[tuple[str, ...]]) -> list[str]:
        assert len(tools) == len(prompts)
        return [answers[json.dumps(p)] for p in prompts]

    figures, scores = run_eval(oracle, examples, batch_size=7)
    assert len(scores) == figures["turns"] == sum(len(ex.targets) for ex in examples)
    for metric in (
        "tool_call_valid_rate",
        "tool_choice_accuracy",
        "classifier_accuracy",
        "answer_exact_or_contained_rate",
        "maze_move_accuracy",
        "summary_lead_rate",
        "desk_reply_accuracy",
        "translation_exact_rate",
        "recommend_picks_accuracy",
    ):
        assert figures[metric] == 1.0, metric
    assert summarize([])["turns"] == 0


def test_translations_must_match_and_picks_must_be_the_right_set() -> None:
    tr = Target("translation", False, fact="J'aime cette lampe.")
    assert score("translate", tr, (), "j'aime cette lampe").checks["translation"]
    assert not score("translate", tr, (), "J'aime ce lampe.").checks["translation"]
    picks = Target("picks", False, fact="dune\nhyperion")
    good = "hyperion: science fiction like Dune.\ndune: the same."
    assert score("recommend", picks, (), good).checks["picks"]
    assert not score("recommend", picks, (), "dune: yes.").checks["picks"]
    assert not score("recommend", picks, (), "dune: a\nhyperion: b\ncosmos: c").checks["picks"]


def test_correction_recovery_asks_again_only_after_an_unusable_call() -> None:
    from llmagentos.learning.evaluate import correction_recovery

    examples = [e for e in corpus.eval_set(seed=0, per_task=2) if e.task == "weather"]
    right = {
        json.dumps(prompt): message["content"]
        for ex in examples
        for prompt, message, _ in ex.turns()
    }
    asked: list[list[dict[str, str]]] = []

    def model_that_fixes_itself_when_told(
        prompts: list[list[dict[str, str]]], tools: list[tuple[str, ...]]
    ) -> list[str]:
        assert all("get_weather" in t for t in tools)
        asked.extend(prompts)
        out = []
        for p in prompts:
            if p[-1]["content"].startswith("Your last reply could not be used"):
                out.append(right[json.dumps(p[:-2])])  # the correct call, second time
            elif p[-1]["role"] == "user":
                out.append('{"tool": "get_weather", "arguments": {"city": "Par')  # cut off
            else:
                out.append(right[json.dumps(p)])
        return out

    _, scores = run_eval(model_that_fixes_itself_when_told, examples)
    assert sum(not s.checks.get("tool_valid", True) for s in scores) == len(examples)
    asked.clear()
    got = correction_recovery(model_that_fixes_itself_when_told, examples, scores)
    assert got == {"broken_calls": 2, "recovered": 2, "recovery_rate": 1.0}
    assert all(p[-2]["role"] == "assistant" and p[-1]["role"] == "user" for p in asked)
    # a usable reply (here: an answer where a call was due) is not corrected, as in the agent
    answered = [
        score("weather", s_t, ex.tools, '{"answer": "sunny"}')
        for ex in examples
        for _, _, s_t in ex.turns()
    ]
    assert (
        correction_recovery(model_that_fixes_itself_when_told, examples, answered)["broken_calls"]
        == 0
    )
