"""Instructor: what the class measured, pooled, and the queue now (hosted classroom only).

Protected by the password in ``.streamlit/secrets.toml`` (``[instructor] password``); there is no default.
Figures are means of what the learners measured on the class's servers (practice-server rows are
simulated); learners appear by display name or an anonymous label. Keys: ``instructor_*``.
"""

import json
import os

import altair as alt
import pandas as pd
import streamlit as st

from core.serving.server_policy import policy_from_settings
from core.store.class_report import read_class_export
from core.store.database import StoreUnavailable
from core.store.instructor_access import HOW_TO_SET, configured_password, password_matches
from pages._common import MEASURED, SIMULATED, csv_download
from pages._components.class_store import class_store

st.title("Instructor: the class at a glance")


def _gate() -> None:
    """Stop the page unless this is a hosted class and the instructor gave the right password."""
    try:
        hosted = policy_from_settings(st.secrets, os.environ).hosted
    except (ValueError, TypeError) as error:
        st.error(
            f"The app's server configuration is invalid: {error}. Fix the [sglang] section of the secrets."
        )
        st.stop()
    if not hosted:
        st.info(
            "The instructor's view belongs to a hosted classroom: configure the class's GPU servers in the "
            "`[sglang]` section of `.streamlit/secrets.toml` (or `SPECLAB_ALLOWED_BASE_URLS`) first. "
            "On a workshop laptop each learner's results stay on their own page.",
            icon=":material/co_present:",
        )
        st.stop()
    expected = configured_password(st.secrets)
    if expected is None:
        st.warning(
            "No instructor password is set, so this page stays locked. " + HOW_TO_SET, icon=":material/lock:"
        )
        st.stop()
    if st.session_state.get("instructor_ok"):
        return
    with st.form("instructor_login"):
        given = st.text_input("Instructor password", type="password", key="instructor_password")
        if st.form_submit_button("Open", icon=":material/lock_open:"):
            if password_matches(expected, given):
                st.session_state["instructor_ok"] = True
                st.rerun()
            st.error("That is not the instructor password.")
    st.stop()


_gate()

top = st.columns([4, 1])
top[0].caption(
    f"{MEASURED} means of what learners measured on the class's servers; rows from practice servers are "
    f"{SIMULATED}. Uploaded files are never pooled. Learners appear by the name they chose or as "
    "'learner <number>'."
)
top[1].button("Refresh", icon=":material/refresh:", width="stretch")
try:
    export = read_class_export(class_store())
except StoreUnavailable as error:
    st.error(f"The class store cannot be read now: {error}. Press Refresh to try again.")
    st.stop()

results = pd.DataFrame(export["results"])
board = pd.DataFrame(export["prompt_board"])
quiz = pd.DataFrame(export["quiz"])
queue = pd.DataFrame(export["queue"])


def _table(frame: pd.DataFrame, name: str, title: str) -> None:
    with st.expander(f"{title} (table)"):
        st.dataframe(frame, hide_index=True, width="stretch")
        csv_download(frame, f"class-{name}", f"instructor_csv_{name}")


def _bars(frame: pd.DataFrame, value: str, title: str) -> alt.Chart:
    return (
        alt.Chart(frame, title=title)
        .mark_bar()
        .encode(
            x=alt.X("category:N", title="prompt category"),
            xOffset="server:N",
            y=alt.Y(f"{value}:Q", title=value),
            color=alt.Color("server:N"),
            tooltip=["server", "model", "category", "concurrency", value, "runs", "learners"],
        )
    )


st.subheader("1. Results per server and category")
if results.empty:
    st.info("No benchmark runs saved yet. They appear here as soon as learners finish them.")
else:
    st.markdown(
        f"{len(results)} groups of server, category and concurrency. Hover a bar for how many runs and "
        "learners it pools, or open the table below the charts."
    )
    speculative = results[results["speculative"]]
    cols = st.columns(2)
    if not speculative.empty:
        cols[0].altair_chart(_bars(speculative, "accept length", "Accept length (tokens per verify pass)"))
        with_speedup = speculative.dropna(subset=["speedup (1/TPOT)"])
        if with_speedup.empty:
            cols[1].info("Speedup needs plain-decoding runs of the same model, category and concurrency.")
        else:
            cols[1].altair_chart(
                _bars(with_speedup, "speedup (1/TPOT)", "Per-request speedup vs the class's plain runs")
            )
    st.altair_chart(_bars(results, "TTFT mean (ms)", "Time to first token (ms), every server"))
    _table(results, "results", "Pooled results")

st.subheader("2. Own prompts ranked by accept length (Exercise 2)")
if board.empty:
    st.info("No own prompts with a measured accept length yet.")
else:
    chart = (
        alt.Chart(board.head(20))
        .mark_bar()
        .encode(
            y=alt.Y("prompt:N", sort="-x", title=None),
            x=alt.X("accept length:Q"),
            color="learner:N",
            tooltip=["rank", "learner", "prompt", "accept length", "server"],
        )
    )
    st.altair_chart(chart)
    _table(board, "prompt-board", "Prompt board")

st.subheader("3. Quiz: share right per topic")
if quiz.empty:
    st.info("No quiz answers saved yet.")
else:
    chart = (
        alt.Chart(quiz)
        .mark_bar()
        .encode(
            x=alt.X("right (%):Q", scale=alt.Scale(domain=[0, 100])),
            y=alt.Y("topic:N", title=None),
            tooltip=["topic", "answers", "right", "right (%)", "learners"],
        )
    )
    st.altair_chart(chart)
    _table(quiz, "quiz", "Quiz scores")

st.subheader("4. The queue now")
if queue.empty:
    st.info("Nobody is running or waiting.")
else:
    st.dataframe(queue, hide_index=True, width="stretch")

st.download_button(
    "Download everything (JSON)",
    data=json.dumps(export, indent=2, allow_nan=False),
    file_name="speclab-class-export.json",
    mime="application/json",
    key="instructor_json",
    icon=":material/download:",
)
st.caption(
    "The same export from a shell: `speclab class export --json` (`--database URL` for another store)."
)
