"""Speculation-length controllers: rules that pick gamma (draft tokens per verify pass) at every decode step.

A server decodes a batch of requests in lock-step. Before each step a controller chooses one gamma for the
whole batch (SGLang and vLLM run every request in a batch with the same number of draft steps; SmartSpec
chooses it per batch). ``gamma = 0`` means speculation is off for that step: a plain decode step.

Every controller has the same interface, used by the readable reference simulator in
:mod:`core.simulation.adaptive_stream`:

* ``reset(n_slots, prior_alpha)``: forget everything; ``prior_alpha`` holds one prior per prompt type;
* ``start_request(slot, prompt_class)``: a new request entered batch slot ``slot``;
* ``choose_gamma(state) -> int``: the gamma for the next step, from a :class:`BatchState`;
* ``observe(state, gamma, accepted)``: after the step, the number of accepted drafts of every active slot.

The rules themselves are small Numba functions (``_hf_next_gamma``, ``_ema_observe``,
``_add_iid_expected_tokens``, ``_best_gamma``). The Python classes call them step by step; the fast stream
kernel in :mod:`core.simulation.adaptive_stream` calls the very same functions, so both paths follow one definition.

Controllers here:

* :class:`StaticGamma`: the same gamma every step (0 = never speculate).
* :class:`HFHeuristic`: Hugging Face's assisted-generation ``"heuristic"`` schedule: +2 after a round in
  which every draft was accepted, -1 otherwise, never below 1, started at 5 (transformers' old default;
  current transformers defaults to 20 assistant tokens with the ``"constant"`` schedule).
* :class:`GoodputEstimator`: keeps an exponential moving average (EMA) of acceptance per request, started
  from a per-prompt-type estimate (itself an EMA, started from a prior), and picks the gamma that maximises
  expected goodput (tokens per second) from the closed form E[N] and the step times of the cost model at the
  current batch size. Picks gamma 0 (off) when no gamma beats plain decoding, and probes now and then so it
  can turn speculation back on.
* :class:`PerTypeOracle`: knows every request's true prompt type and the type's exact expected tokens per
  pass; picks the goodput-optimal gamma for the batch. An upper reference, not a deployable controller.

The best single static gamma in hindsight is not a controller (it needs the whole stream first); the stream
simulator finds it by running every :class:`StaticGamma`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
from numba import njit

__all__ = [
    "MAX_GAMMA",
    "KIND_STATIC",
    "KIND_HF",
    "KIND_ESTIMATOR",
    "KIND_ORACLE",
    "BatchState",
    "Controller",
    "StaticGamma",
    "HFHeuristic",
    "GoodputEstimator",
    "PerTypeOracle",
    "hf_next_gamma",
    "ema_observe",
    "iid_expected_tokens",
    "best_gamma",
    "warm_up",
]

MAX_GAMMA = 8  # the largest speculation length the lab simulates (static gammas run 0..MAX_GAMMA)

KIND_STATIC = 0
KIND_HF = 1
KIND_ESTIMATOR = 2
KIND_ORACLE = 3

# Layout of the parameter arrays handed to the stream kernel (see Controller.kernel_params).
I_STATIC_GAMMA, I_HF_START, I_HF_UP, I_HF_DOWN, I_HF_FLOOR, I_MAX_GAMMA, I_PROBE_EVERY = range(7)
I_USE_CLASSIFIER, I_PER_REQUEST, I_OBJECTIVE = 7, 8, 9
N_IPARAMS = 10

OBJECTIVES = ("request", "batch")
"""Goodput objectives of :func:`best_gamma`: ``"request"`` (geometric mean of per-request speeds) and
``"batch"`` (tokens per second of the whole batch); their integer codes are their positions here."""
F_EMA_DECAY, F_PRIOR_TRIALS, F_TYPE_EMA_DECAY, F_GLOBAL_PRIOR = range(4)
N_FPARAMS = 4


# --- The rules (shared by the Python classes and the stream kernel) ---------------------------------------


@njit(cache=True, nogil=True)
def _hf_next_gamma(gamma, fully_accepted, up, down, floor, cap):
    """Hugging Face's schedule: +up after a fully accepted round, -down otherwise, kept in [floor, cap]."""
    nxt = gamma + up if fully_accepted else gamma - down
    if nxt < floor:
        nxt = floor
    if nxt > cap:
        nxt = cap
    return nxt


