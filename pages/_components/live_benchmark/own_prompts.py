"""Exercise 2: the learner's own prompts, labelled "expect high" or "expect low", run on a baseline and a
speculative server, each prompt's accept length measured.

Keys owned here: ``live_own_editor`` (the prompts), ``live_own_base`` / ``live_own_spec`` (the two
servers), ``live_own_tokens``, ``live_own_run`` (the button), ``live_own_runs`` (ids of the two runs kept)
``live_own_error`` and the Stop buttons ``live_own_stop_baseline`` / ``live_own_stop_speculative``.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core.serving import class_work
from core.serving import live_session as live
from core.serving.bench_runner import BenchSettings
from core.serving.identity_check import check_identity
from core.serving.own_prompts import (
    EXPECTATIONS,
    MAX_OWN_PROMPTS,
    MAX_PROMPT_CHARS,
    expectation_verdict,
    own_prompt_pairs,
    parse_own_prompts,
    per_prompt_table,
)
from core.serving.server_policy import ServerPolicy, URLRefused
from core.serving.sglang_client import SGLangError
from pages._components import class_store
from pages._components.live_benchmark.execute import execute
from pages._components.live_benchmark.state import badge, csv_button, key, practice_leases, shelf

EXAMPLES = pd.DataFrame(
    [
        {
            "prompt": "x = self.x\ny = self.y\nz = self.z\nx = self.x\ny = self",
            "expectation": EXPECTATIONS[0],
        },
        {"prompt": "My favourite memory of the summer is", "expectation": EXPECTATIONS[1]},
    ]
)
OWN_CONCURRENCY = 4  # the prompts run 4 at a time: quick, and each first token stays prompt
EXPECTATION_COLORS = alt.Scale(domain=list(EXPECTATIONS), range=["#2f855a", "#c05621"])


def own_prompts_section(policy: ServerPolicy) -> None:
    st.header("Exercise 2 · Your own prompts: high or low acceptance?")
    st.markdown(
        "Write prompts you expect the draft to guess well (**expect high**: text that repeats, code with "
        "an obvious next line) and prompts you expect it to guess badly (**expect low**: open prose, a new "
        "topic). Run them on a baseline and a speculative server at temperature 0 and see each prompt's "
        "accept length: output tokens ÷ verify passes, measured."
    )
    edited = st.data_editor(
        EXAMPLES,
        num_rows="dynamic",
        width="stretch",
        key=key("own_editor"),
        column_config={
            "prompt": st.column_config.TextColumn("Prompt", max_chars=MAX_PROMPT_CHARS, width="large"),
            "expectation": st.column_config.SelectboxColumn("Your label", options=list(EXPECTATIONS)),
        },
    )
    prompts, problems = parse_own_prompts(edited.to_dict("records"))
    for problem in problems:
        st.warning(problem.capitalize(), icon=":material/edit_note:")
    servers = server_choices(policy)
    if servers is None:
        return
    base_url, spec_url = servers
    tokens = st.number_input("Max new tokens per prompt", 4, 64, 32, key=key("own_tokens"))
    clicked = st.button(
        f"Run my prompts on both servers (at most {MAX_OWN_PROMPTS})",
        type="primary",
        key=key("own_run"),
        disabled=not prompts,
    )
    if clicked:
        run_both(policy, base_url, spec_url, own_prompt_pairs(prompts), int(tokens))
    error = st.session_state.get(key("own_error"))
    if error:
        st.error(error)
    show_own_results()


def server_choices(policy: ServerPolicy) -> tuple[str, str] | None:
    """The baseline and speculative server URLs (practice servers first); None when there are not two."""
    options: dict[str, str] = {}
    for lease in practice_leases():
        if lease.running:
            options[lease.url] = f"practice {lease.kind} server ({lease.url})"
    for url in policy.allowed_base_urls:
        options.setdefault(url, url)
    conn = st.session_state.get(key("conn"))
    if conn is not None:
        options.setdefault(conn.url, f"connected server ({conn.url})")
    if len(options) < 2:
        st.info(
            "Start a practice baseline server and a practice speculative server (section 1), or connect to "
            "two servers, to run your prompts on both.",
            icon=":material/dns:",
        )
        return None
    urls = list(options)
    kinds = {lease.url: lease.kind for lease in practice_leases() if lease.running}
    base_default = next((u for u in urls if kinds.get(u) == "baseline"), urls[0])
    spec_default = next((u for u in urls if kinds.get(u) == "speculative"), urls[-1])
    c1, c2 = st.columns(2)
    base = c1.selectbox(
        "Baseline server", urls, index=urls.index(base_default), format_func=options.get, key=key("own_base")
    )
    spec = c2.selectbox(
        "Speculative server",
        urls,
        index=urls.index(spec_default),
        format_func=options.get,
        key=key("own_spec"),
    )
    if base == spec:
        st.warning("Pick two different servers.")
        return None
    return base, spec


def run_both(policy: ServerPolicy, base_url: str, spec_url: str, pairs, max_tokens: int) -> None:
    """One run per server, same prompts, greedy; the two runs are kept like any other run."""
    st.session_state[key("own_error")] = None
    size, _ = live.clamp_run_settings(live.RunSize(len(pairs), OWN_CONCURRENCY, max_tokens), policy)
    settings = BenchSettings(
        suite="own prompts",
        prompts=tuple(pairs),
        num_requests=len(pairs),
        concurrency=size.concurrency,
        max_tokens=size.max_tokens,
        temperature=0.0,
        request_timeout_s=min(60.0, policy.request_timeout_s),
        time_budget_s=300.0,
    )
    kept: dict[str, str] = {}
    api_key = st.session_state.get(key("api_key")) or None
    for role, url in (("baseline", base_url), ("speculative", spec_url)):
        try:
            conn = live.connect(url, api_key, policy)
        except (URLRefused, SGLangError, ValueError) as error:
            st.session_state[key("own_error")] = f"Could not reach the {role} server {url}: {error}"
            return
        before = shelf().runs[-1].id if shelf().runs else None
        execute(conn, policy, settings, stop_key=f"own_stop_{role}")
        runs = shelf().runs
        if not runs or runs[-1].id == before:
            st.session_state[key("own_error")] = f"The {role} run did not finish; nothing to compare yet."
            return
        kept[role] = runs[-1].id
    st.session_state[key("own_runs")] = kept
    save_to_class_board(runs[-1])
    st.rerun()  # sections above this one (the comparison) redraw with the two new runs


def save_to_class_board(saved) -> None:
    """Each own prompt's measured speculative request goes to the class board (the instructor's view)."""
    run = saved.run
    for index, record in enumerate(run.records):
        item = class_work.prompt_item(
            f"{saved.id}-{index}", record.prompt, record, run.base_url, run.simulated
        )
        class_store.save(item)


def show_own_results() -> None:
    kept = st.session_state.get(key("own_runs")) or {}
    by_id = {saved.id: saved for saved in shelf().runs}
    base, spec = by_id.get(kept.get("baseline")), by_id.get(kept.get("speculative"))
    if spec is None:
        return
    table = per_prompt_table(spec.run, base.run if base is not None else None)
    st.markdown(f"**Accept length of each of your prompts** {badge(spec.run.simulated)}")
    if base is not None:
        st.markdown(f"Same output? {check_identity(base.run, spec.run).headline()}.")
    verdict = expectation_verdict(table)
    if verdict:
        st.markdown(verdict)
    shown = table.assign(short=[f"{i}. {p[:40]!r}" for i, p in enumerate(table["prompt"], start=1)])
    chart = (
        alt.Chart(shown.dropna(subset=["accept length"]))
        .mark_bar()
        .encode(
            y=alt.Y("short:N", sort=None, title=None, axis=alt.Axis(labelLimit=260)),
            x=alt.X("accept length:Q", title="accept length (tokens per verify pass)"),
            color=alt.Color("expectation:N", scale=EXPECTATION_COLORS, legend=alt.Legend(orient="top")),
            tooltip=["prompt", "expectation", alt.Tooltip("accept length:Q", format=".2f")],
        )
    )
    st.altair_chart(chart, width="stretch")
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "accept length": st.column_config.NumberColumn(format="%.2f"),
            "baseline tok/s": st.column_config.NumberColumn(format="%.0f"),
            "speculative tok/s": st.column_config.NumberColumn(format="%.0f"),
            "speedup": st.column_config.NumberColumn(format="%.2fx"),
        },
    )
    st.caption(
        "tok/s is each request's own decoding speed (1 / time per output token), so prompts that ran at the "
        "same time still compare fairly. The runs are also kept in sections 2, 3 and 6."
    )
    csv_button(table, "own-prompts", label="Download your prompts' results (CSV)")
