"""The engine seam: step streams between an engine thread and the HTTP layer, and the engine table."""

from __future__ import annotations

import asyncio
import threading

import pytest

from core.serving.practice_server.engine import (
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

    assert asyncio.run(read()) == [0, 1, 2, 3, 4]


def test_proposed_drafts_per_pass_is_draft_tokens_minus_one():
    tree = SpeculativeSettings("EAGLE", num_steps=5, eagle_topk=4, num_draft_tokens=8, max_accepted_drafts=5)
    assert tree.proposed_drafts_per_pass == 7


def test_an_unknown_engine_name_is_a_clear_value_error():
    with pytest.raises(ValueError, match="unknown engine 'nope'"):
        create_engine("nope", None)
    assert "nope" not in engine_names()
