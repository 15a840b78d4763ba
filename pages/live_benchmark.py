"""Live benchmark: measure a running SGLang server (or the practice server), baseline vs speculative.

A lesson in six steps: connect, run, compare, sweep concurrency, launch commands, keep results. All logic
lives in ``core.serving.live_session`` (connect, limits, queue, files, chart tables) and ``core.serving.bench_runner``
(the measurement); this page draws widgets, tables and charts. Session keys start with ``live_``.

Runs go through a process-wide FIFO queue per server URL (``st.cache_resource``), so a classroom sharing
one GPU box measures one run at a time. A run happens in the script thread: the runner calls our progress
and stop hooks in this thread, and every widget update there is a point where Streamlit can interrupt the
script (the Stop button, or leaving the page). When that happens the requests that already finished are
kept as a stopped run and the interruption carries on.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import replace

import altair as alt
import pandas as pd
import streamlit as st

from core.serving import live_session as live
from core.serving.bench_runner import BenchSettings, concurrency_sweep, run_benchmark
from core.serving.launch_command import (
    ALGORITHMS,
    LaunchRuleError,
    LaunchSpec,
    build_launch_command,
    flag_explanations,
)
from core.serving.prompt_suite import available_suites, category_description, load_suite
from core.serving.run_queue import RateLimiter, ServerQueue
from core.serving.server_policy import ServerPolicy, URLRefused, policy_from_settings
from core.serving.sglang_client import SGLangError
from pages._common import MEASURED, SIMULATED, csv_download, published

SERVER_COLORS = alt.Scale(domain=["baseline", "speculative"], range=["#64748b", "#2b6cb0"])
TABLE_REFRESH_S = 0.5  # how often the live table is redrawn during a run
RUN_TIME_BUDGET_S = 600.0  # one run (or one sweep level) stops after this long
NUMBER_FORMATS = {  # table columns shown with a sensible number of digits
    "output tok/s": st.column_config.NumberColumn(format="%.0f"),
    "TTFT mean (ms)": st.column_config.NumberColumn(format="%.1f"),
    "ITL mean (ms)": st.column_config.NumberColumn(format="%.2f"),
    "TPOT mean (ms)": st.column_config.NumberColumn(format="%.2f"),
    "TTFT (ms)": st.column_config.NumberColumn(format="%.1f"),
    "TPOT (ms)": st.column_config.NumberColumn(format="%.2f"),
    "E2E (ms)": st.column_config.NumberColumn(format="%.0f"),
    "accept length": st.column_config.NumberColumn(format="%.2f"),
}


def key(name: str) -> str:
    """Session-state key of this page (prefixed ``live_``)."""
    return f"live_{name}"


# ------------------------------------------------------------------------------- shared resources
@st.cache_resource(show_spinner=False)
def server_queue() -> ServerQueue:
    """The process-wide FIFO queue of runs per server URL (thread-safe; shared by every session)."""
    return ServerQueue(slots=1)


@st.cache_resource(show_spinner=False, max_entries=8)
def rate_limiter(runs_per_window: int, window_s: float) -> RateLimiter:
    """The process-wide per-session rate limiter for the policy's limits (thread-safe)."""
    return RateLimiter(runs_per_window, window_s)


@st.cache_data(max_entries=1, show_spinner=False)
def published_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    return live.published_throughput_frame(), live.published_batch_frame()


def load_policy() -> ServerPolicy:
    try:
        return policy_from_settings(st.secrets, os.environ)
    except (ValueError, TypeError) as error:
        st.error(
            f"The app's server configuration is invalid, so the live benchmark is off: {error}. "
            "Fix the [sglang] section of .streamlit/secrets.toml (or SPECLAB_ALLOWED_BASE_URLS)."
        )
        st.stop()


def session_id() -> str:
    return st.session_state.setdefault(key("session_id"), uuid.uuid4().hex)


def practice_leases() -> list[live.PracticeLease]:
    return st.session_state.setdefault(key("practice"), [])


def saved_runs() -> list[live.SavedRun]:
    return st.session_state.setdefault(key("runs"), [])


def saved_sweeps() -> list[live.SavedSweep]:
    return st.session_state.setdefault(key("sweeps"), [])


def page_state() -> dict:
    """Plain-dict page state kept in the session: run counter, notice, the run to select, running flag.

    A run interrupted by Streamlit can no longer touch ``st.session_state`` (every access re-raises the
    stop), so what it must update on the way out lives in plain objects fetched before the run: this dict
    and the lists of saved runs and sweeps.
    """
    return st.session_state.setdefault(
        key("state"), {"counter": 0, "notice": None, "select_run": None, "running": False}
    )


def next_number(box: dict) -> int:
    box["counter"] += 1
    return box["counter"]


def badge(simulated: bool) -> str:
    return SIMULATED if simulated else MEASURED


def fmt(value, spec: str = ",.1f", unit: str = "") -> str:
    return "—" if value is None else f"{value:{spec}}{unit}"


def saved_result_row(kind: str, result_id, label: str, simulated: bool, to_json, to_csv) -> None:
    """One kept run or sweep: its label, JSON and CSV downloads (written when pressed) and a Remove button."""
    c1, c2, c3, c4 = st.columns([5, 1, 1, 1], vertical_alignment="center")
    c1.markdown(f"{label.removesuffix(' · simulated')} {badge(simulated)}")
    for column, fmt, data, mime, key_name in (
        (c2, "json", to_json, "application/json", f"json_{result_id}"),
        (c3, "csv", to_csv, "text/csv", f"csv{kind}_{result_id}"),
    ):
        column.download_button(
            fmt.upper(),
            data,
            file_name=f"speclab-{kind}-{result_id}.{fmt}",
            mime=mime,
            key=key(key_name),
            on_click="ignore",
            icon=":material/download:",
        )
    c4.button("Remove", key=key(f"forget_{result_id}"), on_click=forget, args=(kind, result_id))


def csv_button(frame: pd.DataFrame, name: str, label: str = "Download the chart data (CSV)") -> None:
    csv_download(frame, name, key(f"csv_{name}"), label)


# ---------------------------------------------------------------------------------------- callbacks
def do_connect(url: str, policy: ServerPolicy) -> None:
    api_key = st.session_state.get(key("api_key")) or None
    st.session_state[key("conn")] = None
    st.session_state[key("conn_error")] = None
    st.session_state[key("conn_refused")] = None
    try:
        st.session_state[key("conn")] = live.connect(url, api_key, policy)
    except URLRefused as error:
        st.session_state[key("conn_refused")] = str(error)
    except (SGLangError, ValueError) as error:
        st.session_state[key("conn_error")] = (url, str(error))


