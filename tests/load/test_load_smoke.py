"""A short version of the classroom load test (benchmarks/load_test.py): a few concurrent sessions on one
``streamlit run`` process in hosted mode, each moving simulator sliders, answering a quiz question and
running a practice-server benchmark. The full test (30 sessions, 2 minutes) is a script, not a test."""

import pytest

from benchmarks.load_test import run_load_test

pytestmark = pytest.mark.slow


def test_concurrent_sessions_complete_every_flow_without_errors():
    report = run_load_test(sessions=3, duration_s=25)
    assert report["errors"] == 0, report["error_samples"]
    done = report["by_interaction"]
    for kind in ("simulator-slider", "quiz-answer", "quiz-check", "live-connect", "live-run"):
        assert done.get(kind, {}).get("count", 0) >= 1, f"no session reached {kind}: {sorted(done)}"
    assert report["server_rss_mib_start"] and report["server_rss_mib_end"]
