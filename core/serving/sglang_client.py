"""HTTP client for an SGLang server: server facts, and streamed generation measured like bench_serving.

One :class:`SGLangClient` per base URL, each with its own ``requests.Session`` (nothing is shared between
clients, so one per user session is safe on a shared server). A client may be used from several threads
at once (the benchmark runner does): the session's connection pool is thread-safe and the client keeps no
per-request state outside the call.

Measuring a streamed request (:meth:`SGLangClient.generate`) follows SGLang's own ``bench_serving``:

- TTFT: client time from sending the request to the first event with non-empty text.
- ITL: each gap between consecutive token-carrying events, divided evenly over the tokens that event
  added (the ``completion_tokens`` delta reported by the server). One event can carry several tokens
  (speculation accepts several per step), so events are never counted as tokens.
- E2E latency: client time from sending the request to the last byte of the stream (``[DONE]``).
- Token counts always come from the server (``meta_info.completion_tokens`` on ``/generate``,
  ``usage.completion_tokens`` on ``/v1/chat/completions``), never from words or events.
- The request is built before the clock starts, and a connection whose stream ended cleanly goes back to
  the pool, so TTFT does not include TCP/TLS set-up except on a connection's first request (bench_serving
  opens a new connection per request; on a remote https server that adds round trips to its TTFT).

Every failure of a request (server down, DNS, timeout, HTTP error, error event, malformed stream, stream
cut short, stall, redirect, oversized response) ends that request with ``success=False`` and a one-line
``error``; what was measured before the failure stays in the record. Only bad arguments raise.

Times are seconds unless a name says otherwise (``_ms``).
"""

from __future__ import annotations

import contextlib
import json
import math
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ProtocolError, ReadTimeoutError
from urllib3.exceptions import SSLError as Urllib3SSLError

from core.serving.spec_counters import SpecCounters, parse_spec_counters

__all__ = [
    "APIS",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "OUTPUT_TEXT_LIMIT",
    "ConnectionFailed",
    "HTTPStatusError",
    "InvalidURLError",
    "RequestRecord",
    "ResponseError",
    "SGLangClient",
    "SGLangError",
    "ServerInfo",
    "bench_serving_timing",
    "validate_base_url",
]

#: The two streaming APIs the client speaks: SGLang's native ``/generate`` and OpenAI chat completions.
APIS = ("native", "openai")
#: Default cap on the bytes of one response. ``/generate`` streams CUMULATIVE text and token ids by
#: default, so a stream of n tokens carries about 5 * n**2 bytes: 2,048 tokens is about 20 MB.
DEFAULT_MAX_RESPONSE_BYTES = 128 * 1024 * 1024
#: Longest single SSE line accepted (one event); a line past this is an error, not a memory leak.
MAX_EVENT_BYTES = 8 * 1024 * 1024
#: Characters of generated text kept in a :class:`RequestRecord` (the rest is dropped, flagged).
OUTPUT_TEXT_LIMIT = 2000
#: Cap on the bytes read from a plain JSON endpoint (/server_info, /v1/models, ...).
_MAX_JSON_BYTES = 8 * 1024 * 1024
_READ_SIZE = 64 * 1024
_ERROR_BODY_CHARS = 200
_DRAIN_WAIT_S = 0.25  # how long to wait for the end of a body after [DONE] before closing instead


# --------------------------------------------------------------------------------------------- errors
class SGLangError(Exception):
    """A request to the server failed; ``str(error)`` is one line that says what happened."""


class ConnectionFailed(SGLangError):
    """The server could not be reached at all (refused, unknown host, connect timeout, TLS failure)."""


class HTTPStatusError(SGLangError):
    """The server answered with a status other than 200 (``status`` holds it; 3xx = a redirect)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ResponseError(SGLangError):
    """The server answered 200 but the body was unusable (not JSON, too large, cut short, stalled)."""


class InvalidURLError(ValueError):
    """The base URL is not an ``http://`` or ``https://`` URL with a host."""


