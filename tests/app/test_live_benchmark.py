"""Live benchmark page (AppTest): connect, run, compare, export against practice servers, fault modes, and
hosted classroom mode."""

from __future__ import annotations

import socket

import pytest

from core.serving.practice_server import PracticeConfig, PracticeServer

PAGE = "pages/live_benchmark.py"
FAST = 0.02  # practice-server time scale: 50x faster than the simulated H100


# ----------------------------------------------------------------------------------------- helpers
def no_exception(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def practice():
    """Factory for practice servers that are stopped at the end of the test."""
    servers = []

    def make(**config) -> PracticeServer:
        config.setdefault("time_scale", FAST)
        server = PracticeServer(PracticeConfig(**config))
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def open_page(app_test, **kwargs):
    at = app_test(PAGE, **kwargs)
    no_exception(at)
    return at


def connect(at, url: str):
    at.text_input(key="live_url").set_value(url)
    at.button(key="live_connect").click().run()
    no_exception(at)
    return at


def card(at) -> str:
    """The server card's table (markdown)."""
    tables = [m.value for m in at.markdown if m.value.startswith("| | |")]
    assert len(tables) == 1, "expected one server card"
    return tables[0]


def stop_practice_servers(at) -> None:
    for lease in at.session_state["live_practice"] if "live_practice" in at.session_state else []:  # noqa: SIM401
        lease.stop()


# ----------------------------------------------------------------------------------------- connect
def test_workshop_mode_has_a_free_url_field_with_sglang_default(app_test):
    at = open_page(app_test)
    assert at.title[0].value == "Live benchmark"
    assert at.text_input(key="live_url").value == "http://localhost:30000"
    assert "live_server_choice" not in [s.key for s in at.selectbox]  # no allow-list in workshop mode
    assert any("practice server" in e.label for e in at.expander)


def test_url_from_the_link_fills_the_field(app_test):
    at = open_page(app_test, query_params={"url": "http://gpu-box:30001"})
    assert at.text_input(key="live_url").value == "http://gpu-box:30001"


def test_nothing_answers_gives_guidance_not_a_traceback(app_test):
    at = open_page(app_test)
    url = closed_port_url()
    connect(at, url)
    errors = texts(at.error)
    assert f"Could not connect to {url}" in errors and "connection refused" in errors
    guidance = texts(at.markdown)
    assert "Nothing answers?" in guidance and "No GPU?" in guidance
    # The commands to start SGLang use the port the learner tried.
    from core.serving import live_session as live

    baseline, speculative = live.start_commands(url)
    codes = [c.value for c in at.code]
    assert baseline.text in codes and speculative.text in codes
    assert f"--port {url.rsplit(':', 1)[1]}" in speculative.text
    assert "live_conn" not in at.session_state or at.session_state["live_conn"] is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://gpu:99999", "invalid port"),
        ("ftp://gpu:1", "Only http:// and https://"),
        ("http://", "no host"),
    ],
)
def test_malformed_url_is_a_clear_error(app_test, url, message):
    at = open_page(app_test)
    connect(at, url)
    assert message in texts(at.error)


def test_link_local_url_is_refused_in_workshop_mode_too(app_test):
    at = open_page(app_test)
    connect(at, "http://169.254.169.254")
    assert "link-local" in texts(at.error) and "Not contacted" in texts(at.error)


def test_connect_to_a_speculative_practice_server_shows_the_card(app_test, practice):
    server = practice(speculative=True)
    at = open_page(app_test)
    connect(at, server.url)
    table = card(at)
    assert "speclab-practice/llama-3.1-8b-simulated" in table
    assert "| Speculation | on |" in table and "| Algorithm | EAGLE3 |" in table
    assert "| Steps / topk / draft tokens | 5 / 4 / 8 |" in table  # SGLang's automatic choice for Llama
    assert "| Max running requests | 48 |" in table
    assert ":material/casino: simulated" in texts(at.markdown)  # practice results are labelled SIMULATED


def test_connect_to_a_plain_practice_server(app_test, practice):
    server = practice(speculative=False)
    at = connect(open_page(app_test), server.url)
    table = card(at)
    assert "| Speculation | off |" in table and "Algorithm" not in table
    assert "| Max running requests | 256 |" in table


def test_server_that_is_starting_is_flagged(app_test, practice):
    server = practice(fault="health_503")
    at = connect(open_page(app_test), server.url)
    assert "not ready" in texts(at.warning) and "503" in texts(at.warning)


