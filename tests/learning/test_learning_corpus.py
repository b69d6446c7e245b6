"""The generated corpus: deterministic, held-out eval prompts, and every target parses."""

from __future__ import annotations

import json

from llmagentos.learning import corpus
from llmagentos.learning.corpus import pools
from llmagentos.learning.corpus.maze import best_move, good_moves
from llmagentos.learning.corpus.tools import SPECS, system_prompt
from llmagentos.llm.toolcalls import parse_model_output
from llmagentos.sdk.react import DEFAULT_SYSTEM, describe_tools
from llmagentos.tools import calculator


def test_same_seed_same_corpus_other_seed_other_corpus() -> None:
    a = [e.to_json() for e in corpus.generate(300, seed=1)]
    b = [e.to_json() for e in corpus.generate(300, seed=1)]
    c = [e.to_json() for e in corpus.generate(300, seed=2)]
    assert a == b
    assert a != c


def test_every_task_is_in_the_mixture() -> None:
    tasks = {e.task for e in corpus.generate(600, seed=0)}
    assert {"calculator", "order", "qa", "retrieval", "summary", "maze", "desk"} <= tasks
    assert {"classify_sentiment", "classify_intent"} <= tasks


def test_eval_prompts_are_not_in_the_training_corpus() -> None:
    train = corpus.generate(6000, seed=0)
    held = corpus.eval_set(seed=0, per_task=30)
    assert not corpus.user_prompts(held) & corpus.user_prompts(train)
    assert "echo" not in {e.task for e in held}  # the auxiliary drill is not evaluated


def test_held_out_entities_never_occur_in_training_text() -> None:
    import random

    text = " ".join(m["content"] for e in corpus.generate(6000, seed=0) for m in e.messages)
    rng = random.Random(0)
    for names in (pools.PLACES, pools.PRODUCTS, pools.PEOPLE, pools.COMPANIES):
        held = names.pick_n(rng, "eval", 50)
        assert all(pools.held_out(n) for n in held)
        assert not [n for n in held if n in text]
        assert not any(pools.held_out(n) for n in names.pick_n(rng, "train", 50))


def test_assistant_turns_parse_as_the_react_agent_parses_them() -> None:
    for example in corpus.generate(800, seed=3):
        for _, message, target in example.turns():
            parsed = parse_model_output(message["content"])
            if target.tool is not None:
                assert [c.name for c in parsed.tool_calls] == [target.tool]
                assert json.loads(parsed.tool_calls[0].arguments) == target.arguments
                assert target.tool in example.tools
            elif target.react:
                assert parsed.answer is not None and not parsed.tool_calls
            if target.fact and target.kind in ("answer", "summary"):
                answer = parsed.answer if target.react else message["content"]
                assert answer is not None and target.fact.lower() in answer.lower()


def test_system_prompt_is_the_react_agents_own() -> None:
    expected = DEFAULT_SYSTEM.replace("{tools}", describe_tools((calculator.spec,)))
    assert system_prompt(["calculator"]) == expected
    assert SPECS["calculator"] == calculator.spec


def test_calculator_targets_match_the_real_tool() -> None:
    for example in corpus.generate(400, seed=5):
        if example.task == "calculator":
            call, answer = example.targets
            assert call.arguments is not None
            result = calculator(call.arguments["expression"])
            assert answer.fact == json.dumps(result)


def test_maze_moves_get_closer_to_the_goal() -> None:
    assert good_moves(1, 1, (3, 1), ["up", "down", "left"]) == ["down"]
    assert best_move(1, 1, (3, 3), ["right", "down"]) == "down"
    assert best_move(2, 2, (0, 0), ["left", "up"]) == "up"
    for example in corpus.generate(300, seed=4):
        if example.task == "maze":
            (target,) = example.targets
            assert target.good_moves


def test_labelled_texts_cover_every_label() -> None:
    rows = corpus.labelled_texts(0, 300, "train", "intent")
    assert {label for _, label in rows} == {
        "order_status",
        "refund",
        "cancel_order",
        "complaint",
        "greeting",
    }
    assert rows == corpus.labelled_texts(0, 300, "train", "intent")


