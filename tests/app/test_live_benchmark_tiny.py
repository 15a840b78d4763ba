"""Live benchmark on the lab's tiny models (AppTest): measured practice servers, the identity check, the
learner's own prompts (Exercise 2) and the speculation-length sweep (Exercise 1)."""

from __future__ import annotations

import pytest

from core.serving.identity_check import check_identity
from core.serving.live_tiny import TINY_RUN_DEFAULTS, TINY_SUITE
from core.serving.own_prompts import per_prompt_table
from tests.app.test_live_benchmark import (
    card,
    charts,
    hosted,
    metric,
    no_exception,
    open_page,
    run,
    saved,
    stop_practice_servers,
    texts,
)

MEASURED = ":material/speed: measured"


@pytest.fixture
def both(app_test):
    """The page with a tiny baseline and a tiny speculative practice server started from it."""
    at = open_page(app_test)
    at.button(key="live_start_baseline").click().run()
    at.button(key="live_start_speculative").click().run()
    no_exception(at)
    yield at
    stop_practice_servers(at)


def test_the_default_practice_servers_run_the_tiny_models_and_are_measured(both):
    at = both
    leases = at.session_state["live_practice"]
    assert [lease.server.config.engine for lease in leases] == ["tiny", "tiny"]
    shown = texts(at.markdown)
    assert "Practice server: the lab's tiny models (real tokens on this CPU)" in shown
    assert f"at `{leases[1].url}` :blue-badge[{MEASURED}]" in shown
    assert "| Model | speclab-tiny/target |" in card(at)
    # a small run of the tiny models' own suite is the default
    assert at.selectbox(key="live_suite").value == TINY_SUITE
    for name, value in TINY_RUN_DEFAULTS.items():
        assert at.number_input(key=f"live_{name}").value == value


def test_the_synthetic_engine_stays_selectable_and_labelled_simulated(app_test):
    at = open_page(app_test)
    try:
        at.radio(key="live_practice_engine").set_value("synthetic").run()
        at.button(key="live_start_speculative").click().run()
        no_exception(at)
        assert "Practice server (simulated model, no GPU)" in texts(at.markdown)
        assert ":violet-badge[:material/casino: simulated]" in texts(at.markdown)
        assert at.selectbox(key="live_suite").value != TINY_SUITE
    finally:
        stop_practice_servers(at)


def test_compare_shows_the_identity_check_next_to_the_speedup(both):
    at = both
    base_url, spec_url = (lease.url for lease in at.session_state["live_practice"])
    at.number_input(key="live_requests").set_value(8)
    at.number_input(key="live_max_tokens").set_value(12)
    for url in (base_url, spec_url):
        at.text_input(key="live_url").set_value(url)
        at.button(key="live_connect").click().run()
        run(at)
    baseline, speculative = (s.run for s in saved(at))
    assert not baseline.simulated and not speculative.simulated
    check = check_identity(baseline, speculative)
    assert check.compared == 8 and check.all_identical  # greedy speculation changes no token
    assert "**Same output?** identical: 8 of 8 outputs." in texts(at.success)
    assert metric(at, "Throughput speedup").endswith("x")
    assert f"**Overall** :blue-badge[{MEASURED}]" in texts(at.markdown)


def test_own_prompts_run_on_both_servers_with_each_accept_length(both):
    at = both
    assert at.selectbox(key="live_own_base").value == at.session_state["live_practice"][0].url
    at.number_input(key="live_own_tokens").set_value(12)
    at.button(key="live_own_run").click().run()
    no_exception(at)
    kept = at.session_state["live_own_runs"]
    runs = {s.id: s.run for s in saved(at)}
    base, spec = runs[kept["baseline"]], runs[kept["speculative"]]
    assert not base.speculative and spec.speculative
    table = per_prompt_table(spec, base)
    assert list(table["expectation"]) == ["expect high", "expect low"]
    assert table["accept length"].notna().all() and table["identical"].all()
    shown = texts(at.markdown)
    assert "Same output? identical: 2 of 2 outputs." in shown
    assert "Your labels" in shown  # the verdict, from the measured accept lengths
    assert any(c.get("encoding", {}).get("x", {}).get("field") == "accept length" for c in charts(at))


def test_own_prompts_need_two_servers(app_test):
    at = open_page(app_test)
    assert "Start a practice baseline server and a practice speculative server" in texts(at.info)
    assert not [b for b in at.button if b.key == "live_own_run"]


def test_the_length_sweep_marks_the_measured_best(app_test):
    at = open_page(app_test)
    at.multiselect(key="live_lsweep_lengths").set_value([0, 2])
    at.number_input(key="live_lsweep_requests").set_value(4)
    at.button(key="live_lsweep_run").click().run()
    no_exception(at)
    points = at.session_state["live_lsweep_points"]
    assert [p.length for p in points] == [0, 2]
    best = max(points, key=lambda p: p.tokens_per_s)
    assert any(
        m.startswith("Measured best: ") and f"{best.tokens_per_s:,.0f} output tok/s" in m
        for m in texts(at.markdown).splitlines()
    )
    assert len([c for c in charts(at) if "layer" in c]) >= 2


def test_hosted_mode_starts_no_sweep_servers(app_test):
    at = hosted(app_test, ["http://127.0.0.1:9"])
    assert "starts no servers inside itself" in texts(at.info)
    assert not [b for b in at.button if b.key == "live_lsweep_run"]


def test_own_prompts_reach_the_class_board(both):
    """Each own prompt's measured request is saved for the instructor's class board (in the background)."""
    import time

    from sqlalchemy import select

    from core.store.class_store import ClassStore
    from core.store.database import transaction
    from core.store.schema import learners, prompt_results

    at = both
    at.number_input(key="live_own_tokens").set_value(12)
    at.button(key="live_own_run").click().run()
    no_exception(at)
    spec = {s.id: s.run for s in saved(at)}[at.session_state["live_own_runs"]["speculative"]]
    # Other tests of this session share the store: read this learner's rows only.
    mine = (
        select(prompt_results.c.prompt, prompt_results.c.accept_length)
        .join(learners, learners.c.id == prompt_results.c.learner_id)
        .where(learners.c.token_hash == at.session_state["store_learner"].key)
    )
    store = ClassStore()
    try:
        deadline = time.monotonic() + 20
        while True:
            with transaction(store.engine()) as connection:
                rows = connection.execute(mine).all()
            if len(rows) >= len(spec.records) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        store.dispose()
    assert sorted(row.prompt for row in rows) == sorted(r.prompt for r in spec.records)
    assert all(row.accept_length is not None for row in rows)