@njit(cache=True, nogil=True)
def _ema_observe(successes, trials, accepted, gamma, decay):
    """Update an acceptance EMA kept as (discounted accepted drafts, discounted draft trials).

    A round with ``gamma`` drafts and ``accepted`` of them accepted tells us about ``accepted`` successes
    and, when ``accepted < gamma``, one failure: drafts after the first rejection were never judged. So the
    trials are ``accepted + 1`` (or ``gamma`` if all were accepted), and ``successes / trials`` estimates
    the per-draft acceptance alpha without the downward bias of ``accepted / gamma``. ``gamma = 0`` (no
    speculation) observes nothing.
    """
    if gamma <= 0:
        return successes, trials
    n = accepted + 1 if accepted < gamma else gamma
    return decay * successes + accepted, decay * trials + n


@njit(cache=True, nogil=True)
def _add_iid_expected_tokens(alpha, max_gamma, out, use_log):
    """out[g] += E[N](alpha, g) = 1 + alpha + ... + alpha^g (tokens per pass), or its log if ``use_log``."""
    term = 1.0
    total = 1.0
    for g in range(max_gamma + 1):
        if g > 0:
            term *= alpha
            total += term
        out[g] += np.log(total) if use_log else total


@njit(cache=True, nogil=True)
def _best_gamma(score, step_times, lo, hi, n_log):
    """The gamma in [lo, hi] with the best expected goodput; ties go to the smaller gamma.

    ``step_times[g]``: seconds one step takes at gamma g. Two objectives:

    * ``n_log == 0`` (batch tokens per second): ``score[g]`` is the expected tokens the whole batch makes
      in one step; maximise ``score[g] / step_times[g]``.
    * ``n_log = n > 0`` (per-request speed, geometric mean over the n requests): ``score[g]`` is
      ``sum_i log E_i[g]``; maximise ``score[g] - n log step_times[g]``, the sum of the log tokens per
      second of each request.
    """
    best = lo
    best_value = score[lo] / step_times[lo] if n_log == 0 else score[lo] - n_log * np.log(step_times[lo])
    for g in range(lo + 1, hi + 1):
        if n_log == 0:
            value = score[g] / step_times[g]
            better = value > best_value * (1.0 + 1e-12)
        else:
            value = score[g] - n_log * np.log(step_times[g])
            better = value > best_value + 1e-12
        if better:
            best = g
            best_value = value
    return best


# --- Python wrappers of the rules (validated; for tests, the page and the reference simulator) ------------


def hf_next_gamma(
    gamma: int, fully_accepted: bool, up: int = 2, down: int = 1, floor: int = 1, cap: int = 64
):
    """Next gamma under Hugging Face's heuristic (all drafts accepted: +up; otherwise: -down; >= floor)."""
    return int(_hf_next_gamma(int(gamma), bool(fully_accepted), int(up), int(down), int(floor), int(cap)))


def ema_observe(
    successes: float, trials: float, accepted: int, gamma: int, decay: float
) -> tuple[float, float]:
    """One EMA update from a round (see ``_ema_observe``); returns the new (successes, trials)."""
    if not 0 <= int(accepted) <= int(gamma) or int(gamma) < 0:
        raise ValueError(
            f"accepted drafts must lie between 0 and gamma, got accepted={accepted}, gamma={gamma}"
        )
    s, t = _ema_observe(float(successes), float(trials), int(accepted), int(gamma), float(decay))
    return float(s), float(t)


def iid_expected_tokens(alpha: float, max_gamma: int = MAX_GAMMA) -> np.ndarray:
    """E[N] for gamma = 0..max_gamma at i.i.d. acceptance ``alpha`` (tokens per verify pass), as an array."""
    out = np.zeros(int(max_gamma) + 1)
    _add_iid_expected_tokens(float(alpha), int(max_gamma), out, False)
    return out


