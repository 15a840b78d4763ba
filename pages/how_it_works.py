"""How it works: the painter story, a step-through of real rejection sampling, a two-lane timeline, and why
the output is unchanged. A lesson read top to bottom; every computation lives in core/."""

from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from core.lessons import how_it_works_views as views
from core.lessons import walkthrough as wt
from core.lessons.simulator_settings import SimulatorSettings, to_query_params
from core.simulation import rejection, timeline
from pages._common import EXACT, SIMULATED, csv_download, published
from pages._components.tiny_step_through import tiny_step_through_section

PICTURE = Path(__file__).resolve().parent.parent / "assets" / "painter.svg"
LEVIATHAN = "Leviathan, Kalman, Matias 2023, arXiv 2211.17192"
SGLANG_DOCS = "https://docs.sglang.io/advanced_features/speculative_decoding.html"
STATE_KEY = "hiw_state"
COLORS = {  # one colour per kind of event, used by the text, the tables and the charts
    "target": "#7c3aed",
    "draft": "#f59e0b",
    "plain": "#64748b",
    "residual": "#2563eb",
}


@st.cache_resource(show_spinner=False)
def _warm_kernels() -> bool:
    """Compile the rejection-sampling kernels once per process (thread-safe: only compiles)."""
    rejection.warm_up()
    return True


@st.cache_data(max_entries=512, show_spinner=False)
def _snapshot(state: dict) -> wt.Snapshot:
    return wt.replay(wt.WalkthroughState(**state))


@st.cache_data(max_entries=64, show_spinner=False)
def _timeline(alpha: float, gamma: int, cost: float, n_tokens: int, seed: int, verify: float):
    return timeline.simulate_timeline(alpha, gamma, cost, n_tokens, seed=seed, verify_cost=verify)


@st.cache_data(max_entries=64, show_spinner=False)
def _identity(temperature: float, skew: float, samples: int, seed: int, greedy: bool) -> wt.IdentityResult:
    return wt.identity_experiment(temperature, skew, samples, seed=seed, greedy=greedy)


@st.cache_data(max_entries=1, show_spinner=False)
def _glossary():
    return wt.load_glossary()


_warm_kernels()


@st.cache_data(max_entries=256, show_spinner=False)
def _grouped_bars_spec(
    records: list[dict],
    order: tuple[str, ...],
    colors: tuple[str, ...],
    y_title: str,
    value_format: str,
    highlight_chosen: bool = False,
) -> dict:
    """Bars per word, one per series (p, q, residual or output), as a Vega-Lite spec.

    Cached: building and validating an Altair chart costs more than the rest of a rerun, and every rerun
    holds the server's GIL.
    """
    encoding = {
        "x": alt.X("token:N", sort=list(wt.VOCAB), title=None, axis=alt.Axis(labelAngle=0)),
        "xOffset": alt.XOffset("series:N", sort=list(order)),
        "y": alt.Y("probability:Q", title=y_title),
        "color": alt.Color(
            "series:N",
            sort=list(order),
            scale=alt.Scale(domain=list(order), range=list(colors)),
            legend=alt.Legend(orient="top", title=None),
        ),
        "tooltip": ["token", "series", alt.Tooltip("probability:Q", format=value_format)],
    }
    if highlight_chosen:
        encoding["opacity"] = alt.condition("datum.chosen", alt.value(1.0), alt.value(0.45))
    return alt.Chart(pd.DataFrame(records)).mark_bar().encode(**encoding).to_dict()


