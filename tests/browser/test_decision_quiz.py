"""The Decision & quiz page in a real browser: the wizard's result, one answered question with its
explanation, and the final score, each saved as a screenshot to look at."""

import re

from playwright.sync_api import expect

from core.lessons import quiz
from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app

SEED = 2024
LENGTH = "10 questions"


def _open_page(page, base_url: str) -> None:
    page.goto(f"{base_url}/decision-quiz")
    wait_for_app(page)
    assert page.get_by_text("Page not found").count() == 0


def _wait_idle(page) -> None:
    page.wait_for_timeout(200)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=60_000)


def _open_quiz(page) -> None:
    page.get_by_role("tab", name=re.compile("Quiz")).click()
    _wait_idle(page)


def _start_seeded_attempt(page) -> None:
    seed_box = page.get_by_role("textbox", name="Attempt seed")
    seed_box.fill(str(SEED))
    seed_box.press("Enter")
    _wait_idle(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Length").click()
    page.get_by_role("option", name=LENGTH).click()
    _wait_idle(page)
    page.get_by_role("button", name="Start with this seed").click()
    _wait_idle(page)


def _answer_current(
    page, bank: quiz.Bank, attempt: quiz.Attempt, question_id: str, right: bool, shot: str = ""
) -> None:
    """Answer the question on screen: the right option/number, or a wrong one on purpose. ``shot``: name
    of a screenshot taken with the answer filled in, before checking it."""
    question = bank.question(question_id)
    panel = page.get_by_role("tabpanel", name=re.compile("Quiz"))
    if question.kind == "choice":
        index = question.answer if right else (question.answer + 1) % len(question.options)
        panel.get_by_test_id("stRadio").get_by_text(question.options[index], exact=True).click()
    else:
        value = quiz.expected_value(question) + (0 if right else 10 * question.tolerance + 1)
        panel.get_by_test_id("stForm").get_by_role("textbox").fill(f"{value:.4f}")
    if shot:
        screenshot(page, shot)
    panel.get_by_role("button", name="Check answer").click()
    _wait_idle(page)


def test_wizard_recommendation_renders(page, streamlit_server):
    _open_page(page, streamlit_server)
    assert_no_exception(page)
    # Default inputs: code completion at batch 1 with an EAGLE-3 head.
    expect(page.get_by_text("Use speculative decoding").first).to_be_visible()
    expect(page.get_by_text("--speculative-algorithm EAGLE3").first).to_be_visible()
    expect(page.get_by_text("Open this deployment in the Simulator")).to_be_visible()
    screenshot(page, "decision-wizard-batch1-code")

    # A busy creative-writing service without a draft: the verdict flips.
    page.get_by_test_id("stSelectbox").filter(has_text="Task").click()
    page.get_by_role("option", name=re.compile("Creative writing")).click()
    _wait_idle(page)
    batch = page.get_by_role("spinbutton", name="Concurrent requests (batch size)")
    batch.fill("64")
    batch.press("Enter")
    _wait_idle(page)
    page.get_by_text("No draft model or head").click()
    _wait_idle(page)
    assert_no_exception(page)
    expect(page.get_by_text("Don't use it here").first).to_be_visible()
    screenshot(page, "decision-wizard-batch64-creative")


def test_quiz_question_feedback_and_final_score(page, streamlit_server):
    bank = quiz.load_bank()
    attempt = quiz.draw_attempt(SEED, bank.questions, 10)
    _open_page(page, streamlit_server)
    _open_quiz(page)
    _start_seeded_attempt(page)
    panel = page.get_by_role("tabpanel", name=re.compile("Quiz"))
    expect(panel.get_by_text(f"seed {SEED}")).to_be_visible()

    first = attempt.question_ids[0]
    _answer_current(page, bank, attempt, first, right=False)
    assert_no_exception(page)
    expect(panel.get_by_text("Not quite")).to_be_visible()
    screenshot(page, "quiz-question-explanation")
    panel.get_by_role("button", name="Next question").click()
    _wait_idle(page)

    numeric_shot = "quiz-numeric-question"
    for number, question_id in enumerate(attempt.question_ids[1:], start=2):
        shot = numeric_shot if bank.question(question_id).kind == "numeric" else ""
        numeric_shot = numeric_shot if not shot else ""
        _answer_current(page, bank, attempt, question_id, right=number % 3 != 0, shot=shot)
        button = "See your result" if number == len(attempt.question_ids) else "Next question"
        panel.get_by_role("button", name=button).click()
        _wait_idle(page)

    assert_no_exception(page)
    wrong = 1 + sum(1 for n in range(2, len(attempt.question_ids) + 1) if n % 3 == 0)
    right = len(attempt.question_ids) - wrong
    expect(panel.get_by_text("Your result")).to_be_visible()
    expect(panel.get_by_text(f"{right} / {len(attempt.question_ids)}").first).to_be_visible()
    expect(panel.get_by_role("button", name=f"Retry the {wrong} missed question(s)")).to_be_visible()
    screenshot(page, "quiz-final-score")
