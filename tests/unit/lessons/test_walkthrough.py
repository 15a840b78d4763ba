"""core.lessons.walkthrough: the step-through replays exactly, its counters add up, and it runs the real algorithm."""

import math

import numpy as np
import pytest

from core.lessons import walkthrough as wt

MODEL = wt.toy_model()


def _play_rounds(state):
    """Every state at a round boundary, from the start until the text is finished."""
    boundaries = []
    while True:
        state = wt.next_round(state)
        snap = wt.replay(state)
        boundaries.append(snap)
        if snap.finished:
            return boundaries
        assert len(boundaries) <= wt.GOAL_TOKENS, "the step-through never finished"


def _greedy_target_text(length):
    tokens = [wt.VOCAB.index(wt.PROMPT[-1])]
    for _ in range(length):
        tokens.append(int(np.argmax(MODEL.target[tokens[-1]])))
    return tokens[1:]


def test_toy_model_rows_are_distributions_and_the_draft_is_imperfect():
    assert MODEL.target.shape == MODEL.draft.shape == (len(wt.VOCAB), len(wt.VOCAB))
    np.testing.assert_allclose(MODEL.target.sum(axis=1), 1.0)
    np.testing.assert_allclose(MODEL.draft.sum(axis=1), 1.0)
    assert (MODEL.target > 0).all() and (MODEL.draft > 0).all()
    acceptance = MODEL.acceptance_by_word()
    np.testing.assert_allclose(acceptance, np.minimum(MODEL.target, MODEL.draft).sum(axis=1))
    assert (acceptance < 0.95).all() and (acceptance > 0.4).all()
    # Greedy disagreement somewhere, so greedy mode shows rejections too.
    assert (MODEL.target.argmax(axis=1) != MODEL.draft.argmax(axis=1)).any()


@pytest.mark.parametrize("gamma", [1, 3, wt.MAX_GAMMA])
@pytest.mark.parametrize("greedy", [False, True])
def test_counters_add_up_at_every_round_boundary(gamma, greedy):
    boundaries = _play_rounds(wt.WalkthroughState(seed=5, gamma=gamma, greedy=greedy))
    for number, snap in enumerate(boundaries, start=1):
        rounds = snap.completed_rounds
        assert len(rounds) == number == snap.target_passes
        assert snap.tokens == sum(r.accepted + 1 for r in rounds)
        assert snap.draft_passes == gamma * number
        assert len(snap.text) == len(wt.PROMPT) + snap.tokens
        assert all(0 <= r.accepted <= gamma for r in rounds)
    last = boundaries[-1]
    assert last.finished and last.tokens >= wt.GOAL_TOKENS
    assert boundaries[-2].tokens < wt.GOAL_TOKENS if len(boundaries) > 1 else True


def test_next_step_walks_through_every_step_of_each_round():
    state = wt.WalkthroughState(seed=11, gamma=3)
    kinds_per_round: dict[int, list[str]] = {}
    while True:
        state = wt.next_step(state)
        snap = wt.replay(state)
        kinds_per_round.setdefault(state.round, []).append(snap.current_step.kind)
        if snap.finished:
            break
    for index, kinds in kinds_per_round.items():
        round_ = wt.replay(wt.WalkthroughState(seed=11, gamma=3, round=index, step=1)).current
        assert kinds == [s.kind for s in wt.round_steps(round_)]
        assert kinds.count("draft") == 3
        assert kinds.count("verify") == 1
        assert kinds.count("check") == min(round_.accepted + 1, 3)
        assert kinds[-1] == "finish"
    # Clicking step by step ends exactly where clicking round by round ends.
    by_round = _play_rounds(wt.WalkthroughState(seed=11, gamma=3))[-1]
    assert wt.replay(state) == by_round


def test_partial_round_counters_follow_the_steps():
    state = wt.WalkthroughState(seed=2, gamma=4)
    state = wt.next_step(state)  # draft 1
    snap = wt.replay(state)
    assert (snap.draft_passes, snap.target_passes, snap.tokens) == (1, 0, 0)
    assert [status for _, status in snap.pending] == ["drafted"]
    for _ in range(3):
        state = wt.next_step(state)
    snap = wt.replay(state)
    assert (snap.draft_passes, snap.target_passes) == (4, 0)
    state = wt.next_step(state)  # verify
    snap = wt.replay(state)
    assert snap.current_step.kind == "verify"
    assert (snap.draft_passes, snap.target_passes, snap.tokens) == (4, 1, 0)
    state = wt.next_step(state)  # first verdict
    snap = wt.replay(state)
    first_kept = snap.current.accepted >= 1
    assert snap.tokens == int(first_kept)
    assert snap.pending[0][1] == ("accepted" if first_kept else "rejected")


