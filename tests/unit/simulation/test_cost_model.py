"""Roofline cost model: hand-computed step times, regimes, speedup edge cases, memory fit, bad inputs."""

import dataclasses
import math
import pickle

import numpy as np
import pytest

from core.references.published import batch_throughput_series
from core.simulation import closed_form as cf
from core.simulation import cost_model as cm

H100, SPARK = "h100-sxm", "dgx-spark"
LLAMA8, LLAMA70 = "llama-3.1-8b", "llama-3.1-70b"
EAGLE3, DRAFT_1B, NGRAM = "eagle3-llama-3.1-8b", "llama-3.2-1b", "ngram"


# ------------------------------------------------------------------------------------------- presets


def test_required_preset_ids_exist_and_every_preset_has_a_source():
    presets = cm.load_presets()
    assert {"h100-sxm", "h200", "a100-80gb", "l4", "rtx-4090", "dgx-spark"} <= set(presets.hardware)
    assert {LLAMA8, LLAMA70} <= set(presets.targets)
    assert {EAGLE3, DRAFT_1B, NGRAM} <= set(presets.drafts)
    every = [*presets.hardware.values(), *presets.targets.values(), *presets.drafts.values()]
    for preset in every:
        assert preset.source.strip(), preset.id
        assert preset.url.startswith("https://"), preset.id
        assert preset.name.strip(), preset.id
    # Hardware figures are vendor peaks: positive, and the ridge point (FLOP per byte) is a sane size.
    for hw in presets.hardware.values():
        assert 50 < hw.model_flops_per_s / hw.bandwidth_bytes_per_s < 2000, hw.id


def test_unpublished_flops_are_an_explicit_labelled_assumption():
    spark = cm.get_hardware(SPARK)
    assert spark.flops_per_s is None
    assert spark.flops_assumed
    assert spark.model_flops_per_s == spark.assumed_flops_per_s > 0
    assert "not published" in spark.assumption.lower()
    assert "assumed" in spark.assumption.lower()
    for hw in cm.load_presets().hardware.values():
        if hw.flops_per_s is not None:
            assert not hw.flops_assumed and hw.model_flops_per_s == hw.flops_per_s


def test_presets_are_cached_read_only_and_picklable():
    presets = cm.load_presets()
    assert cm.load_presets() is presets
    with pytest.raises(TypeError):
        presets.hardware["mine"] = presets.hardware[H100]
    with pytest.raises(dataclasses.FrozenInstanceError):
        presets.hardware[H100].bandwidth_bytes_per_s = 1.0
    assert pickle.loads(pickle.dumps(presets)) == presets  # st.cache_data pickles return values


def test_model_sizes_follow_from_the_architecture():
    llama8 = cm.get_model(LLAMA8)
    assert llama8.kv_bytes_per_token == 32 * 8 * 128 * 2 * 2  # layers x KV heads x head dim x K,V x BF16
    assert llama8.weight_bytes == pytest.approx(2 * llama8.params, rel=0.01)  # BF16: 2 bytes a parameter
    llama70 = cm.get_model(LLAMA70)
    assert llama70.kv_bytes_per_token == 80 * 8 * 128 * 2 * 2
    assert llama70.weight_bytes == pytest.approx(2 * llama70.params, rel=0.01)
    for draft_id in (EAGLE3, DRAFT_1B):
        draft = cm.get_model(draft_id)
        assert draft.weight_bytes == pytest.approx(2 * draft.params, rel=0.01)
        assert draft.params < llama8.params / 5


def test_bad_preset_data_is_rejected():
    with pytest.raises(ValueError, match="assumed_flops_per_s"):
        cm.Hardware("x", "X", 1e12, None, None, source="s")
    with pytest.raises(ValueError, match="bandwidth"):
        cm.Hardware("x", "X", 0.0, 1e12, None, source="s")
    with pytest.raises(ValueError, match="params"):
        cm.ModelSpec("m", "M", 0, 0, 0, source="s")  # a neural model with no weights
    text = '[[hardware]]\nid="a"\nname="A"\nbandwidth_bytes_per_s=1e12\nflops_per_s=1e14\nsource="s"\n'
    assert set(cm.parse_presets(text).hardware) == {"a"}
    with pytest.raises(ValueError, match="duplicate"):
        cm.parse_presets(text + text)


