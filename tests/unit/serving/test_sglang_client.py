"""SGLangClient against small local stub servers that replay SGLang's exact wire format, faults included.

The stub (``StubServer``) is a stdlib HTTP server in a thread. Each route answers with a scripted
``Reply``: status, headers, then a list of steps (send bytes, sleep, stall, cut the connection), sent with
chunked transfer encoding like SGLang's uvicorn server. ``test_bench_runner`` and ``test_cli_bench`` reuse it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.serving.sglang_client import (
    ConnectionFailed,
    HTTPStatusError,
    InvalidURLError,
    RequestRecord,
    ResponseError,
    ServerInfo,
    SGLangClient,
    bench_serving_timing,
    validate_base_url,
)


# ------------------------------------------------------------------------------------------ the stub
@dataclass
class Reply:
    """A scripted answer. ``steps``: ("send", bytes) | ("sleep", s) | ("stall", s) | ("cut",) | ("call", fn)."""

    status: int = 200
    headers: dict = field(default_factory=dict)
    body: bytes | None = None
    steps: list = field(default_factory=list)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # a client hanging up is part of the faults tested
        pass


class StubServer:
    """A local HTTP server answering each (method, path) with a Reply or a callable(request) -> Reply."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], object] = {}
        self.requests: list[dict] = []
        self._stop = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                request = {
                    "method": method,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "json": json.loads(raw) if raw else None,
                    "client_port": self.client_address[1],
                }
                stub.requests.append(request)
                spec = stub.routes.get((method, self.path))
                if spec is None:
                    spec = Reply(
                        404, body=b'{"detail":"Not Found"}', headers={"Content-Type": "application/json"}
                    )
                reply = spec(request) if callable(spec) else spec
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if reply.body is not None:
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                self.wfile.flush()
                try:
                    for step in reply.steps:
                        kind = step[0]
                        if kind == "send":
                            data = step[1]
                            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                            self.wfile.flush()
                        elif kind == "sleep":
                            time.sleep(step[1])
                        elif kind == "stall":
                            stub._stop.wait(step[1])
                        elif kind == "call":
                            step[1]()
                        elif kind == "cut":
                            self.close_connection = True
                            self.connection.shutdown(socket.SHUT_RDWR)
                            return
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError, OSError):
                    self.close_connection = True

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def json_route(self, path: str, payload, status: int = 200, method: str = "GET") -> None:
        self.routes[(method, path)] = Reply(
            status, body=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
        )


def sse(obj) -> bytes:
    """One server-sent event exactly as SGLang writes it."""
    text = obj if isinstance(obj, str) else json.dumps(obj)
    return f"data: {text}\n\n".encode()


def native_events(
    pieces: list[tuple[str, int]],
    *,
    cumulative: bool = True,
    prompt_tokens: int = 7,
    spec: dict | None = None,
    finish: dict | None = None,
) -> list[dict]:
    """/generate events for (text piece, tokens it adds) pairs; the last event carries the final meta."""
    events, text, count = [], "", 0
    ids: list[int] = []
    for i, (piece, added) in enumerate(pieces):
        text += piece
        new_ids = list(range(count, count + added))
        ids += new_ids
        count += added
        meta = {
            "id": "req-1",
            "finish_reason": None,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": count,
            "cached_tokens": 0,
        }
        if i == len(pieces) - 1:
            meta["finish_reason"] = finish or {"type": "length", "length": count}
            meta["e2e_latency"] = 0.123
            meta.update(spec or {})
        events.append(
            {
                "text": text if cumulative else piece,
                "output_ids": list(ids) if cumulative else new_ids,
                "meta_info": meta,
            }
        )
    return events


def stream_steps(events: list, gaps: list[float] | float = 0.0, done: bool = True) -> list:
    """Steps sending each event after its gap (seconds), then ``data: [DONE]``."""
    if not isinstance(gaps, list):
        gaps = [gaps] * len(events)
    steps: list = []
    for event, gap in zip(events, gaps, strict=True):
        if gap:
            steps.append(("sleep", gap))
        steps.append(("send", sse(event)))
    if done:
        steps.append(("send", sse("[DONE]")))
    return steps