def test_start_and_stop_practice_servers_from_the_page(app_test):
    at = open_page(app_test)
    try:
        at.button(key="live_start_speculative").click().run()
        no_exception(at)
        leases = at.session_state["live_practice"]
        assert len(leases) == 1 and leases[0].running
        assert at.text_input(key="live_url").value == leases[0].url
        assert "| Speculation | on |" in card(at)
        at.button(key="live_start_baseline").click().run()
        assert len(at.session_state["live_practice"]) == 2
        assert "| Speculation | off |" in card(at)  # connected to the newest one
        # A third is refused with a message: at most two per session.
        at.button(key="live_start_baseline").click().run()
        no_exception(at)
        assert "already runs 2" in texts(at.error)
        first = at.session_state["live_practice"][0]
        at.button(key="live_stop_0").click().run()
        no_exception(at)
        assert not first.running and len(at.session_state["live_practice"]) == 1
    finally:
        stop_practice_servers(at)


# ------------------------------------------------------------------------------------- hosted mode
def hosted(app_test, urls, custom=False, limits=None, **kwargs):
    secrets = {"sglang": {"allowed_base_urls": list(urls), "allow_custom_url": custom, **(limits or {})}}
    return open_page(app_test, secrets=secrets, **kwargs)


def test_hosted_mode_offers_only_the_allow_list(app_test, practice):
    server = practice(speculative=True)
    at = hosted(app_test, [server.url, "http://10.0.0.12:30001"])
    assert "Classroom mode" in texts(at.info)
    choice = at.selectbox(key="live_server_choice")
    assert list(choice.options) == [server.url, "http://10.0.0.12:30001"]
    assert not [t for t in at.text_input if t.key in ("live_url", "live_custom_url")]
    assert not any("practice server" in e.label for e in at.expander)  # no practice servers in hosted mode
    choice.set_value(server.url)
    at.button(key="live_connect").click().run()
    no_exception(at)
    assert "| Speculation | on |" in card(at)


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254", "http://169.254.169.254/latest/meta-data", "http://127.0.0.1:8501"]
)
def test_hosted_mode_refuses_other_urls_from_a_link(app_test, practice, url):
    server = practice()
    at = hosted(app_test, [server.url], query_params={"url": url})
    errors = texts(at.error)
    assert f"The link asked for {url}" in errors and "only connects to the instructor's servers" in errors
    assert at.selectbox(key="live_server_choice").value == server.url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254", "link-local"),
        ("http://10.1.2.3:30000", "private network"),
        ("http://127.0.0.1:30000", "loopback"),
    ],
)
def test_hosted_mode_custom_field_refuses_internal_addresses(app_test, practice, url, reason):
    server = practice()
    at = hosted(app_test, [server.url], custom=True)
    at.text_input(key="live_custom_url").set_value(url)
    at.button(key="live_connect").click().run()
    no_exception(at)
    errors = texts(at.error)
    assert "Not contacted" in errors and reason in errors
    assert at.session_state["live_conn"] is None


def test_hosted_mode_with_an_allow_listed_practice_server_from_a_link(app_test, practice):
    server = practice()
    at = hosted(app_test, ["http://10.0.0.12:30000", server.url], query_params={"url": server.url})
    assert at.selectbox(key="live_server_choice").value == server.url
    assert not at.error


def test_hosted_mode_server_down_asks_to_wait_or_tell_the_instructor(app_test):
    url = closed_port_url()
    at = hosted(app_test, [url])
    at.button(key="live_connect").click().run()
    no_exception(at)
    assert f"Could not connect to {url}" in texts(at.error)
    assert "tell your instructor" in texts(at.markdown)
    assert "Start SGLang on the GPU machine" not in texts(at.markdown)  # students do not run the server


def test_hosted_mode_with_a_broken_configuration_says_so(app_test):
    at = open_page(app_test, secrets={"sglang": {"allowed_base_urls": ["ftp://x"]}})
    assert "configuration is invalid" in texts(at.error)


# --------------------------------------------------------------------------------------------- runs
def settings(at, *, requests=6, concurrency=3, max_tokens=24, timeout=None):
    at.number_input(key="live_requests").set_value(requests)
    at.number_input(key="live_concurrency").set_value(concurrency)
    at.number_input(key="live_max_tokens").set_value(max_tokens)
    if timeout is not None:
        at.number_input(key="live_timeout").set_value(timeout)
    return at