# ------------------------------------------------------------------------------- hand-computed times


@pytest.mark.parametrize(
    ("hardware", "low_ms", "high_ms"),
    # theory.md: weights-only lower bound per token for Llama-3.1-8B at batch 1.
    [(H100, 4.8, 4.85), ("h200", 3.3, 3.4), (SPARK, 58.5, 59.5)],
)
def test_batch_one_step_is_at_least_the_weight_read_time(hardware, low_ms, high_ms):
    weights_only = cm.baseline_step_time_s(hardware, LLAMA8, 1, 0, overhead_s=0.0)
    hw, model = cm.get_hardware(hardware), cm.get_model(LLAMA8)
    assert weights_only == pytest.approx(model.weight_bytes / hw.bandwidth_bytes_per_s, rel=1e-12)
    assert low_ms <= weights_only * 1e3 < high_ms
    # A real step adds the fixed overhead and KV reads on top, never less.
    assert cm.baseline_step_time_s(hardware, LLAMA8, 1, 2048) > weights_only


def test_kv_reads_grow_with_batch_times_context():
    overhead = 2e-4
    got = cm.forward_time_s(H100, LLAMA8, 4, 1, 1000, overhead_s=overhead)
    expected = (16.1e9 + 4 * 1000 * 131072) / 3.35e12 + overhead
    assert got == pytest.approx(expected, rel=1e-12)
    cost = cm.forward_cost(H100, LLAMA8, 4, 1, 1000, overhead_s=overhead)
    assert cost.total_s == got and cost.overhead_s == overhead and cost.regime == cm.MEMORY_BOUND


def test_compute_time_counts_two_flops_per_parameter_per_token():
    cost = cm.forward_cost(H100, LLAMA8, 512, 4, 0, overhead_s=0.0)
    assert cost.compute_s == pytest.approx(2 * 8.03e9 * 512 * 4 / 989e12, rel=1e-12)
    assert cost.regime == cm.COMPUTE_BOUND
    assert cost.total_s == cost.compute_s


def test_regime_switches_at_the_ridge_point():
    ridge = cm.ridge_tokens(H100, LLAMA8)
    assert 250 < ridge < 350  # 16.1 GB x 989 TFLOPS / (2 x 8.03e9 x 3.35 TB/s), about 296 tokens
    below, above = math.floor(ridge * 0.9), math.ceil(ridge * 1.1)
    assert cm.forward_cost(H100, LLAMA8, below, 1, 0).regime == cm.MEMORY_BOUND
    assert cm.forward_cost(H100, LLAMA8, above, 1, 0).regime == cm.COMPUTE_BOUND
    # Memory-bound: more tokens per sequence cost nothing extra; that is what verification exploits.
    assert cm.forward_time_s(H100, LLAMA8, 1, 8, 0) == cm.forward_time_s(H100, LLAMA8, 1, 1, 0)
    assert cm.forward_time_s(H100, LLAMA8, 128, 8, 0) > cm.forward_time_s(H100, LLAMA8, 128, 1, 0)


def test_lookup_draft_costs_nothing():
    assert cm.forward_time_s(H100, NGRAM, 64, 1, 4096) == 0.0
    assert cm.ridge_tokens(H100, NGRAM) == math.inf
    assert cm.effective_cost_ratio(H100, LLAMA8, NGRAM, 1, 0) == 0.0


def test_speculative_step_is_gamma_drafts_plus_one_wide_verify():
    batch, context, gamma = 16, 512, 4
    draft = cm.forward_time_s(H100, EAGLE3, batch, 1, context)
    verify = cm.forward_time_s(H100, LLAMA8, batch, gamma + 1, context)
    got = cm.speculative_step_time_s(H100, LLAMA8, EAGLE3, batch, context, gamma)
    assert got == pytest.approx(gamma * draft + verify, rel=1e-12)
    assert cm.speculative_step_time_s(H100, LLAMA8, EAGLE3, batch, context, 0) == cm.baseline_step_time_s(
        H100, LLAMA8, batch, context
    )