def chat_chunk(content: str | None, finish: str | None = None, usage: dict | None = None) -> dict:
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "stub-model",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}],
    }
    if usage is not None:
        chunk["usage"] = usage
    return chunk


def usage_chunk(completion_tokens: int, prompt_tokens: int = 9) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


@pytest.fixture
def stub():
    server = StubServer()
    server.start()
    yield server
    server.stop()


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------- URL handling
@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("", "empty"),
        ("127.0.0.1:30000", "no scheme"),
        ("ftp://host:1", "http:// or https://"),
        ("http://", "no host"),
        ("http://host:99999", "not valid"),
        ("http://user:pw@host:1", "credentials"),
        ("http://host:1/?q=1", "query"),
    ],
)
def test_bad_urls_are_rejected_with_a_reason(url, fragment):
    with pytest.raises(InvalidURLError, match=fragment):
        validate_base_url(url)
    with pytest.raises(ValueError):
        SGLangClient(url)


def test_good_urls_are_normalised():
    assert validate_base_url(" http://127.0.0.1:30000/ ") == "http://127.0.0.1:30000"
    assert validate_base_url("https://gpu.example.org/sglang/") == "https://gpu.example.org/sglang"


def test_bad_client_settings_raise():
    with pytest.raises(ValueError, match="timeout_s"):
        SGLangClient("http://h:1", timeout_s=0)
    with pytest.raises(ValueError, match="max_response_bytes"):
        SGLangClient("http://h:1", max_response_bytes=10)


# ------------------------------------------------------------------------------------- server facts
SERVER_INFO = {
    "model_path": "meta-llama/Llama-3.1-8B-Instruct",
    "speculative_algorithm": "EAGLE3",
    "speculative_draft_model_path": "jamesliu1/sglang-EAGLE3-Llama-3.1-Instruct-8B",
    "speculative_num_steps": 3,
    "speculative_eagle_topk": 4,
    "speculative_num_draft_tokens": 16,
    "max_running_requests": 48,
    "version": "0.5.9",
    "internal_states": [{"avg_spec_accept_length": 3.42, "last_gen_throughput": 201.5}],
}


def test_server_info_is_parsed_into_typed_fields(stub):
    stub.json_route("/server_info", SERVER_INFO)
    info = SGLangClient(stub.url).server_info()
    assert info.model_path == "meta-llama/Llama-3.1-8B-Instruct"
    assert info.speculative and info.speculative_algorithm == "EAGLE3"
    assert info.draft_model_path == "jamesliu1/sglang-EAGLE3-Llama-3.1-Instruct-8B"
    assert (info.num_steps, info.eagle_topk, info.num_draft_tokens) == (3, 4, 16)
    assert info.max_running_requests == 48
    assert info.avg_spec_accept_length == pytest.approx(3.42)
    assert info.raw["version"] == "0.5.9"
    assert info.is_practice_server is False


def test_server_info_falls_back_to_the_old_path_and_reads_a_pd_router(stub):
    decode = dict(SERVER_INFO, internal_states=[{"avg_spec_accept_length": 2.5}])
    stub.json_route("/get_server_info", {"decode": [decode], "prefill": [{"model_path": "x"}]})
    info = SGLangClient(stub.url).server_info()
    assert [r["path"] for r in stub.requests] == ["/server_info", "/get_server_info"]
    assert info.avg_spec_accept_length == pytest.approx(2.5)
    assert info.speculative_algorithm == "EAGLE3"


def test_server_info_without_speculation(stub):
    stub.json_route(
        "/server_info",
        {"model_path": "m", "speculative_algorithm": None, "internal_states": [{"last_gen_throughput": 3}]},
    )
    info = SGLangClient(stub.url).server_info()
    assert not info.speculative
    assert info.avg_spec_accept_length is None
    assert ServerInfo.from_raw({"speculative_algorithm": "None"}).speculative is False


