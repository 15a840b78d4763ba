"""Decision framework and quiz: when speculative decoding helps, when it hurts, and why.

Two parts: a deployment wizard (rules in core/lessons/decision.py and core/data/decision.toml, every reason shown
with the rule that fired) and a self-check quiz (bank in core/data/quiz.toml, grading in core/lessons/quiz.py).
Session keys: ``decision_*`` for the wizard's inputs, ``quiz_*`` for the quiz's progress. Answers and
inputs are saved in the class store as they change (``pages/_components/class_store.py``) and come back
with the learner's resume link.
"""

from __future__ import annotations

import secrets

import streamlit as st

from core.lessons import decision, decision_views, quiz
from core.lessons.saved_answers import quiz_item, restore_attempt, restore_wizard, wizard_item
from core.references import published as published_data
from core.simulation import cost_model
from pages._common import EXACT, PUBLISHED, SIMULATED, csv_download, published
from pages._components import class_store

MAX_SEED = quiz.MAX_ATTEMPT_SEED
LENGTHS = {"All questions": None, "20 questions": 20, "10 questions": 10}
KIND_ICONS = {
    "for": ":green[:material/check_circle:]",
    "against": ":red[:material/cancel:]",
    "risk": ":orange[:material/warning:]",
    "info": ":blue[:material/info:]",
}
DRAFT_LABELS = {
    "eagle3": "An EAGLE-3 draft head for this model",
    "draft_model": "A small draft model with the same tokenizer",
    "none": "No draft model or head",
}
PAGE_LABELS = {
    "pages/how_it_works.py": "How it works",
    "pages/simulator.py": "Simulator",
    "pages/live_benchmark.py": "Live benchmark",
    "pages/adaptive.py": "Adaptive speculation",
    "pages/home.py": "Home",
    "pages/decision_quiz.py": "Decision & quiz",
}


@st.cache_resource(show_spinner=False)
def _bank() -> quiz.Bank:
    """The validated question bank, shared by every session (frozen dataclasses: read-only, thread-safe)."""
    return quiz.load_bank()


def _references() -> dict:
    return published_data.load_references()


def _source_badges(source_ids) -> str:
    references = _references()
    parts = []
    for source_id in source_ids:
        reference = references.get(source_id)
        if reference is not None:
            parts.append(published(f"[{reference.source}]({reference.url})"))
    return " · ".join(parts)


# ============================================================================================== page
st.title("Decision framework & quiz")
st.markdown(
    "Should *your* deployment use speculative decoding, and how would you set it up? The **wizard** applies "
    "the course's decision framework (with the workshop notebook's errors corrected) and shows every rule "
    "that fired. The **quiz** checks the whole lab: concepts, numbers, deployment decisions, SGLang flags "
    f"and common myths. Labels: {SIMULATED} this lab's cost model, {EXACT} a closed form, "
    f"{PUBLISHED} a published number, with its source."
)

wizard_tab, quiz_tab = st.tabs([":material/alt_route: Decision wizard", ":material/quiz: Quiz"])

# ========================================================================================== wizard
# The wizard's inputs and their first-visit values. Streamlit drops a widget's state when the learner visits
# another page, so a non-widget copy ("decision_saved_*") brings the inputs back on return. Values are put
# into session state before the widgets are created, so no widget also passes a default of its own.
WIZARD_DEFAULTS = {
    "decision_task": "code",
    "decision_output": 300,
    "decision_batch": 1,
    "decision_temperature": 0.0,
    "decision_draft": "eagle3",
    "decision_mtp": False,
    "decision_headroom": 10.0,
    "decision_hardware": "h100-sxm",
    "decision_target": "llama-3.1-8b",
    "decision_context": 2048,
}


def _saved(widget_key: str) -> str:
    return widget_key.replace("decision_", "decision_saved_", 1)


# The learner's saved wizard inputs come back once per session (class store, resume link).
if not st.session_state.get("decision_restored"):
    st.session_state["decision_restored"] = True
    for widget_key, value in restore_wizard(class_store.take("wizard"), WIZARD_DEFAULTS).items():
        st.session_state.setdefault(_saved(widget_key), value)
        st.session_state.pop(widget_key, None)

