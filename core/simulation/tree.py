"""Tree drafting (SpecInfer, Medusa, EAGLE-2/3): verify several candidate continuations in one pass.

Model (a simplified EAGLE-2 / SGLang drafter):

* The draft runs ``depth`` steps (SGLang's ``--speculative-num-steps``). At step 1 it proposes ``topk``
  children of the root (the last verified token), ranked 0 .. topk-1 by draft confidence. At each later
  step it expands the ``topk`` nodes of the previous step with the highest path probability, each into
  ``topk`` ranked children (SGLang's ``--speculative-eagle-topk``).
* At depth ``d`` the target's token equals the child of rank ``r`` with probability
  ``rank_acceptance[r] * depth_decay ** (d - 1)``. Ranks are disjoint events, so the ``topk`` values must
  sum to at most 1; the rest is the chance that no child matches. Depths are independent.
* ``num_draft_tokens`` (SGLang's ``--speculative-num-draft-tokens``) is the number of tokens the target
  verifies: the root plus the ``num_draft_tokens - 1`` drafted nodes with the highest path probability
  (EAGLE-2's reranking). A node's path probability never exceeds its parent's, so every kept node's
  parent is kept. ``None`` keeps every drafted node.

The target then walks down the kept tree: at each depth it accepts the child its token matches, if that
child was kept, and stops otherwise. Tokens per pass = accepted nodes + 1 (the target's own token), and

    E[tokens per pass] = 1 + sum over kept nodes v of P(path root..v accepted)     (exact)

A chain is ``topk = 1``: then the value equals :func:`core.simulation.montecarlo.depth_expected_tokens` with
acceptances ``rank_acceptance[0] * depth_decay ** i``. :func:`simulate_tree` checks the exact value by
Monte Carlo: it draws the target's token at each depth and walks the tree, which is independent of the
formula above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from core.simulation.montecarlo import (
    _moments,
    _next_u53,
    depth_expected_tokens,
    probability_thresholds,
    seed_state,
    validate_rounds,
    validate_seed,
)

__all__ = [
    "MAX_TREE_DEPTH",
    "MAX_TOPK",
    "TreeSpec",
    "TreeNode",
    "TreeResult",
    "ChainVsTree",
    "tree_nodes",
    "expected_tokens_per_pass",
    "simulate_tree",
    "chain_vs_tree",
    "warm_up",
]

MAX_TREE_DEPTH = 64
MAX_TOPK = 16
_SUM_TOLERANCE = 1e-9


@dataclass(frozen=True)
class TreeSpec:
    """A draft tree: ``depth`` steps, ``topk`` children per expanded node, a verify budget.

    ``rank_acceptance[r]`` (probabilities, the first ``topk`` entries are used, their sum <= 1) is the
    chance that the target's token is the draft's rank-``r`` child at depth 1; at depth ``d`` it is
    multiplied by ``depth_decay ** (d - 1)`` (``depth_decay`` in [0, 1]). ``num_draft_tokens`` counts
    verified tokens (root included), between 1 and 1 + the number of drafted nodes; ``None`` = all.
    Raises ``ValueError`` on invalid values.
    """

    depth: int
    topk: int
    rank_acceptance: tuple[float, ...]
    num_draft_tokens: int | None = None
    depth_decay: float = 1.0

    def __post_init__(self) -> None:
        depth = _whole(self.depth, "depth")
        if not 1 <= depth <= MAX_TREE_DEPTH:
            raise ValueError(
                f"depth (draft steps) must be between 1 and {MAX_TREE_DEPTH}, got {self.depth!r}"
            )
        topk = _whole(self.topk, "topk")
        if not 1 <= topk <= MAX_TOPK:
            raise ValueError(f"topk (children per node) must be between 1 and {MAX_TOPK}, got {self.topk!r}")
        try:
            ranks = tuple(float(a) for a in self.rank_acceptance)
        except (TypeError, ValueError):
            raise ValueError(
                f"rank_acceptance must be a list of probabilities, got {self.rank_acceptance!r}"
            ) from None
        if len(ranks) < topk:
            raise ValueError(f"rank_acceptance needs at least topk = {topk} values, got {len(ranks)}")
        for rank, value in enumerate(ranks):
            if not 0.0 <= value <= 1.0:  # also rejects NaN
                raise ValueError(f"rank_acceptance[{rank}] must be a probability in [0, 1], got {value!r}")
        if sum(ranks[:topk]) > 1.0 + _SUM_TOLERANCE:
            raise ValueError(
                f"the first {topk} rank acceptances sum to {sum(ranks[:topk]):.4g}; they are disjoint "
                "events (the target's token matches at most one child), so the sum must be at most 1"
            )
        decay = float(self.depth_decay)
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"depth_decay must lie between 0 and 1, got {self.depth_decay!r}")
        object.__setattr__(self, "depth", depth)
        object.__setattr__(self, "topk", topk)
        object.__setattr__(self, "rank_acceptance", ranks)
        object.__setattr__(self, "depth_decay", decay)
        if self.num_draft_tokens is not None:
            budget = _whole(self.num_draft_tokens, "num_draft_tokens")
            most = 1 + self.drafted_nodes
            if not 1 <= budget <= most:
                raise ValueError(
                    f"num_draft_tokens must be between 1 and {most} (root + every drafted node for depth "
                    f"{depth}, topk {topk}), got {self.num_draft_tokens!r}"
                )
            object.__setattr__(self, "num_draft_tokens", budget)

    @property
    def drafted_nodes(self) -> int:
        """Nodes the drafter proposes before reranking: topk at step 1, topk * topk at each later step."""
        return self.topk + (self.depth - 1) * self.topk * self.topk

    @property
    def verified_tokens(self) -> int:
        """Tokens the target verifies per pass (root + kept nodes): ``num_draft_tokens`` or all."""
        return self.num_draft_tokens if self.num_draft_tokens is not None else 1 + self.drafted_nodes

    def match_probabilities(self, depth: int) -> np.ndarray:
        """P(target's token = rank-r child) at ``depth`` (1-based), for r in 0..topk-1."""
        return np.asarray(self.rank_acceptance[: self.topk]) * self.depth_decay ** (depth - 1)


def _whole(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    if not math.isfinite(float(value)) or float(value) != int(value):
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class TreeNode:
    """One drafted node. ``parent`` is the index of the parent in the same list, -1 for the root.

    ``rank`` is the node's rank among its siblings (0 = the draft's top choice); ``path_probability`` is
    P(every node from the root down to this one is accepted); ``kept`` says whether the budget keeps it.
    """

    index: int
    parent: int
    depth: int
    rank: int
    path_probability: float
    kept: bool


def _draft_pool(spec: TreeSpec) -> list[tuple[int, int, int, float]]:
    """Every drafted node as (parent, depth, rank, path probability), in generation order."""
    nodes: list[tuple[int, int, int, float]] = []
    frontier = [(-1, 1.0)]  # (node index, path probability); the root
    for depth in range(1, spec.depth + 1):
        match = spec.match_probabilities(depth)
        level = []
        for parent, parent_probability in frontier:
            for rank in range(spec.topk):
                nodes.append((parent, depth, rank, parent_probability * float(match[rank])))
                level.append((len(nodes) - 1, nodes[-1][3]))
        # Expand the topk most probable nodes of this depth next (stable: ties keep generation order).
        frontier = sorted(level, key=lambda item: -item[1])[: spec.topk]
    return nodes


def tree_nodes(spec: TreeSpec, include_pruned: bool = False) -> list[TreeNode]:
    """The kept draft nodes (or every drafted node with ``include_pruned``), parents before children.

    Indices refer to positions in the returned list. Kept nodes are the ``num_draft_tokens - 1`` with
    the highest path probability (ties: shallower first, then generation order).
    """
    pool = _draft_pool(spec)
    order = sorted(range(len(pool)), key=lambda i: (-pool[i][3], pool[i][1], i))
    budget = spec.verified_tokens - 1
    kept: set[int] = set()
    for i in order:
        if len(kept) == budget:
            break
        parent = pool[i][0]
        if parent == -1 or parent in kept:  # always true given the order; kept as a guarantee
            kept.add(i)
    chosen = [i for i in range(len(pool)) if include_pruned or i in kept]
    new_index = {old: new for new, old in enumerate(chosen)}
    return [
        TreeNode(
            index=new_index[i],
            parent=new_index.get(pool[i][0], -1),
            depth=pool[i][1],
            rank=pool[i][2],
            path_probability=pool[i][3],
            kept=i in kept,
        )
        for i in chosen
    ]


def expected_tokens_per_pass(spec: TreeSpec) -> float:
    """Exact expected tokens per verify pass: 1 + sum of path probabilities of the kept nodes."""
    return 1.0 + float(sum(node.path_probability for node in tree_nodes(spec)))


@njit(cache=True, nogil=True)
def _tree_walk_kernel(children, match_thresholds, rounds, state):
    """Histogram of accepted nodes per pass.

    children[v, r]: row index (1-based, row 0 = root) of node v's kept rank-r child, or -1.
    match_thresholds[d, r]: integer thresholds of the cumulative match probabilities at depth d + 1.
    """
    depth = match_thresholds.shape[0]
    topk = match_thresholds.shape[1]
    histogram = np.zeros(depth + 1, np.int64)
    for _ in range(rounds):
        node = 0
        accepted = 0
        for d in range(depth):
            state, bits = _next_u53(state)
            rank = 0
            while rank < topk and bits >= match_thresholds[d, rank]:
                rank += 1
            if rank == topk:  # the target's token is none of the drafted children
                break
            child = children[node, rank]
            if child < 0:  # that child was drafted but not kept under the budget
                break
            node = child
            accepted += 1
        histogram[accepted] += 1
    return histogram, state


@dataclass(frozen=True)
class TreeResult:
    """Monte Carlo of verify passes over a draft tree, next to the exact expectation.

    ``tokens_per_pass`` (tokens per target verify pass, including the target's own token) and its
    standard error; ``accepted_histogram[k]`` counts passes that accepted ``k`` drafted nodes.
    """

    spec: TreeSpec
    rounds: int
    seed: int
    tokens_per_pass: float
    tokens_per_pass_stderr: float
    accepted_histogram: np.ndarray
    tokens_per_pass_exact: float

    def to_dict(self) -> dict:
        """Plain JSON-serialisable dict."""
        return {
            "depth": self.spec.depth,
            "topk": self.spec.topk,
            "rank_acceptance": list(self.spec.rank_acceptance[: self.spec.topk]),
            "num_draft_tokens": self.spec.verified_tokens,
            "depth_decay": self.spec.depth_decay,
            "rounds": self.rounds,
            "seed": self.seed,
            "tokens_per_pass": self.tokens_per_pass,
            "tokens_per_pass_stderr": self.tokens_per_pass_stderr,
            "tokens_per_pass_exact": self.tokens_per_pass_exact,
            "accepted_histogram": [int(c) for c in self.accepted_histogram],
        }


def _children_table(spec: TreeSpec, nodes: list[TreeNode]) -> np.ndarray:
    children = np.full((len(nodes) + 1, spec.topk), -1, dtype=np.int64)
    for node in nodes:
        children[node.parent + 1, node.rank] = node.index + 1
    return children


def simulate_tree(spec: TreeSpec, rounds: int, seed: int = 0) -> TreeResult:
    """Simulate ``rounds`` verify passes over the kept tree of ``spec`` (Numba kernel, nogil).

    Raises ``ValueError`` for rounds outside [1, MAX_ROUNDS] or a bad seed.
    """
    if not isinstance(spec, TreeSpec):
        raise ValueError(f"spec must be a TreeSpec, got {type(spec).__name__}")
    rounds = validate_rounds(rounds)
    seed = validate_seed(seed)
    nodes = tree_nodes(spec)
    children = _children_table(spec, nodes)
    cumulative = np.array([np.cumsum(spec.match_probabilities(d)) for d in range(1, spec.depth + 1)])
    thresholds = probability_thresholds(cumulative).reshape(spec.depth, spec.topk)
    histogram, _ = _tree_walk_kernel(children, thresholds, np.int64(rounds), seed_state(seed))
    histogram.setflags(write=False)
    _, mean, stderr = _moments(histogram)
    return TreeResult(
        spec=spec,
        rounds=rounds,
        seed=seed,
        tokens_per_pass=mean,
        tokens_per_pass_stderr=stderr,
        accepted_histogram=histogram,
        tokens_per_pass_exact=1.0 + float(sum(node.path_probability for node in nodes)),
    )


@dataclass(frozen=True)
class ChainVsTree:
    """Exact tokens per verify pass of a tree and of two chains built from the same drafter.

    ``chain_tokens_per_pass``: a chain of the same depth (the draft's top choice only, topk = 1).
    ``chain_same_budget_tokens_per_pass``: a chain that verifies as many tokens as the tree (its depth is
    the tree's kept node count, capped at 64), the fair comparison for the same verify cost.
    """

    tree_tokens_per_pass: float
    tree_verified_tokens: int
    chain_tokens_per_pass: float
    chain_verified_tokens: int
    chain_same_budget_tokens_per_pass: float
    chain_same_budget_verified_tokens: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _chain_tokens(spec: TreeSpec, depth: int) -> float:
    top = spec.rank_acceptance[0]
    return depth_expected_tokens([top * spec.depth_decay**i for i in range(depth)])


def chain_vs_tree(spec: TreeSpec) -> ChainVsTree:
    """Compare the tree ``spec`` with chains of the same drafter (exact values, no simulation)."""
    if not isinstance(spec, TreeSpec):
        raise ValueError(f"spec must be a TreeSpec, got {type(spec).__name__}")
    budget_depth = min(spec.verified_tokens - 1, MAX_TREE_DEPTH)
    return ChainVsTree(
        tree_tokens_per_pass=expected_tokens_per_pass(spec),
        tree_verified_tokens=spec.verified_tokens,
        chain_tokens_per_pass=_chain_tokens(spec, spec.depth),
        chain_verified_tokens=spec.depth + 1,
        chain_same_budget_tokens_per_pass=_chain_tokens(spec, budget_depth),
        chain_same_budget_verified_tokens=budget_depth + 1,
    )


def warm_up() -> None:
    """Compile (or load from Numba's cache) the tree kernel on a tiny tree."""
    simulate_tree(TreeSpec(depth=2, topk=2, rank_acceptance=(0.5, 0.2)), 10)
