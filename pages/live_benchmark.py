"""Live benchmark: measure a running SGLang server (or the practice server), baseline vs speculative.

A lesson in six steps: connect, run, compare, sweep concurrency, launch commands, keep results. All logic
lives in ``core.live_session`` and ``core.bench_runner``; this page draws widgets, tables and charts.
Session keys start with ``live_``.
"""

from __future__ import annotations

import os
import uuid

import streamlit as st

from core import live_session as live
from core.run_queue import RateLimiter, ServerQueue
from core.server_policy import ServerPolicy, URLRefused, policy_from_settings
from core.sglang_client import SGLangError
from pages._common import MEASURED, SIMULATED


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


# ------------------------------------------------------------------------------------------ sections
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
            if wanted in options:
                st.session_state.setdefault(key("server_choice"), wanted)
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
        st.session_state.setdefault(key("url"), wanted or live.DEFAULT_URL)
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
        nothing_answers_help(policy)

    conn: live.Connection | None = st.session_state.get(key("conn"))
    if conn is not None:
        server_card(conn)
    if not policy.hosted:
        practice_panel(policy, expanded=bool(failed) or conn is None)
    return conn


def nothing_answers_help(policy: ServerPolicy) -> None:
    st.markdown(
        """
**Nothing answers?** Start SGLang on the GPU machine (section 5 below builds the exact commands), wait for
`The server is fired up and ready to roll!`, then connect again. Check the port (SGLang's default is
30000) and, on a remote machine, that the port is reachable from here.
"""
        + ("" if policy.hosted else "**No GPU?** Start a practice server below: it simulates one.")
    )


def server_card(conn: live.Connection) -> None:
    info = conn.info
    badge = SIMULATED if conn.simulated else MEASURED
    with st.container(border=True):
        title = "Practice server (simulated model, no GPU)" if conn.simulated else "SGLang server"
        st.markdown(f"**{title}** at `{conn.url}` {badge}")
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
                "The accept length is the server's own lifetime mean (SGLang refreshes it every 40 decode "
                "steps; flushing the cache resets it). Runs below measure their own."
            )


def practice_panel(policy: ServerPolicy, expanded: bool) -> None:
    leases = practice_leases()
    with st.expander("No GPU? Start a practice server (simulated)", expanded=expanded or bool(leases)):
        st.markdown(
            "A practice server speaks SGLang's HTTP API on this machine but runs **no model**: its timing comes "
            f"from the lab's cost model and its accepted drafts from a Monte Carlo {SIMULATED}. Use it to learn "
            f"the workflow; every number it produces is labelled simulated. At most "
            f"{live.MAX_PRACTICE_SERVERS} per session; each stops itself after "
            f"{live.PRACTICE_LIFETIME_S / 60:.0f} minutes."
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


# ----------------------------------------------------------------------------------------------- page
st.title("Live benchmark")
st.markdown(
    "Measure a running SGLang server the way SGLang's own `bench_serving` does: time to first token (TTFT), "
    "inter-token latency (ITL), output throughput and the **accept length** (tokens per target verify pass). "
    f"Numbers from your server are labelled {MEASURED}; numbers from the practice server {SIMULATED}."
)
POLICY = load_policy()
session_id()
connection = connect_section(POLICY)