for widget_key, default in WIZARD_DEFAULTS.items():
    if widget_key not in st.session_state:
        st.session_state[widget_key] = st.session_state.get(_saved(widget_key), default)

with wizard_tab:
    rules = decision.load_rules()
    presets = cost_model.load_presets()
    st.subheader("1 · Describe your deployment")
    left, right = st.columns(2, gap="large")
    with left:
        task = st.selectbox(
            "Task",
            decision.TASKS,
            format_func=lambda t: rules["tasks"][t]["label"],
            key="decision_task",
            help="What the model mostly writes. The task sets the acceptance prior (the lab's assumption).",
        )
        output_tokens = st.number_input(
            "Typical output length (tokens)", min_value=1, max_value=100_000, step=50, key="decision_output"
        )
        batch_size = st.number_input(
            "Concurrent requests (batch size)",
            min_value=1,
            max_value=10_000,
            step=1,
            key="decision_batch",
            help="How many requests the server decodes at the same time on a typical busy minute.",
        )
        temperature = st.slider(
            "Sampling temperature", min_value=0.0, max_value=2.0, step=0.1, key="decision_temperature"
        )
    with right:
        draft = st.radio(
            "Draft available for your model",
            decision.DRAFT_KINDS,
            format_func=DRAFT_LABELS.get,
            key="decision_draft",
        )
        has_mtp = st.checkbox(
            "The model has built-in MTP layers",
            key="decision_mtp",
            help="Multi-token-prediction layers trained with the model, as in DeepSeek-V3/R1 or MiMo. "
            "SGLang can use them as the draft (NEXTN).",
        )
        headroom = st.number_input(
            "Free GPU memory with the model and its KV cache loaded (GB)",
            min_value=0.0,
            max_value=1000.0,
            step=1.0,
            key="decision_headroom",
        )
        with st.expander("Hardware for the simulated estimate"):
            hardware = st.selectbox(
                "GPU",
                tuple(presets.hardware),
                format_func=lambda h: presets.hardware[h].name,
                key="decision_hardware",
            )
            target = st.selectbox(
                "Target model",
                tuple(presets.targets),
                format_func=lambda t: presets.targets[t].name,
                key="decision_target",
            )
            context = st.number_input(
                "Typical context (prompt + output, tokens)",
                min_value=1,
                max_value=1_000_000,
                step=256,
                key="decision_context",
            )

    for widget_key in WIZARD_DEFAULTS:
        st.session_state[_saved(widget_key)] = st.session_state[widget_key]
    answers = {k: st.session_state[k] for k in WIZARD_DEFAULTS}
    if answers != st.session_state.get("decision_stored", WIZARD_DEFAULTS):  # save only what changed
        st.session_state["decision_stored"] = answers
        class_store.save(wizard_item(answers, WIZARD_DEFAULTS))

    deployment = decision.Deployment(
        task=task,
        output_tokens=int(output_tokens),
        batch_size=int(batch_size),
        temperature=float(temperature),
        memory_headroom_gb=float(headroom),
        draft=draft,
        has_mtp=bool(has_mtp),
        hardware=hardware,
        target=target,
        context_tokens=int(context),
    )
    try:
        rec = decision.recommend(deployment, _references())
    except ValueError as error:
        st.error(f"The wizard cannot use these inputs: {error}. Change the highlighted value and try again.")
        rec = None

    if rec is not None:
        st.subheader("2 · Recommendation")
        show = {"use": st.success, "measure": st.warning, "avoid": st.error}[rec.verdict]
        icon = {"use": ":material/thumb_up:", "measure": ":material/science:", "avoid": ":material/block:"}
        method_text = f" with **{rec.method_label}**" if rec.method else ""
        show(f"**{rec.verdict_label}**{method_text}.", icon=icon[rec.verdict])

        if rec.method is not None and rec.config is not None:
            config_col, numbers_col = st.columns([3, 2], gap="large")
            with config_col:
                st.markdown(f"**Starting configuration: {rec.config.summary}**")
                if rec.config.steps is not None:
                    st.caption("steps / topk / draft tokens")
                st.markdown(rec.config.why)
            with numbers_col:
                st.markdown(
                    f"Acceptance prior **alpha = {rec.alpha:.2f}**: the lab's assumption for "
                    f"{rules['tasks'][task]['label'].lower()} with this method"
                    + (f", lowered for temperature {temperature:g}" if temperature > 0 else "")
                    + "."
                )
                st.markdown(
                    f"Expected accept length at this configuration: **{rec.expected_accept_length:.2f} tokens "
                    f"per verify pass** {EXACT} (closed form for that alpha). Compare it with the "
                    "`spec_accept_length` your server reports."
                )
            command = decision_views.launch_command(rec.config.flags, presets.targets[target].url)
            st.markdown(
                f"**Launch command** (SGLang {decision_views.COMMAND_RELEASE}; start here, then sweep the three "
                "numbers on your prompts; the Live benchmark page writes it for other releases)"
            )
            st.code(command, language="bash")

            st.markdown("**Expected speedup over plain decoding**")
            for estimate in rec.estimates:
                if estimate.kind == "simulated":
                    badge = SIMULATED
                    source = estimate.source.removeprefix("core.simulation.cost_model, ")
                else:
                    badge = published(
                        f"[{estimate.source}]({estimate.url})" if estimate.url else estimate.source
                    )
                    source = ""
                value = decision_views.speedup_text(estimate)
                st.markdown(f"- **{value}** {badge} {source}  \n  :gray[{estimate.conditions}]")
            for note in rec.notes:
                st.caption(note)
            st.caption(
                "Published numbers were measured on other models, hardware and loads; they show what is possible. "
                "The simulated range uses your batch size: on a calibrated profile it includes the costs fitted "
                "to SGLang measurements, on the ideal roofline it is a best case. Only the Live benchmark "
                "measures your own server."
            )

        query = rec.simulator_query()
        if query:
            st.page_link(
                "pages/simulator.py",
                label=(
                    "Open this deployment in the Simulator (cost section)"
                    if rec.method
                    else f"See why in the Simulator: the best option you have ({rec.candidates[0].method}) "
                    f"at batch {rec.deployment.batch_size}"
                ),
                icon=":material/insights:",
                query_params=query,
            )

        st.markdown("**Why: every rule that fired**")
        for reason in rec.reasons:
            cap = f" · caps the verdict at *{rules['verdicts'][reason.cap]}*" if reason.cap else ""
            st.markdown(
                f"{KIND_ICONS[reason.kind]} {reason.text}  \n"
                f":gray[rule `{reason.rule}` · {reason.kind}{cap} · source: {reason.source}]"
            )

        with st.expander("How the method was chosen (closed form, batch 1)"):
            table = decision_views.methods_table(rec.candidates)
            st.markdown(
                f"Best speedup {EXACT} from Leviathan's formula E[N] / (gamma c + 1) at each method's assumed "
                "alpha and c, searched over whole gamma. The highest wins, if it reaches "
                f"{rules['thresholds']['min_worthwhile_speedup']}x."
            )
            st.dataframe(table, hide_index=True, width="stretch")
            csv_download(table, "decision-methods", "decision_methods_csv", "Download this table (CSV)")
            st.caption(rules["meta"]["assumption_note"])

    with st.expander("What changed from the workshop notebook's framework"):
        st.markdown("\n".join(f"- {change['text']}" for change in rules["notebook_change"]))

