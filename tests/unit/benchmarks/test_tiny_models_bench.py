"""The tiny-model benchmark's arithmetic: rates over prompts, whole requests against decoding alone."""

from pytest import approx

from benchmarks import tiny_models as bench


def _run(tokens, plain_s, spec_s, prefill_s, passes):
    return {
        "pt": tokens,
        "st": tokens,
        "tok": tokens,
        "pas": passes,
        "ps": plain_s,
        "ss": spec_s,
        "pd": plain_s - prefill_s,
        "sd": spec_s - prefill_s,
    }


def test_rates_sum_tokens_and_seconds_over_prompts():
    runs = [_run(64, 0.040, 0.020, 0.004, 16), _run(32, 0.020, 0.010, 0.002, 16)]
    accept, plain, spec = bench._rates(runs)
    assert accept == 96 / 32
    assert (plain, spec) == approx((96 / 0.060, 96 / 0.030))
    _, decode_plain, decode_spec = bench._rates(runs, "decode")
    assert (decode_plain, decode_spec) == approx((96 / 0.054, 96 / 0.024))
    # a prefill both pay the same dilutes the whole-request speedup, not the decoding's
    assert decode_spec / decode_plain > spec / plain


def test_looping_finds_short_periods_only():
    assert bench.looping([1, 2, 3] + [7, 8] * 20)
    assert not bench.looping(list(range(40)))
