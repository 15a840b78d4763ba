"""Speculative Decoding Lab: navigation and the frame shared by every page.

Run with ``streamlit run app.py``. Each page lives in ``pages/``; all computation lives in ``core/``.
"""

import threading

import streamlit as st

from core import __version__, warmup

# Every page the app has, in menu order. The all-pages tests check that each file in pages/ is here.
PAGES = {
    "Start": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    ],
    "Learn": [
        st.Page(
            "pages/how_it_works.py", title="How it works", icon=":material/school:", url_path="how-it-works"
        ),
        st.Page("pages/simulator.py", title="Simulator", icon=":material/insights:", url_path="simulator"),
    ],
    "Measure": [
        st.Page(
            "pages/live_benchmark.py",
            title="Live benchmark",
            icon=":material/speed:",
            url_path="live-benchmark",
        ),
        st.Page(
            "pages/adaptive.py", title="Adaptive speculation", icon=":material/tune:", url_path="adaptive"
        ),
    ],
    "Decide": [
        st.Page(
            "pages/decision_quiz.py",
            title="Decision & quiz",
            icon=":material/quiz:",
            url_path="decision-quiz",
        ),
    ],
}


@st.cache_resource(show_spinner=False)
def _compile_kernels_in_background() -> threading.Thread:
    """Once per process: compile every Numba kernel while the first visitor reads the home page."""
    thread = threading.Thread(target=warmup.warm_all, name="speclab-warmup", daemon=True)
    thread.start()
    return thread


st.set_page_config(page_title="Speculative Decoding Lab", page_icon=":material/bolt:", layout="wide")

with st.sidebar:
    st.caption(
        "**How to read the numbers.** Every figure is labelled: **simulated** (this app's model), "
        "**exact** (closed form), **measured** (your server, this session) or **published** (with its source)."
    )
    st.caption(f"Speculative Decoding Lab v{__version__}")

_compile_kernels_in_background()
st.navigation(PAGES).run()