def _objective_code(objective: str) -> int:
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    return OBJECTIVES.index(objective)


def best_gamma(expected_tokens, step_times_s, lo: int = 0, hi: int | None = None, objective: str = "request"):
    """The goodput-optimal gamma in [lo, hi].

    ``expected_tokens``: expected tokens per verify pass, shape (gamma,) for one request or
    (requests, gamma) for a batch; ``step_times_s``: seconds per step for each gamma (same batch).
    ``objective="request"`` maximises the geometric mean over requests of each request's tokens per second;
    ``"batch"`` maximises the batch's total tokens per second. They agree for one request or identical
    requests; for a mixed batch "batch" favours the easy requests (see :class:`GoodputEstimator`).
    """
    expected = np.atleast_2d(np.asarray(expected_tokens, dtype=np.float64))
    times = np.ascontiguousarray(step_times_s, dtype=np.float64)
    hi = times.shape[0] - 1 if hi is None else int(hi)
    if expected.ndim != 2 or expected.shape[1] != times.shape[0] or not 0 <= int(lo) <= hi < len(times):
        raise ValueError("expected tokens and step times must have one entry per gamma, and 0 <= lo <= hi")
    if np.any(times <= 0) or not np.all(np.isfinite(times)):
        raise ValueError("step times must be positive, finite seconds")
    if np.any(expected < 1.0) or not np.all(np.isfinite(expected)):
        raise ValueError("expected tokens per pass must be finite and at least 1")
    if _objective_code(objective) == 0:
        score, n_log = np.log(expected).sum(axis=0), expected.shape[0]
    else:
        score, n_log = expected.sum(axis=0), 0
    return int(_best_gamma(np.ascontiguousarray(score), times, int(lo), hi, n_log))


# --- The common interface ---------------------------------------------------------------------------------


@dataclass
class BatchState:
    """What a controller may look at before a step.

    ``slots``: indices of the active batch slots (one request each). ``prompt_class``: the classifier's
    prompt type per active slot (integer codes of :data:`core.simulation.prompt_classifier.PROMPT_TYPES`).
    ``true_type``: the real type per active slot; only the oracle may read it. ``step_times_s``: seconds
    per step at gamma = 0..max for the current number of active requests (from the cost model).
    ``type_expected_tokens``: exact expected tokens per pass per true type and gamma (oracle knowledge).
    """

    slots: np.ndarray
    prompt_class: np.ndarray
    true_type: np.ndarray
    step_times_s: np.ndarray
    type_expected_tokens: np.ndarray


class Controller(ABC):
    """Common interface of every controller (see the module docstring)."""

    name: str = "controller"
    family: str = "controller"  # static | heuristic | adaptive | oracle (for tables and colours)

    def reset(self, n_slots: int, prior_alpha: np.ndarray) -> None:  # noqa: B027 - optional hook
        """Forget all state before a new stream; ``prior_alpha`` has one prior per prompt type."""

    def start_request(self, slot: int, prompt_class: int) -> None:  # noqa: B027 - optional hook
        """A new request classified as ``prompt_class`` entered batch slot ``slot``."""

    @abstractmethod
    def choose_gamma(self, state: BatchState) -> int:
        """Gamma (draft tokens per verify pass) for the next step; 0 turns speculation off."""

    def observe(self, state: BatchState, gamma: int, accepted: np.ndarray) -> None:  # noqa: B027
        """Accepted drafts per active slot (same order as ``state.slots``) after a step at ``gamma``."""

    def estimate(self, state: BatchState) -> float:
        """The controller's current mean acceptance estimate over the active slots (NaN if it keeps none)."""
        return float("nan")

    @abstractmethod
    def kernel_params(self) -> tuple[int, np.ndarray, np.ndarray]:
        """(kind, integer parameters, float parameters) for the fast stream kernel."""

    def _params(self, kind: int, **values) -> tuple[int, np.ndarray, np.ndarray]:
        ints = np.zeros(N_IPARAMS, dtype=np.int64)
        floats = np.zeros(N_FPARAMS, dtype=np.float64)
        ints[I_MAX_GAMMA] = MAX_GAMMA
        for key, value in values.items():
            if key.startswith("F_"):
                floats[globals()[key]] = float(value)
            else:
                ints[globals()[key]] = int(value)
        return kind, ints, floats


