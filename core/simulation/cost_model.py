"""Cost model: how long a decoding step takes, and when speculation stops paying off.

One forward pass of a model over ``n = num_sequences * tokens_per_sequence`` tokens takes

    T_fwd = pass_overhead + max(memory time, compute time) + n * per-token cost
    memory time  = (weight_bytes + kv_bytes_per_token * num_sequences * context_len) / (eta_bw * bandwidth)
    compute time = (2 * params * n + attention FLOPs) / (eta_f * FLOPS)

Weights are read once per pass and shared by every token in it; KV-cache reads are NOT shared: each
sequence reads its own context (MagicDec, arXiv 2408.11049), so long contexts stay memory-bound at larger
batch. At batch 1 decoding is memory-bound: verifying a few tokens costs about one plain step, which is
why speculation helps. As batch grows, the verify pass's extra tokens cost real time, and speculation can
become SLOWER than plain decoding.

A speculative step for a batch of ``B`` sequences (SGLang's knobs: ``steps``, ``topk``, ``draft_tokens``)
= ``steps`` draft passes (the first proposes 1 token per sequence, each later one ``topk``) + one target
pass verifying ``draft_tokens`` tokens per sequence (every node of the tree, root included; a chain has
``steps + 1``). It yields ``B * E[N]`` tokens: E[N] is the accept length, given, or computed from an i.i.d.
acceptance ``alpha`` (a chain: :func:`core.simulation.closed_form.expected_tokens_per_pass`; a tree:
:func:`core.simulation.tree.expected_tokens_per_pass` with the rank-r child accepted with probability
``alpha * (1 - alpha) ** r``, a lab assumption).

The terms eta_bw, eta_f, the pass overhead and the per-token costs come from an engine profile
(:mod:`core.simulation.engine_profile`): ``ideal`` is the best-case roofline (vendor peaks, 0.1 ms per
pass, no per-token cost), the model of the lesson; calibrated profiles were fitted once to published
measurements (:mod:`core.simulation.calibration`, provenance in ``core/data/cost_profiles.toml``). With
no profile every function uses the ideal roofline, as before.

Units: seconds, bytes, bytes per second, FLOP per second, tokens. Every public function accepts preset ids
(strings, see :func:`load_presets`) or :class:`Hardware` / :class:`ModelSpec` objects, validates its
inputs and raises ``ValueError`` with a readable message on bad input.
"""

from __future__ import annotations

import functools
import math
import numbers
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Literal

import numpy as np

from core.foundation.frozen import FrozenDict
from core.simulation import tree
from core.simulation.closed_form import expected_tokens_per_pass, validate_alpha, validate_gamma
from core.simulation.engine_profile import DEFAULT_OVERHEAD_S, EngineProfile, get_profile, ideal_profile

__all__ = [
    "DEFAULT_OVERHEAD_S",
    "DEFAULT_USABLE_MEMORY_FRACTION",
    "MAX_TOKENS_PER_SEQUENCE",
    "MEMORY_BOUND",
    "COMPUTE_BOUND",
    "Hardware",
    "ModelSpec",
    "Presets",
    "ForwardCost",
    "MemoryCheck",
    "BatchSweep",
    "load_presets",
    "parse_presets",
    "get_hardware",
    "get_model",
    "forward_cost",
    "forward_time_s",
    "baseline_step_time_s",
    "speculative_step_time_s",
    "effective_cost_ratio",
    "speculative_speedup",
    "speedup_vs_batch",
    "accept_length",
    "validate_tree_shape",
    "ridge_tokens",
    "memory_required_bytes",
    "memory_check",
    "max_batch_that_fits",
]

DEFAULT_USABLE_MEMORY_FRACTION = 0.9
"""Share of device memory assumed available for weights and KV cache (the rest holds activations, CUDA
graphs and the runtime). An assumption, comparable to a serving engine's static memory fraction."""

MEMORY_BOUND = "memory-bound"
COMPUTE_BOUND = "compute-bound"
Regime = Literal["memory-bound", "compute-bound"]

