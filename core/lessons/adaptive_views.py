"""Tables for the Adaptive speculation page: the controllers' comparison, their time series, the load
sweep, and the prompt types behind the stream.

Pure functions of :mod:`core.simulation.adaptive_stream` results (the load sweep takes the run function,
so the page keeps its caching and progress bar). Column names are the ones the page's charts and CSV
downloads use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import pandas as pd

from core.simulation import adaptive_stream as stream_mod

#: Columns of the comparison table, in the order shown.
COMPARISON_COLUMNS = (
    "controller",
    "best_static",
    "goodput_tok_s",
    "speedup_vs_no_spec",
    "wasted_drafts",
    "wasted_per_token",
    "spec_on_share",
    "mean_gamma",
    "observed_alpha",
)
#: What each acceptance series of the adaptive controller means (legend labels).
ACCEPTANCE_SERIES = {
    "observed_alpha": "observed (accepted / judged drafts)",
    "estimated_alpha": "estimated (the controller's moving average)",
    "true_alpha": "true mean α of the requests in flight (only the simulator knows)",
}


def comparison_table(summary: pd.DataFrame, first: Sequence[str]) -> pd.DataFrame:
    """The summary with the controllers ``first`` on top, then the rest in their order; ``spec_on_share``
    in per cent (0..100)."""
    order = list(first) + [name for name in summary.controller if name not in first]
    table = summary.set_index("controller").loc[order].reset_index()
    return table.assign(spec_on_share=table.spec_on_share * 100)[list(COMPARISON_COLUMNS)]


def timeseries_frame(result: stream_mod.Comparison, reference_controller: str) -> pd.DataFrame:
    """Every controller's windows with ``tokens_k`` (output tokens so far, thousands) and
    ``relative_to_best_static``: cumulative goodput over the reference controller's in the same window."""
    series = result.timeseries()
    series = series.assign(tokens_k=series.tokens_end / 1000)
    reference = series[series.controller == reference_controller].set_index("window").cumulative_goodput_tok_s
    series["relative_to_best_static"] = series.cumulative_goodput_tok_s / series.window.map(reference)
    return series


def phase_marks(stream: stream_mod.RequestStream) -> pd.DataFrame:
    """Where each workload phase begins, in thousands of output tokens (columns ``phase``, ``tokens_k``)."""
    return pd.DataFrame(
        [{"phase": name, "tokens_k": tokens / 1000} for name, tokens in stream.phase_starts()]
    )


def acceptance_frame(controller_series: pd.DataFrame) -> pd.DataFrame:
    """One controller's observed, estimated and true acceptance in long form (``series`` labelled with
    :data:`ACCEPTANCE_SERIES`, ``alpha``); windows without a value (speculation off) are left out."""
    acc = controller_series.melt(
        id_vars=["tokens_k"], value_vars=list(ACCEPTANCE_SERIES), var_name="series", value_name="alpha"
    ).dropna()
    acc["series"] = acc["series"].map(ACCEPTANCE_SERIES)
    return acc


def load_sweep(
    settings: dict,
    batches: Sequence[int],
    controllers: Sequence[str],
    baseline: str,
    run: Callable[[tuple, str], stream_mod.StreamRun],
) -> Iterator[tuple[int, list[dict]]]:
    """Speedup over ``baseline`` of each controller at each batch size, on streams of at least 4 requests
    per slot: yields ``(batch, rows)`` batch by batch, so a caller keeps what finished if a later batch
    fails. ``run(frozen_settings, controller_name)`` simulates one controller (the caller caches it)."""
    for batch in batches:
        swept = dict(settings, batch=batch, requests=max(settings["requests"], 4 * batch))
        frozen = tuple(sorted(swept.items()))
        base = run(frozen, baseline)
        rows = []
        for name in controllers:
            result = run(frozen, name)
            rows.append(
                {
                    "batch": batch,
                    "controller": name,
                    "speedup_vs_no_spec": result.goodput_tok_s / base.goodput_tok_s,
                    "spec_on_share": result.spec_on_share,
                    "mean_gamma": result.mean_gamma,
                }
            )
        yield batch, rows


def sweep_pivot(sweep: pd.DataFrame, adaptive: str) -> pd.DataFrame:
    """Speedup by batch size (rows) and controller (columns, in the sweep's order), plus the adaptive
    controller's share of steps with speculation on."""
    names = list(dict.fromkeys(sweep.controller))
    pivot = sweep.pivot(index="batch", columns="controller", values="speedup_vs_no_spec")[names]
    pivot["adaptive: speculation on"] = sweep[sweep.controller == adaptive].set_index("batch").spec_on_share
    return pivot.reset_index()


def prompt_types_table(stream: stream_mod.RequestStream, draft: str) -> pd.DataFrame:
    """The workload's prompt types: the controller's prior α, the simulated α for this draft's kind, the
    decay per draft position, mean output tokens, and how many requests of each type this stream has."""
    data = stream_mod.load_workloads()
    kind = stream_mod.draft_kind(draft)
    return pd.DataFrame(
        [
            {
                "type": t.name,
                "controller's prior α": t.prior_alpha,
                f"simulated mean α ({kind} draft)": t.alpha.get(kind, t.alpha["learned"]),
                "decay per draft position": t.depth_decay,
                "mean output tokens": t.mean_tokens,
                "requests in this stream": int((stream.true_type == i).sum()),
            }
            for i, t in enumerate(data.types)
        ]
    )
