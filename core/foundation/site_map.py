"""Where each page of the app lives: one source for app.py's navigation and for links built in core.

URL paths deliberately differ from the page files' names. Streamlit serves the first session of a fresh
process with its legacy router, which maps ``/<file name>`` in ``pages/`` straight to that file and runs
it without ``app.py``'s navigation and frame (and keeps doing so for later visitors until ``app.py`` has
run once). With distinct URL paths that router never matches a page, falls back to ``app.py``, and
``st.navigation`` takes over for good from the first run.
"""

from __future__ import annotations

from pathlib import PurePosixPath

# Page script (relative to the repository root) -> URL path. The home page is the default page at "/".
URL_PATHS: dict[str, str] = {
    "pages/home.py": "",
    "pages/how_it_works.py": "how-it-works",
    "pages/simulator.py": "speedup-simulator",
    "pages/live_benchmark.py": "live-benchmark",
    "pages/adaptive.py": "adaptive-speculation",
    "pages/decision_quiz.py": "decision-quiz",
    "pages/instructor.py": "class-instructor",
}


def url_path(page_file: str) -> str:
    """URL path (no leading slash) of a page script such as ``"pages/simulator.py"``."""
    return URL_PATHS[page_file]


def legacy_router_names() -> set[str]:
    """The URL names Streamlit's legacy pages/ router would give the page files (their stems)."""
    return {PurePosixPath(page).stem for page in URL_PATHS}