def start_practice(kind: str, policy: ServerPolicy) -> None:
    leases = practice_leases()
    try:
        lease = live.start_practice_server(kind, leases)
    except (RuntimeError, ValueError, OSError) as error:
        st.session_state[key("practice_error")] = str(error)
        return
    leases.append(lease)
    st.session_state[key("practice_error")] = None
    use_url(lease.url, policy)


def use_url(url: str, policy: ServerPolicy) -> None:
    st.session_state[key("url")] = url
    do_connect(url, policy)


def stop_practice(index: int) -> None:
    leases = practice_leases()
    if 0 <= index < len(leases):
        lease = leases.pop(index)
        lease.stop()
        conn = st.session_state.get(key("conn"))
        if conn is not None and conn.url == lease.url:
            st.session_state[key("conn")] = None


def reset_page() -> None:
    """Stop this session's practice servers and forget its connection and results."""
    for lease in practice_leases():
        lease.stop()
    for name in (
        "practice",
        "runs",
        "sweeps",
        "conn",
        "conn_error",
        "conn_refused",
        "state",
        "practice_error",
    ):
        st.session_state.pop(key(name), None)


def forget(kind: str, item_id: str) -> None:
    items = saved_runs() if kind == "run" else saved_sweeps()
    items[:] = [item for item in items if item.id != item_id]


def await_interrupted_run(timeout_s: float = 10.0) -> None:
    """After Stop (or any click during a run) Streamlit starts this rerun at once while the interrupted
    run is still saving what finished; wait for it so the saved results show now, not one click later."""
    box = page_state()
    if not box["running"]:
        return
    deadline = time.monotonic() + timeout_s
    with st.spinner("Stopping the run and keeping what finished..."):
        while box["running"] and time.monotonic() < deadline:
            time.sleep(0.1)
    box["running"] = False  # if the old run never reported back (should not happen), do not wait again


# ------------------------------------------------------------------------------------------ 1 connect
def connect_section(policy: ServerPolicy) -> live.Connection | None:
    st.header("1 · Connect to a server")
    wanted = st.query_params.get("url")
    url = None
    if policy.hosted:
        st.info(
            "**Classroom mode.** This app is shared, so it only contacts the servers your instructor listed. "
            "Runs against one server wait in a queue, one at a time, so measurements do not disturb each "
            "other.",
            icon=":material/school:",
        )
        options = list(policy.allowed_base_urls)
        if wanted:
            reason = live.refuse_reason(wanted, policy)
            if reason:
                st.error(f"The link asked for {wanted}, which is not contacted: {reason}")
            elif wanted not in options and policy.allow_custom_url:
                st.session_state.setdefault(key("custom_url"), wanted)
        if options:
            connected = st.session_state.get(key("conn"))
            if wanted in options:
                st.session_state.setdefault(key("server_choice"), wanted)
            elif connected is not None and connected.url in options:
                st.session_state.setdefault(key("server_choice"), connected.url)
            url = st.selectbox("Server", options, key=key("server_choice"))
        if policy.allow_custom_url:
            custom = st.text_input(
                "Or another public server URL (private and local addresses are refused)",
                key=key("custom_url"),
            )
            if custom and custom.strip():
                url = custom.strip()
        if url is None:
            st.error("No servers are configured for this classroom: ask your instructor.")
            return None
    else:
        # Widget values are forgotten while the learner is on another page; the connection is not.
        connected = st.session_state.get(key("conn"))
        st.session_state.setdefault(key("url"), wanted or (connected.url if connected else live.DEFAULT_URL))
        url = st.text_input(
            "Server URL", key=key("url"), help="Where SGLang listens; its default is http://localhost:30000."
        )
    st.text_input(
        "API key (optional)",
        type="password",
        key=key("api_key"),
        help="Sent as 'Authorization: Bearer KEY' when the server was started with --api-key. "
        "Never saved in exported results.",
    )
    if st.button("Connect", type="primary", key=key("connect")):
        do_connect(url, policy)

    refused = st.session_state.get(key("conn_refused"))
    if refused:
        st.error(f"Not contacted: {refused}", icon=":material/block:")
    failed = st.session_state.get(key("conn_error"))
    if failed:
        st.error(f"Could not connect to {failed[0]}: {failed[1]}", icon=":material/cloud_off:")
        nothing_answers_help(policy, failed[0])

    conn: live.Connection | None = st.session_state.get(key("conn"))
    if conn is not None:
        server_card(conn)
    if policy.hosted:
        st.caption(
            "Practice servers are not started on the shared classroom app (they would run inside it for "
            "everyone). Your instructor can run `speclab practice-server` and add it to the server list."
        )
    else:
        practice_panel(policy, expanded=bool(failed) or conn is None)
    return conn


def nothing_answers_help(policy: ServerPolicy, url: str) -> None:
    if policy.hosted:
        st.markdown(
            "**Nothing answers?** The server may still be starting or be busy restarting: wait a minute and "
            "connect again, or tell your instructor."
        )
        return
    st.markdown(
        "**Nothing answers?** Start SGLang on the GPU machine with one of these commands (section 5 below "
        "builds them for another model or settings), wait until its log says the server is ready, then "
        "connect again. Check the port and, on a remote machine, that the port is reachable from here. "
        "**No GPU?** Start a practice server below: it simulates one."
    )
    try:
        baseline, speculative = live.start_commands(url)
    except LaunchRuleError:
        return
    c1, c2 = st.columns(2)
    c1.caption("Without speculation (the baseline)")
    c1.code(baseline.text, language="bash", wrap_lines=True)
    c2.caption("With EAGLE-3 speculation")
    c2.code(speculative.text, language="bash", wrap_lines=True)


def server_card(conn: live.Connection) -> None:
    info = conn.info
    with st.container(border=True):
        title = "Practice server (simulated model, no GPU)" if conn.simulated else "SGLang server"
        st.markdown(f"**{title}** at `{conn.url}` {badge(conn.simulated)}")
        rows = live.server_card(info)
        table = "\n".join(f"| {label} | {value} |" for label, value in rows)
        st.markdown("| | |\n|---|---|\n" + table)
        if conn.ready_error:
            st.warning(f"The server answered /server_info but is not ready: {conn.ready_error}")
        if conn.simulated:
            st.caption(
                "Everything measured against the practice server is SIMULATED: its step times come from the "
                "lab's cost model (an H100 running Llama-3.1-8B by default) and its accepted drafts from a "
                "Monte Carlo with illustrative acceptance rates per prompt category."
            )
        else:
            st.caption(
                "These are the server's own settings. The accept length is its lifetime mean (SGLang "
                "refreshes it every 40 decode steps; flushing the cache resets it); each run below measures "
                "its own from the per-request statistics."
            )


