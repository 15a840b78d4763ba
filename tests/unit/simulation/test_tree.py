"""Draft trees: exact value by brute force, the Monte Carlo walk, chains, budgets, validation."""

from __future__ import annotations

import itertools
import json
import threading

import numpy as np
import pytest

from core.simulation import closed_form as cf
from core.simulation import montecarlo as mc
from core.simulation import tree
from tests.unit.simulation.test_montecarlo import chi_square_critical, chi_square_goodness

SGLANG_LLAMA = tree.TreeSpec(depth=5, topk=4, rank_acceptance=(0.6, 0.15, 0.08, 0.05), num_draft_tokens=8)


def brute_force_pool(spec: tree.TreeSpec) -> list[tuple[tuple[int, ...], float]]:
    """Every drafted path (ranks from the root) with its path probability, built independently.

    Depth 1 has every rank; each later depth expands the topk most probable paths of the previous depth.
    """

    def probability(path):
        return float(np.prod([spec.rank_acceptance[r] * spec.depth_decay**d for d, r in enumerate(path)]))

    level = [(r,) for r in range(spec.topk)]
    pool = list(level)
    for _ in range(spec.depth - 1):
        parents = sorted(level, key=lambda path: -probability(path))[: spec.topk]
        level = [path + (r,) for path in parents for r in range(spec.topk)]
        pool += level
    return [(path, probability(path)) for path in pool]


def exact_by_enumerating_outcomes(spec: tree.TreeSpec) -> tuple[float, np.ndarray]:
    """E[tokens per pass] and P(k accepted) by enumerating which rank the target's token hits per depth."""
    nodes = tree.tree_nodes(spec)
    kept_paths = set()
    by_index = {n.index: n for n in nodes}
    for node in nodes:
        path, current = [], node
        while True:
            path.append(current.rank)
            if current.parent < 0:
                break
            current = by_index[current.parent]
        kept_paths.add(tuple(reversed(path)))
    distribution = np.zeros(spec.depth + 1)
    outcomes = list(range(spec.topk)) + [None]  # None: the target's token is no drafted child
    for hits in itertools.product(outcomes, repeat=spec.depth):
        weight = 1.0
        for d, hit in enumerate(hits, start=1):
            match = spec.match_probabilities(d)
            weight *= (1.0 - match.sum()) if hit is None else match[hit]
        accepted = 0
        while accepted < spec.depth and hits[accepted] is not None and hits[: accepted + 1] in kept_paths:
            accepted += 1
        distribution[accepted] += weight
    return float(distribution @ np.arange(1, spec.depth + 2)), distribution


SPECS = [
    SGLANG_LLAMA,
    tree.TreeSpec(depth=3, topk=1, rank_acceptance=(0.8,)),
    tree.TreeSpec(depth=4, topk=3, rank_acceptance=(0.5, 0.2, 0.1), depth_decay=0.9),
    tree.TreeSpec(depth=3, topk=2, rank_acceptance=(0.7, 0.3), num_draft_tokens=5),
    tree.TreeSpec(depth=4, topk=2, rank_acceptance=(0.4, 0.1), num_draft_tokens=1),
    tree.TreeSpec(depth=2, topk=3, rank_acceptance=(1.0, 0.0, 0.0)),
]


@pytest.mark.parametrize("spec", SPECS)
def test_exact_value_matches_enumeration_of_outcomes(spec):
    expected, distribution = exact_by_enumerating_outcomes(spec)
    assert distribution.sum() == pytest.approx(1.0)
    assert tree.expected_tokens_per_pass(spec) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("spec", SPECS)
def test_monte_carlo_walk_matches_exact_value_and_distribution(spec):
    result = tree.simulate_tree(spec, 400_000, seed=6)
    exact = tree.expected_tokens_per_pass(spec)
    assert result.tokens_per_pass_exact == pytest.approx(exact)
    assert abs(result.tokens_per_pass - exact) <= 4 * result.tokens_per_pass_stderr + 1e-12
    _, distribution = exact_by_enumerating_outcomes(spec)
    statistic, df = chi_square_goodness(result.accepted_histogram, distribution)
    assert statistic < chi_square_critical(df)


def test_kept_nodes_are_the_most_probable_drafted_nodes():
    spec = SGLANG_LLAMA
    pool = brute_force_pool(spec)
    assert len(pool) == spec.drafted_nodes == 4 + 4 * 16
    assert len(tree.tree_nodes(spec, include_pruned=True)) == len(pool)
    kept = tree.tree_nodes(spec)
    assert len(kept) == spec.num_draft_tokens - 1
    best = sorted((p for _, p in pool), reverse=True)[: len(kept)]
    assert sorted((n.path_probability for n in kept), reverse=True) == pytest.approx(best)
    for node in kept:  # parents come first and are kept
        assert node.parent < node.index
        if node.parent >= 0:
            parent = kept[node.parent]
            assert parent.depth == node.depth - 1
            assert parent.path_probability >= node.path_probability


