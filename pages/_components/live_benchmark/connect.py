"""Section 1: connect to a server (a URL, the classroom's list, or a practice server) and show its card.

Keys owned here: ``live_url``, ``live_server_choice``, ``live_custom_url``, ``live_api_key``,
``live_connect``, ``live_conn`` (the :class:`~core.serving.live_session.Connection`), ``live_conn_error``,
``live_conn_refused``, ``live_practice_error`` and the practice panel's ``live_start_*``, ``live_use_*``,
``live_stop_*`` buttons.
"""

from __future__ import annotations

import streamlit as st

from core.serving import live_session as live
from core.serving.launch_command import LaunchRuleError
from core.serving.server_policy import ServerPolicy, URLRefused
from core.serving.sglang_client import SGLangError
from pages._common import SIMULATED
from pages._components.live_benchmark.state import badge, key, practice_leases


# ---------------------------------------------------------------------------------------- callbacks
def do_connect(url: str, policy: ServerPolicy) -> None:
    """Connect to ``url``; the outcome (connection, refusal or error) goes to the session."""
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
    """Start a practice server of ``kind`` ("baseline" or "speculative") and connect to it."""
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


# ------------------------------------------------------------------------------------------ section
def connect_section(policy: ServerPolicy) -> live.Connection | None:
    """Section 1; returns the connection, or None when not connected."""
    st.header("1 · Connect to a server")
    wanted = st.query_params.get("url")
    if policy.hosted:
        url = classroom_url(policy, wanted)
        if url is None:
            st.error("No servers are configured for this classroom: ask your instructor.")
            return None
    else:
        url = workshop_url(wanted)
    st.text_input(
        "API key (optional)",
        type="password",
        key=key("api_key"),
        help="Sent as 'Authorization: Bearer KEY' when the server was started with --api-key. "
        "Never saved in exported results.",
    )
    if st.button("Connect", type="primary", key=key("connect")):
        do_connect(url, policy)
    failed = connection_problems(policy)
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


def classroom_url(policy: ServerPolicy, wanted: str | None) -> str | None:
    """Classroom mode: pick one of the instructor's servers (or a public URL, if allowed)."""
    st.info(
        "**Classroom mode.** This app is shared, so it only contacts the servers your instructor listed. "
        "Runs against one server wait in a queue, one at a time, so measurements do not disturb each "
        "other.",
        icon=":material/school:",
    )
    url = None
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
    return url


def workshop_url(wanted: str | None) -> str:
    """Workshop mode: a free URL field (from the link, the connection, or SGLang's default)."""
    # Widget values are forgotten while the learner is on another page; the connection is not.
    connected = st.session_state.get(key("conn"))
    st.session_state.setdefault(key("url"), wanted or (connected.url if connected else live.DEFAULT_URL))
    return st.text_input(
        "Server URL", key=key("url"), help="Where SGLang listens; its default is http://localhost:30000."
    )


def connection_problems(policy: ServerPolicy) -> bool:
    """Show why the last connection failed (refused, or nothing answered); True when it failed."""
    refused = st.session_state.get(key("conn_refused"))
    if refused:
        st.error(f"Not contacted: {refused}", icon=":material/block:")
    failed = st.session_state.get(key("conn_error"))
    if failed:
        st.error(f"Could not connect to {failed[0]}: {failed[1]}", icon=":material/cloud_off:")
        nothing_answers_help(policy, failed[0])
    return bool(failed)


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
