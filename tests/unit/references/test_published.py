"""Published reference numbers: every entry sourced, values in range, derived values recomputed."""

import math
import pickle
import tomllib
from importlib import resources

import pytest

from core.references import published as pub
from core.simulation import closed_form as cf

REQUIRED_IDS = {
    "leviathan-t5-ende-small",
    "eagle3-llama31-8b-t0",
    "eagle3-llama31-8b-t1",
    "eagle2-vicuna13b",
    "sps-vicuna-68m",
    "eagle1-vicuna7b-chain-vs-tree",
    "eagle1-depth-acceptance",
    "specbench-vicuna7b-a100",
    "specbench-pld-summarization",
    "sglang-docs-llama31-8b-h100",
    "eagle3-table3-batch",
    "vllm-blog-2024-10",
    "su-2023-gamma-vs-batch",
    "sglang-default-spec-params",
}
SLIDERS = {"alpha", "gamma", "cost_ratio"}


def raw_toml() -> dict:
    return tomllib.loads(resources.files("core").joinpath("data/published.toml").read_text(encoding="utf-8"))


def test_required_ids_exist_and_raw_ids_are_unique():
    ids = [entry["id"] for entry in raw_toml()["reference"]]
    assert len(ids) == len(set(ids))
    assert set(pub.load_references()) >= REQUIRED_IDS


def test_every_entry_has_a_source_a_url_and_numbers():
    for ref in pub.load_references().values():
        assert ref.source.strip() and ref.title.strip() and ref.method.strip(), ref.id
        assert ref.url.startswith("https://"), ref.id
        assert ref.metrics or ref.note.strip(), ref.id  # numbers, or a cited fact stated in the note
        assert ref.citation == ref.source


def _scalars(ref):
    for name, value in ref.metrics.items():
        if isinstance(value, float):
            yield name, value
        elif isinstance(value, tuple):
            yield from ((f"{name}[{i}]", v) for i, v in enumerate(value))
        else:
            yield from ((f"{name}.{k}", v) for k, v in value.items())


def test_metric_values_are_in_range():
    for ref in pub.load_references().values():
        values = dict(_scalars(ref))
        assert all(math.isfinite(v) and v >= 0 for v in values.values()), ref.id
        for name, value in values.items():
            if name.startswith(("speedup", "slowdown")) or "throughput_ratio" in name:
                assert 0.5 < value < 10, (ref.id, name)
            if name.startswith(("alpha", "acceptance_by_depth", "top1_accuracy")):
                assert 0 <= value <= 1, (ref.id, name)
            if name.startswith("accept_length"):
                assert 1 <= value < 10, (ref.id, name)
        for low in [n for n in values if n.endswith("_low")]:
            high = low[: -len("_low")] + "_high"
            if high in values:
                assert values[low] <= values[high], (ref.id, low)
        if ref.temperature is not None:
            assert 0 <= ref.temperature <= 2, ref.id


def test_references_are_read_only_and_picklable():
    refs = pub.load_references()
    with pytest.raises(TypeError):
        refs["new"] = refs["eagle3-table3-batch"]
    with pytest.raises(TypeError):
        refs["leviathan-t5-ende-small"].metrics["speedup"] = 10.0
    assert pickle.loads(pickle.dumps(refs)) == refs
    assert pub.get_reference("vllm-blog-2024-10") is refs["vllm-blog-2024-10"]
    with pytest.raises(ValueError, match="unknown published reference"):
        pub.get_reference("made-up")


# ------------------------------------------------------------------------- internal consistency


def test_leviathan_prediction_follows_from_its_own_alpha_gamma_and_c():
    ref = pub.get_reference("leviathan-t5-ende-small")
    m = ref.metrics
    predicted = cf.walltime_speedup(m["alpha"], int(m["gamma"]), m["cost_ratio"])
    assert round(predicted, 1) == m["predicted_speedup"]  # the paper rounds to one decimal
    assert m["speedup"] > m["predicted_speedup"]  # measured beat the prediction in this row


