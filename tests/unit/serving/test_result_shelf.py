"""core.serving.result_shelf: numbered, bounded runs and sweeps; interrupted runs kept; files loaded."""

from __future__ import annotations

from core.serving import live_session as live
from core.serving.bench_runner import BenchSettings
from core.serving.result_shelf import INTERRUPTED, ResultShelf
from tests.unit.serving.test_live_session import SPEC_INFO, make_run, pair_of_runs, record


def test_runs_are_numbered_selected_and_bounded():
    baseline, speculative = pair_of_runs()
    shelf = ResultShelf()
    first = shelf.keep_run(baseline)
    second = shelf.keep_run(speculative)
    assert first.label.startswith("#1 baseline") and second.label.startswith("#2 speculative")
    assert shelf.state.select_run == second.id and shelf.state.notice is None
    for _ in range(live.MAX_SAVED - 1):
        shelf.keep_run(baseline)
    assert len(shelf.runs) == live.MAX_SAVED and shelf.runs[0] is second
    assert shelf.state.notice == f"The oldest run was dropped (this page keeps {live.MAX_SAVED})."


def test_the_shelf_saves_into_the_lists_it_was_given():
    runs, sweeps = [], []
    shelf = ResultShelf(runs=runs, sweeps=sweeps)
    shelf.keep_run(pair_of_runs()[0])
    shelf.keep_sweep([pair_of_runs()[1]])
    assert len(runs) == 1 and len(sweeps) == 1
    shelf.forget("run", runs[0].id)
    shelf.forget("sweep", "no-such-id")
    assert runs == [] and len(sweeps) == 1


def test_a_sweep_that_stopped_early_says_so():
    baseline, speculative = pair_of_runs()
    shelf = ResultShelf()
    assert shelf.keep_sweep([]) is None and shelf.state.counter == 0
    shelf.keep_sweep([baseline, speculative])
    assert shelf.state.notice is None and shelf.sweeps[0].label.startswith("sweep #1")
    stopped = make_run([record("creative", 10, 0.1, 0.5)])
    stopped.stopped_reason = "time budget"
    shelf.keep_sweep([baseline, stopped])
    assert shelf.state.notice == "The sweep stopped early (time budget); the 2 level(s) measured are kept."


def test_an_interrupted_run_keeps_only_what_finished():
    finished = [record("creative", 50, 0.1, 1.0, start=1000.0)]
    shelf = ResultShelf()
    shelf.keep_interrupted(
        BenchSettings(num_requests=10),
        "http://gpu:30000",
        [],
        started_at=1000.0,
        simulated=False,
        server_info=None,
    )
    assert shelf.runs == []  # nothing finished: nothing to keep
    shelf.keep_interrupted(
        BenchSettings(num_requests=10),
        "http://gpu:30000",
        finished,
        started_at=1000.0,
        simulated=True,
        server_info=None,
    )
    [saved] = shelf.runs
    assert saved.run.stopped_reason == INTERRUPTED and saved.run.simulated
    assert saved.run.summary.output_throughput_tok_s == 50 / 1.0
    assert shelf.state.select_run == saved.id


def test_an_interrupted_sweep_keeps_its_levels_and_the_part_of_the_last():
    level_one = make_run([record("creative", 100, 0.1, 2.0)], concurrency=1, info=SPEC_INFO)
    shelf = ResultShelf()
    part = [record("creative", 40, 0.1, 1.0, start=1000.0)] * 3
    shelf.keep_interrupted(
        BenchSettings(num_requests=2, concurrency=1),
        "http://gpu:30000",
        part,
        started_at=1000.0,
        simulated=False,
        server_info=None,
        sweep_runs=[level_one],
        level=8,
    )
    [sweep] = shelf.sweeps
    assert [r.settings.concurrency for r in sweep.runs] == [1, 8]
    assert sweep.runs[1].settings.num_requests == 8 and sweep.runs[1].stopped_reason == INTERRUPTED
    # Cut off before the next level finished a request: the finished levels alone are kept.
    shelf.keep_interrupted(
        BenchSettings(),
        "u",
        [],
        started_at=0.0,
        simulated=False,
        server_info=None,
        sweep_runs=[level_one],
        level=4,
    )
    assert [r.settings.concurrency for r in shelf.sweeps[-1].runs] == [1]
    shelf.keep_interrupted(
        BenchSettings(), "u", [], started_at=0.0, simulated=False, server_info=None, sweep_runs=[]
    )
    assert len(shelf.sweeps) == 2


def test_loaded_files_are_labelled_with_their_name():
    baseline, speculative = pair_of_runs()
    shelf = ResultShelf()
    run = shelf.load(live.read_results_file(speculative.to_json().encode(), "a.json"), "a.json")
    sweep = shelf.load(live.read_results_file(live.sweep_to_json([baseline]).encode(), "b.json"), "b.json")
    assert run.label.endswith("· file a.json") and run.origin == "file a.json" and shelf.runs == [run]
    assert sweep.label.startswith("sweep #2") and shelf.sweeps == [sweep]
    assert shelf.state.select_run is None  # a loaded run is not selected over the one just measured
