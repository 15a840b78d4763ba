"""core.serving.class_work: runs and sweeps through the class store and back; queue choice per mode."""

from __future__ import annotations

from core.serving import class_work
from core.serving.result_shelf import ResultShelf
from core.serving.run_queue import RateLimiter, ServerQueue
from core.serving.server_policy import ServerPolicy
from core.store import learners
from core.store.class_report import results_table
from core.store.class_store import ClassStore
from core.store.database import transaction
from core.store.saved_work import load_work, save_work
from core.store.shared_queue import SharedQueue, SharedRateLimiter
from tests.unit.serving.test_live_session import pair_of_runs


def _store(tmp_path) -> ClassStore:
    store = ClassStore(f"sqlite:///{tmp_path / 'class.sqlite3'}")
    store.engine()
    return store


def test_runs_and_sweeps_round_trip_through_the_store(tmp_path):
    store, key = _store(tmp_path), learners.token_hash(learners.new_token())
    kept = []
    shelf = ResultShelf(on_keep=kept.append)
    baseline, speculative = pair_of_runs()
    run = shelf.keep_run(speculative)
    sweep = shelf.keep_sweep([baseline, speculative])
    assert kept == [run, sweep]
    with transaction(store.engine(), write=True) as connection:
        save_work(connection, key, class_work.run_item(run))
        save_work(connection, key, class_work.sweep_item(sweep))
    with transaction(store.engine()) as connection:
        runs, sweeps, highest, problems = class_work.restore(load_work(connection, key))
    assert problems == [] and highest == 2
    assert [r.label for r in runs] == [run.label] and runs[0].id == run.id
    assert runs[0].run.summary.accept_length == speculative.summary.accept_length
    assert [len(s.runs) for s in sweeps] == [2]


def test_result_rows_pool_per_category_and_files_are_not_pooled(tmp_path):
    store = _store(tmp_path)
    baseline, speculative = pair_of_runs()
    shelf = ResultShelf()
    measured = shelf.keep_run(speculative)
    measured_base = shelf.keep_run(baseline)
    rows = class_work.result_rows(speculative)
    assert sorted(r["category"] for r in rows) == ["creative", "predictable"]
    predictable = next(r for r in rows if r["category"] == "predictable")
    assert predictable["accept_length"] == speculative.summary.categories["predictable"].accept_length
    from core.serving.live_session import ResultsFile

    loaded = shelf.load(ResultsFile("run", [speculative]), "friend.json")
    assert class_work.run_item(loaded).run_rows == []  # a file is the learner's, not the class's measurement
    key = learners.token_hash(learners.new_token())
    with transaction(store.engine(), write=True) as connection:
        for item in (measured, measured_base, loaded):
            save_work(connection, key, class_work.run_item(item))
    with transaction(store.engine()) as connection:
        table = results_table(connection)
    spec = table[table["speculative"] & (table["category"] == "predictable")].iloc[0]
    assert spec["runs"] == 1  # the loaded copy is not counted
    base_tpot = baseline.summary.categories["predictable"].tpot_ms_mean
    spec_tpot = speculative.summary.categories["predictable"].tpot_ms_mean
    assert abs(spec["speedup (1/TPOT)"] - base_tpot / spec_tpot) < 1e-9


def test_unreadable_saved_items_are_named_not_raised(tmp_path):
    from core.store.saved_work import StoredItem

    items = [StoredItem("run", "x", {"label": "#4 run", "run": {"bad": 1}}, 0.0)]
    runs, sweeps, highest, problems = class_work.restore(items)
    assert runs == [] and sweeps == [] and highest == 0
    assert problems and "could not be read" in problems[0]


def test_hosted_mode_shares_the_queue_through_the_store(tmp_path):
    store = _store(tmp_path)
    hosted = ServerPolicy(hosted=True, allowed_base_urls=("http://gpu:30000",))
    assert isinstance(class_work.class_queue(hosted, store), SharedQueue)
    assert isinstance(class_work.class_rate_limiter(hosted, store), SharedRateLimiter)
    assert isinstance(class_work.class_queue(ServerPolicy(), store), ServerQueue)
    assert isinstance(class_work.class_rate_limiter(ServerPolicy(), store), RateLimiter)