@st.cache_data(max_entries=64, show_spinner=False)
def _timeline_spec(segments: pd.DataFrame) -> dict:
    """The two-lane Gantt chart of plain vs speculative decoding, as a Vega-Lite spec (cached)."""
    domain = ["target step", "draft step", "verify pass"]
    base = alt.Chart(segments).encode(
        y=alt.Y(
            "lane:N",
            sort=[timeline.PLAIN_LANE, timeline.SPECULATIVE_LANE],
            title=None,
            scale=alt.Scale(paddingInner=0.25),
            axis=alt.Axis(labelLimit=220, labelFontSize=13),
        ),
    )
    bars = base.mark_bar(stroke="white").encode(
        # No outline on draft steps: at small c they are thinner than the outline and would vanish.
        strokeWidth=alt.condition("datum.kind == 'draft step'", alt.value(0), alt.value(0.8)),
        x=alt.X("start:Q", title="time (target steps)"),
        x2="end:Q",
        color=alt.Color(
            "kind:N",
            scale=alt.Scale(domain=domain, range=[COLORS["plain"], COLORS["draft"], COLORS["target"]]),
            legend=alt.Legend(orient="top", title=None),
        ),
        tooltip=[
            "lane",
            "kind",
            alt.Tooltip("round:Q", title="round / step"),
            alt.Tooltip("start:Q", format=".2f"),
            alt.Tooltip("end:Q", format=".2f"),
            alt.Tooltip("tokens:Q", title="tokens out"),
        ],
    )
    labels = (
        base.transform_filter("datum.label != ''")
        .transform_calculate(middle="(datum.start + datum.end) / 2")
        .mark_text(color="white", fontSize=10, fontWeight="bold")
        .encode(x="middle:Q", text="label:N")
    )
    return (bars + labels).to_dict()


st.title("How speculative decoding works")
st.markdown(
    "Two minutes for the idea (section 1), ten for the exact algorithm (sections 2 to 4). Every number "
    f"on this page is labelled: {SIMULATED} this page's seeded simulation, {EXACT} a closed form."
)

# --- 1. ELI5 ------------------------------------------------------------------------------------------
st.header("1. The careful painter and the fast assistant")
st.image(str(PICTURE), width="stretch")
story, terms = st.columns([3, 2], gap="large")
with story:
    st.markdown(
        """
A famous painter is slow: every stroke needs a long, careful look. Their assistant is quick but less
skilled. They team up like this:

1. **Guess.** The assistant quickly sketches the next few strokes.
2. **Check, all at once.** The painter looks at all of them in *one* careful look, which takes about as
   long as painting a single stroke.
3. **Keep and fix.** The painter keeps the strokes they agree with, up to the first one they would have
   painted differently. They paint that one properly themselves and throw away the rest, because it was
   built on the mistake.
4. **Repeat** from the new end of the painting.

Every look now adds at least one stroke, and sometimes several. How many is a matter of luck and of how
well the assistant knows the painter: some rounds keep every guess, some keep none. If the assistant is
often wrong, or not that quick, the painter would have finished sooner alone: speculation is a bet, not a
free lunch.
"""
    )
with terms:
    st.markdown(
        """
**In language-model terms**

| Story | Speculative decoding |
|---|---|
| painter | **target** model (the one you want) |
| assistant | **draft** model (small and fast) |
| stroke | token |
| sketching *k* strokes | *k* cheap draft forward passes |
| one careful look | **one** target forward pass over all drafted tokens |
| strokes kept per look | **accept length** (accepted drafts + 1) |

Why is checking several tokens about as cheap as writing one? At small batch sizes a GPU spends a
decoding step mostly *reading the model's weights*; scoring a few more positions in the same pass adds
little. At large batches that stops being true, which is one way speculation ends up slower.
"""
    )

# --- 2. Step-through ----------------------------------------------------------------------------------
st.header("2. Step through it, token by token")
model = wt.toy_model()
st.markdown(
    f"A toy language of {len(wt.VOCAB)} words ("
    + ", ".join(f"`{w}`" for w in wt.VOCAB)
    + ") with two tiny models that look only at the previous word: the **target** p and a **draft** q "
    "that knows the language roughly but gets the proportions wrong (it likes “dog” after “the” more than "
    "the target does). Each click runs the real algorithm, seeded, so the same settings replay the same "
    "story: the draft samples its guesses from q, and the target accepts each with probability "
    "min(1, p/q) using a uniform random number u."
)
with st.expander("See the two models' next-word tables"):
    st.caption("Rows: the previous word. Columns: the next word. Each row sums to 1.")
    for label, table in (
        ("Target p(next | previous)", model.target),
        ("Draft q(next | previous)", model.draft),
    ):
        st.markdown(f"**{label}** {EXACT}")
        st.dataframe(
            pd.DataFrame(table, index=list(wt.VOCAB), columns=list(wt.VOCAB)).style.format("{:.2f}"),
            width="stretch",
        )
    per_word = model.acceptance_by_word()
    st.markdown(
        f"{EXACT} chance that one draft is accepted, sum over words of min(p, q), after each previous word: "
        + ", ".join(f"“{w}” {a:.2f}" for w, a in zip(wt.VOCAB, per_word, strict=True))
        + "."
    )

