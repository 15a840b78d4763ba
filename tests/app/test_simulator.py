"""Simulator page (AppTest): each section follows the core, the URL round-trips, presets fill the sliders."""

import numpy as np
import pytest

from core.lessons import simulator_views as views
from core.references import published
from core.simulation import closed_form, cost_model, montecarlo

PAGE = "pages/simulator.py"


def metric(at, label: str) -> str:
    values = [m.value for m in at.metric if m.label == label]
    assert len(values) == 1, f"expected one metric {label!r}, found {[m.label for m in at.metric]}"
    return values[0]


def no_exception(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def open_page(app_test, **params):
    at = app_test(PAGE, query_params={k: str(v) for k, v in params.items()})
    no_exception(at)
    return at


def test_basics_default_matches_closed_form_and_monte_carlo(app_test):
    at = open_page(app_test)
    assert at.title[0].value == "Simulator"
    alpha, gamma, cost = (
        at.slider(key="sim_alpha").value,
        at.slider(key="sim_gamma").value,
        at.slider(key="sim_cost").value,
    )
    rounds = at.select_slider(key="sim_rounds").value
    assert (
        metric(at, "Tokens per pass (exact)") == f"{closed_form.expected_tokens_per_pass(alpha, gamma):.3f}"
    )
    assert metric(at, "Speedup (exact)") == f"{closed_form.walltime_speedup(alpha, gamma, cost):.2f}x"
    # The simulated number is the core's Monte Carlo for the same settings and seed.
    expected = montecarlo.simulate_iid(alpha, gamma, rounds, seed=0)
    assert metric(at, "Tokens per pass (simulated)") == f"{expected.tokens_per_round:.3f}"
    assert any("simulation and theory agree" in s.value for s in at.success)
    # Every chart's data can be downloaded.
    assert len(at.get("download_button")) >= 3


def test_basics_follows_the_sliders(app_test):
    at = open_page(app_test)
    at.slider(key="sim_alpha").set_value(0.6)
    at.slider(key="sim_gamma").set_value(3)
    at.slider(key="sim_cost").set_value(0.2)
    at.run()
    no_exception(at)
    assert metric(at, "Tokens per pass (exact)") == f"{closed_form.expected_tokens_per_pass(0.6, 3):.3f}"
    assert metric(at, "Speedup (exact)") == f"{closed_form.walltime_speedup(0.6, 3, 0.2):.2f}x"
    assert at.query_params["alpha"] == "0.6" and at.query_params["gamma"] == "3"
    assert at.query_params["cost"] == "0.2"


def test_notebook_table_answers_the_four_accuracies(app_test):
    at = open_page(app_test, gamma=5, cost=0.1)
    yours, best = at.dataframe[0].value, at.dataframe[1].value
    assert list(yours["alpha"]) == [0.5, 0.7, 0.85, 0.95] == list(best["alpha"])
    for row in yours.itertuples(index=False):
        assert row.tokens_per_pass_exact == pytest.approx(closed_form.expected_tokens_per_pass(row.alpha, 5))
        assert row.speedup_exact == pytest.approx(closed_form.walltime_speedup(row.alpha, 5, 0.1))
        assert abs(row.speedup_simulated - row.speedup_exact) < 0.05  # Monte Carlo noise only
    for row in best.itertuples(index=False):
        gamma, speedup = closed_form.optimal_gamma(row.alpha, 0.1, max_gamma=32)
        assert row.best_gamma == gamma and row.best_speedup_exact == pytest.approx(speedup)
    assert list(best["best_gamma"]) == sorted(best["best_gamma"])  # better drafts deserve longer drafts
    # The notebook's own setting is one click away.
    at = open_page(app_test)
    at.button(key="sim_notebook_setting").click().run()
    assert at.slider(key="sim_gamma").value == 5 and at.slider(key="sim_cost").value == pytest.approx(0.1)


@pytest.mark.parametrize(
    "params",
    [
        {"alpha": 0, "gamma": 5, "cost": 0.05},
        {"alpha": 1, "gamma": 32, "cost": 0},
        {"alpha": 0.5, "gamma": 0, "cost": 1},
        {"alpha": 1, "gamma": 0, "cost": 0},
    ],
)
@pytest.mark.parametrize("section", ["basics", "landscape", "presets", "beyond", "cost"])
def test_edge_settings_never_crash(app_test, section, params):
    at = open_page(app_test, section=section, **params)
    assert not at.error, [e.value for e in at.error]
    url_warnings = [w.value for w in at.warning if w.icon == ":material/link_off:"]
    assert not url_warnings  # every value is one a widget allows


def test_long_run_is_chunked_and_pooled(app_test):
    rounds = 5_000_000  # more than one chunk
    assert len(views.chunk_plan(rounds, 0)) > 1
    at = open_page(app_test, alpha=0.7, gamma=4, rounds=rounds)
    counts = sum(
        montecarlo.simulate_iid(0.7, 4, n, seed=seed).accepted_histogram
        for n, seed in views.chunk_plan(rounds, 0)
    )
    pooled = views.estimate_from_histogram(counts)
    assert metric(at, "Tokens per pass (simulated)") == f"{pooled.mean:.3f}"
    assert pooled.count == rounds


def test_landscape_shows_exact_values_for_the_setting(app_test):
    at = open_page(app_test, section="landscape", alpha=0.7, gamma=6, cost=0.1)
    assert at.segmented_control(key="sim_section").value == "landscape"
    assert metric(at, "Speedup at α = 0.70, γ = 6") == f"{closed_form.walltime_speedup(0.7, 6, 0.1):.2f}x"
    assert metric(at, "Best γ for this α and c") == str(closed_form.optimal_gamma(0.7, 0.1, max_gamma=32)[0])
    break_even = closed_form.alpha_from_accept_length(1 + 6 * 0.1, 6)
    assert metric(at, "Break-even α at γ = 6") == f"{break_even:.3f}"
    at.slider(key="sim_cost").set_value(0.3).run()
    assert metric(at, "Speedup at α = 0.70, γ = 6") == f"{closed_form.walltime_speedup(0.7, 6, 0.3):.2f}x"
    assert len(at.get("vega_lite_chart")) == 1


def test_presets_fill_the_sliders_and_show_published_numbers(app_test):
    at = open_page(app_test, section="presets")
    assert any("Pick a setup" in i.value for i in at.info)
    preset = published.get_simulator_preset("leviathan-t5-ende-small")
    at.button(key=f"sim_load_{preset.id}").click().run()
    no_exception(at)
    assert at.slider(key="sim_alpha").value == pytest.approx(preset.alpha)
    assert at.slider(key="sim_gamma").value == preset.gamma
    assert at.slider(key="sim_cost").value == pytest.approx(preset.cost_ratio)
    assert metric(at, "Speedup (published, measured)") == f"{preset.published_speedup:.2f}x"
    assert metric(at, "Speedup (exact)") == f"{preset.predicted_speedup:.2f}x"
    assert at.query_params["preset"] == preset.id
    # A preset whose alpha is derived (EAGLE-3) says so, and its accept length transfers exactly.
    eagle = published.get_simulator_preset("eagle3-llama31-8b-t0")
    at.button(key=f"sim_load_{eagle.id}").click().run()
    assert at.slider(key="sim_gamma").value == eagle.gamma
    assert metric(at, "Tokens per pass (published)") == f"{eagle.published_accept_length:g}"
    assert metric(at, "Tokens per pass (exact)") == f"{eagle.published_accept_length:.3f}"
    table = at.dataframe[0].value
    assert table.loc[0, "where it comes from"].startswith("Derived")


def test_prompt_lookup_is_shown_without_invented_slider_values(app_test):
    at = open_page(app_test, section="presets", cost=0.3)
    reference = published.get_reference("specbench-pld-summarization")
    text = " ".join(m.value for m in at.markdown)
    assert "Prompt lookup" in text and reference.source in text
    at.button(key="sim_lookup_cost").click().run()
    assert at.slider(key="sim_cost").value == 0.0
    assert at.slider(key="sim_alpha").value == pytest.approx(0.8)  # alpha untouched: none is published


def test_preset_from_the_url(app_test):
    at = open_page(app_test, section="presets", preset="sps-vicuna-68m")
    no_exception(at)
    # EAGLE-2 Table 1, SpS on Vicuna-13B at temperature 0: 1.88x with accept length 2.18 (review #20).
    assert metric(at, "Speedup (published, measured)") == "1.88x"


def test_beyond_depth_acceptance_matches_exact(app_test):
    at = open_page(app_test, section="beyond")
    acceptances = views.parse_acceptances(at.text_input(key="sim_depth").value)
    assert acceptances == [0.79, 0.74, 0.72, 0.73, 0.67]
    assert metric(at, "Tokens per pass (exact)") == f"{montecarlo.depth_expected_tokens(acceptances):.3f}"
    at.text_input(key="sim_depth").set_value("0.9, 0.5").run()
    assert metric(at, "Tokens per pass (exact)") == f"{1 + 0.9 + 0.45:.3f}"
    at.text_input(key="sim_depth").set_value("0.9, banana").run()
    no_exception(at)
    assert any("banana" in e.value for e in at.error)


def test_beyond_tree_matches_core_tree(app_test):
    from core.simulation import tree

    at = open_page(app_test, section="beyond")
    ranks = tuple(views.parse_acceptances(at.text_input(key="sim_tree_ranks").value))
    spec = tree.TreeSpec(
        at.slider(key="sim_tree_depth").value,
        at.slider(key="sim_tree_topk").value,
        ranks,
        at.slider(key="sim_tree_budget").value,
        at.slider(key="sim_tree_decay").value,
    )
    compare = tree.chain_vs_tree(spec)
    assert metric(at, "Tree (exact)") == f"{compare.tree_tokens_per_pass:.3f}"
    assert metric(at, "Chain, same depth (exact)") == f"{compare.chain_tokens_per_pass:.3f}"
    simulated = tree.simulate_tree(spec, at.select_slider(key="sim_rounds").value, seed=0)
    assert metric(at, "Tree (simulated)") == f"{simulated.tokens_per_pass:.3f}"
    # topk 1 is a chain: the tree equals the chain of the same depth.
    at.slider(key="sim_tree_topk").set_value(1).run()
    no_exception(at)
    assert metric(at, "Tree (exact)") == metric(at, "Chain, same depth (exact)")
    # Rank chances that sum above 1 are refused with a message, not a traceback.
    at.slider(key="sim_tree_topk").set_value(3).run()
    at.text_input(key="sim_tree_ranks").set_value("0.7, 0.3, 0.2").run()
    no_exception(at)
    assert any("sum" in e.value for e in at.error)


def test_cost_section_follows_the_cost_model(app_test):
    at = open_page(app_test, section="cost", alpha=0.8, gamma=3, batch=8, context=4096)
    assert at.slider(key="sim_cost").disabled  # c comes from the cost model here
    args = ("h100-sxm", "llama-3.1-8b", "eagle3-llama-3.1-8b", 0.8, 3)
    assert at.radio(key="sim_cost_model").value == "calibrated"  # H100 has a calibrated profile
    expected = cost_model.speculative_speedup(*args, 8, 4096, profile="h100-sglang-0.4.4")
    assert metric(at, "Speedup (simulated)") == f"{expected:.2f}x"
    at.number_input(key="sim_batch").set_value(512).run()
    expected = cost_model.speculative_speedup(*args, 512, 4096, profile="h100-sglang-0.4.4")
    assert metric(at, "Speedup (simulated)") == f"{expected:.2f}x"
    assert at.query_params["batch"] == "512"
    at.radio(key="sim_cost_model").set_value("ideal").run()  # the lesson's best-case roofline
    expected = cost_model.speculative_speedup(*args, 512, 4096)
    assert metric(at, "Speedup (simulated)") == f"{expected:.2f}x"


def test_cost_section_shows_the_model_next_to_the_published_points(app_test):
    at = open_page(app_test, section="cost")
    no_exception(at)
    table = next(d.value for d in at.dataframe if "error_pct" in d.value.columns)
    assert len(table) == 21  # Table 3 (18 points) and Table 4 (3)
    assert (table["error_pct"].abs() < 15).all()
    text = " ".join(m.value for m in at.markdown)
    assert "Largest error" in text


def test_cost_section_warns_when_the_model_does_not_fit(app_test):
    at = open_page(
        app_test, section="cost", hardware="l4", target="llama-3.1-70b", batch=4096, context=1048576
    )
    no_exception(at)
    assert any("does NOT fit" in w.value for w in at.warning)
    assert metric(at, "Speedup (simulated)").endswith("x")


def test_url_round_trip(app_test):
    params = {"section": "landscape", "alpha": "0.65", "gamma": "9", "cost": "0.12"}
    at = open_page(app_test, **params)
    assert at.segmented_control(key="sim_section").value == "landscape"
    assert at.slider(key="sim_alpha").value == pytest.approx(0.65)
    assert at.slider(key="sim_gamma").value == 9
    assert at.slider(key="sim_cost").value == pytest.approx(0.12)
    shown = dict(at.query_params)
    assert shown.pop("learner")  # the frame keeps the learner's resume token in the URL
    assert shown == params
    at.slider(key="sim_gamma").set_value(4).run()
    assert at.query_params["gamma"] == "4"
    at.segmented_control(key="sim_section").set_value("cost").run()
    no_exception(at)
    assert at.query_params["section"] == "cost" and at.query_params["hardware"] == "h100-sxm"
    # The share box shows the same setup as a link.
    assert any("gamma=4" in c.value and "section=cost" in c.value for c in at.code)
    assert not any("learner=" in c.value for c in at.code if "section=" in c.value)  # never shared


def test_invalid_url_values_are_ignored_with_a_warning(app_test):
    at = open_page(app_test, alpha="2", gamma="many", section="nowhere", hardware="tpu", rounds="123456")
    warnings = " ".join(w.value for w in at.warning)
    for fragment in ("alpha=2", "gamma=many", "section=nowhere", "hardware=tpu", "rounds=123456"):
        assert fragment in warnings
    assert at.slider(key="sim_alpha").value == pytest.approx(0.8)  # defaults kept
    assert at.slider(key="sim_gamma").value == 5
    assert at.select_slider(key="sim_rounds").value == 100_000  # snapped to the nearest stop
    assert at.query_params["alpha"] == "0.8"  # the URL now shows what is on screen


def test_simulated_counts_are_reproducible():
    """The page's cached chunk function is the core call: same seed, same histogram."""
    a = montecarlo.simulate_iid(0.7, 4, 10_000, seed=0).accepted_histogram
    b = montecarlo.simulate_iid(0.7, 4, 10_000, seed=0).accepted_histogram
    assert np.array_equal(a, b)
