"""The EAGLE head's draft vocabulary (FR-Spec): the most frequent tokens, drafted from, exact rule intact."""

import json

import numpy as np
import pytest

from core.tiny_models.drafts import EagleDraft
from core.tiny_models.model import EagleHead
from core.tiny_models.training import hot_token_ids
from core.tiny_models.weights import shipped_dir


def test_hot_ids_are_the_most_frequent_tokens_with_ties_to_the_lower_id():
    ids = np.array([5, 5, 5, 2, 2, 7, 7, 1, 0])
    hot, coverage = hot_token_ids(ids, vocab_size=8, size=3)
    assert hot.tolist() == [2, 5, 7]  # 5 (3 times), then 2 and 7 (twice each); 0 and 1 once
    assert coverage == pytest.approx(7 / 9)


def test_shipped_head_drafts_from_a_quarter_of_the_vocabulary(models):
    manifest = json.loads((shipped_dir() / "manifest.json").read_text())
    facts = manifest["models"]["eagle"]["draft_vocab"]
    assert facts["size"] == len(models.eagle.draft_ids) == models.target.config.vocab_size // 4
    assert 0.5 < facts["training_token_coverage"] < 1


def test_drafts_come_from_the_draft_vocabulary_and_q_lives_on_the_whole_vocabulary(models):
    draft = EagleDraft(models.eagle)
    seq = models.tokenizer.encode("def read(path):\n    with open(path) as f:\n        return")
    features = np.zeros((models.target.config.context, models.target.config.d_model), dtype=np.float32)
    _, hidden = models.target.forward(seq, models.target.new_cache())
    features[: len(seq)] = hidden
    rng = np.random.default_rng(0)
    tokens, dists, _ = draft.propose(seq, 3, 1.0, rng, features)
    allowed = set(models.eagle.draft_ids.tolist())
    assert all(t in allowed for t in tokens)
    for q in dists:
        assert q.shape == (models.target.config.vocab_size,)
        assert q.sum() == pytest.approx(1.0)
        outside = np.setdiff1d(np.arange(len(q)), models.eagle.draft_ids)
        assert np.all(q[outside] == 0)


def test_bad_hot_ids_are_refused(models):
    weights = dict(models.eagle.weights)
    for bad in ([1, 1] * 8, list(range(15)) + [models.target.config.vocab_size]):
        with pytest.raises(ValueError, match="distinct token ids|multiple of 16"):
            EagleHead(models.target, {**weights, "hot_ids": np.array(bad)})


def test_the_step_through_shows_the_eagle_heads_own_candidates_at_temperature_0(models):
    from core.tiny_models import generate

    ids = models.tokenizer.encode("class Stack:\n    def push(self, item):\n        ")
    out = generate(models, ids, "EAGLE", num_draft=3, max_new_tokens=12, candidates=3)
    allowed = set(models.eagle.draft_ids.tolist())
    shown = [q_top for p in out.passes for q_top in p.draft_top]
    assert shown and all(len(q_top) == 3 and {t for t, _ in q_top} <= allowed for q_top in shown)
    assert all(q_top[0][1] < 1 for q_top in shown)  # a softmax, not the drafted token alone
