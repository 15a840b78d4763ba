"""Speculative Decoding Lab: navigation and the frame shared by every page.

Run with ``streamlit run app.py``. Each page lives in ``pages/``; all computation lives in ``core/``.
"""

import threading

import altair as alt
import streamlit as st

from core import __version__
from core.foundation import site_map, warmup
from pages._components import class_store


def _page(script: str, title: str, icon: str) -> st.Page:
    """A page of the lab; its URL comes from core.foundation.site_map (the home page is the default, at "/")."""
    path = site_map.url_path(script)
    if not path:
        return st.Page(script, title=title, icon=icon, default=True)
    return st.Page(script, title=title, icon=icon, url_path=path)


# Every page the app has, in menu order. The all-pages tests check that each file in pages/ is here.
PAGES = {
    "Start": [_page("pages/home.py", "Home", ":material/home:")],
    "Learn": [
        _page("pages/how_it_works.py", "How it works", ":material/school:"),
        _page("pages/simulator.py", "Simulator", ":material/insights:"),
    ],
    "Measure": [
        _page("pages/live_benchmark.py", "Live benchmark", ":material/speed:"),
        _page("pages/adaptive.py", "Adaptive speculation", ":material/tune:"),
    ],
    "Decide": [_page("pages/decision_quiz.py", "Decision & quiz", ":material/quiz:")],
    "Teach": [_page("pages/instructor.py", "Instructor", ":material/co_present:")],
}


@st.cache_resource(show_spinner=False)
def _compile_kernels_in_background() -> threading.Thread:
    """Once per process: compile every Numba kernel while the first visitor reads the home page."""
    thread = threading.Thread(target=warmup.warm_all, name="speclab-warmup", daemon=True)
    thread.start()
    return thread


# Altair validates every chart object as it is built ("debug mode"): useful while writing a chart, but it
# costs most of a chart-heavy rerun, and every rerun holds the GIL that all students share. Streamlit
# still validates the finished spec once when it sends the chart. The setting is the same for everyone.
alt.utils.schemapi.disable_debug_mode()

st.set_page_config(page_title="Speculative Decoding Lab", page_icon=":material/bolt:", layout="wide")

with st.sidebar:
    st.caption(
        "**How to read the numbers.** Every figure is labelled: **simulated** (this app's model), "
        "**exact** (closed form), **measured** (your server, this session) or **published** (with its source)."
    )
    st.caption(f"Speculative Decoding Lab v{__version__}")

_compile_kernels_in_background()
page = st.navigation(PAGES)
class_store.frame()  # resume link, restored-work notice, unsaved-work banner
page.run()
