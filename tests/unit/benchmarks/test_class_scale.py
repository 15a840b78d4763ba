"""The class scale-out's parts without starting anything: the overlap count of the load test, the page's
confirmation lines it reads, and the HAProxy configuration (checked by haproxy itself when installed)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from benchmarks.class_replicas import COOKIE, haproxy_config
from benchmarks.load_test import Learner, count_overlaps, runs_in
from benchmarks.streamlit_ws import RunResult


def test_sequential_requests_on_one_server_are_no_overlap():
    log = [(0.0, 1.0, "a"), (1.0, 2.0, "a"), (2.5, 3.0, "b"), (3.0, 4.0, "c")]
    assert count_overlaps(log) == 0


def test_a_request_starting_while_another_connection_is_in_flight_is_an_overlap():
    log = [(0.0, 2.0, "a"), (1.0, 1.5, "b"), (1.8, 3.0, "c"), (5.0, 6.0, "a")]
    # b starts inside a; c starts inside a (b has ended): two overlaps. Order of the log does not matter.
    assert count_overlaps(log) == 2
    assert count_overlaps(list(reversed(log))) == 2


def test_requests_of_one_connection_never_count_against_each_other():
    # The server may log a request's end a moment after the client sent the next one on its connection.
    assert count_overlaps([(0.0, 1.001, "a"), (1.0, 2.0, "a")]) == 0


def test_runs_are_read_from_the_pages_summaries():
    assert runs_in("1 quiz attempt, 3 runs") == 3
    assert runs_in("1 run") == 1
    assert runs_in("2 quiz attempts") == 0


class _Session:
    query_string = "learner=abc123"


def test_a_learner_keeps_the_highest_confirmation_and_its_token():
    learner = Learner(seed=1)
    learner.observe(_Session(), RunResult(0.1, texts=["Saved from this tab so far: 1 quiz attempt, 2 runs."]))
    learner.observe(_Session(), RunResult(0.1, texts=["Nothing about saving here"]))
    assert learner.token == "abc123" and learner.runs_confirmed == 2
    learner.confirmed_before, learner.confirmed_now = learner.runs_confirmed, 0  # as after a reconnect
    learner.observe(_Session(), RunResult(0.1, texts=["Saved from this tab so far: 1 run."]))
    assert learner.runs_confirmed == 3


def test_the_proxy_config_is_sticky_passes_websockets_and_checks_health():
    config = haproxy_config([("127.0.0.1", 8502), ("10.0.0.7", 8501)], 8501, bind="0.0.0.0")
    assert "bind 0.0.0.0:8501" in config
    assert f"cookie {COOKIE} insert indirect nocache" in config
    assert "server r1 127.0.0.1:8502 check" in config and "cookie r1" in config
    assert "server r2 10.0.0.7:8501 check" in config and "cookie r2" in config
    assert "timeout tunnel" in config and "option redispatch" in config
    assert "option httpchk GET /_stcore/health" in config


def test_the_proxy_config_needs_a_replica():
    with pytest.raises(ValueError, match="at least one replica"):
        haproxy_config([], 8501)


def test_haproxy_accepts_the_generated_config(tmp_path):
    haproxy = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None
    )
    if haproxy is None:
        pytest.skip(
            "haproxy is not installed (apt-get install haproxy; scripts/class_replicas.sh does as root)"
        )
    path = tmp_path / "haproxy.cfg"
    path.write_text(haproxy_config([("127.0.0.1", 18502), ("127.0.0.1", 18503)], 18501))
    check = subprocess.run([haproxy, "-c", "-f", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