def test_cost_ratio_by_bytes_and_with_overhead():
    # No overhead, no context: c is the weight-bytes ratio (theory.md: about 0.05 and 0.15).
    eagle = cm.effective_cost_ratio(H100, LLAMA8, EAGLE3, 1, 0, overhead_s=0.0)
    assert eagle == pytest.approx(0.84e9 / 16.1e9, rel=1e-12)
    assert 0.04 < eagle < 0.06
    assert 0.13 < cm.effective_cost_ratio(H100, LLAMA8, DRAFT_1B, 1, 0, overhead_s=0.0) < 0.17
    # A fixed overhead per forward weighs more on the small draft, so the real c is higher.
    assert cm.effective_cost_ratio(H100, LLAMA8, EAGLE3, 1, 0, overhead_s=5e-4) > eagle


# ---------------------------------------------------------------------------------------- speedup


@pytest.mark.parametrize("hardware", ["h100-sxm", "l4", "dgx-spark"])
@pytest.mark.parametrize(("batch", "context"), [(1, 0), (64, 2048), (1000, 100)])
@pytest.mark.parametrize("draft", [EAGLE3, DRAFT_1B, NGRAM])
def test_gamma_zero_is_exactly_plain_decoding(hardware, batch, context, draft):
    assert cm.speculative_speedup(hardware, LLAMA8, draft, 0.9, 0, batch, context) == 1.0


def test_batch_one_matches_leviathan_closed_form():
    # At batch 1 the verify pass is memory-bound, so it costs one plain step: Theorem 3.8 applies with c
    # equal to the model's own draft/target time ratio.
    alpha, gamma = 0.8, 5
    c = cm.effective_cost_ratio(H100, LLAMA8, EAGLE3, 1, 256)
    got = cm.speculative_speedup(H100, LLAMA8, EAGLE3, alpha, gamma, 1, 256)
    assert got == pytest.approx(cf.walltime_speedup(alpha, gamma, c), rel=1e-12)


def test_speculation_wins_at_batch_one_and_loses_at_large_batch():
    batches = [1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 384, 512, 768, 1024]
    sweep = cm.speedup_vs_batch(H100, LLAMA8, EAGLE3, 0.7, 3, batches, 128)
    assert sweep.speedup[0] > 1.8
    assert sweep.regime[0] == cm.MEMORY_BOUND and sweep.regime[-1] == cm.COMPUTE_BOUND
    below = [b for b, s in zip(sweep.batch_sizes, sweep.speedup, strict=True) if s < 1]
    assert below, "at large batch speculation must become slower than plain decoding"
    assert sweep.break_even_batch == below[0]
    index = batches.index(sweep.break_even_batch)
    assert np.all(sweep.speedup[:index] >= 1.0)
    # Where it happens: past the ridge point, when batch x (gamma + 1) tokens make the verify compute-bound.
    assert sweep.break_even_batch * 4 > cm.ridge_tokens(H100, LLAMA8)
    assert sweep.regime[index] == cm.COMPUTE_BOUND


def test_long_context_keeps_speculation_useful_at_larger_batch():
    # MagicDec: KV reads are per sequence, so a long context keeps the verify pass memory-bound.
    short = cm.speculative_speedup(H100, LLAMA8, EAGLE3, 0.8, 3, 256, 0)
    long = cm.speculative_speedup(H100, LLAMA8, EAGLE3, 0.8, 3, 256, 8192)
    assert short < 1.0 < long


def test_speedup_monotone_in_alpha_and_draft_cost():
    alphas = np.linspace(0, 1, 11)
    speedups = [cm.speculative_speedup(H100, LLAMA8, EAGLE3, a, 4, 8, 1024) for a in alphas]
    assert np.all(np.diff(speedups) > 0)
    # A cheaper draft never hurts: lookup >= EAGLE-3 head >= 1B model, all else equal.
    lookup, head, small = (
        cm.speculative_speedup(H100, LLAMA8, d, 0.7, 4, 1, 1024) for d in (NGRAM, EAGLE3, DRAFT_1B)
    )
    assert lookup > head > small
    assert lookup == pytest.approx(float(cf.expected_tokens_per_pass(0.7, 4)))  # free drafts, free verify


