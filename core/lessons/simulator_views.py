"""Chart-ready tables for the Simulator page: core results turned into tidy ``pandas`` data frames.

Every function here is pure (same inputs, same frame) and cheap, so the page can cache it. Column names
carry units where they have one. Nothing here draws random numbers itself: Monte Carlo results come from
:mod:`core.simulation.montecarlo` and :mod:`core.simulation.tree`, and this module only combines and tabulates them.

Symbols as in :mod:`core.simulation.closed_form`: ``alpha`` acceptance probability, ``gamma`` draft tokens per verify
pass, ``cost_ratio`` draft forward time / target forward time, ``N`` tokens per verify pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.simulation import closed_form

__all__ = [
    "CHUNK_ROUNDS",
    "Estimate",
    "chunk_plan",
    "combine_estimates",
    "estimate_from_histogram",
    "gamma_sweep",
    "tokens_histogram",
    "landscape_grid",
    "break_even_line",
    "parse_acceptances",
    "depth_survival",
    "tree_layout",
    "draft_accuracy_table",
    "published_speedup_range",
    "presets_table",
    "preset_matches_sliders",
    "tree_budget_limit",
    "chain_vs_tree_table",
    "BATCH_LADDER",
    "batch_sizes",
]

# Monte Carlo runs longer than this many rounds are split into chunks of this size. Fixed, so a given
# (rounds, seed) gives the same numbers however the page happens to be run.
CHUNK_ROUNDS = 2_000_000


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo mean with its standard error over ``count`` independent samples (verify passes).

    ``std`` is the sample standard deviation of one sample, so ``stderr = std / sqrt(count)``.
    """

    mean: float
    std: float
    count: int

    @property
    def stderr(self) -> float:
        return self.std / np.sqrt(self.count) if self.count > 0 else float("nan")

    def contains(self, value: float, width: float = 4.0) -> bool:
        """Whether ``value`` lies within ``mean +/- width * stderr`` (a float tolerance added at zero spread)."""
        return abs(value - self.mean) <= width * self.stderr + 1e-12 * max(1.0, abs(value))


def chunk_plan(rounds: int, seed: int, chunk_rounds: int = CHUNK_ROUNDS) -> list[tuple[int, int]]:
    """``(rounds, seed)`` for each chunk of a long run; chunk seeds are derived from ``seed`` and the index.

    A run of at most ``chunk_rounds`` is one chunk with the caller's seed unchanged.
    """
    rounds, seed, chunk_rounds = int(rounds), int(seed), int(chunk_rounds)
    if rounds < 1 or chunk_rounds < 1:
        raise ValueError(f"rounds and chunk size must be positive, got {rounds} and {chunk_rounds}")
    if rounds <= chunk_rounds:
        return [(rounds, seed)]
    full, rest = divmod(rounds, chunk_rounds)
    sizes = [chunk_rounds] * full + ([rest] if rest else [])
    seeds = np.random.SeedSequence([seed, 0x5EED]).generate_state(len(sizes), dtype=np.uint32)
    return [(size, int(s)) for size, s in zip(sizes, seeds, strict=True)]


def combine_estimates(parts: Sequence[Estimate]) -> Estimate:
    """Pool chunk estimates into one, exactly as if all samples had been averaged together."""
    parts = [p for p in parts if p.count > 0]
    if not parts:
        raise ValueError("no samples to combine")
    counts = np.array([p.count for p in parts], dtype=float)
    means = np.array([p.mean for p in parts], dtype=float)
    stds = np.array([p.std for p in parts], dtype=float)
    total = counts.sum()
    mean = float((counts * means).sum() / total)
    # Sum of squared deviations about the pooled mean (population form, consistent with estimate_*).
    squares = float((counts * (stds**2 + (means - mean) ** 2)).sum())
    return Estimate(mean=mean, std=float(np.sqrt(max(squares / total, 0.0))), count=int(total))