def test_practice_marker_and_models_and_model_info(stub):
    stub.json_route("/server_info", {"speclab_practice_server": True})
    stub.json_route(
        "/v1/models", {"object": "list", "data": [{"id": "m1", "max_model_len": 8192}, {"id": "m2"}]}
    )
    stub.json_route("/get_model_info", {"model_path": "m1", "is_generation": True})
    client = SGLangClient(stub.url)
    assert client.server_info().is_practice_server
    assert client.models() == ["m1", "m2"]
    assert client.model_id() == "m1"
    assert client.model_info()["is_generation"] is True


def test_health_ok_and_not_ready(stub):
    stub.routes[("GET", "/health")] = Reply(200, body=b"")
    assert SGLangClient(stub.url).health() is True
    stub.routes[("GET", "/health")] = Reply(503, body=b"")
    with pytest.raises(HTTPStatusError, match="503.*not ready") as info:
        SGLangClient(stub.url).health()
    assert info.value.status == 503


def test_json_endpoint_errors_are_clear(stub):
    stub.routes[("GET", "/server_info")] = Reply(200, body=b"<html>hello</html>")
    with pytest.raises(ResponseError, match="did not return JSON"):
        SGLangClient(stub.url).server_info()
    stub.routes[("GET", "/server_info")] = Reply(200, body=b"[" + b"1," * 5000 + b"1]")
    with pytest.raises(ResponseError, match="larger than"):
        SGLangClient(stub.url, max_response_bytes=4096).server_info()


def test_connection_refused_is_a_connection_failure():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ConnectionFailed, match=f"connection refused at {url}"):
        SGLangClient(url).health()


def test_unknown_host_is_reported():
    with pytest.raises(ConnectionFailed, match="could not resolve host no-such-host.invalid"):
        SGLangClient("http://no-such-host.invalid:30000").server_info()


# --------------------------------------------------------------------------- bench_serving timing rule
def test_bench_serving_timing_by_hand():
    # events at 0.10 s (2 tokens), 0.16 s (+3), 0.16 s (+0: skipped), 0.20 s (+1)
    ttft, itl, times, tokens = bench_serving_timing([(0.10, 2), (0.16, 5), (0.17, 5), (0.20, 6)])
    assert ttft == 0.10
    assert itl == pytest.approx([0.02, 0.02, 0.02, 0.04])
    assert times == [0.10, 0.16, 0.20]
    assert tokens == [2, 3, 1]
    # without running counts: one gap per event
    ttft, itl, times, tokens = bench_serving_timing([(0.1, None), (0.3, None), (0.4, None)])
    assert itl == pytest.approx([0.2, 0.1]) and tokens == [] and times == [0.1, 0.3, 0.4]
    assert bench_serving_timing([]) == (None, [], [], [])


# ------------------------------------------------------------------------------ native /generate
def post_route(stub: StubServer, steps, path="/generate"):
    stub.routes[("POST", path)] = Reply(200, steps=steps)


def test_native_stream_is_measured_like_bench_serving(stub):
    pieces = [("Hello", 1), (" there, my", 3), ("", 0), (" friend", 2)]
    events = native_events(pieces, spec={"spec_verify_ct": 3, "spec_accept_length": 2.0})
    # the third event carries no text (a held-back partial character): bench_serving skips it
    events[2]["text"] = events[1]["text"]
    post_route(stub, stream_steps(events, gaps=[0.05, 0.03, 0.0, 0.04]))
    client = SGLangClient(stub.url, api_key="sekret")
    rec = client.generate("Say hello", max_tokens=6, temperature=0.0, ignore_eos=True, category="greet")

    assert rec.success and rec.error is None
    assert rec.category == "greet" and rec.prompt == "Say hello" and rec.api == "native"
    # token counts come from meta_info, not from words or events
    assert rec.completion_tokens == 6 and rec.prompt_tokens == 7
    assert rec.event_tokens == [1, 3, 2]
    assert len(rec.itl_s) == 5  # tokens after the first event
    assert rec.itl_s[0] == rec.itl_s[1] == rec.itl_s[2]  # one gap split evenly over 3 tokens
    assert rec.itl_s[3] == rec.itl_s[4]
    assert rec.ttft_s == rec.event_times_s[0]
    assert sum(rec.itl_s) == pytest.approx(rec.event_times_s[-1] - rec.event_times_s[0])
    # the stub's sleeps since it got the request are lower bounds of the arrival times
    assert rec.ttft_s >= 0.05
    assert rec.event_times_s[1] >= 0.05 + 0.03 and rec.event_times_s[2] >= 0.05 + 0.03 + 0.04
    assert rec.e2e_s >= rec.event_times_s[-1]
    assert rec.tpot_s == pytest.approx((rec.e2e_s - rec.ttft_s) / 5)
    assert rec.spec_verify_ct == 3 and rec.spec_accept_length == 2.0
    assert rec.finish_reason == "length" and rec.server_e2e_s == pytest.approx(0.123)
    assert rec.output_text == "Hello there, my friend" and rec.streaming_mode == "cumulative"
    assert rec.start_time == pytest.approx(time.time(), abs=30)

    sent = stub.requests[-1]
    assert sent["path"] == "/generate"
    assert sent["headers"]["Authorization"] == "Bearer sekret"
    assert sent["json"] == {
        "text": "Say hello",
        "sampling_params": {"temperature": 0.0, "max_new_tokens": 6, "ignore_eos": True},
        "stream": True,
    }