def test_the_first_mixture_is_unchanged_by_the_second() -> None:
    # The shipped model's first stages were trained on v1: adding v2 must not move it.
    v1 = corpus.generate(400, seed=0)
    assert not {e.task for e in v1} & (set(corpus.TASKS_V2) - set(corpus.TASKS))
    assert [e.to_json() for e in v1] == [
        e.to_json() for e in corpus.generate(400, 0, "train", "v1")
    ]
    v2 = corpus.generate(1500, seed=0, mixture="v2")
    assert {"desk_react", "recommend", "translate", "echo_long"} <= {e.task for e in v2}


def test_second_mixture_keeps_eval_prompts_and_held_out_names_out() -> None:
    import random

    train = corpus.generate(8000, seed=0, mixture="v2")
    held = corpus.eval_set(seed=0, per_task=30)
    assert {"desk_react", "recommend", "translate"} <= {e.task for e in held}
    assert not {"echo", "echo_long"} & {e.task for e in held}
    assert not corpus.user_prompts(held) & corpus.user_prompts(train)
    text = " ".join(m["content"] for e in train for m in e.messages)
    rng = random.Random(1)
    for names in (pools.PLACES, pools.PEOPLE, pools.COMPANIES):
        assert not [n for n in names.pick_n(rng, "eval", 50) if n in text]
    held_fr = {e.targets[0].fact for e in held if e.task == "translate"}
    train_fr = {e.targets[0].fact for e in train if e.task == "translate"}
    assert held_fr and not held_fr & train_fr  # whole held-out sentences never trained


def test_second_mixture_turns_parse_and_name_their_targets() -> None:
    for example in corpus.generate(1500, seed=4, mixture="v2"):
        for prompt, message, target in example.turns():
            parsed = parse_model_output(message["content"])
            if target.tool is not None:
                assert [c.name for c in parsed.tool_calls] == [target.tool]
                assert json.loads(parsed.tool_calls[0].arguments) == target.arguments
            elif target.kind == "answer" and target.fact:
                answer = parsed.answer if target.react else message["content"]
                assert answer is not None and target.fact.lower() in answer.lower()
            elif target.kind == "picks":
                ids = [line.partition(":")[0] for line in message["content"].splitlines()]
                assert ids == (target.fact or "").split("\n")
                assert all(f"- {i} | " in prompt[-1]["content"] for i in ids)
            elif target.kind == "translation":
                assert message["content"] == target.fact
        if example.task == "desk_react":
            assert example.messages[1]["content"].startswith("Context: Q: ")
            assert "\nQuestion: " in example.messages[1]["content"]


def test_the_third_mixture_has_larger_mazes_and_the_first_does_not() -> None:
    def sizes(examples: list[corpus.Example]) -> set[int]:
        found = set()
        for e in examples:
            if e.task == "maze":
                user = next(m["content"] for m in e.messages if m["role"] == "user")
                found.add(int(user.split(" of a ")[1].split(" by ")[0]))
        return found

    assert max(sizes(corpus.generate(2000, seed=0))) == 9
    assert max(sizes(corpus.generate(2000, seed=0, mixture="v3"))) > 9


def _pools_with_extras() -> list[pools.Pool]:
    from llmagentos.learning.corpus import apps, classify, maze, passages, tooltasks

    found = [
        v
        for m in (tooltasks, apps, maze, passages)
        for v in vars(m).values()
        if isinstance(v, pools.Pool)
    ]
    found += [a.questions for _, attributes in passages.ENTITIES.values() for a in attributes]
    found += list(classify._FRAMES.values())
    return [p for p in found if p.extra]


def _words(frame: str) -> list[str]:
    import re

    return re.findall(r"\{\w+\}|[a-z']+", frame.lower())


def _trigrams(frame: str) -> set[tuple[str, ...]]:
    words = _words(frame)
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


