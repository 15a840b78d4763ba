"""AppTest of the How it works page: the step-through advances and its counters add up on screen, the
timeline shows a slowdown case, and the identity experiment's histogram is close to p."""

import math

import pytest

from core.lessons import walkthrough as wt

PAGE = "pages/how_it_works.py"


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _counters(at) -> tuple[int, int, int]:
    values = _metrics(at)
    return int(values["Target passes"]), int(values["Draft passes"]), int(values["New tokens"])


def _history(at):
    """The table of completed rounds (the expander's dataframe), or None before the first round ends."""
    for frame in at.dataframe:
        if "tokens added" in frame.value.columns:
            return frame.value
    return None


def _state(at) -> wt.WalkthroughState:
    return wt.WalkthroughState.from_dict(at.session_state["hiw_state"])


@pytest.fixture
def page(app_test):
    at = app_test(PAGE)
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_page_renders_every_section(page):
    headers = [h.value for h in page.header]
    assert any(h.startswith("1.") for h in headers)
    assert any("Step through" in h for h in headers)
    assert any("time goes" in h for h in headers)
    assert any("exactly the target" in h for h in headers)
    assert any("Key terms" in h for h in headers)
    assert _counters(page) == (0, 0, 0)
    assert "Press “Next step”" in page.info[0].value


def test_next_step_advances_through_a_round_and_counters_match(page):
    gamma = _state(page).gamma
    for click in range(1, gamma + 1):  # the draft passes
        page.button(key="hiw_next_step").click().run()
        assert not page.exception
        assert _counters(page) == (0, click, 0)
        assert f"Draft pass {click} of {gamma}" in page.info[0].value
    page.button(key="hiw_next_step").click().run()  # the one target pass
    assert _counters(page)[:2] == (1, gamma)
    assert "ONE target pass" in page.info[0].value
    # Click on until the round is finished: the on-screen counters follow the revealed verdicts.
    while _state(page).step < len(wt.replay(_state(page)).steps):
        page.button(key="hiw_next_step").click().run()
        assert not page.exception
    snap = wt.replay(_state(page))
    assert _counters(page) == (1, gamma, snap.current.accepted + 1)
    history = _history(page)
    assert history is not None and len(history) == 1
    assert int(history["tokens added"].iloc[0]) == int(history["accepted"].iloc[0]) + 1


def test_next_round_and_reset(page):
    for rounds in range(1, 4):
        page.button(key="hiw_next_round").click().run()
        assert not page.exception
        target, draft, tokens = _counters(page)
        history = _history(page)
        assert target == rounds == len(history)
        assert draft == rounds * _state(page).gamma
        assert tokens == int((history["accepted"] + 1).sum()) == int(history["tokens added"].sum())
    page.button(key="hiw_reset").click().run()
    assert _counters(page) == (0, 0, 0)
    assert _state(page).round == 0 and _state(page).step == 0


def test_replay_is_identical_in_a_new_session(app_test):
    texts = []
    for _ in range(2):
        at = app_test(PAGE)
        at.number_input(key="hiw_seed").set_value(17).run()
        for _ in range(3):
            at.button(key="hiw_next_round").click().run()
        texts.append((_counters(at), _history(at).to_dict()))
    assert texts[0] == texts[1]


def test_runs_to_the_end_and_disables_the_buttons(page):
    page.slider(key="hiw_gamma").set_value(wt.MAX_GAMMA).run()
    for _ in range(wt.GOAL_TOKENS):
        if page.button(key="hiw_next_round").disabled:
            break
        page.button(key="hiw_next_round").click().run()
        assert not page.exception
    assert page.button(key="hiw_next_round").disabled
    assert page.button(key="hiw_next_step").disabled
    target, _, tokens = _counters(page)
    assert tokens >= wt.GOAL_TOKENS
    assert f"{tokens} new tokens in {target} target passes" in page.success[0].value


def test_greedy_mode_and_settings_reset_the_walkthrough(page):
    page.button(key="hiw_next_round").click().run()
    page.toggle(key="hiw_greedy").set_value(True).run()
    assert not page.exception
    assert _counters(page) == (0, 0, 0)  # new settings start over
    page.button(key="hiw_next_round").click().run()
    frames = [f.value for f in page.dataframe if "target's top word?" in f.value.columns]
    assert frames, "greedy mode shows the top-word column"
    assert "uniform u" not in frames[0].columns


