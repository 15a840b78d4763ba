"""The deployment wizard: should this deployment use speculative decoding, how, and why.

The learner describes a deployment (:class:`Deployment`); :func:`recommend` returns a
:class:`Recommendation`: a verdict (use it / measure first / don't), the method (EAGLE3, NEXTN,
STANDALONE or NGRAM), a starting SGLang configuration, speedup estimates with their source (published
numbers by reference id, and the roofline cost model labelled as simulated), and the reasons.

The rules are transparent: every reason is one rule that fired, with its id, the threshold it used and
where that threshold comes from. Thresholds and acceptance priors live in ``core/data/decision.toml``;
the ones that are not published are marked there as the lab's assumptions.

How the method is chosen: every method the deployment can run (its own MTP layers, an EAGLE-3 head, a
small draft model, n-gram lookup, which always works) gets an acceptance prior ``alpha`` for the task
(lowered for temperature) and a draft cost ratio ``c``; the closed form (Leviathan et al. 2023) gives the
best batch-1 speedup of each, and the highest wins. Batch size, output length, memory and task then cap
the verdict; the cost model simulates the speedup at the learner's own batch size.
"""

from __future__ import annotations

import functools
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType

from core.serving.launch import release_rules
from core.simulation import closed_form

__all__ = [
    "DRAFT_KINDS",
    "METHODS",
    "TASKS",
    "VERDICTS",
    "Deployment",
    "MethodScore",
    "Reason",
    "Recommendation",
    "SpeedupEstimate",
    "StartConfig",
    "chain_draft_tokens",
    "load_rules",
    "recommend",
]

VERDICTS = ("use", "measure", "avoid")  # ordered from best to worst
METHODS = ("EAGLE3", "NEXTN", "STANDALONE", "NGRAM")
TASKS = ("code", "structured", "translation", "summarization", "qa", "chat", "creative")
# What draft the learner has for the model: an EAGLE-3 head, a small LM with the same tokenizer, nothing.
DRAFT_KINDS = ("eagle3", "draft_model", "none")

_MAX_BATCH = 100_000
_MAX_OUTPUT = 1_000_000
_MAX_CONTEXT = 10_000_000


