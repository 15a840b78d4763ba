"""Home: what the lab is and where to go."""

import streamlit as st

st.title("Speculative Decoding Lab")
st.markdown(
    """
Large language models write one token at a time, and each token costs one full pass through the model.
**Speculative decoding** lets a small, fast *draft* guess several tokens ahead while the big *target*
model checks all the guesses in a single pass. Accepted guesses are free tokens; the first wrong guess is
replaced by the target's own choice. A careful acceptance rule keeps the output distribution **exactly**
the target's, so quality does not change, only speed, and speed can go *down* as well as up.

This lab lets you see why, simulate it, measure it on a real SGLang server, and decide when to use it.
"""
)

st.subheader("Where to go")
col1, col2 = st.columns(2)
with col1:
    st.page_link(
        "pages/how_it_works.py", label="**How it works**: from the painter story to the exact algorithm"
    )
    st.page_link("pages/simulator.py", label="**Simulator**: acceptance, speedup and cost, by Monte Carlo")
    st.page_link(
        "pages/adaptive.py", label="**Adaptive speculation**: a controller that tunes its own length"
    )
with col2:
    st.page_link("pages/live_benchmark.py", label="**Live benchmark**: measure an SGLang server")
    st.page_link("pages/decision_quiz.py", label="**Decision & quiz**: when it helps, when it hurts")

st.subheader("Suggested path")
st.markdown(
    """
1. Read **How it works** (10 minutes) and step through a few rounds by hand.
2. Open the **Simulator**, find the best speculation length for a given acceptance rate, then see where
   batch size makes speculation slower than plain decoding.
3. If a GPU server is available, run the **Live benchmark** on predictable and creative prompts.
4. Check yourself with the **Decision & quiz** page.
"""
)
