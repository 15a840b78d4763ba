"""Section 4 · Beyond i.i.d.: acceptance that decays with depth, and tree drafting.

Keys owned here: ``sim_depth`` (the per-depth acceptances) and ``sim_tree_*`` (depth, topk, budget, decay,
ranks); their defaults are :data:`SESSION_DEFAULTS`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.lessons import simulator_views as views
from core.lessons.simulator_settings import MAX_GAMMA, SimulatorSettings
from core.references import published as published_data
from core.simulation import closed_form, montecarlo, tree
from pages._common import EXACT, SIMULATED, published
from pages._components.simulator.common import SEED, csv_button, fmt_speedup, key, run_chunks, show_chart

EAGLE1_DEPTH = "0.79, 0.74, 0.72, 0.73, 0.67"
TREE_RANKS = "0.78, 0.10, 0.04, 0.02"
TREE_DEFAULTS = {
    "tree_depth": 5,
    "tree_topk": 4,
    "tree_budget": 16,
    "tree_decay": 0.95,
    "tree_ranks": TREE_RANKS,
}
SESSION_DEFAULTS = {"depth": EAGLE1_DEPTH, **TREE_DEFAULTS}


@st.cache_data(max_entries=256, show_spinner=False)
def depth_counts(acceptances: tuple[float, ...], rounds: int, seed: int) -> np.ndarray:
    """Passes that accepted 0..g drafts, from one Monte Carlo chunk with depth-dependent acceptance."""
    return np.asarray(montecarlo.simulate_depth(list(acceptances), rounds, seed=seed).accepted_histogram)


@st.cache_data(max_entries=256, show_spinner=False)
def tree_counts(depth, topk, ranks, budget, decay, rounds: int, seed: int) -> np.ndarray:
    """Passes that accepted 0..depth tree nodes, from one Monte Carlo chunk over the kept tree."""
    spec = tree.TreeSpec(depth, topk, ranks, budget, decay)
    return np.asarray(tree.simulate_tree(spec, rounds, seed=seed).accepted_histogram)


@st.cache_data(max_entries=64, show_spinner=False)
def tree_drawing(depth, topk, ranks, budget, decay) -> tuple[pd.DataFrame, pd.DataFrame]:
    spec = tree.TreeSpec(depth, topk, ranks, budget, decay)
    return views.tree_layout(tree.tree_nodes(spec, include_pruned=True))


def section_beyond(s: SimulatorSettings) -> None:
    st.subheader("Beyond i.i.d.: acceptance that decays with depth, and trees")
    depth_part(s)
    st.divider()
    tree_part(s)


# ---------------------------------------------------------------------------------- depth decay
def depth_part(s: SimulatorSettings) -> None:
    reference = published_data.get_reference("eagle1-depth-acceptance")
    st.markdown(
        "Real drafts get worse the further ahead they guess: draft k is built on k − 1 guesses of its own. "
        "Give an acceptance rate for each depth, **a_k** = the chance that draft k is accepted given that "
        "drafts 1..k − 1 were; the chain length is the number of values. The default is EAGLE-1's measured "
        f"per-depth acceptance on Vicuna-7B {published(reference.source)}."
    )
    text = st.text_input(
        "Acceptance at each depth a_1, a_2, ... (comma separated)",
        key=key("depth"),
        help=reference.note,
        persist_state="session",
    )
    try:
        acceptances = tuple(views.parse_acceptances(text, max_len=MAX_GAMMA))
    except ValueError as error:
        st.error(f"Cannot use these acceptance rates: {error}.")
        return
    plan = views.chunk_plan(s.rounds, SEED)
    parts = run_chunks(plan, lambda n, seed: depth_counts(acceptances, n, seed), "Simulating the chain")
    counts = np.sum(parts, axis=0)
    depth_numbers(acceptances, views.estimate_from_histogram(counts), s.rounds)
    survival = views.depth_survival(acceptances, counts)
    show_chart("depth_survival", survival)
    st.caption(
        "Each pass keeps draft k only if drafts 1..k all survive, so the chance is the running product "
        "a_1···a_k. Tokens per pass = 1 + the sum of these chances."
    )
    csv_button(survival, "depth-acceptance")


def depth_numbers(acceptances: tuple[float, ...], estimate, rounds: int) -> None:
    """Simulated and exact tokens per pass, the i.i.d. value at the mean, and the equivalent single α."""
    exact = montecarlo.depth_expected_tokens(acceptances)
    g = len(acceptances)
    mean_a = float(np.mean(acceptances))
    iid_same_mean = float(closed_form.expected_tokens_per_pass(mean_a, g))
    iid_equivalent = closed_form.alpha_from_accept_length(exact, g)
    a, b, c = st.columns(3, border=True)
    a.markdown(f"{SIMULATED} {rounds:,} passes")
    a.metric("Tokens per pass (simulated)", f"{estimate.mean:.3f}", help=f"SE {estimate.stderr:.4f}")
    b.markdown(f"{EXACT} 1 + Σ_k a_1···a_k")
    b.metric("Tokens per pass (exact)", f"{exact:.3f}")
    c.markdown(f"{EXACT} i.i.d. with α = mean(a) = {mean_a:.3f}")
    c.metric("Tokens per pass, i.i.d. at the mean (exact)", f"{iid_same_mean:.3f}")
    verdict = "inside" if estimate.contains(exact) else "OUTSIDE"
    st.caption(
        f"The exact value lies {verdict} the simulated mean ± 4 standard errors "
        f"[{estimate.mean - 4 * estimate.stderr:.3f}, {estimate.mean + 4 * estimate.stderr:.3f}]. "
        f"One i.i.d. α that gives the same tokens per pass at γ = {g} is α = {iid_equivalent:.3f} {EXACT}: "
        "a single α is a summary of the chain, and it is what you get when you turn a measured accept "
        "length back into α."
    )


# ---------------------------------------------------------------------------------------- trees
def clamp_tree_budget() -> None:
    """Callback: keep the verify budget inside what the new depth and top-k can draft."""
    most = views.tree_budget_limit(st.session_state[key("tree_depth")], st.session_state[key("tree_topk")])
    st.session_state[key("tree_budget")] = min(st.session_state[key("tree_budget")], most)


def tree_part(s: SimulatorSettings) -> None:
    reference = published_data.get_reference("eagle1-vicuna7b-chain-vs-tree")
    st.markdown(
        "**Tree drafting** (SpecInfer, Medusa, EAGLE-2/3): instead of one guess per position the draft "
        "proposes its top-k candidates and expands the most promising branches. The target verifies the "
        "whole tree in one pass and keeps the longest accepted path. A tree catches the cases where the "
        "draft's second or third choice was right, at the price of verifying more tokens per pass."
    )
    spec = tree_inputs()
    if spec is None:
        return
    args = (spec.depth, spec.topk, spec.rank_acceptance, spec.num_draft_tokens, spec.depth_decay)
    plan = views.chunk_plan(s.rounds, SEED)
    parts = run_chunks(plan, lambda n, seed: tree_counts(*args, n, seed), "Simulating the tree")
    estimate = views.estimate_from_histogram(np.sum(parts, axis=0))
    compare = tree.chain_vs_tree(spec)
    table = views.chain_vs_tree_table(compare, estimate.mean, reference)
    tree_metrics(estimate, compare, s, draft_cost=spec.depth * s.cost + 1.0)
    chart_col, tree_col = st.columns([1, 1])
    with chart_col:
        st.markdown(f"**Chain vs tree** {SIMULATED} {EXACT} vs {published('EAGLE-1 paper')}")
        show_chart("chain_vs_tree", table)
    with tree_col:
        st.markdown(f"**The draft tree** {EXACT} (dark: verified, light: drafted but cut by the budget)")
        nodes, edges = tree_drawing(*args)
        show_chart("draft_tree", nodes, edges)
    st.caption(
        f"Published values: {reference.source} (Vicuna-7B). "
        "The default rank chances and decay are ASSUMED (EAGLE-1 publishes neither); they put this model's "
        f"chain near EAGLE-1's published chain ({reference.metric('accept_length_chain'):g}). The tree value "
        f"is then the model's prediction, beside EAGLE-1's published tree "
        f"({reference.metric('accept_length_tree'):g}). With decay 1.0 (no decay) a long chain with the same "
        "verify budget can beat the tree: trees pay off because deep guesses are unreliable."
    )
    csv_button(table, "chain-vs-tree")
    csv_button(nodes, "draft-tree", label="Download the tree nodes (CSV)")


def tree_inputs() -> tree.TreeSpec | None:
    """The tree's sliders and rank chances; None (with the reason shown) when they make no tree."""
    a, b, c = st.columns(3)
    depth = a.slider(
        "Draft steps (tree depth)",
        1,
        8,
        key=key("tree_depth"),
        on_change=clamp_tree_budget,
        persist_state="session",
        help="SGLang: --speculative-num-steps",
    )
    topk = b.slider(
        "Children per expanded node (top-k)",
        1,
        8,
        key=key("tree_topk"),
        on_change=clamp_tree_budget,
        persist_state="session",
        help="SGLang: --speculative-eagle-topk; 1 is a chain.",
    )
    budget = c.slider(
        "Verified tokens per pass (budget)",
        2,
        views.tree_budget_limit(depth, topk),
        key=key("tree_budget"),
        persist_state="session",
        help="SGLang: --speculative-num-draft-tokens: the root plus the most probable drafted nodes.",
    )
    a, b = st.columns([2, 1])
    ranks_text = a.text_input(
        "Chance the target's token is the draft's 1st, 2nd, 3rd, ... choice at depth 1",
        key=key("tree_ranks"),
        persist_state="session",
        help="Disjoint events, so they must sum to at most 1. ASSUMED defaults: EAGLE-1 does not publish them.",
    )
    decay = b.slider(
        "Decay per depth",
        0.5,
        1.0,
        step=0.01,
        key=key("tree_decay"),
        persist_state="session",
        help="Match chances at depth d are multiplied by decay^(d-1).",
    )
    try:
        ranks = views.parse_acceptances(ranks_text, max_len=16)
        if len(ranks) < topk:
            st.caption(
                f"Only {len(ranks)} rank chances given: ranks {len(ranks) + 1}..{topk} are taken as 0."
            )
            ranks = ranks + [0.0] * (topk - len(ranks))
        return tree.TreeSpec(depth, topk, tuple(ranks), budget, decay)
    except ValueError as error:
        st.error(f"Cannot build this tree: {error}.")
        return None


