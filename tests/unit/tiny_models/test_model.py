"""NumPy inference: the KV cache gives the same logits as a full forward; context limits are enforced."""

import numpy as np
import pytest


def test_incremental_equals_full_forward(models):
    target = models.target
    ids = models.tokenizer.encode("import os\nimport sys\n\ndef main(argv):\n    return 0\n")
    full, _ = target.forward(ids, target.new_cache())
    cache = target.new_cache()
    parts = [target.forward(ids[:3], cache)[0]] + [target.forward([t], cache)[0] for t in ids[3:7]]
    parts.append(target.forward(ids[7:], cache)[0])
    np.testing.assert_allclose(np.concatenate(parts), full, rtol=1e-4, atol=1e-4)


def test_truncate_then_refeed_restores_logits(models):
    target = models.target
    ids = models.tokenizer.encode("for i in range(10):\n    print(i)\n")
    cache = target.new_cache()
    first, _ = target.forward(ids, cache)
    cache.truncate(4)
    again, _ = target.forward(ids[4:], cache)
    np.testing.assert_allclose(again, first[4:], rtol=1e-4, atol=1e-4)


def test_context_overflow_is_a_clear_error(models):
    target = models.target
    with pytest.raises(ValueError, match="context"):
        target.forward([1] * (target.config.context + 1), target.new_cache())


def test_models_learnt_something(models):
    """The target predicts held-out-like code far better than chance (vocab-size perplexity)."""
    manifest = models.manifest["models"]
    assert manifest["target"]["held_out_perplexity"] < models.tokenizer.vocab_size / 10
    assert manifest["target"]["held_out_perplexity"] < manifest["standalone"]["held_out_perplexity"]


def test_shipped_weights_fit_the_budget():
    from core.tiny_models.weights import shipped_dir

    total = sum(p.stat().st_size for p in shipped_dir().iterdir())
    assert total <= 25 * 1024 * 1024
