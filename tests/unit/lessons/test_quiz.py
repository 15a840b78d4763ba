"""The quiz: every question in the bank has a valid, recomputed answer key; grading; seeded attempts; scores."""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from collections import Counter

import pytest

from core.foundation import site_map
from core.lessons import decision, quiz
from core.lessons.simulator_settings import parse_query_params
from core.references import published
from core.simulation import closed_form, cost_model
from tests.conftest import ROOT

BANK = quiz.load_bank()
CHOICE = [q for q in BANK.questions if q.kind == "choice"]
NUMERIC = [q for q in BANK.questions if q.kind == "numeric"]


def _direct(question: quiz.Question) -> float:
    """The answer computed straight from core, without going through core.lessons.quiz's whitelist."""
    a = question.args
    match question.compute:
        case "expected_tokens_per_pass":
            return closed_form.expected_tokens_per_pass(a["alpha"], a["gamma"])
        case "walltime_speedup":
            return closed_form.walltime_speedup(a["alpha"], a["gamma"], a["cost_ratio"])
        case "optimal_gamma":
            return closed_form.optimal_gamma(a["alpha"], a["cost_ratio"])[0]
        case "optimal_speedup":
            return closed_form.optimal_gamma(a["alpha"], a["cost_ratio"])[1]
        case "speedup_lower_bound":
            return closed_form.speedup_lower_bound(a["alpha"], a["cost_ratio"])
        case "extra_compute_factor":
            return closed_form.extra_compute_factor(a["alpha"], a["gamma"], a["flops_ratio"])
        case "alpha_from_accept_length":
            return closed_form.alpha_from_accept_length(a["accept_length"], a["gamma"])
        case "probability_all_accepted":
            return closed_form.tokens_per_pass_pmf(a["alpha"], a["gamma"])[-1]
        case "accepted_drafts_per_pass":
            return a["completion_tokens"] / a["verify_passes"] - 1
        case "chain_draft_tokens":
            return decision.chain_draft_tokens(a["steps"])
    raise AssertionError(f"test does not know computation {question.compute}")


# ------------------------------------------------------------------------------------------ the bank


def test_bank_is_valid_with_every_cross_check():
    problems = quiz.validate_bank(
        BANK,
        known_sources=published.load_references(),
        simulator_ids=quiz.simulator_choices(),
    )
    assert problems == []
    assert len(BANK.questions) >= 25


def test_bank_mixes_every_kind_of_question():
    topics = Counter(q.topic for q in BANK.questions)
    assert set(topics) == {"concepts", "numbers", "scenarios", "sglang", "myths"}
    assert all(count >= 4 for count in topics.values()), topics
    assert len(NUMERIC) >= 8
    assert any(q.topic == "sglang" and q.kind == "numeric" for q in BANK.questions)


@pytest.mark.parametrize("question", NUMERIC, ids=lambda q: q.id)
def test_numeric_answer_is_recomputed_from_core(question):
    expected = quiz.expected_value(question)
    assert math.isfinite(expected)
    assert expected == pytest.approx(float(_direct(question)), rel=1e-12, abs=1e-12)
    assert question.tolerance > 0
    # Every input is shown in the prompt, so the learner can actually compute it.
    text = question.text()
    for value in question.args.values():
        assert str(value) in text


@pytest.mark.parametrize("question", NUMERIC, ids=lambda q: q.id)
def test_numeric_grading_uses_the_tolerance(question):
    expected = quiz.expected_value(question)
    tol = question.tolerance
    assert quiz.grade(question, f"{expected:.6f}").correct
    assert quiz.grade(question, expected + 0.9 * tol).correct
    assert quiz.grade(question, str(expected - 0.9 * tol)).correct
    wrong = quiz.grade(question, expected + 1.5 * tol)
    assert wrong.valid and not wrong.correct
    assert quiz.format_expected(question) in wrong.message


def test_numeric_answer_follows_the_arguments_not_a_stored_value():
    question = BANK.question("numbers-tokens-per-pass")
    changed = dataclasses.replace(question, args={"alpha": 0.5, "gamma": 4})
    assert quiz.expected_value(changed) == pytest.approx(closed_form.expected_tokens_per_pass(0.5, 4))
    assert quiz.expected_value(changed) != pytest.approx(quiz.expected_value(question))
    assert "0.5" in changed.text()


