"""Live benchmark's launch section in a real browser: pick an older SGLang release and see its command,
flag name and check result."""

from __future__ import annotations

from tests.browser.conftest import assert_no_exception, screenshot
from tests.browser.test_live_benchmark import idle, open_live


def test_launch_section_follows_the_sglang_release(page, streamlit_server):
    open_live(page, streamlit_server)
    page.get_by_role("heading", name="5 · Launch commands").scroll_into_view_if_needed()
    graph = page.get_by_label("CUDA graph max batch (0 = auto)")
    graph.fill("8")
    graph.press("Enter")
    idle(page)
    codes = page.locator("[data-testid='stCode']")
    assert "--cuda-graph-max-bs-decode 8" in codes.last.inner_text()
    page.get_by_text("accepts it.").first.wait_for()
    release = page.get_by_role("combobox", name="SGLang release")
    release.click()
    release.fill("0.5.9")
    release.press("Enter")
    idle(page)
    page.get_by_text("python -m sglang.launch_server").first.wait_for(timeout=30_000)
    assert_no_exception(page)
    text = codes.last.inner_text()
    assert text.startswith("python -m sglang.launch_server") and "--cuda-graph-max-bs 8" in text
    assert (
        page.get_by_text("the flag table of SGLang 0.5.9 (extracted from its wheel) accepts it.").count() == 2
    )
    page.get_by_role("heading", name="5 · Launch commands").scroll_into_view_if_needed()
    screenshot(page, "live-launch-release-0.5.9")