_MAX_BATCH = 1_000_000
_MAX_CONTEXT = 10_000_000
MAX_TOKENS_PER_SEQUENCE = 4096
"""Most new tokens per sequence one forward pass accepts (longer prefills must be chunked by the caller)."""


@dataclass(frozen=True)
class Hardware:
    """One accelerator (or an idealised group of them), with vendor peak figures.

    ``bandwidth_bytes_per_s``: memory bandwidth in bytes/s. ``flops_per_s``: dense BF16 peak in FLOP/s, or
    ``None`` when the vendor does not publish it. ``memory_bytes``: device memory in bytes, or ``None``.
    ``assumed_flops_per_s`` holds the value the model uses when ``flops_per_s`` is ``None``, and
    ``assumption`` explains it; use :attr:`model_flops_per_s` for the value actually used.
    """

    id: str
    name: str
    bandwidth_bytes_per_s: float
    flops_per_s: float | None
    memory_bytes: float | None
    source: str
    note: str = ""
    url: str = ""
    assumed_flops_per_s: float | None = None
    assumption: str = ""

    def __post_init__(self):
        _check_positive(f"{self.id}: bandwidth_bytes_per_s", self.bandwidth_bytes_per_s)
        if self.flops_per_s is not None:
            _check_positive(f"{self.id}: flops_per_s", self.flops_per_s)
        if self.assumed_flops_per_s is not None:
            _check_positive(f"{self.id}: assumed_flops_per_s", self.assumed_flops_per_s)
        if self.flops_per_s is None and self.assumed_flops_per_s is None:
            raise ValueError(f"{self.id}: give flops_per_s, or assumed_flops_per_s when it is not published")
        if self.memory_bytes is not None:
            _check_positive(f"{self.id}: memory_bytes", self.memory_bytes)

    @property
    def flops_assumed(self) -> bool:
        """True when the model runs on an assumed FLOPS value instead of a published one."""
        return self.flops_per_s is None

    @property
    def model_flops_per_s(self) -> float:
        """FLOP/s the model uses: the published peak, or the labelled assumption when none is published."""
        return float(self.flops_per_s if self.flops_per_s is not None else self.assumed_flops_per_s)


@dataclass(frozen=True)
class ModelSpec:
    """A target or draft model: ``params`` (count), ``weight_bytes`` (bytes read per forward pass) and
    ``kv_bytes_per_token`` (bytes of KV cache per token of context, read on every step).

    ``lookup`` marks a draft that runs no neural network (n-gram / prompt lookup): its forward time is 0.
    ``layers`` / ``attention_width`` (query heads x head size) give attention FLOPs over the KV cache and
    ``vocab_size`` the width of the output projection (0 when not given).
    """

    id: str
    name: str
    params: float
    weight_bytes: float
    kv_bytes_per_token: float
    source: str
    note: str = ""
    url: str = ""
    lookup: bool = False
    layers: int = 0
    attention_width: int = 0
    vocab_size: int = 0

    def __post_init__(self):
        for label, value in (
            ("params", self.params),
            ("weight_bytes", self.weight_bytes),
            ("kv_bytes_per_token", self.kv_bytes_per_token),
        ):
            _check_non_negative(f"{self.id}: {label}", value)
        if not self.lookup and (self.params <= 0 or self.weight_bytes <= 0):
            raise ValueError(f"{self.id}: a neural model needs params > 0 and weight_bytes > 0")


@dataclass(frozen=True)
class Presets:
    """Every preset from ``core/data/hardware.toml``, keyed by id (read-only dicts)."""

    hardware: dict[str, Hardware]
    targets: dict[str, ModelSpec]
    drafts: dict[str, ModelSpec]


@dataclass(frozen=True)
class ForwardCost:
    """Breakdown of one forward pass, in seconds:
    ``total_s = max(memory_s, compute_s) + overhead_s + token_s`` (``token_s``: the per-token costs)."""

    memory_s: float
    compute_s: float
    overhead_s: float
    total_s: float
    regime: Regime
    token_s: float = 0.0


@dataclass(frozen=True)
class MemoryCheck:
    """Whether weights plus KV cache fit: sizes in bytes, ``fits`` is ``None`` when memory is unknown."""

    required_bytes: float
    available_bytes: float | None
    fits: bool | None
    message: str