def estimate_from_histogram(
    counts: Sequence[int] | np.ndarray, values: Sequence[float] | None = None
) -> Estimate:
    """Mean and spread of a variable from a histogram: ``counts[i]`` samples took ``values[i]``.

    ``values`` defaults to ``1, 2, ...`` (tokens per verify pass when ``counts[i]`` is the number of passes
    that accepted ``i`` drafts).
    """
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 1 or counts.size == 0 or (counts < 0).any():
        raise ValueError("a histogram is a non-empty list of non-negative counts")
    values_arr = np.arange(1, counts.size + 1, dtype=float) if values is None else np.asarray(values, float)
    total = counts.sum()
    if total <= 0:
        raise ValueError("the histogram holds no samples")
    mean = float((counts * values_arr).sum() / total)
    variance = float((counts * (values_arr - mean) ** 2).sum() / total)
    return Estimate(mean=mean, std=float(np.sqrt(max(variance, 0.0))), count=int(total))


def gamma_sweep(alpha: float, cost_ratio: float, max_gamma: int = 16) -> pd.DataFrame:
    """Exact tokens per pass and walltime speedup for gamma = 0 .. max_gamma at one alpha and cost ratio.

    Columns: ``gamma``, ``tokens_per_pass``, ``speedup`` (x plain decoding), ``optimal`` (True on the
    best integer gamma of :func:`core.simulation.closed_form.optimal_gamma`, searched up to ``max_gamma``).
    """
    alpha = closed_form.validate_alpha(alpha)
    cost_ratio = closed_form.validate_cost_ratio(cost_ratio)
    max_gamma = closed_form.validate_gamma(max_gamma)
    gammas = np.arange(max_gamma + 1)
    best, _ = closed_form.optimal_gamma(alpha, cost_ratio, max_gamma=max_gamma)
    return pd.DataFrame(
        {
            "gamma": gammas,
            "tokens_per_pass": np.asarray(closed_form.expected_tokens_per_pass(alpha, gammas)),
            "speedup": np.asarray(closed_form.walltime_speedup(alpha, gammas, cost_ratio)),
            "optimal": gammas == best,
        }
    )


def tokens_histogram(alpha: float, gamma: int, accepted_counts: Sequence[int] | np.ndarray) -> pd.DataFrame:
    """Simulated vs exact distribution of tokens per verify pass, in long form for a grouped bar chart.

    ``accepted_counts[i]`` is how many simulated passes accepted exactly ``i`` drafts (length gamma + 1).
    Rows: one per (``tokens`` = i + 1, ``source`` in {"simulated", "exact"}) with ``probability`` and, for
    simulated rows, the raw ``passes`` count (exact rows carry the expected count for the same total).
    """
    pmf = closed_form.tokens_per_pass_pmf(alpha, gamma)
    counts = np.asarray(accepted_counts, dtype=float)
    if counts.shape != pmf.shape:
        raise ValueError(f"expected {pmf.size} counts (0..gamma accepted drafts), got {counts.size}")
    total = counts.sum()
    if total <= 0:
        raise ValueError("the histogram holds no samples")
    tokens = np.arange(1, gamma + 2)
    simulated = pd.DataFrame(
        {"tokens": tokens, "source": "simulated", "probability": counts / total, "passes": counts}
    )
    exact = pd.DataFrame({"tokens": tokens, "source": "exact", "probability": pmf, "passes": pmf * total})
    return pd.concat([simulated, exact], ignore_index=True)


