"""Section 5: the two SGLang launch commands to compare (with and without speculation), and their flags.

Keys owned here: every ``live_cmd_*`` widget (model, algorithm, draft, knobs, steps, topk, tokens, port,
mem, graph, running, use_recommended).
"""

from __future__ import annotations

import streamlit as st

from core.serving import live_session as live
from core.serving.launch_command import (
    ALGORITHMS,
    LaunchCommand,
    LaunchRuleError,
    LaunchSpec,
    build_launch_command,
    flag_explanations,
)
from pages._components.live_benchmark.state import key


def use_recommended(values: tuple[int, int, int]) -> None:
    """Button callback: set the draft tree to the draft's published steps, top-k and draft tokens."""
    st.session_state[key("cmd_knobs")] = True
    (
        st.session_state[key("cmd_steps")],
        st.session_state[key("cmd_topk")],
        st.session_state[key("cmd_tokens")],
    ) = values


def launch_section() -> None:
    st.header("5 · Launch commands")
    st.markdown(
        "Build the two SGLang commands to compare: the same model with and without speculation. Copy them "
        "with the button at the top right of each box."
    )
    model, algorithm, draft = model_inputs()
    tree = draft_tree_inputs()
    common = server_inputs(model)
    left, right = st.columns(2)
    with left:
        baseline = baseline_command(common)
    with right:
        st.markdown(f"**Speculative** ({algorithm})")
        spec = LaunchSpec(**common, algorithm=algorithm, draft_model=draft.strip() or None, **tree)
        speculative = speculative_command(spec, knobs=tree["num_steps"] is not None)
    shown = live.flags_used((baseline, speculative), flag_explanations())
    if shown:
        with st.expander("What each flag means"):
            st.markdown("\n".join(f"- `{flag}`: {text}" for flag, text in shown))
    st.caption(
        "Serve both on one GPU one after the other (or on two ports if memory allows), run section 2 against each "
        "with the same settings, then compare in section 3."
    )


def model_inputs() -> tuple[str, str, str]:
    """The target model, the algorithm and the draft model (empty = the known one)."""
    c1, c2, c3 = st.columns([3, 1, 3])
    model = c1.text_input("Target model", "meta-llama/Llama-3.1-8B-Instruct", key=key("cmd_model"))
    algorithm = c2.selectbox(
        "Algorithm", ALGORITHMS, index=ALGORITHMS.index("EAGLE3"), key=key("cmd_algorithm")
    )
    draft = c3.text_input(
        "Draft model (empty = the known one for this target)",
        "",
        key=key("cmd_draft"),
        help="EAGLE, EAGLE3 and STANDALONE need one; NEXTN and NGRAM take none.",
    )
    return model, algorithm, draft


def draft_tree_inputs() -> dict[str, int | None]:
    """Steps, top-k and draft tokens as :class:`LaunchSpec` fields; all None unless the toggle is on."""
    c1, c2, c3, c4 = st.columns(4)
    knobs = c1.toggle(
        "Set the draft tree",
        value=False,
        key=key("cmd_knobs"),
        help="Steps, top-k and draft tokens: SGLang wants all three or none; none = its automatic choice "
        "(5/4/8 for Llama, 3/1/4 otherwise).",
    )
    steps = c2.number_input("Steps", 1, 16, 3, key=key("cmd_steps"), disabled=not knobs)
    topk = c3.number_input("Top-k", 1, 16, 1, key=key("cmd_topk"), disabled=not knobs)
    tokens = c4.number_input("Draft tokens", 2, 64, 4, key=key("cmd_tokens"), disabled=not knobs)
    return {
        "num_steps": int(steps) if knobs else None,
        "eagle_topk": int(topk) if knobs else None,
        "num_draft_tokens": int(tokens) if knobs else None,
    }


def server_inputs(model: str) -> dict:
    """The settings both commands share, as :class:`LaunchSpec` fields (0 in a widget = SGLang's choice)."""
    c1, c2, c3, c4 = st.columns(4)
    port = c1.number_input("Port", 1, 65535, 30000, key=key("cmd_port"))
    mem = c2.number_input(
        "Memory fraction (0 = auto)",
        0.0,
        0.95,
        0.0,
        step=0.05,
        key=key("cmd_mem"),
        help="--mem-fraction-static; the docs' examples use 0.7.",
    )
    graph_bs = c3.number_input("CUDA graph max batch (0 = auto)", 0, 1024, 0, key=key("cmd_graph"))
    running = c4.number_input("Max running requests (0 = auto)", 0, 4096, 0, key=key("cmd_running"))
    return {
        "model": model,
        "port": int(port),
        "mem_fraction_static": float(mem) or None,
        "cuda_graph_max_bs": int(graph_bs) or None,
        "max_running_requests": int(running) or None,
    }


def baseline_command(common: dict) -> LaunchCommand | None:
    st.markdown("**Baseline** (no speculation)")
    try:
        baseline = build_launch_command(LaunchSpec(**common, baseline=True))
    except LaunchRuleError as error:
        st.error(str(error))
        return None
    st.code(baseline.text, language="bash", wrap_lines=True)
    return baseline


def speculative_command(spec: LaunchSpec, knobs: bool) -> LaunchCommand | None:
    """The speculative command with SGLang's warnings and notes; None (and why) when SGLang would refuse."""
    try:
        speculative = build_launch_command(spec)
    except LaunchRuleError as error:
        st.error(f"SGLang would not accept this: {error}", icon=":material/rule:")
        return None
    st.code(speculative.text, language="bash", wrap_lines=True)
    pair = speculative.draft_pair
    if pair is not None and pair.recommended is not None and not knobs:
        st.button(
            "Use the draft's published steps/topk/draft tokens ({}/{}/{})".format(*pair.recommended),
            key=key("cmd_use_recommended"),
            on_click=use_recommended,
            args=(pair.recommended,),
        )
    for warning in speculative.warnings:
        st.warning(warning)
    for note in speculative.notes:
        st.caption(f"• {note}")
    return speculative