@dataclass(frozen=True)
class BatchSweep:
    """Plain versus speculative decoding over a range of batch sizes (all arrays share one length).

    ``baseline_step_s`` / ``speculative_step_s``: seconds per step. ``baseline_tok_s`` /
    ``speculative_tok_s``: output tokens per second for the whole batch. ``speedup``: speculative over
    plain throughput. ``regime``: whether the target's verify pass is memory- or compute-bound;
    ``baseline_regime`` the same for a plain step. ``fits``: whether weights + KV fit in memory (all True
    when memory is unknown). ``break_even_batch``: the first batch size with speedup < 1, or ``None``.
    ``expected_tokens_per_pass``: the accept length used. ``gamma`` is the number of draft steps,
    ``topk`` / ``draft_tokens`` the tree (1 / gamma + 1 for a chain), ``profile_id`` the engine profile.
    Arrays are read-only.
    """

    hardware_id: str
    target_id: str
    draft_id: str
    alpha: float
    gamma: int
    context_len: int
    expected_tokens_per_pass: float
    batch_sizes: np.ndarray
    baseline_step_s: np.ndarray
    speculative_step_s: np.ndarray
    baseline_tok_s: np.ndarray
    speculative_tok_s: np.ndarray
    speedup: np.ndarray
    regime: tuple[str, ...]
    baseline_regime: tuple[str, ...]
    fits: np.ndarray
    break_even_batch: int | None
    overhead_s: float = field(default=DEFAULT_OVERHEAD_S)
    profile_id: str = "ideal"
    topk: int = 1
    draft_tokens: int = 0

    def rows(self) -> list[dict]:
        """One dict per batch size (for a table, a chart or a CSV download)."""
        return [
            {
                "batch_size": int(self.batch_sizes[i]),
                "baseline_step_ms": float(self.baseline_step_s[i]) * 1e3,
                "speculative_step_ms": float(self.speculative_step_s[i]) * 1e3,
                "baseline_tok_s": float(self.baseline_tok_s[i]),
                "speculative_tok_s": float(self.speculative_tok_s[i]),
                "speedup": float(self.speedup[i]),
                "verify_regime": self.regime[i],
                "baseline_regime": self.baseline_regime[i],
                "fits_in_memory": bool(self.fits[i]),
            }
            for i in range(len(self.batch_sizes))
        ]


# --------------------------------------------------------------------------------------------- presets


def _check_positive(label: str, value) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{label} must be a positive number, got {value!r}")


def _check_non_negative(label: str, value) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{label} must be a number >= 0, got {value!r}")


def _optional_float(entry: dict, key: str) -> float | None:
    value = entry.get(key)
    return None if value is None else float(value)


def _parse_hardware(entry: dict) -> Hardware:
    return Hardware(
        id=str(entry["id"]),
        name=str(entry["name"]),
        bandwidth_bytes_per_s=float(entry["bandwidth_bytes_per_s"]),
        flops_per_s=_optional_float(entry, "flops_per_s"),
        memory_bytes=_optional_float(entry, "memory_bytes"),
        source=str(entry["source"]),
        note=str(entry.get("note", "")),
        url=str(entry.get("url", "")),
        assumed_flops_per_s=_optional_float(entry, "assumed_flops_per_s"),
        assumption=str(entry.get("assumption", "")),
    )


def _parse_model(entry: dict) -> ModelSpec:
    return ModelSpec(
        id=str(entry["id"]),
        name=str(entry["name"]),
        params=float(entry["params"]),
        weight_bytes=float(entry["weight_bytes"]),
        kv_bytes_per_token=float(entry["kv_bytes_per_token"]),
        source=str(entry["source"]),
        note=str(entry.get("note", "")),
        url=str(entry.get("url", "")),
        lookup=bool(entry.get("lookup", False)),
        layers=int(entry.get("layers", 0)),
        attention_width=int(entry.get("attention_width", 0)),
        vocab_size=int(entry.get("vocab_size", 0)),
    )