def validate_base_url(url: str) -> str:
    """Check a server base URL and return it normalised (no trailing slash).

    Accepts ``http://host[:port][/prefix]`` and ``https://...``. Raises :class:`InvalidURLError` with a
    message that says what is wrong: missing scheme, another scheme, no host, a bad port, credentials in
    the URL (use the API key instead, so they never end up in exported results), a query or fragment.
    """
    if not isinstance(url, str) or not url.strip():
        raise InvalidURLError("server URL is empty: give one like http://127.0.0.1:30000")
    url = url.strip()
    if "://" not in url:
        raise InvalidURLError(f"server URL {url!r} has no scheme: write it as http://{url}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidURLError(f"server URL {url!r} is not valid: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidURLError(
            f"server URL {url!r} must start with http:// or https://, not {parts.scheme}://"
        )
    if not parts.hostname:
        raise InvalidURLError(f"server URL {url!r} has no host: give one like http://127.0.0.1:30000")
    if parts.username is not None or parts.password is not None:
        raise InvalidURLError("server URL must not contain credentials: pass the API key separately")
    if parts.query or parts.fragment:
        raise InvalidURLError(f"server URL {url!r} must not have a query (?...) or fragment (#...)")
    if port is not None and port == 0:
        raise InvalidURLError(f"server URL {url!r} has port 0")
    return url.rstrip("/")


# -------------------------------------------------------------------------------------- server facts
def _as_int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class ServerInfo:
    """What ``/server_info`` says about a server, typed; ``raw`` keeps the whole answer.

    ``speculative_algorithm`` is None when speculation is off. ``avg_spec_accept_length`` is the
    server's own lifetime mean accept length (tokens per verify pass, bonus token included) from
    ``internal_states[0]``, refreshed by the server only every 40 decode steps; None when absent.
    Behind a prefill/decode router the decode server's entry is used.
    """

    raw: dict
    model_path: str | None = None
    speculative_algorithm: str | None = None
    draft_model_path: str | None = None
    num_steps: int | None = None
    eagle_topk: int | None = None
    num_draft_tokens: int | None = None
    max_running_requests: int | None = None
    avg_spec_accept_length: float | None = None
    version: str | None = None
    is_practice_server: bool = False

    @property
    def speculative(self) -> bool:
        """True when the server runs with a speculative algorithm."""
        return self.speculative_algorithm is not None

    @classmethod
    def from_raw(cls, raw: dict) -> ServerInfo:
        """Parse a ``/server_info`` (or ``/get_server_info``) JSON object."""
        if not isinstance(raw, dict):
            raise ResponseError(f"server info is a JSON {type(raw).__name__}, expected an object")
        source = raw
        decode = raw.get("decode")
        if isinstance(decode, list) and decode and isinstance(decode[0], dict):
            source = decode[0]  # prefill/decode disaggregation: the decode server speculates
        elif isinstance(decode, dict):
            source = decode
        algorithm = source.get("speculative_algorithm", raw.get("speculative_algorithm"))
        if isinstance(algorithm, str) and algorithm.strip().lower() in ("", "none", "null"):
            algorithm = None
        elif algorithm is not None:
            algorithm = str(algorithm).upper()

        def pick(key: str) -> Any:
            return source.get(key, raw.get(key))

        accept = None
        states = source.get("internal_states", raw.get("internal_states"))
        if isinstance(states, list) and states and isinstance(states[0], dict):
            accept = _as_float(states[0].get("avg_spec_accept_length"))
        model_path = pick("model_path")
        draft = pick("speculative_draft_model_path")
        version = pick("version")
        return cls(
            raw=raw,
            model_path=str(model_path) if model_path else None,
            speculative_algorithm=algorithm,
            draft_model_path=str(draft) if draft else None,
            num_steps=_as_int(pick("speculative_num_steps")),
            eagle_topk=_as_int(pick("speculative_eagle_topk")),
            num_draft_tokens=_as_int(pick("speculative_num_draft_tokens")),
            max_running_requests=_as_int(pick("max_running_requests")),
            avg_spec_accept_length=accept,
            version=str(version) if version else None,
            is_practice_server=raw.get("speclab_practice_server") is True,
        )


# ----------------------------------------------------------------------------------- request record
@dataclass
class RequestRecord:
    """Everything measured about one streamed request. Times in seconds, relative to ``start_time``.

    ``event_times_s`` / ``event_tokens``: arrival time of each event that added output, and how many
    tokens it added (from the server's ``completion_tokens``). ``event_tokens`` is empty when the server
    did not report running counts (OpenAI API without per-chunk usage); ITL is then one gap per chunk,
    as bench_serving does for chat. A failed request keeps what was measured before it failed.

    Speculation, as the server reports it for this request: ``spec_verify_ct`` (SGLang's verify passes;
    vLLM's ``num_spec_steps``), ``spec_num_correct_drafts`` / ``spec_num_proposed_drafts`` (accepted /
    proposed draft tokens; vLLM's ``num_accepted_draft_tokens`` / ``num_draft_tokens``), and SGLang's own
    ``spec_accept_length`` (= completion tokens / verify passes) and ``spec_accept_rate``. vLLM sends them
    only with ``--enable-per-request-metrics`` (0.34), on the final usage chunk.
    """

    prompt: str
    category: str = ""
    api: str = "native"
    success: bool = False
    error: str | None = None
    start_time: float = 0.0  # wall clock (Unix seconds) when the request was sent
    ttft_s: float | None = None
    e2e_s: float | None = None
    event_times_s: list[float] = field(default_factory=list)
    event_tokens: list[int] = field(default_factory=list)
    itl_s: list[float] = field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int = 0
    cached_tokens: int | None = None
    spec_verify_ct: int | None = None
    spec_accept_length: float | None = None
    spec_accept_rate: float | None = None
    spec_accept_token_num: int | None = None
    spec_draft_token_num: int | None = None
    spec_num_correct_drafts: int | None = None
    spec_num_proposed_drafts: int | None = None
    server_e2e_s: float | None = None
    finish_reason: str | None = None
    streaming_mode: str | None = None  # "cumulative" | "incremental" (native) | "chunks" (openai)
    output_text: str = ""
    output_truncated: bool = False
    bytes_received: int = 0

    @property
    def tpot_s(self) -> float | None:
        """Time per output token after the first: (E2E - TTFT) / (tokens - 1); None below 2 tokens."""
        if not self.success or self.ttft_s is None or self.e2e_s is None or self.completion_tokens < 2:
            return None
        return (self.e2e_s - self.ttft_s) / (self.completion_tokens - 1)

    def to_dict(self) -> dict:
        """A JSON-ready dict (every field)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RequestRecord:
        """Inverse of :meth:`to_dict`; unknown keys are ignored (newer files stay readable)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


# ------------------------------------------------------------------------------------ helper logic
def _causes(exc: BaseException):
    """Every exception reachable from ``exc`` (args, reason, cause, context), breadth first."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for nxt in (
            getattr(current, "reason", None),
            current.__cause__,
            current.__context__,
            *getattr(current, "args", ()),
        ):
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def _fmt_s(seconds: float) -> str:
    return f"{seconds:g} s" if seconds >= 1 else f"{seconds:.2g} s"


def _one_line(text: str, limit: int = _ERROR_BODY_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _error_message(payload: Any) -> str | None:
    """The message of an SGLang / OpenAI error object, or None when ``payload`` is not an error."""
    if not isinstance(payload, dict):
        return None
    err = payload.get("error")
    if err is not None:
        if isinstance(err, dict):
            return _one_line(err.get("message") or err.get("msg") or json.dumps(err))
        return _one_line(str(err))
    if payload.get("object") == "error":
        return _one_line(payload.get("message") or json.dumps(payload))
    return None


class _StreamFailure(Exception):
    """Internal: ends a stream with a one-line message."""


@dataclass
class _Stream:
    """State of one stream while it is parsed (only ever touched by the thread reading it)."""

    record: RequestRecord
    t0: float  # perf_counter when the request was sent
    events: list[tuple[float, int | None]] = field(default_factory=list)  # (arrival, running count)
    text_parts: list[str] = field(default_factory=list)
    text_len: int = 0
    cumulative_text: str = ""
    done: bool = False
    usage_tokens: int | None = None  # OpenAI: latest usage.completion_tokens seen
    counted: bool = False  # native: some event carried meta_info.completion_tokens
    last_raw: bytes | None = None  # cumulative fast path: the newest event, fully parsed only at the end

    def tokens_so_far(self) -> str:
        if not self.events:
            return " before the first token"
        if self.record.api == "openai" and self.usage_tokens is None:
            n = len(self.events)
            return f" after {n} chunk{'s' if n != 1 else ''}"
        n = self.record.completion_tokens if self.record.api == "native" else self.usage_tokens
        return f" after {n} token{'s' if n != 1 else ''}"


def bench_serving_timing(
    events: list[tuple[float, int | None]],
) -> tuple[float | None, list[float], list[float], list[int]]:
    """TTFT, ITLs, event times and event token counts from the token-carrying events of one stream.

    ``events`` holds (arrival seconds after sending, running completion-token count or None) for every
    event with non-empty text, in order. With counts, as bench_serving: the first event sets TTFT; each
    later event whose count grew adds ``(gap to the previous counted event) / new_tokens`` once per new
    token; an event that added no token is skipped. Without counts (any None): one ITL per event gap.
    Returns ``(ttft_s, itl_s, event_times_s, event_tokens)``; ``event_tokens`` is empty without counts.
    """
    if not events:
        return None, [], [], []
    ttft = events[0][0]
    if any(count is None for _, count in events):
        times = [t for t, _ in events]
        return ttft, [b - a for a, b in zip(times, times[1:], strict=False)], times, []
    itl: list[float] = []
    times = [ttft]
    tokens = [int(events[0][1])]
    last_t, last_count = ttft, int(events[0][1])
    for t, count in events[1:]:
        new = int(count) - last_count
        if new <= 0:
            continue
        itl.extend([(t - last_t) / new] * new)
        times.append(t)
        tokens.append(new)
        last_t, last_count = t, int(count)
    return ttft, itl, times, tokens


def _checked_generate_args(
    prompt: Any, api: str, max_tokens: Any, temperature: Any, timeout_s: Any
) -> tuple[float, float | None]:
    """Validate :meth:`SGLangClient.generate`'s arguments; returns (temperature, deadline s or None)."""
    if not isinstance(prompt, str):
        raise ValueError("prompt must be a string")
    if api not in APIS:
        raise ValueError(f"api must be one of {APIS}, got {api!r}")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise ValueError(f"max_tokens must be a positive integer, got {max_tokens!r}")
    temperature = float(temperature)
    if not (math.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"temperature must be >= 0, got {temperature!r}")
    if timeout_s is None:
        return temperature, None
    deadline_s = float(timeout_s)
    if not (math.isfinite(deadline_s) and deadline_s > 0):
        raise ValueError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}")
    return temperature, deadline_s