state = wt.WalkthroughState.from_dict(st.session_state.get(STATE_KEY, {}))
controls = st.columns([2, 1, 1])
gamma_choice = controls[0].slider(
    "Speculation length γ (drafts per round)",
    1,
    wt.MAX_GAMMA,
    value=state.gamma,
    key="hiw_gamma",
)
seed_choice = controls[1].number_input(
    "Seed", min_value=0, max_value=wt.MAX_SEED, value=state.seed, step=1, key="hiw_seed"
)
greedy_choice = controls[2].toggle(
    "Greedy (temperature 0)",
    value=state.greedy,
    key="hiw_greedy",
    help="Greedy: the draft proposes its top word and the target accepts it only if it is the target's top "
    "word too. Off: both sample, and acceptance uses min(1, p/q).",
)
try:
    previous_state = state
    state = wt.with_settings(state, int(seed_choice), int(gamma_choice), bool(greedy_choice))
    if state != previous_state and previous_state.step > 0:
        st.toast("New settings: the step-through starts again from the prompt.", icon=":material/replay:")
except (TypeError, ValueError) as error:
    st.error(f"{error}. The step-through keeps its previous settings.")
st.session_state[STATE_KEY] = state.to_dict()


def _advance(kind: str) -> None:
    current = wt.WalkthroughState.from_dict(st.session_state.get(STATE_KEY, {}))
    moves = {"step": wt.next_step, "round": wt.next_round}
    st.session_state[STATE_KEY] = (wt.reset(current) if kind == "reset" else moves[kind](current)).to_dict()


snap = _snapshot(state.to_dict())
buttons = st.columns([1, 1, 1, 3])
buttons[0].button(
    "Next step",
    key="hiw_next_step",
    on_click=_advance,
    args=("step",),
    disabled=snap.finished,
    icon=":material/skip_next:",
    width="stretch",
)
buttons[1].button(
    "Next round",
    key="hiw_next_round",
    on_click=_advance,
    args=("round",),
    disabled=snap.finished,
    icon=":material/fast_forward:",
    width="stretch",
)
buttons[2].button(
    "Reset", key="hiw_reset", on_click=_advance, args=("reset",), icon=":material/replay:", width="stretch"
)

round_label = "not started" if state.step == 0 else f"round {state.round + 1}"
st.markdown(f"{SIMULATED} counters for this seeded run ({round_label})")
m = st.columns(4)
m[0].metric("Target passes", snap.target_passes, help="Slow, expensive forward passes of the big model.")
m[1].metric("Draft passes", snap.draft_passes, help="Cheap forward passes of the small model.")
m[2].metric(
    "New tokens", snap.tokens, help=f"The run stops once a round reaches {wt.GOAL_TOKENS} new tokens."
)
done_rounds = snap.completed_rounds
m[3].metric(
    "Tokens per target pass",
    f"{sum(r.tokens_out for r in done_rounds) / len(done_rounds):.2f}" if done_rounds else "–",
    help="Mean accept length of the completed rounds. Plain decoding gets exactly 1 token per target pass.",
)

STYLE = {
    "prompt": "**{}**",
    "accepted": ":green-background[{}]",
    "correction": ":blue-background[{}]",
    "bonus": ":violet-background[{}]",
    "drafted": ":orange-background[*{}*]",
    "pending-accepted": ":green-background[*{}*]",
    "rejected": ":red-background[~~{}~~]",
    "discarded": ":gray-background[~~{}~~]",
}
pieces: list[str] = []
last_round = -1
for token, kind, index in snap.text:
    if index != last_round and kind != "prompt":
        pieces.append(":gray[|]")
        last_round = index
    pieces.append(STYLE[kind].format(wt.VOCAB[token]))
