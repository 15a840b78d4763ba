"""Live benchmark in a real browser on the lab's tiny models: start both practice servers from the page,
type an own prompt, run the prompts on both servers, see each prompt's accept length and the identity
check (screenshot live-tiny-own-prompts)."""

from __future__ import annotations

from tests.browser.conftest import assert_no_exception, screenshot
from tests.browser.test_live_benchmark import idle, open_live

OWN_PROMPT = "'one', 'two', 'three', 'four'\n'one', 'two', 'three',"


def type_own_prompt(page, text: str) -> None:
    """Replace the first example prompt. The data editor is a canvas grid (its first stDataFrame element is
    a hidden one): a click selects a cell, a double click opens its text editor."""
    editor = page.locator("[data-testid='stDataFrame']:visible").first
    editor.scroll_into_view_if_needed()
    box = editor.bounding_box()
    # first body row (the header is about 35 px high), prompt column (after the row-index column)
    x, y = box["x"] + 200, box["y"] + 35 + 18
    page.mouse.click(x, y)  # select the cell, then open its editor
    page.wait_for_timeout(400)
    page.mouse.dblclick(x, y)
    field = page.locator("textarea").last
    field.wait_for(timeout=10_000)
    field.fill(text)
    field.press("Tab")
    idle(page)


def test_own_prompts_on_both_tiny_servers_with_the_identity_check(page, streamlit_server):
    open_live(page, streamlit_server)
    page.get_by_role("button", name="Start a practice baseline server").click()
    idle(page)
    page.get_by_role("button", name="Start a practice speculative server").click()
    idle(page)
    page.get_by_text("Practice server: the lab's tiny models (real tokens on this CPU)").first.wait_for(
        timeout=30_000
    )
    page.get_by_role("heading", name="Exercise 2 · Your own prompts: high or low acceptance?").wait_for()
    type_own_prompt(page, OWN_PROMPT)
    page.get_by_role("button", name="Run my prompts on both servers").click()
    idle(page)
    page.get_by_text("Accept length of each of your prompts").wait_for(timeout=60_000)
    page.get_by_text("Same output? identical: 2 of 2 outputs.", exact=True).wait_for(timeout=10_000)
    page.get_by_text("Your labels").first.wait_for(timeout=10_000)
    assert page.get_by_text("prompts per run").count() == 0  # no problem with what was typed
    # the two runs are kept like any other: the comparison shows the identity check beside the speedup
    page.get_by_text("At temperature 0 a drafted token is kept only when").wait_for(timeout=10_000)
    assert_no_exception(page)
    page.get_by_role(
        "heading", name="Exercise 2 · Your own prompts: high or low acceptance?"
    ).scroll_into_view_if_needed()
    screenshot(page, "live-tiny-own-prompts")