def test_incremental_streaming_output_is_detected(stub):
    events = native_events([("One", 1), (" two", 1), (" three", 2)], cumulative=False)
    post_route(stub, stream_steps(events))
    rec = SGLangClient(stub.url).generate("count")
    assert rec.success
    assert rec.streaming_mode == "incremental"
    assert rec.output_text == "One two three"
    assert rec.completion_tokens == 4 and rec.event_tokens == [1, 1, 2]


def test_incremental_detected_from_text_when_ids_are_absent(stub):
    events = native_events([("ab", 1), ("cd", 1)], cumulative=False)
    for e in events:
        del e["output_ids"]
    post_route(stub, stream_steps(events))
    rec = SGLangClient(stub.url).generate("x")
    assert rec.streaming_mode == "incremental" and rec.output_text == "abcd"


def test_older_spec_field_names_are_kept(stub):
    events = native_events(
        [("a", 1), ("bcd", 3)], spec={"spec_accept_token_num": 2, "spec_draft_token_num": 6}
    )
    post_route(stub, stream_steps(events))
    rec = SGLangClient(stub.url).generate("x")
    assert rec.spec_accept_token_num == 2 and rec.spec_draft_token_num == 6 and rec.spec_verify_ct is None


def test_long_output_text_is_truncated_for_storage(stub):
    events = native_events([("x" * 1500, 1), ("y" * 1500, 1)])
    post_route(stub, stream_steps(events))
    rec = SGLangClient(stub.url).generate("x")
    assert rec.success and len(rec.output_text) == 2000 and rec.output_truncated


def test_bad_arguments_raise_value_error(stub):
    client = SGLangClient(stub.url)
    with pytest.raises(ValueError, match="api"):
        client.generate("x", api="grpc")
    with pytest.raises(ValueError, match="max_tokens"):
        client.generate("x", max_tokens=0)
    with pytest.raises(ValueError, match="temperature"):
        client.generate("x", temperature=-1)


def test_record_round_trips_through_a_dict(stub):
    post_route(stub, stream_steps(native_events([("a", 1), ("b", 2)])))
    rec = SGLangClient(stub.url).generate("x")
    again = RequestRecord.from_dict(json.loads(json.dumps(rec.to_dict())) | {"future_field": 1})
    assert again == rec


