"""What every Simulator section shares: session keys, cached Monte Carlo and table calls, chunked runs
with a progress bar, chart and CSV helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.lessons import simulator_views as views
from core.references import published as published_data
from core.simulation import cost_model, montecarlo, tree
from pages._common import csv_download
from pages._components.chart_data import with_arrow_datasets
from pages._components.simulator import charts

SEED = 0


def key(name: str) -> str:
    """Session-state key of a Simulator setting (prefixed by the page name)."""
    return f"sim_{name}"


def set_values(values: dict) -> None:
    """Button callback: store settings before the widgets of the next run render."""
    for name, value in values.items():
        st.session_state[key(name)] = value


# ----------------------------------------------------------------------------------------------- cache
@st.cache_data(max_entries=1, show_spinner=False)
def cost_choices() -> dict[str, dict[str, str]]:
    """The cost model's hardware, target and draft presets: id -> display name."""
    presets = cost_model.load_presets()
    return {
        "hardware": {k: v.name for k, v in presets.hardware.items()},
        "target": {k: v.name for k, v in presets.targets.items()},
        "draft": {k: v.name for k, v in presets.drafts.items()},
    }


@st.cache_data(max_entries=1, show_spinner=False)
def published_presets() -> list:
    return published_data.simulator_presets()


def preset_ids() -> list[str]:
    return [p.id for p in published_presets()]


@st.cache_resource(show_spinner="Compiling the Monte Carlo kernels (once per server)...")
def warm_kernels() -> bool:
    montecarlo.warm_up()
    tree.warm_up()
    return True


@st.cache_data(max_entries=512, show_spinner=False)
def iid_counts(alpha: float, gamma: int, rounds: int, seed: int) -> np.ndarray:
    """Passes that accepted 0..gamma drafts, from one Monte Carlo chunk (i.i.d. acceptance)."""
    result = montecarlo.simulate_iid(alpha, gamma, rounds, seed=seed)
    return np.asarray(result.accepted_histogram, dtype=np.int64)


def run_chunks(plan: list[tuple[int, int]], one_chunk, label: str) -> list:
    """Run ``one_chunk(rounds, seed)`` for each chunk, with a progress bar between chunks (stoppable)."""
    if len(plan) == 1:
        return [one_chunk(*plan[0])]
    total = sum(n for n, _ in plan)
    bar = st.progress(0.0, text=f"{label}: starting {total:,} rounds in {len(plan)} chunks")
    results, done = [], 0
    for rounds, seed in plan:
        results.append(one_chunk(rounds, seed))
        done += rounds
        bar.progress(done / total, text=f"{label}: {done:,} of {total:,} rounds")
    bar.empty()
    return results


def iid_estimate(alpha: float, gamma: int, rounds: int, seed: int = SEED):
    """Tokens-per-pass estimate and the pooled histogram of a (possibly chunked) i.i.d. Monte Carlo run."""
    plan = views.chunk_plan(rounds, seed)
    parts = run_chunks(plan, lambda n, s: iid_counts(alpha, gamma, n, s), "Simulating")
    counts = np.sum(parts, axis=0)
    return views.estimate_from_histogram(counts), counts


# ------------------------------------------------------------------------------------------ display
def csv_button(frame: pd.DataFrame, name: str, label: str = "Download the data (CSV)") -> None:
    csv_download(frame, name, key(f"csv_{name}"), label)


@st.cache_data(max_entries=256, show_spinner=False)
def chart_spec(name: str, *args) -> dict:
    """The Vega-Lite spec built by ``charts.<name>(*args)`` (cached: Altair is slow), its data in Arrow."""
    return with_arrow_datasets(getattr(charts, name)(*args))


def show_chart(name: str, *args) -> None:
    st.vega_lite_chart(spec=chart_spec(name, *args), width="stretch")


def fmt_speedup(value: float) -> str:
    return f"{value:.2f}x"
