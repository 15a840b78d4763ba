"""Adaptive speculation: controllers that tune the speculation length from observed acceptance, compared on
a simulated stream of requests whose types (and so acceptance) change over time.

The workshop notebook's optional challenge, built for real: classify the prompt, adjust gamma from the
acceptance you observe, switch speculation off when it cannot pay, and log and plot acceptance over time.
All computation lives in core/simulation/adaptive_stream.py, core/simulation/controllers.py and
core/simulation/prompt_classifier.py; the page's tables come from core/lessons/adaptive_views.py.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core.lessons import adaptive_views as views
from core.lessons.simulator_settings import SimulatorSettings, to_query_params
from core.simulation import adaptive_stream as stream_mod
from core.simulation import controllers as ctl
from core.simulation import cost_model
from core.simulation.engine_profile import calibrated_profile_for
from core.simulation.prompt_classifier import PROMPT_TYPES, RULES, classify
from pages._common import SIMULATED, csv_download
from pages._components.chart_data import with_arrow_datasets

BATCH_OPTIONS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
CONTEXT_OPTIONS = (128, 256, 512, 1024, 2048, 4096, 8192)
REQUEST_OPTIONS = (200, 500, 1000, 2000, 5000)
SWEEP_BATCHES = (1, 8, 32, 64, 128, 256, 512)
N_WINDOWS = 120
ADAPTIVE = "adaptive (EMA, classifier prior)"
ORACLE = "per-type oracle"
HF = ctl.HFHeuristic().name
BASELINE = ctl.StaticGamma(0).name
CONTROLLER_INDEX = {c.name: i for i, c in enumerate(stream_mod.default_controllers())}
DEFAULTS = {
    "workload": "shifting",
    "requests": 1000,
    "seed": 0,
    "batch": 1,
    "context": 1024,
    "hardware": "h100-sxm",
    "target": "llama-3.1-8b",
    "draft": "eagle3-llama-3.1-8b",
    "cost_model": "calibrated",
}
COST_MODELS = {
    "calibrated": "calibrated where a profile exists (H100: fitted to SGLang measurements, batch 2-64)",
    "ideal": "ideal roofline (best case: peaks, no per-token costs)",
}
SCENARIOS = {
    "low": (
        "Low load: 1 request at a time",
        {"batch": 1, "context": 1024, "hardware": "h100-sxm", "requests": 1000},
    ),
    "high": (
        "High load: 512 requests, short contexts",
        {"batch": 512, "context": 128, "hardware": "h100-sxm", "requests": 5000, "cost_model": "ideal"},
    ),
}
COLORS = {
    ADAPTIVE: "#7c3aed",
    "adaptive (EMA, no classifier)": "#a78bfa",
    ORACLE: "#16a34a",
    HF: "#f59e0b",
    BASELINE: "#111827",
    "best static": "#64748b",
}


def key(name: str) -> str:
    """Session-state key of a setting on this page (prefixed by the page name)."""
    return f"adaptive_{name}"


# ----------------------------------------------------------------------------------------------- cache


@st.cache_resource(show_spinner="Compiling the stream simulator (once per server)...")
def warm_kernels() -> bool:
    stream_mod.warm_up()
    return True


@st.cache_data(max_entries=1, show_spinner=False)
def choices() -> dict[str, dict[str, str]]:
    presets = cost_model.load_presets()
    data = stream_mod.load_workloads()
    return {
        "workload": {k: w.label for k, w in data.workloads.items()},
        "hardware": {k: v.name for k, v in presets.hardware.items()},
        "target": {k: v.name for k, v in presets.targets.items()},
        "draft": {k: v.name for k, v in presets.drafts.items()},
    }


@st.cache_data(max_entries=16, show_spinner=False)
def request_stream(workload: str, requests: int, seed: int, draft: str) -> stream_mod.RequestStream:
    return stream_mod.make_stream(workload, requests, seed, draft)


def model_profile(hardware: str) -> str | None:
    """The engine profile calibrated on this hardware (None: the ideal roofline, a best case)."""
    profile = calibrated_profile_for(hardware)
    return None if profile is None else profile.id


@st.cache_data(max_entries=32, show_spinner=False)
def step_times(hardware: str, target: str, draft: str, batch: int, context: int, cost_model_choice: str):
    """Step times from the calibrated cost model where one exists for this hardware (and is chosen), else
    the ideal roofline."""
    profile = model_profile(hardware) if cost_model_choice == "calibrated" else None
    return stream_mod.step_time_table(hardware, target, draft, batch, context, profile=profile)


@st.cache_data(max_entries=256, show_spinner=False)
def controller_run(settings: tuple, index: int) -> stream_mod.StreamRun:
    """One controller (``default_controllers()[index]``) on the stream the settings describe."""
    s = dict(settings)
    stream = request_stream(s["workload"], s["requests"], s["seed"], s["draft"])
    table = step_times(s["hardware"], s["target"], s["draft"], s["batch"], s["context"], s["cost_model"])
    controller = stream_mod.default_controllers()[index]
    return stream_mod.simulate(stream, controller, table, s["batch"], s["seed"], N_WINDOWS)


@st.cache_data(max_entries=128, show_spinner=False)
def chart_spec(name: str, inputs: tuple, _build) -> dict:
    """Vega-Lite spec of one chart, built once per (name, inputs): building and validating an Altair chart
    costs more than the rest of a rerun. ``inputs`` must determine everything the chart shows; ``_build``
    (not hashed, hence the underscore) makes the chart. Its data is converted to Arrow here, once."""
    return with_arrow_datasets(_build().to_dict())


def run_all(settings: dict, label: str) -> stream_mod.Comparison:
    """Every controller in turn, with a progress bar between controllers (each run is one short chunk)."""
    frozen = tuple(sorted(settings.items()))
    names = [c.name for c in stream_mod.default_controllers()]
    bar = st.progress(0.0, text=f"{label}: starting")
    runs = []
    for i, name in enumerate(names):
        runs.append(controller_run(frozen, i))
        bar.progress((i + 1) / len(names), text=f"{label}: {name} done ({i + 1} of {len(names)})")
    bar.empty()
    return stream_mod.Comparison(tuple(runs))


def pct(x: float) -> str:
    return f"{x - 1:+.1%}"


# ------------------------------------------------------------------------------------------- settings

warm_kernels()
options = choices()
for name, value in DEFAULTS.items():
    st.session_state.setdefault(key(name), value)


def apply_scenario(which: str) -> None:
    for name, value in SCENARIOS[which][1].items():
        st.session_state[key(name)] = value


st.title("Adaptive speculation")
st.markdown(
    "Speculation pays when the draft guesses well and the GPU has time to spare. Both change while a server "
    "runs: a coding request is easy to guess, a poem is not, and at high load there is no spare time. "
    "A **controller** picks the speculation length γ (draft tokens per verify pass) at every decode step. "
    "This page runs several controllers on the *same* simulated stream of requests and compares them. "
    f"Every number here is {SIMULATED}: the lab's stream model with illustrative acceptance rates and the "
    "cost model (calibrated on the EAGLE-3 paper's SGLang measurements for the H100; the ideal roofline, "
    "a best case, for hardware without a calibrated profile), not a measurement."
)

with st.expander("The controllers compared", expanded=False):
    st.markdown(
        """
