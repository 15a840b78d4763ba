"""The Decision & quiz page as an AppTest: the wizard follows core.lessons.decision, and a full quiz is answered
(some wrong on purpose), scored per topic, survives a page switch, and its missed questions are retried."""

from __future__ import annotations

from collections import Counter

from core.lessons import decision, quiz

PAGE = "pages/decision_quiz.py"
SEED = 31337
BANK = quiz.load_bank()


def _markdown(at) -> str:
    return "\n".join(element.value for element in at.markdown)


def _button(at, label: str):
    matches = [button for button in at.button if button.label == label]
    assert matches, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    return matches[0]


def _metric(at, label: str) -> str:
    return next(metric.value for metric in at.metric if metric.label == label)


# ------------------------------------------------------------------------------------------- wizard


def test_wizard_follows_core_recommendation_as_inputs_change(app_test):
    at = app_test(PAGE)
    assert not at.exception

    default = decision.recommend(decision.Deployment(task="code", output_tokens=300, draft="eagle3"))
    assert default.verdict == "use"
    assert at.success[0].value.startswith(f"**{default.verdict_label}**")
    code = at.code[0].value
    for flag in default.config.flags:
        assert flag in code
    link = next(str(node.proto) for node in at.get("page_link") if "Simulator" in str(node.proto))
    assert "section=cost" in link and f"alpha={default.alpha:.2f}" in link

    # A busy creative-writing service with no draft: the page must say no, for core's reasons.
    at.selectbox(key="decision_task").set_value("creative")
    at.number_input(key="decision_batch").set_value(64)
    at.radio(key="decision_draft").set_value("none")
    at.slider(key="decision_temperature").set_value(1.0)
    at.run()
    assert not at.exception
    expected = decision.recommend(
        decision.Deployment(task="creative", output_tokens=300, batch_size=64, temperature=1.0, draft="none")
    )
    assert expected.verdict == "avoid"
    assert at.error[0].value.startswith(f"**{expected.verdict_label}**")
    text = _markdown(at)
    for reason in expected.reasons:
        assert f"rule `{reason.rule}`" in text

    # The inputs survive a visit to another page.
    at.switch_page("pages/home.py")
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception
    assert at.number_input(key="decision_batch").value == 64
    assert at.selectbox(key="decision_task").value == "creative"
    assert at.error[0].value.startswith(f"**{expected.verdict_label}**")

    # Same deployment, but the model has MTP layers: NEXTN, measured first because of the batch size.
    at.checkbox(key="decision_mtp").check()
    at.run()
    expected = decision.recommend(
        decision.Deployment(
            task="creative", output_tokens=300, batch_size=64, temperature=1.0, draft="none", has_mtp=True
        )
    )
    assert expected.method == "NEXTN"
    shown = {"use": at.success, "measure": at.warning, "avoid": at.error}[expected.verdict]
    assert any(expected.verdict_label in element.value for element in shown)
    assert "--speculative-algorithm NEXTN" in at.code[0].value
    assert "--max-running-requests 64" in at.code[0].value


def test_wizard_memory_input_changes_the_verdict(app_test):
    at = app_test(PAGE)
    at.number_input(key="decision_headroom").set_value(1.0)
    at.run()
    assert not at.exception
    assert any("Don't use it here" in element.value for element in at.error)
    assert "rule `memory_tight`" in _markdown(at)


# --------------------------------------------------------------------------------------------- quiz


def _start(at, seed: int) -> quiz.Attempt:
    at.text_input(key="quiz_seed_text").input(str(seed))
    _button(at, "Start with this seed").click()
    at.run()
    assert not at.exception
    return quiz.draw_attempt(seed, BANK.questions)


def _answer(at, attempt: quiz.Attempt, question_id: str, right: bool) -> None:
    question = BANK.question(question_id)
    key = f"quiz_answer_{attempt.seed}_{attempt.round}_{question_id}"
    if question.kind == "choice":
        choice = question.answer if right else (question.answer + 1) % len(question.options)
        at.radio(key=key).set_value(choice)
    else:
        value = quiz.expected_value(question) + (0 if right else 10 * question.tolerance + 1)
        at.text_input(key=key).input(f"{value:.6f}")
    _button(at, "Check answer").click()
    at.run()
    assert not at.exception


def _answer_and_continue(
    at, attempt: quiz.Attempt, number: int, question_id: str, wrong_ids: set[str]
) -> None:
    """Check the question on screen is the seeded one, answer it, check the feedback, move on."""
    question = BANK.question(question_id)
    assert f"**{question.text()}**" in _markdown(at), f"question {number} is not {question_id}"
    _answer(at, attempt, question_id, right=question_id not in wrong_ids)
    verdict = at.error if question_id in wrong_ids else at.success
    assert any(("Not quite" if question_id in wrong_ids else "Correct") in e.value for e in verdict)
    assert question.explanation in _markdown(at)
    last = number == len(attempt.question_ids)
    _button(at, "See your result" if last else "Next question").click()
    at.run()
    assert not at.exception