def _keyed(items, kind: str) -> dict:
    table: dict = {}
    for item in items:
        if item.id in table:
            raise ValueError(f"duplicate {kind} preset id {item.id!r} in hardware.toml")
        table[item.id] = item
    return FrozenDict(table)


def parse_presets(text: str) -> Presets:
    """Parse preset TOML text (the format of ``core/data/hardware.toml``) into :class:`Presets`."""
    data = tomllib.loads(text)
    return Presets(
        hardware=_keyed((_parse_hardware(e) for e in data.get("hardware", [])), "hardware"),
        targets=_keyed((_parse_model(e) for e in data.get("target", [])), "target"),
        drafts=_keyed((_parse_model(e) for e in data.get("draft", [])), "draft"),
    )


@functools.cache
def load_presets() -> Presets:
    """Hardware, target and draft presets from ``core/data/hardware.toml`` (read once, immutable)."""
    text = resources.files("core").joinpath("data/hardware.toml").read_text(encoding="utf-8")
    return parse_presets(text)


def get_hardware(hardware: str | Hardware) -> Hardware:
    """A :class:`Hardware` preset by id (or the object itself); ``ValueError`` names the known ids."""
    if isinstance(hardware, Hardware):
        return hardware
    table = load_presets().hardware
    if isinstance(hardware, str) and hardware in table:
        return table[hardware]
    raise ValueError(f"unknown hardware {hardware!r}; choose one of: {', '.join(table)}")


def get_model(model: str | ModelSpec) -> ModelSpec:
    """A target or draft :class:`ModelSpec` by id (or the object itself); ``ValueError`` if unknown."""
    if isinstance(model, ModelSpec):
        return model
    presets = load_presets()
    if isinstance(model, str):
        if model in presets.targets:
            return presets.targets[model]
        if model in presets.drafts:
            return presets.drafts[model]
    known = ", ".join([*presets.targets, *presets.drafts])
    raise ValueError(f"unknown model {model!r}; choose one of: {known}")


# ------------------------------------------------------------------------------------------ validation


def _whole(label: str, value, minimum: int, maximum: int) -> int:
    try:
        ok = not isinstance(value, bool) and float(value) == int(value)
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ValueError(f"{label} must be a whole number, got {value!r}")
    number = int(value)
    if not minimum <= number <= maximum:
        raise ValueError(f"{label} must be between {minimum} and {maximum}, got {value!r}")
    return number


def _batch(value) -> int:
    return _whole("batch size (sequences decoded together)", value, 1, _MAX_BATCH)


def _context(value) -> int:
    return _whole("context length (tokens already in each sequence)", value, 0, _MAX_CONTEXT)


