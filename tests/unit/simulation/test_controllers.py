"""Controller rules: the HF heuristic's exact steps, the EMA estimator, goodput-optimal gamma, switch-off."""

import numpy as np
import pytest

from core.simulation import closed_form, cost_model
from core.simulation import controllers as ctl
from core.simulation.adaptive_stream import closed_form_step_times, step_time_table, type_expected_tokens


def batch_state(n_active: int, step_row, prompt_class=None, true_type=None, expected=None) -> ctl.BatchState:
    slots = np.arange(n_active)
    return ctl.BatchState(
        slots=slots,
        prompt_class=np.zeros(n_active, dtype=np.int64) if prompt_class is None else np.asarray(prompt_class),
        true_type=np.zeros(n_active, dtype=np.int64) if true_type is None else np.asarray(true_type),
        step_times_s=np.asarray(step_row, dtype=float),
        type_expected_tokens=type_expected_tokens() if expected is None else expected,
    )


# --- Hugging Face heuristic -------------------------------------------------------------------------------


def test_hf_rule_steps_exactly():
    assert ctl.hf_next_gamma(5, True) == 7
    assert ctl.hf_next_gamma(5, False) == 4
    assert ctl.hf_next_gamma(1, False) == 1  # floor 1
    assert ctl.hf_next_gamma(2, False, floor=2) == 2
    assert ctl.hf_next_gamma(7, True, cap=8) == 8


def test_hf_controller_follows_the_schedule_from_5():
    hf = ctl.HFHeuristic()
    hf.reset(2, np.full(4, 0.5))
    state = batch_state(2, np.ones(9))
    seen = []
    # fully accepted, fully accepted (capped at 8), one short, one short, nothing accepted x 9
    outcomes = [True, True, False, False] + [False] * 9
    for fully in outcomes:
        gamma = hf.choose_gamma(state)
        seen.append(gamma)
        accepted = np.array([gamma, gamma]) if fully else np.array([gamma, max(gamma - 1, 0)])
        hf.observe(state, gamma, accepted)
    assert seen == [5, 7, 8, 7, 6, 5, 4, 3, 2, 1, 1, 1, 1]
    hf.reset(2, np.full(4, 0.5))
    assert hf.choose_gamma(state) == 5


def test_hf_batch_counts_as_fully_accepted_only_if_every_request_was():
    hf = ctl.HFHeuristic()
    hf.reset(3, np.full(4, 0.5))
    state = batch_state(3, np.ones(9))
    hf.observe(state, 5, np.array([5, 5, 4]))
    assert hf.choose_gamma(state) == 4


def test_hf_rejects_bad_settings():
    with pytest.raises(ValueError):
        ctl.HFHeuristic(start=0)
    with pytest.raises(ValueError):
        ctl.HFHeuristic(start=2, floor=3)
    with pytest.raises(ValueError):
        ctl.HFHeuristic(start=9)


# --- EMA estimator of acceptance ----------------------------------------------------------------------------


def test_ema_counts_judged_drafts_as_trials():
    assert ctl.ema_observe(0.0, 0.0, 2, 4, 1.0) == (2.0, 3.0)  # 2 accepted, then 1 rejected
    assert ctl.ema_observe(0.0, 0.0, 4, 4, 1.0) == (4.0, 4.0)  # all accepted: no failure seen
    assert ctl.ema_observe(0.0, 0.0, 0, 3, 1.0) == (0.0, 1.0)
    assert ctl.ema_observe(3.0, 5.0, 0, 0, 0.5) == (3.0, 5.0)  # gamma 0 observes nothing
    s, t = ctl.ema_observe(8.0, 10.0, 1, 2, 0.5)
    assert (s, t) == pytest.approx((5.0, 7.0))
    with pytest.raises(ValueError):
        ctl.ema_observe(0.0, 0.0, 5, 4, 0.9)