# ------------------------------------------------------------------------------ OpenAI chat API
def test_openai_chat_stream_counts_tokens_from_usage(stub):
    stub.json_route("/v1/models", {"object": "list", "data": [{"id": "stub-model"}]})
    chunks = [chat_chunk("Hi"), chat_chunk(" there"), chat_chunk(" you", finish="stop"), usage_chunk(5)]
    stub.routes[("POST", "/v1/chat/completions")] = Reply(200, steps=stream_steps(chunks, gaps=0.01))
    rec = SGLangClient(stub.url).generate("hello", api="openai", max_tokens=9, temperature=0.5)
    assert rec.success, rec.error
    assert rec.completion_tokens == 5 and rec.prompt_tokens == 9
    assert rec.output_text == "Hi there you" and rec.finish_reason == "stop"
    # no running counts: one ITL per chunk gap, as bench_serving does for chat
    assert len(rec.itl_s) == 2 and rec.event_tokens == []
    sent = stub.requests[-1]["json"]
    assert sent["model"] == "stub-model" and sent["max_tokens"] == 9 and sent["temperature"] == 0.5
    assert sent["messages"] == [{"role": "user", "content": "hello"}]
    assert sent["stream"] is True and sent["stream_options"]["include_usage"] is True
    assert "ignore_eos" not in sent


def test_openai_chat_with_running_usage_splits_gaps_over_tokens(stub):
    stub.json_route("/v1/models", {"object": "list", "data": [{"id": "m"}]})
    chunks = [
        chat_chunk("A", usage={"completion_tokens": 1}),
        chat_chunk("BCD", usage={"completion_tokens": 4}),
        chat_chunk("", finish="length", usage={"completion_tokens": 4}),
        usage_chunk(4),
    ]
    stub.routes[("POST", "/v1/chat/completions")] = Reply(200, steps=stream_steps(chunks, gaps=0.01))
    rec = SGLangClient(stub.url).generate("x", api="openai", ignore_eos=True)
    assert rec.success and rec.completion_tokens == 4
    assert rec.event_tokens == [1, 3] and len(rec.itl_s) == 3
    assert stub.requests[-1]["json"]["ignore_eos"] is True


def test_openai_without_usage_is_an_error_not_a_guess(stub):
    stub.json_route("/v1/models", {"object": "list", "data": [{"id": "m"}]})
    chunks = [chat_chunk("one two three four")]
    stub.routes[("POST", "/v1/chat/completions")] = Reply(200, steps=stream_steps(chunks))
    rec = SGLangClient(stub.url).generate("x", api="openai")
    assert not rec.success and "usage" in rec.error
    assert rec.completion_tokens == 0  # never estimated from words


# ------------------------------------------------------------------------------------------ faults
def test_fault_connection_refused():
    url = f"http://127.0.0.1:{free_port()}"
    rec = SGLangClient(url).generate("x")
    assert not rec.success and rec.error == f"connection refused at {url} (is the server running?)"


def test_fault_dns_failure():
    rec = SGLangClient("http://no-such-host.invalid").generate("x")
    assert not rec.success and rec.error == "could not resolve host no-such-host.invalid"


@pytest.mark.skipif(
    sys.platform != "linux", reason="relies on Linux dropping SYNs when the accept queue is full"
)
def test_fault_connect_timeout():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)  # never accepts: once its queue is full, new connections hang
        port = listener.getsockname()[1]
        fillers = []
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        time.sleep(0.2)
        url = f"http://127.0.0.1:{port}"
        rec = SGLangClient(url, connect_timeout_s=0.5).generate("x")
        for filler in fillers:
            filler.close()
    assert not rec.success and rec.error == f"timed out after 0.5 s connecting to {url}"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (500, b'{"error": {"message": "CUDA out of memory"}}', "HTTP 500 from /generate: CUDA out of memory"),
        (404, b'{"detail":"Not Found"}', "HTTP 404 from /generate: Not Found (is this an SGLang server"),
        (401, b'{"error": "Unauthorized"}', "HTTP 401 from /generate: Unauthorized (check the API key)"),
        (400, b"bad request " * 100, "HTTP 400 from /generate: bad request bad request"),
    ],
)
def test_fault_http_errors(stub, status, body, expected):
    stub.routes[("POST", "/generate")] = Reply(status, body=body)
    rec = SGLangClient(stub.url).generate("x")
    assert not rec.success and rec.error.startswith(expected)
    assert "\n" not in rec.error and len(rec.error) < 300


