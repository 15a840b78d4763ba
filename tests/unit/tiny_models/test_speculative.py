"""The identity proof at temperature 0 and the distribution test above it."""

import numpy as np
import pytest

from core.tiny_models import DecodeSession, DraftKind, generate
from core.tiny_models import speculative as spec
from core.tiny_models.drafts import probabilities
from core.tiny_models.suite import tiny_prompt_suite

SUITE = tiny_prompt_suite()


@pytest.fixture(scope="module")
def plain_outputs(models):
    return [
        generate(models, models.tokenizer.encode(p.text), None, max_new_tokens=40).output_ids for p in SUITE
    ]


@pytest.mark.parametrize("kind", list(DraftKind))
def test_greedy_speculation_is_the_targets_greedy_decoding(models, plain_outputs, kind):
    accepted = 0
    for prompt, plain in zip(SUITE, plain_outputs, strict=True):
        out = generate(models, models.tokenizer.encode(prompt.text), kind, num_draft=4, max_new_tokens=40)
        assert out.output_ids == plain, (kind, prompt.text)
        accepted += sum(p.accepted for p in out.passes)
    assert accepted > 0  # the drafts really were used


def test_pass_records_add_up(models):
    ids = models.tokenizer.encode(SUITE[0].text)
    out = generate(models, ids, DraftKind.STANDALONE, num_draft=3, max_new_tokens=30, candidates=3)
    assert sum(len(p.emitted) for p in out.passes) == len(out.output_ids)
    for p in out.passes:
        assert len(p.proposed) <= 3
        assert p.emitted[: p.accepted] == p.proposed[: p.accepted]
        assert len(p.target_top) == len(p.proposed) + 1 and len(p.draft_top) == len(p.proposed)
        assert all(a[1] >= b[1] for a, b in zip(p.target_top[0], p.target_top[0][1:], strict=False))  # sorted
        for token, q_top in zip(p.proposed, p.draft_top, strict=True):  # greedy: q's top is the draft
            assert len(q_top) == 3 and q_top[0][0] == token and 0 < q_top[0][1] < 1
            assert sum(prob for _, prob in q_top) <= 1 + 1e-9
    # the prefill is timed apart from the decoding: part of the request, and no pass's time
    assert 0 < out.prefill_seconds < out.seconds - sum(p.seconds for p in out.passes) + 1e-9
    one_token = generate(models, ids[:1], None, max_new_tokens=2)
    assert one_token.prefill_seconds < out.prefill_seconds  # nothing to prefill for a 1-token prompt


def _chi2_critical(df: int, z: float = 3.09) -> float:
    """Wilson-Hilferty approximation of the chi-square quantile (z 3.09: 0.1 % upper tail)."""
    return df * (1 - 2 / (9 * df) + z * np.sqrt(2 / (9 * df))) ** 3


def _chi2(counts: np.ndarray, expected_p: np.ndarray, bins: np.ndarray) -> tuple[float, int]:
    """Pearson's statistic over the given token bins plus one bin for every other token."""
    n = counts.sum()
    ranked = bins[np.argsort(-expected_p[bins])]
    bins = ranked[: max(1, int((expected_p[ranked] * n >= 5).sum()))]
    obs = np.append(counts[bins], n - counts[bins].sum())
    exp = np.append(expected_p[bins], 1 - expected_p[bins].sum()) * n
    return float(((obs - exp) ** 2 / exp).sum()), len(obs) - 1


def _sample_first_two(models, prompt_ids, kind, temperature, n):
    base = DecodeSession(
        models, prompt_ids, kind, num_draft=2, temperature=temperature, max_new_tokens=3, stop_at_end=False
    )
    pairs = []
    for seed in range(n):
        s = base.fork(seed)
        while len(s.output_ids) < 2:
            s.step()
        pairs.append(s.output_ids[:2])
    return np.array(pairs)


def _first_two_fit(models, kind, n=1500, temperature=1.0):
    prompt_ids = models.tokenizer.encode("The for statement is used")
    target = models.target
    logits, _ = target.forward(prompt_ids, target.new_cache())
    p1 = probabilities(logits[-1], temperature)
    pairs = _sample_first_two(models, prompt_ids, kind, temperature, n)
    vocab = models.tokenizer.vocab_size
    bins1 = np.argsort(-p1)[:8]
    stat1, df1 = _chi2(np.bincount(pairs[:, 0], minlength=vocab), p1, bins1)
    top = int(np.bincount(pairs[:, 0]).argmax())
    p2 = probabilities(target.forward([*prompt_ids, top], target.new_cache())[0][-1], temperature)
    second = pairs[pairs[:, 0] == top, 1]
    bins2 = np.argsort(-p2)[:6]
    stat2, df2 = _chi2(np.bincount(second, minlength=vocab), p2, bins2)
    return stat1 / _chi2_critical(df1), stat2 / _chi2_critical(df2)


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(DraftKind))
def test_sampled_output_follows_the_targets_distribution(models, kind):
    first, second = _first_two_fit(models, kind)
    assert first < 1 and second < 1, (first, second)


@pytest.mark.slow
def test_distribution_test_catches_a_wrong_rule(models, monkeypatch):
    """Accepting every draft (no rejection sampling) gives the draft's distribution: the test sees it."""

    def accept_all(proposed, dists, logits, temperature, rng):
        return len(proposed), spec.pick(logits[len(proposed)], temperature, rng)[0]

    monkeypatch.setattr(spec, "accept", accept_all)
    first, second = _first_two_fit(models, DraftKind.STANDALONE)
    assert max(first, second) > 1


def test_bad_arguments_are_value_errors(models):
    with pytest.raises(ValueError):
        DecodeSession(models, [], None)
    with pytest.raises(ValueError):
        DecodeSession(models, [1] * models.target.config.context, None)
    with pytest.raises(ValueError):
        DecodeSession(models, [1, 2], "STANDALONE", temperature=-1)
    with pytest.raises(ValueError):
        DecodeSession(models, [1, 2], "WRONG")