def _answer_all(at, attempt: quiz.Attempt, wrong_ids: set[str]) -> None:
    for number, question_id in enumerate(attempt.question_ids, start=1):
        _answer_and_continue(at, attempt, number, question_id, wrong_ids)


def test_full_quiz_score_topics_page_switch_and_retry(app_test):
    at = app_test(PAGE)
    attempt = _start(at, SEED)
    ids = attempt.question_ids
    assert len(ids) == len(BANK.questions)
    assert any(f"seed **{SEED}**" in caption.value for caption in at.caption)

    # An unusable answer is refused with a message and not counted.
    _button(at, "Check answer").click()
    at.run()
    assert at.warning and not at.exception
    assert "Answered 0 of" in at.get("progress")[0].proto.text

    # Every 5th question wrong on purpose, plus one numeric question.
    wrong = {qid for n, qid in enumerate(ids, start=1) if n % 5 == 0}
    wrong.add(next(qid for qid in ids if BANK.question(qid).kind == "numeric"))

    half = len(ids) // 2
    for number, question_id in enumerate(ids[:half], start=1):
        _answer_and_continue(at, attempt, number, question_id, wrong)

    # Progress survives a visit to another page within the session.
    at.switch_page("pages/home.py")
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception
    assert f"Answered {half} of {len(ids)}" in at.get("progress")[0].proto.text

    for number, question_id in enumerate(ids[half:], start=half + 1):
        _answer_and_continue(at, attempt, number, question_id, wrong)

    right = len(ids) - len(wrong)
    assert _metric(at, "Right answers") == f"{right} / {len(ids)}"
    assert _metric(at, "Attempt seed") == str(SEED)
    table = at.dataframe[-1].value
    topic_total = Counter(BANK.question(q).topic for q in ids)
    topic_wrong = Counter(BANK.question(q).topic for q in wrong)
    expected_rows = {
        BANK.topics[topic]: (topic_total[topic] - topic_wrong[topic], topic_total[topic])
        for topic in BANK.topics
    }
    shown_rows = {row.topic: (row.right, row.answered) for row in table.itertuples()}
    assert shown_rows == expected_rows
    labels = [expander.label for expander in at.expander]
    for question_id in wrong:
        assert BANK.question(question_id).text() in labels
    assert {b.label for b in at.get("download_button")} >= {
        "Download result (Markdown)",
        "Download answers (CSV)",
    }

    # Retry only the missed questions, this time all right.
    _button(at, f"Retry the {len(wrong)} missed question(s)").click()
    at.run()
    retry = quiz.retry_missed(_finished(attempt, wrong), BANK)
    assert sorted(retry.question_ids) == sorted(wrong)
    _answer_all(at, retry, wrong_ids=set())
    assert _metric(at, "Right answers") == f"{len(wrong)} / {len(wrong)}"
    assert any("Every answer right" in element.value for element in at.success)
    assert any("retry round 2" in caption.value for caption in at.caption)


def _finished(attempt: quiz.Attempt, wrong: set[str]) -> quiz.Attempt:
    done = quiz.Attempt(attempt.seed, attempt.question_ids, option_orders=attempt.option_orders)
    for question_id in attempt.question_ids:
        done.answers[question_id] = quiz.Answer(question_id, "", question_id not in wrong, "")
    return done


def test_bad_seed_keeps_the_current_attempt(app_test):
    at = app_test(PAGE)
    attempt = _start(at, 5)
    at.text_input(key="quiz_seed_text").input("twelve")
    _button(at, "Start with this seed").click()
    at.run()
    assert not at.exception
    assert any("whole number" in element.value for element in at.warning)
    assert any(f"seed **{attempt.seed}**" in caption.value for caption in at.caption)


def test_short_quiz_uses_the_chosen_length(app_test):
    at = app_test(PAGE)
    at.selectbox(key="quiz_length").set_value("10 questions")
    at.run()
    _start(at, 8)
    expected = quiz.draw_attempt(8, BANK.questions, 10)
    assert f"**{BANK.question(expected.question_ids[0]).text()}**" in _markdown(at)
    assert "Answered 0 of 10" in at.get("progress")[0].proto.text


def test_an_attempt_from_an_older_bank_is_replaced_not_crashed(app_test):
    at = app_test(PAGE)
    at.session_state["quiz_attempt"] = quiz.Attempt(seed=1, question_ids=("removed-question",))
    at.run()
    assert not at.exception
    assert any("question bank changed" in element.value for element in at.info)
    assert set(at.session_state["quiz_attempt"].question_ids) == {q.id for q in BANK.questions}