def test_fault_redirect_is_not_followed(stub):
    stub.routes[("POST", "/generate")] = Reply(
        307, body=b"", headers={"Location": "http://elsewhere:1/generate"}
    )
    rec = SGLangClient(stub.url).generate("x")
    assert not rec.success
    assert "HTTP 307 redirect from /generate to http://elsewhere:1/generate" in rec.error
    assert "not followed" in rec.error
    assert [r["path"] for r in stub.requests] == ["/generate"]


def test_fault_error_event_keeps_what_was_measured(stub):
    events = native_events([("a", 1), ("b", 1)])
    steps = stream_steps(events, done=False) + [("send", sse({"error": {"message": "Request aborted: OOM"}}))]
    post_route(stub, steps)
    rec = SGLangClient(stub.url).generate("x")
    assert not rec.success and rec.error == "server error event: Request aborted: OOM"
    assert rec.ttft_s is not None and rec.completion_tokens == 2 and len(rec.itl_s) == 1


def test_fault_abort_finish_reason(stub):
    events = native_events([("a", 1)], finish={"type": "abort", "message": "client disconnected"})
    post_route(stub, stream_steps(events))
    rec = SGLangClient(stub.url).generate("x")
    assert not rec.success and rec.error == "request aborted by the server: client disconnected"


def test_fault_malformed_json(stub):
    post_route(
        stub, [("send", sse(native_events([("a", 1)])[0])), ("send", b'data: {"text": "b", "meta\n\n')]
    )
    rec = SGLangClient(stub.url).generate("x")
    assert not rec.success and rec.error.startswith("malformed stream: invalid JSON from /generate")
    assert rec.completion_tokens == 1


def test_fault_malformed_sse(stub):
    post_route(stub, [("send", b"this is not an event stream\n\n")])
    rec = SGLangClient(stub.url).generate("x")
    assert not rec.success and rec.error.startswith("malformed stream: line without a 'data:' field")


def test_fault_event_without_meta_info(stub):
    post_route(stub, [("send", sse({"text": "hi"}))])
    rec = SGLangClient(stub.url).generate("x")
    assert not rec.success and rec.error == "malformed stream: /generate event without meta_info"


def test_sse_comments_and_event_fields_are_accepted(stub):
    events = native_events([("a", 1), ("b", 1)])
    post_route(
        stub,
        [("send", b": keep-alive\n\nevent: message\n" + sse(events[0]) + sse(events[1]) + sse("[DONE]"))],
    )
    rec = SGLangClient(stub.url).generate("x")
    assert rec.success and rec.completion_tokens == 2


@pytest.mark.parametrize("how", ["cut", "clean_end"])
def test_fault_stream_stops_before_done(stub, how):
    events = native_events([("a", 2), ("b", 3), ("c", 7), ("d", 1)])
    steps = stream_steps(events[:3], done=False)
    if how == "cut":
        steps.append(("cut",))
    post_route(stub, steps)
    rec = SGLangClient(stub.url).generate("x")
    assert not rec.success and rec.error == "stream ended before [DONE] after 12 tokens"
    assert rec.event_tokens == [2, 3, 7]


def test_fault_stall_ends_with_an_error(stub):
    events = native_events([("a", 1), ("b", 1)])
    post_route(stub, [("send", sse(events[0])), ("stall", 30)])
    rec = SGLangClient(stub.url, stall_timeout_s=0.8).generate("x")  # the stub stalls for 30 s
    assert not rec.success and rec.error == "stalled: no data for 0.8 s after 1 token"
    assert rec.ttft_s is not None


def test_fault_slow_start_times_out_waiting_for_headers(stub):
    def slow(request):
        stub._stop.wait(30)
        return Reply(200, body=b"")

    stub.routes[("POST", "/generate")] = slow
    rec = SGLangClient(stub.url, stall_timeout_s=0.3).generate("x")
    assert not rec.success and rec.error == "timed out after 0.3 s waiting for /generate to respond"


def test_fault_trickling_stream_hits_the_request_deadline(stub):
    events = native_events([(c, 1) for c in "abcdefghijklmnopqrst"])
    post_route(stub, stream_steps(events, gaps=0.2))
    rec = SGLangClient(stub.url, stall_timeout_s=5).generate("x", timeout_s=1.0)
    assert not rec.success
    assert rec.error.startswith("timed out after 1 s (request deadline) after")
    assert 0 < rec.completion_tokens < 20


