"""How it works on the tiny models (AppTest): a real decode, stepped through pass by pass."""

from __future__ import annotations

from core.lessons.tiny_walkthrough import tiny_step_through

PAGE = "pages/how_it_works.py"


def test_the_tiny_step_through_shows_each_pass_with_p_and_q(app_test):
    at = app_test(PAGE)
    at.selectbox(key="hiw_tiny_draft").set_value("NGRAM")
    at.slider(key="hiw_tiny_num_draft").set_value(3)
    at.slider(key="hiw_tiny_tokens").set_value(16)
    at.button(key="hiw_tiny_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    result = at.session_state["hiw_tiny_result"]
    expected = tiny_step_through(at.text_area(key="hiw_tiny_prompt").value, "NGRAM", 3, 16)
    assert result.output == expected.output and len(result.passes) == len(expected.passes)
    assert [c for c in at.code if c.value.strip() == result.output.strip()]  # st.code trims the ends
    tables = [f.value for f in at.dataframe if "target's top candidates (p)" in f.value.columns]
    assert len(tables) == 1 and len(tables[0]) == len(result.passes[0].positions)
    if len(result.passes) > 1:
        at.slider(key="hiw_tiny_pass").set_value(2).run()
        shown = [m.value for m in at.markdown if m.value.startswith("Pass 2:")]
        assert shown and f"accepted **{result.passes[1].accepted}**" in shown[0]


def test_a_bad_prompt_is_a_message(app_test):
    at = app_test(PAGE)
    at.text_area(key="hiw_tiny_prompt").set_value("   ")
    at.button(key="hiw_tiny_run").click().run()
    assert not at.exception
    assert any("type a prompt first" in e.value for e in at.error)