def practice_panel(policy: ServerPolicy, expanded: bool) -> None:
    leases = practice_leases()
    with st.expander("No GPU? Start a practice server (simulated)", expanded=expanded or bool(leases)):
        st.markdown(
            "A practice server speaks SGLang's HTTP API on this machine but runs **no model**: its timing comes "
            f"from the lab's cost model and its accepted drafts from a Monte Carlo {SIMULATED}. Use it to learn "
            f"the workflow; every number it produces is labelled simulated. At most "
            f"{live.MAX_PRACTICE_SERVERS} per session; each stops itself after "
            f"{live.PRACTICE_LIFETIME_S / 60:.0f} minutes, or when you reset the page."
        )
        c1, c2 = st.columns(2)
        for col, kind in zip((c1, c2), live.PRACTICE_KINDS, strict=True):
            col.button(
                f"Start a practice {kind} server",
                key=key(f"start_{kind}"),
                on_click=start_practice,
                args=(kind, policy),
                help=live.PRACTICE_KINDS[kind],
                width="stretch",
            )
        error = st.session_state.get(key("practice_error"))
        if error:
            st.error(f"Could not start a practice server: {error}")
        for index, lease in enumerate(leases):
            c1, c2, c3 = st.columns([4, 1, 1], vertical_alignment="center")
            c1.markdown(lease.describe())
            c2.button("Use", key=key(f"use_{index}"), on_click=use_url, args=(lease.url, policy))
            c3.button("Stop", key=key(f"stop_{index}"), on_click=stop_practice, args=(index,))


# ---------------------------------------------------------------------------------------------- 2 run
def run_settings(policy: ServerPolicy) -> tuple[BenchSettings, list[str]]:
    """The run settings from the widgets, clamped to the policy; returns (settings, clamp messages)."""
    suites = available_suites()
    c1, c2 = st.columns([1, 2])
    suite_name = c1.selectbox("Prompt suite", suites, key=key("suite"))
    suite = load_suite(suite_name)
    categories = c2.multiselect(
        "Prompt categories",
        list(suite.categories),
        default=list(suite.categories),
        key=key(f"categories_{suite_name}"),
        help="\n".join(f"- **{c}**: {category_description(c)}" for c in suite.categories),
    )
    c1, c2, c3, c4 = st.columns(4)
    requests = c1.number_input("Requests", 1, 500, 12, key=key("requests"))
    concurrency = c2.number_input(
        "Concurrency",
        1,
        64,
        4,
        key=key("concurrency"),
        help="Requests in flight at once (the batch the server sees).",
    )
    max_tokens = c3.number_input("Max new tokens", 1, 4096, 128, key=key("max_tokens"))
    temperature = c4.number_input(
        "Temperature",
        0.0,
        2.0,
        0.0,
        step=0.1,
        key=key("temperature"),
        help="0 = greedy, as SGLang's bench_serving. Higher temperatures usually lower acceptance.",
    )
    c1, c2, c3 = st.columns(3)
    ignore_eos = c1.checkbox(
        "Ignore end of sequence",
        value=False,
        key=key("ignore_eos"),
        help="On: every request generates exactly 'Max new tokens' (bench_serving's default), so both servers "
        "do the same work. Off: answers end naturally, which keeps each category's real acceptance.",
    )
    api = c2.radio(
        "API",
        ("native", "openai"),
        horizontal=True,
        key=key("api"),
        help="native = SGLang's /generate (reports speculation statistics per request); openai = "
        "/v1/chat/completions (token counts from usage; accept length only on newer servers).",
    )
    timeout = c3.number_input(
        "Request timeout (s)",
        1.0,
        600.0,
        float(min(60.0, policy.request_timeout_s)),
        key=key("timeout"),
        help="A request that takes longer, or stalls this long, ends with an error; the run goes on.",
    )
    size, messages = live.clamp_run_settings(live.RunSize(requests, concurrency, max_tokens), policy)
    if timeout > policy.request_timeout_s:
        messages.append(f"requests time out after at most {policy.request_timeout_s:g} s here; using that.")
        timeout = policy.request_timeout_s
    settings = BenchSettings(
        suite=suite_name,
        categories=tuple(categories),
        num_requests=size.num_requests,
        concurrency=size.concurrency,
        max_tokens=size.max_tokens,
        temperature=float(temperature),
        ignore_eos=bool(ignore_eos),
        api=api,
        request_timeout_s=float(timeout),
        time_budget_s=RUN_TIME_BUDGET_S,
    )
    return settings, messages