def test_successes_over_trials_is_unbiased_where_accepted_over_gamma_is_not():
    """On i.i.d. rounds the estimator converges to alpha; the naive accepted/gamma does not.

    20 000 rounds at gamma 4 give about 45 000 judged drafts, so the standard error of the estimate is
    sqrt(0.7 * 0.3 / 45 000) = 0.002; 0.01 is five standard errors.
    """
    alpha, gamma = 0.7, 4
    rng = np.random.default_rng(1)
    uniforms = rng.random((20_000, gamma))
    accepted = np.argmin(np.concatenate([uniforms < alpha, np.zeros((20_000, 1), bool)], axis=1), axis=1)
    s = t = 0.0
    for k in accepted:
        s, t = ctl.ema_observe(s, t, int(k), gamma, 1.0)
    assert s / t == pytest.approx(alpha, abs=0.01)
    naive = accepted.mean() / gamma
    expected_naive = (alpha - alpha ** (gamma + 1)) / (1 - alpha) / gamma  # E[accepted] / gamma
    assert naive == pytest.approx(expected_naive, abs=0.01)
    assert naive < alpha - 0.2


# --- goodput-optimal gamma ----------------------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [0.1, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95])
def test_iid_expected_tokens_matches_the_closed_form(alpha):
    got = ctl.iid_expected_tokens(alpha, 8)
    want = closed_form.expected_tokens_per_pass(alpha, np.arange(9))
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("alpha", [0.2, 0.5, 0.6, 0.7, 0.8, 0.9])
@pytest.mark.parametrize("cost_ratio", [0.02, 0.05, 0.1, 0.3, 0.6])
def test_estimator_picks_the_closed_form_optimum_for_a_known_alpha(alpha, cost_ratio):
    """With step times 1 + gamma * c (the closed form's own cost model) and its estimate equal to alpha,
    the estimator's gamma is closed_form.optimal_gamma, including gamma 0 when nothing pays."""
    estimator = ctl.GoodputEstimator(prior_trials=10.0)
    estimator.reset(1, np.full(4, alpha))
    estimator.start_request(0, 0)
    state = batch_state(1, closed_form_step_times(cost_ratio)[1])
    assert estimator.estimate(state) == pytest.approx(alpha)
    want, _ = closed_form.optimal_gamma(alpha, cost_ratio, max_gamma=ctl.MAX_GAMMA)
    assert estimator.choose_gamma(state) == want


def test_estimator_switches_off_when_speculation_cannot_pay_at_high_batch():
    """Llama-3.1-8B + EAGLE-3 on an H100, 512 requests of 128 tokens: the verify pass is compute-bound and
    every gamma is slower than plain decoding on the cost model, so the estimator picks 0; at batch 1 the
    same estimate speculates."""
    alpha, hw, target, draft = 0.85, "h100-sxm", "llama-3.1-8b", "eagle3-llama-3.1-8b"
    assert all(cost_model.speculative_speedup(hw, target, draft, alpha, g, 512, 128) < 1 for g in range(1, 9))
    table = step_time_table(hw, target, draft, 512, 128)
    for n_active, expect_on in ((512, False), (1, True)):
        estimator = ctl.GoodputEstimator(probe_every=0)
        estimator.reset(n_active, np.full(4, alpha))
        for slot in range(n_active):
            estimator.start_request(slot, 0)
        gamma = estimator.choose_gamma(batch_state(n_active, table[n_active]))
        assert (gamma > 0) == expect_on


def test_estimator_probes_after_probe_every_steps_off():
    estimator = ctl.GoodputEstimator(probe_every=5)
    estimator.reset(1, np.full(4, 0.2))
    estimator.start_request(0, 0)
    state = batch_state(1, closed_form_step_times(0.6)[1])  # alpha 0.2 at c 0.6: speculation never pays
    gammas = [estimator.choose_gamma(state) for _ in range(12)]
    assert gammas == [0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0]


def test_estimator_moves_towards_what_it_observes():
    estimator = ctl.GoodputEstimator(prior_trials=10.0, ema_decay=1.0, type_ema_decay=1.0)
    estimator.reset(1, np.full(4, 0.5))
    estimator.start_request(0, 2)
    state = batch_state(1, np.ones(9), prompt_class=[2])
    estimator.observe(state, 4, np.array([4]))  # 4 of 4 accepted: (5 + 4) / (10 + 4)
    assert estimator.estimate(state) == pytest.approx(9 / 14)
    assert estimator.type_estimate(2) == pytest.approx(9 / 14)
    assert estimator.type_estimate(1) == pytest.approx(0.5)  # other types untouched
    estimator.start_request(0, 2)  # a new request of type 2 starts from the type's estimate
    assert estimator.estimate(state) == pytest.approx(9 / 14)