def test_fault_oversized_response(stub):
    events = native_events([("x" * 3000, 1)] * 10)
    post_route(stub, stream_steps(events))
    rec = SGLangClient(stub.url, max_response_bytes=20_000).generate("x")
    assert not rec.success and rec.error.startswith("response larger than 20000 bytes")
    assert rec.bytes_received > 20_000


def test_fault_one_endless_line(stub):
    post_route(stub, [("send", b"data: " + b"x" * 70_000)] * 3)
    rec = SGLangClient(stub.url, max_response_bytes=100_000).generate("x")
    assert not rec.success and "larger than" in rec.error


def test_interrupt_stops_a_stalled_stream_quickly(stub):
    events = native_events([("a", 1)])
    first_sent = threading.Event()
    post_route(stub, [("send", sse(events[0])), ("call", first_sent.set), ("stall", 30)])
    client = SGLangClient(stub.url, stall_timeout_s=20)
    cancel = threading.Event()
    result: list[RequestRecord] = []
    worker = threading.Thread(target=lambda: result.append(client.generate("x", cancel=cancel)))
    worker.start()
    assert first_sent.wait(10)
    time.sleep(0.3)  # let the client read that first event
    cancel.set()
    assert client.interrupt(cancel) == 1
    worker.join(timeout=10)  # far less than the 20 s stall timeout or the stub's 30 s stall
    assert not worker.is_alive()
    assert result[0].error == "stopped before the request finished after 1 token"


def test_a_stream_without_text_succeeds_with_no_ttft(stub):
    event = {
        "text": "",
        "output_ids": [],
        "meta_info": {"completion_tokens": 0, "finish_reason": {"type": "stop"}},
    }
    post_route(stub, stream_steps([event]))
    rec = SGLangClient(stub.url).generate("x")
    assert rec.success and rec.ttft_s is None and rec.completion_tokens == 0 and rec.tpot_s is None


def test_a_stream_that_never_counts_tokens_is_an_error(stub):
    post_route(stub, stream_steps([{"text": "hi", "meta_info": {"finish_reason": None}}]))
    rec = SGLangClient(stub.url).generate("x")
    assert not rec.success
    assert rec.error == "malformed stream: /generate never reported meta_info.completion_tokens"


# ------------------------------------------------------- the cumulative fast path (meta_info read alone)
def test_long_cumulative_stream_keeps_exact_counts_and_final_text(stub):
    pieces = [(f" w{i}", 1 + i % 3) for i in range(200)]
    events = native_events(pieces, spec={"spec_verify_ct": 150})
    post_route(stub, stream_steps(events))
    rec = SGLangClient(stub.url).generate("x")
    assert rec.success, rec.error
    assert rec.completion_tokens == sum(n for _, n in pieces)
    assert rec.event_tokens == [n for _, n in pieces]
    assert len(rec.itl_s) == rec.completion_tokens - pieces[0][1]
    assert rec.output_text == "".join(p for p, _ in pieces)[:2000]
    assert rec.spec_verify_ct == 150 and rec.finish_reason == "length"


def test_events_with_meta_info_first_are_parsed_fully(stub):
    events = [
        {"meta_info": e["meta_info"], "text": e["text"], "output_ids": e["output_ids"]}
        for e in native_events([("a", 1), ("b", 1), ("c", 2), ("d", 1)])
    ]
    post_route(stub, stream_steps(events))
    rec = SGLangClient(stub.url).generate("x")
    assert rec.success and rec.output_text == "abcd" and rec.event_tokens == [1, 1, 2, 1]


def test_malformed_event_late_in_a_cumulative_stream(stub):
    events = native_events([("a", 1), ("b", 1), ("c", 1)])
    broken = b'data: {"text": "abcd", "output_ids": [1, 2, 3, 4], "meta_info": {"completion_tokens": 4\n\n'
    post_route(stub, [*stream_steps(events, done=False), ("send", broken)])
    rec = SGLangClient(stub.url).generate("x")
    assert not rec.success and rec.error.startswith("malformed stream: invalid JSON from /generate")
    assert rec.completion_tokens == 3