@pytest.mark.parametrize("gamma", [1, wt.MAX_GAMMA])
@pytest.mark.parametrize("seed", [0, wt.MAX_SEED])
def test_extreme_walkthrough_settings_do_not_crash(page, gamma, seed):
    page.slider(key="hiw_gamma").set_value(gamma)
    page.number_input(key="hiw_seed").set_value(seed).run()
    page.button(key="hiw_next_round").click().run()
    assert not page.exception
    assert _counters(page)[1] == gamma


def test_timeline_shows_a_slowdown_scenario(page):
    slow = next(name for name in page.selectbox(key="hiw_tl_scenario").options if "Weak, costly" in name)
    page.selectbox(key="hiw_tl_scenario").set_value(slow).run()
    assert not page.exception
    values = _metrics(page)
    assert float(values["Speedup (simulated)"].rstrip("x")) < 1
    assert float(values["Expected speedup (exact)"].rstrip("x")) < 1
    assert any("loses" in m.value for m in page.markdown)
    # Times on screen agree with the speedup on screen.
    plain = float(values["Plain decoding time"].split()[0])
    spec = float(values["Speculative time"].split()[0])
    assert float(values["Speedup (simulated)"].rstrip("x")) == pytest.approx(plain / spec, abs=0.01)


@pytest.mark.parametrize(
    "alpha, gamma, cost, verify",
    [(0.0, 0, 0.0, 1.0), (1.0, 12, 1.0, 4.0), (0.0, 12, 0.0, 4.0), (1.0, 0, 1.0, 1.0)],
)
def test_extreme_timeline_settings_do_not_crash(page, alpha, gamma, cost, verify):
    page.slider(key="hiw_tl_alpha").set_value(alpha)
    page.slider(key="hiw_tl_gamma").set_value(gamma)
    page.slider(key="hiw_tl_cost").set_value(cost)
    page.slider(key="hiw_tl_verify").set_value(verify).run()
    assert not page.exception
    assert not page.error
    assert "Speedup (simulated)" in _metrics(page)


def test_identity_histogram_is_close_to_p(page):
    samples = 100_000
    page.select_slider(key="hiw_id_samples").set_value(samples)
    page.slider(key="hiw_id_temperature").set_value(2.5)
    page.slider(key="hiw_id_skew").set_value(0.7).run()
    assert not page.exception
    values = _metrics(page)
    tv_p = float(values["TV(output, p) (simulated)"])
    tv_q = float(values["TV(output, q) (simulated)"])
    # Pure sampling noise has E[TV] <= 0.5 * sqrt(V / n) = 0.005 for V = 10 words and n = 100,000; three
    # times that still rejects an output that followed q, which is tv_q (> 0.2) away.
    bound = 3 * 0.5 * math.sqrt(len(wt.VOCAB) / samples)
    assert tv_p < bound
    assert tv_q > 0.2
    empirical = float(values["Acceptance rate (simulated)"])
    exact = float(values["Σ min(p, q) (exact)"])
    assert abs(empirical - exact) < 0.01  # 5 standard errors at n = 100,000
    assert any("distributed as **p**" in m.value for m in page.markdown)


def test_identity_greedy_outputs_one_word(page):
    page.toggle(key="hiw_id_greedy").set_value(True).run()
    assert not page.exception
    assert float(_metrics(page)["TV(output, p) (simulated)"]) == 0.0
    assert float(_metrics(page)["Acceptance rate (simulated)"]) in (0.0, 1.0)


def test_glossary_and_myths_are_shown(page):
    labels = " ".join(e.label for e in page.expander)
    for term in ("Accept length", "EAGLE", "MTP", "N-gram", "Tree drafting"):
        assert term in labels
    text = " ".join(m.value for m in page.markdown)
    assert "--speculative-draft-model-path" in text
    assert "--speculative-algorithm EAGLE3" in text
    assert "arXiv 2211.17192" in text


def test_links_onward_carry_the_learners_settings(page):
    page.slider(key="hiw_tl_alpha").set_value(0.65)
    page.slider(key="hiw_tl_gamma").set_value(3)
    page.slider(key="hiw_tl_cost").set_value(0.2).run()
    links = {node.proto.page: node.proto for node in page.get("page_link")}
    assert links["speedup-simulator"].query_string == "section=basics&alpha=0.65&gamma=3&cost=0.2"
    assert "decision-quiz" in links