def _check_gamma(value: int, what: str, lo: int = 0) -> int:
    if isinstance(value, bool) or float(value) != int(value) or not lo <= int(value) <= MAX_GAMMA:
        raise ValueError(f"{what} must be a whole number between {lo} and {MAX_GAMMA}, got {value!r}")
    return int(value)


class StaticGamma(Controller):
    """Always the same gamma (0 = no speculation: the baseline every speedup is measured against)."""

    family = "static"

    def __init__(self, gamma: int):
        self.gamma = _check_gamma(gamma, "static gamma")
        self.name = "no speculation (γ=0)" if self.gamma == 0 else f"static γ={self.gamma}"

    def choose_gamma(self, state: BatchState) -> int:
        return self.gamma

    def kernel_params(self):
        return self._params(KIND_STATIC, I_STATIC_GAMMA=self.gamma)


class HFHeuristic(Controller):
    """Hugging Face assisted generation's ``"heuristic"`` schedule, applied to the whole batch.

    Start at ``start`` (5, transformers' old default; 5.x defaults to 20 tokens with a constant schedule);
    after a step in which every active request accepted all its drafts add ``up``
    (2), otherwise subtract ``down`` (1); never below ``floor`` (1). Hugging Face defines it for one
    sequence and has no upper bound; here a step counts as fully accepted only when *every* request in the
    batch accepted everything, and gamma is capped at :data:`MAX_GAMMA` because the lab simulates no more.
    It never looks at cost, so it never turns speculation off.
    """

    family = "heuristic"
    name = "HF heuristic (5, +2/−1)"

    def __init__(self, start: int = 5, up: int = 2, down: int = 1, floor: int = 1):
        self.start = _check_gamma(start, "start gamma", lo=1)
        self.floor = _check_gamma(floor, "floor", lo=1)
        if self.floor > self.start:
            raise ValueError("the floor must not exceed the starting gamma")
        self.up = _check_gamma(up, "step up", lo=0)
        self.down = _check_gamma(down, "step down", lo=0)
        self.gamma = self.start

    def reset(self, n_slots, prior_alpha):
        self.gamma = self.start

    def choose_gamma(self, state):
        return self.gamma

    def observe(self, state, gamma, accepted):
        fully = bool(np.all(np.asarray(accepted) == gamma))
        self.gamma = hf_next_gamma(self.gamma, fully, self.up, self.down, self.floor, MAX_GAMMA)

    def kernel_params(self):
        return self._params(
            KIND_HF, I_HF_START=self.start, I_HF_UP=self.up, I_HF_DOWN=self.down, I_HF_FLOOR=self.floor
        )