def execute(conn: live.Connection, policy: ServerPolicy, settings: BenchSettings, levels=None) -> None:
    """Run once (``levels`` None) or sweep ``levels`` against the connected server, through the queue.

    Saves the result in the session. If Streamlit interrupts the script (Stop pressed, page left), the
    requests that finished are saved as a stopped run and the interruption continues.
    """
    sid = session_id()
    allowed, wait_s = rate_limiter(policy.runs_per_window, policy.window_s).check(sid)
    if not allowed:
        st.error(
            f"You have started {policy.runs_per_window} runs in the last {policy.window_s / 60:.0f} minutes, "
            f"the most this server allows per student. Try again in {wait_s / 60:.1f} minutes; meanwhile "
            "compare the runs you have."
        )
        return
    queue = server_queue()
    ticket = queue.join(conn.url, sid)
    status = st.empty()
    stop_slot = st.empty()
    bar = st.empty()
    table = st.empty()
    stop_slot.button(
        "Stop", key=key("stop"), icon=":material/stop_circle:", help="Stop now and keep what finished."
    )
    collected: list = []
    state = {"table_at": 0.0, "tick_at": 0.0, "started": time.time(), "level": None}
    runs: list = []
    client = None

    def on_wait(ahead: int) -> None:
        status.info(
            f"Waiting for your turn on {conn.url}: {ahead} run{'s' if ahead != 1 else ''} ahead of you. "
            "Keep this tab open; press Stop to leave the queue.",
            icon=":material/hourglass_top:",
        )

    def progress(done: int, total: int, record) -> None:
        collected.append(record)
        queue.heartbeat(ticket)
        failed = sum(1 for r in collected if not r.success)
        level = f" at concurrency {state['level']}" if state["level"] else ""
        bar.progress(
            done / total,
            text=f"{done} of {total} requests finished{level}" + (f", {failed} failed" if failed else ""),
        )
        now = time.monotonic()
        if now - state["table_at"] >= TABLE_REFRESH_S or done == total:
            state["table_at"] = now
            table.dataframe(
                live.records_frame(collected).tail(15),
                hide_index=True,
                width="stretch",
                column_config=NUMBER_FORMATS,
            )

    def should_stop() -> bool:
        now = time.monotonic()
        if now - state["tick_at"] >= TABLE_REFRESH_S:  # a widget update: Streamlit may interrupt here
            state["tick_at"] = now
            queue.heartbeat(ticket)
            status.info(
                f"Measuring {conn.url}: {time.time() - state['started']:.0f} s so far.",
                icon=":material/speed:",
            )
        return False

    box, runs_list, sweeps_list = page_state(), saved_runs(), saved_sweeps()
    keep = {"box": box, "runs": runs_list, "sweeps": sweeps_list}
    box["running"] = True
    try:
        outcome = live.wait_for_turn(queue, ticket, on_wait=on_wait, poll_s=1.0)
        if outcome != "run":
            stop_slot.empty()
            status.warning(
                {
                    "expired": "Your place in the queue expired (the page stopped checking in). Run again.",
                    "timeout": "Waited too long for the server; try again later.",
                    "stopped": "Left the queue.",
                }.get(outcome, outcome)
            )
            return
        state["started"] = time.time()
        client = live.make_client(conn.url, st.session_state.get(key("api_key")) or None, policy)
        if levels is None:
            run = run_benchmark(client, settings, progress=progress, should_stop=should_stop)
            keep_run(run, **keep)
        else:
            for level in levels:
                state["level"] = level
                collected.clear()
                runs.extend(
                    concurrency_sweep(client, settings, [level], progress=progress, should_stop=should_stop)
                )
            keep_sweep(runs, **keep)
    except Exception as error:  # a bug or an unexpected failure: say so, keep what was measured
        keep_partial(conn, settings, levels, collected, runs, state, keep)
        st.error(f"The run failed: {error}. The requests measured before it are kept.")
    except BaseException:  # Streamlit's stop/rerun: keep what finished, then let the interruption go on
        keep_partial(conn, settings, levels, collected, runs, state, keep)
        raise
    finally:
        queue.leave(ticket)
        if client is not None:
            client.close()
        box["running"] = False
    status.empty()
    stop_slot.empty()
    bar.empty()
    table.empty()


def keep_partial(
    conn, settings: BenchSettings, levels, collected: list, runs: list, state: dict, keep: dict
) -> None:
    """Save what finished before a run was cut off (a run, or the sweep's finished levels plus a part).
    Touches only the plain objects in ``keep`` (see :func:`page_state`)."""
    if collected:
        if levels is not None and state["level"] is not None:
            level = state["level"]
            settings = replace(settings, concurrency=level, num_requests=max(settings.num_requests, level))
        partial = live.partial_run(
            settings,
            conn.url,
            collected,
            started_at=state["started"],
            simulated=conn.simulated,
            reason="interrupted: Stop was pressed, a setting changed or the page was left",
            server_info=conn.info,
        )
        if levels is None:
            keep_run(partial, **keep)
        else:
            keep_sweep([*runs, partial], **keep)
    elif levels is not None and runs:
        keep_sweep(runs, **keep)


def keep_run(run, box: dict, runs: list, sweeps: list) -> None:
    saved = live.SavedRun.new(run, next_number(box))
    dropped = live.keep_bounded(runs, saved)
    box["select_run"] = saved.id
    # A stopped run says so in its results; the notice only tells about a run dropped to stay bounded.
    box["notice"] = f"The oldest run was dropped (this page keeps {live.MAX_SAVED})." if dropped else None


def keep_sweep(sweep_runs: list, box: dict, runs: list, sweeps: list) -> None:
    if not sweep_runs:
        return
    saved = live.SavedSweep.new(sweep_runs, next_number(box))
    live.keep_bounded(sweeps, saved)
    stopped = [r for r in sweep_runs if r.stopped_reason]
    box["notice"] = (
        f"The sweep stopped early ({stopped[-1].stopped_reason}); the {len(sweep_runs)} level(s) measured are kept."
        if stopped
        else None
    )


def run_section(conn: live.Connection | None, policy: ServerPolicy) -> BenchSettings:
    st.header("2 · Run a benchmark")
    st.markdown(
        "Send the prompt suite to the connected server, several requests at a time, and measure each one as "
        "SGLang's `bench_serving` does. Token counts come from the server (never estimated from words)."
    )
    settings, messages = run_settings(policy)
    for message in messages:
        st.warning(message.capitalize(), icon=":material/tune:")
    if policy.hosted:
        st.caption(
            f"Classroom limits: {policy.max_requests_per_run} requests, concurrency {policy.max_concurrency}, "
            f"{policy.max_tokens} tokens per request, {policy.runs_per_window} runs per "
            f"{policy.window_s / 60:.0f} minutes per student."
        )
    if conn is not None:
        running, waiting = server_queue().snapshot(conn.url)
        if running or waiting:
            st.caption(f"Queue for {conn.url}: {running} run in progress, {waiting} waiting.")
    clicked = st.button(
        "Run benchmark",
        type="primary",
        key=key("run"),
        disabled=conn is None,
        help=None if conn is not None else "Connect to a server first (section 1).",
    )
    if conn is None:
        st.caption("Connect to a server (or start a practice server) to run.")
    if clicked and conn is not None and not settings.categories:
        st.error("Pick at least one prompt category to run.")
    elif clicked and conn is not None:
        try:
            settings.plan()
        except ValueError as error:
            st.error(f"Cannot run: {error}")
        else:
            execute(conn, policy, settings)
    notice = page_state()["notice"]
    if notice:
        st.warning(notice, icon=":material/info:")
    results_view()
    return settings