if snap.pending:
    pieces.append(":gray[|]" if not snap.round_complete else ":gray[  ]")
    for token, status in snap.pending:
        key = "pending-accepted" if status == "accepted" else status
        pieces.append(STYLE[key].format(wt.VOCAB[token]))
with st.container(border=True):
    st.markdown("#### " + " ".join(pieces))
    st.caption(
        ":orange-background[*drafted*] guessed by the draft, not checked yet · "
        ":green-background[accepted] draft kept · :red-background[~~rejected~~] first draft the target "
        "refused · :gray-background[~~discarded~~] drafted after a rejection · :blue-background[correction] "
        "target's replacement · :violet-background[bonus] target's extra token when all drafts pass · "
        ":gray[|] round boundary"
    )
if snap.finished:
    st.success(
        f"The text reached {snap.tokens} new tokens in {snap.target_passes} target passes, where plain "
        f"decoding needs {snap.tokens}. Change the seed or γ, or press Reset, to run it again."
    )
else:
    st.info(snap.narration, icon=":material/campaign:")

current = snap.current
if current is not None:
    rows = views.draft_rows(snap)
    st.markdown(f"**Round {current.index + 1}, drafted tokens** {SIMULATED} draws, {EXACT} probabilities")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption(
        "Blank cells are not known yet: p appears once the target has run, u and the verdict when that draft "
        "is checked. No u is drawn for drafts after a rejection"
        + (", and none at all in greedy mode." if current.greedy else ".")
    )
    if "finish" in snap.revealed:
        view = views.next_token_view(current)
        chosen, records = view.chosen, view.records
        palette = {"target p": COLORS["target"], "draft q": COLORS["draft"], "residual": COLORS["residual"]}
        st.markdown(f"**{view.title}**")
        spec = _grouped_bars_spec(
            records,
            view.series,
            tuple(palette[s] for s in view.series),
            "probability",
            ".3f",
            highlight_chosen=True,
        )
        st.vega_lite_chart(spec=spec, width="stretch", height=260)
        st.caption(
            f"{EXACT} distributions. The word picked, **“{chosen}”**, is drawn at full colour. "
            + (
                "The residual keeps only the words the draft under-rated (p > q): exactly the probability "
                "the rejections took away, which is why the final text still follows p."
                if current.next_token_source == "residual" and not current.greedy
                else ""
            )
        )
        csv_download(
            pd.DataFrame(records),
            f"round-{current.index + 1}-next-token",
            "hiw_dl_round",
            "Download this chart's data (CSV)",
        )

completed = snap.completed_rounds
if completed:
    with st.expander(f"Every completed round so far ({len(completed)})"):
        history = views.round_history(completed)
        st.dataframe(history, hide_index=True, width="stretch")
        total = int(history["tokens added"].sum())
        st.markdown(
            f"{SIMULATED} Σ (accepted + 1) = {total} tokens from {len(completed)} target passes and "
            f"{sum(r.gamma for r in completed)} draft passes."
        )

tiny_step_through_section()

# --- 3. Timeline --------------------------------------------------------------------------------------
st.header("3. Where the time goes")
st.markdown(
    "The same output, two ways. Time is counted in **target steps** (the time the big model needs for one "
    "forward pass). Plain decoding spends one target step per token. Speculative decoding spends γ draft "
    "steps (each costing c target steps) and one verify pass per round, and gets the accepted drafts plus "
    "one token out of each round. The number accepted per round is drawn at random with acceptance rate α."
)
SCENARIOS = {
    "Good draft: α 0.8, c 0.05, γ 5": (0.8, 5, 0.05, 1.0),
    "Small draft model: α 0.7, c 0.15, γ 4": (0.7, 4, 0.15, 1.0),
    "Weak, costly draft: α 0.3, c 0.5, γ 4 (slower!)": (0.3, 4, 0.5, 1.0),
    "Big batch, verify costs 3 steps: α 0.7, c 0.05, γ 4 (slower!)": (0.7, 4, 0.05, 3.0),
}


