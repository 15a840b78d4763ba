"""How it works, on real models: step through a speculative decode of the lab's tiny models, pass by
pass, with the top candidates of the draft (q) and of the target (p) at every drafted position.

Keys owned here (prefix ``hiw_tiny_``): ``prompt``, ``draft``, ``num_draft``, ``tokens``, ``run`` (the
button), ``result`` (the :class:`~core.lessons.tiny_walkthrough.TinyWalkthrough`), ``pass`` and
``error``.
"""

from __future__ import annotations

import streamlit as st

from core.lessons.tiny_walkthrough import (
    DRAFTS,
    MAX_NEW_TOKENS,
    TinyWalkthrough,
    pass_table,
    tiny_step_through,
)
from pages._common import MEASURED, csv_download

DEFAULT_PROMPT = (
    "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a"
)


def _key(name: str) -> str:
    return f"hiw_tiny_{name}"


def _run() -> None:
    """Button callback: decode the prompt; a bad prompt or missing weights is a message, never a traceback."""
    st.session_state[_key("error")] = None
    try:
        st.session_state[_key("result")] = tiny_step_through(
            st.session_state.get(_key("prompt"), DEFAULT_PROMPT),
            st.session_state.get(_key("draft"), "EAGLE"),
            int(st.session_state.get(_key("num_draft"), 4)),
            int(st.session_state.get(_key("tokens"), 24)),
        )
        st.session_state[_key("pass")] = 1
    except FileNotFoundError as error:
        st.session_state[_key("error")] = f"The tiny models' weights are missing: {error}"
    except ValueError as error:
        st.session_state[_key("error")] = f"Cannot run: {error}."


def tiny_step_through_section() -> None:
    st.subheader("The same, on real models")
    st.markdown(
        "The toy above has four words. The lab also trained a real (if tiny) language model on Python's "
        "standard library, with three drafts for it. Type a prompt and watch real speculative decoding at "
        "temperature 0: at each drafted position, the draft's most likely tokens (q) and the target's (p). "
        "Greedy acceptance keeps a drafted token only when it is the target's top choice; at the first "
        "miss the target's own token is kept instead, and the rest of the pass is thrown away."
    )
    st.text_area("Prompt", DEFAULT_PROMPT, key=_key("prompt"), height=140, max_chars=400)
    c1, c2, c3 = st.columns([2, 1, 1])
    c1.selectbox("Draft", list(DRAFTS), format_func=lambda d: f"{d}: {DRAFTS[d]}", key=_key("draft"))
    c2.slider("Tokens drafted per pass", 1, 8, 4, key=_key("num_draft"))
    c3.slider("New tokens", 4, MAX_NEW_TOKENS, 24, key=_key("tokens"))
    st.button("Run on the tiny models", key=_key("run"), on_click=_run, type="primary")
    error = st.session_state.get(_key("error"))
    if error:
        st.error(error)
    result: TinyWalkthrough | None = st.session_state.get(_key("result"))
    if result is not None:
        show_result(result)


def show_result(result: TinyWalkthrough) -> None:
    st.markdown(
        f"{MEASURED} {len(result.passes)} verify passes that drafted, {result.accept_length:.2f} tokens per "
        f"pass ({result.draft} drafting {result.num_draft} a pass). The output, which is the target's own "
        "greedy text whatever the draft:"
    )
    st.code(result.output, language=None)
    if not result.passes:
        st.info("The answer ended before any pass drafted a token: try a longer output.")
        return
    number = st.slider("Pass", 1, len(result.passes), key=_key("pass")) if len(result.passes) > 1 else 1
    one = result.passes[number - 1]
    st.markdown(
        f"Pass {one.number}: the draft proposed {len(one.positions)} tokens, the target accepted "
        f"**{one.accepted}**, then added its own token **{one.bonus}**: {one.accepted + 1} "
        f"token{'s' if one.accepted else ''} from one target pass, {one.seconds * 1000:.1f} ms on this CPU."
    )
    table = pass_table(one)
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption(
        "· is a space, ⏎ a newline. Probabilities are each model's softmax at temperature 1 (greedy picks the "
        "top one either way); NGRAM has no model, so its one candidate is certain."
    )
    csv_download(table, f"tiny-pass-{one.number}", key=_key("csv"), label="Download this pass (CSV)")