def test_eagle1_depth_rates_roughly_give_the_published_chain_accept_length():
    # Expected tokens per verify pass of a chain = 1 + sum of path-acceptance probabilities.
    rates = pub.get_reference("eagle1-depth-acceptance").metrics["acceptance_by_depth"]
    expected = 1 + sum(math.prod(rates[: i + 1]) for i in range(len(rates)))
    chain = pub.get_reference("eagle1-vicuna7b-chain-vs-tree").metrics["accept_length_chain"]
    assert abs(expected - chain) < 0.2  # two numbers from the same paper, measured differently
    tree = pub.get_reference("eagle1-vicuna7b-chain-vs-tree").metrics["accept_length_tree"]
    assert tree > chain


def test_acceptance_decays_with_depth():
    assert "medusa-top1-accuracy" not in pub.load_references()  # unverifiable, removed (accuracy review)
    eagle = pub.get_reference("eagle1-depth-acceptance").metrics["acceptance_by_depth"]
    assert eagle[0] > eagle[-1]


def test_temperature_one_accepts_less_than_greedy():
    t0 = pub.get_reference("eagle3-llama31-8b-t0")
    t1 = pub.get_reference("eagle3-llama31-8b-t1")
    assert t0.temperature < t1.temperature
    assert t0.metrics["accept_length"] > t1.metrics["accept_length"]
    assert t0.metrics["speedup"] > t1.metrics["speedup"]


def test_sglang_defaults_obey_sglangs_own_rules():
    m = pub.get_reference("sglang-default-spec-params").metrics
    # topk 1 forces num_draft_tokens = steps + 1; in general draft tokens <= steps * topk + 1.
    assert m["other_eagle_topk"] == 1 and m["other_num_draft_tokens"] == m["other_num_steps"] + 1
    assert m["llama_num_draft_tokens"] <= m["llama_num_steps"] * m["llama_eagle_topk"] + 1


def test_spec_bench_ranking_and_sglang_throughputs():
    by_method = pub.get_reference("specbench-vicuna7b-a100").metrics["speedup_by_method"]
    assert max(by_method, key=by_method.get) == "EAGLE-2"
    assert min(by_method, key=by_method.get) == "Lookahead"
    docs = pub.get_reference("sglang-docs-llama31-8b-h100").metrics
    assert docs["baseline_tok_s"] < docs["throughput_tok_s"]["EAGLE-2"] < docs["throughput_tok_s"]["EAGLE-3"]


def test_su_et_al_is_quoted_without_per_batch_numbers():
    ref = pub.get_reference("su-2023-gamma-vs-batch")
    assert not ref.metrics  # no per-batch values were found in the paper (accuracy review #11)
    assert "batch size" in ref.note


# ------------------------------------------------------------------------------ simulator presets


def test_simulator_presets_are_valid_and_labelled():
    presets = pub.simulator_presets()
    assert presets, "no simulator presets"
    assert len({p.id for p in presets}) == len(presets)
    for preset in presets:
        assert cf.validate_alpha(preset.alpha) == preset.alpha
        assert cf.validate_gamma(preset.gamma) == preset.gamma >= 1
        assert cf.validate_cost_ratio(preset.cost_ratio) == preset.cost_ratio
        # Every slider value is either published or explained, never both, never neither.
        assert preset.published_fields | set(preset.basis) == SLIDERS
        assert not preset.published_fields & set(preset.basis)
        assert all(text.startswith(("Assumed", "Derived")) for text in preset.basis.values())
        assert preset.source and preset.url.startswith("https://")
        # Something measured to show beside the simulation.
        shown = (preset.published_speedup, preset.published_speedup_low, preset.published_accept_length)
        assert any(v is not None for v in shown), preset.id
        assert pub.get_simulator_preset(preset.id) == preset
    with pytest.raises(ValueError, match="unknown simulator preset"):
        pub.get_simulator_preset("nope")