def test_every_drafted_node_kept_without_a_budget():
    spec = tree.TreeSpec(depth=3, topk=3, rank_acceptance=(0.5, 0.2, 0.1))
    assert spec.verified_tokens == 1 + 3 + 2 * 9
    pool = brute_force_pool(spec)
    assert tree.expected_tokens_per_pass(spec) == pytest.approx(1 + sum(p for _, p in pool))


def test_a_chain_is_the_depth_model_and_the_closed_form():
    chain = tree.TreeSpec(depth=6, topk=1, rank_acceptance=(0.8,))
    assert tree.expected_tokens_per_pass(chain) == pytest.approx(cf.expected_tokens_per_pass(0.8, 6))
    decayed = tree.TreeSpec(depth=5, topk=1, rank_acceptance=(0.9,), depth_decay=0.9)
    acceptances = [0.9 * 0.9**i for i in range(5)]
    assert tree.expected_tokens_per_pass(decayed) == pytest.approx(mc.depth_expected_tokens(acceptances))
    simulated = tree.simulate_tree(decayed, 300_000, seed=1)
    reference = mc.simulate_depth(acceptances, 300_000, seed=2)
    difference = abs(simulated.tokens_per_pass - reference.tokens_per_round)
    assert difference <= 4 * np.hypot(simulated.tokens_per_pass_stderr, reference.tokens_per_round_stderr)


def test_tree_beats_chain_of_same_depth_and_budget_matters():
    comparison = tree.chain_vs_tree(tree.TreeSpec(depth=5, topk=4, rank_acceptance=(0.6, 0.15, 0.08, 0.05)))
    assert comparison.tree_tokens_per_pass > comparison.chain_tokens_per_pass
    assert comparison.chain_verified_tokens == 6
    assert comparison.chain_tokens_per_pass == pytest.approx(cf.expected_tokens_per_pass(0.6, 5))
    json.dumps(comparison.to_dict())
    budgets = [
        tree.expected_tokens_per_pass(
            tree.TreeSpec(depth=5, topk=4, rank_acceptance=(0.6, 0.15, 0.08, 0.05), num_draft_tokens=n)
        )
        for n in (1, 2, 4, 8, 16, 32, 69)
    ]
    assert budgets[0] == 1.0
    assert budgets == sorted(budgets)  # more verified tokens never lower the expectation


def test_decay_lowers_the_expectation():
    flat = tree.TreeSpec(depth=4, topk=2, rank_acceptance=(0.7, 0.2))
    decayed = tree.TreeSpec(depth=4, topk=2, rank_acceptance=(0.7, 0.2), depth_decay=0.8)
    assert tree.expected_tokens_per_pass(decayed) < tree.expected_tokens_per_pass(flat)


def test_same_seed_same_result_from_threads():
    serial = [tree.simulate_tree(SGLANG_LLAMA, 300_000, seed=s).accepted_histogram for s in range(4)]
    results = {}
    barrier = threading.Barrier(4)

    def work(seed):
        barrier.wait()
        results[seed] = tree.simulate_tree(SGLANG_LLAMA, 300_000, seed=seed).accepted_histogram

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for seed in range(4):
        np.testing.assert_array_equal(results[seed], serial[seed])
    assert not np.array_equal(serial[0], serial[1])


def test_result_serialises():
    data = json.loads(json.dumps(tree.simulate_tree(SGLANG_LLAMA, 1000).to_dict()))
    assert data["num_draft_tokens"] == 8 and sum(data["accepted_histogram"]) == 1000


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"depth": 0}, "depth"),
        ({"depth": 2.5}, "depth"),
        ({"topk": 0}, "topk"),
        ({"topk": 17}, "topk"),
        ({"rank_acceptance": (0.6,)}, "at least topk"),
        ({"rank_acceptance": (0.7, 0.5)}, "sum"),
        ({"rank_acceptance": (0.5, -0.1)}, "rank_acceptance"),
        ({"rank_acceptance": (0.5, float("nan"))}, "rank_acceptance"),
        ({"rank_acceptance": "ab"}, "rank_acceptance"),
        ({"num_draft_tokens": 0}, "num_draft_tokens"),
        ({"num_draft_tokens": 1 + 2 + 2 * 4 + 1}, "num_draft_tokens"),
        ({"depth_decay": 1.5}, "depth_decay"),
    ],
)
def test_invalid_specs_raise(kwargs, message):
    arguments = {"depth": 3, "topk": 2, "rank_acceptance": (0.5, 0.2)} | kwargs
    with pytest.raises(ValueError, match=message):
        tree.TreeSpec(**arguments)


def test_simulate_validates_rounds_and_spec():
    with pytest.raises(ValueError, match="rounds"):
        tree.simulate_tree(SGLANG_LLAMA, 0)
    with pytest.raises(ValueError, match="TreeSpec"):
        tree.simulate_tree({"depth": 3}, 10)


def test_warm_up_runs():
    tree.warm_up()
