"""The generic fit: it recovers parameters from data the cost model itself generated."""

import dataclasses

import pytest

from core.simulation import calibration as cal
from core.simulation import cost_model
from core.simulation.engine_profile import ideal_profile

HW, TARGET, DRAFT, CONTEXT = "h100-sxm", "llama-3.1-8b", "eagle3-llama-3.1-8b", 512


def _problem(truth, alpha):
    base = dataclasses.replace(ideal_profile(), id="test", count_attention_flops=True)
    probe = cal.CalibrationProblem(HW, TARGET, CONTEXT, (), {}, {}, base)
    obs = []
    for batch in (1, 2, 4, 8, 16, 32, 64):
        o = cal.Observation("m", "speedup", "m", DRAFT, batch, 3, 1, 4, 1.0)
        obs.append(dataclasses.replace(o, published=cal.model_value(probe, o, truth, alpha)))
    plain = cal.Observation("plain", "baseline_tok_s", "m", DRAFT, 1, 3, 1, 4, 1.0)
    obs.append(dataclasses.replace(plain, published=cal.model_value(probe, plain, truth, alpha)))
    bounds = {"bandwidth_efficiency": (0.5, 0.95), "verify_token_s": (0.0, 0.002)}
    return cal.CalibrationProblem(HW, TARGET, CONTEXT, tuple(obs), bounds, {"m": (0.3, 0.95)}, base)


def test_fit_recovers_parameters_it_generated_the_data_with():
    truth = dataclasses.replace(
        ideal_profile(), id="truth", count_attention_flops=True, bandwidth_efficiency=0.8,
        verify_token_s=1e-4,
    )  # fmt: skip
    result = cal.fit(_problem(truth, 0.7))
    assert result.cost < 1e-12
    assert result.profile.bandwidth_efficiency == pytest.approx(0.8, rel=1e-4)
    assert result.profile.verify_token_s == pytest.approx(1e-4, rel=1e-3)
    assert result.alphas["m"] == pytest.approx(0.7, rel=1e-4)
    assert all(abs(e) < 1e-6 for e in result.log_errors)


def test_model_value_kinds_agree_with_the_cost_model():
    truth = dataclasses.replace(ideal_profile(), id="t", verify_token_s=1e-4)
    probe = cal.CalibrationProblem(HW, TARGET, CONTEXT, (), {}, {}, truth)
    obs = cal.Observation("m", "speedup", "m", DRAFT, 8, 3, 1, 4, 1.0)
    expected = cost_model.speculative_speedup(HW, TARGET, DRAFT, 0.7, 3, 8, CONTEXT, profile=truth)
    assert cal.model_value(probe, obs, truth, 0.7) == pytest.approx(expected)
    tok = dataclasses.replace(obs, kind="speculative_tok_s")
    base = dataclasses.replace(obs, kind="baseline_tok_s")
    ratio = cal.model_value(probe, tok, truth, 0.7) / cal.model_value(probe, base, truth, 0.7)
    assert ratio == pytest.approx(expected)


def test_bad_problems_are_rejected():
    base = ideal_profile()
    with pytest.raises(ValueError, match="at least one"):
        cal.fit(cal.CalibrationProblem(HW, TARGET, CONTEXT, (), {}, {}, base))
    bad = cal.Observation("m", "speedup", "m", DRAFT, 1, 3, 1, 4, -1.0)
    with pytest.raises(ValueError, match="positive"):
        cal.fit(cal.CalibrationProblem(HW, TARGET, CONTEXT, (bad,), {}, {"m": (0.3, 0.9)}, base))