class SGLangClient:
    """Client for one SGLang server.

    Parameters
    ----------
    base_url:
        ``http://host:port`` (optionally with a path prefix). Validated: :class:`InvalidURLError`.
    api_key:
        Sent as ``Authorization: Bearer KEY`` when given. Never stored in records or exports.
    timeout_s:
        Overall deadline of one request in seconds (a whole generation must finish within it).
    connect_timeout_s:
        Time allowed to open the TCP connection.
    stall_timeout_s:
        Longest silence accepted while waiting for response headers or the next bytes of a stream.
        Defaults to ``min(timeout_s, 30)``.
    max_response_bytes:
        Cap on the bytes of one response; a longer response fails with a clear error.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout_s: float = 120.0,
        connect_timeout_s: float = 5.0,
        stall_timeout_s: float | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.base_url = validate_base_url(base_url)
        for name, value in (("timeout_s", timeout_s), ("connect_timeout_s", connect_timeout_s)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        if stall_timeout_s is None:
            stall_timeout_s = min(float(timeout_s), 30.0)
        if not (
            isinstance(stall_timeout_s, (int, float))
            and math.isfinite(stall_timeout_s)
            and stall_timeout_s > 0
        ):
            raise ValueError(f"stall_timeout_s must be a positive number of seconds, got {stall_timeout_s!r}")
        if not isinstance(max_response_bytes, int) or max_response_bytes < 1024:
            raise ValueError(f"max_response_bytes must be an integer >= 1024, got {max_response_bytes!r}")
        self.timeout_s = float(timeout_s)
        self.connect_timeout_s = float(connect_timeout_s)
        self.stall_timeout_s = float(stall_timeout_s)
        self.max_response_bytes = max_response_bytes
        self._session = requests.Session()
        self._session.trust_env = False  # no proxy/netrc surprises: timings are measured end to end
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=64, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers.update({"User-Agent": "speclab-client", "Accept-Encoding": "identity"})
        if api_key:
            self._session.headers["Authorization"] = f"Bearer {api_key}"
        self._lock = threading.Lock()
        self._active: dict[int, tuple[requests.Response, threading.Event | None]] = {}
        self._model_id: str | None = None

    # ------------------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Close the connection pool."""
        self._session.close()

    def __enter__(self) -> SGLangClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SGLangClient({self.base_url!r})"

    def interrupt(self, cancel: threading.Event | None = None) -> int:
        """Cut the streams that are being read now (all, or those started with ``cancel``).

        Used to stop a run at once: each cut request ends with "stopped" once its ``cancel`` event is
        set (set it first). Returns how many streams were cut.
        """
        with self._lock:
            targets = [resp for resp, ev in self._active.values() if cancel is None or ev is cancel]
        for resp in targets:
            sock = _socket_of(resp)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        return len(targets)

    # ------------------------------------------------------------------------------ plain endpoints
    def _describe(self, exc: BaseException, path: str, waited_s: float | None = None) -> SGLangError:
        """Turn a requests/urllib3 exception into one clear :class:`SGLangError`."""
        where = f"{self.base_url}"
        host = urlsplit(self.base_url).hostname or where
        for cause in _causes(exc):
            name = type(cause).__name__
            if isinstance(cause, socket.gaierror) or name == "NameResolutionError":
                return ConnectionFailed(f"could not resolve host {host}")
            if isinstance(cause, ConnectionRefusedError):
                return ConnectionFailed(f"connection refused at {where} (is the server running?)")
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return ConnectionFailed(f"timed out after {_fmt_s(self.connect_timeout_s)} connecting to {where}")
        if isinstance(exc, requests.exceptions.ReadTimeout):
            waited = self.stall_timeout_s if waited_s is None else waited_s
            return ResponseError(f"timed out after {_fmt_s(waited)} waiting for {path} to respond")
        if isinstance(exc, requests.exceptions.SSLError):
            return ConnectionFailed(f"TLS error talking to {where}: {_one_line(str(exc), 120)}")
        if isinstance(exc, requests.exceptions.ConnectionError):
            for cause in _causes(exc):
                if isinstance(cause, (ConnectionResetError, BrokenPipeError)):
                    return ConnectionFailed(f"connection to {where} was reset")
                if isinstance(cause, OSError) and cause.strerror:
                    return ConnectionFailed(f"cannot connect to {where}: {cause.strerror}")
            return ConnectionFailed(f"cannot connect to {where}: {_one_line(str(exc), 120)}")
        return SGLangError(f"request to {path} failed: {_one_line(str(exc), 160)}")

    def _status_error(self, resp: requests.Response, path: str) -> HTTPStatusError:
        status = resp.status_code
        if 300 <= status < 400:
            location = resp.headers.get("Location", "?")
            return HTTPStatusError(
                f"HTTP {status} redirect from {path} to {location}: redirects are not followed, "
                "use the final URL",
                status,
            )
        body = ""
        try:
            raw = resp.raw.read(4096, decode_content=True) or b""
            text = raw.decode("utf-8", "replace")
            try:
                body = _error_message(json.loads(text)) or ""
                if not body:
                    parsed = json.loads(text)
                    body = str(parsed.get("detail", text)) if isinstance(parsed, dict) else text
            except ValueError:
                body = text
        except Exception:  # the status line is the message; the body is only a bonus
            body = ""
        body = _one_line(body) or resp.reason or ""
        hint = ""
        if status in (401, 403):
            hint = " (check the API key)"
        elif status == 404:
            hint = " (is this an SGLang server, and is the URL its root?)"
        elif status == 503 and path == "/health":
            hint = " (server is not ready yet)"
        return HTTPStatusError(f"HTTP {status} from {path}: {body}{hint}".rstrip(": "), status)

    def _get_body(self, path: str) -> bytes:
        """GET ``path`` and return its body (size-capped). Raises :class:`SGLangError`."""
        resp = self._open("GET", path, None)
        try:
            if resp.status_code != 200:
                raise self._status_error(resp, path)
            limit = min(self.max_response_bytes, _MAX_JSON_BYTES)
            data = resp.raw.read(limit + 1, decode_content=True) or b""
            if len(data) > limit:
                raise ResponseError(f"response from {path} is larger than {limit} bytes")
        except (ProtocolError, ReadTimeoutError, Urllib3SSLError, OSError) as exc:
            raise ResponseError(f"reading {path} failed: {_one_line(str(exc), 120)}") from None
        finally:
            resp.close()
        return data

    def _get_json(self, path: str) -> Any:
        """GET ``path`` and parse a JSON answer (size-capped). Raises :class:`SGLangError`."""
        data = self._get_body(path)
        if not data.strip():
            return None
        try:
            return json.loads(data)
        except ValueError:
            raise ResponseError(
                f"{path} did not return JSON: {_one_line(data.decode('utf-8', 'replace'), 80)}"
            ) from None

    def _prepare(self, method: str, path: str, payload: dict | None) -> requests.PreparedRequest:
        """Build the request (headers, JSON body) ahead of time, so timing starts at sending."""
        return self._session.prepare_request(requests.Request(method, self.base_url + path, json=payload))

    def _open(
        self,
        method: str,
        path: str,
        payload: dict | None,
        read_timeout_s: float | None = None,
        prepared: requests.PreparedRequest | None = None,
    ) -> requests.Response:
        read_timeout = self.stall_timeout_s if read_timeout_s is None else read_timeout_s
        try:
            return self._session.send(
                prepared if prepared is not None else self._prepare(method, path, payload),
                stream=True,
                allow_redirects=False,
                timeout=(self.connect_timeout_s, read_timeout),
            )
        except requests.exceptions.RequestException as exc:
            raise self._describe(exc, path, read_timeout) from None

    def health(self) -> bool:
        """``GET /health``: True when the server is ready. Raises :class:`SGLangError` otherwise
        (:class:`ConnectionFailed` when unreachable, :class:`HTTPStatusError` 503 while starting)."""
        resp = self._open("GET", "/health", None)
        try:
            if resp.status_code != 200:
                raise self._status_error(resp, "/health")
        finally:
            resp.close()
        return True

    def model_cards(self) -> list[dict]:
        """The model entries of ``GET /v1/models`` (``id``, ``owned_by``, ``max_model_len``, ...)."""
        data = self._get_json("/v1/models")
        entries = data.get("data") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise ResponseError("/v1/models did not return a model list")
        return [e for e in entries if isinstance(e, dict)]

    def models(self) -> list[str]:
        """Model ids served, from ``GET /v1/models``."""
        return [str(e["id"]) for e in self.model_cards() if e.get("id") is not None]

    def model_id(self) -> str:
        """The first model id of ``/v1/models`` (cached on this client); the OpenAI API needs it."""
        if self._model_id is None:
            ids = self.models()
            if not ids:
                raise ResponseError("/v1/models lists no model")
            self._model_id = ids[0]
        return self._model_id

    def _get_with_fallback(self, path: str, old_path: str) -> Any:
        try:
            return self._get_json(path)
        except HTTPStatusError as exc:
            if exc.status != 404:
                raise
            return self._get_json(old_path)

    def model_info(self) -> dict:
        """``GET /model_info`` (older servers: ``/get_model_info``) as a dict."""
        data = self._get_with_fallback("/model_info", "/get_model_info")
        if not isinstance(data, dict):
            raise ResponseError("/model_info did not return a JSON object")
        return data

    def server_info(self) -> ServerInfo:
        """``GET /server_info`` (older servers: ``/get_server_info``) parsed into a :class:`ServerInfo`."""
        return ServerInfo.from_raw(self._get_with_fallback("/server_info", "/get_server_info"))

    def metrics_text(self) -> str:
        """``GET /metrics``: the server's Prometheus text (SGLang serves it only with
        ``--enable-metrics``; vLLM always)."""
        return self._get_body("/metrics").decode("utf-8", "replace")

    def spec_counters(self) -> SpecCounters | None:
        """vLLM's speculative-decoding counters from ``/metrics`` (None when it has none).
        :class:`ResponseError` when ``/metrics`` is not Prometheus text."""
        try:
            return parse_spec_counters(self.metrics_text())
        except ValueError as exc:
            raise ResponseError(str(exc)) from None

    def flush_cache(self) -> None:
        """``POST /flush_cache``: SGLang clears its prefix cache and resets the counters behind
        ``avg_spec_accept_length``. SGLang refuses (HTTP 400) while requests are running."""
        resp = self._open("POST", "/flush_cache", None)
        try:
            if resp.status_code != 200:
                raise self._status_error(resp, "/flush_cache")
        finally:
            resp.close()

    # ------------------------------------------------------------------------------ generation
    def generate(
        self,
        prompt: str,
        *,
        max_tokens: int = 128,
        temperature: float = 0.0,
        ignore_eos: bool = False,
        api: str = "native",
        category: str = "",
        timeout_s: float | None = None,
        cancel: threading.Event | None = None,
    ) -> RequestRecord:
        """Stream one generation and measure it. Never raises for a failed request: the returned
        :class:`RequestRecord` has ``success=False`` and a one-line ``error``. Raises ``ValueError`` only
        for bad arguments.

        ``api="native"`` posts to SGLang's ``/generate``; ``api="openai"`` to ``/v1/chat/completions``
        (SGLang or vLLM) with ``stream_options.include_usage`` and ``continuous_usage_stats`` (token
        counts come from the usage the server puts on the chunks). ``timeout_s`` overrides the client's
        overall deadline for this request. Setting ``cancel`` (then calling :meth:`interrupt`) stops the
        request early with the error "stopped".
        """
        temperature, deadline_s = _checked_generate_args(prompt, api, max_tokens, temperature, timeout_s)
        if deadline_s is None:
            deadline_s = self.timeout_s
        record = RequestRecord(prompt=prompt, category=category, api=api)
        request = self._generation_request(record, max_tokens, temperature, ignore_eos)
        if request is None:
            record.start_time = time.time()
            return record
        path, payload = request
        try:
            prepared = self._prepare("POST", path, payload)
        except (requests.exceptions.RequestException, ValueError) as exc:
            record.start_time = time.time()
            record.error = f"could not build the request: {_one_line(str(exc), 120)}"
            return record
        if cancel is not None and cancel.is_set():
            record.start_time = time.time()
            record.error = "stopped before the request was sent"
            return record
        state = self._stream(record, path, prepared, deadline_s, cancel)
        self._finish(state)
        record.success = record.error is None
        return record

    def _generation_request(
        self, record: RequestRecord, max_tokens: int, temperature: float, ignore_eos: bool
    ) -> tuple[str, dict] | None:
        """(path, JSON body) of a streamed generation; None (with ``record.error``) when the OpenAI API's
        model id cannot be read."""
        if record.api == "native":
            sampling = {
                "temperature": temperature,
                "max_new_tokens": max_tokens,
                "ignore_eos": bool(ignore_eos),
            }
            return "/generate", {"text": record.prompt, "sampling_params": sampling, "stream": True}
        try:
            model = self.model_id()
        except SGLangError as exc:
            record.error = f"could not read the model id: {exc}"
            return None
        payload = {
            "model": model,
            "messages": [{"role": "user", "content": record.prompt}],
            "temperature": temperature,
            "max_tokens": max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True, "continuous_usage_stats": True},
        }
        if ignore_eos:
            payload["ignore_eos"] = True  # an extra field both SGLang and vLLM accept
        # SGLang 0.5.21+ answers with sglext.spec_tokens_details (per-request verify counts); older SGLang
        # and vLLM ignore the unknown field (vLLM's request models allow extra fields)
        payload["return_spec_tokens_details"] = True
        return "/v1/chat/completions", payload

    def _stream(
        self,
        record: RequestRecord,
        path: str,
        prepared: requests.PreparedRequest,
        deadline_s: float,
        cancel: threading.Event | None,
    ) -> _Stream:
        """Send the prepared request and read its stream into a :class:`_Stream` (errors into the record)."""
        stall = min(self.stall_timeout_s, deadline_s)
        record.start_time = time.time()
        t0 = time.perf_counter()
        state = _Stream(record=record, t0=t0)
        try:
            resp = self._open("POST", path, None, read_timeout_s=stall, prepared=prepared)
        except SGLangError as exc:
            record.error = str(exc)
            return state
        key = id(resp)
        with self._lock:
            self._active[key] = (resp, cancel)
        try:
            if resp.status_code != 200:
                record.error = str(self._status_error(resp, path))
            else:
                self._read_stream(resp, state, path, t0 + deadline_s, stall, cancel)
        except _StreamFailure as exc:
            record.error = str(exc)
        finally:
            with self._lock:
                self._active.pop(key, None)
            if not (record.error is None and state.done and _release_for_reuse(resp)):
                resp.close()
        return state

    def _read_stream(
        self,
        resp: requests.Response,
        state: _Stream,
        path: str,
        deadline: float,
        stall_s: float,
        cancel: threading.Event | None,
    ) -> None:
        """Read SSE lines until ``[DONE]``; raises :class:`_StreamFailure` with the message on failure."""
        record = state.record
        sock = _socket_of(resp)
        handle = self._handle_native if record.api == "native" else self._handle_openai
        buf = bytearray()
        limit = self.max_response_bytes
        line_limit = min(limit, MAX_EVENT_BYTES)

        def stopped() -> bool:
            return cancel is not None and cancel.is_set()

        while True:
            chunk = self._read_chunk(resp, sock, state, deadline, stall_s, stopped)
            t = time.perf_counter()
            if not chunk:
                if stopped():
                    raise _StreamFailure(self._stopped_message(state))
                if buf.strip():
                    self._handle_line(bytes(buf), t, state, handle, path)
                    buf.clear()
                if state.done:
                    return
                raise _StreamFailure(f"stream ended before [DONE]{state.tokens_so_far()}")
            record.bytes_received += len(chunk)
            if record.bytes_received > limit:
                raise _StreamFailure(
                    f"response larger than {limit} bytes (max_response_bytes){state.tokens_so_far()}"
                )
            buf += chunk
            if b"\n" in chunk:
                *lines, rest = buf.split(b"\n")
                buf = bytearray(rest)
                for line in lines:
                    self._handle_line(line, t, state, handle, path)
                    if state.done:
                        return
            if len(buf) > line_limit:
                raise _StreamFailure(f"malformed stream: one event is larger than {line_limit} bytes")
            if stopped():
                raise _StreamFailure(self._stopped_message(state))

    def _read_chunk(
        self,
        resp: requests.Response,
        sock: socket.socket | None,
        state: _Stream,
        deadline: float,
        stall_s: float,
        stopped: Callable[[], bool],
    ) -> bytes:
        """The next bytes of the stream (empty at its end), waiting at most until the stall timeout or the
        deadline; a timeout, a cut connection or a stop becomes a :class:`_StreamFailure`."""
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            raise _StreamFailure(self._deadline_message(deadline - state.t0, state))
        wait = min(stall_s, remaining)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.settimeout(wait)  # the next read waits at most this long
        try:
            return resp.raw.read1(_READ_SIZE)
        except ReadTimeoutError:
            if stopped():
                raise _StreamFailure(self._stopped_message(state)) from None
            if wait >= remaining - 1e-3:
                raise _StreamFailure(self._deadline_message(deadline - state.t0, state)) from None
            raise _StreamFailure(f"stalled: no data for {_fmt_s(wait)}{state.tokens_so_far()}") from None
        except (ProtocolError, Urllib3SSLError, OSError) as exc:
            if stopped():
                raise _StreamFailure(self._stopped_message(state)) from None
            if "IncompleteRead" in repr(exc) or "InvalidChunkLength" in repr(exc):
                raise _StreamFailure(f"stream ended before [DONE]{state.tokens_so_far()}") from None
            raise _StreamFailure(
                f"connection failed mid-stream{state.tokens_so_far()}: {_one_line(str(exc), 100)}"
            ) from None

    @staticmethod
    def _deadline_message(deadline_s: float, state: _Stream) -> str:
        return f"timed out after {_fmt_s(deadline_s)} (request deadline){state.tokens_so_far()}"

    @staticmethod
    def _stopped_message(state: _Stream) -> str:
        return f"stopped before the request finished{state.tokens_so_far()}"

    @staticmethod
    def _handle_line(line: bytes, t: float, state: _Stream, handle, path: str) -> None:
        line = line.strip()
        if not line or line.startswith(b":"):
            return  # blank separator, or an SSE comment (keep-alive)
        name, sep, value = line.partition(b":")
        if not sep:
            shown = _one_line(bytes(line).decode("utf-8", "replace"), 60)
            raise _StreamFailure(f"malformed stream: line without a 'data:' field: {shown!r}")
        name = name.strip()
        if name in (b"event", b"id", b"retry"):
            return
        if name != b"data":
            shown = _one_line(bytes(name).decode("utf-8", "replace"), 40)
            raise _StreamFailure(f"malformed stream: unexpected SSE field {shown!r}")
        value = value.strip()
        if value == b"[DONE]":
            state.record.e2e_s = t - state.t0
            state.done = True
            return
        record = state.record
        if record.streaming_mode == "cumulative" and record.api == "native":
            # Cumulative events repeat the whole output, so parsing each one costs O(length): read only
            # its meta_info (token count, finish) and parse the newest event fully once, at the end.
            meta = _tail_meta(value)
            if meta is not None:
                record.e2e_s = t - state.t0
                state.last_raw = bytes(value)
                count = _native_counts(meta, state)
                state.events.append((t - state.t0, count))  # cumulative text is never empty again
                _native_finish(meta, record)
                return
        try:
            data = json.loads(value)
        except ValueError:
            shown = _one_line(bytes(value).decode("utf-8", "replace"), 60)
            raise _StreamFailure(f"malformed stream: invalid JSON from {path}: {shown!r}") from None
        message = _error_message(data)
        if message is not None:
            raise _StreamFailure(f"server error event: {message}")
        if not isinstance(data, dict):
            raise _StreamFailure(
                f"malformed stream: event is a JSON {type(data).__name__}, expected an object"
            )
        state.record.e2e_s = t - state.t0  # the latest event so far; [DONE] sets the final value
        handle(data, t, state)

    # native /generate ------------------------------------------------------------------------------
    def _handle_native(self, data: dict, t: float, state: _Stream) -> None:
        meta = data.get("meta_info")
        if not isinstance(meta, dict):
            raise _StreamFailure("malformed stream: /generate event without meta_info")
        text = data.get("text")
        if text is not None and not isinstance(text, str):
            raise _StreamFailure("malformed stream: 'text' is not a string")
        count = _native_counts(meta, state)
        if text:
            self._keep_native_text(state, text, data.get("output_ids"), count)
            state.last_raw = None
            state.events.append((t - state.t0, count))
        _native_finish(meta, state.record)

    @staticmethod
    def _keep_native_text(state: _Stream, text: str, output_ids: Any, count: int | None) -> None:
        """Keep the generated text, telling cumulative streams (SGLang's default) from incremental ones
        (``--incremental-streaming-output``): by the length of ``output_ids`` when present (cumulative
        ids are as long as the running token count), else by whether the new text extends the old."""
        record = state.record
        if record.streaming_mode is None and state.events:
            previous = state.events[-1][1] or 0
            if isinstance(output_ids, list) and output_ids and count is not None and count > previous:
                cumulative = len(output_ids) == count
            else:
                cumulative = text.startswith(state.cumulative_text)
            record.streaming_mode = "cumulative" if cumulative else "incremental"
            if not cumulative:
                _append_text(state, state.cumulative_text)
        if record.streaming_mode == "incremental":
            _append_text(state, text)
        else:
            state.cumulative_text = text

    # OpenAI /v1/chat/completions ------------------------------------------------------------------
    @staticmethod
    def _handle_openai(data: dict, t: float, state: _Stream) -> None:
        record = state.record
        record.streaming_mode = "chunks"
        usage = data.get("usage")
        chunk_count = None
        if isinstance(usage, dict):
            chunk_count = _as_int(usage.get("completion_tokens"))
            if chunk_count is not None:
                state.usage_tokens = chunk_count
            if usage.get("prompt_tokens") is not None:
                record.prompt_tokens = _as_int(usage.get("prompt_tokens"))
            details = usage.get("prompt_tokens_details")
            if isinstance(details, dict) and details.get("cached_tokens") is not None:
                record.cached_tokens = _as_int(details.get("cached_tokens"))
        ext = data.get("sglext")
        if isinstance(ext, dict):
            spec = ext.get("spec_tokens_details")
            _read_meta(record, spec if isinstance(spec, dict) else ext)
        metrics = data.get("metrics")
        if isinstance(metrics, dict) and isinstance(metrics.get("speculative_decoding"), dict):
            _read_vllm_spec(record, metrics["speculative_decoding"])
        choices = data.get("choices")
        if not isinstance(choices, list):
            raise _StreamFailure("malformed stream: chat chunk without a 'choices' list")
        if not choices:
            return  # the final usage chunk
        choice = choices[0] if isinstance(choices[0], dict) else {}
        if choice.get("finish_reason"):
            record.finish_reason = str(choice["finish_reason"])
        delta = choice.get("delta")
        content = ""
        if isinstance(delta, dict):
            content = (delta.get("content") or "") + (delta.get("reasoning_content") or "")
        if content:
            _append_text(state, content)
            state.events.append((t - state.t0, chunk_count))

    @staticmethod
    def _finish(state: _Stream) -> None:
        """Turn the collected events into the record's timing fields and final text / token count."""
        record = state.record
        ttft, itl, times, tokens = bench_serving_timing(state.events)
        record.ttft_s, record.itl_s, record.event_times_s, record.event_tokens = ttft, itl, times, tokens
        if record.api == "openai":
            record.output_text = "".join(state.text_parts)
            if state.usage_tokens is not None:
                record.completion_tokens = state.usage_tokens
            elif record.error is None:
                record.error = (
                    "server sent no usage.completion_tokens, so the tokens cannot be counted "
                    "(stream_options.include_usage not supported?)"
                )
            return
        if state.events and not state.counted and record.error is None:
            record.error = "malformed stream: /generate never reported meta_info.completion_tokens"
        if state.last_raw is not None:
            try:
                final = json.loads(state.last_raw)
                state.cumulative_text = final["text"] if isinstance(final["text"], str) else ""
            except (ValueError, TypeError, KeyError):
                if record.error is None:
                    shown = _one_line(state.last_raw.decode("utf-8", "replace"), 60)
                    record.error = f"malformed stream: invalid JSON from /generate: {shown!r}"
        if record.streaming_mode == "incremental":
            record.output_text = "".join(state.text_parts)
        else:
            text = state.cumulative_text
            if text and record.streaming_mode is None:
                record.streaming_mode = "cumulative"  # a single text event: nothing to tell apart
            record.output_text = text[:OUTPUT_TEXT_LIMIT]
            record.output_truncated = len(text) > OUTPUT_TEXT_LIMIT