# ============================================================================================ quiz


def _new_attempt(seed: int, length: int | None) -> None:
    st.session_state["quiz_attempt"] = quiz.draw_attempt(seed, _bank().questions, length)
    st.session_state["quiz_feedback"] = None
    st.session_state["quiz_error"] = None


def _start_with_seed() -> None:
    try:
        seed = quiz.parse_attempt_seed(st.session_state.get("quiz_seed_text"), MAX_SEED)
    except ValueError as error:
        st.session_state["quiz_error"] = f"{error} Your current attempt is unchanged."
        return
    _new_attempt(seed, LENGTHS[st.session_state.get("quiz_length", "All questions")])


def _start_random() -> None:
    seed = secrets.randbelow(MAX_SEED + 1)
    _new_attempt(seed, LENGTHS[st.session_state.get("quiz_length", "All questions")])


def _check(question_id: str) -> None:
    attempt: quiz.Attempt = st.session_state["quiz_attempt"]
    question = _bank().question(question_id)
    raw = st.session_state.get(_answer_key(attempt, question_id))
    result = quiz.grade(question, raw)
    if not result.valid:
        st.session_state["quiz_error"] = result.message
        return
    attempt.record(question_id, quiz.given_text(question, raw), result)
    class_store.save(quiz_item(attempt, _bank()))  # in the background: the class store keeps each answer
    st.session_state["quiz_feedback"] = {
        "id": question_id,
        "message": result.message,
        "correct": result.correct,
    }
    st.session_state["quiz_error"] = None