def test_same_seed_replays_identically_and_another_seed_differs():
    state = wt.WalkthroughState(seed=42, gamma=4)
    for _ in range(9):
        state = wt.next_step(state)
    assert wt.replay(state) == wt.replay(wt.WalkthroughState.from_dict(state.to_dict()))
    text_a = [t for t, _, _ in _play_rounds(wt.WalkthroughState(seed=1, gamma=4))[-1].text]
    text_b = [t for t, _, _ in _play_rounds(wt.WalkthroughState(seed=1, gamma=4))[-1].text]
    others = {
        tuple(t for t, _, _ in _play_rounds(wt.WalkthroughState(seed=s, gamma=4))[-1].text)
        for s in range(2, 6)
    }
    assert text_a == text_b
    assert tuple(text_a) not in others or len(others) > 1


def test_verdicts_follow_the_rejection_rule():
    for seed in range(30):
        round_ = wt.simulate_round(MODEL, previous=0, gamma=4, seed=seed, index=0, greedy=False)
        context = [round_.previous, *round_.drafts]
        for i, token in enumerate(round_.drafts):
            p = MODEL.target[context[i], token]
            q = MODEL.draft[context[i], token]
            assert round_.p_draft[i] == pytest.approx(p)
            assert round_.q_draft[i] == pytest.approx(q)
            assert round_.accept_probabilities[i] == pytest.approx(min(1.0, p / q))
        for i in range(round_.accepted):
            assert round_.uniforms[i] < round_.accept_probabilities[i]
        if round_.accepted < 4:
            i = round_.accepted
            assert round_.uniforms[i] >= round_.accept_probabilities[i]
            assert all(u is None for u in round_.uniforms[i + 1 :])
            assert round_.next_token_source == "residual"
            p_row, q_row = MODEL.target[context[i]], MODEL.draft[context[i]]
            residual = np.maximum(p_row - q_row, 0.0)
            np.testing.assert_allclose(round_.next_distribution, residual / residual.sum(), atol=1e-12)
            assert round_.next_distribution[round_.next_token] > 0
        else:
            assert round_.next_token_source == "bonus"
            np.testing.assert_allclose(round_.next_distribution, MODEL.target[round_.drafts[-1]])


def test_first_new_word_follows_the_target_distribution():
    # Whatever the draft proposes, the first word a round produces is distributed as p(. | "the").
    draws = 3000
    counts = np.zeros(len(wt.VOCAB))
    for seed in range(draws):
        counts[wt.simulate_round(MODEL, 0, 2, seed, 0, greedy=False).output[0]] += 1
    tv_to_p = 0.5 * np.abs(counts / draws - MODEL.target[0]).sum()
    tv_to_q = 0.5 * np.abs(counts / draws - MODEL.draft[0]).sum()
    # E[TV] <= 0.5 * sqrt(V / n) = 0.029 for pure sampling noise; 0.06 leaves room for a bad seed, while the
    # draft itself is 0.22 away from p, so a draft-following bug cannot pass.
    assert tv_to_p < 0.06
    assert tv_to_q > 0.15


def test_greedy_output_is_the_targets_greedy_text():
    last = _play_rounds(wt.WalkthroughState(seed=0, gamma=3, greedy=True))[-1]
    produced = [t for t, kind, _ in last.text if kind != "prompt"]
    assert produced == _greedy_target_text(len(produced))
    for round_ in last.completed_rounds:
        context = [round_.previous, *round_.drafts]
        for i, token in enumerate(round_.drafts):
            assert token == int(np.argmax(MODEL.draft[context[i]]))
            expected_accept = token == int(np.argmax(MODEL.target[context[i]]))
            if i < round_.accepted:
                assert expected_accept
            elif i == round_.accepted:
                assert not expected_accept
    # Greedy does not depend on the seed.
    other = _play_rounds(wt.WalkthroughState(seed=99, gamma=3, greedy=True))[-1]
    assert other.text == last.text


def test_finished_state_does_not_advance():
    last = _play_rounds(wt.WalkthroughState(seed=3, gamma=2))[-1].state
    assert wt.next_step(last) == last
    assert wt.next_round(last) == last


def test_reset_and_settings():
    state = wt.next_round(wt.next_round(wt.WalkthroughState(seed=4, gamma=3)))
    assert wt.reset(state) == wt.WalkthroughState(seed=4, gamma=3)
    assert wt.with_settings(state, 4, 3, False) == state
    changed = wt.with_settings(state, 4, 5, False)
    assert (changed.gamma, changed.round, changed.step) == (5, 0, 0)
    with pytest.raises(ValueError, match="gamma"):
        wt.with_settings(state, 4, wt.MAX_GAMMA + 1, False)
    with pytest.raises(ValueError, match="seed"):
        wt.with_settings(state, -1, 3, False)