def test_step_times_grow_with_batch_context_and_gamma():
    batches = np.arange(1, 2049, 37)
    base = [cm.baseline_step_time_s(H100, LLAMA8, b, 1024) for b in batches]
    assert np.all(np.diff(base) > 0)
    contexts = np.arange(0, 32768, 1500)
    assert np.all(np.diff([cm.baseline_step_time_s(H100, LLAMA8, 8, c) for c in contexts]) > 0)
    spec = [cm.speculative_step_time_s(H100, LLAMA8, EAGLE3, 32, 1024, g) for g in range(9)]
    assert np.all(np.diff(spec) > 0)


def test_faster_memory_means_faster_decoding():
    times = {
        hw: cm.baseline_step_time_s(hw, LLAMA8, 1, 1024) for hw in ("h200", "h100-sxm", "a100-80gb", "l4")
    }
    assert times["h200"] < times["h100-sxm"] < times["a100-80gb"] < times["l4"]


def test_batch_sweep_is_consistent_and_read_only():
    sweep = cm.speedup_vs_batch(H100, LLAMA8, EAGLE3, 0.75, 4, [64, 1, 8, 8, 2], 512)
    assert list(sweep.batch_sizes) == [1, 2, 8, 64]  # sorted, duplicates dropped
    for i, batch in enumerate(sweep.batch_sizes):
        assert sweep.baseline_step_s[i] == cm.baseline_step_time_s(H100, LLAMA8, int(batch), 512)
        assert sweep.speedup[i] == pytest.approx(
            cm.speculative_speedup(H100, LLAMA8, EAGLE3, 0.75, 4, int(batch), 512)
        )
        assert sweep.baseline_tok_s[i] == pytest.approx(batch / sweep.baseline_step_s[i])
        assert sweep.speculative_tok_s[i] / sweep.baseline_tok_s[i] == pytest.approx(sweep.speedup[i])
    assert sweep.expected_tokens_per_pass == pytest.approx(float(cf.expected_tokens_per_pass(0.75, 4)))
    with pytest.raises(ValueError):
        sweep.speedup[0] = 9.0
    rows = sweep.rows()
    assert len(rows) == 4 and rows[0]["batch_size"] == 1 and rows[0]["verify_regime"] == cm.MEMORY_BOUND
    assert pickle.loads(pickle.dumps(sweep)).break_even_batch == sweep.break_even_batch


def test_eagle3_table3_sanity_same_direction_not_same_numbers():
    """Published (EAGLE-3 Table 3, SGLang, H100, Llama-3.1-8B, chain of 3): the ratio falls with batch.

    The model with an assumed alpha of 0.8 falls too, but only past the ridge point, and it stays above
    every measured point: it is a best case that ignores per-token overheads. Documented, not tuned.
    """
    points = [p for p in batch_throughput_series() if p.method == "EAGLE-3"]
    published = {p.batch_size: p.throughput_ratio for p in points}
    assert published[2] > published[64]
    sweep = cm.speedup_vs_batch(H100, LLAMA8, EAGLE3, 0.8, 3, [2, 64, 512], 128)
    model = dict(zip(sweep.batch_sizes.tolist(), sweep.speedup.tolist(), strict=True))
    assert model[2] > model[512]
    assert model[2] > published[2] and model[64] > published[64]


# ----------------------------------------------------------------------------------------- memory