def test_published_values_are_copied_exactly():
    lev = pub.get_simulator_preset("leviathan-t5-ende-small")
    assert lev.published_fields == SLIDERS and not lev.basis
    ref = pub.get_reference("leviathan-t5-ende-small").metrics
    assert (lev.alpha, lev.gamma, lev.cost_ratio) == (ref["alpha"], ref["gamma"], ref["cost_ratio"])
    assert (
        lev.published_speedup == ref["speedup"]
        and lev.published_predicted_speedup == ref["predicted_speedup"]
    )
    assert lev.is_published("alpha") and not pub.get_simulator_preset("eagle3-llama31-8b-t0").is_published(
        "alpha"
    )


def test_derived_alpha_reproduces_the_published_accept_length():
    derived = [p for p in pub.simulator_presets() if "alpha" in p.basis]
    assert len(derived) >= 4
    for preset in derived:
        assert preset.published_accept_length is not None
        assert preset.expected_accept_length == pytest.approx(preset.published_accept_length, rel=1e-9)
        assert preset.alpha == pytest.approx(
            cf.alpha_from_accept_length(preset.published_accept_length, preset.gamma)
        )
        assert str(preset.gamma) in preset.basis["alpha"]


def test_predicted_and_implied_cost_ratio_are_consistent():
    for preset in pub.simulator_presets():
        assert preset.predicted_speedup == pytest.approx(
            cf.walltime_speedup(preset.alpha, preset.gamma, preset.cost_ratio)
        )
        implied = preset.implied_cost_ratio
        if implied is None:
            continue
        target = preset.published_speedup or 0.5 * (
            preset.published_speedup_low + preset.published_speedup_high
        )
        assert cf.walltime_speedup(preset.alpha, preset.gamma, implied) == pytest.approx(target, rel=1e-9)


def test_eagle3_greedy_preset_lands_near_the_published_speedup():
    # Derived alpha + bytes-based c: the closed form should be in the published ballpark, not equal to it.
    preset = pub.get_simulator_preset("eagle3-llama31-8b-t0")
    assert abs(preset.predicted_speedup / preset.published_speedup - 1) < 0.15


# --------------------------------------------------------------------------------- batch series


def test_batch_series_has_only_the_published_points():
    points = pub.batch_throughput_series()
    got = {(p.method, p.batch_size): p.throughput_ratio for p in points}
    metrics = pub.get_reference("eagle3-table3-batch").metrics
    expected = {
        ("EAGLE-1", int(b)): r
        for b, r in zip(metrics["eagle1_batch_sizes"], metrics["eagle1_throughput_ratio"], strict=True)
    }
    expected |= {
        ("EAGLE-3", int(b)): r
        for b, r in zip(metrics["eagle3_batch_sizes"], metrics["eagle3_throughput_ratio"], strict=True)
    }
    assert got == expected
    assert len(points) == 18  # nine batch sizes, two methods
    assert all(p.source.startswith("Li et al. 2025 (EAGLE-3, arXiv 2503.01840), Table 3") for p in points)
    assert all(p.url for p in points)


def test_batch_series_shows_the_gain_shrinking():
    for method in ("EAGLE-1", "EAGLE-3"):
        series = sorted(
            (p.batch_size, p.throughput_ratio) for p in pub.batch_throughput_series() if p.method == method
        )
        ratios = [r for _, r in series]
        assert ratios[0] > ratios[-1] + 0.3, method  # measured: not strictly monotone, but falling
    eagle1 = {
        p.batch_size: p.throughput_ratio for p in pub.batch_throughput_series() if p.method == "EAGLE-1"
    }
    assert min(eagle1.values()) < 1 < max(eagle1.values())  # speculation turned into a slowdown


# ------------------------------------------------------------------------------------ bad data


GOOD = """
[[reference]]
id = "a"
title = "T"
method = "M"
source = "S"
url = "https://example.org"
[reference.metrics]
accept_length = 3.0
"""


