"""Stream simulator for adaptive speculation: a server decoding a stream of requests of changing types.

The model, in the order the code follows it:

* **Workload** (``core/data/workloads.toml``, illustrative assumptions): prompt types (structured, code,
  chat, creative), each with a mean first-draft acceptance per draft kind, a spread between requests, a
  decay with draft depth and an output length; and mixes of types that may change in phases.
* **Request stream** (:func:`make_stream`): each request gets a true type, its own acceptance alpha_r
  (Beta distributed around the type mean), a per-position decay (draft j is accepted with probability
  ``alpha_r * decay^(j-1)`` given the ones before it were), an output length in tokens and an example prompt
  whose :func:`core.simulation.prompt_classifier.classify` result is what a controller may know about the request.
* **Server**: ``n_slots`` requests decode together in lock-step (the load level, i.e. the batch size).
  Each step a controller (:mod:`core.simulation.controllers`) picks one gamma for the batch; every active request
  drafts, is verified and gains ``accepted + 1`` tokens (capped at what it still needs). The step lasts
  ``step_times_s[active, gamma]`` seconds, from the cost model (:func:`step_time_table`). A finished request
  frees its slot for the next request in the stream. The run ends when a slot frees and no request is
  left, so the batch stays at ``n_slots`` for the whole measurement (at ``n_slots = 1`` every request of
  the stream completes).
* **Metrics**: goodput (output tokens per second: accepted drafts plus the one token every verify pass
  adds), speedup against no speculation on the same stream, wasted drafts (proposed minus accepted), and a
  time series in windows of output tokens (acceptance observed and estimated, gamma, share of steps with
  speculation on, cumulative goodput).

The stream is drawn with NumPy from ``seed`` before simulation, so every controller faces the same requests;
the acceptance coin flips are drawn inside the Numba kernel, seeded inside the same call (thread-safe, same
seed gives the same result from any thread). :func:`simulate_reference` is a slow, plain-Python version of
the kernel that drives the controllers through their common interface; tests check both agree exactly.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType

import numpy as np
import pandas as pd
from numba import njit

from core.simulation import controllers as ctl
from core.simulation.prompt_classifier import PROMPT_TYPES, classify, type_index

__all__ = [
    "PromptTypeSpec",
    "Phase",
    "Workload",
    "WorkloadData",
    "RequestStream",
    "StreamRun",
    "Comparison",
    "load_workloads",
    "draft_kind",
    "type_expected_tokens",
    "make_stream",
    "step_time_table",
    "closed_form_step_times",
    "default_controllers",
    "simulate",
    "simulate_reference",
    "compare",
    "warm_up",
    "MAX_SLOTS",
    "MAX_REQUESTS",
]

MAX_SLOTS = 1024
MAX_REQUESTS = 50_000
_SEED_LIMIT = 2**32

# Window fields (columns of the per-window sums the kernel returns); per-type active counts follow.
(
    _W_TIME,
    _W_STEPS,
    _W_TOKENS,
    _W_PROPOSED,
    _W_ACCEPTED,
    _W_TRIALS,
    _W_GAMMA,
    _W_ON,
    _W_EST,
    _W_EST_STEPS,
    _W_ACTIVE,
    _W_TRUE_ALPHA,
) = range(12)
_W_TYPES = 12
# Totals.
_T_TIME, _T_STEPS, _T_TOKENS, _T_PROPOSED, _T_ACCEPTED, _T_TRIALS, _T_ON, _T_GAMMA, _T_DONE = range(9)
_N_TOTALS = 9


# ------------------------------------------------------------------------------------------- workloads


@dataclass(frozen=True)
class PromptTypeSpec:
    """One prompt type of the workload file (acceptance per draft kind, spread, decay, length, prior)."""

    name: str
    label: str
    alpha: Mapping[str, float]
    concentration: float
    depth_decay: float
    mean_tokens: int
    min_tokens: int
    max_tokens: int
    prior_alpha: float
    examples: tuple[str, ...]


@dataclass(frozen=True)
class Phase:
    """A stretch of the stream: ``share`` of all requests, types drawn with ``weights``."""

    name: str
    share: float
    weights: Mapping[str, float]


@dataclass(frozen=True)
class Workload:
    id: str
    label: str
    description: str
    phases: tuple[Phase, ...]


@dataclass(frozen=True)
class WorkloadData:
    """Everything in ``core/data/workloads.toml``; ``types`` is ordered like ``PROMPT_TYPES``."""

    types: tuple[PromptTypeSpec, ...]
    workloads: Mapping[str, Workload]
    draft_kinds: Mapping[str, str]
    source: str


def _parse_workloads(data: dict) -> WorkloadData:
    types_raw = data.get("types", {})
    if set(types_raw) != set(PROMPT_TYPES):
        raise ValueError(f"workloads.toml must define exactly the prompt types {PROMPT_TYPES}")
    types = []
    for name in PROMPT_TYPES:
        t = types_raw[name]
        spec = PromptTypeSpec(
            name=name,
            label=str(t["label"]),
            alpha=MappingProxyType({str(k): float(v) for k, v in t["alpha"].items()}),
            concentration=float(t["concentration"]),
            depth_decay=float(t["depth_decay"]),
            mean_tokens=int(t["mean_tokens"]),
            min_tokens=int(t["min_tokens"]),
            max_tokens=int(t["max_tokens"]),
            prior_alpha=float(t["prior_alpha"]),
            examples=tuple(str(e) for e in t["examples"]),
        )
        if not all(0.0 < a < 1.0 for a in spec.alpha.values()) or not 0.0 < spec.depth_decay <= 1.0:
            raise ValueError(f"type {name}: alpha must lie in (0, 1) and depth_decay in (0, 1]")
        if not 1 <= spec.min_tokens <= spec.mean_tokens <= spec.max_tokens or not spec.examples:
            raise ValueError(f"type {name}: need 1 <= min_tokens <= mean_tokens <= max_tokens and examples")
        if spec.concentration <= 0 or not 0.0 <= spec.prior_alpha <= 1.0:
            raise ValueError(f"type {name}: concentration must be positive and prior_alpha in [0, 1]")
        types.append(spec)
    workloads = {}
    for wid, w in data.get("workloads", {}).items():
        phases = []
        for p in w["phases"]:
            weights = {str(k): float(v) for k, v in p["weights"].items()}
            unknown = set(weights) - set(PROMPT_TYPES)
            if unknown or sum(weights.values()) <= 0 or min(weights.values()) < 0:
                raise ValueError(f"workload {wid}: bad weights {weights}")
            phases.append(Phase(str(p["name"]), float(p["share"]), MappingProxyType(weights)))
        if not phases or abs(sum(p.share for p in phases) - 1.0) > 1e-9:
            raise ValueError(f"workload {wid}: phase shares must add up to 1")
        workloads[wid] = Workload(wid, str(w["label"]), str(w["description"]), tuple(phases))
    return WorkloadData(
        types=tuple(types),
        workloads=MappingProxyType(workloads),
        draft_kinds=MappingProxyType({str(k): str(v) for k, v in data.get("draft_kinds", {}).items()}),
        source=str(data.get("meta", {}).get("source", "")),
    )


@functools.cache
def load_workloads() -> WorkloadData:
    """Prompt types, workload mixes and draft kinds from ``core/data/workloads.toml`` (read once, shared by
    every session, so every mapping in it is read-only)."""
    text = resources.files("core").joinpath("data/workloads.toml").read_text(encoding="utf-8")
    return _parse_workloads(tomllib.loads(text))


def draft_kind(draft_id: str) -> str:
    """Which acceptance column a cost-model draft preset uses ("learned" or "ngram"; unknown: "learned")."""
    return load_workloads().draft_kinds.get(str(draft_id), "learned")


def type_expected_tokens(kind: str = "learned", max_gamma: int = ctl.MAX_GAMMA) -> np.ndarray:
    """Exact expected tokens per verify pass for each prompt type (rows) and gamma 0..max_gamma (columns).

    With alpha_r ~ Beta(a, b) (mean alpha, a + b = concentration) and per-position decay d,
    E[N](g) = 1 + sum_{j=1..g} E[alpha_r^j] d^(j(j-1)/2), where E[alpha^j] = prod_{i<j} (a+i)/(a+b+i).
    This is the knowledge of the per-type oracle.
    """
    data = load_workloads()
    out = np.zeros((len(data.types), int(max_gamma) + 1))
    for row, t in enumerate(data.types):
        mean = _type_alpha(t, kind)
        a, b = mean * t.concentration, (1.0 - mean) * t.concentration
        moment = 1.0
        total = 1.0
        out[row, 0] = 1.0
        for j in range(1, int(max_gamma) + 1):
            moment *= (a + j - 1) / (a + b + j - 1)
            total += moment * t.depth_decay ** (j * (j - 1) / 2)
            out[row, j] = total
    return out


def _type_alpha(t: PromptTypeSpec, kind: str) -> float:
    return t.alpha.get(kind, t.alpha.get("learned", next(iter(t.alpha.values()))))


# -------------------------------------------------------------------------------------------- stream


@dataclass(frozen=True)
class RequestStream:
    """The requests of one simulated stream, in arrival order (all arrays have one entry per request).

    ``alpha``: the request's first-draft acceptance; ``decay``: per-position decay; ``length``: output
    tokens it needs; ``true_type`` / ``prompt_class``: indices into :data:`PROMPT_TYPES` (the truth, and what
    the classifier said about ``prompt``); ``phase``: index into ``phase_names``. ``prior_alpha``: the
    controllers' prior per type; ``expected_tokens``: the per-type oracle's table (see
    :func:`type_expected_tokens`).
    """

    workload_id: str
    draft_kind: str
    seed: int
    alpha: np.ndarray
    decay: np.ndarray
    length: np.ndarray
    true_type: np.ndarray
    prompt_class: np.ndarray
    phase: np.ndarray
    prompts: tuple[str, ...]
    phase_names: tuple[str, ...]
    prior_alpha: np.ndarray
    expected_tokens: np.ndarray

    @property
    def n_requests(self) -> int:
        return int(self.alpha.shape[0])

    @property
    def total_tokens(self) -> int:
        return int(self.length.sum())

    def phase_starts(self) -> list[tuple[str, int]]:
        """(phase name, output tokens of all earlier requests) for each phase: where a phase begins on a
        chart whose x axis is output tokens. Exact at one request at a time; with several concurrent
        requests the change is spread over the few requests in flight."""
        starts = []
        for k, name in enumerate(self.phase_names):
            first = np.flatnonzero(self.phase == k)
            if first.size:
                starts.append((name, int(self.length[: first[0]].sum())))
        return starts

    def classifier_accuracy(self) -> float:
        """Share of requests whose prompt the classifier put in their true type."""
        return float(np.mean(self.true_type == self.prompt_class))


def _check_int(label: str, value, lo: int, hi: int) -> int:
    try:
        ok = not isinstance(value, bool) and float(value) == int(value)
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok or not lo <= int(value) <= hi:
        raise ValueError(f"{label} must be a whole number between {lo} and {hi}, got {value!r}")
    return int(value)


@functools.lru_cache(maxsize=1024)  # bounded: a process-wide cache must not grow with what users type
def _classified(prompt: str) -> int:
    return type_index(classify(prompt).kind)


def make_stream(
    workload: str, n_requests: int, seed: int, draft: str = "eagle3-llama-3.1-8b"
) -> RequestStream:
    """Draw a request stream for ``workload`` (an id in workloads.toml) from ``seed``.

    ``draft`` is a cost-model draft preset id; it selects the acceptance column (:func:`draft_kind`).
    """
    data = load_workloads()
    if workload not in data.workloads:
        raise ValueError(f"unknown workload {workload!r}; choose one of: {', '.join(data.workloads)}")
    n = _check_int("number of requests", n_requests, 1, MAX_REQUESTS)
    seed = _check_int("seed", seed, 0, _SEED_LIMIT - 1)
    kind = draft_kind(draft)
    rng = np.random.default_rng([seed, 0x5EED])
    phases = data.workloads[workload].phases
    counts = [int(round(p.share * n)) for p in phases]
    counts[-1] = n - sum(counts[:-1])
    phase = np.repeat(np.arange(len(phases)), np.maximum(counts, 0))[:n]
    true_type = np.empty(n, dtype=np.int64)
    for k, p in enumerate(phases):
        where = np.flatnonzero(phase == k)
        weights = np.array([p.weights.get(name, 0.0) for name in PROMPT_TYPES])
        true_type[where] = rng.choice(len(PROMPT_TYPES), size=where.size, p=weights / weights.sum())
    alpha = np.empty(n)
    decay = np.empty(n)
    length = np.empty(n, dtype=np.int64)
    prompts: list[str] = [""] * n
    for t_index, t in enumerate(data.types):
        where = np.flatnonzero(true_type == t_index)
        mean = _type_alpha(t, kind)
        alpha[where] = rng.beta(mean * t.concentration, (1.0 - mean) * t.concentration, size=where.size)
        decay[where] = t.depth_decay
        # Gamma-distributed lengths (shape 2: a coefficient of variation of 0.7), clipped to the type's range.
        drawn = rng.gamma(2.0, t.mean_tokens / 2.0, size=where.size)
        length[where] = np.clip(np.rint(drawn), t.min_tokens, t.max_tokens).astype(np.int64)
        for r, e in zip(where, rng.integers(0, len(t.examples), size=where.size), strict=True):
            prompts[r] = t.examples[e]
    prompt_class = np.array([_classified(p) for p in prompts], dtype=np.int64)
    return RequestStream(
        workload_id=workload,
        draft_kind=kind,
        seed=seed,
        alpha=np.minimum(alpha, 1.0 - 1e-9),
        decay=decay,
        length=length,
        true_type=true_type,
        prompt_class=prompt_class,
        phase=phase.astype(np.int64),
        prompts=tuple(prompts),
        phase_names=tuple(p.name for p in phases),
        prior_alpha=np.array([t.prior_alpha for t in data.types]),
        expected_tokens=type_expected_tokens(kind, ctl.MAX_GAMMA),
    )


# ---------------------------------------------------------------------------------------- step times


def step_time_table(
    hardware: str,
    target: str,
    draft: str,
    n_slots: int,
    context_len: int,
    max_gamma: int = ctl.MAX_GAMMA,
    profile: str | None = None,
) -> np.ndarray:
    """Seconds per decode step from the cost model, indexed ``[active requests, gamma]``.

    ``profile``: an engine profile id of :mod:`core.simulation.engine_profile` (``None``: the ideal
    roofline).

    Row ``b`` (1..n_slots) holds the step time with ``b`` requests in the batch for gamma = 0..max_gamma
    (gamma 0: a plain step); row 0 repeats row 1 and is never used. ``context_len`` is the average number of
    tokens already in each sequence. Raises ``ValueError`` for unknown presets or bad sizes.
    """
    from core.simulation import cost_model

    n_slots = _check_int("concurrent requests", n_slots, 1, MAX_SLOTS)
    max_gamma = _check_int("max gamma", max_gamma, 1, 32)
    table = np.empty((n_slots + 1, max_gamma + 1))
    for b in range(1, n_slots + 1):
        table[b, 0] = cost_model.baseline_step_time_s(hardware, target, b, context_len, profile=profile)
        for g in range(1, max_gamma + 1):
            table[b, g] = cost_model.speculative_step_time_s(
                hardware, target, draft, b, context_len, g, profile=profile
            )
    table[0] = table[1]
    return table


def closed_form_step_times(cost_ratio: float, n_slots: int = 1, max_gamma: int = ctl.MAX_GAMMA) -> np.ndarray:
    """Step times of the closed form (batch 1, verify as cheap as one step): ``1 + gamma * cost_ratio``.

    In units of one target forward, identical for every batch size: no batch effects. Shape
    ``(n_slots + 1, max_gamma + 1)`` like :func:`step_time_table`.
    """
    c = float(cost_ratio)
    if not 0.0 <= c <= 10.0:
        raise ValueError(f"cost ratio must lie between 0 and 10, got {cost_ratio!r}")
    n_slots = _check_int("concurrent requests", n_slots, 1, MAX_SLOTS)
    row = 1.0 + c * np.arange(int(max_gamma) + 1)
    return np.tile(row, (n_slots + 1, 1))


# -------------------------------------------------------------------------------------------- kernel


@njit(cache=True, nogil=True)
def _simulate_kernel(
    req_alpha,
    req_decay,
    req_len,
    req_type,
    req_class,
    n_slots,
    step_times,
    type_expected,
    prior_alpha,
    kind,
    ip,
    fp,
    n_windows,
    seed,
    step_log,
):
    # Numba's legacy RNG is per thread: seeding and drawing in this one call keeps runs reproducible.
    np.random.seed(seed)  # noqa: NPY002
    n_req = req_alpha.shape[0]
    n_types = prior_alpha.shape[0]
    max_gamma = ip[ctl.I_MAX_GAMMA]
    total_tokens = 0
    for r in range(n_req):
        total_tokens += req_len[r]
    windows = np.zeros((n_windows, 12 + n_types))
    totals = np.zeros(9)

    use_classifier = ip[ctl.I_USE_CLASSIFIER] != 0
    use_log = ip[ctl.I_OBJECTIVE] == 0  # objective "request": geometric mean of per-request speeds
    per_request = ip[ctl.I_PER_REQUEST] != 0
    ema_decay = fp[ctl.F_EMA_DECAY]
    prior_trials = fp[ctl.F_PRIOR_TRIALS]
    type_decay = fp[ctl.F_TYPE_EMA_DECAY]
    type_s = np.zeros(n_types)
    type_t = np.ones(n_types)
    for c in range(n_types if kind == ctl.KIND_ESTIMATOR else 0):
        type_s[c] = (prior_alpha[c] if use_classifier else fp[ctl.F_GLOBAL_PRIOR]) * prior_trials
        type_t[c] = prior_trials
    slot_s = np.zeros(n_slots)
    slot_t = np.ones(n_slots)
    slot_req = np.full(n_slots, -1, dtype=np.int64)
    slot_left = np.zeros(n_slots, dtype=np.int64)
    accepted_now = np.zeros(n_slots, dtype=np.int64)
    expected = np.zeros(max_gamma + 1)

    next_req = 0
    active = 0
    for i in range(n_slots):
        if next_req < n_req:
            r = next_req
            next_req += 1
            slot_req[i] = r
            slot_left[i] = req_len[r]
            if kind == ctl.KIND_ESTIMATOR:
                c = req_class[r] if use_classifier else 0
                slot_s[i] = type_s[c] / type_t[c] * prior_trials
                slot_t[i] = prior_trials
            active += 1

    hf_gamma = ip[ctl.I_HF_START]
    off_streak = 0
    produced = 0
    step = 0
    running = active > 0
    while running:
        row = step_times[active]
        # --- choose gamma -------------------------------------------------------------------------
        est_mean = -1.0
        if kind == ctl.KIND_STATIC:
            gamma = ip[ctl.I_STATIC_GAMMA]
        elif kind == ctl.KIND_HF:
            gamma = hf_gamma
        elif kind == ctl.KIND_ORACLE:
            expected[:] = 0.0
            for i in range(n_slots):
                if slot_req[i] >= 0:
                    t = req_type[slot_req[i]]
                    for g in range(max_gamma + 1):
                        expected[g] += np.log(type_expected[t, g]) if use_log else type_expected[t, g]
            gamma = ctl._best_gamma(expected, row, 0, max_gamma, active if use_log else 0)
        else:  # goodput estimator
            expected[:] = 0.0
            est_sum = 0.0
            for i in range(n_slots):
                if slot_req[i] >= 0:
                    if per_request:
                        a = slot_s[i] / slot_t[i]
                    else:
                        c = req_class[slot_req[i]] if use_classifier else 0
                        a = type_s[c] / type_t[c]
                    est_sum += a
                    ctl._add_iid_expected_tokens(a, max_gamma, expected, use_log)
            est_mean = est_sum / active
            gamma = ctl._best_gamma(expected, row, 0, max_gamma, active if use_log else 0)
            if gamma == 0:
                off_streak += 1
                if ip[ctl.I_PROBE_EVERY] > 0 and off_streak >= ip[ctl.I_PROBE_EVERY]:
                    off_streak = 0
                    gamma = ctl._best_gamma(expected, row, 1, max_gamma, active if use_log else 0)
            else:
                off_streak = 0

        w = produced * n_windows // total_tokens
        if w >= n_windows:
            w = n_windows - 1
        step_s = row[gamma]
        # --- one verify round for every active request ---------------------------------------------
        fully = True
        step_tokens = 0
        step_accepted = 0
        step_trials = 0
        true_alpha_sum = 0.0
        for i in range(n_slots):
            r = slot_req[i]
            if r < 0:
                continue
            true_alpha_sum += req_alpha[r]
            windows[w, 12 + req_type[r]] += 1.0
            k = 0
            p = req_alpha[r]
            while k < gamma:
                if np.random.random() < p:  # noqa: NPY002
                    k += 1
                    p *= req_decay[r]
                else:
                    break
            accepted_now[i] = k
            if k < gamma:
                fully = False
                step_trials += k + 1
            else:
                step_trials += k
            step_accepted += k
            tokens = k + 1
            if tokens > slot_left[i]:
                tokens = slot_left[i]
            slot_left[i] -= tokens
            step_tokens += tokens
        # --- controllers observe -------------------------------------------------------------------
        if kind == ctl.KIND_HF:
            hf_gamma = ctl._hf_next_gamma(
                hf_gamma, fully, ip[ctl.I_HF_UP], ip[ctl.I_HF_DOWN], ip[ctl.I_HF_FLOOR], max_gamma
            )
        elif kind == ctl.KIND_ESTIMATOR and gamma > 0:
            for i in range(n_slots):
                r = slot_req[i]
                if r < 0:
                    continue
                slot_s[i], slot_t[i] = ctl._ema_observe(
                    slot_s[i], slot_t[i], accepted_now[i], gamma, ema_decay
                )
                c = req_class[r] if use_classifier else 0
                type_s[c], type_t[c] = ctl._ema_observe(
                    type_s[c], type_t[c], accepted_now[i], gamma, type_decay
                )
        # --- bookkeeping -------------------------------------------------------------------------
        windows[w, _W_TIME] += step_s
        windows[w, _W_STEPS] += 1.0
        windows[w, _W_TOKENS] += step_tokens
        windows[w, _W_PROPOSED] += gamma * active
        windows[w, _W_ACCEPTED] += step_accepted
        windows[w, _W_TRIALS] += step_trials
        windows[w, _W_GAMMA] += gamma
        if gamma > 0:
            windows[w, _W_ON] += 1.0
        if est_mean >= 0.0:
            windows[w, _W_EST] += est_mean
            windows[w, _W_EST_STEPS] += 1.0
        windows[w, _W_ACTIVE] += active
        windows[w, _W_TRUE_ALPHA] += true_alpha_sum / active
        totals[_T_TIME] += step_s
        totals[_T_STEPS] += 1.0
        totals[_T_TOKENS] += step_tokens
        totals[_T_PROPOSED] += gamma * active
        totals[_T_ACCEPTED] += step_accepted
        totals[_T_TRIALS] += step_trials
        totals[_T_GAMMA] += gamma
        if gamma > 0:
            totals[_T_ON] += 1.0
        if step < step_log.shape[0]:
            step_log[step] = gamma
        step += 1
        produced += step_tokens
        # --- finished requests leave; the next ones take their slots --------------------------------
        for i in range(n_slots):
            if slot_req[i] >= 0 and slot_left[i] == 0:
                totals[_T_DONE] += 1.0
                if next_req >= n_req:
                    running = False  # the queue ran dry: the batch would shrink, the measurement ends
                    slot_req[i] = -1
                    active -= 1
                    continue
                r = next_req
                next_req += 1
                slot_req[i] = r
                slot_left[i] = req_len[r]
                if kind == ctl.KIND_ESTIMATOR:
                    c = req_class[r] if use_classifier else 0
                    slot_s[i] = type_s[c] / type_t[c] * prior_trials
                    slot_t[i] = prior_trials
        if active == 0:
            running = False
    return windows, totals, step


# ------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class StreamRun:
    """One controller on one stream. Totals are plain numbers; ``windows`` is a DataFrame (one row per
    window of output tokens; see :func:`simulate`). ``step_gammas`` holds gamma per step when recorded."""

    controller: str
    family: str
    time_s: float
    steps: int
    tokens: int
    proposed: int
    accepted: int
    trials: int
    spec_on_steps: int
    gamma_sum: int
    requests_done: int
    windows: pd.DataFrame = field(repr=False)
    step_gammas: np.ndarray | None = field(default=None, repr=False)

    @property
    def goodput_tok_s(self) -> float:
        """Output tokens per second (accepted drafts plus one target token per verify pass)."""
        return self.tokens / self.time_s

    @property
    def wasted_drafts(self) -> int:
        """Draft tokens proposed but rejected (drafting work thrown away)."""
        return self.proposed - self.accepted

    @property
    def observed_alpha(self) -> float:
        """Accepted drafts per judged draft over the run (NaN when it never speculated)."""
        return self.accepted / self.trials if self.trials else float("nan")

    @property
    def spec_on_share(self) -> float:
        return self.spec_on_steps / self.steps if self.steps else 0.0

    @property
    def mean_gamma(self) -> float:
        return self.gamma_sum / self.steps if self.steps else 0.0


def _window_frame(windows: np.ndarray, total_tokens: int, n_windows: int) -> pd.DataFrame:
    steps = windows[:, _W_STEPS]
    used = steps > 0
    w = windows[used]
    with np.errstate(divide="ignore", invalid="ignore"):
        frame = pd.DataFrame(
            {
                "window": np.flatnonzero(used),
                "tokens_end": np.cumsum(w[:, _W_TOKENS]),
                "time_end_s": np.cumsum(w[:, _W_TIME]),
                "steps": w[:, _W_STEPS].astype(np.int64),
                "tokens": w[:, _W_TOKENS].astype(np.int64),
                "observed_alpha": np.where(w[:, _W_TRIALS] > 0, w[:, _W_ACCEPTED] / w[:, _W_TRIALS], np.nan),
                "estimated_alpha": np.where(
                    w[:, _W_EST_STEPS] > 0, w[:, _W_EST] / w[:, _W_EST_STEPS], np.nan
                ),
                "true_alpha": w[:, _W_TRUE_ALPHA] / w[:, _W_STEPS],
                "mean_gamma": w[:, _W_GAMMA] / w[:, _W_STEPS],
                "spec_on_share": w[:, _W_ON] / w[:, _W_STEPS],
                "active_requests": w[:, _W_ACTIVE] / w[:, _W_STEPS],
                "window_goodput_tok_s": w[:, _W_TOKENS] / w[:, _W_TIME],
                "wasted_drafts": (w[:, _W_PROPOSED] - w[:, _W_ACCEPTED]).astype(np.int64),
            }
        )
    frame["cumulative_goodput_tok_s"] = frame["tokens_end"] / frame["time_end_s"]
    type_counts = w[:, _W_TYPES:]
    shares = type_counts / np.maximum(type_counts.sum(axis=1, keepdims=True), 1.0)
    for t, name in enumerate(PROMPT_TYPES):
        frame[f"share_{name}"] = shares[:, t]
    return frame


def _check_step_times(step_times_s, n_slots: int, max_gamma: int) -> np.ndarray:
    table = np.ascontiguousarray(step_times_s, dtype=np.float64)
    if table.ndim != 2 or table.shape[0] < n_slots + 1 or table.shape[1] < max_gamma + 1:
        raise ValueError(
            f"step times must be a table [active requests 0..{n_slots}, gamma 0..{max_gamma}], "
            f"got shape {table.shape}"
        )
    if not np.all(np.isfinite(table[1:])) or np.any(table[1:] <= 0):
        raise ValueError("step times must be positive, finite seconds")
    return table


def simulate(
    stream: RequestStream,
    controller: ctl.Controller,
    step_times_s,
    n_slots: int,
    seed: int,
    n_windows: int = 120,
    record_steps: bool = False,
) -> StreamRun:
    """Run ``controller`` on ``stream`` with ``n_slots`` concurrent requests (the fast Numba path).

    ``step_times_s``: table from :func:`step_time_table` (or :func:`closed_form_step_times`), at least
    ``n_slots + 1`` rows and ``max_gamma + 1`` columns. ``seed`` drives the acceptance draws (0..2^32-1).
    ``n_windows``: how many equal slices of the stream's output tokens the time series has (the last ones
    stay empty when the measurement ends before the whole stream is decoded). ``record_steps`` keeps gamma
    for every step in ``StreamRun.step_gammas``.
    """
    if not isinstance(controller, ctl.Controller):
        raise TypeError("controller must be a core.simulation.controllers.Controller")
    n_slots = _check_int("concurrent requests", n_slots, 1, MAX_SLOTS)
    seed = _check_int("seed", seed, 0, _SEED_LIMIT - 1)
    n_windows = _check_int("number of windows", n_windows, 1, 10_000)
    kind, ints, floats = controller.kernel_params()
    max_gamma = int(max(ints[ctl.I_MAX_GAMMA], ints[ctl.I_STATIC_GAMMA], ints[ctl.I_HF_START]))
    table = _check_step_times(step_times_s, n_slots, max_gamma)
    step_log = np.zeros(stream.total_tokens if record_steps else 0, dtype=np.int8)
    windows, totals, n_steps = _simulate_kernel(
        stream.alpha,
        stream.decay,
        stream.length,
        stream.true_type,
        stream.prompt_class,
        n_slots,
        table,
        np.ascontiguousarray(stream.expected_tokens, dtype=np.float64),
        np.ascontiguousarray(stream.prior_alpha, dtype=np.float64),
        int(kind),
        ints,
        floats,
        n_windows,
        seed,
        step_log,
    )
    return StreamRun(
        controller=controller.name,
        family=controller.family,
        time_s=float(totals[_T_TIME]),
        steps=int(totals[_T_STEPS]),
        tokens=int(totals[_T_TOKENS]),
        proposed=int(totals[_T_PROPOSED]),
        accepted=int(totals[_T_ACCEPTED]),
        trials=int(totals[_T_TRIALS]),
        spec_on_steps=int(totals[_T_ON]),
        gamma_sum=int(totals[_T_GAMMA]),
        requests_done=int(totals[_T_DONE]),
        windows=_window_frame(windows, stream.total_tokens, n_windows),
        step_gammas=step_log[:n_steps].astype(np.int64) if record_steps else None,
    )


def simulate_reference(
    stream: RequestStream, controller: ctl.Controller, step_times_s, n_slots: int, seed: int
) -> dict:
    """The same simulation in plain Python through the controllers' common interface (slow; for tests).

    Draws from ``np.random.RandomState(seed)``, whose stream equals the kernel's seeded ``np.random``.
    Returns the totals (``time_s``, ``steps``, ``tokens``, ``proposed``, ``accepted``, ``trials``,
    ``requests_done``) and ``step_gammas`` (list).
    """
    rng = np.random.RandomState(_check_int("seed", seed, 0, _SEED_LIMIT - 1))
    n_slots = _check_int("concurrent requests", n_slots, 1, MAX_SLOTS)
    table = _check_step_times(step_times_s, n_slots, ctl.MAX_GAMMA)
    controller.reset(n_slots, stream.prior_alpha.copy())
    slots = _ReferenceSlots(stream, controller, n_slots)
    out = dict(time_s=0.0, steps=0, tokens=0, proposed=0, accepted=0, trials=0, requests_done=0)
    gammas: list[int] = []
    running = any(r >= 0 for r in slots.request)
    while running:
        gamma, active = _reference_step(stream, controller, table, slots, rng, out)
        gammas.append(gamma)
        running = slots.refill(active, out)
    out["step_gammas"] = gammas
    return out


class _ReferenceSlots:
    """The reference's batch: which request each slot decodes (-1: none) and its tokens still to go."""

    def __init__(self, stream: RequestStream, controller: ctl.Controller, n_slots: int) -> None:
        self.stream, self.controller = stream, controller
        self.request = [-1] * n_slots
        self.left = [0] * n_slots
        self.queue = iter(range(stream.n_requests))
        for slot in range(n_slots):
            self.admit(slot)

    def admit(self, slot: int) -> bool:
        """Give ``slot`` the next request of the stream; False (slot left empty) when none is left."""
        r = next(self.queue, None)
        if r is None:
            self.request[slot] = -1
            return False
        self.request[slot], self.left[slot] = r, int(self.stream.length[r])
        self.controller.start_request(slot, int(self.stream.prompt_class[r]))
        return True

    def refill(self, active, out: dict) -> bool:
        """Count the finished requests and refill their slots; False once the stream has run dry."""
        running = True
        for slot in active:
            if self.left[slot] == 0:
                out["requests_done"] += 1
                if not self.admit(slot):
                    running = False
        return running