def test_broken_text_in_the_last_event_is_caught_at_the_end(stub):
    events = native_events([("a", 1), ("b", 1)])
    meta = json.dumps(native_events([("a", 1), ("b", 1), ("c", 1)])[-1]["meta_info"])
    broken = f'data: {{"text": "abc, "output_ids": [0, 1, 2], "meta_info": {meta}}}\n\n'.encode()
    post_route(stub, [*stream_steps(events, done=False), ("send", broken), ("send", sse("[DONE]"))])
    rec = SGLangClient(stub.url).generate("x")
    assert not rec.success and rec.error.startswith("malformed stream: invalid JSON from /generate")
    assert rec.completion_tokens == 3  # the count was still read from meta_info


def test_connections_are_reused_after_a_complete_stream(stub):
    post_route(stub, stream_steps(native_events([("a", 1), ("b", 1)])))
    client = SGLangClient(stub.url)
    assert client.generate("one").success and client.generate("two").success
    ports = [r["client_port"] for r in stub.requests]
    assert ports[0] == ports[1]  # the second request did not open a new TCP connection


def test_a_failed_stream_closes_its_connection_and_the_next_request_works(stub):
    good = Reply(200, steps=stream_steps(native_events([("a", 1)])))
    cut = Reply(200, steps=[("send", sse(native_events([("a", 1), ("b", 1)])[0])), ("cut",)])
    replies = iter([cut, good])
    stub.routes[("POST", "/generate")] = lambda request: next(replies)
    client = SGLangClient(stub.url)
    assert client.generate("one").error == "stream ended before [DONE] after 1 token"
    assert client.generate("two").success
    ports = [r["client_port"] for r in stub.requests]
    assert ports[0] != ports[1]


def test_a_reused_connection_gets_the_normal_timeouts_back(stub):
    good = Reply(200, steps=stream_steps(native_events([("a", 1)])))
    calls = []

    def route(request):
        calls.append(request)
        if len(calls) == 2:
            stub._stop.wait(0.6)  # longer than the short wait used while draining the first stream
        return good

    stub.routes[("POST", "/generate")] = route
    client = SGLangClient(stub.url, stall_timeout_s=5)
    assert client.generate("one").success
    second = client.generate("two")
    assert second.success, second.error
    assert calls[0]["client_port"] == calls[1]["client_port"]


def test_output_ids_are_kept_from_cumulative_and_incremental_streams(stub):
    cumulative = native_events([("Hello", 1), (" there, my", 3), (" friend", 2)])
    for event in cumulative:  # ids unlike their positions, so a wrong join would show
        event["output_ids"] = [100 + 7 * i for i in event["output_ids"]]
    post_route(stub, stream_steps(cumulative))
    rec = SGLangClient(stub.url).generate("Say hello")
    assert rec.streaming_mode == "cumulative"
    assert rec.output_ids == [100, 107, 114, 121, 128, 135]

    incremental = native_events([("One", 1), (" two", 1), (" three", 2)], cumulative=False)
    post_route(stub, stream_steps(incremental))
    rec = SGLangClient(stub.url).generate("count")
    assert rec.streaming_mode == "incremental" and rec.output_ids == [0, 1, 2, 3]
    assert RequestRecord.from_dict(rec.to_dict()).output_ids == [0, 1, 2, 3]


def test_output_ids_stay_unknown_when_absent_or_malformed(stub):
    events = native_events([("ab", 1), ("cd", 1)])
    for e in events:
        del e["output_ids"]
    post_route(stub, stream_steps(events))
    assert SGLangClient(stub.url).generate("x").output_ids is None

    events = native_events([("ab", 1), ("cd", 1)])
    events[-1]["output_ids"] = ["not", "ids"]
    events[0]["output_ids"] = [5]
    post_route(stub, stream_steps(events))
    assert SGLangClient(stub.url).generate("x").output_ids == [5]  # the bad list is not taken