_DECODER = json.JSONDecoder()


def _tail_meta(value: bytes) -> dict | None:
    """The ``meta_info`` object of a ``/generate`` event, decoded without parsing the rest of it.

    Relies on ``"meta_info"`` being the event's last key (SGLang writes text, output_ids, meta_info) and
    on JSON escaping: inside a string a quote is always escaped, so ``"meta_info"`` cannot occur in the
    text. Returns None whenever the shape is not the expected one; the caller then parses the whole event.
    """
    if value[:1] != b"{" or value[-1:] != b"}":
        return None
    key = value.rfind(b'"meta_info"')
    if key < 0:
        return None
    colon = value.find(b":", key + 11)
    if colon < 0 or value[key + 11 : colon].strip():
        return None
    try:
        tail = bytes(value[colon + 1 :]).decode("utf-8").lstrip()
        meta, end = _DECODER.raw_decode(tail)
    except ValueError:
        return None
    if not isinstance(meta, dict) or tail[end:].strip() != "}":
        return None
    return meta


def _native_counts(meta: dict, state: _Stream) -> int | None:
    """Read a /generate event's meta_info into the record; returns its running token count (or None)."""
    record = state.record
    _read_meta(record, meta)
    count = _as_int(meta.get("completion_tokens"))  # None: this event did not say (checked at the end)
    if count is not None:
        state.counted = True
        record.completion_tokens = max(record.completion_tokens, count)
    return count