def _reference_step(
    stream: RequestStream, controller: ctl.Controller, table, slots: _ReferenceSlots, rng, out: dict
) -> tuple[int, np.ndarray]:
    """One decode step of the reference: the controller's gamma, the drafts each request accepts (depth
    by depth, each with its decayed acceptance), the totals in ``out``; returns (gamma, active slots)."""
    active = np.array([i for i in range(len(slots.request)) if slots.request[i] >= 0])
    reqs = np.array([slots.request[i] for i in active])
    state = ctl.BatchState(
        slots=active,
        prompt_class=stream.prompt_class[reqs],
        true_type=stream.true_type[reqs],
        step_times_s=table[len(active)],
        type_expected_tokens=stream.expected_tokens,
    )
    gamma = controller.choose_gamma(state)
    accepted = np.zeros(len(active), dtype=np.int64)
    for n, (slot, r) in enumerate(zip(active, reqs, strict=True)):
        k, p = 0, stream.alpha[r]
        while k < gamma and rng.random_sample() < p:
            k += 1
            p *= stream.decay[r]
        accepted[n] = k
        out["trials"] += k + 1 if k < gamma else k
        tokens = min(k + 1, slots.left[slot])
        slots.left[slot] -= tokens
        out["tokens"] += tokens
    controller.observe(state, gamma, accepted)
    out["time_s"] += table[len(active), gamma]
    out["steps"] += 1
    out["proposed"] += gamma * len(active)
    out["accepted"] += int(accepted.sum())
    return gamma, active