def _apply_scenario() -> None:
    name = st.session_state.get("hiw_tl_scenario")
    if name in SCENARIOS:
        alpha, gamma, cost, verify = SCENARIOS[name]
        st.session_state.update(
            hiw_tl_alpha=alpha, hiw_tl_gamma=gamma, hiw_tl_cost=cost, hiw_tl_verify=verify
        )


for key, default in zip(
    ("hiw_tl_alpha", "hiw_tl_gamma", "hiw_tl_cost", "hiw_tl_verify"),
    SCENARIOS[next(iter(SCENARIOS))],
    strict=True,
):
    st.session_state.setdefault(key, default)
st.selectbox(
    "Start from a scenario (then move the sliders)",
    list(SCENARIOS),
    key="hiw_tl_scenario",
    on_change=_apply_scenario,
)
cols = st.columns(3)
alpha = cols[0].slider("Acceptance rate α", 0.0, 1.0, step=0.01, key="hiw_tl_alpha")
tl_gamma = cols[0].slider("Speculation length γ", 0, 12, step=1, key="hiw_tl_gamma")
cost = cols[1].slider(
    "Cost ratio c (draft step / target step)",
    0.0,
    1.0,
    step=0.01,
    key="hiw_tl_cost",
    help="A learned head such as EAGLE-3 is a few percent of the target; a separate 1B draft for an 8B "
    "target is more like 0.15 or more.",
)
verify = cols[1].slider(
    "Verify pass cost (in target steps)",
    1.0,
    4.0,
    step=0.1,
    key="hiw_tl_verify",
    help="1 at batch size 1, where scoring γ + 1 tokens costs about one ordinary step. Higher at large "
    "batch sizes or long contexts, where the extra positions are no longer nearly free.",
)
n_tokens = cols[2].slider("Tokens to generate", 10, 100, value=60, step=5, key="hiw_tl_tokens")
tl_seed = cols[2].number_input("Seed", 0, wt.MAX_SEED, value=0, step=1, key="hiw_tl_seed")

try:
    tl = _timeline(float(alpha), int(tl_gamma), float(cost), int(n_tokens), int(tl_seed), float(verify))
    expected = timeline.expected_speedup(float(alpha), int(tl_gamma), float(cost), float(verify))
except ValueError as error:
    st.error(f"Cannot draw this timeline: {error}")
    tl = None

if tl is not None:
    segments = views.timeline_segments(tl)  # verify passes labelled with their tokens where they fit
    st.vega_lite_chart(spec=_timeline_spec(segments), width="stretch", height=230)
    st.caption(
        "Hover a bar for its round and time. The number on a verify pass (where it fits) is the tokens it "
        "delivers; a plain step always delivers one. One draw scatters around the long-run expectation: change the seed "
        "to see another."
    )
    csv_download(pd.DataFrame(tl.records()), "timeline", "hiw_dl_timeline", "Download the timeline (CSV)")
    st.markdown(f"{SIMULATED} this draw of {tl.rounds} rounds · {EXACT} long-run expectation")
    t = st.columns(4)
    t[0].metric("Plain decoding time", f"{tl.plain_time:.1f} steps", help=f"{n_tokens} target steps")
    t[1].metric(
        "Speculative time",
        f"{tl.speculative_time:.1f} steps",
        help=f"{tl.draft_time:.2f} in {tl.draft_steps} draft steps + {tl.verify_time:.1f} in {tl.rounds} verify passes",
    )
    t[2].metric(
        "Speedup (simulated)",
        f"{tl.speedup:.2f}x",
        delta=f"{tl.speedup - 1:+.2f}x vs plain",  # red and pointing down when speculation is slower
        delta_color="normal",
    )
    t[3].metric(
        "Expected speedup (exact)",
        f"{expected:.2f}x",
        help="E[tokens per round] / (γ·c + verify cost): the long-run average this draw scatters around.",
    )
    share = tl.draft_time / tl.speculative_time if tl.speculative_time else 0.0
    overshoot = (
        f" The last round produced {tl.overshoot} token(s) beyond the {n_tokens} asked for; a server stops at "
        "its limit and drops them."
        if tl.overshoot
        else ""
    )
    round_cost = int(tl_gamma) * float(cost) + float(verify)
    per_round = (
        f"each round delivered {tl.tokens_per_pass:.2f} tokens on average and costs {round_cost:.2f} target "
        "steps, where plain decoding gets 1 token per step"
    )
    if tl.speedup > 1:
        verdict = f"Speculation **wins** here: {per_round}."
    elif tl.speedup < 1:
        verdict = (
            f"Speculation **loses** here: {per_round}. This is how speculative decoding ends up slower "
            "than plain decoding."
        )
    else:
        verdict = f"A tie: {per_round}."
    st.markdown(
        f"{verdict} Draft steps take {share:.0%} of the speculative lane, verify passes the rest." + overshoot
    )