_FUNCTION_WORDS = set(
    pools.shared(
        "a|an|the|to|of|in|on|for|me|my|i|it|is|at|and|or|be|do|does|what|which|how|can|could"
        "|will|would|please|that|this|any|now|about|with|you|your"
    )
)


def test_wide_phrasings_do_not_paraphrase_the_held_out_frames() -> None:
    # The extra phrasings widen training; they must not teach the held-out frames: no run
    # of three words in common (slots counted), and none of the words a held-out frame
    # brings that its pool's training frames lack ("staff", "headquarters", "forecast"...).
    extras = _pools_with_extras()
    assert len(extras) >= 27
    for pool in extras:
        held = set().union(*(_trigrams(f) for f in pool.held_out))
        trained = {w for f in pool.train for w in _words(f)}
        new = {w for f in pool.held_out for w in _words(f)} - trained - _FUNCTION_WORDS
        for frame in pool.extra:
            assert frame not in pool.train and frame not in pool.held_out
            assert not _trigrams(frame) & held, (frame, _trigrams(frame) & held)
            assert not set(_words(frame)) & new, (frame, set(_words(frame)) & new)


def test_the_wide_split_adds_phrasings_only_where_asked() -> None:
    import random

    pool = pools.Pool(("a",), ("b",), ("c",))
    rng = random.Random(0)
    assert {pool.pick(rng, "train") for _ in range(50)} == {"a"}
    wide = {pool.pick(rng, "wide") for _ in range(200)}
    assert {w[-1] for w in wide} == {"a", "c"}  # the extra phrasing is drawn too...
    assert wide - {"a", "c"} <= {o + f for o in pools.OPENERS for f in "ac"}  # ...some
    assert len(wide) > 2  # after an opening
    assert {pool.pick(rng, "eval") for _ in range(50)} == {"b"}


def test_fourth_mixture_is_wide_tool_heavy_and_keeps_eval_prompts_out() -> None:
    v4 = corpus.generate(4000, seed=0, mixture="v4")
    v2 = corpus.generate(4000, seed=0, mixture="v2")
    extras = {f for p in _pools_with_extras() for f in p.extra}
    starts = {f.split("{")[0] for f in extras if not f.startswith("{") and len(f.split("{")[0]) > 8}
    users = [m["content"] for e in v4 for m in e.messages if m["role"] == "user"]
    assert any(u.startswith(tuple(starts)) for u in users)  # the extra phrasings are drawn
    assert not corpus.user_prompts(corpus.eval_set(0, 30)) & corpus.user_prompts(v4)
    tools = {"calculator", "weather", "memory"}

    def share(examples: list[corpus.Example]) -> float:
        return sum(e.task in tools for e in examples) / len(examples)

    assert share(v4) > share(v2)
    for example in v4[:800]:  # every turn is still one the ReAct parser reads
        for _, message, target in example.turns():
            if target.tool is not None:
                parsed = parse_model_output(message["content"])
                assert [c.name for c in parsed.tool_calls] == [target.tool]


def test_headlines_to_label_keep_their_eval_split_and_the_monitors_samples_out() -> None:
    import random

    from llmagentos.apps.sentiment_monitor.app import NEWS
    from llmagentos.learning.corpus.classify import NEWS as EVENTS
    from llmagentos.learning.corpus.classify import news_task

    train = [news_task(random.Random(i), "wide") for i in range(1500)]
    held = [news_task(random.Random(i), "eval") for i in range(300)]
    seen = {e.messages[0]["content"] for e in train}
    assert not seen & {e.messages[0]["content"] for e in held}
    assert {e.targets[0].label for e in held} == {"positive", "negative", "neutral"}
    # the demo's headlines are not phrases of the corpus: the demo shows unseen ones
    for item in NEWS:
        headline = item["headline"].lower()
        for phrases in EVENTS.values():
            assert not any(p.split("{")[0].strip() in headline for p in phrases)
    v5 = corpus.generate(2000, seed=0, mixture="v5")
    assert any(e.task == "classify_news" for e in v5)
    assert not corpus.user_prompts(corpus.eval_set(0, 30)) & corpus.user_prompts(v5)