class GoodputEstimator(Controller):
    """Estimate acceptance, then pick the gamma with the highest expected goodput; gamma 0 when none pays.

    State: per prompt type an EMA (discounted accepted drafts and draft trials, see ``_ema_observe``)
    started from the type's prior with ``prior_trials`` pseudo-trials; per request an EMA started from its
    type's current estimate. ``ema_decay`` is the per-round discount of the request EMA (0.95: roughly the
    last 20 rounds count), ``type_ema_decay`` the per-observation discount of the type EMA.

    Decision: with estimates a_i for the active requests and step times T[g] for the current batch size,
    request i's expected speed at gamma g is E[N](a_i, g) / T[g] tokens per second (E[N] from the i.i.d.
    closed form). With ``objective="request"`` (default) the gamma with the highest geometric mean of these
    speeds wins; with ``"batch"`` the highest sum (the batch's tokens per second). Gamma 0 wins exactly when
    no gamma's expected speedup over plain decoding reaches 1 (for one request both objectives are the
    same). After ``probe_every`` consecutive steps off it runs one step at the best gamma >= 1 so fresh
    observations can turn speculation back on (0 disables probing).

    Why the geometric mean: every request must get all its tokens, so the stream's total time is set by
    how fast *each* request advances, and the slow (low-acceptance) requests hold their slots the longest.
    Maximising the batch's tokens per second at every step over-weights the easy requests: it speeds up
    code that will leave soon anyway and slows down the creative requests that stay. For a fixed gamma the
    stream's time is proportional to T[g] * sum_r L_r / E_r[g] over requests r of length L_r; the sum of the
    log speeds of the requests in the batch has the same optimum to first order (batch members are sampled
    in proportion to how long they stay, L_r / E_r).

    ``use_classifier=False`` ignores the prompt type: one shared EMA started from ``global_prior``.
    ``per_request=False`` uses the type EMA directly instead of a per-request EMA.
    """

    family = "adaptive"

    def __init__(
        self,
        *,
        ema_decay: float = 0.95,
        prior_trials: float = 10.0,
        type_ema_decay: float = 0.99,
        probe_every: int = 50,
        use_classifier: bool = True,
        per_request: bool = True,
        global_prior: float = 0.6,
        objective: str = "request",
        max_gamma: int = MAX_GAMMA,
        name: str | None = None,
    ):
        for label, value in (("ema_decay", ema_decay), ("type_ema_decay", type_ema_decay)):
            if not 0.0 < float(value) <= 1.0:
                raise ValueError(f"{label} must lie in (0, 1], got {value!r}")
        if not float(prior_trials) > 0.0:
            raise ValueError(f"prior_trials must be positive, got {prior_trials!r}")
        if not 0.0 <= float(global_prior) <= 1.0:
            raise ValueError(f"global_prior must be a probability, got {global_prior!r}")
        if isinstance(probe_every, bool) or int(probe_every) != probe_every or int(probe_every) < 0:
            raise ValueError(f"probe_every must be a whole number of steps >= 0, got {probe_every!r}")
        self.ema_decay = float(ema_decay)
        self.prior_trials = float(prior_trials)
        self.type_ema_decay = float(type_ema_decay)
        self.probe_every = int(probe_every)
        self.use_classifier = bool(use_classifier)
        self.per_request = bool(per_request)
        self.global_prior = float(global_prior)
        self.objective = objective
        self._objective = _objective_code(objective)
        self.max_gamma = _check_gamma(max_gamma, "max_gamma", lo=1)
        if name is None:
            name = (
                "adaptive (EMA, classifier prior)" if self.use_classifier else "adaptive (EMA, no classifier)"
            )
        self.name = name
        self.reset(1, np.array([self.global_prior]))

    # state -------------------------------------------------------------------------------------------
    def reset(self, n_slots, prior_alpha):
        prior = np.asarray(prior_alpha, dtype=np.float64)
        if not self.use_classifier:
            prior = np.full_like(prior, self.global_prior)
        self.type_successes = prior * self.prior_trials
        self.type_trials = np.full(prior.shape, self.prior_trials)
        self.slot_successes = np.zeros(n_slots)
        self.slot_trials = np.ones(n_slots)
        self.off_streak = 0

    def _bucket(self, prompt_class: int) -> int:
        return int(prompt_class) if self.use_classifier else 0

    def type_estimate(self, prompt_class: int) -> float:
        """Current acceptance estimate for requests classified as ``prompt_class``."""
        b = self._bucket(prompt_class)
        return float(self.type_successes[b] / self.type_trials[b])

    def start_request(self, slot, prompt_class):
        self.slot_successes[slot] = self.type_estimate(prompt_class) * self.prior_trials
        self.slot_trials[slot] = self.prior_trials

    def slot_estimates(self, state: BatchState) -> np.ndarray:
        if self.per_request:
            return self.slot_successes[state.slots] / self.slot_trials[state.slots]
        return np.array([self.type_estimate(c) for c in state.prompt_class])

    def estimate(self, state):
        return float(np.mean(self.slot_estimates(state)))

    # decision ----------------------------------------------------------------------------------------
    def _score(self, state: BatchState) -> np.ndarray:
        """Per gamma: sum over active requests of E[N] (batch objective) or of log E[N] (request objective)."""
        out = np.zeros(self.max_gamma + 1)
        for a in self.slot_estimates(state):
            _add_iid_expected_tokens(float(a), self.max_gamma, out, self._objective == 0)
        return out

    def choose_gamma(self, state):
        score = self._score(state)
        times = np.ascontiguousarray(state.step_times_s[: self.max_gamma + 1], dtype=np.float64)
        n_log = len(state.slots) if self._objective == 0 else 0
        gamma = int(_best_gamma(score, times, 0, self.max_gamma, n_log))
        if gamma == 0:
            self.off_streak += 1
            if self.probe_every > 0 and self.off_streak >= self.probe_every:
                self.off_streak = 0
                gamma = int(_best_gamma(score, times, 1, self.max_gamma, n_log))
        else:
            self.off_streak = 0
        return gamma

    def observe(self, state, gamma, accepted):
        for slot, cls, k in zip(state.slots, state.prompt_class, np.asarray(accepted), strict=True):
            s, t = _ema_observe(
                self.slot_successes[slot], self.slot_trials[slot], int(k), int(gamma), self.ema_decay
            )
            self.slot_successes[slot], self.slot_trials[slot] = s, t
            b = self._bucket(cls)
            s, t = _ema_observe(
                self.type_successes[b], self.type_trials[b], int(k), int(gamma), self.type_ema_decay
            )
            self.type_successes[b], self.type_trials[b] = s, t

    def kernel_params(self):
        return self._params(
            KIND_ESTIMATOR,
            I_MAX_GAMMA=self.max_gamma,
            I_PROBE_EVERY=self.probe_every,
            I_USE_CLASSIFIER=self.use_classifier,
            I_PER_REQUEST=self.per_request,
            F_EMA_DECAY=self.ema_decay,
            F_PRIOR_TRIALS=self.prior_trials,
            F_TYPE_EMA_DECAY=self.type_ema_decay,
            F_GLOBAL_PRIOR=self.global_prior,
            I_OBJECTIVE=self._objective,
        )


