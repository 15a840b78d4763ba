"""The cost model's calibration against the EAGLE-3 paper's SGLang measurements, and its reproduction.

What is fitted to what (the ``[calibration]`` table of ``core/data/cost_profiles.toml`` holds the inputs):

* Published points (``core/data/published.toml``): EAGLE-3 paper (arXiv 2503.01840) Table 3, the
  throughput of EAGLE (EAGLE-1 head) and EAGLE-3 over plain SGLang v0.4.4 at batch 2 to 64 on one H100,
  Llama-3.1-8B, MT-bench, a chain of 3 drafts (18 ratios); Table 4, plain, EAGLE-2 and EAGLE-3 tokens/s
  at batch 1 (3 throughputs). 21 points in all.
* Fitted (9 numbers): the profile's seven cost terms (achieved bandwidth and FLOPS fractions, fixed cost
  per pass, per-token costs of plain, verify and draft passes, the draft's cost per vocabulary entry),
  each within physical bounds, and ONE acceptance alpha per head (EAGLE, EAGLE-3), shared by every batch
  size and by the chain and the tree.
* Assumed (not published): a context of 512 tokens and, for Table 4, SGLang's default tree of that time
  (5 steps, topk 4, 8 draft tokens).

:func:`fit_eagle3_sglang` re-runs the fit; ``scripts/fit_cost_profile.py`` prints its result in the
format of ``cost_profiles.toml``. :func:`reproduce` computes the stored profile's model next to the
published numbers, with every input used, so ``speclab cost`` with those inputs prints the same values.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from importlib import resources

from core.references.published import get_reference
from core.simulation import calibration, cost_model
from core.simulation.engine_profile import EngineProfile, get_profile, ideal_profile

__all__ = ["REPRODUCTIONS", "calibration_inputs", "problem", "fit_eagle3_sglang", "reproduce"]

REPRODUCTIONS = ("eagle3-table3", "eagle3-table4")
_TABLE3_SERIES = (("EAGLE", "eagle1"), ("EAGLE-3", "eagle3"))
_TABLE4_METHODS = (("EAGLE-2", "EAGLE"), ("EAGLE-3", "EAGLE-3"))


@functools.cache
def _data() -> Mapping:
    text = resources.files("core").joinpath("data/cost_profiles.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def calibration_inputs() -> Mapping:
    """The ``[calibration]`` table of ``cost_profiles.toml`` (inputs and assumptions of the fit)."""
    return _data()["calibration"]


def fitted_alphas() -> dict[str, float]:
    """The stored fitted alpha per method (``[calibration.fitted_alpha]``)."""
    return {str(k): float(v) for k, v in calibration_inputs().get("fitted_alpha", {}).items()}


def _table3(inputs: Mapping) -> list[calibration.Observation]:
    ref = get_reference(inputs["table3_reference"])
    shape = [int(ref.metrics[key]) for key in ("steps", "topk", "draft_tokens")]
    points = []
    for method, prefix in _TABLE3_SERIES:
        batches = ref.metrics[f"{prefix}_batch_sizes"]
        ratios = ref.metrics[f"{prefix}_throughput_ratio"]
        draft = inputs["methods"][method]
        for batch, ratio in zip(batches, ratios, strict=True):
            points.append(
                calibration.Observation(method, "speedup", method, draft, int(batch), *shape, ratio)
            )
    return points


def _table4(inputs: Mapping) -> list[calibration.Observation]:
    ref = get_reference(inputs["table4_reference"])
    shape = [int(inputs[f"table4_{key}"]) for key in ("steps", "topk", "draft_tokens")]
    # A plain step uses no draft and no alpha: EAGLE-3's are named only so that `speclab cost` with
    # these inputs runs; its baseline_tok_s does not depend on them.
    points = [calibration.Observation("plain", "baseline_tok_s", "EAGLE-3", inputs["methods"]["EAGLE-3"], 1,
                                      *shape, ref.metrics["baseline_tok_s"])]  # fmt: skip
    for label, method in _TABLE4_METHODS:
        value = ref.metrics["throughput_tok_s"][label]
        draft = inputs["methods"][method]
        points.append(calibration.Observation(label, "speculative_tok_s", method, draft, 1, *shape, value))
    return points


def problem() -> calibration.CalibrationProblem:
    """The calibration problem: 21 published points, the bounds, the assumed context and tree."""
    inputs = calibration_inputs()
    base = dataclasses_replace_id(ideal_profile(), inputs)
    return calibration.CalibrationProblem(
        hardware=str(inputs["hardware"]),
        target=str(inputs["target"]),
        context=int(inputs["context"]),
        observations=tuple(_table3(inputs) + _table4(inputs)),
        bounds={k: (float(a), float(b)) for k, (a, b) in inputs["bounds"].items()},
        alpha_bounds={k: (float(a), float(b)) for k, (a, b) in inputs["alpha_bounds"].items()},
        base=base,
    )


def dataclasses_replace_id(profile: EngineProfile, inputs: Mapping) -> EngineProfile:
    """The profile the fit starts from: attention FLOPs counted, named after the calibrated profile."""
    import dataclasses

    return dataclasses.replace(
        profile, id=str(inputs["profile"]), count_attention_flops=True, hardware=str(inputs["hardware"])
    )


def fit_eagle3_sglang(max_iterations: int = 300) -> calibration.FitResult:
    """Re-run the fit from scratch (deterministic; a few seconds)."""
    return calibration.fit(problem(), max_iterations=max_iterations)


def _inputs(method_draft: str, alpha: float | None, shape, context: int, profile: str) -> dict:
    inputs = calibration_inputs()
    steps, topk, tokens = shape
    return {
        "hardware": inputs["hardware"],
        "target": inputs["target"],
        "draft": method_draft,
        "alpha": alpha,
        "steps": steps,
        "topk": topk,
        "draft_tokens": tokens,
        "context": context,
        "profile": profile,
    }


def reproduce(name: str, profile: str | EngineProfile | None = None) -> dict:
    """The stored profile's model next to the published numbers of ``name`` (one of REPRODUCTIONS).

    Returns ``{"reproduction", "source", "profile", "methods": [{"method", "quantity", "inputs",
    "points": [{"batch", "model", "published", "error"}]}]}``; ``error`` = model / published - 1.
    """
    if name not in REPRODUCTIONS:
        raise ValueError(f"unknown reproduction {name!r}; choose one of: {', '.join(REPRODUCTIONS)}")
    inputs = calibration_inputs()
    prof = get_profile(profile or inputs["profile"])
    prob = problem()
    alphas = fitted_alphas()
    wanted = _table3(inputs) if name == "eagle3-table3" else _table4(inputs)
    groups: dict[str, dict] = {}
    for obs in wanted:
        alpha = alphas.get(obs.method) if obs.method else None
        model = calibration.model_value(prob, obs, prof, alpha)
        shape = (obs.steps, obs.topk, obs.draft_tokens)
        group = groups.setdefault(obs.label, {
            "method": obs.label,
            "quantity": obs.kind,
            "inputs": _inputs(obs.draft, alpha, shape, prob.context, prof.id),
            "points": [],
        })  # fmt: skip
        error = model / obs.published - 1.0
        group["points"].append(
            {"batch": obs.batch, "model": model, "published": obs.published, "error": error}
        )
    ref_id = inputs["table3_reference" if name == "eagle3-table3" else "table4_reference"]
    return {
        "reproduction": name,
        "source": get_reference(ref_id).source,
        "profile": prof.id,
        "methods": list(groups.values()),
    }


def sweep_for(method_inputs: Mapping, batches) -> cost_model.BatchSweep:
    """The cost model for one method's reproduction inputs (what ``speclab cost`` computes)."""
    return cost_model.speedup_vs_batch(
        method_inputs["hardware"], method_inputs["target"], method_inputs["draft"], method_inputs["alpha"],
        method_inputs["steps"], batches, method_inputs["context"], profile=method_inputs["profile"],
        topk=method_inputs["topk"], draft_tokens=method_inputs["draft_tokens"],
    )  # fmt: skip
