"""Live benchmark page (AppTest): connect, run, compare, export against practice servers, fault modes, and
hosted classroom mode."""

from __future__ import annotations

import socket

import pytest

from core.practice_server import PracticeConfig, PracticeServer

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
    assert not at.selectbox  # no allow-list in workshop mode
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
def hosted(app_test, urls, custom=False, **kwargs):
    secrets = {"sglang": {"allowed_base_urls": list(urls), "allow_custom_url": custom}}
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


def test_hosted_mode_with_a_broken_configuration_says_so(app_test):
    at = open_page(app_test, secrets={"sglang": {"allowed_base_urls": ["ftp://x"]}})
    assert "configuration is invalid" in texts(at.error)