| controller | what it does | could you deploy it? |
|---|---|---|
| **no speculation (γ=0)** | plain decoding: the baseline every speedup is measured against | yes |
| **static γ=1..8** | the same γ at every step (what a server flag does) | yes |
| **best static in hindsight** | the static γ that turned out fastest on this very stream | no: needs the future |
| **HF heuristic** | Hugging Face's `"heuristic"` schedule: +2 after a fully accepted round, −1 otherwise, never below 1, started at 5 (its old default; current transformers defaults to 20 tokens, `"constant"`) | yes |
| **adaptive (EMA, classifier prior)** | estimates each request's acceptance (moving average, started from a guess for its prompt type), picks the γ with the best expected goodput from the closed form and the cost model at the current load, and turns speculation **off** when no γ is expected to beat plain decoding (probing every 50 steps off) | yes |
| **adaptive (EMA, no classifier)** | the same, but every request starts from one shared guess | yes |
| **per-type oracle** | knows each request's true type and that type's exact acceptance | no: an upper reference |
"""
    )

st.header("1. Choose a stream and a server")
st.caption("Quick starts (they change the settings below and run at once):")
quick = st.columns(len(SCENARIOS))
for column, (which, (label, _)) in zip(quick, SCENARIOS.items(), strict=True):
    column.button(label, key=key(f"scenario_{which}"), on_click=apply_scenario, args=(which,))

with st.form(key("form")):
    left, middle, right = st.columns(3)
    with left:
        st.selectbox(
            "Workload mix",
            list(options["workload"]),
            format_func=options["workload"].get,
            key=key("workload"),
            help="Which prompt types arrive, and whether the mix changes over time (core/data/workloads.toml).",
        )
        st.select_slider("Requests in the stream", REQUEST_OPTIONS, key=key("requests"))
        st.number_input("Seed", min_value=0, max_value=2**32 - 1, step=1, key=key("seed"))
    with middle:
        st.select_slider(
            "Concurrent requests (batch size, the load level)",
            BATCH_OPTIONS,
            key=key("batch"),
            help="How many requests the server decodes together. Each step runs one γ for all of them.",
        )
        st.select_slider(
            "Context per request (tokens)",
            CONTEXT_OPTIONS,
            key=key("context"),
            help="Tokens already in each request's KV cache: long contexts keep the GPU memory-bound.",
        )
    with right:
        st.selectbox(
            "Hardware", list(options["hardware"]), format_func=options["hardware"].get, key=key("hardware")
        )
        st.selectbox(
            "Target model", list(options["target"]), format_func=options["target"].get, key=key("target")
        )
        st.selectbox("Draft", list(options["draft"]), format_func=options["draft"].get, key=key("draft"))
        st.radio("Cost model", list(COST_MODELS), format_func=COST_MODELS.get, key=key("cost_model"))
    st.form_submit_button("Run", type="primary")

settings = {name: st.session_state[key(name)] for name in DEFAULTS}
settings["requests"] = int(settings["requests"])
settings["seed"] = int(settings["seed"])
settings["batch"] = int(settings["batch"])
settings["context"] = int(settings["context"])

fit = cost_model.memory_check(
    settings["hardware"], settings["target"], settings["draft"], settings["batch"], settings["context"]
)
if fit.fits is False:
    st.warning(
        f"{fit.message} The simulation still runs, but it describes a machine that cannot hold this load: "
        "pick bigger hardware, fewer requests or shorter contexts."
    )
if settings["batch"] > settings["requests"] // 4:
    st.warning(
        f"With {settings['batch']} concurrent requests a stream of {settings['requests']} requests is short: "
        "the measurement stops when the queue runs dry, so few requests finish. Choose a longer stream."
    )

try:
    result = run_all(settings, "Simulating")
except ValueError as error:
    st.error(f"Cannot simulate these settings: {error}")
    st.stop()

stream = request_stream(settings["workload"], settings["requests"], settings["seed"], settings["draft"])
summary = result.summary()
by_name = summary.set_index("controller")
best = result.best_static
adaptive = by_name.loc[ADAPTIVE]
oracle = by_name.loc[ORACLE]
hf = by_name.loc[HF]
best_row = by_name.loc[best.controller]

# ------------------------------------------------------------------------------------------- results

st.header("2. Who wins")
st.markdown(
    f"{SIMULATED} {stream.n_requests:,} requests of the “{options['workload'][settings['workload']]}” "
    f"workload, {settings['batch']} at a time, {options['target'][settings['target']]} with "
    f"{options['draft'][settings['draft']]} on {options['hardware'][settings['hardware']]}. Speedups are "
    "goodput (output tokens per second) over no speculation on the same stream."
)
m1, m2, m3, m4 = st.columns(4)
m1.metric(
    "Adaptive speedup",
    f"{adaptive.speedup_vs_no_spec:.2f}x",
    delta=f"{adaptive.goodput_tok_s / best.goodput_tok_s - 1:+.1%} vs best static",
)
m2.metric(f"Best static in hindsight (γ={round(best.mean_gamma)})", f"{best_row.speedup_vs_no_spec:.2f}x")
m3.metric("Per-type oracle", f"{oracle.speedup_vs_no_spec:.2f}x")
m4.metric("HF heuristic", f"{hf.speedup_vs_no_spec:.2f}x")

# The controllers a learner compares first, then every static gamma (the best one ticked).
table = views.comparison_table(summary, first=[ADAPTIVE, "adaptive (EMA, no classifier)", ORACLE, HF])
st.markdown(f"**Comparison table** {SIMULATED}")
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    height=36 * (len(table) + 1) + 4,
    column_config={
        "controller": st.column_config.TextColumn("controller", width="medium"),
        "best_static": st.column_config.CheckboxColumn(
            "best static", help="The static γ with the highest goodput on this very stream (hindsight)."
        ),
        "goodput_tok_s": st.column_config.NumberColumn("goodput (tok/s)", format="%.0f"),
        "speedup_vs_no_spec": st.column_config.NumberColumn(
            "speedup", format="%.3fx", help="vs no speculation"
        ),
        "wasted_drafts": st.column_config.NumberColumn(
            "wasted drafts", format="%d", help="Draft tokens proposed but rejected."
        ),
        "wasted_per_token": st.column_config.NumberColumn(
            "wasted / token", format="%.2f", help="Wasted drafts per output token."
        ),
        "spec_on_share": st.column_config.NumberColumn(
            "spec on", format="%.0f%%", help="Share of decode steps with speculation on."
        ),
        "mean_gamma": st.column_config.NumberColumn("mean γ", format="%.2f"),
        "observed_alpha": st.column_config.NumberColumn(
            "observed α",
            format="%.3f",
            help="Accepted drafts / drafts judged (empty: never speculated).",
        ),
    },
)
csv_download(summary, "adaptive-comparison", key("download_summary"), "Download the comparison (CSV)")

# Plain-words reading of this run.
lines = [
    f"The adaptive controller made **{adaptive.goodput_tok_s:,.0f} tok/s**, "
    f"{pct(adaptive.goodput_tok_s / best.goodput_tok_s)} against the best single γ chosen *after* seeing "
    f"the whole stream ({'no speculation at all' if best.controller == BASELINE else best.controller}), and {adaptive.goodput_tok_s / oracle.goodput_tok_s:.1%} of the "
    "per-type oracle, which knows every request's true type.",
]
if best.controller == BASELINE:
    lines.append(
        "At this load **no static γ beats plain decoding**: every speculative step costs more than the "
        f"tokens it adds. The adaptive controller kept speculation on for only {adaptive.spec_on_share:.0%} "
        f"of steps (its occasional probes) and ran at {adaptive.speedup_vs_no_spec:.2f}x, while a fixed "
        f"γ = 4 ran at {by_name.loc['static γ=4'].speedup_vs_no_spec:.2f}x and the HF heuristic, which "
        f"never looks at cost, at {hf.speedup_vs_no_spec:.2f}x."
    )
elif adaptive.spec_on_share < 0.95:
    lines.append(
        f"The adaptive controller switched speculation off for {1 - adaptive.spec_on_share:.0%} of steps: "
        "there, its estimate said no γ would beat plain decoding."
    )
if settings["batch"] > 1:
    lines.append(
        f"With {settings['batch']} requests per step a round counts as *fully accepted* for the HF rule only "
        "if every request accepted all its drafts, which is rare, so its γ sinks towards 1."
    )
st.info(" ".join(lines), icon=":material/lightbulb:")

# -------------------------------------------------------------------------------------------- charts

st.header("3. Watch it over time")
st.markdown(
    f"{SIMULATED} The stream is cut into {N_WINDOWS} slices of output tokens; each point is one slice. "
    "Vertical lines mark where the workload's phases begin (approximate when many requests run at once)."
)
# Cumulative goodput relative to the best static gamma at the same point of the stream (same window).
series = views.timeseries_frame(result, best.controller)
phase_marks = views.phase_marks(stream)
all_names = list(summary.controller)
default_shown = [BASELINE, best.controller, HF, ADAPTIVE, ORACLE]
shown = st.multiselect(
    "Controllers on the charts",
    all_names,
    default=list(dict.fromkeys(default_shown)),
    key=key("shown"),
)
if not shown:
    st.warning("Pick at least one controller to draw the charts.")
palette = {
    name: COLORS.get(name, COLORS["best static"] if name == best.controller else "#cbd5e1")
    for name in all_names
}
color = alt.Color(
    "controller:N",
    scale=alt.Scale(domain=shown, range=[palette[n] for n in shown]),
    legend=alt.Legend(orient="top", title=None, columns=3, labelLimit=320),
)
x_axis = alt.X("tokens_k:Q", title="output tokens so far (thousands)")


def with_phases(chart: alt.Chart) -> alt.LayerChart | alt.Chart:
    """The chart with a dashed line and a label where each workload phase begins (above the plot)."""
    if len(phase_marks) < 2:
        return chart
    rules = alt.Chart(phase_marks).mark_rule(color="#94a3b8", strokeDash=[4, 3]).encode(x="tokens_k:Q")
    labels = (
        alt.Chart(phase_marks)
        .mark_text(align="left", dx=3, baseline="bottom", color="#475569", fontSize=11)
        .encode(x="tokens_k:Q", y=alt.value(-3), text="phase:N")
    )
    return alt.layer(chart, rules, labels)


chosen = series[series.controller.isin(shown)]
# Every chart below is fully determined by the run's settings and the chosen view: its spec is cached.
frozen_settings = tuple(sorted(settings.items()))
adaptive_series = series[series.controller == ADAPTIVE]

st.subheader("Acceptance: what the adaptive controller observes and believes")
acc_names = views.ACCEPTANCE_SERIES
acc = views.acceptance_frame(adaptive_series)


def acceptance_chart():
    return with_phases(
        alt.Chart(acc)
        .mark_line()
        .encode(
            x=x_axis,
            y=alt.Y("alpha:Q", title="acceptance α", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color(
                "series:N",
                scale=alt.Scale(domain=list(acc_names.values()), range=["#f59e0b", "#7c3aed", "#94a3b8"]),
                legend=alt.Legend(orient="top", title=None, columns=1, labelLimit=480),
            ),
            strokeDash=alt.StrokeDash(
                "series:N",
                scale=alt.Scale(domain=list(acc_names.values()), range=[[1, 0], [1, 0], [5, 3]]),
                legend=None,
            ),
            tooltip=["series", alt.Tooltip("tokens_k:Q", format=".1f"), alt.Tooltip("alpha:Q", format=".3f")],
        )
    )


st.vega_lite_chart(
    spec=chart_spec("acceptance_chart", frozen_settings, acceptance_chart), width="stretch", height=380
)
st.caption(
    "Observed acceptance counts only drafts the verifier judged: after the first rejection the rest of a "
    "round is never checked, so accepted / proposed would understate α. Where speculation is off nothing is "
    "observed and the line has a gap. Acceptance falls with draft depth in this workload, so the observed "
    "value sits a little below the truth, which is the acceptance of the first draft."
)

if shown:
    st.subheader("γ chosen (mean per slice); 0 means speculation off")

    def gamma_chart():
        return with_phases(
            alt.Chart(chosen)
            .mark_line(interpolate="step-after")
            .encode(
                x=x_axis,
                y=alt.Y(
                    "mean_gamma:Q",
                    title="γ (draft tokens per pass)",
                    scale=alt.Scale(domain=[0, ctl.MAX_GAMMA]),
                ),
                color=color,
                tooltip=[
                    "controller",
                    alt.Tooltip("tokens_k:Q", format=".1f"),
                    alt.Tooltip("mean_gamma:Q", format=".2f"),
                ],
            )
        )

    st.vega_lite_chart(
        spec=chart_spec("gamma_chart", (frozen_settings, tuple(shown)), gamma_chart),
        width="stretch",
        height=340,
    )

    st.subheader("Speculation switched on (share of steps in each slice)")

    def speculation_on_chart():
        return with_phases(
            alt.Chart(chosen)
            .mark_line(interpolate="step-after")
            .encode(
                x=x_axis,
                y=alt.Y(
                    "spec_on_share:Q",
                    title="steps with speculation on",
                    axis=alt.Axis(format="%"),
                    scale=alt.Scale(domain=[0, 1]),
                ),
                color=color,
                tooltip=["controller", alt.Tooltip("spec_on_share:Q", format=".0%")],
            )
        )

    st.vega_lite_chart(
        spec=chart_spec("speculation_on_chart", (frozen_settings, tuple(shown)), speculation_on_chart),
        width="stretch",
        height=280,
    )

    st.subheader("Cumulative goodput")
    relative = (
        st.radio(
            "Show",
            ["relative to the best static γ", "output tokens per second"],
            horizontal=True,
            key=key("goodput_view"),
            label_visibility="collapsed",
        )
        == "relative to the best static γ"
    )
    field, title, fmt = (
        ("relative_to_best_static", f"goodput so far / best static ({best.controller})", ".3f")
        if relative
        else ("cumulative_goodput_tok_s", "output tokens per second so far", ",.0f")
    )

    def goodput_chart():
        return with_phases(
            alt.Chart(chosen)
            .mark_line()
            .encode(
                x=x_axis,
                y=alt.Y(f"{field}:Q", title=title, scale=alt.Scale(zero=not relative)),
                color=color,
                tooltip=[
                    "controller",
                    alt.Tooltip("tokens_k:Q", format=".1f"),
                    alt.Tooltip(f"{field}:Q", format=fmt),
                ],
            )
        )

    st.vega_lite_chart(
        spec=chart_spec("goodput_chart", (frozen_settings, tuple(shown), relative), goodput_chart),
        width="stretch",
        height=340,
    )

csv_download(
    series.drop(columns=["tokens_k"]),
    "adaptive-timeseries",
    key("download_series"),
    "Download the time series of every controller (CSV)",
)

# ------------------------------------------------------------------------------------------ lessons

st.header("4. Why it wins, and when it turns speculation off")
st.markdown(
    """