def run(at):
    at.button(key="live_run").click().run()
    no_exception(at)
    return at


def metric(at, label: str) -> str:
    values = [m.value for m in at.metric if m.label == label]
    assert values, f"no metric {label!r}; metrics: {[m.label for m in at.metric]}"
    return values[0]


def saved(at) -> list:
    return list(at.session_state["live_runs"])


def charts(at) -> list[dict]:
    import json

    return [json.loads(node.proto.spec) for node in at.get("vega_lite_chart")]


def test_run_button_waits_for_a_connection(app_test):
    at = open_page(app_test)
    assert at.button(key="live_run").disabled
    assert "Connect to a server" in texts(at.caption)


def test_run_measures_and_labels_practice_results_simulated(app_test, practice):
    server = practice(speculative=True)
    at = settings(connect(open_page(app_test), server.url))
    run(at)
    [entry] = saved(at)
    result = entry.run
    summary = result.summary
    assert result.simulated and result.speculative and result.stopped_reason is None
    assert summary.requests_ok == 6 and summary.requests_failed == 0
    # Token counts come from the server: every request reports completion tokens, at most max_tokens.
    assert all(0 < r.completion_tokens <= 24 for r in result.records)
    # What the page shows is the run's own summary, labelled simulated.
    assert metric(at, "Output tok/s (simulated)") == f"{summary.output_throughput_tok_s:,.1f}"
    assert metric(at, "TTFT mean (simulated)") == f"{summary.ttft_ms_mean:,.0f} ms"
    assert metric(at, "Accept length per request (simulated)") == f"{summary.accept_length:.2f}"
    assert not [m for m in at.metric if "(measured)" in m.label]
    table = at.dataframe[0].value
    assert list(table["category"]) == [*summary.categories, "overall"]
    assert list(table["requests ok"])[-1] == 6
    assert at.session_state["live_selected_run"] == entry.id


def test_plain_server_reports_no_speculation(app_test, practice):
    server = practice(speculative=False)
    at = run(settings(connect(open_page(app_test), server.url)))
    assert metric(at, "Accept length per request (simulated)") == "off"
    assert saved(at)[0].run.summary.accept_length is None


def test_compare_baseline_and_speculative_with_charts_and_simulator_link(app_test, practice):
    from core.serving import live_session as live
    from core.serving.bench_runner import compare_runs

    base, spec = practice(speculative=False), practice(speculative=True)
    at = open_page(app_test)
    for url in (base.url, spec.url):
        run(settings(connect(at, url), requests=9))
    baseline, speculative = (s.run for s in saved(at))
    assert at.selectbox(key="live_cmp_base").value == saved(at)[0].id
    assert at.selectbox(key="live_cmp_spec").value == saved(at)[1].id
    comparison = compare_runs(baseline, speculative)
    overall = comparison.overall
    assert "**Overall** :violet-badge[:material/casino: simulated]" in texts(at.markdown)
    assert metric(at, "Throughput speedup") == f"{overall.throughput_speedup:.2f}x"
    assert metric(at, "Per-request speedup") == f"{overall.tpot_speedup:.2f}x"
    assert metric(at, "TTFT change") == f"{overall.ttft_delta_ms:+,.1f} ms"
    # Five comparison charts (tok/s, speedup, TTFT, ITL, accept length), each under its title.
    shown = texts(at.markdown)
    for title in (
        "Output throughput (tok/s)",
        "Speedup of speculation",
        "Time to first token (ms)",
        "Inter-token latency (ms)",
        "Accept length per request (output tokens ÷ verify passes)",
    ):
        assert f"**{title}**" in shown
    assert len(charts(at)) >= 5
    # The explanation quotes the measured per-category accept lengths.
    explained = texts(at.markdown)
    cats = [c for c in comparison.categories.values() if c.accept_length is not None]
    best = max(cats, key=lambda c: c.accept_length)
    assert f"*{best.category}* prompts averaged {best.accept_length:.2f} tokens per verify pass" in explained
    assert "48" in explained  # the running-request cap is explained
    # The simulator link carries the alpha that reproduces the measured accept length at the server's gamma.
    params = live.simulator_link_params(speculative.summary.accept_length, live.run_gamma(speculative))
    links = [str(node.proto) for node in at.get("page_link")]
    query = f"section=basics&alpha={params['alpha']}&gamma={params['gamma']}"
    assert any(query in link for link in links), links
    # Published numbers sit in a labelled expander, with their source.
    assert "SGLang documentation" in explained and ":material/menu_book: published" in explained