def test_estimator_without_classifier_shares_one_estimate():
    estimator = ctl.GoodputEstimator(use_classifier=False, global_prior=0.4)
    estimator.reset(1, np.array([0.9, 0.8, 0.7, 0.6]))
    assert [estimator.type_estimate(c) for c in range(4)] == pytest.approx([0.4] * 4)


def brute_force_gamma(expected: np.ndarray, times: np.ndarray, objective: str) -> int:
    """Obviously correct reference: evaluate every gamma, first maximum wins."""
    if objective == "batch":
        values = [expected[:, g].sum() / times[g] for g in range(len(times))]
    else:
        values = [np.sum(np.log(expected[:, g] / times[g])) for g in range(len(times))]
    return int(np.argmax(np.round(values, 9)))


@pytest.mark.parametrize("objective", ctl.OBJECTIVES)
def test_best_gamma_matches_brute_force(objective):
    rng = np.random.default_rng(5)
    for _ in range(200):
        n = int(rng.integers(1, 6))
        alphas = rng.uniform(0.0, 0.98, n)
        expected = np.array([ctl.iid_expected_tokens(a) for a in alphas])
        times = np.cumsum(rng.uniform(0.01, 0.5, 9)) + rng.uniform(0.5, 2.0)
        assert ctl.best_gamma(expected, times, objective=objective) == brute_force_gamma(
            expected, times, objective
        )


def test_objectives_agree_for_one_request_and_differ_on_a_mixed_batch():
    times = closed_form_step_times(0.15)[1]
    one = ctl.iid_expected_tokens(0.8)[None, :]
    assert ctl.best_gamma(one, times, objective="batch") == ctl.best_gamma(one, times, objective="request")
    mixed = np.array([ctl.iid_expected_tokens(0.95), ctl.iid_expected_tokens(0.3)])
    batch = ctl.best_gamma(mixed, times, objective="batch")
    request = ctl.best_gamma(mixed, times, objective="request")
    assert batch > request  # the batch objective chases the easy request


def test_best_gamma_validates():
    with pytest.raises(ValueError, match="one entry per gamma"):
        ctl.best_gamma(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="positive"):
        ctl.best_gamma(np.ones(3), np.array([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="objective"):
        ctl.best_gamma(np.ones(3), np.ones(3), objective="fastest")


# --- per-type oracle and static ---------------------------------------------------------------------------


def test_oracle_at_batch_one_is_the_best_gamma_per_type():
    table = step_time_table("h100-sxm", "llama-3.1-8b", "eagle3-llama-3.1-8b", 1, 1024)
    expected = type_expected_tokens("learned")
    oracle = ctl.PerTypeOracle()
    picks = []
    for t in range(expected.shape[0]):
        gamma = oracle.choose_gamma(batch_state(1, table[1], true_type=[t], expected=expected))
        assert gamma == int(np.argmax(expected[t] / table[1]))
        picks.append(gamma)
    assert len(set(picks)) > 1  # the types really want different gammas


def test_static_and_bad_values():
    assert ctl.StaticGamma(3).choose_gamma(batch_state(1, np.ones(9))) == 3
    assert ctl.StaticGamma(0).name == "no speculation (γ=0)"
    for bad in (-1, 9, 2.5, True):
        with pytest.raises(ValueError):
            ctl.StaticGamma(bad)
    with pytest.raises(ValueError):
        ctl.GoodputEstimator(ema_decay=0.0)
    with pytest.raises(ValueError):
        ctl.GoodputEstimator(probe_every=-1)
    with pytest.raises(ValueError):
        ctl.GoodputEstimator(objective="max")


def test_kernel_params_layout():
    kind, ints, floats = ctl.GoodputEstimator(probe_every=7, use_classifier=False).kernel_params()
    assert kind == ctl.KIND_ESTIMATOR
    assert ints[ctl.I_PROBE_EVERY] == 7 and ints[ctl.I_USE_CLASSIFIER] == 0
    assert floats[ctl.F_EMA_DECAY] == pytest.approx(0.95)
    kind, ints, _ = ctl.StaticGamma(4).kernel_params()
    assert kind == ctl.KIND_STATIC and ints[ctl.I_STATIC_GAMMA] == 4