def _native_finish(meta: dict, record: RequestRecord) -> None:
    """Keep the finish reason; an aborted request fails with the server's reason."""
    finish = meta.get("finish_reason")
    if isinstance(finish, dict):
        kind = str(finish.get("type", "")) or None
        record.finish_reason = kind
        if kind == "abort":
            reason = _one_line(str(finish.get("message") or "no reason given"))
            raise _StreamFailure(f"request aborted by the server: {reason}")
    elif isinstance(finish, str):
        record.finish_reason = finish


def _read_meta(record: RequestRecord, meta: dict) -> None:
    """Copy SGLang's per-request facts (token counts, server latency, speculation stats) into a record."""
    if meta.get("prompt_tokens") is not None:
        record.prompt_tokens = _as_int(meta.get("prompt_tokens"))
    if meta.get("cached_tokens") is not None:
        record.cached_tokens = _as_int(meta.get("cached_tokens"))
    if meta.get("e2e_latency") is not None:
        record.server_e2e_s = _as_float(meta.get("e2e_latency"))
    for key in (
        "spec_verify_ct",
        "spec_accept_token_num",
        "spec_draft_token_num",
        "spec_num_correct_drafts",
        "spec_num_proposed_drafts",
    ):
        if meta.get(key) is not None:
            setattr(record, key, _as_int(meta.get(key)))
    for key in ("spec_accept_length", "spec_accept_rate"):
        if meta.get(key) is not None:
            setattr(record, key, _as_float(meta.get(key)))


