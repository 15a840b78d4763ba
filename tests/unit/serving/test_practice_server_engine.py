"""The engine seam: step streams between an engine thread and the HTTP layer, and the engine table."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time

import pytest

from core.serving.practice_server import PracticeConfig
from core.serving.practice_server.engine import (
    EngineRequest,
    SpeculativeSettings,
    StepOutput,
    StepStream,
    create_engine,
    engine_names,
)


def step(*ids: int, finish: dict | None = None) -> StepOutput:
    return StepOutput(token_ids=tuple(ids), text=" x" * len(ids), finish_reason=finish)


def test_a_stream_read_blocking_returns_the_steps_in_order_then_none():
    stream = StepStream("r1")
    stream.push(step(1))
    stream.push(step(2, 3, finish={"type": "length", "length": 3}))
    stream.close()
    assert stream.get(1.0).token_ids == (1,)
    assert stream.get(1.0).finish_reason == {"type": "length", "length": 3}
    assert stream.get(1.0) is None


def test_a_blocking_read_times_out_while_the_stream_is_open():
    with pytest.raises(TimeoutError):
        StepStream("r1").get(0.01)


def test_steps_pushed_after_close_are_dropped():
    stream = StepStream("r1")
    stream.close()
    stream.push(step(1))
    assert stream.get(0.01) is None


def test_an_async_reader_wakes_for_steps_pushed_from_another_thread():
    stream = StepStream("r1")

    def engine_thread():
        for token in range(5):
            stream.push(step(token))
        stream.close()

    async def read() -> list[int]:
        thread = threading.Timer(0.02, engine_thread)
        thread.start()
        got = []
        while (item := await asyncio.wait_for(stream.aget(), 2.0)) is not None:
            got += item.token_ids
        thread.join()
        return got

    # A thread of its own: pytest-playwright's sync API keeps an event loop running in the main thread when
    # the browser tests ran first in this process, and asyncio.run refuses to nest inside it.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, read()).result(timeout=10) == [0, 1, 2, 3, 4]


def test_proposed_drafts_per_pass_is_draft_tokens_minus_one():
    tree = SpeculativeSettings("EAGLE", num_steps=5, eagle_topk=4, num_draft_tokens=8, max_accepted_drafts=5)
    assert tree.proposed_drafts_per_pass == 7


def test_an_unknown_engine_name_is_a_clear_value_error():
    with pytest.raises(ValueError, match="unknown engine 'nope'"):
        create_engine("nope", None)
    assert "nope" not in engine_names() and "synthetic" in engine_names()


# ------------------------------------------------------------------------------------------ synthetic engine


def synthetic(**overrides):
    return create_engine("synthetic", PracticeConfig(**({"time_scale": 0.0} | overrides)))


def request(engine, rid="r", prompt="the river", max_new_tokens=20, **extra):
    ids = tuple(engine.tokenize(prompt))
    return EngineRequest(
        rid, prompt, ids, max_new_tokens, ignore_eos=True, arrival_s=time.monotonic(), **extra
    )


def drain(stream) -> list[StepOutput]:
    steps = []
    while (item := stream.get(10.0)) is not None:
        steps.append(item)
    return steps


def test_synthetic_engine_counts_come_from_its_verify_passes():
    engine = synthetic(speculative=True)  # 5/4/8: 7 proposed drafts per verify pass
    engine.start()
    try:
        steps = drain(engine.submit(request(engine, max_new_tokens=60)))
    finally:
        engine.close()
    assert steps[0].verify_pass is False and len(steps[0].token_ids) == 1  # the prefill's token
    passes = steps[1:]
    assert all(s.verify_pass and s.proposed_drafts == 7 for s in passes)
    assert all(s.accepted_drafts == len(s.token_ids) - 1 for s in passes[:-1])
    assert sum(len(s.token_ids) for s in steps) == 60
    assert steps[-1].finish_reason == {"type": "length", "length": 60}
    assert all(s.timing == "simulated" for s in steps)
    assert engine.info.speculative.algorithm == "EAGLE3" and engine.info.timing == "simulated"


def test_synthetic_engine_text_matches_its_tokens_and_stop_strings_end_generation():
    engine = synthetic()
    engine.start()
    try:
        steps = drain(engine.submit(request(engine, max_new_tokens=50)))
        text = "".join(s.text for s in steps)
        assert text == engine.detokenize([t for s in steps for t in s.token_ids])
        stop_word = text.split()[5]
        stopped = drain(engine.submit(request(engine, rid="s", max_new_tokens=50, stop=(stop_word,))))
    finally:
        engine.close()
    assert stopped[-1].finish_reason == {"type": "stop", "matched": stop_word}
    stopped_text = "".join(s.text for s in stopped)
    assert stopped_text.endswith(stop_word) and len(stopped_text) < len(text)


def test_cancel_closes_the_stream_and_flush_waits_for_idle():
    engine = synthetic(time_scale=1.0)
    engine.start()
    try:
        stream = engine.submit(request(engine, max_new_tokens=100000))
        assert stream.get(10.0) is not None
        assert engine.flush() is False  # a request is running
        engine.cancel("r")
        assert stream.closed
        deadline = time.monotonic() + 5
        while engine.stats().running and time.monotonic() < deadline:
            time.sleep(0.01)  # the scheduler drops the cancelled request at its next step
        assert engine.flush() is True
    finally:
        engine.close()


def test_fixed_timing_paces_every_event_in_order():
    engine = synthetic(fixed_ttft_s=0.05, fixed_itl_s=0.01, tokens_per_event=3)
    engine.start()
    try:
        first, second = (
            engine.submit(request(engine, "a", max_new_tokens=7)),
            engine.submit(request(engine, "b", max_new_tokens=4)),
        )
        sizes_a = [len(s.token_ids) for s in drain(first)]
        sizes_b = [len(s.token_ids) for s in drain(second)]
    finally:
        engine.close()
    assert sizes_a == [1, 3, 3] and sizes_b == [1, 3]


def test_close_ends_open_streams_without_a_finish():
    engine = synthetic(time_scale=1.0)
    engine.start()
    stream = engine.submit(request(engine, max_new_tokens=100000))
    assert stream.get(10.0).finish_reason is None
    engine.close()
    rest = drain(stream)
    assert all(s.finish_reason is None for s in rest)
    assert not engine.thread.is_alive()
