"""core.lessons.adaptive_views: the Adaptive page's tables, from a real (small) simulated stream."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.lessons import adaptive_views as views
from core.simulation import adaptive_stream as stream_mod

SETTINGS = {
    "workload": "shifting",
    "requests": 200,
    "seed": 3,
    "batch": 1,
    "context": 1024,
    "hardware": "h100-sxm",
    "target": "llama-3.1-8b",
    "draft": "eagle3-llama-3.1-8b",
}


@pytest.fixture(scope="module")
def stream():
    return stream_mod.make_stream(
        SETTINGS["workload"], SETTINGS["requests"], SETTINGS["seed"], SETTINGS["draft"]
    )


@pytest.fixture(scope="module")
def result(stream):
    table = stream_mod.step_time_table("h100-sxm", "llama-3.1-8b", "eagle3-llama-3.1-8b", 1, 1024)
    return stream_mod.compare(stream, table, 1, SETTINGS["seed"], n_windows=30)


def test_comparison_table_puts_the_chosen_controllers_first(result):
    summary = result.summary()
    first = ["per-type oracle", result.best_static.controller]
    table = views.comparison_table(summary, first)
    assert list(table.columns) == list(views.COMPARISON_COLUMNS)
    assert list(table.controller[:2]) == first and sorted(table.controller) == sorted(summary.controller)
    row = summary.set_index("controller").loc["per-type oracle"]
    assert table.spec_on_share.iloc[0] == pytest.approx(100 * row.spec_on_share)


def test_timeseries_is_relative_to_the_reference_controller(result):
    best = result.best_static.controller
    series = views.timeseries_frame(result, best)
    mine = series[series.controller == best]
    assert np.allclose(mine.relative_to_best_static, 1.0)
    assert np.allclose(series.tokens_k, series.tokens_end / 1000)


def test_phase_marks_and_acceptance_frame(stream, result):
    marks = views.phase_marks(stream)
    assert list(marks.phase) == [name for name, _ in stream.phase_starts()]
    series = views.timeseries_frame(result, result.best_static.controller)
    adaptive = series[series.controller == "adaptive (EMA, classifier prior)"]
    acc = views.acceptance_frame(adaptive)
    assert set(acc.series) <= set(views.ACCEPTANCE_SERIES.values()) and not acc.alpha.isna().any()
    assert ((acc.alpha >= 0) & (acc.alpha <= 1)).all()


def test_load_sweep_yields_each_batch_and_keeps_what_finished():
    calls = []

    class Run:
        def __init__(self, goodput):
            self.goodput_tok_s, self.spec_on_share, self.mean_gamma = goodput, 0.5, 2.0

    def run(frozen, name):
        settings = dict(frozen)
        calls.append((settings["batch"], settings["requests"], name))
        if settings["batch"] == 64:
            raise ValueError("does not fit")
        return Run(100.0 if name == "base" else 150.0 / settings["batch"])

    kept = []
    with pytest.raises(ValueError, match="does not fit"):
        for _batch, rows in views.load_sweep(SETTINGS, (1, 8, 64), ("a", "b"), "base", run):
            kept.extend(rows)
    assert [(r["batch"], r["controller"]) for r in kept] == [(1, "a"), (1, "b"), (8, "a"), (8, "b")]
    assert kept[0]["speedup_vs_no_spec"] == pytest.approx(1.5) and kept[2][
        "speedup_vs_no_spec"
    ] == pytest.approx(150 / 8 / 100)
    assert (8, 200, "base") in calls and (64, 256, "base") in calls  # at least 4 requests per slot
    pivot = views.sweep_pivot(pd.DataFrame(kept), "a")
    assert list(pivot.columns) == ["batch", "a", "b", "adaptive: speculation on"]
    assert list(pivot.batch) == [1, 8]


def test_prompt_types_table_counts_the_streams_requests(stream):
    table = views.prompt_types_table(stream, SETTINGS["draft"])
    assert table["requests in this stream"].sum() == stream.n_requests
    kind = stream_mod.draft_kind(SETTINGS["draft"])
    data = stream_mod.load_workloads()
    assert list(table["type"]) == [t.name for t in data.types]
    assert list(table[f"simulated mean α ({kind} draft)"]) == [
        t.alpha.get(kind, t.alpha["learned"]) for t in data.types
    ]