def results_view() -> None:
    runs = saved_runs()
    if not runs:
        return
    ids = [s.id for s in runs]
    labels = {s.id: s.label for s in runs}
    box = page_state()
    if box["select_run"] in ids:
        st.session_state[key("selected_run")] = box["select_run"]
    box["select_run"] = None
    selected = st.session_state.get(key("selected_run"))
    if selected not in ids:
        st.session_state[key("selected_run")] = ids[-1]
    chosen = st.selectbox("Results of", ids, format_func=labels.get, key=key("selected_run"))
    saved = runs[ids.index(chosen)]
    run, s = saved.run, saved.run.summary
    st.subheader(f"Results {badge(run.simulated)}")
    origin = "" if saved.origin == "measured now" else f" (loaded from {saved.origin.removeprefix('file ')})"
    st.caption(
        f"{run.base_url}{origin}: {s.requests_ok} of {s.requests_total} requests succeeded in "
        f"{s.duration_s:.1f} s; settings: {run.settings.num_requests} requests, concurrency "
        f"{run.settings.concurrency}, max {run.settings.max_tokens} tokens, temperature {run.settings.temperature:g}, "
        f"{'ignore_eos' if run.settings.ignore_eos else 'natural stops'}, {run.settings.api} API."
    )
    tag = "simulated" if run.simulated else "measured"
    m = st.columns(5)
    m[0].metric(f"Output tok/s ({tag})", fmt(s.output_throughput_tok_s))
    m[1].metric(f"TTFT mean ({tag})", fmt(s.ttft_ms_mean, ",.0f", " ms"))
    m[2].metric(f"ITL mean ({tag})", fmt(s.itl_ms_mean, ",.1f", " ms"))
    m[3].metric(f"TPOT mean ({tag})", fmt(s.tpot_ms_mean, ",.1f", " ms"))
    m[4].metric(
        f"Accept length ({tag})",
        fmt(s.accept_length, ".2f") if s.accept_length is not None else ("n/a" if run.speculative else "off"),
        help="Tokens per target verify pass (bonus token included) = output tokens / verify passes, over "
        "this run's successful requests. 'off': the server does not speculate; 'n/a': it speculates but did not "
        "report verify passes (the OpenAI API of older servers).",
    )
    if run.stopped_reason:
        st.warning(
            f"This run stopped early ({run.stopped_reason}); the {len(run.records)} requests that finished are "
            "kept and the figures above use them."
        )
    if s.requests_failed:
        lines = "\n".join(f"- {count} × {message}" for message, count in s.errors.items())
        st.error(
            f"{s.requests_failed} of {s.requests_total} requests failed; the figures above use the "
            f"{s.requests_ok} that succeeded.\n\n{lines}",
            icon=":material/error:",
        )
    caveats = live.run_caveats(run)
    if caveats:
        st.info("Read these figures with care: " + "; ".join(caveats) + ".", icon=":material/info:")
    server_accept = run.server_accept_length
    if server_accept is not None:
        st.caption(
            f"The server's own lifetime mean accept length after this run: {server_accept:.2f} (since it started "
            "or its cache was last flushed, so it includes other runs)."
        )
    for note in run.notes:
        st.caption(f"Note: {note}")
    st.markdown(f"**Per category** {badge(run.simulated)}")
    frame = live.category_frame(run)
    st.dataframe(frame, hide_index=True, width="stretch", column_config=NUMBER_FORMATS)
    with st.expander(f"Every request ({len(run.records)})"):
        st.dataframe(
            live.records_frame(run.records), hide_index=True, width="stretch", column_config=NUMBER_FORMATS
        )


# ------------------------------------------------------------------------------------------ 3 compare
def bars(frame: pd.DataFrame, metric: str) -> alt.Chart:
    """Horizontal grouped bars: one row per category, baseline and speculative side by side."""
    data = frame[frame["metric"] == metric].dropna(subset=["value"])
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("category:N", sort=None, title=None, axis=alt.Axis(labelLimit=130)),
            yOffset=alt.YOffset("server:N", sort=["baseline", "speculative"]),
            x=alt.X("value:Q", title=metric),
            color=alt.Color("server:N", scale=SERVER_COLORS, legend=alt.Legend(orient="top", title=None)),
            tooltip=["category", "server", alt.Tooltip("value:Q", format=",.2f", title=metric)],
        )
        .properties(height=alt.Step(13))
    )


def speedup_chart(frame: pd.DataFrame) -> alt.LayerChart:
    data = frame.dropna(subset=["speedup"])
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("category:N", sort=None, title=None, axis=alt.Axis(labelLimit=130)),
            yOffset=alt.YOffset("measure:N"),
            x=alt.X("speedup:Q", title="speedup (x); the red line marks 1 = no gain"),
            color=alt.Color(
                "measure:N",
                scale=alt.Scale(range=["#2b6cb0", "#90cdf4"]),
                legend=alt.Legend(orient="top", title=None, labelLimit=220),
            ),
            tooltip=["category", "measure", alt.Tooltip("speedup:Q", format=".2f")],
        )
    )
    one = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(color="#c53030", strokeDash=[4, 3]).encode(x="x:Q")
    return (chart + one).properties(height=alt.Step(13))


def chart_block(title: str, chart) -> None:
    st.markdown(f"**{title}**")
    st.altair_chart(chart, width="stretch")


