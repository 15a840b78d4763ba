"""core.lessons.saved_answers: quiz attempts and wizard inputs through the class store and back."""

from __future__ import annotations

from core.lessons import quiz
from core.lessons.saved_answers import quiz_item, restore_attempt, restore_wizard, wizard_item
from core.store.saved_work import StoredItem


def _answered_attempt(bank):
    attempt = quiz.draw_attempt(7, bank.questions, 4)
    for question_id in attempt.question_ids[:2]:
        question = bank.question(question_id)
        result = quiz.grade(question, 0 if question.kind == "choice" else "1")
        attempt.record(question_id, "x", result)
    return attempt


def test_an_attempt_round_trips_with_its_answers_and_topic_rows():
    bank = quiz.load_bank()
    attempt = _answered_attempt(bank)
    item = quiz_item(attempt, bank)
    assert item.kind == "quiz" and item.item_key == "s7-r1"
    assert [r["question_id"] for r in item.quiz_rows] == list(attempt.answers)
    assert {r["topic"] for r in item.quiz_rows} <= set(bank.topics)
    back = restore_attempt([StoredItem("quiz", item.item_key, dict(item.payload), 1.0)], bank)
    assert back == attempt


def test_the_latest_attempt_that_fits_the_bank_is_restored():
    bank = quiz.load_bank()
    attempt = _answered_attempt(bank)
    good = StoredItem("quiz", "a", quiz_item(attempt, bank).payload, 1.0)
    stale = StoredItem("quiz", "b", {**good.payload, "question_ids": ["gone"]}, 2.0)
    assert restore_attempt([good, stale], bank) == attempt
    assert restore_attempt([stale], bank) is None


def test_wizard_inputs_keep_only_known_keys_of_the_right_type():
    defaults = {"decision_task": "code", "decision_output": 300, "decision_temperature": 0.0}
    item = wizard_item({"decision_task": "chat", "decision_output": 500, "other": 1, "x": object()}, defaults)
    assert item.payload == {"decision_task": "chat", "decision_output": 500}
    saved = StoredItem("wizard", "wizard", {**item.payload, "decision_temperature": "hot"}, 1.0)
    assert restore_wizard([saved], defaults) == {"decision_task": "chat", "decision_output": 500}