def _overhead(value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not (math.isfinite(number) and 0.0 <= number <= 1.0):
        raise ValueError(f"overhead per forward pass must be between 0 and 1 second, got {value!r}")
    return number


# ---------------------------------------------------------------------------------------------- model

Role = Literal["decode", "verify", "draft"]


def _profile(profile: str | EngineProfile | None, overhead_s: float) -> EngineProfile:
    """The profile to use: the given one, or the ideal roofline with ``overhead_s`` per pass."""
    if profile is None:
        return ideal_profile(_overhead(overhead_s))
    return get_profile(profile)


def _token_cost_s(profile: EngineProfile, spec: ModelSpec, role: str) -> float:
    """Seconds per token of a pass in ``role`` beyond its GEMMs (see engine_profile)."""
    if role == "decode":
        return profile.decode_token_s
    if role == "verify":
        return profile.verify_token_s
    if role == "draft":
        return profile.draft_token_s + profile.draft_vocab_entry_s * spec.vocab_size
    raise ValueError(f"pass role must be decode, verify or draft, got {role!r}")


def forward_cost(
    hardware: str | Hardware,
    model: str | ModelSpec,
    num_sequences: int,
    tokens_per_sequence: int,
    context_len: int,
    overhead_s: float = DEFAULT_OVERHEAD_S,
    profile: str | EngineProfile | None = None,
    role: Role = "decode",
) -> ForwardCost:
    """Time of one forward pass, split into memory, compute, overhead and per-token seconds.

    ``num_sequences`` sequences each feed ``tokens_per_sequence`` new tokens and read ``context_len``
    tokens of KV cache. ``profile`` (an engine profile or its id) sets the achieved efficiencies and
    extra costs; without one the ideal roofline with ``overhead_s`` per pass is used (``overhead_s`` is
    ignored when a profile is given). ``role``: ``decode`` (plain step), ``verify`` or ``draft``: which
    per-token cost applies. A ``lookup`` draft costs 0 s (no network runs; reported as memory-bound).
    """
    hw = get_hardware(hardware)
    spec = get_model(model)
    batch = _batch(num_sequences)
    tokens = _whole("tokens per sequence", tokens_per_sequence, 1, MAX_TOKENS_PER_SEQUENCE)
    context = _context(context_len)
    prof = _profile(profile, overhead_s)
    if spec.lookup:
        return ForwardCost(0.0, 0.0, 0.0, 0.0, MEMORY_BOUND)
    bytes_read = spec.weight_bytes + spec.kv_bytes_per_token * batch * context
    memory_s = bytes_read / (hw.bandwidth_bytes_per_s * prof.bandwidth_efficiency)
    flops = 2.0 * spec.params * batch * tokens
    if prof.count_attention_flops:
        flops += 4.0 * spec.layers * spec.attention_width * context * batch * tokens
    compute_s = flops / (hw.model_flops_per_s * prof.flops_efficiency)
    token_s = batch * tokens * _token_cost_s(prof, spec, role)
    overhead = prof.pass_overhead_s
    regime = COMPUTE_BOUND if compute_s > memory_s else MEMORY_BOUND
    total = max(memory_s, compute_s) + overhead + token_s
    return ForwardCost(memory_s, compute_s, overhead, total, regime, token_s)


def forward_time_s(
    hardware: str | Hardware,
    model: str | ModelSpec,
    num_sequences: int,
    tokens_per_sequence: int,
    context_len: int,
    overhead_s: float = DEFAULT_OVERHEAD_S,
    profile: str | EngineProfile | None = None,
    role: Role = "decode",
) -> float:
    """Seconds for one forward pass (see :func:`forward_cost` and the module doc)."""
    cost = forward_cost(
        hardware, model, num_sequences, tokens_per_sequence, context_len, overhead_s, profile, role
    )
    return cost.total_s


def baseline_step_time_s(
    hardware: str | Hardware,
    target: str | ModelSpec,
    batch_size: int,
    context_len: int,
    overhead_s: float = DEFAULT_OVERHEAD_S,
    profile: str | EngineProfile | None = None,
) -> float:
    """Seconds for one plain decoding step: one target forward, one new token per sequence."""
    return forward_time_s(hardware, target, batch_size, 1, context_len, overhead_s, profile, "decode")


def validate_tree_shape(steps: int, topk: int = 1, draft_tokens: int | None = None) -> tuple[int, int, int]:
    """``(steps, topk, draft_tokens)`` checked against SGLang's rules; ``ValueError`` says what is wrong.

    ``draft_tokens`` counts verified tokens, root included. A chain (topk 1) always verifies
    ``steps + 1`` (SGLang overwrites any other value); a tree at most ``1 + topk + (steps - 1) * topk**2``.
    ``None`` picks ``steps + 1`` for a chain and the largest tree otherwise.
    """
    steps = validate_gamma(steps)
    topk = _whole("topk (draft candidates per step)", topk, 1, tree.MAX_TOPK)
    if steps == 0:
        return 0, 1, 1
    most = 1 + topk + (steps - 1) * topk * topk if topk > 1 else steps + 1
    if draft_tokens is None:
        return steps, topk, most
    tokens = _whole("draft tokens (tokens verified per pass)", draft_tokens, 2, most)
    if topk == 1 and tokens != steps + 1:
        raise ValueError(f"with topk 1 (a chain) draft tokens are steps + 1 = {steps + 1}, got {tokens}")
    return steps, topk, tokens


def accept_length(alpha: float, steps: int, topk: int = 1, draft_tokens: int | None = None) -> float:
    """Expected tokens per verify pass for an i.i.d. acceptance ``alpha`` (bonus token included).

    A chain uses the closed form; a tree uses :func:`core.simulation.tree.expected_tokens_per_pass` with
    rank-r children accepted with probability ``alpha * (1 - alpha) ** r`` (a lab assumption: each
    further candidate is right with the same probability when the ones before it were wrong).
    """
    alpha = validate_alpha(alpha)
    steps, topk, tokens = validate_tree_shape(steps, topk, draft_tokens)
    if topk == 1:
        return float(expected_tokens_per_pass(alpha, steps))
    ranks = tuple(alpha * (1.0 - alpha) ** rank for rank in range(topk))
    return tree.expected_tokens_per_pass(tree.TreeSpec(steps, topk, ranks, tokens))


def speculative_step_time_s(
    hardware: str | Hardware,
    target: str | ModelSpec,
    draft: str | ModelSpec,
    batch_size: int,
    context_len: int,
    gamma: int,
    overhead_s: float = DEFAULT_OVERHEAD_S,
    profile: str | EngineProfile | None = None,
    topk: int = 1,
    draft_tokens: int | None = None,
) -> float:
    """Seconds for one speculative step: ``gamma`` draft passes (1 token per sequence, then ``topk``)
    plus one target pass verifying ``draft_tokens`` tokens per sequence (``gamma + 1`` for a chain).
    ``gamma = 0`` equals a plain step."""
    steps, topk, tokens = validate_tree_shape(gamma, topk, draft_tokens)
    if steps == 0:
        return baseline_step_time_s(hardware, target, batch_size, context_len, overhead_s, profile)
    verify = forward_time_s(hardware, target, batch_size, tokens, context_len, overhead_s, profile, "verify")
    first = forward_time_s(hardware, draft, batch_size, 1, context_len, overhead_s, profile, "draft")
    later = 0.0
    if steps > 1:
        later = forward_time_s(hardware, draft, batch_size, topk, context_len, overhead_s, profile, "draft")
    return verify + first + (steps - 1) * later


def effective_cost_ratio(
    hardware: str | Hardware,
    target: str | ModelSpec,
    draft: str | ModelSpec,
    batch_size: int,
    context_len: int,
    overhead_s: float = DEFAULT_OVERHEAD_S,
    profile: str | EngineProfile | None = None,
) -> float:
    """The cost ratio c of the closed forms: one draft pass's time over one plain target pass's time,
    both at this batch size and context, one token per sequence. Dimensionless."""
    draft_s = forward_time_s(hardware, draft, batch_size, 1, context_len, overhead_s, profile, "draft")
    target_s = forward_time_s(hardware, target, batch_size, 1, context_len, overhead_s, profile, "decode")
    return draft_s / target_s


def _tokens_per_pass(alpha, gamma: int, topk: int, draft_tokens, accept_length_value) -> float:
    """The accept length to use: the given one (checked against the tree) or the one alpha implies."""
    steps, topk, tokens = validate_tree_shape(gamma, topk, draft_tokens)
    if accept_length_value is None:
        if alpha is None:
            raise ValueError("give alpha or an accept length")
        return accept_length(alpha, steps, topk, tokens)
    value = float(accept_length_value)
    if not 1.0 <= value <= steps + 1:
        raise ValueError(f"accept length must be between 1 and steps + 1 = {steps + 1}, got {value!r}")
    return value


def speculative_speedup(
    hardware: str | Hardware,
    target: str | ModelSpec,
    draft: str | ModelSpec,
    alpha: float | None,
    gamma: int,
    batch_size: int,
    context_len: int,
    overhead_s: float = DEFAULT_OVERHEAD_S,
    profile: str | EngineProfile | None = None,
    topk: int = 1,
    draft_tokens: int | None = None,
    accept_length: float | None = None,
) -> float:
    """Throughput of speculative over plain decoding: (E[N] / T_spec) / (1 / T_base). Dimensionless.

    E[N] is ``accept_length`` when given, else computed from ``alpha``. Exactly 1 at ``gamma = 0``;
    below 1 means speculation is slower than not speculating.
    """
    expected = _tokens_per_pass(alpha, gamma, topk, draft_tokens, accept_length)
    base = baseline_step_time_s(hardware, target, batch_size, context_len, overhead_s, profile)
    spec = speculative_step_time_s(
        hardware, target, draft, batch_size, context_len, gamma, overhead_s, profile, topk, draft_tokens
    )
    return expected * base / spec


def _batch_list(batch_sizes) -> list[int]:
    try:
        raw = list(batch_sizes)
    except TypeError:
        raise ValueError(f"batch sizes must be a list of whole numbers, got {batch_sizes!r}") from None
    if not raw:
        raise ValueError("give at least one batch size")
    return sorted({_batch(b) for b in raw})


def _frozen(values, dtype=float) -> np.ndarray:
    array = np.asarray(values, dtype=dtype)
    array.flags.writeable = False
    return array


def speedup_vs_batch(
    hardware: str | Hardware,
    target: str | ModelSpec,
    draft: str | ModelSpec,
    alpha: float | None,
    gamma: int,
    batch_sizes,
    context_len: int,
    overhead_s: float = DEFAULT_OVERHEAD_S,
    usable_memory_fraction: float = DEFAULT_USABLE_MEMORY_FRACTION,
    profile: str | EngineProfile | None = None,
    topk: int = 1,
    draft_tokens: int | None = None,
    accept_length: float | None = None,
) -> BatchSweep:
    """Step times, tokens/s and speedup of speculative over plain decoding for each batch size.

    ``batch_sizes``: an iterable of whole numbers >= 1 (sorted and de-duplicated here). Points that do not
    fit in memory are still computed (``fits`` marks them) so a chart can show where the limit lies.
    """
    hw, tgt, drf = get_hardware(hardware), get_model(target), get_model(draft)
    prof = _profile(profile, overhead_s)
    steps, topk, tokens = validate_tree_shape(gamma, topk, draft_tokens)
    expected = _tokens_per_pass(alpha, steps, topk, tokens, accept_length)
    context = _context(context_len)
    batches = _batch_list(batch_sizes)
    rows = [_sweep_point(hw, tgt, drf, prof, b, context, (steps, topk, tokens)) for b in batches]
    fits = [memory_check(hw, tgt, drf, b, context, steps, usable_memory_fraction).fits for b in batches]
    base_s = np.asarray([row[0] for row in rows])
    spec_s = np.asarray([row[1] for row in rows])
    batch_arr = _frozen(batches, np.int64)
    speedup = expected * base_s / spec_s
    below = np.flatnonzero(speedup < 1.0)
    return BatchSweep(
        hardware_id=hw.id,
        target_id=tgt.id,
        draft_id=drf.id,
        alpha=float("nan") if alpha is None else validate_alpha(alpha),
        gamma=steps,
        context_len=context,
        expected_tokens_per_pass=expected,
        batch_sizes=batch_arr,
        baseline_step_s=_frozen(base_s),
        speculative_step_s=_frozen(spec_s),
        baseline_tok_s=_frozen(batch_arr / base_s),
        speculative_tok_s=_frozen(batch_arr * expected / spec_s),
        speedup=_frozen(speedup),
        regime=tuple(row[2] for row in rows),
        baseline_regime=tuple(row[3] for row in rows),
        fits=_frozen([fit is not False for fit in fits], bool),
        break_even_batch=int(batches[below[0]]) if below.size else None,
        overhead_s=prof.pass_overhead_s,
        profile_id=prof.id,
        topk=topk,
        draft_tokens=tokens,
    )


def _sweep_point(hw, tgt, drf, prof, batch: int, context: int, shape) -> tuple[float, float, str, str]:
    """(plain step s, speculative step s, verify regime, plain regime) at one batch size."""
    steps, topk, tokens = shape
    base = forward_cost(hw, tgt, batch, 1, context, profile=prof, role="decode")
    if steps == 0:
        return base.total_s, base.total_s, base.regime, base.regime
    verify = forward_cost(hw, tgt, batch, tokens, context, profile=prof, role="verify")
    spec_s = speculative_step_time_s(
        hw, tgt, drf, batch, context, steps, profile=prof, topk=topk, draft_tokens=tokens
    )
    return base.total_s, spec_s, verify.regime, base.regime


def ridge_tokens(hardware: str | Hardware, model: str | ModelSpec) -> float:
    """Tokens in flight per forward at which compute time equals the weight-read time (KV ignored).

    Below this many tokens (batch x tokens per sequence) a forward is memory-bound; above, compute-bound.
    Returns ``inf`` for a lookup draft.
    """
    hw = get_hardware(hardware)
    spec = get_model(model)
    if spec.lookup or spec.params == 0:
        return math.inf
    return spec.weight_bytes * hw.model_flops_per_s / (2.0 * spec.params * hw.bandwidth_bytes_per_s)


# --------------------------------------------------------------------------------------------- memory


def memory_required_bytes(
    target: str | ModelSpec,
    draft: str | ModelSpec | None,
    batch_size: int,
    context_len: int,
    gamma: int = 0,
) -> float:
    """Bytes for target (and draft) weights plus the KV cache of ``batch_size`` sequences of
    ``context_len + gamma + 1`` tokens (the tokens being verified need KV space too)."""
    tgt = get_model(target)
    drf = None if draft is None else get_model(draft)
    batch = _batch(batch_size)
    context = _context(context_len)
    gamma = validate_gamma(gamma)
    tokens = batch * (context + gamma + 1)
    total = tgt.weight_bytes + tgt.kv_bytes_per_token * tokens
    if drf is not None:
        total += drf.weight_bytes + drf.kv_bytes_per_token * tokens
    return float(total)


def _usable(fraction) -> float:
    value = float(fraction)
    if not 0.0 < value <= 1.0:
        raise ValueError(f"usable memory fraction must be in (0, 1], got {fraction!r}")
    return value


def memory_check(
    hardware: str | Hardware,
    target: str | ModelSpec,
    draft: str | ModelSpec | None,
    batch_size: int,
    context_len: int,
    gamma: int = 0,
    usable_memory_fraction: float = DEFAULT_USABLE_MEMORY_FRACTION,
) -> MemoryCheck:
    """Whether weights + KV cache fit in ``usable_memory_fraction`` of the device memory, with a message
    for the page (in GB, 1 GB = 1e9 bytes)."""
    hw = get_hardware(hardware)
    fraction = _usable(usable_memory_fraction)
    required = memory_required_bytes(target, draft, batch_size, context_len, gamma)
    if hw.memory_bytes is None:
        return MemoryCheck(required, None, None, f"{hw.name}: memory size unknown, cannot check the fit.")
    available = hw.memory_bytes * fraction
    fits = required <= available
    verdict = "fits" if fits else "does NOT fit"
    message = (
        f"Weights + KV cache need {required / 1e9:.1f} GB; {hw.name} has {available / 1e9:.1f} GB usable "
        f"({fraction:.0%} of {hw.memory_bytes / 1e9:.0f} GB): {verdict}."
    )
    return MemoryCheck(required, available, fits, message)


def max_batch_that_fits(
    hardware: str | Hardware,
    target: str | ModelSpec,
    draft: str | ModelSpec | None,
    context_len: int,
    gamma: int = 0,
    usable_memory_fraction: float = DEFAULT_USABLE_MEMORY_FRACTION,
) -> int | None:
    """Largest batch whose weights + KV cache fit in usable memory: 0 when even the weights do not fit,
    ``None`` when the device memory is unknown."""
    hw = get_hardware(hardware)
    tgt = get_model(target)
    drf = None if draft is None else get_model(draft)
    context = _context(context_len)
    gamma = validate_gamma(gamma)
    fraction = _usable(usable_memory_fraction)
    if hw.memory_bytes is None:
        return None
    free = hw.memory_bytes * fraction - tgt.weight_bytes - (drf.weight_bytes if drf else 0.0)
    if free < 0:
        return 0
    per_sequence = (context + gamma + 1) * (tgt.kv_bytes_per_token + (drf.kv_bytes_per_token if drf else 0.0))
    if per_sequence == 0:
        return _MAX_BATCH
    return int(min(free // per_sequence, _MAX_BATCH))
