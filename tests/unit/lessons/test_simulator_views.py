"""Chart tables of the Simulator page, checked against the closed forms and naive references."""

import numpy as np
import pytest

from core.lessons.simulator_views import (
    CHUNK_ROUNDS,
    Estimate,
    break_even_line,
    chunk_plan,
    combine_estimates,
    depth_survival,
    estimate_from_histogram,
    gamma_sweep,
    landscape_grid,
    parse_acceptances,
    tokens_histogram,
    tree_layout,
)
from core.simulation import closed_form


def test_chunk_plan_covers_every_round_with_distinct_seeds():
    assert chunk_plan(1000, seed=7) == [(1000, 7)]
    plan = chunk_plan(5 * CHUNK_ROUNDS + 3, seed=7)
    assert sum(size for size, _ in plan) == 5 * CHUNK_ROUNDS + 3
    assert plan[-1][0] == 3
    assert len({seed for _, seed in plan}) == len(plan)
    assert plan == chunk_plan(5 * CHUNK_ROUNDS + 3, seed=7)  # deterministic
    assert plan != chunk_plan(5 * CHUNK_ROUNDS + 3, seed=8)
    with pytest.raises(ValueError):
        chunk_plan(0, seed=1)


def test_combining_chunks_equals_estimating_all_samples_at_once():
    rng = np.random.default_rng(3)
    samples = rng.integers(1, 7, size=10_001).astype(float)
    pieces = np.array_split(samples, [17, 4000, 4001])
    parts = [Estimate(mean=p.mean(), std=p.std(), count=p.size) for p in pieces]
    pooled = combine_estimates(parts)
    assert pooled.count == samples.size
    assert pooled.mean == pytest.approx(samples.mean(), rel=1e-12)
    assert pooled.std == pytest.approx(samples.std(), rel=1e-12)
    assert pooled.stderr == pytest.approx(samples.std() / np.sqrt(samples.size))
    with pytest.raises(ValueError):
        combine_estimates([])


def test_estimate_from_histogram_matches_the_raw_samples():
    counts = np.array([5, 0, 3, 2])
    samples = np.repeat(np.arange(1, 5), counts).astype(float)
    estimate = estimate_from_histogram(counts)
    assert estimate.count == 10
    assert estimate.mean == pytest.approx(samples.mean())
    assert estimate.std == pytest.approx(samples.std())
    with pytest.raises(ValueError):
        estimate_from_histogram([0, 0])
    with pytest.raises(ValueError):
        estimate_from_histogram([1, -1])


def test_estimate_interval_check():
    estimate = Estimate(mean=3.0, std=1.0, count=10_000)  # stderr 0.01
    assert estimate.contains(3.039)
    assert not estimate.contains(3.041)
    assert Estimate(mean=6.0, std=0.0, count=10).contains(6.0)  # alpha = 1: no spread at all


@pytest.mark.parametrize(("alpha", "cost"), [(0.8, 0.05), (0.0, 0.0), (1.0, 0.0), (0.6, 1.0)])
def test_gamma_sweep_follows_the_closed_form(alpha, cost):
    frame = gamma_sweep(alpha, cost, max_gamma=12)
    assert list(frame["gamma"]) == list(range(13))
    for row in frame.itertuples():
        assert row.speedup == pytest.approx(closed_form.walltime_speedup(alpha, row.gamma, cost))
        assert row.tokens_per_pass == pytest.approx(closed_form.expected_tokens_per_pass(alpha, row.gamma))
    best, speedup = closed_form.optimal_gamma(alpha, cost, max_gamma=12)
    assert frame.loc[frame["optimal"], "gamma"].tolist() == [best]
    assert frame["speedup"].max() == pytest.approx(speedup)
    assert frame.loc[0, "speedup"] == pytest.approx(1.0)  # gamma 0 is plain decoding


def test_tokens_histogram_pairs_simulated_and_exact_rows():
    counts = [10, 20, 30, 40]
    frame = tokens_histogram(0.7, 3, counts)
    sim = frame[frame["source"] == "simulated"]
    exact = frame[frame["source"] == "exact"]
    assert list(sim["tokens"]) == [1, 2, 3, 4] == list(exact["tokens"])
    assert sim["probability"].tolist() == pytest.approx([0.1, 0.2, 0.3, 0.4])
    assert exact["probability"].tolist() == pytest.approx(closed_form.tokens_per_pass_pmf(0.7, 3).tolist())
    assert exact["passes"].sum() == pytest.approx(100)
    with pytest.raises(ValueError):
        tokens_histogram(0.7, 3, [1, 2])