def compare_section() -> None:
    st.header("3 · Compare baseline and speculative")
    runs = saved_runs()
    if len(runs) < 2:
        st.info(
            "Run the same settings once against a server **without** speculation and once against a server "
            "**with** it (two URLs, or two practice servers), or load a saved run in section 6. The "
            "comparison appears here.",
            icon=":material/compare_arrows:",
        )
        show_published_throughput()
        return
    ids = [s.id for s in runs]
    labels = {s.id: s.label for s in runs}
    default_base, default_spec = live.pick_comparison(runs)
    if st.session_state.get(key("cmp_base")) not in ids:
        st.session_state[key("cmp_base")] = (default_base or runs[0]).id
    if st.session_state.get(key("cmp_spec")) not in ids:
        st.session_state[key("cmp_spec")] = (default_spec or runs[-1]).id
    c1, c2 = st.columns(2)
    base_id = c1.selectbox("Baseline run", ids, format_func=labels.get, key=key("cmp_base"))
    spec_id = c2.selectbox("Speculative run", ids, format_func=labels.get, key=key("cmp_spec"))
    if base_id == spec_id:
        st.warning("Pick two different runs.")
        return
    baseline, speculative = runs[ids.index(base_id)], runs[ids.index(spec_id)]
    comparison = live.compare(baseline, speculative)
    simulated = comparison.simulated
    for warning in comparison.warnings:
        st.warning(f"Not like for like: {warning}.", icon=":material/warning:")
    overall = comparison.overall
    st.markdown(f"**Overall** {badge(simulated)}")
    m = st.columns(4)
    m[0].metric(
        "Throughput speedup",
        fmt(overall.throughput_speedup, ".2f", "x"),
        help="Speculative output tok/s ÷ baseline output tok/s over the whole run.",
    )
    m[1].metric(
        "Per-request speedup",
        fmt(overall.tpot_speedup, ".2f", "x"),
        help="Baseline TPOT ÷ speculative TPOT: how much faster one answer streams once it has started.",
    )
    m[2].metric(
        "TTFT change",
        fmt(overall.ttft_delta_ms, "+,.1f", " ms"),
        help="Speculative minus baseline mean time to first token.",
    )
    m[3].metric(
        "Accept length", fmt(overall.accept_length, ".2f"), help="Tokens per verify pass (speculative run)."
    )
    frame = live.comparison_frame(baseline.run, speculative.run)
    speedups = live.speedup_frame(comparison)
    st.markdown(f"**Per category** {badge(simulated)}")
    c1, c2 = st.columns(2)
    with c1:
        chart_block("Output throughput (tok/s)", bars(frame, "output tok/s"))
    with c2:
        chart_block("Speedup of speculation", speedup_chart(speedups))
    st.caption(
        "A category's tok/s counts its own tokens over the time its requests were in flight. When categories "
        "run at the same time they share that time, so they do not add up to the overall figure, and their "
        "throughput ratios look alike; the per-request speed (1/TPOT) separates the categories more cleanly."
    )
    c1, c2, c3 = st.columns(3)
    with c1:
        chart_block("Time to first token (ms)", bars(frame, "TTFT mean (ms)"))
    with c2:
        chart_block("Inter-token latency (ms)", bars(frame, "ITL mean (ms)"))
    with c3:
        chart_block("Accept length (tokens per pass)", bars(frame, "accept length"))
        st.caption("Without speculation every step yields one token: the baseline's accept length is 1.")
    c1, c2 = st.columns(2)
    with c1:
        csv_button(frame, "comparison")
    with c2:
        csv_button(speedups, "speedups", label="Download the speedups (CSV)")
    with st.container(border=True):
        explain_comparison(comparison, speculative)
    show_published_throughput()


def explain_comparison(comparison, speculative: live.SavedRun) -> None:
    cats = {
        name: c
        for name, c in comparison.categories.items()
        if c.accept_length is not None and c.tpot_speedup is not None
    }
    st.markdown("**What this means**")
    left, right = st.columns(2)
    if len(cats) >= 2:
        best = max(cats.values(), key=lambda c: c.accept_length)
        worst = min(cats.values(), key=lambda c: c.accept_length)
        left.markdown(
            f"- **Predictable text accepts more.** *{best.category}* prompts averaged "
            f"{best.accept_length:.2f} tokens per verify pass and streamed {best.tpot_speedup:.2f}x faster per "
            f"request; *{worst.category}* prompts only {worst.accept_length:.2f} and {worst.tpot_speedup:.2f}x. "
            "When the answer is nearly fixed (lists, counting, copying, code syntax) the draft guesses the "
            "target's next tokens, so each expensive target pass keeps several; open-ended writing has many "
            "good continuations, so the draft is often wrong and the pass keeps little more than one token."
        )
    right.markdown(
        "- **Speedup falls as concurrency grows.** At low load a decode step is memory-bound: reading the "
        "weights costs the same for 1 or 5 tokens, so verifying drafts is almost free. With many requests in "
        "flight the GPU is already busy computing, every drafted token (rejected ones included) costs real "
        "time, and speculation can end up *slower* than plain decoding. Section 4 measures where.\n"
        "- **The 48-request cap.** Turning speculation on makes SGLang cap `--max-running-requests` at 48 "
        "unless you set it. Above 48 concurrent requests the rest wait in the queue, so TTFT and throughput "
        "suffer for a reason that has nothing to do with acceptance."
    )
    if comparison.overall.ttft_delta_ms is not None:
        left.markdown(
            "- **TTFT** is the prompt's prefill plus queueing; speculation does not shorten prefill (and the "
            "draft adds a little), so expect TTFT about equal, and the gain in ITL/TPOT."
        )
    run = speculative.run
    accept = run.summary.accept_length
    gamma = live.run_gamma(run)
    params = live.simulator_link_params(accept, gamma)
    if params is not None:
        left.page_link(
            "pages/simulator.py",
            label=f"Open the Simulator at α = {params['alpha']}, γ = {params['gamma']} (your accept length "
            f"{accept:.2f})",
            icon=":material/insights:",
            query_params=params,
        )
        left.caption(
            "α is the per-token acceptance rate that gives your measured accept length for this draft depth γ "
            "if every position were accepted alike (i.i.d.); real acceptance decays with depth, so read it as a "
            "summary."
        )


def show_published_throughput() -> None:
    frame, _ = published_frames()
    source = frame["source"].iloc[0]
    with st.expander(
        "For reference: what the SGLang documentation reports (published, not your measurement)"
    ):
        st.markdown(
            f"{published(source)}: Llama-3.1-8B-Instruct on MT-Bench, one H100 ([link]({frame['url'].iloc[0]}))."
        )
        st.dataframe(
            frame[["method", "output tok/s", "speedup"]],
            hide_index=True,
            column_config={"speedup": st.column_config.NumberColumn(format="%.2fx")},
        )
        st.caption(
            "Different hardware, prompts and settings give different numbers: compare trends, not values."
        )


