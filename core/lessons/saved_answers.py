"""Quiz attempts and the deployment wizard's answers in the class store, and back.

* :func:`quiz_item`: an attempt (seed, order, answers so far) as a store item, with one row per answer
  (question, topic, right or not) for the instructor's scores per topic. Saved again after every answer:
  the item key names the attempt (seed and round), so a later save replaces the earlier one.
* :func:`restore_attempt`: the latest saved attempt whose questions are all still in the bank.
* :func:`wizard_item` / :func:`restore_wizard`: the wizard's inputs (only known keys of plain types).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core.lessons.quiz import Answer, Attempt, Bank
from core.store.saved_work import StoredItem, WorkItem

__all__ = [
    "attempt_from_dict",
    "attempt_to_dict",
    "quiz_item",
    "restore_attempt",
    "restore_wizard",
    "wizard_item",
]

WIZARD_KEY = "wizard"


def attempt_to_dict(attempt: Attempt) -> dict:
    """An attempt as plain JSON-ready data."""
    return {
        "seed": attempt.seed,
        "round": attempt.round,
        "question_ids": list(attempt.question_ids),
        "option_orders": {qid: list(order) for qid, order in attempt.option_orders.items()},
        "answers": {
            qid: {"given": a.given, "correct": a.correct, "expected": a.expected}
            for qid, a in attempt.answers.items()
        },
    }


def attempt_from_dict(data: Mapping, bank: Bank) -> Attempt:
    """The attempt back; ``ValueError`` when it is malformed or names a question the bank no longer has."""
    try:
        ids = tuple(str(q) for q in data["question_ids"])
        known = {q.id for q in bank.questions}
        if not ids or any(q not in known for q in ids):
            raise ValueError("the saved attempt names questions this quiz no longer has")
        answers = {
            str(qid): Answer(str(qid), str(a["given"]), bool(a["correct"]), str(a["expected"]))
            for qid, a in dict(data["answers"]).items()
            if qid in ids
        }
        orders = {
            str(qid): tuple(int(i) for i in order) for qid, order in dict(data["option_orders"]).items()
        }
        return Attempt(
            seed=int(data["seed"]),
            question_ids=ids,
            answers=answers,
            round=int(data["round"]),
            option_orders=orders,
        )
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"the saved attempt is malformed ({error})") from None


def quiz_item(attempt: Attempt, bank: Bank) -> WorkItem:
    """The attempt as a store item with one row per answer given."""
    rows = [
        {"question_id": qid[:100], "topic": bank.question(qid).topic[:100], "correct": bool(answer.correct)}
        for qid, answer in attempt.answers.items()
    ]
    key = f"s{attempt.seed}-r{attempt.round}"
    return WorkItem(
        "quiz", key, attempt_to_dict(attempt), f"quiz answers (seed {attempt.seed})", quiz_rows=rows
    )


def restore_attempt(items: Sequence[StoredItem], bank: Bank) -> Attempt | None:
    """The most recently saved attempt that still fits the bank, or None."""
    for item in sorted(items, key=lambda i: i.created_at, reverse=True):
        if item.kind != "quiz":
            continue
        try:
            return attempt_from_dict(item.payload, bank)
        except ValueError:
            continue
    return None


def wizard_item(answers: Mapping[str, object], allowed: Mapping[str, object]) -> WorkItem:
    """The wizard's inputs (keys of ``allowed``, the page's defaults) as a store item."""
    payload = {k: v for k, v in answers.items() if k in allowed and isinstance(v, str | int | float | bool)}
    return WorkItem("wizard", WIZARD_KEY, payload, "wizard answers")


def restore_wizard(items: Sequence[StoredItem], allowed: Mapping[str, object]) -> dict[str, object]:
    """Saved wizard inputs whose key is known and whose type matches the default's (others are dropped)."""
    for item in reversed(items):
        if item.kind == "wizard":
            return {
                k: v
                for k, v in item.payload.items()
                if k in allowed and type(v) is type(allowed[k])  # a float default needs a float back
            }
    return {}
