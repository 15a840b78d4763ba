"""Altair charts of the Simulator page, as Vega-Lite specs (dicts).

Each builder takes chart-ready tables from :mod:`core.lessons.simulator_views` (or the cost model /
published data) plus a few scalars and returns ``chart.to_dict()``. Building and validating an Altair chart costs tens of milliseconds, so the page
caches these dicts with ``st.cache_data`` and a warm rerun only sends them again.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

COLORS = {"simulated": "#7c4dff", "exact": "#2e7d32", "published": "#ef6c00"}
SIM_EXACT = ["simulated", "exact"]


def _one_x_rule() -> alt.Chart:
    return alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(strokeDash=[4, 4], color="gray").encode(y="y:Q")


def tokens_histogram(hist: pd.DataFrame) -> dict:
    """Grouped bars: simulated vs exact share of verify passes for each N (tokens per pass)."""
    chart = (
        alt.Chart(hist)
        .mark_bar()
        .encode(
            x=alt.X("tokens:O", title="tokens produced by one verify pass (N)", axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("source:N", sort=SIM_EXACT),
            y=alt.Y("probability:Q", title="share of passes", axis=alt.Axis(format="%")),
            color=alt.Color(
                "source:N",
                title=None,
                sort=SIM_EXACT,
                scale=alt.Scale(domain=SIM_EXACT, range=[COLORS["simulated"], COLORS["exact"]]),
                legend=alt.Legend(orient="top"),
            ),
            tooltip=[
                alt.Tooltip("tokens:O", title="N"),
                "source:N",
                alt.Tooltip("probability:Q", format=".4f"),
                alt.Tooltip("passes:Q", format=",.0f"),
            ],
        )
        .properties(height=300)
    )
    return chart.to_dict()


def speedup_vs_gamma(sweep: pd.DataFrame, gamma: int, best_gamma: int, simulated: float) -> dict:
    """Exact speedup for each gamma, the optimum marked, and the simulated value at the chosen gamma."""
    base = alt.Chart(sweep).encode(
        x=alt.X(
            "gamma:Q", title="speculation length γ (draft tokens per pass)", axis=alt.Axis(tickMinStep=1)
        ),
        y=alt.Y("speedup:Q", title="speedup over plain decoding (x)"),
    )
    line = base.mark_line(color=COLORS["exact"]) + base.mark_circle(color=COLORS["exact"], size=30).encode(
        tooltip=[
            "gamma:Q",
            alt.Tooltip("speedup:Q", format=".3f"),
            alt.Tooltip("tokens_per_pass:Q", format=".3f"),
        ]
    )
    optimum = sweep[sweep["optimal"]]
    best = (
        alt.Chart(optimum)
        .mark_point(shape="diamond", size=160, filled=True, color=COLORS["exact"])
        .encode(x="gamma:Q", y="speedup:Q")
    )
    best_label = (
        alt.Chart(optimum)
        .mark_text(dy=-14, fontWeight="bold", color=COLORS["exact"])
        .encode(x="gamma:Q", y="speedup:Q", text=alt.value(f"best γ = {best_gamma}"))
    )
    mine = pd.DataFrame({"gamma": [gamma], "speedup": [simulated], "what": ["simulated at your γ"]})
    yours = (
        alt.Chart(mine)
        .mark_point(shape="circle", size=140, strokeWidth=2, color=COLORS["simulated"])
        .encode(x="gamma:Q", y="speedup:Q", tooltip=["what:N", alt.Tooltip("speedup:Q", format=".3f")])
    )
    return (line + _one_x_rule() + best + best_label + yours).properties(height=300).to_dict()


def landscape(grid: pd.DataFrame, line: pd.DataFrame, alpha: float, gamma: int) -> dict:
    """Heatmap of exact speedup over alpha x gamma, the break-even line, the best gamma per alpha, you."""
    best_per_alpha = grid.loc[grid.groupby("alpha")["speedup"].idxmax(), ["alpha", "gamma", "speedup"]]
    best_per_alpha = best_per_alpha[best_per_alpha["speedup"] > 1.0]
    max_gamma = int(grid["gamma"].max())
    layers = [_speedup_cells(grid, max_gamma), _break_even_contour(line), _best_gamma_ridge(best_per_alpha)]
    if 1 <= gamma <= max_gamma:
        layers.append(
            alt.Chart(pd.DataFrame({"gamma": [gamma], "alpha": [alpha]}))
            .mark_point(shape="cross", size=260, color="black", strokeWidth=3)
            .encode(x="gamma:Q", y="alpha:Q")
        )
    return alt.layer(*layers).properties(height=520).to_dict()


def _speedup_cells(grid: pd.DataFrame, max_gamma: int) -> alt.Chart:
    """One rectangle per (alpha, gamma), colored on a log scale centred on 1x."""
    return (
        alt.Chart(grid)
        .transform_calculate(
            g0="datum.gamma - 0.5", g1="datum.gamma + 0.5", a0="datum.alpha - 0.01", a1="datum.alpha + 0.01"
        )
        .mark_rect()
        .encode(
            x=alt.X(
                "g0:Q",
                title="speculation length γ",
                scale=alt.Scale(domain=[0.5, max_gamma + 0.5], nice=False),
            ),
            x2="g1:Q",
            y=alt.Y("a0:Q", title="acceptance rate α", scale=alt.Scale(domain=[-0.01, 1.01], nice=False)),
            y2="a1:Q",
            color=alt.Color(
                "speedup:Q",
                title="speedup (x)",
                scale=alt.Scale(type="log", scheme="redblue", domainMid=1.0),
                legend=alt.Legend(format=".2~f", gradientLength=280),
            ),
            tooltip=[
                alt.Tooltip("alpha:Q", title="α", format=".2f"),
                alt.Tooltip("gamma:Q", title="γ"),
                alt.Tooltip("speedup:Q", format=".3f"),
                alt.Tooltip("tokens_per_pass:Q", title="tokens/pass", format=".3f"),
            ],
        )
    )


def _break_even_contour(line: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(line)
        .mark_line(color="black", strokeWidth=2.5, point=alt.OverlayMarkDef(color="black", size=25))
        .encode(
            x="gamma:Q",
            y="alpha:Q",
            tooltip=["gamma:Q", alt.Tooltip("alpha:Q", title="break-even α", format=".3f")],
        )
    )


def _best_gamma_ridge(best_per_alpha: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(best_per_alpha)
        .mark_line(color="white", strokeWidth=2, strokeDash=[6, 3], interpolate="step-after")
        .encode(
            x="gamma:Q",
            y="alpha:Q",
            order="alpha:Q",
            tooltip=[alt.Tooltip("alpha:Q", format=".2f"), alt.Tooltip("gamma:Q", title="best γ")],
        )
    )


def presets_overview(table: pd.DataFrame) -> dict:
    """Published speedup (point, or a bar for a range) vs the closed form, one row per preset."""
    long = pd.concat(
        [
            table.assign(kind="published (measured)", speedup=table["published_speedup_low"]),
            table.assign(kind="exact (i.i.d. model)", speedup=table["exact_speedup"]),
        ]
    ).dropna(subset=["speedup"])
    y = alt.Y("setup:N", title=None, sort=list(table["setup"]), axis=alt.Axis(labelLimit=320))
    kinds = ["published (measured)", "exact (i.i.d. model)"]
    points = (
        alt.Chart(long)
        .mark_point(filled=True, size=110)
        .encode(
            x=alt.X("speedup:Q", title="speedup over plain decoding (x)", scale=alt.Scale(zero=False)),
            y=y,
            color=alt.Color(
                "kind:N",
                title=None,
                scale=alt.Scale(domain=kinds, range=[COLORS["published"], COLORS["exact"]]),
                legend=alt.Legend(orient="top"),
            ),
            shape=alt.Shape("kind:N", legend=None),
            tooltip=["setup:N", "kind:N", alt.Tooltip("speedup:Q", format=".2f"), "source:N"],
        )
    )
    ranges = (
        alt.Chart(table.dropna(subset=["published_speedup_low"]))
        .mark_rule(color=COLORS["published"], strokeWidth=3)
        .encode(x="published_speedup_low:Q", x2="published_speedup_high:Q", y=y)
    )
    return (ranges + points).properties(height=40 * len(table) + 40).to_dict()


def depth_survival(survival: pd.DataFrame) -> dict:
    """Chance that draft k is accepted: exact and i.i.d.-at-the-mean lines, simulated points."""
    order = ["simulated", "exact", "i.i.d. at the mean"]
    x = alt.X("depth:O", title="draft position k", axis=alt.Axis(labelAngle=0))
    y = alt.Y("probability:Q", title="chance draft k is accepted", scale=alt.Scale(domain=[0, 1]))
    color = alt.Color(
        "source:N",
        title=None,
        sort=order,
        scale=alt.Scale(domain=order, range=[COLORS["simulated"], COLORS["exact"], "#9e9e9e"]),
        legend=alt.Legend(orient="top"),
    )
    tooltip = ["depth:O", "source:N", alt.Tooltip("probability:Q", format=".4f")]
    lines = (
        alt.Chart(survival[survival["source"] != "simulated"])
        .mark_line(point=True)
        .encode(
            x=x,
            y=y,
            color=color,
            strokeDash=alt.StrokeDash("source:N", sort=order, legend=None),
            tooltip=tooltip,
        )
    )
    dots = (
        alt.Chart(survival[survival["source"] == "simulated"])
        .mark_point(size=160, strokeWidth=2.5)
        .encode(x=x, y=y, color=color, tooltip=tooltip)
    )
    return (lines + dots).properties(height=300).to_dict()


def chain_vs_tree(table: pd.DataFrame) -> dict:
    """Horizontal bars: tokens per pass of chains, the tree (simulated and exact) and published EAGLE-1."""
    order = ["simulated", "exact", "published"]
    chart = (
        alt.Chart(table)
        .mark_bar()
        .encode(
            y=alt.Y("draft:N", title=None, sort=None, axis=alt.Axis(labelLimit=260)),
            yOffset=alt.YOffset("kind:N", sort=order),
            x=alt.X("tokens_per_pass:Q", title="tokens per verify pass", scale=alt.Scale(zero=True)),
            color=alt.Color(
                "kind:N",
                title=None,
                sort=order,
                scale=alt.Scale(
                    domain=order, range=[COLORS["simulated"], COLORS["exact"], COLORS["published"]]
                ),
                legend=alt.Legend(orient="top"),
            ),
            tooltip=[
                "draft:N",
                "kind:N",
                alt.Tooltip("tokens_per_pass:Q", format=".3f"),
                "verified_tokens:Q",
            ],
        )
        .properties(height=340)
    )
    return chart.to_dict()


def draft_tree(nodes: pd.DataFrame, edges: pd.DataFrame) -> dict:
    """The draft tree: depth left to right, node size = P(path accepted), cut nodes in light grey."""
    x = alt.X("depth:Q", title="depth (draft step)", axis=alt.Axis(tickMinStep=1))
    y = alt.Y("y:Q", axis=None, scale=alt.Scale(reverse=True))
    lines = (
        alt.Chart(edges)
        .mark_rule()
        .encode(
            x=x,
            y=y,
            x2="depth2:Q",
            y2="y2:Q",
            color=alt.condition("datum.kept", alt.value("#455a64"), alt.value("#e0e0e0")),
        )
    )
    dots = (
        alt.Chart(nodes)
        .mark_circle()
        .encode(
            x=x,
            y=y,
            size=alt.Size("path_probability:Q", title="P(path accepted)", scale=alt.Scale(range=[15, 260])),
            color=alt.condition("datum.kept", alt.value(COLORS["exact"]), alt.value("#e0e0e0")),
            tooltip=[
                "depth:Q",
                alt.Tooltip("rank:Q", title="rank (0 = top choice)"),
                alt.Tooltip("path_probability:Q", title="P(path accepted)", format=".4f"),
                "kept:N",
            ],
        )
    )
    return (lines + dots).properties(height=340).to_dict()


def speedup_vs_batch(frame: pd.DataFrame, points: pd.DataFrame, batch: int, break_even: int | None) -> dict:
    """The cost model's speedup by batch size (hollow where memory does not fit), published points, you."""
    model_label = "this model (simulated)"
    domain = [model_label, *points["method"].unique()]
    palette = [COLORS["simulated"], "#ffa726", COLORS["published"]]
    x = alt.X("batch_size:Q", title="batch size (sequences, log scale)", scale=alt.Scale(type="log", base=2))
    y = alt.Y("speedup:Q", title="speculative / plain throughput (x)")
    color = alt.Color(
        "series:N",
        title=None,
        scale=alt.Scale(domain=domain, range=palette[: len(domain)]),
        legend=alt.Legend(orient="top", columns=3),
    )
    model = frame.assign(series=model_label)
    line = alt.Chart(model).mark_line().encode(x=x, y=y, color=color)
    dots = (
        alt.Chart(model)
        .mark_point(size=45)
        .encode(
            x=x,
            y=y,
            color=color,
            fill=alt.condition("datum.fits_in_memory", alt.value(COLORS["simulated"]), alt.value("white")),
            tooltip=[
                "batch_size:Q",
                alt.Tooltip("speedup:Q", format=".3f"),
                alt.Tooltip("verify_regime:N", title="verify pass"),
                alt.Tooltip("fits_in_memory:N", title="fits in memory"),
            ],
        )
    )
    pub = (
        alt.Chart(points.rename(columns={"method": "series"}))
        .mark_point(shape="square", size=110, filled=True)
        .encode(x=x, y=y, color=color, tooltip=["series:N", "batch_size:Q", "speedup:Q", "source:N"])
    )
    layers = [_one_x_rule(), line, dots, pub]
    if break_even is not None:
        marker = pd.DataFrame({"batch_size": [break_even], "label": [f"slower from batch {break_even}"]})
        layers.append(alt.Chart(marker).mark_rule(color="#c62828", strokeWidth=2).encode(x="batch_size:Q"))
        layers.append(
            alt.Chart(marker)
            .mark_text(align="right", dx=-4, dy=-6, color="#c62828", fontWeight="bold")
            .encode(x="batch_size:Q", y=alt.value(12), text="label:N")
        )
    here = frame[frame["batch_size"] == batch]
    layers.append(
        alt.Chart(here)
        .mark_point(shape="cross", size=220, color="black", strokeWidth=3)
        .encode(
            x="batch_size:Q", y="speedup:Q", tooltip=["batch_size:Q", alt.Tooltip("speedup:Q", format=".3f")]
        )
    )
    return alt.layer(*layers).properties(height=360).to_dict()