def landscape_grid(cost_ratio: float, alpha_step: float = 0.02, max_gamma: int = 16) -> pd.DataFrame:
    """Exact speedup over an alpha x gamma grid (alpha 0..1 in ``alpha_step``, gamma 1..max_gamma).

    Columns: ``alpha``, ``gamma``, ``tokens_per_pass``, ``speedup``, ``faster`` (speedup > 1). gamma 0 is
    left out: it is plain decoding, exactly 1x everywhere.
    """
    cost_ratio = closed_form.validate_cost_ratio(cost_ratio)
    max_gamma = closed_form.validate_gamma(max_gamma)
    if not 0.0 < alpha_step <= 0.5:
        raise ValueError(f"alpha step must lie in (0, 0.5], got {alpha_step!r}")
    alphas = np.round(np.linspace(0.0, 1.0, int(round(1.0 / alpha_step)) + 1), 6)
    gammas = np.arange(1, max_gamma + 1)
    alpha_grid, gamma_grid = np.meshgrid(alphas, gammas, indexing="ij")
    speedup = np.asarray(closed_form.walltime_speedup(alpha_grid, gamma_grid, cost_ratio))
    return pd.DataFrame(
        {
            "alpha": alpha_grid.ravel(),
            "gamma": gamma_grid.ravel(),
            "tokens_per_pass": np.asarray(
                closed_form.expected_tokens_per_pass(alpha_grid, gamma_grid)
            ).ravel(),
            "speedup": speedup.ravel(),
            "faster": speedup.ravel() > 1.0,
        }
    )


def break_even_line(cost_ratio: float, max_gamma: int = 16) -> pd.DataFrame:
    """The break-even acceptance rate for each gamma 1..max_gamma: the alpha where speedup is exactly 1.

    Speedup = 1 means E[N] = 1 + gamma * c, solved with :func:`core.simulation.closed_form.alpha_from_accept_length`.
    Speculation is faster above this alpha and slower below it. When ``1 + gamma * c > gamma + 1``
    (c > 1) no alpha breaks even and the row is left out. Columns: ``gamma``, ``alpha``.
    """
    cost_ratio = closed_form.validate_cost_ratio(cost_ratio)
    max_gamma = closed_form.validate_gamma(max_gamma)
    rows = []
    for gamma in range(1, max_gamma + 1):
        needed = 1.0 + gamma * cost_ratio
        if needed <= gamma + 1:
            rows.append((gamma, closed_form.alpha_from_accept_length(needed, gamma)))
    return pd.DataFrame(rows, columns=["gamma", "alpha"])


def parse_acceptances(text: str, max_len: int = 16) -> list[float]:
    """Per-depth acceptance rates a_1..a_g from text such as ``"0.79, 0.74, 0.72"``.

    Raises ``ValueError`` with a message for a learner when an entry is not a number in [0, 1] or there
    are none or more than ``max_len``.
    """
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p.strip()]
    if not parts:
        raise ValueError("enter at least one acceptance rate, e.g. 0.79, 0.74, 0.72")
    if len(parts) > max_len:
        raise ValueError(f"at most {max_len} depths, got {len(parts)}")
    values = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise ValueError(f"'{part.strip()}' is not a number; use decimals like 0.79") from None
        if not 0.0 <= value <= 1.0:  # also rejects NaN
            raise ValueError(f"{part.strip()} is not a probability between 0 and 1")
        values.append(value)
    return values


def depth_survival(acceptances: Sequence[float], accepted_counts: Sequence[int] | np.ndarray) -> pd.DataFrame:
    """Chance that draft k is accepted, k = 1..g, for depth-dependent acceptance a_1..a_g, in long form.

    Rows per depth ``k`` and ``source``: "simulated" (share of simulated passes that accepted at least k
    drafts, from ``accepted_counts[i]`` = passes with exactly i accepted), "exact" (a_1 * ... * a_k) and
    "i.i.d. at the mean" (mean(a)^k, what one average acceptance rate would predict). Column
    ``probability``.
    """
    values = np.asarray(acceptances, dtype=float)
    counts = np.asarray(accepted_counts, dtype=float)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("give at least one acceptance rate")
    if counts.shape != (values.size + 1,) or counts.sum() <= 0:
        raise ValueError(f"expected {values.size + 1} histogram counts (0..g accepted) holding samples")
    depth = np.arange(1, values.size + 1)
    at_least = counts[::-1].cumsum()[::-1][1:] / counts.sum()  # P(accepted >= k), k = 1..g
    frames = [
        pd.DataFrame({"depth": depth, "source": "simulated", "probability": at_least}),
        pd.DataFrame({"depth": depth, "source": "exact", "probability": np.cumprod(values)}),
        pd.DataFrame({"depth": depth, "source": "i.i.d. at the mean", "probability": values.mean() ** depth}),
    ]
    return pd.concat(frames, ignore_index=True)