def test_memory_fit_by_hand():
    # RTX 4090: 24 GB x 0.9 usable; Llama-3.1-8B + EAGLE-3 weights, then KV per sequence.
    free = 24e9 * 0.9 - 16.1e9 - 0.84e9
    per_sequence = (4096 + 3 + 1) * (131072 + 4096)
    assert cm.max_batch_that_fits("rtx-4090", LLAMA8, EAGLE3, 4096, gamma=3) == int(free // per_sequence)
    assert cm.memory_required_bytes(LLAMA8, EAGLE3, 2, 4096, 3) == pytest.approx(16.94e9 + 2 * per_sequence)


def test_seventy_b_does_not_fit_one_gpu_but_fits_four():
    for hw in ("h100-sxm", "h200", "a100-80gb", "dgx-spark"):
        assert cm.max_batch_that_fits(hw, LLAMA70, None, 1024) == 0
        check = cm.memory_check(hw, LLAMA70, None, 1, 1024)
        assert check.fits is False and "does NOT fit" in check.message
    assert cm.max_batch_that_fits("h100-sxm-x4", LLAMA70, DRAFT_1B, 1024) > 64


def test_sweep_marks_points_that_do_not_fit():
    limit = cm.max_batch_that_fits(H100, LLAMA8, EAGLE3, 8192, gamma=3)
    sweep = cm.speedup_vs_batch(H100, LLAMA8, EAGLE3, 0.8, 3, [1, limit, limit + 1], 8192)
    assert sweep.fits.tolist() == [True, True, False]


def test_unknown_memory_cannot_be_checked():
    hw = dataclasses.replace(cm.get_hardware(H100), id="mystery", memory_bytes=None)
    assert cm.max_batch_that_fits(hw, LLAMA8, None, 1024) is None
    assert cm.memory_check(hw, LLAMA8, None, 1, 1024).fits is None
    assert cm.speedup_vs_batch(hw, LLAMA8, EAGLE3, 0.8, 3, [1], 0).fits.tolist() == [True]


# --------------------------------------------------------------------------------------- bad input


def test_objects_and_ids_give_the_same_answer():
    hw, target, draft = cm.get_hardware(H100), cm.get_model(LLAMA8), cm.get_model(EAGLE3)
    assert cm.speculative_speedup(hw, target, draft, 0.8, 3, 4, 100) == cm.speculative_speedup(
        H100, LLAMA8, EAGLE3, 0.8, 3, 4, 100
    )
    assert cm.baseline_step_time_s(H100, LLAMA8, np.int64(4), np.int64(100)) == cm.baseline_step_time_s(
        hw, target, 4, 100
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": 0}, "batch size"),
        ({"batch_size": -3}, "batch size"),
        ({"batch_size": 2.5}, "batch size"),
        ({"batch_size": True}, "batch size"),
        ({"batch_size": "many"}, "batch size"),
        ({"context_len": -1}, "context length"),
        ({"context_len": float("nan")}, "context length"),
        ({"gamma": -1}, "gamma"),
        ({"gamma": 1.5}, "gamma"),
        ({"alpha": 1.2}, "alpha"),
        ({"alpha": float("nan")}, "alpha"),
        ({"hardware": "tpu-v9"}, "unknown hardware"),
        ({"target": "gpt-7"}, "unknown model"),
        ({"draft": None}, "unknown model"),
        ({"overhead_s": -1e-3}, "overhead"),
        ({"overhead_s": float("inf")}, "overhead"),
    ],
)
def test_bad_inputs_raise_clear_value_errors(kwargs, match):
    args = {
        "hardware": H100,
        "target": LLAMA8,
        "draft": EAGLE3,
        "alpha": 0.8,
        "gamma": 3,
        "batch_size": 1,
        "context_len": 0,
    } | kwargs
    with pytest.raises(ValueError, match=match):
        cm.speculative_speedup(**args)


def test_bad_sweep_and_memory_inputs_raise():
    with pytest.raises(ValueError, match="at least one"):
        cm.speedup_vs_batch(H100, LLAMA8, EAGLE3, 0.8, 3, [], 0)
    with pytest.raises(ValueError, match="list"):
        cm.speedup_vs_batch(H100, LLAMA8, EAGLE3, 0.8, 3, 5, 0)
    with pytest.raises(ValueError, match="batch size"):
        cm.speedup_vs_batch(H100, LLAMA8, EAGLE3, 0.8, 3, [1, 0], 0)
    with pytest.raises(ValueError, match="usable memory"):
        cm.memory_check(H100, LLAMA8, None, 1, 0, usable_memory_fraction=0.0)
    with pytest.raises(ValueError, match="tokens per sequence"):
        cm.forward_time_s(H100, LLAMA8, 1, 0, 0)