def throughput_vs_batch(frame: pd.DataFrame) -> dict:
    """Output tokens per second of plain and speculative decoding by batch size (log-log)."""
    long = pd.concat(
        [
            pd.DataFrame(
                {
                    "batch_size": frame["batch_size"],
                    "mode": "plain decoding",
                    "tok_s": frame["baseline_tok_s"],
                }
            ),
            pd.DataFrame(
                {
                    "batch_size": frame["batch_size"],
                    "mode": "speculative",
                    "tok_s": frame["speculative_tok_s"],
                }
            ),
        ]
    )
    chart = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("batch_size:Q", title="batch size (log scale)", scale=alt.Scale(type="log", base=2)),
            y=alt.Y("tok_s:Q", title="output tokens/s, whole batch (log)", scale=alt.Scale(type="log")),
            color=alt.Color(
                "mode:N",
                title=None,
                scale=alt.Scale(
                    domain=["plain decoding", "speculative"], range=["#616161", COLORS["simulated"]]
                ),
                legend=alt.Legend(orient="top"),
            ),
            tooltip=["mode:N", "batch_size:Q", alt.Tooltip("tok_s:Q", format=",.0f")],
        )
        .properties(height=360)
    )
    return chart.to_dict()


def reproduction(curves: pd.DataFrame, points: pd.DataFrame) -> dict:
    """The calibrated model's speedup curve per method (lines) and the published points (squares)."""
    x = alt.X("batch_size:Q", title="batch size (sequences, log scale)", scale=alt.Scale(type="log", base=2))
    y = alt.Y("speedup:Q", title="speculative / plain throughput (x)")
    color = alt.Color("method:N", title=None, legend=alt.Legend(orient="top"))
    line = alt.Chart(curves).mark_line().encode(x=x, y=y, color=color, strokeDash=alt.value([1, 0]))
    pub = (
        alt.Chart(points)
        .mark_point(shape="square", size=110, filled=True)
        .encode(
            x=x,
            y=alt.Y("published:Q"),
            color=color,
            tooltip=["method:N", "batch_size:Q", "published:Q", alt.Tooltip("model:Q", format=".3f"),
                     alt.Tooltip("error_pct:Q", format="+.1f", title="model error (%)")],
        )
    )  # fmt: skip
    return alt.layer(_one_x_rule(), line, pub).properties(height=300).to_dict()
