"""What the Live benchmark page does, without Streamlit: connect, practice servers, limits, queue, files.

The page (``pages/live_benchmark.py``) stays thin: it draws widgets and charts and keeps this module's
objects in ``st.session_state``. Everything here is plain Python and is tested on its own.

* :class:`PracticeLease` / :func:`start_practice_server`: a GPU-free practice server started for one user
  session, stopped by the session (reset) or, at the latest, after a fixed lifetime, so a closed browser tab
  cannot leave servers running for ever.
* :func:`connect`: check a URL against the :class:`~core.server_policy.ServerPolicy` (refused URLs are never
  contacted), then read the server's ``/server_info`` into a :class:`Connection`.
* :func:`server_card`: the facts the page shows about a server, as (label, value) rows.
* :func:`clamp_run_settings`: a run's size clamped to the policy's limits, with a message for each clamp.
* :func:`wait_for_turn`: wait in the process-wide per-server FIFO queue (:mod:`core.run_queue`).
* :func:`simulator_link_params`: a measured accept length turned into a Simulator deep link (alpha, gamma).

Times are seconds; accept lengths are tokens per verify pass, bonus token included.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from core.closed_form import alpha_from_accept_length
from core.practice_server import PracticeConfig, PracticeServer
from core.run_queue import ServerQueue, Ticket
from core.server_policy import ServerPolicy, URLRefused, check_url
from core.sglang_client import ServerInfo, SGLangClient, SGLangError

__all__ = [
    "DEFAULT_URL",
    "MAX_PRACTICE_SERVERS",
    "PRACTICE_KINDS",
    "PRACTICE_LIFETIME_S",
    "Connection",
    "PracticeLease",
    "RunSize",
    "clamp_run_settings",
    "connect",
    "gamma_of",
    "server_card",
    "simulator_link_params",
    "start_practice_server",
    "wait_for_turn",
]

#: SGLang's default address, and what the URL field shows first.
DEFAULT_URL = "http://localhost:30000"
#: Practice servers one session may run at once (one baseline and one speculative is the lesson).
MAX_PRACTICE_SERVERS = 2
#: A practice server stops itself this long after it started, even if its session never comes back.
PRACTICE_LIFETIME_S = 3600.0
#: The two practice servers the page offers: plain decoding, and EAGLE-3 with SGLang's automatic settings.
PRACTICE_KINDS: Mapping[str, str] = {
    "baseline": "plain decoding (no speculation)",
    "speculative": "EAGLE-3 speculation (SGLang's automatic steps/topk/draft tokens)",
}
#: Connect timeout (seconds) for the connect button: a server that does not answer fails fast.
CONNECT_TIMEOUT_S = 3.0


# ------------------------------------------------------------------------------------ practice servers
@dataclass
class PracticeLease:
    """A practice server started for one session. ``expires_at`` (Unix seconds): it stops itself then."""

    kind: str
    server: PracticeServer
    url: str
    started_at: float
    expires_at: float
    _timer: threading.Timer | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        """True until :meth:`stop` ran (by the session, or by the lifetime timer)."""
        return not self.server.stop_event.is_set()

    def stop(self) -> None:
        """Stop the server and its lifetime timer. Safe to call twice."""
        if self._timer is not None:
            self._timer.cancel()
        self.server.stop()

    def describe(self) -> str:
        """One line for the page: kind, URL and how long it has left."""
        left_min = max(0, math.ceil((self.expires_at - time.time()) / 60))
        state = f"stops itself in {left_min} min" if self.running else "stopped"
        return f"practice {self.kind} server at {self.url} ({state})"


def start_practice_server(
    kind: str,
    running: list[PracticeLease] | tuple[PracticeLease, ...] = (),
    *,
    time_scale: float = 1.0,
    lifetime_s: float = PRACTICE_LIFETIME_S,
    max_servers: int = MAX_PRACTICE_SERVERS,
    **overrides,
) -> PracticeLease:
    """Start a practice server of ``kind`` ("baseline" or "speculative") on a free local port.

    ``running``: the session's leases so far; raises ``RuntimeError`` when ``max_servers`` of them still
    run. ``time_scale`` multiplies the simulated model time (1.0 = the cost model's H100 timing).
    ``overrides`` go to :class:`~core.practice_server.PracticeConfig` (tests use ``fault=...``).
    Raises ``ValueError`` for an unknown kind or a bad config.
    """
    if kind not in PRACTICE_KINDS:
        raise ValueError(f"unknown practice server kind {kind!r}; choose one of {', '.join(PRACTICE_KINDS)}")
    alive = [lease for lease in running if lease.running]
    if len(alive) >= max_servers:
        raise RuntimeError(
            f"this session already runs {len(alive)} practice servers (the most allowed); stop one first"
        )
    if not (isinstance(lifetime_s, int | float) and math.isfinite(lifetime_s) and lifetime_s > 0):
        raise ValueError(f"lifetime_s must be a positive number of seconds, got {lifetime_s!r}")
    config = PracticeConfig(speculative=kind == "speculative", time_scale=time_scale, **overrides)
    server = PracticeServer(config)
    url = server.start()
    now = time.time()
    timer = threading.Timer(lifetime_s, server.stop)
    timer.daemon = True
    timer.start()
    return PracticeLease(kind, server, url, now, now + lifetime_s, timer)


# ------------------------------------------------------------------------------------------ connect
@dataclass(frozen=True)
class Connection:
    """A server the session connected to: its checked URL, what ``/server_info`` said, and readiness.

    ``ready_error`` is None when ``/health`` answered 200, else the one-line reason (e.g. still starting).
    The API key is deliberately not kept here (it lives only in the password widget).
    """

    url: str
    info: ServerInfo
    ready_error: str | None = None

    @property
    def simulated(self) -> bool:
        """True for the practice server: everything measured against it is SIMULATED."""
        return self.info.is_practice_server


def make_client(url: str, api_key: str | None, policy: ServerPolicy, **kwargs) -> SGLangClient:
    """An :class:`SGLangClient` with the policy's response-size and time limits."""
    return SGLangClient(
        url,
        api_key or None,
        timeout_s=policy.request_timeout_s,
        max_response_bytes=max(1024, int(policy.max_response_bytes)),
        **kwargs,
    )


def connect(
    url: str,
    api_key: str | None,
    policy: ServerPolicy,
    *,
    resolver=None,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
) -> Connection:
    """Check ``url`` against ``policy`` and read the server's facts.

    Raises :class:`~core.server_policy.URLRefused` (the server is never contacted),
    :class:`~core.sglang_client.InvalidURLError` (a ``ValueError``) for a malformed URL, or
    :class:`~core.sglang_client.SGLangError` when the server cannot be reached or answers badly.
    """
    checked = check_url(url, policy, resolver=resolver)
    with make_client(checked, api_key, policy, connect_timeout_s=connect_timeout_s) as client:
        info = client.server_info()
        ready_error = None
        try:
            client.health()
        except SGLangError as error:
            ready_error = str(error)
    return Connection(url=checked, info=info, ready_error=ready_error)


def gamma_of(info: ServerInfo) -> int | None:
    """Most draft tokens one verify pass can accept on this server (the Simulator's gamma).

    The draft tree is ``num_steps`` deep and holds ``num_draft_tokens - 1`` drafts, so the longest accepted
    path is ``min(num_steps, num_draft_tokens - 1)``. None without speculation or when the server does not
    report its steps.
    """
    if not info.speculative or info.num_steps is None:
        return None
    gamma = info.num_steps
    if info.num_draft_tokens is not None:
        gamma = min(gamma, info.num_draft_tokens - 1)
    return gamma if gamma >= 1 else None


def _or_dash(value) -> str:
    return "—" if value is None else str(value)


def server_card(info: ServerInfo) -> list[tuple[str, str]]:
    """(label, value) rows describing a server, in the order the page shows them."""
    rows = [
        ("Model", _or_dash(info.model_path)),
        ("Speculation", "on" if info.speculative else "off"),
    ]
    if info.speculative:
        rows += [
            ("Algorithm", _or_dash(info.speculative_algorithm)),
            ("Draft model", _or_dash(info.draft_model_path)),
            (
                "Steps / topk / draft tokens",
                f"{_or_dash(info.num_steps)} / {_or_dash(info.eagle_topk)} / {_or_dash(info.num_draft_tokens)}",
            ),
        ]
    rows.append(("Max running requests", _or_dash(info.max_running_requests)))
    if info.speculative:
        accept = info.avg_spec_accept_length
        rows.append(
            (
                "Accept length so far (server)",
                "not reported yet" if accept is None else f"{accept:.2f} tokens per verify pass",
            )
        )
    if info.version:
        rows.append(("Server version", info.version))
    return rows


# --------------------------------------------------------------------------------------- run limits
@dataclass(frozen=True)
class RunSize:
    """How big one run is: requests in total, requests in flight at once, and max new tokens each."""

    num_requests: int
    concurrency: int
    max_tokens: int


def clamp_run_settings(size: RunSize, policy: ServerPolicy) -> tuple[RunSize, list[str]]:
    """``size`` with each value clamped to the policy's limits, plus one message per value changed."""
    messages: list[str] = []
    where = "this classroom server" if policy.hosted else "this app"

    def clamp(value: int, limit: int, what: str) -> int:
        value = max(1, int(value))
        if value > limit:
            messages.append(f"{where} allows at most {limit} {what}; using {limit}.")
            return int(limit)
        return value

    requests = clamp(size.num_requests, policy.max_requests_per_run, "requests per run")
    concurrency = clamp(size.concurrency, policy.max_concurrency, "concurrent requests")
    tokens = clamp(size.max_tokens, policy.max_tokens, "new tokens per request")
    if concurrency > requests:
        concurrency = requests  # more slots than requests would only idle
    return RunSize(requests, concurrency, tokens), messages


# ------------------------------------------------------------------------------------------- queue
def wait_for_turn(
    queue: ServerQueue,
    ticket: Ticket,
    *,
    on_wait: Callable[[int], None] = lambda ahead: None,
    should_stop: Callable[[], bool] = lambda: False,
    poll_s: float = 0.5,
    max_wait_s: float = 900.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Wait until ``ticket`` may run. Returns "run", "stopped", "expired" (dropped from the queue) or
    "timeout" (waited ``max_wait_s``). ``on_wait(runs_ahead)`` is called on every poll while waiting (the
    page updates its message there, which also lets Streamlit stop the script)."""
    start = clock()
    while True:
        if should_stop():
            return "stopped"
        if queue.try_start(ticket):
            return "run"
        ahead = queue.position(ticket)
        if ahead is None:
            return "expired"
        if clock() - start >= max_wait_s:
            return "timeout"
        on_wait(ahead)
        sleep(poll_s)


# ------------------------------------------------------------------------------ simulator deep link
def simulator_link_params(accept_length: float | None, gamma: int | None) -> dict[str, str] | None:
    """Query parameters opening the Simulator's basics on the i.i.d. alpha that matches a measured accept
    length for this gamma (``docs/developing.md`` contract). None when either is missing or out of range."""
    if accept_length is None or gamma is None or gamma < 1:
        return None
    accept_length = float(accept_length)
    if not math.isfinite(accept_length):
        return None
    # A server's lifetime mean can sit a hair outside [1, gamma + 1] from rounding; anything further is not
    # an accept length for this gamma.
    if not (1.0 - 1e-6 <= accept_length <= gamma + 1 + 1e-6):
        return None
    alpha = alpha_from_accept_length(min(max(accept_length, 1.0), gamma + 1.0), gamma)
    return {"section": "basics", "alpha": f"{alpha:.2f}", "gamma": str(int(gamma))}


def refuse_reason(url: str, policy: ServerPolicy, resolver=None) -> str | None:
    """The policy's message when ``url`` may not be contacted, else None (never contacts the server)."""
    try:
        check_url(url, policy, resolver=resolver)
    except URLRefused as error:
        return str(error)
    return None
