"""Section 2: the run settings, the Run button, and the results of the selected run.

Keys owned here: ``live_suite``, ``live_categories_<suite>``, ``live_requests``, ``live_concurrency``,
``live_max_tokens``, ``live_temperature``, ``live_ignore_eos``, ``live_api``, ``live_timeout``, ``live_run``,
``live_warmup``, ``live_flush`` and ``live_like_bench`` (the button that sets bench_serving's defaults).
"""

from __future__ import annotations

import streamlit as st

from core.serving import live_session as live
from core.serving.bench_runner import BenchSettings
from core.serving.prompt_suite import available_suites, category_description, load_suite
from core.serving.server_policy import ServerPolicy
from pages._components.live_benchmark.execute import execute
from pages._components.live_benchmark.results import results_view
from pages._components.live_benchmark.state import key, server_queue, shelf

RUN_TIME_BUDGET_S = 600.0  # one run (or one sweep level) stops after this long


def run_section(conn: live.Connection | None, policy: ServerPolicy) -> BenchSettings:
    """Section 2; returns the settings, which the sweep (section 4) reuses."""
    st.header("2 · Run a benchmark")
    st.markdown(
        "Send the prompt suite to the connected server, several requests at a time, and measure each one as "
        "SGLang's `bench_serving` does. Token counts come from the server (never estimated from words)."
    )
    settings, messages = run_settings(policy)
    for message in messages:
        st.warning(message.capitalize(), icon=":material/tune:")
    limits_and_queue(conn, policy)
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
    notice = shelf().state.notice
    if notice:
        st.warning(notice, icon=":material/info:")
    results_view()
    return settings


def limits_and_queue(conn: live.Connection | None, policy: ServerPolicy) -> None:
    """The classroom's limits, and how busy the connected server's queue is."""
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


def run_settings(policy: ServerPolicy) -> tuple[BenchSettings, list[str]]:
    """The run settings from the widgets, clamped to the policy; returns (settings, clamp messages)."""
    suite_name, categories = prompt_choice()
    requests, concurrency, max_tokens, temperature = run_size_inputs()
    ignore_eos, api, timeout = request_options(policy)
    warmup, flush = bench_serving_options(policy)
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
        warmup_requests=1 if warmup else 0,
        flush_cache=bool(flush),
    )
    return settings, messages


def prompt_choice() -> tuple[str, list[str]]:
    """The prompt suite and its categories to send."""
    c1, c2 = st.columns([1, 2])
    suite_name = c1.selectbox("Prompt suite", available_suites(), key=key("suite"))
    suite = load_suite(suite_name)
    categories = c2.multiselect(
        "Prompt categories",
        list(suite.categories),
        default=list(suite.categories),
        key=key(f"categories_{suite_name}"),
        help="\n".join(f"- **{c}**: {category_description(c)}" for c in suite.categories),
    )
    return suite_name, categories


def run_size_inputs() -> tuple[int, int, int, float]:
    """Requests, concurrency, max new tokens and temperature, as the widgets hold them (not yet clamped)."""
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
    return requests, concurrency, max_tokens, temperature


def request_options(policy: ServerPolicy) -> tuple[bool, str, float]:
    """Ignore end of sequence, which API, and the request timeout in seconds (not yet clamped)."""
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
    return ignore_eos, api, timeout


def use_bench_serving_defaults() -> None:
    """The one-click run like SGLang's bench_serving: greedy, ignore_eos, native API, one warm-up request."""
    defaults = BenchSettings.like_bench_serving()
    st.session_state[key("temperature")] = defaults.temperature
    st.session_state[key("ignore_eos")] = defaults.ignore_eos
    st.session_state[key("api")] = defaults.api
    st.session_state[key("warmup")] = defaults.warmup_requests > 0


def bench_serving_options(policy: ServerPolicy) -> tuple[bool, bool]:
    """The warm-up and /flush_cache choices, and the button that sets bench_serving's defaults."""
    c1, c2, c3 = st.columns(3)
    c1.button(
        "Like bench_serving",
        key=key("like_bench"),
        on_click=use_bench_serving_defaults,
        icon=":material/rule:",
        help="Set SGLang bench_serving's defaults (sglang 0.5.23): temperature 0, ignore end of sequence, the "
        "native API, one warm-up request first. Its --flush-cache is off by default, as here.",
    )
    warmup = c2.checkbox(
        "Warm-up request first",
        value=False,
        key=key("warmup"),
        help="Send one request before the run and leave it out of the figures (bench_serving does).",
    )
    flush = c3.checkbox(
        "Flush the server's cache first",
        value=False,
        key=key("flush"),
        disabled=policy.hosted,
        help="POST /flush_cache before the run (bench_serving's --flush-cache), so the server accept length "
        "covers this run only. It clears the prefix cache for everyone, so a shared classroom server does "
        "not offer it.",
    )
    return bool(warmup), bool(flush) and not policy.hosted