def tree_metrics(estimate, compare, s: SimulatorSettings, draft_cost: float) -> None:
    """Tokens per verify pass of the tree (simulated, exact), of a chain of the same depth, and the speedup."""
    st.markdown("**Tokens per verify pass** for this tree and for a chain from the same drafter")
    m1, m2, m3, m4 = st.columns(4, border=True)
    m1.markdown(SIMULATED)
    m1.metric(
        "Tree (simulated)", f"{estimate.mean:.3f}", help=f"SE {estimate.stderr:.4f}, {s.rounds:,} passes"
    )
    m2.markdown(EXACT)
    m2.metric("Tree (exact)", f"{compare.tree_tokens_per_pass:.3f}")
    m3.markdown(EXACT)
    m3.metric(
        "Chain, same depth (exact)",
        f"{compare.chain_tokens_per_pass:.3f}",
        help="topk = 1: only the draft's top choice at each step.",
    )
    m4.markdown(EXACT)
    m4.metric(
        "Tree speedup (exact)",
        fmt_speedup(compare.tree_tokens_per_pass / draft_cost),
        help=f"At c = {s.cost:.2f}: tokens per pass / (depth·c + 1); each draft step costs c, the verify pass one target step "
        "(batch 1, memory-bound: a few extra verified tokens are nearly free; section 5 shows when not).",
    )