@pytest.mark.parametrize("question", CHOICE, ids=lambda q: q.id)
def test_choice_answer_key_is_in_range_and_only_that_option_is_right(question):
    assert 0 <= question.answer < len(question.options)
    results = [quiz.grade(question, index) for index in range(len(question.options))]
    assert [r.correct for r in results] == [i == question.answer for i in range(len(question.options))]
    assert all(r.valid and r.explanation == question.explanation for r in results)


def test_every_question_explains_and_links_to_existing_pages():
    registered = set(site_map.URL_PATHS)  # the pages app.py registers
    for question in BANK.questions:
        assert len(question.explanation) > 40, question.id
        if question.link is not None:
            assert (ROOT / question.link.page).is_file(), question.link.page
            assert question.link.page in registered, question.link.page
    assert sum(q.link is not None for q in BANK.questions) >= 0.7 * len(BANK.questions)


def test_simulator_links_are_accepted_by_the_simulator_without_warnings():
    choices = quiz.simulator_choices()
    links = [q.link for q in BANK.questions if q.link is not None and q.link.page == "pages/simulator.py"]
    assert links
    for link in links:
        values, warnings = parse_query_params({k: str(v) for k, v in link.query.items()}, choices=choices)
        assert warnings == []
        assert set(values) == set(link.query)


def test_myths_from_the_seed_notebook_are_covered():
    prompts = " ".join(" ".join((q.prompt, *q.options)).lower() for q in BANK.questions if q.topic == "myths")
    for myth in ("never slower", "5 draft tokens", "1.3", "quality"):
        assert myth in prompts, myth


# ----------------------------------------------------------------------------------- validation


def _one(question: quiz.Question) -> quiz.Bank:
    return quiz.Bank(BANK.topics, (question,), BANK.title)


def _problems(question: quiz.Question, **kwargs) -> list[str]:
    return quiz.validate_bank(_one(question), min_questions=1, **kwargs)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"answer": 7}, "out of range"),
        ({"answer": -1}, "out of range"),
        ({"answer": None}, "index of the right option"),
        ({"answer": True}, "index of the right option"),
        ({"options": ("only one",), "answer": 0}, "at least two options"),
        ({"options": ("same", "same"), "answer": 0}, "repeat"),
        ({"topic": "astrology"}, "not in [topics]"),
        ({"explanation": ""}, "explanation"),
        ({"kind": "essay"}, "kind must be"),
        ({"link": quiz.Link("pages/nowhere.py", "x")}, "not one of"),
        ({"link": quiz.Link("pages/simulator.py", "x", {"speed": 3})}, "unknown simulator query keys"),
        ({"link": quiz.Link("pages/simulator.py", "x", {"section": "magic"})}, "section must be"),
        ({"link": quiz.Link("pages/how_it_works.py", "x", {"alpha": 0.5})}, "only simulator links"),
        ({"link": quiz.Link("pages/simulator.py", "")}, "needs a label"),
    ],
)
def test_validation_catches_broken_choice_questions(change, fragment):
    question = dataclasses.replace(BANK.question("concept-bonus-token"), **change)
    problems = _problems(question)
    assert any(fragment in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"compute": "os.system"}, "not one of"),
        ({"args": {"alpha": 0.8}}, "takes arguments"),
        ({"args": {"alpha": 1.5, "gamma": 4}}, "computing the answer failed"),
        ({"args": {"alpha": float("nan"), "gamma": 4}}, "finite numbers"),
        ({"tolerance": 0}, "tolerance must be a positive number"),
        ({"tolerance": -0.1}, "tolerance must be a positive number"),
        ({"tolerance": None}, "tolerance must be a positive number"),
        ({"tolerance": 50.0}, "would accept 0"),
        ({"prompt": "Alpha is {alpha}. What is E[N]?"}, "missing ['gamma']"),
        ({"prompt": "{alpha} {gamma} {beta}"}, "not arguments"),
        ({"decimals": 9}, "decimals"),
        ({"answer": 2}, "not an answer"),
    ],
)
def test_validation_catches_broken_numeric_questions(change, fragment):
    question = dataclasses.replace(BANK.question("numbers-tokens-per-pass"), **change)
    problems = _problems(question)
    assert any(fragment in problem for problem in problems), problems