**Mixed workloads.** Each prompt type has its own best γ: structured output and code accept most drafts and
want long speculation, creative writing wants short speculation. A static γ is a compromise: too short for
code, too long for poems. The adaptive controller learns each request's acceptance within a few rounds and
re-picks γ for it. With one request at a time on a mixed or shifting stream that beats every single static
value, even the best one chosen in hindsight, and comes close to the oracle that knows the truth. The gain
is a few per cent, because the speedup curve is flat near its best γ. With many requests per step one γ
must serve a mix of types, so the gain shrinks, and on a well-mixed stream it can vanish: try 32 concurrent
requests on "Mixed" and then on "Shifting".

**High load.** Verifying γ + 1 tokens per request is nearly free only while the GPU waits on memory. With
hundreds of requests per step the verify pass becomes compute-bound: every draft token costs real time, and
speculation makes each step slower than the tokens it adds. A static γ cannot notice; the HF heuristic only
looks at acceptance. The adaptive controller compares expected tokens per second *including the cost model
at the current batch size* and switches speculation off, probing now and then in case things change.

**Which cost model.** The high-load scenario uses the **ideal roofline**, where the compute roof is what
ends speculation. The **calibrated** H100 model was fitted to measurements at batch 2 to 64 (chain of 3):
there, per-request costs that grow with batch dominate, the compute roof is never reached, and a short
chain still pays at batch 512. That is an extrapolation far past the measured range, not a finding: real
engines measured slowdowns at high load (vLLM blog, 2024-10), so measure yours.
"""
)
best_gamma = int(round(best.mean_gamma))
link = SimulatorSettings(
    section="cost",
    alpha=round(float(stream.alpha.mean()), 2),  # the stream's mean acceptance (a simulation input)
    gamma=best_gamma if best_gamma > 0 else 3,
    hardware=settings["hardware"],
    target=settings["target"],
    draft=settings["draft"],
    batch=settings["batch"],
    context=settings["context"],
)
st.page_link(
    "pages/simulator.py",
    label=f"See the cost model behind this: the Simulator's “When it hurts” section at batch "
    f"{settings['batch']}, α = {link.alpha:.2f}, γ = {link.gamma}",
    icon=":material/insights:",
    query_params=to_query_params(
        link, include=("section", "alpha", "gamma", "hardware", "target", "draft", "batch", "context")
    ),
)

st.subheader("Load sweep: speedup as concurrency grows")
st.markdown(
    "Runs a few controllers at several batch sizes on this hardware, model and workload (each batch size "
    f"with a stream of at least 4 requests per slot). {SIMULATED}"
)
if st.button("Run the load sweep", key=key("sweep")):
    bar = st.progress(0.0, text="Load sweep: starting")
    rows = []
    try:
        swept = views.load_sweep(
            settings,
            SWEEP_BATCHES,
            ("static γ=4", HF, ADAPTIVE, ORACLE),
            BASELINE,
            run=lambda frozen, name: controller_run(frozen, CONTROLLER_INDEX[name]),
        )
        for done, (batch, batch_rows) in enumerate(swept, start=1):
            rows.extend(batch_rows)
            bar.progress(done / len(SWEEP_BATCHES), text=f"Load sweep: batch {batch} done")
    except ValueError as error:
        st.error(f"Cannot run the load sweep: {error}")
    bar.empty()
    if rows:
        st.session_state[key("sweep_rows")] = (tuple(sorted(settings.items())), rows)
if key("sweep_rows") in st.session_state and st.session_state[key("sweep_rows")][0] == tuple(
    sorted(settings.items())
):
    sweep = pd.DataFrame(st.session_state[key("sweep_rows")][1])
    names = list(dict.fromkeys(sweep.controller))
    sweep_chart = (
        alt.Chart(sweep)
        .mark_line(point=True)
        .encode(
            strokeDash=alt.StrokeDash(
                "controller:N",
                scale=alt.Scale(domain=names, range=[[6, 3] if n == ORACLE else [1, 0] for n in names]),
                legend=None,
            ),
            x=alt.X("batch:Q", title="concurrent requests (log scale)", scale=alt.Scale(type="log", base=2)),
            y=alt.Y("speedup_vs_no_spec:Q", title="speedup vs no speculation"),
            color=alt.Color(
                "controller:N",
                scale=alt.Scale(domain=names, range=[COLORS.get(n, "#64748b") for n in names]),
                legend=alt.Legend(orient="top", title=None, labelLimit=320),
            ),
            tooltip=[
                "controller",
                "batch",
                alt.Tooltip("speedup_vs_no_spec:Q", format=".3f"),
                alt.Tooltip("spec_on_share:Q", format=".0%", title="speculation on"),
            ],
        )
    )
    one = alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(color="#111827", strokeDash=[4, 3]).encode(y="y:Q")
    st.altair_chart(sweep_chart + one, width="stretch", height=340)
    st.caption(
        "The dashed black line is plain decoding (1x): below it, speculation is slower than not speculating. "
        "The oracle is drawn dashed because the adaptive controller's line often lies right under it."
    )
    pivot = views.sweep_pivot(sweep, ADAPTIVE)
    st.dataframe(
        pivot,
        hide_index=True,
        width="stretch",
        column_config={
            "batch": st.column_config.NumberColumn("concurrent requests", format="%d"),
            **{n: st.column_config.NumberColumn(n, format="%.3fx") for n in names},
            "adaptive: speculation on": st.column_config.ProgressColumn(
                "adaptive: speculation on", format="percent", min_value=0.0, max_value=1.0
            ),
        },
    )
    csv_download(sweep, "adaptive-load-sweep", key("download_sweep"), "Download the load sweep (CSV)")

# ------------------------------------------------------------------------------------------ classifier

st.header("5. The prompt classifier behind the prior")
st.markdown(
    "Before a request has produced a token, the controller can only guess its acceptance. It reads the "
    "prompt with a few keyword rules you can inspect below, and starts from the current estimate for that "
    "type. The guess matters most for short requests; a wrong guess is corrected within a few rounds."
)
prompt = st.text_input(
    "Try a prompt",
    value="Write a Python function that parses a date.",
    key=key("prompt"),
    max_chars=2000,
)
if prompt.strip():
    verdict = classify(prompt)
    why = "; ".join(verdict.reasons) if verdict.reasons else "no rule matched, so the default"
    st.markdown(f"Classified as **{verdict.kind}** ({why}).")
    st.caption("Scores: " + ", ".join(f"{k} {v:g}" for k, v in verdict.scores.items()))
else:
    st.caption("Type a prompt to see which rules fire.")

types_table = views.prompt_types_table(stream, settings["draft"])
st.markdown(
    "**The rules.** A match adds its weight to its type; the highest total wins; ties go to the first of "
    f"{', '.join(PROMPT_TYPES)}; a prompt that matches nothing is chat. The code is in "
    "`core/simulation/prompt_classifier.py`."
)
# Shown as plain text so every regular-expression character appears exactly as the code uses it.
st.code(
    "\n".join(f"{r.kind:<10} +{r.weight:<4g} {r.reason}\n{'':17}{r.pattern}" for r in RULES),
    language=None,
    wrap_lines=True,
)
no_classifier = by_name.loc["adaptive (EMA, no classifier)"]
st.markdown(
    f"{SIMULATED} How much did the prior help in this run? With the classifier: "
    f"{adaptive.goodput_tok_s:,.0f} tok/s; with one shared prior for every request: "
    f"{no_classifier.goodput_tok_s:,.0f} tok/s ({adaptive.goodput_tok_s / no_classifier.goodput_tok_s - 1:+.1%}). "
    "Requests here run for hundreds of tokens, so the per-request average corrects a poor start within a "
    "few rounds; a prior pays most when requests are short or the estimate must be right from the first step."
)
st.markdown(f"**Prompt types** {SIMULATED} simulation inputs: illustrative assumptions, not measurements")
st.dataframe(types_table, hide_index=True, width="stretch")
st.markdown(
    f"{SIMULATED} The classifier put {stream.classifier_accuracy():.0%} of this stream's prompts in their true "
    "type (two of the example prompts are ambiguous on purpose: a Python error question that is really chat, "
    "and a description that is really creative writing)."
)

st.page_link(
    "pages/decision_quiz.py",
    label="Next: decide when to use speculation, and test yourself",
    icon=":material/quiz:",
)
