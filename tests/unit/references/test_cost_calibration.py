"""The calibrated cost model against the EAGLE-3 paper's SGLang tables: targets, provenance, the fit.

The published numbers are read from published.toml and the model is computed here; nothing compares a
stored model output with itself.
"""

import math

import pytest

from core.references import cost_calibration as cc
from core.references.published import get_reference
from core.simulation import cost_model
from core.simulation.engine_profile import get_profile, load_profiles

PROFILE = "h100-sglang-0.4.4"
FIELDS = (
    "bandwidth_efficiency",
    "flops_efficiency",
    "pass_overhead_s",
    "decode_token_s",
    "verify_token_s",
    "draft_token_s",
    "draft_vocab_entry_s",
)


def _points(name):
    return {m["method"]: m for m in cc.reproduce(name)["methods"]}


def test_every_table3_point_is_within_10_percent():
    methods = _points("eagle3-table3")
    ref = get_reference("eagle3-table3-batch")
    for method, prefix in (("EAGLE", "eagle1"), ("EAGLE-3", "eagle3")):
        points = methods[method]["points"]
        assert [p["batch"] for p in points] == [int(b) for b in ref.metrics[f"{prefix}_batch_sizes"]]
        assert [p["published"] for p in points] == list(ref.metrics[f"{prefix}_throughput_ratio"])
        for point in points:
            assert abs(point["model"] / point["published"] - 1) < 0.10, (method, point)


def test_table4_points_are_within_15_percent():
    methods = _points("eagle3-table4")
    ref = get_reference("sglang-docs-llama31-8b-h100")
    assert methods["plain"]["points"][0]["published"] == ref.metrics["baseline_tok_s"] == 158.34
    assert methods["EAGLE-3"]["points"][0]["published"] == ref.metrics["throughput_tok_s"]["EAGLE-3"]
    for method in ("plain", "EAGLE-2", "EAGLE-3"):
        point = methods[method]["points"][0]
        assert point["batch"] == 1
        assert abs(point["model"] / point["published"] - 1) < 0.15, (method, point)


def test_eagle1_falls_below_1x_between_batch_16_and_32():
    inputs = _points("eagle3-table3")["EAGLE"]["inputs"]
    sweep = cc.sweep_for(inputs, range(1, 129))
    assert 16 < sweep.break_even_batch <= 32
    assert all(s < 1 for s in sweep.speedup[sweep.break_even_batch - 1 :])  # and stays below


def test_the_ideal_roofline_is_the_old_best_case():
    ideal = cost_model.speedup_vs_batch(
        "h100-sxm", "llama-3.1-8b", "eagle3-llama-3.1-8b", 0.8, 3, [1, 64], 512
    )
    assert ideal.profile_id == "ideal"
    assert ideal.speedup[0] == pytest.approx(2.43, abs=0.01)
    assert ideal.speedup[1] == pytest.approx(2.48, abs=0.01)
    assert ideal.baseline_tok_s[0] == pytest.approx(203, abs=1)


def test_one_alpha_per_method_across_batch_sizes_and_trees():
    for name in cc.REPRODUCTIONS:
        for method in _points(name).values():
            assert (
                method["inputs"]["alpha"]
                == cc.fitted_alphas()["EAGLE" if method["method"] in ("EAGLE", "EAGLE-2") else "EAGLE-3"]
            )
    assert set(cc.fitted_alphas()) == {"EAGLE", "EAGLE-3"}


def test_reproduction_inputs_give_the_same_numbers_as_the_cost_model():
    for name in cc.REPRODUCTIONS:
        for method in _points(name).values():
            batches = [p["batch"] for p in method["points"]]
            sweep = cc.sweep_for(method["inputs"], batches)
            column = {"speedup": sweep.speedup, "baseline_tok_s": sweep.baseline_tok_s,
                      "speculative_tok_s": sweep.speculative_tok_s}[method["quantity"]]  # fmt: skip
            assert [p["model"] for p in method["points"]] == pytest.approx(list(column), rel=1e-12)


def test_the_stored_profile_is_what_the_fit_gives():
    result = cc.fit_eagle3_sglang()
    stored = get_profile(PROFILE)
    for name in FIELDS:
        fitted, kept = getattr(result.profile, name), getattr(stored, name)
        assert kept == pytest.approx(fitted, rel=2e-3, abs=1e-9), name
    for method, alpha in result.alphas.items():
        assert cc.fitted_alphas()[method] == pytest.approx(alpha, abs=2e-4)
    assert len(cc.problem().observations) == 21


def test_the_profile_documents_its_fit_and_stays_in_its_bounds():
    stored = get_profile(PROFILE)
    assert "Table 3" in stored.fit and "Table 4" in stored.fit and "512" in stored.fit
    bounds = cc.calibration_inputs()["bounds"]
    for name in FIELDS:
        low, high = bounds[name]
        assert low <= getattr(stored, name) <= high, name
    assert stored.hardware == "h100-sxm" and stored.count_attention_flops
    assert load_profiles()["ideal"].is_ideal and not stored.is_ideal


def test_unknown_reproduction_is_a_value_error():
    with pytest.raises(ValueError, match="eagle3-table3"):
        cc.reproduce("table9")


def test_errors_are_model_over_published():
    for method in _points("eagle3-table3").values():
        for p in method["points"]:
            assert math.isclose(p["error"], p["model"] / p["published"] - 1)