def test_comparing_runs_with_different_settings_warns(app_test, practice):
    base, spec = practice(speculative=False), practice(speculative=True)
    at = open_page(app_test)
    run(settings(connect(at, base.url), max_tokens=16))
    run(settings(connect(at, spec.url), max_tokens=24))
    assert "Not like for like: the runs differ in max_tokens" in texts(at.warning)


def test_results_survive_switching_pages(app_test, practice):
    server = practice(speculative=True)
    at = run(settings(connect(open_page(app_test), server.url)))
    before = saved(at)[0].run.summary
    at.switch_page("pages/simulator.py").run()
    no_exception(at)
    at.switch_page("pages/live_benchmark.py").run()
    no_exception(at)
    assert saved(at)[0].run.summary == before
    assert at.text_input(key="live_url").value == server.url  # the field shows the connected server
    assert "| Speculation | on |" in card(at)
    assert metric(at, "Output tok/s (simulated)") == f"{before.output_throughput_tok_s:,.1f}"


def test_export_and_upload_round_trip(app_test, practice):
    server = practice(speculative=True)
    at = run(settings(connect(open_page(app_test), server.url)))
    entry = saved(at)[0]
    labels = [b.label for b in at.get("download_button")]
    assert "JSON" in labels and "CSV" in labels
    csv_lines = entry.run.to_csv(entry.label).splitlines()
    assert len(csv_lines) == 1 + len(entry.run.records)
    # A fresh session (another day) loads the JSON and sees the same figures, marked as from a file.
    later = open_page(app_test)
    later.file_uploader(key="live_upload").set_value(
        ("my-run.json", entry.run.to_json().encode(), "application/json")
    )
    later.run()
    no_exception(later)
    [loaded] = saved(later)
    assert loaded.origin == "file my-run.json" and "my-run.json" in loaded.label
    assert loaded.run.summary == entry.run.summary
    assert "Loaded" in texts(later.success)
    assert metric(later, "Output tok/s (simulated)") == f"{entry.run.summary.output_throughput_tok_s:,.1f}"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json at all", "is not JSON"),
        (b"category,ok\npredictable,True\n", "upload the JSON export"),
        (b'{"hello": "world"}', "not a speclab benchmark run"),
        (b"\xff\xfe\x00binary", "not a text file"),
        (b" " * 10 + b"{" + b" " * (5 * 1024 * 1024) + b"}", "results files up to 5 MB"),
    ],
)
def test_malformed_uploads_are_clear_errors_and_keep_results(app_test, practice, content, message):
    server = practice(speculative=True)
    at = run(settings(connect(open_page(app_test), server.url), requests=3))
    at.file_uploader(key="live_upload").set_value(("bad.json", content, "application/json"))
    at.run()
    no_exception(at)
    errors = texts(at.error)
    assert "Could not load it: bad.json" in errors and message in errors
    assert len(saved(at)) == 1  # the measured run is still there


# ------------------------------------------------------------------------------------------- faults
def test_http500_mid_run_is_a_message_and_earlier_results_stay(app_test, practice):
    good, broken = practice(speculative=True), practice(speculative=True, fault="http500")
    at = open_page(app_test)
    run(settings(connect(at, good.url), requests=3))
    run(settings(connect(at, broken.url), requests=4))
    first, second = saved(at)
    assert first.run.summary.requests_ok == 3
    assert second.run.summary.requests_failed == 4
    errors = texts(at.error)
    assert "4 of 4 requests failed" in errors and "HTTP 500" in errors
    # The good run can still be shown and compared.
    at.selectbox(key="live_selected_run").set_value(first.id).run()
    no_exception(at)
    assert metric(at, "Output tok/s (simulated)") == f"{first.run.summary.output_throughput_tok_s:,.1f}"


def test_truncated_streams_keep_the_measured_part(app_test, practice):
    server = practice(speculative=True, fault="truncate")
    at = run(settings(connect(open_page(app_test), server.url), requests=3, max_tokens=64))
    result = saved(at)[0].run
    assert result.summary.requests_failed == 3
    assert "stream ended before [DONE]" in texts(at.error)
    # What arrived before the cut is in the records.
    assert all(r.ttft_s is not None and r.completion_tokens > 0 for r in result.records)