def _next() -> None:
    st.session_state["quiz_feedback"] = None


def _retry() -> None:
    attempt: quiz.Attempt = st.session_state["quiz_attempt"]
    st.session_state["quiz_attempt"] = quiz.retry_missed(attempt, _bank())
    st.session_state["quiz_feedback"] = None
    st.session_state["quiz_error"] = None


def _answer_key(attempt: quiz.Attempt, question_id: str) -> str:
    return f"quiz_answer_{attempt.seed}_{attempt.round}_{question_id}"


def _show_explanation(question: quiz.Question) -> None:
    st.markdown(question.explanation)
    if question.kind == "numeric":
        st.markdown(
            f"Right answer: **{quiz.format_expected(question)}** {EXACT} (recomputed from the lab's core)"
        )
    badges = _source_badges(question.sources)
    if badges:
        st.markdown(f"Sources: {badges}")
    if question.link is not None:
        st.page_link(
            question.link.page,
            label=f"{question.link.label} ({PAGE_LABELS.get(question.link.page, question.link.page)})",
            icon=":material/arrow_forward:",
            query_params={k: str(v) for k, v in question.link.query.items()} or None,
        )


with quiz_tab:
    try:
        bank = _bank()
    except quiz.BankError as error:
        bank = None
        st.error(
            "The question bank is broken, so the quiz cannot start:\n\n"
            + "\n".join(f"- {p}" for p in error.problems)
        )

    if bank is not None:
        stale = st.session_state.get("quiz_attempt")
        if stale is not None and not quiz.fits_bank(stale, bank):
            st.info("The question bank changed since your attempt started, so a new attempt begins.")
            stale = None
        if stale is None and not st.session_state.get("quiz_restored"):
            st.session_state["quiz_restored"] = True  # the learner's saved attempt, once per session
            stale = restore_attempt(class_store.take("quiz"), bank)
            st.session_state["quiz_attempt"] = stale
        if stale is None:
            _start_random()
        attempt: quiz.Attempt = st.session_state["quiz_attempt"]

        with st.container(border=True):
            seed_col, length_col, start_col, random_col = st.columns(
                [2, 2, 2, 2], vertical_alignment="bottom"
            )
            # A text box, not a number_input preset through session state: presetting widget values
            # that way made fresh browser sessions flash "Page not found" in tests (Streamlit 1.67).
            seed_col.text_input(
                "Attempt seed",
                key="quiz_seed_text",
                placeholder=f"0 to {MAX_SEED}, e.g. 2024",
                help="The seed fixes the order of questions and options. Enter a classmate's seed to get the "
                "same quiz; the instructor can give everyone one seed.",
            )
            length_col.selectbox("Length", tuple(LENGTHS), key="quiz_length")
            start_col.button(
                "Start with this seed", on_click=_start_with_seed, key="quiz_start", width="stretch"
            )
            random_col.button(
                "New random attempt", on_click=_start_random, key="quiz_random", width="stretch"
            )
            round_text = "" if attempt.round == 1 else f", retry round {attempt.round}"
            st.caption(
                f"Current attempt: seed **{attempt.seed}**{round_text}, {len(attempt.question_ids)} questions. "
                "Progress is kept while you visit other pages in this browser tab."
            )

        result = quiz.score(attempt, bank)
        st.progress(
            result.answered / result.total,
            text=f"Answered {result.answered} of {result.total} · score so far {result.correct} / {result.answered}",
        )
        if st.session_state.get("quiz_error"):
            st.warning(st.session_state["quiz_error"], icon=":material/edit:")

        feedback = st.session_state.get("quiz_feedback")
        current = feedback["id"] if feedback else attempt.current()
        if current is not None:
            question = bank.question(current)
            number = attempt.question_ids.index(current) + 1
            st.caption(f"Question {number} of {result.total} · {bank.topic_label(question.topic)}")
            st.markdown(f"**{question.text()}**")
            if feedback:
                answer = attempt.answers[current]
                st.markdown(f"Your answer: **{answer.given}**")
                if feedback["correct"]:
                    st.success(feedback["message"], icon=":material/check_circle:")
                else:
                    st.error(feedback["message"], icon=":material/cancel:")
                _show_explanation(question)
                last = attempt.finished
                st.button(
                    "See your result" if last else "Next question",
                    on_click=_next,
                    type="primary",
                    key="quiz_next",
                    icon=":material/arrow_forward:",
                )
            else:
                with st.form(key=f"quiz_form_{attempt.seed}_{attempt.round}_{current}"):
                    if question.kind == "choice":
                        st.radio(
                            "Your answer",
                            attempt.option_order(question),
                            index=None,
                            format_func=lambda i, q=question: q.options[i],
                            key=_answer_key(attempt, current),
                        )
                    else:
                        unit = f" ({question.unit})" if question.unit else ""
                        st.text_input(
                            f"Your answer{unit}",
                            key=_answer_key(attempt, current),
                            placeholder="a number, e.g. 2.5",
                        )
                        st.caption(f"Accepted within ±{question.tolerance:g}.")
                    st.form_submit_button("Check answer", on_click=_check, args=(current,), type="primary")
        else:
            st.subheader("Your result")
            score_col, percent_col, seed_col2 = st.columns(3)
            score_col.metric("Right answers", f"{result.correct} / {result.answered}")
            percent_col.metric("Percent right", f"{result.percent:.0f}%")
            seed_col2.metric(
                "Attempt seed", str(attempt.seed), help="Enter it again to repeat this exact quiz."
            )
            topics = quiz.topics_frame(result)
            st.markdown("**By topic**")
            st.dataframe(
                topics,
                hide_index=True,
                width="stretch",
                column_config={
                    "percent": st.column_config.ProgressColumn(
                        "percent right", min_value=0, max_value=100, format="%d%%"
                    )
                },
            )
            if result.missed:
                st.markdown(f"**Review: the {len(result.missed)} question(s) you missed**")
                for question_id in result.missed:
                    question = bank.question(question_id)
                    answer = attempt.answers[question_id]
                    with st.expander(question.text()):
                        st.markdown(f"Your answer: **{answer.given}** · right answer: **{answer.expected}**")
                        _show_explanation(question)
                st.button(
                    f"Retry the {len(result.missed)} missed question(s)",
                    on_click=_retry,
                    type="primary",
                    key="quiz_retry",
                    icon=":material/replay:",
                )
            else:
                st.success(
                    "Every answer right. Try another seed, or the wizard above on your own deployment."
                )
            downloads = st.container(horizontal=True)
            downloads.download_button(
                "Download result (Markdown)",
                quiz.summary_markdown(attempt, bank).encode(),
                file_name=f"quiz-seed-{attempt.seed}-round-{attempt.round}.md",
                mime="text/markdown",
                key="quiz_download_md",
                icon=":material/download:",
            )
            downloads.download_button(
                "Download answers (CSV)",
                quiz.summary_csv(attempt, bank).encode(),
                file_name=f"quiz-seed-{attempt.seed}-round-{attempt.round}.csv",
                mime="text/csv",
                key="quiz_download_csv",
                icon=":material/download:",
            )
