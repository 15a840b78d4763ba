"""Live benchmark in a real browser: connect to practice servers, run, compare, see the charts, stop a run,
and two sessions queueing for one server."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest

from core.serving.practice_server import PracticeConfig, PracticeServer
from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app

IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


@pytest.fixture(scope="module")
def servers():
    """A plain and a speculative practice server (simulated H100 timing, 5x faster than real time)."""
    base = PracticeServer(PracticeConfig(speculative=False, time_scale=0.2))
    spec = PracticeServer(PracticeConfig(speculative=True, time_scale=0.2))
    base.start()
    spec.start()
    yield base, spec
    base.stop()
    spec.stop()


def open_live(page, base_url: str) -> None:
    # Start on the home page and follow the menu, as a learner does.
    page.goto(base_url)
    wait_for_app(page)
    page.get_by_role("link", name="Live benchmark").first.click()
    page.get_by_role("heading", name="1 · Connect to a server").wait_for(timeout=60_000)
    idle(page)
    assert_no_exception(page)


def idle(page, timeout_ms: int = 120_000) -> None:
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=timeout_ms)


def tall_screenshot(page, name: str, height: int = 2600) -> None:
    """Streamlit scrolls inside its own container, so a full-page shot is one viewport: make it tall."""
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": height})
    page.wait_for_timeout(1200)  # let the charts re-layout
    screenshot(page, name)
    page.set_viewport_size(size)


def connect(page, url: str) -> None:
    field = page.get_by_role("textbox", name="Server URL")
    field.fill(url)
    field.press("Enter")
    idle(page)
    page.get_by_role("button", name="Connect", exact=True).click()
    idle(page)
    page.get_by_text(f"at {url}").first.wait_for(timeout=30_000)


def set_number(page, label: str, value) -> None:
    field = page.get_by_role("spinbutton", name=label, exact=True)
    field.fill(str(value))
    field.press("Enter")
    idle(page)


def ignore_eos(page) -> None:
    """Every request then generates exactly max new tokens (a long, predictable run)."""
    page.get_by_text("Ignore end of sequence").click()
    idle(page)


def run(page) -> None:
    page.get_by_role("button", name="Run benchmark").click()
    idle(page)
    assert_no_exception(page)


def test_connect_run_compare_and_charts(page, streamlit_server, servers, tmp_path):
    base, spec = servers
    open_live(page, streamlit_server)
    screenshot(page, "live-1-start")
    # Nothing listens on this port: a clear error, the commands to start SGLang, and the practice servers.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    field = page.get_by_role("textbox", name="Server URL")
    field.fill(closed)
    field.press("Enter")
    idle(page)
    page.get_by_role("button", name="Connect", exact=True).click()
    idle(page)
    page.get_by_text(f"Could not connect to {closed}").wait_for(timeout=30_000)
    # The newest release's entry point (0.5.23 recommends `sglang serve` over python -m sglang.launch_server).
    assert page.get_by_text("sglang serve").count() >= 2
    assert_no_exception(page)
    tall_screenshot(page, "live-0-nothing-answers", 1800)
    connect(page, base.url)
    set_number(page, "Requests", 9)
    set_number(page, "Max new tokens", 64)
    run(page)
    page.get_by_text("Output tok/s (simulated)").first.wait_for(timeout=30_000)
    tall_screenshot(page, "live-2-baseline-run", 1800)
    connect(page, spec.url)
    run(page)
    page.get_by_text("Throughput speedup").wait_for(timeout=30_000)
    assert_no_exception(page)
    # The comparison draws its charts (vega-embed renders them into canvas or svg).
    charts = page.locator("[data-testid='stVegaLiteChart']")
    charts.first.wait_for(timeout=30_000)
    assert charts.count() >= 5
    page.get_by_text("Open the Simulator at α =").wait_for(timeout=10_000)
    page.get_by_role("heading", name="3 · Compare baseline and speculative").scroll_into_view_if_needed()
    tall_screenshot(page, "live-3-compare")

    # Export: the JSON download is a complete run the page can load again (in a new session).
    idle(page)
    json_button = page.get_by_role("button", name=re.compile(r"^(download\s*)?JSON$")).first
    json_button.scroll_into_view_if_needed()
    with page.expect_download() as download_info:
        json_button.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".json")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    document = json.loads(Path(path).read_text())
    assert document["schema"] == "speclab.bench_run" and document["simulated"] is True
    assert len(document["records"]) == 9
    assert all(r["completion_tokens"] > 0 for r in document["records"])
    with page.expect_download() as csv_info:
        page.get_by_role("button", name=re.compile(r"^(download\s*)?CSV$")).first.click()
    assert len(Path(csv_info.value.path()).read_text().splitlines()) == 1 + 9
    fresh = page.context.new_page()
    try:
        open_live(fresh, streamlit_server)
        fresh.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(path)
        fresh.get_by_text("Loaded #1").wait_for(timeout=30_000)
        idle(fresh)
        assert_no_exception(fresh)
        assert fresh.get_by_text("Output tok/s (simulated)").count() >= 1
    finally:
        fresh.close()


def test_sweep_and_stop_keep_results(page, streamlit_server, servers):
    base, spec = servers
    open_live(page, streamlit_server)
    set_number(page, "Max new tokens", 32)
    for url in (base.url, spec.url):
        connect(page, url)
        page.get_by_role("button", name="Run concurrency sweep").click()
        idle(page, 240_000)
        assert_no_exception(page)
    page.get_by_text("Speedup vs concurrency").wait_for(timeout=30_000)
    page.get_by_role(
        "heading", name="4 · Where speculation stops paying: a concurrency sweep"
    ).scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    screenshot(page, "live-4-sweep")

    # A long run, stopped from the page: what finished is kept and labelled as stopped.
    set_number(page, "Requests", 200)
    set_number(page, "Concurrency", 2)
    set_number(page, "Max new tokens", 1024)
    ignore_eos(page)
    page.get_by_role("button", name="Run benchmark").click()
    page.get_by_text("requests finished").first.wait_for(timeout=60_000)
    screenshot(page, "live-5-running")
    page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop").click()
    idle(page)
    assert_no_exception(page)
    tall_screenshot(page, "live-6-stopped", 1600)
    page.get_by_text("This run stopped early (interrupted").first.wait_for(timeout=30_000)


def test_two_sessions_queue_for_one_server(browser, streamlit_server, servers):
    _, spec = servers
    first = browser.new_page()
    second = browser.new_page()
    try:
        for page in (first, second):
            open_live(page, streamlit_server)
            connect(page, spec.url)
        set_number(first, "Requests", 40)
        set_number(first, "Concurrency", 2)
        set_number(first, "Max new tokens", 512)
        ignore_eos(first)
        set_number(second, "Requests", 3)
        first.get_by_role("button", name="Run benchmark").click()
        first.get_by_text("requests finished").first.wait_for(timeout=60_000)
        second.get_by_role("button", name="Run benchmark").click()
        second.get_by_text("Waiting for your turn").wait_for(timeout=30_000)
        assert "1 run ahead of you" in second.get_by_text("Waiting for your turn").inner_text()
        screenshot(second, "live-7-queued")
        # The second session runs once the first one is done.
        second.get_by_text("Output tok/s (simulated)").first.wait_for(timeout=180_000)
        idle(second)
        assert_no_exception(second)
        assert_no_exception(first)
    finally:
        first.close()
        second.close()


def test_hosted_classroom_mode(page, servers):
    """The app started as on a classroom server: only the allow-listed server, internal URLs refused."""
    from benchmarks.streamlit_app import running_app

    _, spec = servers
    with running_app(env={"SPECLAB_ALLOWED_BASE_URLS": spec.url}) as (base_url, _pid):
        page.goto(base_url)
        wait_for_app(page)
        page.goto(f"{base_url}/live-benchmark?url=http://169.254.169.254/latest/meta-data")
        wait_for_app(page)
        page.get_by_text("Classroom mode.").wait_for(timeout=30_000)
        page.get_by_text("The link asked for http://169.254.169.254/latest/meta-data").wait_for(
            timeout=10_000
        )
        assert page.get_by_role("textbox", name="Server URL").count() == 0  # no free URL field
        page.get_by_role("button", name="Connect", exact=True).click()
        idle(page)
        page.get_by_text(f"at {spec.url}").first.wait_for(timeout=30_000)
        set_number(page, "Requests", 100)
        page.get_by_text("This classroom server allows at most 64 requests per run").wait_for(timeout=10_000)
        set_number(page, "Requests", 6)
        run(page)
        page.get_by_text("Output tok/s (simulated)").first.wait_for(timeout=60_000)
        assert_no_exception(page)
        tall_screenshot(page, "live-8-hosted", 1800)


def test_a_bench_serving_file_from_a_gpu_box_loads_beside_its_recomputation(page, streamlit_server):
    fixture = (
        Path(__file__).resolve().parents[1] / "fixtures" / "bench_serving" / "bench_serving_details.jsonl"
    )
    open_live(page, streamlit_server)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(fixture)
    page.get_by_text("Loaded #1").wait_for(timeout=30_000)
    idle(page)
    assert_no_exception(page)
    page.get_by_text("What bench_serving's file says, next to the app's recomputation").wait_for(
        timeout=30_000
    )
    assert page.get_by_text("Server accept length (simulated)").count() >= 1
    page.get_by_role("heading", name="2 · Run a benchmark").scroll_into_view_if_needed()
    tall_screenshot(page, "live-7-bench-serving-file", 2400)