class PerTypeOracle(Controller):
    """Knows each request's true type and that type's exact expected tokens per pass: an upper reference.

    At batch size 1 this is the best gamma per prompt type; at larger batches, the gamma with the best
    expected goodput for the batch's current mix of types, under the same ``objective`` as
    :class:`GoodputEstimator`. It does not know an individual request's own acceptance (which varies around
    its type's mean), so a good per-request estimator can match or slightly beat it.
    """

    family = "oracle"

    def __init__(self, max_gamma: int = MAX_GAMMA, objective: str = "request", name: str = "per-type oracle"):
        self.max_gamma = _check_gamma(max_gamma, "max_gamma", lo=1)
        self.objective = objective
        self._objective = _objective_code(objective)
        self.name = name

    def choose_gamma(self, state):
        table = state.type_expected_tokens[state.true_type, : self.max_gamma + 1]
        if self._objective == 0:
            score, n_log = np.log(table).sum(axis=0), len(state.slots)
        else:
            score, n_log = table.sum(axis=0), 0
        times = np.ascontiguousarray(state.step_times_s[: self.max_gamma + 1], dtype=np.float64)
        return int(_best_gamma(np.ascontiguousarray(score), times, 0, self.max_gamma, n_log))

    def kernel_params(self):
        return self._params(KIND_ORACLE, I_MAX_GAMMA=self.max_gamma, I_OBJECTIVE=self._objective)


def warm_up() -> None:
    """Compile the rule functions on tiny inputs (the stream kernel's warm-up compiles them too)."""
    hf_next_gamma(5, True)
    ema_observe(1.0, 2.0, 1, 2, 0.9)
    for objective in OBJECTIVES:
        best_gamma(iid_expected_tokens(0.5, 2), np.array([1.0, 1.1, 1.2]), objective=objective)