# -------------------------------------------------------------------------------------------- 4 sweep
def sweep_section(conn: live.Connection | None, policy: ServerPolicy, settings: BenchSettings) -> None:
    st.header("4 · Where speculation stops paying: a concurrency sweep")
    st.markdown(
        "Repeat the run at several concurrency levels, once on the baseline server and once on the speculative "
        "one. The throughput ratio at each level shows where speculation stops paying on *your* server. Each "
        "level sends at least as many requests as its concurrency."
    )
    offered = [level for level in live.SWEEP_LEVELS if level <= policy.max_concurrency]
    default = [level for level in (1, 4, 16, 64) if level in offered]
    levels = st.multiselect("Concurrency levels", offered, default=default, key=key("levels"))
    clicked = st.button(
        "Run concurrency sweep",
        key=key("sweep"),
        disabled=conn is None or not levels,
        help="Uses the settings of section 2 (except concurrency).",
    )
    if clicked and conn is not None and levels:
        if settings.categories:
            execute(conn, policy, settings, levels=sorted(levels))
        else:
            st.error("Pick at least one prompt category (section 2) to run the sweep.")
    sweeps = saved_sweeps()
    if not sweeps:
        st.caption("No sweep yet.")
        show_published_batch()
        return
    frame = live.sweep_frame(sweeps)
    simulated = any(s.simulated for s in sweeps)
    c1, c2 = st.columns(2)
    with c1:
        st.markdown(f"**Throughput vs concurrency** {badge(simulated)}")
        chart = (
            alt.Chart(frame.dropna(subset=["output tok/s"]))
            .mark_line(point=True)
            .encode(
                x=alt.X(
                    "concurrency:Q",
                    scale=alt.Scale(type="log", base=2),
                    title="concurrency (requests in flight)",
                ),
                y=alt.Y("output tok/s:Q"),
                color=alt.Color("series:N", legend=alt.Legend(orient="top", title=None, labelLimit=300)),
                tooltip=["sweep", "concurrency", alt.Tooltip("output tok/s:Q", format=",.0f"), "failed"],
            )
            .properties(height=280)
        )
        st.altair_chart(chart, width="stretch")
    base_sweeps = [s for s in sweeps if not s.speculative]
    spec_sweeps = [s for s in sweeps if s.speculative]
    with c2:
        if base_sweeps and spec_sweeps:
            speedup = live.sweep_speedup_frame(base_sweeps[-1], spec_sweeps[-1])
            st.markdown(f"**Speedup vs concurrency** {badge(simulated)}")
            line = (
                alt.Chart(speedup)
                .mark_line(point=True, color="#2b6cb0")
                .encode(
                    x=alt.X("concurrency:Q", scale=alt.Scale(type="log", base=2), title="concurrency"),
                    y=alt.Y("speedup:Q", title="speculative ÷ baseline throughput (x)"),
                    tooltip=["concurrency", alt.Tooltip("speedup:Q", format=".2f")],
                )
            )
            one = (
                alt.Chart(pd.DataFrame({"y": [1.0]}))
                .mark_rule(color="#c53030", strokeDash=[4, 3])
                .encode(y="y:Q")
            )
            st.altair_chart((line + one).properties(height=280), width="stretch")
            losing = speedup[speedup["speedup"] < 1.0]
            if len(speedup):
                if len(losing):
                    st.markdown(
                        f"Speculation is **slower** than plain decoding from concurrency "
                        f"**{int(losing['concurrency'].min())}** in this sweep."
                    )
                else:
                    st.markdown(
                        f"Speculation stays ahead up to concurrency {int(speedup['concurrency'].max())} here "
                        f"(lowest gain {speedup['speedup'].min():.2f}x at concurrency "
                        f"{int(speedup.loc[speedup['speedup'].idxmin(), 'concurrency'])})."
                    )
            csv_button(speedup, "sweep-speedup", label="Download the speedups (CSV)")
        else:
            st.info("Sweep both a baseline and a speculative server to see the speedup at each level.")
    shaky = [
        f"c = {run.settings.concurrency} ({live.run_caveats(run)[0].split(',')[0]})"
        for sweep in sweeps[-2:]
        for run in sweep.runs
        if live.run_caveats(run)
    ]
    if shaky:
        st.info(
            "Some levels are too short or too small to trust fully: " + "; ".join(shaky) + ". More requests "
            "or more tokens per request give steadier curves.",
            icon=":material/info:",
        )
    failed = [(sweep, run) for sweep in sweeps for run in sweep.runs if run.summary.requests_failed]
    for sweep, run in failed:
        st.warning(
            f"{sweep.label.split(' · ')[0]}, concurrency {run.settings.concurrency}: "
            f"{run.summary.requests_failed} request(s) failed ("
            + "; ".join(run.summary.errors)
            + "); its throughput counts only the ones that succeeded."
        )
    csv_button(frame, "sweep")
    st.markdown(
        "Why it falls: with few requests a decode step is limited by reading the weights, and checking several "
        "drafted tokens rides along for free. As the batch grows the verify pass becomes compute-bound, so every "
        "drafted token costs real time; and past **48** running requests a speculative SGLang server (its "
        "default cap) queues the rest."
    )
    show_published_batch()


def show_published_batch() -> None:
    _, frame = published_frames()
    with st.expander("For reference: published throughput ratios by batch size (not your measurement)"):
        st.markdown(
            f"{published(frame['source'].iloc[0])} (SGLang, one H100, Llama-3.1-8B, a chain of 3 drafts): "
            "speculative ÷ plain throughput at the batch sizes the paper quotes."
        )
        chart = (
            alt.Chart(frame)
            .mark_point(filled=True, size=90)
            .encode(
                x=alt.X("batch size:Q", scale=alt.Scale(type="log", base=2)),
                y=alt.Y("speedup:Q", title="throughput ratio (x)", scale=alt.Scale(zero=False)),
                color=alt.Color(
                    "method:N",
                    scale=alt.Scale(range=["#ffa726", "#ef6c00"]),
                    legend=alt.Legend(orient="bottom"),
                ),
                tooltip=["method", "batch size", "speedup"],
            )
            .properties(height=220)
        )
        one = (
            alt.Chart(pd.DataFrame({"y": [1.0]}))
            .mark_rule(color="#c53030", strokeDash=[4, 3])
            .encode(y="y:Q")
        )
        st.altair_chart(chart + one, width="stretch")
        csv_button(frame, "published-batch-points", label="Download the published points (CSV)")


# ------------------------------------------------------------------------------------------- 5 launch
def use_recommended(values: tuple[int, int, int]) -> None:
    st.session_state[key("cmd_knobs")] = True
    (
        st.session_state[key("cmd_steps")],
        st.session_state[key("cmd_topk")],
        st.session_state[key("cmd_tokens")],
    ) = values