def tree_layout(nodes: Sequence) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Positions for drawing a draft tree: ``(node_table, edge_table)``.

    ``nodes`` are :class:`core.simulation.tree.TreeNode` objects (parents before children; ``parent`` -1 = the root).
    The root (the last verified token) is added at depth 0. Leaves are stacked top to bottom in
    depth-first order with children by rank, and a parent sits at the mean height of its children.
    Node columns: ``index`` (-1 for the root), ``depth``, ``y``, ``rank``, ``path_probability``, ``kept``.
    Edge columns: ``depth``, ``y``, ``depth2``, ``y2``, ``kept`` (the child's).
    """
    children: dict[int, list] = {}
    for node in nodes:
        children.setdefault(node.parent, []).append(node)
    for siblings in children.values():
        siblings.sort(key=lambda n: n.rank)
    height: dict[int, float] = {}
    next_leaf = 0

    def place(index: int) -> float:  # recursion depth = tree depth (at most 64)
        nonlocal next_leaf
        kids = children.get(index, [])
        if not kids:
            height[index] = float(next_leaf)
            next_leaf += 1
        else:
            height[index] = float(np.mean([place(k.index) for k in kids]))
        return height[index]

    place(-1)
    rows = [{"index": -1, "depth": 0, "y": height[-1], "rank": 0, "path_probability": 1.0, "kept": True}]
    edges = []
    for node in nodes:
        rows.append(
            {
                "index": node.index,
                "depth": node.depth,
                "y": height[node.index],
                "rank": node.rank,
                "path_probability": node.path_probability,
                "kept": bool(node.kept),
            }
        )
        edges.append(
            {
                "depth": node.depth - 1,
                "y": height[node.parent],
                "depth2": node.depth,
                "y2": height[node.index],
                "kept": bool(node.kept),
            }
        )
    return pd.DataFrame(rows), pd.DataFrame(edges, columns=["depth", "y", "depth2", "y2", "kept"])


def draft_accuracy_table(
    accuracies: Sequence[float],
    gamma: int,
    cost_ratio: float,
    simulated_tokens: Callable[[float, int], float],
    max_gamma: int = 16,
) -> pd.DataFrame:
    """Speedup for each draft accuracy (alpha) at ``gamma`` and at that alpha's best gamma, simulated and exact.

    ``simulated_tokens(alpha, gamma)`` returns a Monte Carlo mean of tokens per verify pass (the caller runs
    it, with its own caching and progress). A pass costs ``gamma * cost_ratio + 1`` target forwards.
    One row per alpha: ``alpha``, ``gamma``, ``tokens_per_pass_simulated``, ``tokens_per_pass_exact``,
    ``speedup_simulated``, ``speedup_exact``, ``best_gamma``, ``best_speedup_simulated``,
    ``best_speedup_exact``, ``cost_ratio``.
    """
    rows = []
    for alpha in accuracies:
        mine = simulated_tokens(alpha, gamma)
        best_gamma, best_exact = closed_form.optimal_gamma(alpha, cost_ratio, max_gamma=max_gamma)
        at_best = simulated_tokens(alpha, best_gamma)
        rows.append(
            {
                "alpha": alpha,
                "gamma": gamma,
                "tokens_per_pass_simulated": mine,
                "tokens_per_pass_exact": float(closed_form.expected_tokens_per_pass(alpha, gamma)),
                "speedup_simulated": mine / (gamma * cost_ratio + 1),
                "speedup_exact": float(closed_form.walltime_speedup(alpha, gamma, cost_ratio)),
                "best_gamma": best_gamma,
                "best_speedup_simulated": at_best / (best_gamma * cost_ratio + 1),
                "best_speedup_exact": best_exact,
                "cost_ratio": cost_ratio,
            }
        )
    return pd.DataFrame(rows)


def published_speedup_range(preset) -> tuple[float | None, float | None]:
    """(low, high) of a preset's published speedup: the same number twice when it gives one value."""
    if preset.published_speedup is not None:
        return preset.published_speedup, preset.published_speedup
    return preset.published_speedup_low, preset.published_speedup_high


def presets_table(presets: Sequence) -> pd.DataFrame:
    """One row per published preset (:class:`core.references.published.SimulatorPreset`): its values, the
    published accept length and speedup range, and the closed form's prediction at its alpha, gamma, c."""
    rows = []
    for p in presets:
        low, high = published_speedup_range(p)
        rows.append(
            {
                "setup": p.label,
                "alpha": p.alpha,
                "gamma": p.gamma,
                "cost_ratio": p.cost_ratio,
                "published_accept_length": p.published_accept_length,
                "published_speedup_low": low,
                "published_speedup_high": high,
                "exact_tokens_per_pass": p.expected_accept_length,
                "exact_speedup": p.predicted_speedup,
                "implied_cost_ratio": p.implied_cost_ratio,
                "source": p.source,
            }
        )
    return pd.DataFrame(rows)


def preset_matches_sliders(
    preset, alpha: float, gamma: int, cost_ratio: float, alpha_step: float, cost_step: float
) -> bool:
    """Whether the sliders still show this preset (alpha and c within half a slider step, gamma equal)."""
    return (
        abs(alpha - preset.alpha) <= alpha_step / 2 + 1e-9
        and gamma == preset.gamma
        and abs(cost_ratio - preset.cost_ratio) <= cost_step / 2 + 1e-9
    )


def tree_budget_limit(depth: int, topk: int, cap: int = 64) -> int:
    """The most tokens a tree of ``depth`` steps and ``topk`` children per expanded node can put up for
    verification (the root, topk at depth 1, topk * topk at each later depth), at most ``cap``."""
    return min(cap, 1 + topk + (depth - 1) * topk * topk)


def chain_vs_tree_table(compare, tree_simulated: float, reference) -> pd.DataFrame:
    """Tokens per verify pass of a tree and of chains from the same drafter, beside EAGLE-1's published pair.

    ``compare`` is a :func:`core.simulation.tree.chain_vs_tree` result, ``tree_simulated`` the Monte Carlo
    mean for the tree, ``reference`` the published reference holding ``accept_length_chain`` and
    ``accept_length_tree``. Columns: ``draft``, ``kind`` (exact, simulated, published),
    ``tokens_per_pass``, ``verified_tokens`` (None for the published rows).
    """
    rows = [
        ("chain of the same depth", "exact", compare.chain_tokens_per_pass, compare.chain_verified_tokens),
        (
            "chain with the same verify budget",
            "exact",
            compare.chain_same_budget_tokens_per_pass,
            compare.chain_same_budget_verified_tokens,
        ),
        ("this tree", "exact", compare.tree_tokens_per_pass, compare.tree_verified_tokens),
        ("this tree", "simulated", tree_simulated, compare.tree_verified_tokens),
        ("EAGLE-1 chain, Vicuna-7B", "published", reference.metric("accept_length_chain"), None),
        ("EAGLE-1 tree, Vicuna-7B", "published", reference.metric("accept_length_tree"), None),
    ]
    return pd.DataFrame(rows, columns=["draft", "kind", "tokens_per_pass", "verified_tokens"])


#: Batch sizes the "When it hurts" sweep evaluates (sequences decoded together).
BATCH_LADDER = (
    1,
    2,
    4,
    8,
    12,
    16,
    24,
    32,
    48,
    64,
    96,
    128,
    192,
    256,
    384,
    512,
    768,
    1024,
    1536,
    2048,
    3072,
    4096,
)


def batch_sizes(batch: int, ladder: Sequence[int] = BATCH_LADDER) -> tuple[int, ...]:
    """The ladder up to max(1024, 2 * batch), plus ``batch`` itself, sorted."""
    return tuple(sorted({*[b for b in ladder if b <= max(1024, 2 * batch)], int(batch)}))
