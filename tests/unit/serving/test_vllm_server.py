"""The client and the runner against a stub that speaks vLLM's wire format (checked in the vllm 0.34.0
wheel): OpenAI chat SSE as ``vllm/entrypoints/openai/chat_completion/serving.py`` writes it (a role-only
first chunk, ``usage`` on every chunk with ``continuous_usage_stats``, a final ``choices: []`` usage chunk,
optional ``metrics.speculative_decoding`` with ``--enable-per-request-metrics``), no ``/server_info``, and
Prometheus counters named as ``vllm/v1/spec_decode/metrics.py`` names them, written by prometheus_client
itself (what vLLM uses)."""

from __future__ import annotations

import json

import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest

from core.serving.bench_runner import BenchRun, BenchSettings, run_benchmark
from core.serving.sglang_client import SGLangClient
from core.serving.spec_counters import SpecCounters, parse_spec_counters
from tests.unit.serving.test_sglang_client import Reply, StubServer, sse

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
DRAFTS_PER_STEP = 3  # num_speculative_tokens
ACCEPTED_PER_STEP = 2  # so each verify step yields 3 tokens (2 accepted + 1 bonus)


class VLLMStub:
    """A vLLM-like server: each chat request streams ``tokens`` tokens, 3 per chunk after the first."""

    def __init__(self, *, speculative: bool = True, per_request_metrics: bool = False, tokens: int = 10):
        self.speculative, self.per_request_metrics, self.tokens = speculative, per_request_metrics, tokens
        self.registry = CollectorRegistry()
        labels = ["model_name", "engine"]
        names = (
            "vllm:spec_decode_num_drafts",
            "vllm:spec_decode_num_draft_tokens",
            "vllm:spec_decode_num_accepted_tokens",
        )
        self.counters = [Counter(n, n, labels, registry=self.registry).labels(MODEL, "0") for n in names]
        per_pos = Counter(
            "vllm:spec_decode_num_accepted_tokens_per_pos",
            "per pos",
            [*labels, "position"],
            registry=self.registry,
        )
        self.per_position = [per_pos.labels(MODEL, "0", str(k)) for k in range(DRAFTS_PER_STEP)]
        Counter("vllm:generation_tokens", "generated", labels, registry=self.registry).labels(MODEL, "0")
        self.server = StubServer()
        self.server.routes[("GET", "/v1/models")] = Reply(body=json.dumps(_models()).encode())
        self.server.routes[("GET", "/health")] = Reply(body=b"")
        self.server.routes[("GET", "/metrics")] = lambda request: Reply(body=generate_latest(self.registry))
        self.server.routes[("POST", "/v1/chat/completions")] = self._chat

    def __enter__(self) -> VLLMStub:
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url

    def _chat(self, request: dict) -> Reply:
        body = request["json"]
        usage = body.get("stream_options", {}).get("continuous_usage_stats")
        counts = [1, *range(4, self.tokens, 3), self.tokens] if self.tokens > 1 else [1]
        steps_done = len(counts) - 1  # the first token comes from prefill, each later chunk from one step
        chunks = [_chunk({"role": "assistant", "content": ""}, 0 if usage else None)]
        previous = 0
        for count in counts:
            chunks.append(_chunk({"content": "w" * (count - previous)}, count if usage else None))
            previous = count
        chunks.append(_chunk({"content": ""}, self.tokens if usage else None, finish="length"))
        final = {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": MODEL,
            "choices": [],
        }
        final["usage"] = {
            "prompt_tokens": 7,
            "total_tokens": 7 + self.tokens,
            "completion_tokens": self.tokens,
        }
        if self.speculative and self.per_request_metrics:
            final["metrics"] = {
                "speculative_decoding": {
                    "mean_acceptance_length": 1 + ACCEPTED_PER_STEP,
                    "draft_acceptance_rate": ACCEPTED_PER_STEP / DRAFTS_PER_STEP,
                    "acceptance_histogram": [0, 0, steps_done, 0],
                    "num_spec_steps": steps_done,
                    "num_accepted_draft_tokens": ACCEPTED_PER_STEP * steps_done,
                    "num_draft_tokens": DRAFTS_PER_STEP * steps_done,
                    "num_spec_tokens": DRAFTS_PER_STEP,
                }
            }
        events = [*chunks, final]
        if self.speculative:
            self._count(steps_done)
        return Reply(
            headers={"Content-Type": "text/event-stream"},
            steps=[("send", sse(e)) for e in events] + [("send", b"data: [DONE]\n\n")],
        )

    def _count(self, steps: int) -> None:
        drafts, draft_tokens, accepted = self.counters
        drafts.inc(steps)
        draft_tokens.inc(steps * DRAFTS_PER_STEP)
        accepted.inc(steps * ACCEPTED_PER_STEP)
        for k in range(ACCEPTED_PER_STEP):
            self.per_position[k].inc(steps)