# --- 4. Output identity -------------------------------------------------------------------------------
st.header("4. Why the output is exactly the target's")
st.markdown(
    "A bad draft can only cost speed, never quality. Take one position of the toy language (the word "
    "after “the”), make the draft as wrong as you like, and run speculative sampling many times. Then "
    "compare what came out with p and with q."
)
e = st.columns(4)
temperature = e[0].slider(
    "Draft temperature",
    0.2,
    3.0,
    value=1.5,
    step=0.1,
    key="hiw_id_temperature",
    help="Above 1 the draft is flatter (less sure) than the target, below 1 sharper (overconfident).",
)
skew = e[1].slider(
    "Draft skew",
    0.0,
    1.0,
    value=0.5,
    step=0.05,
    key="hiw_id_skew",
    help="Share of each word's probability the draft moves to the next word in the vocabulary list: a "
    "draft that confuses neighbouring candidates.",
)
samples = e[2].select_slider(
    "Samples", options=[1_000, 10_000, 100_000, 1_000_000], value=100_000, key="hiw_id_samples"
)
id_seed = e[3].number_input("Seed", 0, wt.MAX_SEED, value=7, step=1, key="hiw_id_seed")
id_greedy = e[3].toggle("Greedy", value=False, key="hiw_id_greedy")

try:
    ident = _identity(float(temperature), float(skew), int(samples), int(id_seed), bool(id_greedy))
except ValueError as error:
    st.error(f"Cannot run this experiment: {error}")
    ident = None

if ident is not None:
    noise = wt.tv_noise_bound(len(wt.VOCAB), ident.samples)
    st.markdown(f"{SIMULATED} {ident.samples:,} seeded runs · {EXACT} closed form")
    r = st.columns(4)
    r[0].metric(
        "Acceptance rate (simulated)",
        f"{ident.empirical_acceptance:.3f}",
        help=f"Standard error ± {ident.acceptance_stderr:.4f} at this sample size.",
    )
    r[1].metric(
        "Σ min(p, q) (exact)",
        f"{ident.expected_acceptance:.3f}",
        help="The chance one draft is accepted: 1 − TV(p, q).",
    )
    r[2].metric(
        "TV(output, p) (simulated)",
        f"{ident.tv_to_p:.3f}",
        help=f"0 = identical. Sampling noise alone gives about {noise:.3f} or less at this sample size.",
    )
    r[3].metric(
        "TV(output, q) (simulated)", f"{ident.tv_to_q:.3f}", help=f"TV(p, q) = {ident.tv_p_q:.3f} (exact)"
    )
    if ident.greedy:
        st.caption(
            "Greedy mode: each model always picks its top word, so p and q below are one-hot at those words."
        )
    records = ident.records()
    order = ["target p", "draft q", "speculative output"]
    st.markdown("**Output of speculative sampling vs target p vs draft q**")
    spec = _grouped_bars_spec(
        records,
        tuple(order),
        (COLORS["target"], COLORS["draft"], "#10b981"),
        "probability / frequency",
        ".4f",
    )
    st.vega_lite_chart(spec=spec, width="stretch", height=300)
    csv_download(pd.DataFrame(records), "output-identity", "hiw_dl_identity", "Download the histogram (CSV)")
    close = ident.tv_to_p <= 3 * noise
    st.markdown(
        (
            f"The green bars sit on the purple ones: the output is distributed as **p** (distance "
            f"{ident.tv_to_p:.3f}, within sampling noise), not as q (distance {ident.tv_to_q:.3f})."
            if close
            else f"The output is {ident.tv_to_p:.3f} from p: more than sampling noise ({noise:.3f}) explains."
        )
        + " The acceptance rate only sets how often the draft's word survives, i.e. the speed."
    )