def test_stalled_server_ends_with_a_timeout_message(app_test, practice):
    server = practice(speculative=True, fault="stall", stall_s=30)
    at = run(settings(connect(open_page(app_test), server.url), requests=2, concurrency=2, timeout=1.0))
    result = saved(at)[0].run
    assert result.summary.requests_failed == 2
    errors = texts(at.error)
    # The request deadline and the stall timeout are both 1 s here; either message says what happened.
    assert "timed out after 1 s" in errors or "stalled: no data for 1 s" in errors
    assert all(r.completion_tokens > 0 for r in result.records)  # tokens before the stall are kept


def test_server_gone_after_connect(app_test, practice):
    server = practice(speculative=True)
    at = connect(open_page(app_test), server.url)
    server.stop()
    run(settings(at, requests=2))
    result = saved(at)[0].run
    assert result.summary.requests_failed == 2
    assert "connection refused" in texts(at.error)


# -------------------------------------------------------------------------------- hosted-mode runs
def test_hosted_mode_clamps_the_run_to_the_classroom_limits(app_test, practice):
    server = practice(speculative=True)
    at = hosted(app_test, [server.url])
    at.button(key="live_connect").click().run()
    settings(at, requests=100, concurrency=40, max_tokens=1000).run()
    no_exception(at)
    warnings = texts(at.warning)
    assert "This classroom server allows at most 64 requests per run; using 64." in warnings
    assert "at most 16 concurrent requests" in warnings and "at most 512 new tokens" in warnings
    settings(at, requests=100, concurrency=40, max_tokens=8)
    run(at)
    result = saved(at)[0].run
    assert len(result.records) == 64 and result.settings.concurrency == 16 and result.settings.max_tokens == 8
    assert all(r.completion_tokens <= 8 for r in result.records)


def test_hosted_mode_rate_limits_each_student(app_test, practice):
    server = practice(speculative=True)
    at = hosted(app_test, [server.url], limits={"runs_per_window": 1, "window_s": 600})
    at.button(key="live_connect").click().run()
    run(settings(at, requests=2))
    assert len(saved(at)) == 1
    run(at)
    assert "You have started 1 runs in the last 10 minutes" in texts(at.error)
    assert len(saved(at)) == 1  # the first run is still there


# ------------------------------------------------------------------------------------------- sweep
def test_concurrency_sweep_on_both_servers_charts_the_speedup(app_test, practice):
    from core.serving import live_session as live

    base, spec = practice(speculative=False), practice(speculative=True)
    at = open_page(app_test)
    for url in (base.url, spec.url):
        settings(connect(at, url), requests=4, max_tokens=16)
        at.multiselect(key="live_levels").set_value([1, 4])
        at.button(key="live_sweep").click().run()
        no_exception(at)
    sweeps = list(at.session_state["live_sweeps"])
    assert [[r.settings.concurrency for r in s.runs] for s in sweeps] == [[1, 4], [1, 4]]
    assert [s.speculative for s in sweeps] == [False, True]
    speedup = live.sweep_speedup_frame(sweeps[0], sweeps[1])
    assert list(speedup["concurrency"]) == [1, 4]
    text = texts(at.markdown)
    if (speedup["speedup"] < 1).any():
        assert "Speculation is **slower** than plain decoding from concurrency" in text
    else:
        assert (
            f"Speculation stays ahead up to concurrency 4 here (lowest gain {speedup['speedup'].min():.2f}x"
            in text
        )
    assert "**Throughput vs concurrency** :violet-badge" in text and "**Speedup vs concurrency**" in text
    # The sweep can be downloaded and loaded again.
    later = open_page(app_test)
    document = live.sweep_to_json(sweeps[1].runs).encode()
    later.file_uploader(key="live_upload").set_value(("sweep.json", document, "application/json"))
    later.run()
    no_exception(later)
    [loaded] = list(later.session_state["live_sweeps"])
    assert [r.summary for r in loaded.runs] == [r.summary for r in sweeps[1].runs]


def test_sweep_levels_respect_the_classroom_limit(app_test, practice):
    server = practice()
    at = hosted(app_test, [server.url])
    assert max(at.multiselect(key="live_levels").options, key=int) == "16"