def _read_vllm_spec(record: RequestRecord, spec: dict) -> None:
    """vLLM's per-request ``metrics.speculative_decoding`` (0.34, ``--enable-per-request-metrics``)."""
    record.spec_verify_ct = _as_int(spec.get("num_spec_steps"))
    record.spec_num_correct_drafts = _as_int(spec.get("num_accepted_draft_tokens"))
    record.spec_num_proposed_drafts = _as_int(spec.get("num_draft_tokens"))


def _append_text(state: _Stream, text: str) -> None:
    """Append to the kept output text, up to :data:`OUTPUT_TEXT_LIMIT` characters."""
    room = OUTPUT_TEXT_LIMIT - state.text_len
    if room <= 0:
        state.record.output_truncated = state.record.output_truncated or bool(text)
        return
    piece = text[:room]
    state.text_parts.append(piece)
    state.text_len += len(piece)
    if len(text) > room:
        state.record.output_truncated = True


def _release_for_reuse(resp: requests.Response) -> bool:
    """After ``[DONE]``, read the end of the HTTP body (briefly) and give the connection back to the
    pool, so the next request does not pay TCP/TLS set-up inside its TTFT. False: close it instead."""
    sock = _socket_of(resp)
    try:
        if sock is not None:
            sock.settimeout(_DRAIN_WAIT_S)
        for _ in range(4):
            if not resp.raw.read1(_READ_SIZE):
                resp.raw.release_conn()  # urllib3 sets fresh timeouts when it reuses the connection
                return True
    except Exception:  # anything odd: do not reuse this connection
        return False
    return False


def _socket_of(resp: requests.Response) -> socket.socket | None:
    """The socket under a streamed response, when urllib3 exposes it (for timeouts and interrupts)."""
    try:
        conn = resp.raw.connection
        sock = getattr(conn, "sock", None)
        return sock if isinstance(sock, socket.socket) else None
    except AttributeError:
        return None