# ------------------------------------------------------------------------------------------ compare


def default_controllers() -> list[ctl.Controller]:
    """Every controller the page compares: static 0..MAX_GAMMA, HF heuristic, two estimators, oracle."""
    return [
        *(ctl.StaticGamma(g) for g in range(ctl.MAX_GAMMA + 1)),
        ctl.HFHeuristic(),
        ctl.GoodputEstimator(use_classifier=True),
        ctl.GoodputEstimator(use_classifier=False),
        ctl.PerTypeOracle(),
    ]


@dataclass(frozen=True)
class Comparison:
    """Several controllers on the same stream, with the no-speculation baseline and the best static gamma."""

    runs: tuple[StreamRun, ...]

    def __post_init__(self):
        if not any(r.controller == ctl.StaticGamma(0).name for r in self.runs):
            raise ValueError("a comparison needs the no-speculation run (static gamma 0) as its baseline")

    def run(self, name: str) -> StreamRun:
        for r in self.runs:
            if r.controller == name:
                return r
        raise KeyError(name)

    @property
    def baseline(self) -> StreamRun:
        return self.run(ctl.StaticGamma(0).name)

    @property
    def best_static(self) -> StreamRun:
        """The static gamma with the highest goodput on this very stream (the oracle static in hindsight)."""
        statics = [r for r in self.runs if r.family == "static"]
        return max(statics, key=lambda r: r.goodput_tok_s)

    def summary(self) -> pd.DataFrame:
        """One row per controller: goodput, speedup vs no speculation, wasted drafts, and more."""
        base = self.baseline.goodput_tok_s
        best = self.best_static.controller
        rows = []
        for r in self.runs:
            rows.append(
                {
                    "controller": r.controller,
                    "family": r.family,
                    "best_static": r.controller == best,
                    "goodput_tok_s": r.goodput_tok_s,
                    "speedup_vs_no_spec": r.goodput_tok_s / base,
                    "wasted_drafts": r.wasted_drafts,
                    "wasted_per_token": r.wasted_drafts / r.tokens,
                    "spec_on_share": r.spec_on_share,
                    "mean_gamma": r.mean_gamma,
                    "observed_alpha": r.observed_alpha,
                    "tokens": r.tokens,
                    "simulated_time_s": r.time_s,
                    "requests_done": r.requests_done,
                }
            )
        return pd.DataFrame(rows)

    def timeseries(self) -> pd.DataFrame:
        """All runs' window tables stacked, with a ``controller`` column (long format, for charts/CSV)."""
        frames = [r.windows.assign(controller=r.controller, family=r.family) for r in self.runs]
        return pd.concat(frames, ignore_index=True)


def compare(
    stream: RequestStream,
    step_times_s,
    n_slots: int,
    seed: int,
    controllers: Sequence[ctl.Controller] | None = None,
    n_windows: int = 120,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> Comparison:
    """Run every controller (default :func:`default_controllers`) on the same stream and seed.

    ``on_progress(done, total, name)`` is called after each controller (the page updates a progress bar).
    """
    chosen = list(default_controllers() if controllers is None else controllers)
    runs = []
    for i, c in enumerate(chosen):
        runs.append(simulate(stream, c, step_times_s, n_slots, seed, n_windows))
        if on_progress is not None:
            on_progress(i + 1, len(chosen), c.name)
    return Comparison(tuple(runs))


def warm_up() -> None:
    """Compile the stream kernel for every controller kind on a tiny stream (about 1 s cold, once)."""
    ctl.warm_up()
    stream = make_stream("mixed", 4, 0)
    table = closed_form_step_times(0.1, 2)
    for c in (ctl.StaticGamma(2), ctl.HFHeuristic(), ctl.GoodputEstimator(), ctl.PerTypeOracle()):
        simulate(stream, c, table, 2, 0, n_windows=4)