def _models() -> dict:
    card = {"id": MODEL, "object": "model", "created": 1, "owned_by": "vllm", "root": MODEL, "parent": None}
    return {"object": "list", "data": [dict(card, max_model_len=8192)]}


def _chunk(delta: dict, completion_tokens: int | None, finish: str | None = None) -> dict:
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    if completion_tokens is not None:
        chunk["usage"] = {
            "prompt_tokens": 7,
            "total_tokens": 7 + completion_tokens,
            "completion_tokens": completion_tokens,
        }
    return chunk


def test_the_openai_path_measures_a_vllm_stream_token_by_token():
    with VLLMStub(tokens=10) as stub, SGLangClient(stub.url) as client:
        record = client.generate("hi", api="openai", max_tokens=10)
        body = stub.server.requests[-1]["json"]
    assert body["stream_options"] == {"include_usage": True, "continuous_usage_stats": True}
    assert body["return_spec_tokens_details"] is True  # SGLang 0.5.21+ answers it; vLLM allows extra fields
    assert record.success, record.error
    assert record.completion_tokens == 10 and record.prompt_tokens == 7
    assert record.event_tokens == [1, 3, 3, 3]  # usage on every chunk: each chunk's gap split over its tokens
    assert len(record.itl_s) == 9 and record.finish_reason == "length"
    assert record.spec_verify_ct is None  # this server sends no per-request speculation figures


def test_vllm_per_request_metrics_fill_the_record():
    with VLLMStub(tokens=10, per_request_metrics=True) as stub, SGLangClient(stub.url) as client:
        record = client.generate("hi", api="openai", max_tokens=10)
    assert record.success
    assert (record.spec_verify_ct, record.spec_num_correct_drafts, record.spec_num_proposed_drafts) == (
        3,
        6,
        9,
    )
    assert record.spec_accept_length is None  # vLLM's own per-request figure is a different definition


def test_prometheus_text_written_by_prometheus_client_parses():
    with VLLMStub() as stub:
        stub._count(4)
        counters = parse_spec_counters(generate_latest(stub.registry).decode())
    assert (counters.drafts, counters.draft_tokens, counters.accepted_tokens) == (4, 12, 8)
    assert counters.accepted_per_position == (4.0, 4.0, 0.0)
    assert counters.mean_acceptance_length == pytest.approx(3.0)
    assert counters.draft_acceptance_rate == pytest.approx(2 / 3)
    assert counters.per_position_acceptance == (1.0, 1.0, 0.0)


def test_counters_absent_or_broken():
    assert (
        parse_spec_counters(
            "# TYPE sglang:spec_verify_calls_total counter\nsglang:spec_verify_calls_total 3\n"
        )
        is None
    )
    with pytest.raises(ValueError, match="not Prometheus text"):
        parse_spec_counters("<html>not found</html>")
    with pytest.raises(ValueError, match="went down"):
        SpecCounters(drafts=1).minus(SpecCounters(drafts=5))


def test_a_run_against_vllm_reads_the_accept_length_from_its_counters():
    with VLLMStub(tokens=10) as stub:
        stub._count(100)  # earlier traffic: the before/after difference must leave it out
        run = run_benchmark(
            stub.url, BenchSettings(api="openai", num_requests=4, max_tokens=10, concurrency=2)
        )
    assert run.engine == "vllm" and run.complete
    assert run.spec_counters_after.drafts - run.spec_counters_before.drafts == 4 * 3
    accept = run.server_accept
    assert accept.value == pytest.approx(1 + ACCEPTED_PER_STEP) and accept.source.startswith("vLLM /metrics")
    assert run.summary.accept_length_per_request is None  # no per-request counts in this stream
    assert not any("/server_info" in note for note in run.notes)
    again = BenchRun.from_json(run.to_json())
    assert again.server_accept_length == pytest.approx(3.0) and again.engine == "vllm"


def test_per_request_counts_give_the_per_request_accept_length_too():
    with VLLMStub(tokens=10, per_request_metrics=True) as stub:
        run = run_benchmark(stub.url, BenchSettings(api="openai", num_requests=2, max_tokens=10))
    # 10 tokens in 3 verify steps per request: the prefill token counted, as SGLang's per-request figure
    assert run.summary.accept_length_per_request == pytest.approx(10 / 3)
    assert run.server_accept_length == pytest.approx(3.0)  # verify steps only: 9 tokens in 3 steps


def test_vllm_without_speculation_says_so():
    with VLLMStub(speculative=False) as stub:
        # no counter family at all when vLLM runs without a speculative config
        stub.registry = CollectorRegistry()
        run = run_benchmark(stub.url, BenchSettings(api="openai", num_requests=1, max_tokens=4))
    assert run.engine == "vllm" and run.server_accept is None and not run.speculative
    assert any("speculation is off" in note for note in run.notes)


def test_the_native_api_against_vllm_fails_with_a_clear_message():
    with VLLMStub() as stub, SGLangClient(stub.url) as client:
        record = client.generate("hi", api="native")
    assert not record.success and record.error.startswith("HTTP 404 from /generate")
