"""Adaptive speculation page (AppTest): the table shows exactly what core computes for the same settings."""

import json
from urllib.parse import parse_qsl

import numpy as np
import pytest

from core.lessons.simulator_settings import parse_query_params
from core.simulation import adaptive_stream as stream_mod
from core.simulation import cost_model
from core.simulation.engine_profile import calibrated_profile_for

PAGE = "pages/adaptive.py"
DEFAULTS = dict(
    workload="shifting",
    requests=1000,
    seed=0,
    batch=1,
    context=1024,
    hardware="h100-sxm",
    target="llama-3.1-8b",
    draft="eagle3-llama-3.1-8b",
)


def core_summary(**changes):
    s = {**DEFAULTS, **changes}
    stream = stream_mod.make_stream(s["workload"], s["requests"], s["seed"], s["draft"])
    # "calibrated": the profile calibrated on the hardware when there is one (H100: h100-sglang-0.4.4).
    profile = (
        calibrated_profile_for(s["hardware"]) if s.get("cost_model", "calibrated") == "calibrated" else None
    )
    table = stream_mod.step_time_table(
        s["hardware"], s["target"], s["draft"], s["batch"], s["context"], profile=profile and profile.id
    )
    return stream_mod.compare(stream, table, s["batch"], s["seed"], n_windows=120).summary()


def page_table(at):
    tables = [df.value for df in at.dataframe if "goodput_tok_s" in df.value.columns]
    assert len(tables) == 1
    return tables[0]


def assert_table_matches_core(at, **changes):
    shown = page_table(at).set_index("controller")
    want = core_summary(**changes).set_index("controller")
    assert sorted(shown.index) == sorted(want.index)
    for column in ("goodput_tok_s", "speedup_vs_no_spec", "wasted_drafts", "mean_gamma"):
        np.testing.assert_allclose(
            shown[column].to_numpy(float), want.loc[shown.index, column].to_numpy(float)
        )
    np.testing.assert_allclose(shown.spec_on_share.to_numpy(float), 100 * want.loc[shown.index].spec_on_share)
    assert shown.best_static.sum() == 1
    assert shown.index[shown.best_static][0] == want.index[want.best_static][0]
    return shown


def simulator_link(at) -> dict:
    """The deep link into the Simulator's cost section, parsed the way the Simulator parses it."""
    [link] = [n.proto for n in at.get("page_link") if n.proto.page == "speedup-simulator"]
    presets = cost_model.load_presets()
    choices = {"hardware": presets.hardware, "target": presets.targets, "draft": presets.drafts}
    values, warnings = parse_query_params(dict(parse_qsl(link.query_string)), choices=choices)
    assert warnings == []
    return values


def click(at, label: str):
    [button] = [b for b in at.button if b.label == label]
    button.click()
    at.run()


def test_default_run_matches_core_and_labels_everything(app_test):
    at = app_test(PAGE)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    assert at.title[0].value == "Adaptive speculation"
    shown = assert_table_matches_core(at)
    adaptive = shown.loc["adaptive (EMA, classifier prior)"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Adaptive speedup"] == f"{adaptive.speedup_vs_no_spec:.2f}x"
    assert len(metrics) == 4
    text = " ".join(m.value for m in at.markdown)
    assert "simulated" in text
    assert "Comparison table" in text
    downloads = at.get("download_button")
    assert len(downloads) >= 2
    # Four time-series charts (acceptance, gamma, on/off, cumulative goodput), each titled on its axes.
    specs = [json.loads(node.proto.spec) for node in at.get("vega_lite_chart")]
    assert len(specs) == 4
    assert all("output tokens so far" in json.dumps(spec) for spec in specs)
    link = simulator_link(at)
    assert link["section"] == "cost"
    assert (link["batch"], link["context"], link["hardware"]) == (1, 1024, "h100-sxm")


def test_high_load_settings_switch_speculation_off(app_test):
    at = app_test(PAGE)
    at.select_slider(key="adaptive_batch").set_value(512)
    at.select_slider(key="adaptive_context").set_value(128)
    at.select_slider(key="adaptive_requests").set_value(5000)
    at.radio(key="adaptive_cost_model").set_value("ideal")  # the compute roof is an ideal-roofline lesson
    click(at, "Run")
    assert not at.exception, [e.value for e in at.exception]
    shown = assert_table_matches_core(at, batch=512, context=128, requests=5000, cost_model="ideal")
    adaptive = shown.loc["adaptive (EMA, classifier prior)"]
    assert shown.loc["static γ=4"].speedup_vs_no_spec < 1
    assert adaptive.spec_on_share < 10  # percent of steps
    assert any("no static γ beats plain decoding" in i.value for i in at.info)
    assert (simulator_link(at)["batch"], simulator_link(at)["context"]) == (512, 128)


def test_quick_start_buttons_fill_the_form(app_test):
    at = app_test(PAGE)
    click(at, "High load: 512 requests, short contexts")
    assert not at.exception
    assert at.session_state["adaptive_batch"] == 512
    assert at.session_state["adaptive_requests"] == 5000
    assert at.session_state["adaptive_cost_model"] == "ideal"  # the high-load lesson is the compute roof
    assert_table_matches_core(at, batch=512, context=128, requests=5000, cost_model="ideal")
    click(at, "Low load: 1 request at a time")
    assert at.session_state["adaptive_batch"] == 1


def test_load_sweep_uses_the_same_simulation(app_test):
    at = app_test(PAGE)
    click(at, "Run the load sweep")
    assert not at.exception, [e.value for e in at.exception]
    [pivot] = [df.value for df in at.dataframe if "adaptive: speculation on" in df.value.columns]
    assert list(pivot.batch) == [1, 8, 32, 64, 128, 256, 512]
    want = core_summary(batch=512, requests=2048).set_index("controller")
    row = pivot.set_index("batch").loc[512]
    assert row["adaptive (EMA, classifier prior)"] == pytest.approx(
        want.loc["adaptive (EMA, classifier prior)"].speedup_vs_no_spec
    )
    assert row["static γ=4"] == pytest.approx(want.loc["static γ=4"].speedup_vs_no_spec)


def test_classifier_box_and_warnings(app_test):
    at = app_test(PAGE)
    at.text_input(key="adaptive_prompt").set_value("Write a haiku about autumn").run()
    assert any("Classified as **creative**" in m.value for m in at.markdown)
    at.text_input(key="adaptive_prompt").set_value("   ").run()
    assert any("Type a prompt" in c.value for c in at.caption)
    at.multiselect(key="adaptive_shown").set_value([]).run()
    assert any("Pick at least one controller" in w.value for w in at.warning)
    assert not at.exception


def test_a_model_that_does_not_fit_is_warned_about_not_hidden(app_test):
    at = app_test(PAGE)
    at.selectbox(key="adaptive_target").set_value("llama-3.1-70b")
    at.selectbox(key="adaptive_hardware").set_value("l4")
    click(at, "Run")
    assert not at.exception, [e.value for e in at.exception]
    assert any("does NOT fit" in w.value for w in at.warning)
    assert_table_matches_core(at, target="llama-3.1-70b", hardware="l4")
