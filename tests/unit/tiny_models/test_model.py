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


def test_verify_pass_gives_bit_identical_logits_to_one_token_passes(models):
    """A pass over k positions computes each one exactly as a pass over that position alone (the kernels
    run every row through the same instructions), so greedy speculative decoding cannot drift from plain
    decoding through rounding."""
    target = models.target
    ids = models.tokenizer.encode("class Stack:\n    def __init__(self):\n        self.items = []\n")
    cache = target.new_cache()
    target.forward(ids[:6], cache)
    for n in (2, 3, 5, 8):
        batched, single = cache.copy(), cache.copy()
        logits, hidden = target.forward(ids[6 : 6 + n], batched)
        rows = [target.forward([t], single) for t in ids[6 : 6 + n]]
        assert np.array_equal(logits, np.concatenate([r[0] for r in rows]))
        assert np.array_equal(hidden, np.concatenate([r[1] for r in rows]))
        assert np.array_equal(batched.keys, single.keys)


def test_kernels_match_a_plain_numpy_reference():
    from core.tiny_models import kernels

    rng = np.random.default_rng(0)
    h = rng.standard_normal((3, 16)).astype(np.float32) * 4
    expected = 0.5 * h * (1 + np.tanh(np.sqrt(2 / np.pi) * (h + 0.044715 * h**3)))
    kernels._gelu(h)
    # atol: 1 + tanh(v) cancels in float32 for v far below 0, where GELU is about -1e-6
    np.testing.assert_allclose(h, expected, rtol=1e-5, atol=2e-6)
    grid = np.linspace(-12, 12, 97, dtype=np.float32)
    assert max(abs(kernels._tanh(v) - np.tanh(np.float64(v))) for v in grid) < 1e-6


@pytest.mark.parametrize("n_in, n_out", [(64, 48), (256, 1024), (16, 320)])
def test_panel_matmul_is_x_times_w_and_each_row_is_the_same_in_any_tile(n_in, n_out):
    from core.tiny_models.panel_matmul import MAX_TILE_ROWS, matmul, pack

    rng = np.random.default_rng(1)
    w = rng.standard_normal((n_in, n_out)).astype(np.float32)
    panels = pack(w)
    rows = 2 * MAX_TILE_ROWS + 3  # several tiles, of different heights
    x = rng.standard_normal((rows, n_in)).astype(np.float32)
    out = np.empty((rows, n_out), dtype=np.float32)
    matmul(x, panels, out)
    np.testing.assert_allclose(out, x.astype(np.float64) @ w, rtol=1e-4, atol=1e-4)
    for m in range(1, rows + 1):  # every row count: the rows' numbers do not depend on it
        part = np.empty((m, n_out), dtype=np.float32)
        matmul(np.ascontiguousarray(x[:m]), panels, part)
        assert np.array_equal(part, out[:m]), m


def test_panel_packing_needs_outputs_in_sixteens():
    from core.tiny_models.panel_matmul import pack

    assert pack(np.ones((3, 48), dtype=np.float32)).shape == (2, 3, 32)  # the last panel half zeros
    with pytest.raises(ValueError, match="multiple of 16"):
        pack(np.ones((3, 40), dtype=np.float32))