def test_landscape_grid_is_the_closed_form_on_every_cell():
    frame = landscape_grid(0.1, alpha_step=0.1, max_gamma=5)
    assert len(frame) == 11 * 5
    assert frame["alpha"].min() == 0.0 and frame["alpha"].max() == 1.0
    assert set(frame["gamma"]) == set(range(1, 6))
    expected = closed_form.walltime_speedup(frame["alpha"].to_numpy(), frame["gamma"].to_numpy(), 0.1)
    assert frame["speedup"].to_numpy() == pytest.approx(expected)
    assert (frame["faster"] == (frame["speedup"] > 1)).all()
    # At alpha 0 every gamma is slower (the drafts cost time and never help) when drafting is not free.
    assert not frame.loc[frame["alpha"] == 0, "faster"].any()


@pytest.mark.parametrize("cost", [0.0, 0.05, 0.3, 1.0])
def test_break_even_line_is_where_speedup_is_one(cost):
    line = break_even_line(cost, max_gamma=10)
    assert len(line) == 10
    for row in line.itertuples():
        assert closed_form.walltime_speedup(row.alpha, row.gamma, cost) == pytest.approx(1.0, abs=1e-9)
        # Slightly more acceptance is faster, slightly less is slower (strictly, when c > 0).
        if cost > 0 and row.alpha < 0.999:
            assert closed_form.walltime_speedup(row.alpha + 1e-3, row.gamma, cost) > 1
        if cost > 0 and row.alpha > 0.001:
            assert closed_form.walltime_speedup(row.alpha - 1e-3, row.gamma, cost) < 1


def test_break_even_rises_with_gamma_for_a_costly_draft():
    alphas = break_even_line(0.2, max_gamma=8)["alpha"].to_numpy()
    assert np.all(np.diff(alphas) > 0)


def test_parse_acceptances():
    assert parse_acceptances("0.79, 0.74,0.72 0.73;0.67") == [0.79, 0.74, 0.72, 0.73, 0.67]
    for bad in ("", "0.7, x", "1.2", "nan", ", ,"):
        with pytest.raises(ValueError):
            parse_acceptances(bad)
    with pytest.raises(ValueError, match="at most"):
        parse_acceptances(",".join(["0.5"] * 20), max_len=16)


def test_depth_survival_against_a_naive_count():
    acceptances = [0.9, 0.5, 0.8]
    counts = np.array([4, 3, 2, 1])  # passes with 0, 1, 2, 3 accepted drafts
    samples = np.repeat(np.arange(4), counts)
    frame = depth_survival(acceptances, counts)
    sim = frame[frame["source"] == "simulated"]["probability"].to_numpy()
    assert sim == pytest.approx([(samples >= k).mean() for k in (1, 2, 3)])
    exact = frame[frame["source"] == "exact"]["probability"].to_numpy()
    assert exact == pytest.approx([0.9, 0.45, 0.36])
    iid = frame[frame["source"] == "i.i.d. at the mean"]["probability"].to_numpy()
    assert iid == pytest.approx([(2.2 / 3) ** k for k in (1, 2, 3)])
    with pytest.raises(ValueError):
        depth_survival(acceptances, [1, 2])


def test_tree_layout_places_every_node_once_with_parents_between_children():
    from core.simulation.tree import TreeSpec, tree_nodes

    spec = TreeSpec(depth=3, topk=2, rank_acceptance=(0.6, 0.3), num_draft_tokens=6)
    nodes = tree_nodes(spec, include_pruned=True)
    table, edges = tree_layout(nodes)
    assert len(table) == len(nodes) + 1 and len(edges) == len(nodes)
    assert table.loc[0, "index"] == -1 and table.loc[0, "depth"] == 0
    assert table["kept"].sum() == spec.verified_tokens  # root + kept nodes
    leaves = table[~table["index"].isin([n.parent for n in nodes])]
    assert sorted(leaves["y"]) == list(range(len(leaves)))  # one row per leaf, no overlap
    by_index = table.set_index("index")
    for node in nodes:
        kids = [n for n in nodes if n.parent == node.index]
        if kids:
            assert by_index.loc[node.index, "y"] == pytest.approx(
                np.mean([by_index.loc[k.index, "y"] for k in kids])
            )
    # Every edge joins a parent at depth d to a child at depth d + 1.
    assert ((edges["depth2"] - edges["depth"]) == 1).all()
    chain, chain_edges = tree_layout(tree_nodes(TreeSpec(depth=4, topk=1, rank_acceptance=(0.8,))))
    assert (chain["y"] == 0).all() and len(chain_edges) == 4