@pytest.mark.parametrize(
    "data",
    [
        None,
        "junk",
        {"gamma": 0},
        {"gamma": "x"},
        {"seed": -5},
        {"round": 3, "step": 0},
        {"round": 10**9, "step": 1},
    ],
)
def test_from_dict_falls_back_to_a_fresh_start(data):
    assert wt.WalkthroughState.from_dict(data) == wt.WalkthroughState()


def test_replay_rejects_impossible_states():
    with pytest.raises(ValueError, match="steps"):
        wt.replay(wt.WalkthroughState(seed=0, gamma=2, round=0, step=99))
    finished = _play_rounds(wt.WalkthroughState(seed=3, gamma=2))[-1].state
    with pytest.raises(ValueError, match="finished"):
        wt.replay(wt.WalkthroughState(seed=3, gamma=2, round=finished.round + 1, step=1))


def test_narration_names_what_happened():
    state = wt.next_step(wt.WalkthroughState(seed=8, gamma=2))
    assert "Draft pass 1 of 2" in wt.replay(state).narration
    state = wt.next_step(wt.next_step(state))
    assert "ONE target pass" in wt.replay(state).narration
    full = wt.replay(wt.next_round(state))
    assert f"{full.current.tokens_out} token" in full.narration


def test_glossary_has_the_key_terms_and_corrected_myths():
    terms, myths = wt.load_glossary()
    names = " ".join(t.name for t in terms)
    for needed in (
        "Draft",
        "Target",
        "Speculation length",
        "Acceptance rate",
        "Accept length",
        "Wallclock",
        "EAGLE",
        "Tree",
        "MTP",
        "N-gram",
    ):
        assert needed in names
    text = " ".join(m.claim + " " + m.truth for m in myths)
    for needed in (
        "--speculative-draft-model-path",
        "EAGLE3",
        "5/4/8",
        "3/1/4",
        "completion_tokens",
        "slower",
    ):
        assert needed in text
    assert all(t.source and m.source for t in terms for m in myths)


def test_glossary_reports_an_incomplete_entry(tmp_path):
    bad = tmp_path / "glossary.toml"
    bad.write_text('[[term]]\nname = "Draft"\nshort = "small model"\n')
    with pytest.raises(ValueError, match="term #1 lacks detail, source"):
        wt.load_glossary(bad)


def test_identity_experiment_output_follows_p_not_q():
    samples = 200_000
    result = wt.identity_experiment(temperature=2.0, skew=0.6, samples=samples, seed=3)
    assert result.output_frequencies.sum() == pytest.approx(1.0)
    noise = wt.tv_noise_bound(len(wt.VOCAB), samples)  # 0.0035 here
    assert result.tv_to_p < 3 * noise
    assert result.tv_p_q > 10 * noise  # the draft is genuinely different ...
    assert result.tv_to_q > result.tv_p_q - 3 * noise  # ... and the output does not follow it
    sigma = math.sqrt(result.expected_acceptance * (1 - result.expected_acceptance) / samples)
    assert abs(result.empirical_acceptance - result.expected_acceptance) < 5 * sigma
    assert result.expected_acceptance == pytest.approx(np.minimum(result.p, result.q).sum())
    assert len(result.records()) == 3 * len(wt.VOCAB)


def test_identity_experiment_greedy_outputs_the_target_argmax():
    result = wt.identity_experiment(temperature=1.0, skew=0.0, samples=1000, seed=0, greedy=True)
    assert result.output_frequencies[int(np.argmax(result.p))] == pytest.approx(1.0)
    expected = 1.0 if np.argmax(result.q) == np.argmax(result.p) else 0.0
    assert result.empirical_acceptance == pytest.approx(expected)


@pytest.mark.parametrize("samples", [0, wt.MAX_SAMPLES + 1, 2.5, True])
def test_identity_experiment_rejects_bad_sample_counts(samples):
    with pytest.raises(ValueError, match="samples"):
        wt.identity_experiment(1.0, 0.0, samples)


def test_tv_noise_bound():
    assert wt.tv_noise_bound(10, 1000) == pytest.approx(0.5 * math.sqrt(0.01))
    assert wt.tv_noise_bound(10, 1) == 1.0
    with pytest.raises(ValueError):
        wt.tv_noise_bound(10, 0)


def test_the_glossary_keeps_spec_accept_rate_apart_from_alpha():
    # accuracy-review #16: SGLang's spec_accept_rate = correct / (verify passes x (draft tokens - 1)),
    # which for a chain is (E[N] - 1) / gamma, not alpha; the term once read as if it were alpha.
    from core.lessons.walkthrough import load_glossary

    terms, _ = load_glossary()
    (alpha,) = [t for t in terms if t.name.startswith("Acceptance rate")]
    assert "`spec_accept_rate` is a different number" in alpha.detail and "not alpha" in alpha.detail
    assert "_calculate_spec_decoding_metrics" in alpha.source