# ------------------------------------------------------------------------------------ launch commands
def test_launch_commands_default_to_the_known_eagle3_pair(app_test):
    from core.serving.launch_command import LaunchSpec, build_launch_command

    at = open_page(app_test)
    codes = [c.value for c in at.code]
    model = "meta-llama/Llama-3.1-8B-Instruct"
    assert build_launch_command(LaunchSpec(model=model, baseline=True)).text in codes
    expected = build_launch_command(LaunchSpec(model=model, algorithm="EAGLE3"))
    assert expected.text in codes
    assert "--speculative-draft-model-path" in expected.text
    assert all("--speculative-draft-model " not in code for code in codes)  # never the alias
    meanings = texts(at.markdown)
    assert "`--speculative-algorithm`:" in meanings and "`--speculative-draft-model-path`:" in meanings


def test_launch_command_rules_show_as_errors_and_warnings(app_test):
    from core.serving.launch_command import LaunchRuleError, LaunchSpec, build_launch_command

    def rule_error(**spec) -> str:
        with pytest.raises(LaunchRuleError) as info:
            build_launch_command(LaunchSpec(**spec))
        return str(info.value)

    model = "meta-llama/Llama-3.1-8B-Instruct"
    at = open_page(app_test)
    at.toggle(key="live_cmd_knobs").set_value(True).run()
    at.number_input(key="live_cmd_steps").set_value(2)
    at.number_input(key="live_cmd_topk").set_value(2)
    at.number_input(key="live_cmd_tokens").set_value(16)
    at.run()
    no_exception(at)
    expected = rule_error(model=model, algorithm="EAGLE3", num_steps=2, eagle_topk=2, num_draft_tokens=16)
    assert f"SGLang would not accept this: {expected}" in texts(at.error)
    at.number_input(key="live_cmd_tokens").set_value(4).run()
    spec = build_launch_command(
        LaunchSpec(model=model, algorithm="EAGLE3", num_steps=2, eagle_topk=2, num_draft_tokens=4)
    )
    assert spec.warnings and all(w in texts(at.warning) for w in spec.warnings)
    assert spec.text in [c.value for c in at.code]
    at.selectbox(key="live_cmd_algorithm").set_value("NEXTN")
    at.text_input(key="live_cmd_draft").set_value("some/draft").run()
    nextn = build_launch_command(
        LaunchSpec(
            model=model,
            algorithm="NEXTN",
            draft_model="some/draft",
            num_steps=2,
            eagle_topk=2,
            num_draft_tokens=4,
        )
    )
    assert nextn.warnings and all(w in texts(at.warning) for w in nextn.warnings)
    at.text_input(key="live_cmd_model").set_value("my-org/unknown-model")
    at.selectbox(key="live_cmd_algorithm").set_value("EAGLE3")
    at.text_input(key="live_cmd_draft").set_value("").run()
    no_exception(at)
    expected = rule_error(
        model="my-org/unknown-model", algorithm="EAGLE3", num_steps=2, eagle_topk=2, num_draft_tokens=4
    )
    assert f"SGLang would not accept this: {expected}" in texts(at.error)


def test_launch_command_can_take_the_drafts_published_settings(app_test):
    from core.serving.launch_command import LaunchSpec, build_launch_command, find_draft_pair

    model = "meta-llama/Llama-3.1-8B-Instruct"
    pair = find_draft_pair(model, "EAGLE3")
    assert pair is not None and pair.recommended is not None
    at = open_page(app_test)
    at.button(key="live_cmd_use_recommended").click().run()
    no_exception(at)
    assert at.toggle(key="live_cmd_knobs").value is True
    steps, topk, tokens = pair.recommended
    assert (
        at.number_input(key="live_cmd_steps").value,
        at.number_input(key="live_cmd_topk").value,
        at.number_input(key="live_cmd_tokens").value,
    ) == (steps, topk, tokens)
    expected = build_launch_command(
        LaunchSpec(model=model, algorithm="EAGLE3", num_steps=steps, eagle_topk=topk, num_draft_tokens=tokens)
    )
    assert expected.text in [c.value for c in at.code]
    assert f"--speculative-num-steps {steps}" in expected.text


def test_no_category_chosen_is_an_error_not_a_run(app_test, practice):
    server = practice(speculative=True)
    at = settings(connect(open_page(app_test), server.url), requests=2)
    at.multiselect(key="live_categories_default").set_value([])
    run(at)
    assert "Pick at least one prompt category" in texts(at.error)
    assert "live_runs" not in at.session_state or not saved(at)