# ------------------------------------------------------------------ tables moved out of the page
def test_draft_accuracy_table_uses_the_given_simulation_and_the_closed_form():
    from core.lessons.simulator_views import draft_accuracy_table

    calls = []

    def exact_tokens(alpha, gamma):  # a "simulation" that returns the exact mean: speedups must then agree
        calls.append((alpha, gamma))
        return float(closed_form.expected_tokens_per_pass(alpha, gamma))

    table = draft_accuracy_table((0.5, 0.95), 5, 0.1, exact_tokens, max_gamma=16)
    assert list(table["alpha"]) == [0.5, 0.95] and set(table["gamma"]) == {5}
    assert table["speedup_simulated"].tolist() == pytest.approx(table["speedup_exact"].tolist())
    assert table["best_speedup_simulated"].tolist() == pytest.approx(table["best_speedup_exact"].tolist())
    best = [closed_form.optimal_gamma(a, 0.1, max_gamma=16)[0] for a in (0.5, 0.95)]
    assert table["best_gamma"].tolist() == best and best[1] > best[0]
    assert calls == [(0.5, 5), (0.5, best[0]), (0.95, 5), (0.95, best[1])]
    # The simulated columns come from the callable, not from the closed form.
    doubled = draft_accuracy_table((0.5,), 5, 0.1, lambda a, g: 2 * exact_tokens(a, g))
    assert doubled["speedup_simulated"].iloc[0] == pytest.approx(2 * doubled["speedup_exact"].iloc[0])


def test_presets_table_and_speedup_ranges_come_from_the_published_presets():
    from core.lessons.simulator_views import presets_table, published_speedup_range
    from core.references import published

    presets = published.simulator_presets()
    table = presets_table(presets)
    assert list(table["setup"]) == [p.label for p in presets]
    for preset, (_, row) in zip(presets, table.iterrows(), strict=True):
        low, high = published_speedup_range(preset)
        for column, value in (("published_speedup_low", low), ("published_speedup_high", high)):
            assert np.isnan(row[column]) if value is None else row[column] == value
        if preset.published_speedup is not None:
            assert low == high == preset.published_speedup
        assert row["exact_speedup"] == pytest.approx(preset.predicted_speedup)


def test_preset_matches_sliders_within_half_a_step():
    from core.lessons.simulator_views import preset_matches_sliders
    from core.references import published

    preset = published.simulator_presets()[0]
    a, g, c = preset.alpha, preset.gamma, preset.cost_ratio
    assert preset_matches_sliders(preset, a + 0.004, g, c, alpha_step=0.01, cost_step=0.01)
    assert not preset_matches_sliders(preset, a + 0.006, g, c, alpha_step=0.01, cost_step=0.01)
    assert not preset_matches_sliders(preset, a, g + 1, c, alpha_step=0.01, cost_step=0.01)
    assert not preset_matches_sliders(preset, a, g, c + 0.02, alpha_step=0.01, cost_step=0.01)


def test_tree_budget_limit_counts_root_first_level_and_deeper_levels():
    from core.lessons.simulator_views import tree_budget_limit

    assert tree_budget_limit(1, 1) == 2  # a chain of one: the root and one draft
    assert tree_budget_limit(5, 1) == 6
    assert tree_budget_limit(2, 3) == 1 + 3 + 9
    assert tree_budget_limit(8, 8) == 64  # capped


def test_chain_vs_tree_table_rows():
    from core.lessons.simulator_views import chain_vs_tree_table
    from core.references import published
    from core.simulation import tree

    compare = tree.chain_vs_tree(tree.TreeSpec(5, 4, (0.78, 0.10, 0.04, 0.02), 16, 0.95))
    reference = published.get_reference("eagle1-vicuna7b-chain-vs-tree")
    table = chain_vs_tree_table(compare, 3.21, reference)
    assert list(table["kind"]) == ["exact", "exact", "exact", "simulated", "published", "published"]
    assert table.loc[table["kind"] == "simulated", "tokens_per_pass"].iloc[0] == 3.21
    assert table["tokens_per_pass"].iloc[2] == compare.tree_tokens_per_pass
    assert table["tokens_per_pass"].iloc[5] == reference.metric("accept_length_tree")
    assert table["verified_tokens"].iloc[4:].isna().all()


def test_batch_sizes_cover_the_ladder_and_the_chosen_batch():
    from core.lessons.simulator_views import BATCH_LADDER, batch_sizes

    assert batch_sizes(1) == tuple(b for b in BATCH_LADDER if b <= 1024)
    assert 100 in batch_sizes(100) and list(batch_sizes(100)) == sorted(batch_sizes(100))
    assert max(batch_sizes(1500)) == 2048 and 1500 in batch_sizes(1500)  # ladder up to 2 x 1500