def test_parser_accepts_good_data_and_rejects_bad():
    assert set(pub.parse_published(GOOD).references) == {"a"}
    with pytest.raises(ValueError, match="duplicate"):
        pub.parse_published(GOOD + GOOD)
    with pytest.raises(ValueError, match="no url"):
        pub.parse_published(GOOD.replace('url = "https://example.org"', ""))
    with pytest.raises(ValueError, match="no source"):
        pub.parse_published(GOOD.replace('source = "S"', 'source = " "'))
    with pytest.raises(ValueError, match="expected a number"):
        pub.parse_published(GOOD.replace("3.0", '"three"'))
    preset = '\n[[simulator_preset]]\nid = "p"\nreference = "a"\ngamma = 4\ncost_ratio = 0.1\n'
    with pytest.raises(ValueError, match="gamma_basis"):
        pub.parse_published(GOOD + preset)  # unpublished gamma without a stated basis
    based = preset + 'gamma_basis = "Assumed."\ncost_ratio_basis = "Assumed."\n'
    parsed = pub.parse_published(GOOD + based).presets[0]
    assert parsed.expected_accept_length == pytest.approx(3.0)
    with pytest.raises(ValueError, match="accept length"):
        pub.parse_published(GOOD.replace("3.0", "9.0") + based)  # 9 tokens cannot come from gamma 4
    with pytest.raises(ValueError, match="unknown reference"):
        pub.parse_published(GOOD + based.replace('reference = "a"', 'reference = "b"'))


# ------------------------------------------------- citations the accuracy review found wrong (items 7-20)


def test_sources_the_accuracy_review_corrected_name_the_right_place():
    levi = pub.get_reference("leviathan-t5-ende-small")  # #7: c and the expected 3.2x are in Table 4
    assert "Table 2" in levi.source and "Appendix A.3, Table 4" in levi.source
    bench = pub.get_reference("specbench-vicuna7b-a100")  # #8: the numbers are the leaderboard's
    assert "Leaderboard.md" in bench.source and bench.url.endswith("Leaderboard.md")
    assert {"Recycling", "REST"} <= set(bench.metrics["speedup_by_method"]) and "samd_eagle2" in bench.metrics
    docs = pub.get_reference("sglang-docs-llama31-8b-h100")  # #17: Table 4 gives batch size 1
    assert docs.batch_size == 1 and "Table 4" in docs.source
    assert "no batch size" not in docs.note
    cap = pub.get_reference("sglang-running-requests-cap")  # #15: logged, not silent; #34290 is a PR
    assert "warning" in cap.source and "PR #34290" in cap.source and "silent" not in cap.note.lower()
    sps = pub.get_reference("sps-vicuna-68m")  # #20: accept length and speedup of the same temperature
    assert sps.temperature == 0.0 and sps.metrics["accept_length"] == 2.18
    assert sps.metrics["speedup_low"] >= 1.76  # the T=0 range, not 1.5 (a T=1 value)


def test_the_lab_counts_it_says_are_its_own():
    # #9: 0.42B for the EAGLE-3 head is the lab's count from the released layout, not the paper's figure.
    from core.simulation import cost_model

    head = cost_model.load_presets().drafts["eagle3-llama-3.1-8b"]
    assert "counted by this lab" in head.source and "2503.01840" in head.source
    assert "lab's count" in pub.get_reference("model-sizes").note


def test_the_hf_schedule_is_dated_and_matches_the_simulated_controller():
    # accuracy-review #18: start at 5 was transformers' old default; 5.x defaults to 20 tokens, constant.
    from core.simulation.controllers import HFHeuristic

    hf = pub.get_reference("hf-assisted-generation")
    rule = HFHeuristic()
    assert (rule.start, rule.up, rule.down, rule.floor) == (
        hf.metrics["old_start"],
        hf.metrics["heuristic_increase"],
        hf.metrics["heuristic_decrease"],
        hf.metrics["heuristic_floor"],
    )
    assert "used to start at 5" in hf.note and hf.metrics["current_default_tokens"] == 20
    assert "old default" in HFHeuristic.__doc__
