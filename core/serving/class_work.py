"""The Live benchmark's work in the class store: runs and sweeps as store items, and back; which queue
and rate limiter a session uses.

* :func:`run_item` / :func:`sweep_item`: a :class:`~core.serving.live_session.SavedRun` or
  :class:`~core.serving.live_session.SavedSweep` as a :class:`~core.store.saved_work.WorkItem` (the run's
  JSON export, its label and id) with one result row per prompt category for the instructor's pooled view.
  Only runs measured in the app give rows: a run loaded from a file is saved for its learner but never
  pooled (it may come from other hardware, or be edited).
* :func:`restore`: saved items back into runs and sweeps, with the highest result number seen.
* :func:`class_queue` / :func:`class_rate_limiter`: in hosted mode the store's queue and limits, shared
  by every replica; in workshop mode (one app on the instructor's or a learner's machine) the in-process
  ones, so a benchmark never depends on a database there.
* :func:`prompt_item`: a learner's own prompt and what the server measured for it (Exercise 2).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.serving.bench_runner import BenchRun
from core.serving.live_session import SavedRun, SavedSweep, _model_name
from core.serving.run_queue import RateLimiter, ServerQueue
from core.serving.server_policy import ServerPolicy
from core.serving.sglang_client import RequestRecord
from core.store.class_store import ClassStore
from core.store.saved_work import StoredItem, WorkItem
from core.store.shared_queue import SharedQueue, SharedRateLimiter

__all__ = [
    "PRACTICE_SERVER",
    "class_queue",
    "class_rate_limiter",
    "prompt_item",
    "restore",
    "result_rows",
    "run_item",
    "sweep_item",
    "work_item",
]

#: How practice servers (one per learner, on a random loopback port) are pooled in the class view.
PRACTICE_SERVER = "practice server (simulated)"
_NUMBER = re.compile(r"#(\d+)")


def _server_name(run: BenchRun) -> str:
    return PRACTICE_SERVER if run.simulated else run.base_url


def result_rows(run: BenchRun) -> list[dict]:
    """One row per prompt category of ``run`` with requests that succeeded (columns of ``run_results``)."""
    rows = []
    for category, summary in run.summary.categories.items():
        if not summary.requests_ok:
            continue
        rows.append(
            {
                "server_url": _server_name(run)[:300],
                "model": _model_name(run)[:300],
                "speculative": bool(run.speculative),
                "simulated": bool(run.simulated),
                "concurrency": int(run.settings.concurrency),
                "category": (category or "(none)")[:100],
                "requests_ok": int(summary.requests_ok),
                "accept_length": summary.accept_length,
                "ttft_ms": summary.ttft_ms_mean,
                "tpot_ms": summary.tpot_ms_mean,
                "output_tok_s": summary.output_throughput_tok_s,
            }
        )
    return rows


def _measured(origin: str) -> bool:
    return origin == "measured now"


def run_item(saved: SavedRun) -> WorkItem:
    """A saved run as a store item (pooled for the class only when measured in the app)."""
    payload = {"label": saved.label, "origin": saved.origin, "id": saved.id, "run": saved.run.to_dict()}
    rows = result_rows(saved.run) if _measured(saved.origin) else []
    return WorkItem("run", saved.id, payload, saved.label.split(" · ")[0] or "a run", run_rows=rows)


def sweep_item(saved: SavedSweep) -> WorkItem:
    """A saved sweep as a store item, one set of result rows per level."""
    payload = {
        "label": saved.label,
        "origin": saved.origin,
        "id": saved.id,
        "runs": [run.to_dict() for run in saved.runs],
    }
    rows = [row for run in saved.runs for row in result_rows(run)] if _measured(saved.origin) else []
    return WorkItem("sweep", saved.id, payload, saved.label.split(" · ")[0] or "a sweep", run_rows=rows)


def work_item(saved: SavedRun | SavedSweep) -> WorkItem:
    """:func:`run_item` or :func:`sweep_item`, whichever ``saved`` is."""
    return sweep_item(saved) if isinstance(saved, SavedSweep) else run_item(saved)


def _number(label: str) -> int:
    match = _NUMBER.search(label)
    return int(match.group(1)) if match else 0


def restore(items: Sequence[StoredItem]) -> tuple[list[SavedRun], list[SavedSweep], int, list[str]]:
    """(runs, sweeps, highest result number, problems) from saved "run" and "sweep" items, oldest first.

    An item this version cannot read is skipped and named in ``problems`` (never an exception).
    """
    runs, sweeps, highest, problems = [], [], 0, []
    for item in items:
        payload = item.payload
        try:
            if item.kind == "run":
                run = BenchRun.from_dict(payload["run"])
                runs.append(
                    SavedRun(run=run, label=payload["label"], origin=payload["origin"], id=payload["id"])
                )
            elif item.kind == "sweep":
                levels = [BenchRun.from_dict(run) for run in payload["runs"]]
                sweeps.append(
                    SavedSweep(
                        runs=levels, label=payload["label"], origin=payload["origin"], id=payload["id"]
                    )
                )
            else:
                continue
        except (KeyError, TypeError, ValueError) as error:
            problems.append(f"a saved {item.kind} could not be read ({error})")
            continue
        highest = max(highest, _number(payload.get("label", "")))
    return runs, sweeps, highest, problems


def prompt_item(
    item_key: str, prompt: str, record: RequestRecord, server_url: str, simulated: bool
) -> WorkItem:
    """A learner's own prompt and its measured request as a store item (ranked on the class board)."""
    payload = {"prompt": prompt, "server_url": server_url, "simulated": simulated, "record": record.to_dict()}
    row = {
        "server_url": (PRACTICE_SERVER if simulated else server_url)[:300],
        "prompt": prompt,
        "category": (record.category or "own")[:100],
        "accept_length": record.spec_accept_length if record.success else None,
        "completion_tokens": int(record.completion_tokens),
        "simulated": bool(simulated),
    }
    return WorkItem("prompt", item_key, payload, "own prompt", prompt_rows=[row])


def class_queue(policy: ServerPolicy, store: ClassStore) -> ServerQueue | SharedQueue:
    """The run queue a session joins: the store's (shared by replicas) when hosted, else this process's."""
    return SharedQueue(store) if policy.hosted else ServerQueue(slots=1)


def class_rate_limiter(policy: ServerPolicy, store: ClassStore) -> RateLimiter | SharedRateLimiter:
    """Runs per window per learner: counted in the store when hosted, in this process otherwise."""
    if policy.hosted:
        return SharedRateLimiter(store, policy.runs_per_window, policy.window_s)
    return RateLimiter(policy.runs_per_window, policy.window_s)