def launch_section() -> None:
    st.header("5 · Launch commands")
    st.markdown(
        "Build the two SGLang commands to compare: the same model with and without speculation. Copy them "
        "with the button at the top right of each box."
    )
    c1, c2, c3 = st.columns([3, 1, 3])
    model = c1.text_input("Target model", "meta-llama/Llama-3.1-8B-Instruct", key=key("cmd_model"))
    algorithm = c2.selectbox(
        "Algorithm", ALGORITHMS, index=ALGORITHMS.index("EAGLE3"), key=key("cmd_algorithm")
    )
    draft = c3.text_input(
        "Draft model (empty = the known one for this target)",
        "",
        key=key("cmd_draft"),
        help="EAGLE, EAGLE3 and STANDALONE need one; NEXTN and NGRAM take none.",
    )
    c1, c2, c3, c4 = st.columns(4)
    knobs = c1.toggle(
        "Set the draft tree",
        value=False,
        key=key("cmd_knobs"),
        help="Steps, top-k and draft tokens: SGLang wants all three or none; none = its automatic choice "
        "(5/4/8 for Llama, 3/1/4 otherwise).",
    )
    steps = c2.number_input("Steps", 1, 16, 3, key=key("cmd_steps"), disabled=not knobs)
    topk = c3.number_input("Top-k", 1, 16, 1, key=key("cmd_topk"), disabled=not knobs)
    tokens = c4.number_input("Draft tokens", 2, 64, 4, key=key("cmd_tokens"), disabled=not knobs)
    c1, c2, c3, c4 = st.columns(4)
    port = c1.number_input("Port", 1, 65535, 30000, key=key("cmd_port"))
    mem = c2.number_input(
        "Memory fraction (0 = auto)",
        0.0,
        0.95,
        0.0,
        step=0.05,
        key=key("cmd_mem"),
        help="--mem-fraction-static; the docs' examples use 0.7.",
    )
    graph_bs = c3.number_input("CUDA graph max batch (0 = auto)", 0, 1024, 0, key=key("cmd_graph"))
    running = c4.number_input("Max running requests (0 = auto)", 0, 4096, 0, key=key("cmd_running"))
    common = {
        "model": model,
        "port": int(port),
        "mem_fraction_static": float(mem) or None,
        "cuda_graph_max_bs": int(graph_bs) or None,
        "max_running_requests": int(running) or None,
    }
    left, right = st.columns(2)
    with left:
        st.markdown("**Baseline** (no speculation)")
        try:
            baseline = build_launch_command(LaunchSpec(**common, baseline=True))
        except LaunchRuleError as error:
            st.error(str(error))
            baseline = None
        if baseline is not None:
            st.code(baseline.text, language="bash", wrap_lines=True)
    with right:
        st.markdown(f"**Speculative** ({algorithm})")
        spec = LaunchSpec(
            **common,
            algorithm=algorithm,
            draft_model=draft.strip() or None,
            num_steps=int(steps) if knobs else None,
            eagle_topk=int(topk) if knobs else None,
            num_draft_tokens=int(tokens) if knobs else None,
        )
        try:
            speculative = build_launch_command(spec)
        except LaunchRuleError as error:
            st.error(f"SGLang would not accept this: {error}", icon=":material/rule:")
            speculative = None
        if speculative is not None:
            st.code(speculative.text, language="bash", wrap_lines=True)
            pair = speculative.draft_pair
            if pair is not None and pair.recommended is not None and not knobs:
                st.button(
                    "Use the draft's published steps/topk/draft tokens ({}/{}/{})".format(*pair.recommended),
                    key=key("cmd_use_recommended"),
                    on_click=use_recommended,
                    args=(pair.recommended,),
                )
            for warning in speculative.warnings:
                st.warning(warning)
            for note in speculative.notes:
                st.caption(f"• {note}")
    used = set()
    for command in (baseline, speculative):
        if command is not None:
            used.update(a for a in command.argv if a.startswith("--"))
            used.update(command.env)
    explanations = flag_explanations()
    shown = [(flag, text) for flag, text in explanations.items() if flag in used]
    if shown:
        with st.expander("What each flag means"):
            st.markdown("\n".join(f"- `{flag}`: {text}" for flag, text in shown))
    st.caption(
        "Serve both on one GPU one after the other (or on two ports if memory allows), run section 2 against each "
        "with the same settings, then compare in section 3."
    )


# ------------------------------------------------------------------------------------------ 6 results
def results_section() -> None:
    st.header("6 · Keep your results")
    st.markdown(
        "Results stay on this page while you visit the others. Download them to keep them (JSON to load here "
        "again, CSV for a spreadsheet); the API key is never included."
    )
    runs, sweeps = saved_runs(), saved_sweeps()
    for saved in reversed(runs):
        saved_result_row(
            "run",
            saved.id,
            saved.label,
            saved.run.simulated,
            lambda run=saved.run: run.to_json().encode(),
            lambda run=saved.run, label=saved.label: run.to_csv(label).encode(),
        )
    for sweep in reversed(sweeps):
        saved_result_row(
            "sweep",
            sweep.id,
            sweep.label,
            sweep.simulated,
            lambda runs=sweep.runs: live.sweep_to_json(runs).encode(),
            lambda runs=sweep.runs: live.sweep_to_csv(runs).encode(),
        )
    if not runs and not sweeps:
        st.caption("No results yet.")
    upload = st.file_uploader(
        f"Load a saved run or sweep (.json, up to {live.MAX_RESULTS_FILE_BYTES / 1e6:.0f} MB)",
        type=["json"],
        key=key("upload"),
    )
    if upload is not None:
        marker = (upload.file_id, upload.name)
        if st.session_state.get(key("uploaded")) != marker:  # load each uploaded file once
            st.session_state[key("uploaded")] = marker
            try:
                loaded = live.read_results_file(upload.getvalue(), upload.name)
            except live.ResultsFileError as error:
                st.session_state[key("upload_msg")] = ("error", f"Could not load it: {error}")
            else:
                origin = f"file {upload.name}"
                if loaded.kind == "run":
                    item = live.SavedRun.new(loaded.runs[0], next_number(page_state()), origin=origin)
                    live.keep_bounded(runs, item)
                else:
                    item = live.SavedSweep.new(loaded.runs, next_number(page_state()), origin=origin)
                    live.keep_bounded(sweeps, item)
                st.session_state[key("upload_msg")] = ("success", f"Loaded {item.label}.")
            st.rerun()
    message = st.session_state.get(key("upload_msg"))
    if message:
        (st.error if message[0] == "error" else st.success)(message[1])
    st.button(
        "Reset this page",
        key=key("reset"),
        on_click=reset_page,
        icon=":material/restart_alt:",
        help="Stops your practice servers and forgets the connection and all results (download them first).",
    )


# ----------------------------------------------------------------------------------------------- page
st.title("Live benchmark")
st.markdown(
    "Measure a running SGLang server the way SGLang's own `bench_serving` does: time to first token (TTFT), "
    "inter-token latency (ITL), output throughput and the **accept length** (tokens per target verify pass). "
    f"Numbers from your server are labelled {MEASURED}; numbers from the practice server {SIMULATED}; figures "
    f"quoted from papers or docs {published('with their source')}."
)
POLICY = load_policy()
session_id()
await_interrupted_run()
connection = connect_section(POLICY)
settings = run_section(connection, POLICY)
compare_section()
sweep_section(connection, POLICY, settings)
launch_section()
results_section()