def test_one_category_runs_only_its_prompts(app_test, practice):
    from core.serving.prompt_suite import load_suite

    server = practice(speculative=True)
    at = settings(connect(open_page(app_test), server.url), requests=4)
    at.multiselect(key="live_categories_default").set_value(["creative"])
    run(at)
    result = saved(at)[0].run
    creative = set(load_suite("default").prompts("creative"))
    assert {r.category for r in result.records} == {"creative"}
    assert all(r.prompt in creative for r in result.records)


def test_openai_api_run_counts_tokens_from_usage(app_test, practice):
    server = practice(speculative=True)
    at = settings(connect(open_page(app_test), server.url), requests=3)
    at.radio(key="live_api").set_value("openai")
    run(at)
    result = saved(at)[0].run
    assert result.settings.api == "openai" and result.summary.requests_ok == 3
    assert all(r.completion_tokens > 0 and r.streaming_mode == "chunks" for r in result.records)
    accept = result.summary.accept_length
    assert metric(at, "Accept length per request (simulated)") == (
        "n/a" if accept is None else f"{accept:.2f}"
    )


# ------------------------------------------------------------------- bench_serving likeness and files
FIXTURES = __import__("pathlib").Path(__file__).resolve().parents[1] / "fixtures" / "bench_serving"


def test_like_bench_serving_is_one_click_and_both_accept_lengths_are_named(app_test, practice):
    server = practice(speculative=True)
    at = settings(connect(open_page(app_test), server.url), requests=4, max_tokens=16)
    at.button(key="live_like_bench").click().run()
    no_exception(at)
    assert at.checkbox(key="live_ignore_eos").value and at.checkbox(key="live_warmup").value
    assert at.number_input(key="live_temperature").value == 0.0 and at.radio(key="live_api").value == "native"
    run(at)
    result = saved(at)[0].run
    assert result.settings.ignore_eos and result.settings.warmup_requests == 1
    assert all(r.completion_tokens == 16 for r in result.records)  # ignore_eos: exactly max tokens
    # SGLang (and the practice server) refresh their figure every 40 decode steps: a short run may have none
    server = result.server_accept_length
    assert metric(at, "Server accept length (simulated)") == ("—" if server is None else f"{server:.2f}")
    assert (
        metric(at, "Accept length per request (simulated)")
        == f"{result.summary.accept_length_per_request:.2f}"
    )
    assert "bench_serving counts any HTTP-200 stream as a success" in texts(at.caption)
    stats = [d.value for d in at.dataframe if "p95" in d.value.columns][0]
    assert list(stats["metric"]) == ["TTFT", "ITL", "TPOT", "E2E"]
    assert stats.loc[0, "p90"] == pytest.approx(result.summary.ttft_ms_p90)


def test_a_bench_serving_file_uploads_with_its_figures_beside_the_recomputation(app_test):
    at = open_page(app_test)
    content = (FIXTURES / "bench_serving_details.jsonl").read_bytes()
    at.file_uploader(key="live_upload").set_value(("gpu-box.jsonl", content, "application/json"))
    at.run()
    no_exception(at)
    [loaded] = saved(at)
    assert loaded.origin == "file gpu-box.jsonl" and loaded.run.imported["origin"] == "bench_serving"
    table = [d.value for d in at.dataframe if "in the file" in d.value.columns][0]
    row = table[table["bench_serving figure"] == "mean_ttft_ms"].iloc[0]
    assert row["recomputed"] == pytest.approx(row["in the file"], rel=0.01)
    assert metric(at, "Server accept length (simulated)") == f"{loaded.run.server_accept_length:.2f}"
    assert "SGLang" in texts(at.caption)


def test_a_bench_serving_file_without_details_says_nothing_was_recomputed(app_test):
    at = open_page(app_test)
    content = (FIXTURES / "bench_serving_summary.jsonl").read_bytes()
    at.file_uploader(key="live_upload").set_value(("summary.jsonl", content, "application/json"))
    at.run()
    no_exception(at)
    assert "without `--output-details`" in texts(at.info)
    assert (
        metric(at, "Output tok/s (simulated)") == f"{saved(at)[0].run.summary.output_throughput_tok_s:,.1f}"
    )