def _frozen(value):
    if isinstance(value, dict):
        return MappingProxyType({key: _frozen(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(item) for item in value)
    return value


@functools.cache
def load_rules() -> Mapping:
    """The parsed ``core/data/decision.toml``, read once per process and read-only all the way down
    (tables are ``MappingProxyType``, arrays tuples), so every session can share it safely."""
    text = resources.files("core").joinpath("data/decision.toml").read_text(encoding="utf-8")
    return _frozen(tomllib.loads(text))


def chain_draft_tokens(steps: int) -> int:
    """``--speculative-num-draft-tokens`` for a chain (``--speculative-eagle-topk 1``): steps + 1.

    SGLang overwrites any other value with this one when topk is 1, because a chain of ``steps`` drafts
    plus the token the target always adds is ``steps + 1`` tokens to verify.
    """
    if isinstance(steps, bool) or float(steps) != int(steps) or int(steps) < 1:
        raise ValueError(f"speculative steps must be a whole number >= 1, got {steps!r}")
    return int(steps) + 1


# ------------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Deployment:
    """What the learner serves.

    ``task``: one of :data:`TASKS`. ``output_tokens``: typical output length (tokens). ``batch_size``:
    typical number of concurrent requests. ``temperature``: sampling temperature (0 = greedy).
    ``memory_headroom_gb``: GPU memory still free with the target and its KV cache loaded (GB).
    ``draft``: one of :data:`DRAFT_KINDS`. ``has_mtp``: the model ships multi-token-prediction layers
    (DeepSeek-V3/R1 style). ``hardware`` / ``target`` / ``context_tokens``: cost-model preset ids and the
    typical context length (prompt + output, tokens) for the simulated estimate.
    """

    task: str = "chat"
    output_tokens: int = 256
    batch_size: int = 1
    temperature: float = 0.0
    memory_headroom_gb: float = 10.0
    draft: str = "none"
    has_mtp: bool = False
    hardware: str = "h100-sxm"
    target: str = "llama-3.1-8b"
    context_tokens: int = 2048

    def validated(self) -> Deployment:
        """This deployment with numbers cast to their types; ``ValueError`` names the first bad field."""
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")
        if self.draft not in DRAFT_KINDS:
            raise ValueError(f"draft must be one of {', '.join(DRAFT_KINDS)}, got {self.draft!r}")
        return Deployment(
            task=self.task,
            output_tokens=_whole("output length", self.output_tokens, 1, _MAX_OUTPUT),
            batch_size=_whole("batch size", self.batch_size, 1, _MAX_BATCH),
            temperature=_number("temperature", self.temperature, 0.0, 2.0),
            memory_headroom_gb=_number("memory headroom (GB)", self.memory_headroom_gb, 0.0, 10_000.0),
            draft=self.draft,
            has_mtp=bool(self.has_mtp),
            hardware=str(self.hardware),
            target=str(self.target),
            context_tokens=_whole("context length", self.context_tokens, 1, _MAX_CONTEXT),
        )


@dataclass(frozen=True)
class Reason:
    """One rule that fired. ``kind``: ``for``, ``against``, ``risk`` or ``info``. ``cap``: the best verdict
    this rule still allows (``None`` = no limit). ``source``: where the threshold or fact comes from;
    ``cites``: the ids of the ``core/data/published.toml`` entries behind it."""

    rule: str
    kind: str
    text: str
    cap: str | None = None
    source: str = ""
    cites: tuple[str, ...] = ()  # published.toml ids holding every published number in ``text``


@dataclass(frozen=True)
class MethodScore:
    """A candidate method: acceptance prior (after temperature), cost ratio, and the closed-form optimum
    at batch 1 (``best_gamma`` drafts, ``speedup`` dimensionless)."""

    method: str
    label: str
    alpha: float
    cost_ratio: float
    best_gamma: int
    speedup: float


@dataclass(frozen=True)
class StartConfig:
    """A starting SGLang configuration. ``steps`` / ``topk`` are ``None`` for NGRAM (it drafts from a
    cache; the wizard sets only ``--speculative-num-draft-tokens`` and leaves SGLang's breadth default). ``gamma`` is the chain length the simulator
    should use. ``why`` explains the choice."""

    algorithm: str
    steps: int | None
    topk: int | None
    draft_tokens: int
    gamma: int
    why: str
    flags: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        """``3/1/4`` style steps/topk/draft tokens, or ``draft tokens 8`` for NGRAM."""
        if self.steps is None:
            return f"draft tokens {self.draft_tokens}"
        return f"{self.steps}/{self.topk}/{self.draft_tokens}"


@dataclass(frozen=True)
class SpeedupEstimate:
    """An expected speedup range (dimensionless, over plain decoding) and where it comes from.

    ``kind``: ``"published"`` (``reference_id`` names the entry of :mod:`core.references.published`, or ``source``
    cites it) or ``"simulated"`` (the roofline cost model). ``conditions`` says what it was measured or
    simulated for, so the learner can judge how far it transfers.
    """

    kind: str
    low: float
    high: float
    source: str
    conditions: str
    reference_id: str | None = None
    url: str = ""


@dataclass(frozen=True)
class Recommendation:
    """The wizard's answer. ``verdict`` is one of :data:`VERDICTS`; ``method`` is ``None`` when no method
    is worth it. ``alpha`` is the acceptance prior used for the chosen method (after temperature)."""

    deployment: Deployment
    verdict: str
    verdict_label: str
    method: str | None
    method_label: str
    alpha: float | None
    config: StartConfig | None
    estimates: tuple[SpeedupEstimate, ...]
    reasons: tuple[Reason, ...]
    candidates: tuple[MethodScore, ...]
    expected_accept_length: float | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def rules_fired(self) -> tuple[str, ...]:
        return tuple(reason.rule for reason in self.reasons)

    def reason(self, rule: str) -> Reason | None:
        for reason in self.reasons:
            if reason.rule == rule:
                return reason
        return None

    def simulator_query(self) -> dict[str, str]:
        """Query parameters that open the Simulator's cost section on this deployment (docs/developing.md).

        Values are strings, as ``st.page_link(..., query_params=...)`` sends them. When no method is worth
        it, the link shows the best candidate at its closed-form gamma, so the learner can see why.
        """
        if self.method is not None and self.config is not None and self.alpha is not None:
            method_id, alpha, gamma = self.method, self.alpha, self.config.gamma
        elif self.candidates:
            best = self.candidates[0]
            method_id, alpha, gamma = best.method, best.alpha, max(1, best.best_gamma)
        else:
            return {}
        method = load_rules()["methods"][method_id]
        dep = self.deployment
        return {
            "section": "cost",
            "alpha": f"{alpha:.2f}",
            "gamma": str(gamma),
            "batch": str(dep.batch_size),
            "hardware": dep.hardware,
            "target": dep.target,
            "draft": method["cost_model_draft"],
            "context": str(dep.context_tokens),
        }


# -------------------------------------------------------------------------------------------- helpers


def _whole(label: str, value, minimum: int, maximum: int) -> int:
    try:
        ok = not isinstance(value, bool) and float(value) == int(value)
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok or not minimum <= int(value) <= maximum:
        raise ValueError(f"{label} must be a whole number from {minimum} to {maximum}, got {value!r}")
    return int(value)


def _number(label: str, value, minimum: float, maximum: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{label} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(number) or not minimum <= number <= maximum:
        raise ValueError(f"{label} must be a number from {minimum:g} to {maximum:g}, got {value!r}")
    return number


def _available_methods(dep: Deployment) -> list[str]:
    methods = []
    if dep.has_mtp:
        methods.append("NEXTN")
    if dep.draft == "eagle3":
        methods.append("EAGLE3")
    if dep.draft == "draft_model":
        methods.append("STANDALONE")
    methods.append("NGRAM")  # needs nothing but the prompt and the output so far
    return methods


def temperature_alpha(alpha: float, temperature: float) -> float:
    """Acceptance prior lowered for sampling temperature: ``alpha * (1 - penalty * min(T, 2))``.

    The penalty is the lab's assumption in decision.toml (calibrated on EAGLE-3's published accept lengths
    at temperature 0 and 1).
    """
    penalty = float(load_rules()["thresholds"]["temperature_penalty"])
    return max(0.0, min(1.0, alpha * (1.0 - penalty * min(float(temperature), 2.0))))


def _score_methods(dep: Deployment) -> list[MethodScore]:
    rules = load_rules()
    task = rules["tasks"][dep.task]
    scores = []
    for method in _available_methods(dep):
        spec = rules["methods"][method]
        alpha = temperature_alpha(float(task["alpha"][method]), dep.temperature)
        cost = float(spec["cost_ratio"])
        gamma, speedup = closed_form.optimal_gamma(alpha, cost)
        scores.append(MethodScore(method, spec["label"], alpha, cost, gamma, speedup))
    # Highest closed-form speedup first; ties keep the order of _available_methods.
    return sorted(scores, key=lambda s: -round(s.speedup, 6))


def _start_config(method: str, score: MethodScore, dep: Deployment) -> StartConfig:
    rules = load_rules()
    config = rules["config"]
    large = dep.batch_size >= int(rules["thresholds"]["large_batch"])
    spec = rules["methods"][method]
    if method == "NGRAM":
        tokens = int(config["ngram_large_batch_draft_tokens" if large else "ngram_draft_tokens"])
        why = (
            "NGRAM drafts from a cache of earlier text: no draft model, and its tree width is "
            "--speculative-ngram-max-bfs-breadth (default 10), not --speculative-eagle-topk. SGLang defaults "
            f"--speculative-num-draft-tokens to 12 for NGRAM; starting at {tokens} wastes "
            "less verify compute on unmatched drafts"
            + (" at this batch size" if large else "")
            + ". Sweep it "
            "on your prompts."
        )
        flags = ("--speculative-algorithm NGRAM", f"--speculative-num-draft-tokens {tokens}")
        return StartConfig("NGRAM", None, None, tokens, max(1, tokens - 1), why, flags)
    steps = int(config["large_batch_steps" if large else "conservative_steps"])
    steps = max(1, min(steps, score.best_gamma))
    tokens = chain_draft_tokens(steps)
    parts = []
    if large:
        parts.append(
            f"At batch {dep.batch_size} every extra draft token costs verify compute, and the best length "
            f"shrinks as batch grows (Su et al. 2023 found it depends on batch size): start at {steps} steps "
            "(the lab's choice) and sweep."
        )
    else:
        parts.append(
            f"{steps}/1/{tokens} is the conservative start (SGLang's automatic choice for most models in "
            "current releases, and for STANDALONE)."
        )
    if score.best_gamma > steps:
        parts.append(
            f"The closed form puts the batch-1 optimum at {score.best_gamma} drafts for alpha "
            f"{score.alpha:.2f} and c {score.cost_ratio:.2f}: sweep steps upward while accept length and "
            "tokens/s still improve."
        )
    elif score.best_gamma < int(config["conservative_steps"]):
        parts.append(
            f"The closed form's optimum is only {score.best_gamma} drafts at alpha {score.alpha:.2f}: longer "
            "chains would be rejected too often."
        )
    parts.append(
        "topk 1 (a chain) makes SGLang set draft tokens = steps + 1; up to SGLang 0.5.12 it was also the only "
        "shape the overlap scheduler's speculative path (spec v2) supported."
    )
    flags = [f"--speculative-algorithm {spec['algorithm']}"]
    if spec["needs_draft_path"]:
        example = rules.get("draft_paths", {}).get(method, {}).get(dep.target)
        flags.append(f"--speculative-draft-model-path {example or '<your ' + spec['label'] + '>'}")
    flags += [
        f"--speculative-num-steps {steps}",
        "--speculative-eagle-topk 1",
        f"--speculative-num-draft-tokens {tokens}",
    ]
    return StartConfig(spec["algorithm"], steps, 1, tokens, steps, " ".join(parts), tuple(flags))


def _model_profile(hardware: str) -> tuple[str | None, str]:
    """(profile id, how the estimate is labelled): the profile calibrated on this hardware, else the ideal
    roofline (a best case)."""
    from core.simulation.engine_profile import calibrated_profile_for

    profile = calibrated_profile_for(hardware)
    if profile is None:
        return None, "ideal roofline (a best case: no engine profile is calibrated for this hardware)"
    return profile.id, f"calibrated cost model ({profile.id}, fitted to the EAGLE-3 paper's SGLang tables)"


def _simulated_estimate(
    method: str, score: MethodScore, config: StartConfig, dep: Deployment
) -> tuple[SpeedupEstimate | None, str]:
    """Cost-model speedup range at the learner's batch (alpha prior +/- spread); or a note why not."""
    from core.simulation import (
        cost_model,  # imported here: the wizard's rules work even if presets fail to load
    )

    rules = load_rules()
    spec = rules["methods"][method]
    spread = float(rules["thresholds"]["alpha_spread"])
    alphas = (max(0.0, score.alpha - spread), min(1.0, score.alpha + spread))
    profile, label = _model_profile(dep.hardware)
    draft = spec["cost_model_draft"]
    try:
        values = [
            cost_model.speculative_speedup(
                dep.hardware,
                dep.target,
                draft,
                alpha,
                config.gamma,
                dep.batch_size,
                dep.context_tokens,
                profile=profile,
            )  # fmt: skip
            for alpha in alphas
        ]
    except ValueError as error:
        return None, f"No simulated estimate: {error}"
    conditions = (
        f"{dep.hardware}, {dep.target}, draft {draft}, batch {dep.batch_size}, context "
        f"{dep.context_tokens} tokens, chain of {config.gamma}, alpha {alphas[0]:.2f}-{alphas[1]:.2f}"
    )
    note = spec.get("cost_model_note", "")
    if note:
        conditions += f" ({note})"
    if cost_model.get_hardware(dep.hardware).flops_assumed:
        conditions += "; this GPU's BF16 FLOPS are not published, the cost model assumes a value"
    fit = cost_model.memory_check(
        dep.hardware, dep.target, draft, dep.batch_size, dep.context_tokens, config.gamma
    )
    if fit.fits is False:
        conditions += f"; NOTE: {fit.message}"
    source = f"core.simulation.cost_model, {label}"
    return SpeedupEstimate("simulated", min(values), max(values), source, conditions), ""


# ------------------------------------------------------------------------------------------ the rules


def _cites(source_key: str) -> tuple[str, ...]:
    """The published.toml ids behind ``[sources].<source_key>`` of decision.toml."""
    return tuple(load_rules().get("cites", {}).get(source_key, ()))


def _cap(reasons: list[Reason]) -> str:
    verdict = "use"
    for reason in reasons:
        if reason.cap is not None and VERDICTS.index(reason.cap) > VERDICTS.index(verdict):
            verdict = reason.cap
    return verdict


def recommend(deployment: Deployment, references: Mapping | None = None) -> Recommendation:
    """The wizard's recommendation for ``deployment`` (raises ``ValueError`` on invalid input).

    ``references``: published references by id; defaults to ``core.references.published.load_references()``. The
    recommendation cites the ones that match the chosen method and conditions.
    """
    dep = deployment.validated()
    rules = load_rules()
    task = rules["tasks"][dep.task]
    candidates = _score_methods(dep)
    best = candidates[0]
    reasons, method = _method_reasons(best, candidates, task, rules)
    reasons += _task_reasons(dep, task, method, rules["sources"])
    reasons += _output_reasons(dep, rules["thresholds"])
    reasons += _batch_reasons(dep, method, rules)
    reasons += _temperature_reasons(dep, method, best, rules)
    reasons += _memory_reasons(dep, method, rules)
    config, alpha, accept_length, estimates, notes = None, None, None, [], []
    if method is not None:
        config, alpha, accept_length = _configured(method, best, dep, rules)
        estimates, notes, cost_reasons = _simulated_estimates(method, best, config, dep, rules)
        reasons += cost_reasons
        if references is None:
            from core.references import published

            references = published.load_references()
        estimates += _published_estimates(method, dep, references)

    verdict = _cap(reasons)
    if method is None:
        verdict = "avoid"
    labels = rules["verdicts"]
    return Recommendation(
        deployment=dep,
        verdict=verdict,
        verdict_label=labels[verdict],
        method=method,
        method_label=rules["methods"][method]["label"] if method else "none",
        alpha=alpha,
        config=config,
        estimates=tuple(estimates),
        reasons=tuple(reasons),
        candidates=tuple(candidates),
        expected_accept_length=accept_length,
        notes=tuple(notes),
    )


# One step of :func:`recommend` each: the reasons (rules that fired) for one aspect of the deployment.
def _method_reasons(
    best: MethodScore, candidates: list[MethodScore], task: Mapping, rules: Mapping
) -> tuple[list[Reason], str | None]:
    """Which method, if any, is worth it (the best closed-form speedup at batch 1); returns it too."""
    limits, sources = rules["thresholds"], rules["sources"]
    reasons: list[Reason] = []
    method: str | None = best.method
    comparison = "; ".join(
        f"{c.method} alpha {c.alpha:.2f}, c {c.cost_ratio:.2f}: up to {c.speedup:.2f}x at gamma {c.best_gamma}"
        for c in candidates
    )
    if best.speedup < float(limits["min_worthwhile_speedup"]):
        reasons.append(
            Reason(
                "no_worthwhile_method",
                "against",
                f"No method you can run is worth it for {task['label'].lower()}: the best closed-form speedup "
                f"at batch 1 is {best.speedup:.2f}x ({comparison}), below the "
                f"{limits['min_worthwhile_speedup']}x this wizard asks for. A trained draft (an EAGLE-3 head, "
                "for example trained with SpecForge) would change this.",
                cap="avoid",
                source="lab assumption (thresholds.min_worthwhile_speedup); acceptance priors per task",
            )
        )
        method = None
    else:
        why = {
            "NEXTN": "the model ships its own multi-token-prediction layers: no separate draft to load or align",
            "EAGLE3": "an EAGLE-3 head drafts from the target's own hidden states, so it is cheap and accurate",
            "STANDALONE": "a small model with the same tokenizer can draft, at a higher cost per draft token",
            "NGRAM": "n-gram lookup copies drafts from the prompt and earlier output, with no model to load",
        }[best.method]
        reasons.append(
            Reason(
                f"method_{best.method.lower()}",
                "for",
                f"{best.label}: {why}. Closed-form comparison at batch 1: {comparison}.",
                source="closed form (Leviathan et al. 2023, Theorem 3.8) with the lab's acceptance priors",
            )
        )
        if best.method == "NEXTN":
            reasons.append(
                Reason(
                    "mtp_published",
                    "info",
                    "DeepSeek reports its MTP module's second token is accepted 85-90% of the time.",
                    source=sources["deepseek_mtp"],
                    cites=_cites("deepseek_mtp"),
                )
            )

    return reasons, method


def _task_reasons(dep: Deployment, task: Mapping, method: str | None, sources: Mapping) -> list[Reason]:
    """What the task means for acceptance (and for n-gram lookup, and structured output)."""
    reasons: list[Reason] = []
    if dep.task == "translation":
        reasons.append(
            Reason(
                "task_translation",
                "against",
                "Translation (German to English in Spec-Bench) is the slowest category for most methods on "
                "Spec-Bench's leaderboard, though not all (Medusa and Hydra are slowest on RAG, REST on math); "
                "the benchmark gives no cause. Expect the low end of any range; measure.",
                cap="measure",
                source=sources["specbench"],
                cites=_cites("specbench"),
            )
        )
    elif dep.task == "creative":
        reasons.append(
            Reason(
                "task_creative",
                "against",
                "Creative writing has many plausible continuations, so acceptance is low even for a good draft.",
                cap="measure",
                source="lab assumption (acceptance priors per task)",
            )
        )
    elif dep.task in ("code", "structured", "summarization") and method is not None:
        reasons.append(
            Reason(
                f"task_{dep.task}",
                "for",
                task["note"],
                source="lab assumption (acceptance priors per task)",
                cites=tuple(task.get("cites", ())),
            )
        )
    reasons += _ngram_task_reasons(task, method, sources)
    if dep.task == "structured" and method is not None:
        reasons.append(
            Reason(
                "structured_output",
                "risk",
                "If you enforce a JSON schema or grammar, check that your SGLang version supports it together "
                "with speculation: users have reported problems with structured output and logprobs.",
                source=sources["sglang_structured"],
            )
        )

    return reasons


def _ngram_task_reasons(task: Mapping, method: str | None, sources: Mapping) -> list[Reason]:
    """Whether this task's output repeats its input, which is what n-gram lookup drafts from."""
    reasons: list[Reason] = []
    if method == "NGRAM":
        if task["ngram"] == "good":
            reasons.append(
                Reason(
                    "ngram_copies_input",
                    "for",
                    "Summaries copy names and phrases from the document, exactly what prompt lookup finds.",
                    source=sources["specbench"]
                    + ": summarization is prompt lookup's best category (1.93-2.66x)",
                    cites=("specbench-pld-summarization",),
                )
            )
        elif task["ngram"] == "some":
            reasons.append(
                Reason(
                    "ngram_partial",
                    "risk",
                    "N-gram lookup only helps when the output repeats the prompt or itself (edits, quotes, "
                    "fixed formats). Whether yours does is something to measure, not assume.",
                    cap="measure",
                    source="lab assumption (tasks.*.ngram in decision.toml)",
                )
            )
    return reasons


def _output_reasons(dep: Deployment, limits: Mapping) -> list[Reason]:
    """Short outputs are mostly prefill, which speculation cannot shorten."""
    reasons: list[Reason] = []
    if dep.output_tokens < int(limits["short_output_tokens"]):
        reasons.append(
            Reason(
                "short_output",
                "against",
                f"Outputs of about {dep.output_tokens} tokens are mostly prefill and time-to-first-token, which "
                "speculation cannot shorten; the draft machinery costs memory for almost no gain.",
                cap="avoid",
                source=f"lab assumption (fewer than {limits['short_output_tokens']} output tokens; the seed "
                "notebook asks for more than 20)",
            )
        )
    elif dep.output_tokens < int(limits["medium_output_tokens"]):
        reasons.append(
            Reason(
                "medium_output",
                "risk",
                f"With about {dep.output_tokens} output tokens the prefill is a large share of each request, so "
                "the end-to-end gain is smaller than the decode speedup shown here.",
                source=f"lab assumption (fewer than {limits['medium_output_tokens']} output tokens)",
            )
        )

    return reasons


def _batch_reasons(dep: Deployment, method: str | None, rules: Mapping) -> list[Reason]:
    """Batch size: memory-bound (verify is nearly free) or compute-bound (it costs); SGLang's 48 cap."""
    limits, sources = rules["thresholds"], rules["sources"]
    reasons: list[Reason] = []
    robust = method is not None and bool(rules["methods"][method]["robust_at_batch"])
    if dep.batch_size <= int(limits["small_batch"]):
        if method is not None:
            reasons.append(
                Reason(
                    "small_batch",
                    "for",
                    f"At {dep.batch_size} concurrent request(s) decoding is memory-bound: each step reads all "
                    "the weights once, so verifying several drafted tokens costs about one plain step.",
                    source="roofline model (theory.md); Leviathan et al. 2023",
                )
            )
    elif dep.batch_size < int(limits["large_batch"]):
        reasons.append(
            Reason(
                "medium_batch",
                "risk",
                f"At batch {dep.batch_size} the verify pass carries batch x (drafts + 1) tokens and starts to "
                "cost real compute: the gain shrinks as batch grows, and shorter drafts win.",
                source=sources["su_batch"],
                cites=_cites("su_batch"),
            )
        )
    else:
        reasons.append(
            Reason(
                "large_batch",
                "against",
                f"At batch {dep.batch_size} the GPU is busy with real work; speculation adds verify compute and "
                "can make serving SLOWER than plain decoding. "
                + (
                    "EAGLE-3 still measured 1.38x at batch 64, so it may pay off, but only a measurement on "
                    "your hardware can tell."
                    if robust
                    else "Weaker drafts lose first (EAGLE-1 fell to 0.93x at batch 24; vLLM measured 1.4-1.8x "
                    "slowdowns at high load)."
                ),
                cap="measure" if robust else "avoid",
                source=sources["eagle3_batch"] + "; " + sources["vllm_blog"],
                cites=_cites("eagle3_batch") + _cites("vllm_blog"),
            )
        )
    return reasons + _running_requests_cap_reasons(dep, method, rules)


def _running_requests_cap_reasons(dep: Deployment, method: str | None, rules: Mapping) -> list[Reason]:
    """SGLang resets --max-running-requests to 48 with speculation: a large batch would queue."""
    limits, sources = rules["thresholds"], rules["sources"]
    reasons: list[Reason] = []
    if dep.batch_size > int(limits["running_requests_cap"]) and method is not None:
        reasons.append(
            Reason(
                "running_requests_cap",
                "risk",
                f"With speculation on, SGLang resets --max-running-requests to 48 unless you set it (it logs "
                "this once as a warning at start-up, easy to miss): "
                f"your {dep.batch_size} concurrent requests would queue. Set --max-running-requests "
                f"{dep.batch_size} explicitly (and check it fits in memory).",
                source=sources["sglang_cap"],
                cites=_cites("sglang_cap"),
            )
        )

    return reasons


def _temperature_reasons(
    dep: Deployment, method: str | None, best: MethodScore, rules: Mapping
) -> list[Reason]:
    limits, sources = rules["thresholds"], rules["sources"]
    reasons: list[Reason] = []
    if dep.temperature >= float(limits["high_temperature"]) and method is not None:
        reasons.append(
            Reason(
                "high_temperature",
                "risk",
                f"Sampling at temperature {dep.temperature:g} spreads the target's probabilities, so drafts "
                "match less often: EAGLE-3's accepted length fell from 6.23 to 4.92 going from temperature "
                f"0 to 1. The wizard lowered alpha to {best.alpha:.2f} for this.",
                source=sources["eagle3_temperature"] + "; lab assumption (thresholds.temperature_penalty)",
                cites=_cites("eagle3_temperature"),
            )
        )

    return reasons


def _memory_reasons(dep: Deployment, method: str | None, rules: Mapping) -> list[Reason]:
    """Whether the method's extra GPU memory fits in the headroom."""
    reasons: list[Reason] = []
    if method is not None:
        spec = rules["methods"][method]
        need = float(spec["memory_gb"])
        if dep.memory_headroom_gb < need:
            newest = release_rules()  # the CUDA-graph flag was renamed: name it for the newest release
            reasons.append(
                Reason(
                    "memory_tight",
                    "against",
                    f"{spec['label']} needs about {need:g} GB more GPU memory; you have {dep.memory_headroom_gb:g} "
                    "GB free. Free memory first (lower --mem-fraction-static or the CUDA-graph batch, "
                    f"{newest.cuda_graph_max_bs_flag} in SGLang {newest.release} (--cuda-graph-max-bs up to "
                    "0.5.12); a smaller KV budget) or it will not start, or will steal KV cache from your "
                    "requests.",
                    cap="avoid",
                    source=spec["memory_source"],
                    cites=tuple(spec.get("memory_cites", ())),
                )
            )
        else:
            reasons.append(
                Reason(
                    "memory_ok",
                    "info",
                    f"{spec['label']} needs about {need:g} GB more GPU memory; you have "
                    f"{dep.memory_headroom_gb:g} GB free.",
                    source=spec["memory_source"],
                    cites=tuple(spec.get("memory_cites", ())),
                )
            )

    return reasons


def _configured(
    method: str, best: MethodScore, dep: Deployment, rules: Mapping
) -> tuple[StartConfig, float, float]:
    """The starting configuration (with --max-running-requests above SGLang's cap), the acceptance prior
    and the closed form's expected accept length at that configuration."""
    limits = rules["thresholds"]
    config = _start_config(method, best, dep)
    alpha = best.alpha
    accept_length = float(closed_form.expected_tokens_per_pass(alpha, config.gamma))
    if dep.batch_size > int(limits["running_requests_cap"]):
        config = StartConfig(
            config.algorithm,
            config.steps,
            config.topk,
            config.draft_tokens,
            config.gamma,
            config.why,
            (*config.flags, f"--max-running-requests {dep.batch_size}"),
        )
    return config, alpha, accept_length


def _simulated_estimates(
    method: str, best: MethodScore, config: StartConfig, dep: Deployment, rules: Mapping
) -> tuple[list[SpeedupEstimate], list[str], list[Reason]]:
    """The cost model's speedup range (or a note why there is none), and the reasons it gives."""
    limits = rules["thresholds"]
    estimates: list[SpeedupEstimate] = []
    notes: list[str] = []
    reasons: list[Reason] = []
    simulated, note = _simulated_estimate(method, best, config, dep)
    if simulated is None:
        notes.append(note)
    else:
        estimates.append(simulated)
        if simulated.high < float(limits["simulated_avoid_below"]):
            reasons.append(
                Reason(
                    "simulated_slowdown",
                    "against",
                    f"The cost model simulates {simulated.low:.2f}-{simulated.high:.2f}x at batch "
                    f"{dep.batch_size}: slower than plain decoding over the whole alpha range.",
                    cap="avoid",
                    source=simulated.source,
                )
            )
        elif simulated.low < float(limits["simulated_measure_below"]):
            reasons.append(
                Reason(
                    "simulated_marginal",
                    "risk",
                    f"The cost model simulates {simulated.low:.2f}-{simulated.high:.2f}x at batch "
                    f"{dep.batch_size}: the low end is close to (or below) no gain at all.",
                    cap="measure",
                    source=simulated.source,
                )
            )
    return estimates, notes, reasons


def _estimate(reference, low: float, high: float, conditions: str) -> SpeedupEstimate:
    return SpeedupEstimate(
        "published", float(low), float(high), reference.source, conditions, reference.id, reference.url
    )


def _published_estimates(method: str, dep: Deployment, references: Mapping) -> list[SpeedupEstimate]:
    """Published speedups for the chosen method, picked by the deployment's conditions.

    Each estimate keeps the conditions it was measured under (model, hardware, batch), which are rarely
    the learner's: published numbers show what is possible, the simulated one what to expect here.
    """
    limits = load_rules()["thresholds"]
    large = dep.batch_size >= int(limits["large_batch"])
    small = dep.batch_size <= int(limits["small_batch"])
    by_method = {
        "EAGLE3": _eagle3_estimates,
        "NEXTN": _nextn_estimates,
        "STANDALONE": _standalone_estimates,
        "NGRAM": _ngram_estimates,
    }
    out = by_method[method](dep, references, large, small) if method in by_method else []
    if method in ("STANDALONE", "NGRAM") and large:
        out += _high_load_estimates(references)
    return out


def _eagle3_estimates(
    dep: Deployment, references: Mapping, large: bool, small: bool
) -> list[SpeedupEstimate]:
    """EAGLE-3: the paper's and SGLang's batch-1 figures, and its throughput ratios by batch."""
    out: list[SpeedupEstimate] = []
    paper = references.get("eagle3-llama31-8b-t1" if dep.temperature >= 0.5 else "eagle3-llama31-8b-t0")
    if paper is not None and small:
        speedup = paper.metric("speedup")
        out.append(
            _estimate(
                paper,
                speedup,
                speedup,
                f"{paper.title}: mean over five tasks, tree drafting, accept length "
                f"{paper.metric('accept_length')} tokens per pass",
            )
        )
    docs = references.get("sglang-docs-llama31-8b-h100")
    if docs is not None and small:
        base = docs.metric("baseline_tok_s")
        eagle3 = docs.metric("throughput_tok_s")["EAGLE-3"]
        out.append(
            _estimate(
                docs,
                eagle3 / base,
                eagle3 / base,
                f"{docs.title}: {eagle3:g} vs {base:g} tokens/s (ratio of the two published throughputs)",
            )
        )
    table = references.get("eagle3-table3-batch")
    if table is not None and dep.batch_size > 1:
        batches = table.metric("eagle3_batch_sizes")
        ratios = table.metric("eagle3_throughput_ratio")
        points = ", ".join(f"{r:g}x at batch {b:g}" for b, r in zip(batches, ratios, strict=True))
        out.append(
            _estimate(
                table,
                min(ratios),
                max(ratios),
                f"{table.title}, Llama-3.1-8B, chain of 3 drafts: {points}",
            )
        )
    return out


def _nextn_estimates(dep: Deployment, references: Mapping, large: bool, small: bool) -> list[SpeedupEstimate]:
    """NEXTN (MTP layers): DeepSeek's reported speedup."""
    out: list[SpeedupEstimate] = []
    mtp = references.get("deepseek-v3-mtp")
    if mtp is not None:
        value = mtp.metric("speedup")
        conditions = (
            "DeepSeek-V3 with its MTP module predicting one extra token: tokens per second vs without"
        )
        out.append(_estimate(mtp, value, value, conditions))
    return out


def _standalone_estimates(
    dep: Deployment, references: Mapping, large: bool, small: bool
) -> list[SpeedupEstimate]:
    """A small draft model: SpS and Spec-Bench, away from large batches."""
    out: list[SpeedupEstimate] = []
    sps = references.get("sps-vicuna-68m")
    if sps is not None and not large:
        out.append(
            _estimate(
                sps,
                sps.metric("speedup_low"),
                sps.metric("speedup_high"),
                f"{sps.title}: accept length {sps.metric('accept_length')} tokens per pass",
            )
        )
    bench = references.get("specbench-vicuna7b-a100")
    if bench is not None and not large:
        value = bench.metric("speedup_by_method")["SpS"]
        out.append(
            _estimate(bench, value, value, "Spec-Bench overall, SpS (a small draft model), Vicuna-7B, A100")
        )
    return out


def _ngram_estimates(dep: Deployment, references: Mapping, large: bool, small: bool) -> list[SpeedupEstimate]:
    """Prompt lookup: Spec-Bench (summarization, and overall), away from large batches."""
    out: list[SpeedupEstimate] = []
    if dep.task == "summarization":
        pld = references.get("specbench-pld-summarization")
        if pld is not None and not large:
            out.append(_estimate(pld, pld.metric("speedup_low"), pld.metric("speedup_high"), pld.title))
    bench = references.get("specbench-vicuna7b-a100")
    if bench is not None and not large:
        value = bench.metric("speedup_by_method")["Prompt lookup"]
        out.append(
            _estimate(
                bench,
                value,
                value,
                "Spec-Bench overall (all six categories), prompt lookup, Vicuna-7B, A100",
            )
        )
    return out


def _high_load_estimates(references: Mapping) -> list[SpeedupEstimate]:
    """vLLM's measured slowdowns of small drafts and n-grams at high load."""
    out: list[SpeedupEstimate] = []
    blog = references.get("vllm-blog-2024-10")
    if blog is not None:
        low = 1.0 / blog.metric("slowdown_high_load_high")
        high = 1.0 / blog.metric("slowdown_high_load_low")
        out.append(
            _estimate(
                blog,
                low,
                high,
                f"{blog.title}, Llama-3-70B on 4x H100 at HIGH load: 1.4-1.8x slower, i.e. "
                f"{low:.2f}-{high:.2f}x",
            )
        )
    return out
