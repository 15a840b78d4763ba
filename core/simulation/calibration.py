"""Calibrating an engine profile: fit the cost model's physical terms to published measurements, once.

A :class:`CalibrationProblem` lists published observations (:class:`Observation`: a plain or speculative
throughput, or a speedup, at one batch size and tree shape), the hardware, target and context they were
measured on, which profile fields to fit (each within physical bounds) and one acceptance ``alpha`` per
method. :func:`fit` minimises the sum of squared log errors ``log(model / published)`` over every
observation with a Levenberg-Marquardt search (NumPy, numerical Jacobian, deterministic start) and returns
the fitted profile, the alphas and the error at each point. The acceptance is one value per method,
shared by every batch size and tree shape: batch size changes cost, never acceptance.

Nothing here knows a published number: the observations come from the caller
(:mod:`core.references.cost_calibration` reads them from ``core/data/published.toml``), and the fitted
numbers are stored in ``core/data/cost_profiles.toml`` with what they were fitted to.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from core.simulation import cost_model
from core.simulation.engine_profile import EngineProfile

__all__ = ["Observation", "CalibrationProblem", "FitResult", "model_value", "fit"]

KINDS = ("speedup", "baseline_tok_s", "speculative_tok_s")


@dataclass(frozen=True)
class Observation:
    """One published measurement. ``kind``: ``speedup`` (speculative over plain throughput),
    ``baseline_tok_s`` or ``speculative_tok_s`` (output tokens/s of the whole batch). ``method``: whose
    alpha applies ("" for plain decoding); ``draft``: a draft preset id; ``steps`` / ``topk`` /
    ``draft_tokens``: the tree (SGLang's knobs). ``published``: the measured value."""

    label: str
    kind: str
    method: str
    draft: str
    batch: int
    steps: int
    topk: int
    draft_tokens: int
    published: float


@dataclass(frozen=True)
class CalibrationProblem:
    """What to fit: observations on one hardware/target/context, profile fields with (low, high) bounds,
    and (low, high) bounds for each method's alpha. ``base``: the profile whose other fields are kept."""

    hardware: str
    target: str
    context: int
    observations: tuple[Observation, ...]
    bounds: Mapping[str, tuple[float, float]]
    alpha_bounds: Mapping[str, tuple[float, float]]
    base: EngineProfile


@dataclass(frozen=True)
class FitResult:
    """The fit: ``profile`` (fitted fields replaced), ``alphas`` by method, ``model`` / ``log_errors`` per
    observation (same order), ``cost`` (sum of squared log errors) and ``iterations`` run."""

    profile: EngineProfile
    alphas: Mapping[str, float]
    model: tuple[float, ...]
    log_errors: tuple[float, ...]
    cost: float
    iterations: int


def model_value(
    problem: CalibrationProblem, obs: Observation, profile: EngineProfile, alpha: float | None
) -> float:
    """The cost model's value for one observation under ``profile`` and ``alpha``."""
    args = (problem.hardware, problem.target)
    base_s = cost_model.baseline_step_time_s(*args, obs.batch, problem.context, profile=profile)
    if obs.kind == "baseline_tok_s":
        return obs.batch / base_s
    tokens = cost_model.accept_length(alpha, obs.steps, obs.topk, obs.draft_tokens)
    spec_s = cost_model.speculative_step_time_s(
        *args, obs.draft, obs.batch, problem.context, obs.steps, profile=profile, topk=obs.topk,
        draft_tokens=obs.draft_tokens,
    )  # fmt: skip
    if obs.kind == "speculative_tok_s":
        return obs.batch * tokens / spec_s
    return tokens * base_s / spec_s


def _names(problem: CalibrationProblem) -> list[tuple[str, tuple[float, float]]]:
    fields = [(name, tuple(bounds)) for name, bounds in problem.bounds.items()]
    return fields + [(f"alpha:{m}", tuple(b)) for m, b in problem.alpha_bounds.items()]


def _value(zi: float, low: float, high: float) -> float:
    """Search coordinate -> parameter. A bound above 0: logistic between the bounds. A bound at 0 (a
    cost): ``high * 1e-2 * exp(z)``, scale-free so that costs of 1 us and 1 ms are equally easy to find
    (capped at ``high``)."""
    if low > 0:
        return low + (high - low) / (1.0 + math.exp(-zi))
    return min(high, high * 1e-2 * math.exp(min(zi, 700.0)))


def _decode(problem: CalibrationProblem, z: np.ndarray) -> tuple[EngineProfile, dict[str, float]]:
    """Unconstrained search vector -> (profile, alphas), see :func:`_value`."""
    values = {}
    for (name, (low, high)), zi in zip(_names(problem), z, strict=True):
        values[name] = _value(float(zi), low, high)
    alphas = {name.split(":", 1)[1]: v for name, v in values.items() if name.startswith("alpha:")}
    fields = {name: v for name, v in values.items() if not name.startswith("alpha:")}
    return dataclasses.replace(problem.base, **fields), alphas


def _residuals(problem: CalibrationProblem, z: np.ndarray) -> np.ndarray:
    profile, alphas = _decode(problem, z)
    return np.array(
        [
            math.log(model_value(problem, obs, profile, alphas.get(obs.method)) / obs.published)
            for obs in problem.observations
        ]
    )


def _jacobian(problem: CalibrationProblem, z: np.ndarray, r: np.ndarray, step: float = 1e-6) -> np.ndarray:
    jac = np.empty((r.size, z.size))
    for j in range(z.size):
        shifted = z.copy()
        shifted[j] += step
        jac[:, j] = (_residuals(problem, shifted) - r) / step
    return jac


def fit(problem: CalibrationProblem, max_iterations: int = 300, tolerance: float = 1e-12) -> FitResult:
    """Least-squares fit of the profile fields and alphas (deterministic start, see :func:`_value`).

    Stops when an accepted step improves the cost by less than ``tolerance`` (relative) or after
    ``max_iterations``; raises ``ValueError`` for an empty problem or a non-positive published value.
    """
    if not problem.observations:
        raise ValueError("a calibration needs at least one observation")
    if any(obs.published <= 0 or obs.kind not in KINDS for obs in problem.observations):
        raise ValueError(f"observations need a positive published value and a kind in {KINDS}")
    z = np.zeros(len(_names(problem)))  # mid-range fractions, costs at 1% of their bound
    r = _residuals(problem, z)
    cost, damping, iterations = float(r @ r), 1e-2, 0
    for _ in range(max_iterations):
        iterations += 1
        jac = _jacobian(problem, z, r)
        normal = jac.T @ jac
        step = np.linalg.solve(normal + damping * np.diag(np.diag(normal) + 1e-12), -jac.T @ r)
        trial = z + step
        r_trial = _residuals(problem, trial)
        cost_trial = float(r_trial @ r_trial)
        if cost_trial < cost:
            converged = cost - cost_trial < tolerance * max(cost, 1e-300)
            z, r, cost, damping = trial, r_trial, cost_trial, max(damping / 3, 1e-12)
            if converged:
                break
        else:
            damping *= 4
            if damping > 1e12:
                break
    profile, alphas = _decode(problem, z)
    model = tuple(float(obs.published * math.exp(e)) for obs, e in zip(problem.observations, r, strict=True))
    return FitResult(profile, alphas, model, tuple(float(e) for e in r), cost, iterations)