with st.expander("Why it works, in three lines"):
    st.markdown(
        "For one position, a word $x$ comes out either as an accepted draft, or as the target's correction "
        "after a rejection (which happens with probability $1 - \\beta$):"
    )
    st.latex(
        r"P(x) = \underbrace{q(x)\,\min\!\left(1, \frac{p(x)}{q(x)}\right)}_{\text{draft } x \text{ accepted}}"
        r" + \underbrace{(1-\beta)\,\frac{\max(0,\ p(x) - q(x))}{1-\beta}}_{\text{rejected, residual gives } x}"
        r" = \min(p(x), q(x)) + \max(0,\ p(x) - q(x)) = p(x)"
    )
    st.markdown(
        "where $\\beta = \\sum_x \\min(p(x), q(x))$ is the chance of accepting a draft. The same holds position "
        "after position, so the whole text follows the target exactly (Leviathan et al. 2023, appendix A.1; "
        "Chen et al. 2023, arXiv 2302.01318)."
    )
st.markdown(
    "**Greedy vs sampling.** With greedy decoding (temperature 0) both models pick their top word: a draft "
    "is accepted only if it *is* the target's top word, and a rejected one is replaced by the target's top "
    "word. The output is then token for token what the target alone would write greedily. With sampling, "
    "single runs differ (they are random), but their distribution is exactly the target's, as the chart "
    "shows. Try the Greedy switch: acceptance becomes all or nothing and the output a single bar."
)

# --- 5. Key terms and myths ---------------------------------------------------------------------------
st.header("5. Key terms, and myths corrected")
try:
    terms_list, myths = _glossary()
except (OSError, ValueError) as error:
    st.error(f"The glossary could not be loaded: {error}")
    terms_list, myths = (), ()
columns = st.columns(2, gap="large")
for number, term in enumerate(terms_list):
    with columns[number % 2].expander(f"**{term.name}**: {term.short}"):
        st.markdown(term.detail)
        st.caption(f"Source: {term.source}")
st.subheader("Common mistakes")
myth_columns = st.columns(2, gap="medium")
for number, myth in enumerate(myths):
    with myth_columns[number % 2].container(border=True):
        st.markdown(f":red[:material/close: **Myth:** {myth.claim}]")
        st.markdown(f":green[:material/check: **Actually:**] {myth.truth}")
        st.caption(published(myth.source))
st.markdown(
    f"Sources: {LEVIATHAN} for the algorithm and the speedup formula; "
    f"[SGLang documentation, speculative decoding]({SGLANG_DOCS}) and SGLang's source for flags "
    "and defaults (0.5.23: `arg_groups/speculative_hook.py`; releases up to 0.5.12: `server_args.py`)."
)

# --- Onward -------------------------------------------------------------------------------------------
st.header("Where next")
link_settings = SimulatorSettings(section="basics", alpha=float(alpha), gamma=int(tl_gamma), cost=float(cost))
st.page_link(
    "pages/simulator.py",
    label=f"Open the simulator with α = {float(alpha):.2f}, γ = {int(tl_gamma)}, c = {float(cost):.2f} "
    "(your timeline settings)",
    icon=":material/insights:",
    query_params=to_query_params(link_settings, include=("section", "alpha", "gamma", "cost")),
)
st.page_link("pages/decision_quiz.py", label="Test yourself: decision guide and quiz", icon=":material/quiz:")