def test_validation_checks_duplicates_sources_pages_and_simulator_values(tmp_path):
    question = BANK.question("concept-bonus-token")
    twice = quiz.Bank(BANK.topics, (question, question), BANK.title)
    assert any("appears twice" in p for p in quiz.validate_bank(twice, min_questions=1))

    cited = dataclasses.replace(question, sources=("no-such-paper",))
    assert any("unknown source" in p for p in _problems(cited, known_sources=published.load_references()))

    assert any("does not exist" in p for p in _problems(question, pages_dir=tmp_path))

    bad_value = dataclasses.replace(
        question, link=quiz.Link("pages/simulator.py", "x", {"hardware": "abacus"})
    )
    assert any("abacus" in p for p in _problems(bad_value, simulator_ids=quiz.simulator_choices()))
    assert quiz.validate_bank(BANK, min_questions=len(BANK.questions) + 1)[0].startswith("the bank has")


def test_load_bank_reports_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(quiz.BankError, match="cannot read"):
        quiz.load_bank(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[topics\nx = 1")
    with pytest.raises(quiz.BankError, match="not valid TOML"):
        quiz.load_bank(broken)
    partial = tmp_path / "partial.toml"
    partial.write_text('[topics]\na = "A"\n[[questions]]\nid = "q1"\ntopic = "a"\n')
    with pytest.raises(quiz.BankError) as error:
        quiz.load_bank(partial)
    assert any("missing field" in problem for problem in error.value.problems)


# -------------------------------------------------------------------------------------- grading


@pytest.mark.parametrize(
    "answer", [None, "", "   ", "abc", "nan", "NaN", "inf", "-inf", "1e999", "2.5.1", "x"]
)
def test_unusable_numeric_answers_are_not_graded(answer):
    question = BANK.question("numbers-speedup")
    result = quiz.grade(question, answer)
    assert not result.valid and not result.correct
    assert "enter a number" in result.message
    assert result.expected == quiz.format_expected(question)


def test_numeric_answers_accept_common_notations():
    question = BANK.question("numbers-speedup")
    value = quiz.expected_value(question)
    for text in (
        f"{value:.3f}",
        f" {value:.3f} ",
        f"{value:.3f}x",
        f"{value:.3f} ×",
        f"{value:.3f}".replace(".", ","),
    ):
        assert quiz.grade(question, text).correct, text
    assert quiz.grade(question, float(value)).correct
    assert quiz.parse_number("1,5") == 1.5
    with pytest.raises(ValueError):
        quiz.parse_number("1,000,5")


@pytest.mark.parametrize("answer", [None, -1, 99, "0", 1.0, True])
def test_unusable_choice_answers_are_not_graded(answer):
    result = quiz.grade(BANK.question("concept-bonus-token"), answer)
    assert not result.valid and not result.correct
    assert result.message == "Choose one option."


# ----------------------------------------------------------------------------------- attempts


def test_attempt_is_reproducible_from_its_seed_and_independent_of_input_order():
    first = quiz.draw_attempt(2024, BANK.questions)
    again = quiz.draw_attempt(2024, tuple(reversed(BANK.questions)))
    other = quiz.draw_attempt(2025, BANK.questions)
    assert first.question_ids == again.question_ids
    assert first.option_orders == again.option_orders
    assert first.question_ids != other.question_ids
    assert sorted(first.question_ids) == sorted(q.id for q in BANK.questions)


def test_option_orders_are_permutations_and_hide_the_answer_position():
    positions = Counter()
    for seed in range(200):
        attempt = quiz.draw_attempt(seed, BANK.questions)
        for question in CHOICE:
            order = attempt.option_order(question)
            assert sorted(order) == list(range(len(question.options)))
            if not question.shuffle:
                assert order == tuple(range(len(question.options)))
            elif len(question.options) == 4:
                positions[order.index(question.answer)] += 1
    # Over many attempts the right option appears in every position about equally often.
    assert set(positions) == {0, 1, 2, 3}
    assert min(positions.values()) > 0.2 * sum(positions.values())


def test_short_attempt_spreads_over_every_topic():
    for seed in range(20):
        attempt = quiz.draw_attempt(seed, BANK.questions, count=10)
        assert len(attempt.question_ids) == 10
        assert {BANK.question(q).topic for q in attempt.question_ids} == set(BANK.topics)
    assert len(quiz.draw_attempt(1, BANK.questions, count=1000).question_ids) == len(BANK.questions)


@pytest.mark.parametrize("seed", [-1, 1.5, True, "7", None])
def test_invalid_seeds_are_refused(seed):
    with pytest.raises(ValueError, match="seed"):
        quiz.draw_attempt(seed, BANK.questions)


def test_draw_attempt_refuses_empty_and_bad_counts():
    with pytest.raises(ValueError):
        quiz.draw_attempt(1, [])
    with pytest.raises(ValueError):
        quiz.draw_attempt(1, BANK.questions, count=0)


def _answer_all(attempt: quiz.Attempt, wrong_every: int) -> set[str]:
    """Answer every question, wrongly for every ``wrong_every``-th one; returns the ids answered wrongly."""
    wrong = set()
    number = 0
    while (question_id := attempt.current()) is not None:
        number += 1
        question = BANK.question(question_id)
        right = number % wrong_every != 0
        if question.kind == "choice":
            given = question.answer if right else (question.answer + 1) % len(question.options)
        else:
            given = quiz.expected_value(question) + (0 if right else 10 * question.tolerance + 1)
        attempt.record(question_id, str(given), quiz.grade(question, given))
        if not right:
            wrong.add(question_id)
    return wrong


def test_score_per_topic_and_retry_of_missed_questions():
    attempt = quiz.draw_attempt(7, BANK.questions)
    wrong = _answer_all(attempt, wrong_every=4)
    assert attempt.finished and attempt.current() is None
    result = quiz.score(attempt, BANK)
    total = len(BANK.questions)
    assert (result.correct, result.answered, result.total) == (total - len(wrong), total, total)
    assert set(result.missed) == wrong
    for topic in result.by_topic:
        ids = [q.id for q in BANK.questions if q.topic == topic.topic]
        assert topic.total == topic.answered == len(ids)
        assert topic.correct == sum(qid not in wrong for qid in ids)
        assert topic.label == BANK.topics[topic.topic]
    assert sum(t.correct for t in result.by_topic) == result.correct

    retry = quiz.retry_missed(attempt, BANK)
    assert sorted(retry.question_ids) == sorted(wrong)
    assert retry.round == 2 and retry.seed == attempt.seed and not retry.answers
    assert quiz.retry_missed(attempt, BANK).question_ids == retry.question_ids  # reproducible
    _answer_all(retry, wrong_every=10**9)
    assert quiz.score(retry, BANK).missed == ()
    with pytest.raises(ValueError, match="no missed"):
        quiz.retry_missed(retry, BANK)


def test_attempt_refuses_invalid_grades_and_foreign_questions():
    attempt = quiz.draw_attempt(3, BANK.questions, count=5)
    question = BANK.question(attempt.current())
    with pytest.raises(ValueError, match="could not be graded"):
        attempt.record(question.id, "", quiz.grade(question, None))
    outside = next(q for q in BANK.questions if q.id not in attempt.question_ids)
    with pytest.raises(ValueError, match="not part of this attempt"):
        attempt.record(outside.id, "1", quiz.grade(outside, 0 if outside.kind == "choice" else "1"))
    assert attempt.answers == {}
    partial = quiz.score(attempt, BANK)
    assert (partial.answered, partial.percent) == (0, 0.0)


def test_downloadable_summaries_match_the_attempt():
    attempt = quiz.draw_attempt(11, BANK.questions, count=10)
    wrong = _answer_all(attempt, wrong_every=3)
    rows = list(csv.DictReader(io.StringIO(quiz.summary_csv(attempt, BANK))))
    assert [row["id"] for row in rows] == list(attempt.question_ids)
    assert {row["id"] for row in rows if row["result"] == "wrong"} == wrong
    assert all(row["right_answer"] == quiz.format_expected(BANK.question(row["id"])) for row in rows)

    report = quiz.summary_markdown(attempt, BANK)
    result = quiz.score(attempt, BANK)
    assert f"Score **{result.correct} / {result.answered}**" in report
    assert f"seed **{attempt.seed}**" in report
    for question_id in wrong:
        assert BANK.question(question_id).explanation in report
    for question_id in set(attempt.question_ids) - wrong:
        assert BANK.question(question_id).explanation not in report


def test_cost_model_presets_named_by_links_exist():
    presets = cost_model.load_presets()
    for question in BANK.questions:
        if question.link and question.link.query:
            query = question.link.query
            assert query.get("hardware", "h100-sxm") in presets.hardware
            assert query.get("target", "llama-3.1-8b") in presets.targets
            assert query.get("draft", "ngram") in presets.drafts


# ------------------------------------------------------------------ helpers the page uses
@pytest.mark.parametrize(("text", "seed"), [("2024", 2024), (" 7 ", 7), ("0", 0), ("999999", 999_999)])
def test_attempt_seed_is_a_whole_number_in_range(text, seed):
    assert quiz.parse_attempt_seed(text) == seed


@pytest.mark.parametrize(
    ("text", "shown"),
    [("", "nothing"), (None, "nothing"), ("-3", "`-3`"), ("1e3", "`1e3`"), ("1000000", "`1000000`")],
)
def test_bad_attempt_seed_says_what_was_entered(text, shown):
    with pytest.raises(ValueError, match="whole number from 0 to 999999") as info:
        quiz.parse_attempt_seed(text)
    assert f"you entered {shown}." in str(info.value)


def test_given_text_fits_bank_and_topics_frame():
    bank = quiz.load_bank()
    choice = next(q for q in bank.questions if q.kind == "choice")
    numeric = next(q for q in bank.questions if q.kind == "numeric")
    assert quiz.given_text(choice, 1) == choice.options[1]
    assert quiz.given_text(numeric, " 2.5 ") == "2.5"
    attempt = quiz.draw_attempt(3, bank.questions, 10)
    assert quiz.fits_bank(attempt, bank)
    assert not quiz.fits_bank(
        dataclasses.replace(attempt, question_ids=(*attempt.question_ids, "gone")), bank
    )
    question = bank.question(attempt.current())
    attempt.record(question.id, "x", quiz.Grade(correct=True, expected="x", explanation=""))
    frame = quiz.topics_frame(quiz.score(attempt, bank))
    assert list(frame.columns) == ["topic", "right", "answered", "percent"]
    assert frame["answered"].sum() == 1 and frame["right"].sum() == 1
    assert frame.loc[frame["answered"] == 1, "percent"].iloc[0] == 100


# ------------------------------------------------------------------- SGLang flag names in the teaching text


def sglang_flag_problems(text: str) -> list[str]:
    """Flags in ``text`` that no known SGLang release has, or that the newest release lacks while the text
    names no release (sglang-review #1: ``--cuda-graph-max-bs`` is refused by 0.5.21 and later)."""
    import re

    from core.serving.launch import DEFAULT_RELEASE, flag_table, known_releases

    every = set().union(*(flag_table(release) for release in known_releases()))
    newest = set(flag_table(DEFAULT_RELEASE))
    problems = []
    for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*[a-z0-9]", text):
        if flag not in every:
            problems.append(f"{flag}: no SGLang release has it")
        elif flag not in newest and not re.search(r"\b0\.5\.\d+", text):
            problems.append(
                f"{flag}: SGLang {DEFAULT_RELEASE} has no such flag and the text names no release"
            )
    return problems


def test_quiz_and_glossary_name_only_flags_of_the_release_they_describe():
    from core.lessons import walkthrough

    texts = {}
    for q in BANK.questions:
        texts[q.id] = [q.prompt, q.explanation] + ([q.options[q.answer]] if q.kind == "choice" else [])
    terms, myths = walkthrough.load_glossary()
    for entry in (*terms, *myths):
        texts[f"glossary {entry}"] = [str(value) for value in dataclasses.asdict(entry).values()]
    problems = {
        key: p for key, parts in texts.items() if (p := [x for t in parts for x in sglang_flag_problems(t)])
    }
    assert problems == {}
    # The check itself catches the old, unqualified advice.
    assert sglang_flag_problems("lower --mem-fraction-static, lower --cuda-graph-max-bs")
    assert not sglang_flag_problems(
        "--cuda-graph-max-bs up to 0.5.12, --cuda-graph-max-bs-decode from 0.5.17"
    )
