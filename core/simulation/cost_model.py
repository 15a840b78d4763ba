"""Roofline cost model: how long a decoding step takes, and when speculation stops paying off.

One forward pass of a model over ``n = num_sequences * tokens_per_sequence`` tokens takes

    T_fwd = max(memory time, compute time) + fixed overhead
    memory time  = (weight_bytes + kv_bytes_per_token * num_sequences * context_len) / bandwidth
    compute time = 2 * params * n / FLOPS

Weights are read once per pass and shared by every token in it; KV-cache reads are NOT shared: each
sequence reads its own context (MagicDec, arXiv 2408.11049), so long contexts stay memory-bound at larger
batch. At batch 1 decoding is memory-bound: verifying gamma + 1 tokens costs about one plain step, which is
why speculation helps. As batch * (gamma + 1) grows the verify pass turns compute-bound, every extra token
costs real time, and speculation can become SLOWER than plain decoding.

A speculative step for a batch of ``B`` sequences = ``gamma`` draft forwards (B sequences, 1 token each)
+ one target forward verifying ``gamma + 1`` tokens per sequence; it yields ``B * E[N]`` tokens, where E[N]
comes from :func:`core.simulation.closed_form.expected_tokens_per_pass`.

What the model leaves out (it is a teaching model, labelled SIMULATED in the app): attention FLOPs,
activation traffic, achieved-versus-peak efficiency, tensor-parallel communication, tree drafting (it
models a chain), sampling and scheduling time beyond one fixed overhead per forward. It predicts trends and
break-even points, not exact tokens per second; read it as a best case.

Sanity check against the EAGLE-3 paper's Table 3 (SGLang, one H100, Llama-3.1-8B, chain of 3 drafts): the
measured throughput ratio of speculation over plain decoding falls with batch (EAGLE-3: 1.81 at batch 2,
1.38 at batch 64; EAGLE-1: 1.40 at batch 2, 0.93 at batch 24). With an assumed alpha of 0.8 and a short
context this model gives about 2.4 from batch 2 to 64, and the fall only past batch ~75, where the verify
pass of batch x 4 tokens crosses the ridge point; the measured fall starts earlier because real systems pay
per-token costs that grow with batch and that the roofline ignores. Same direction, not the same numbers.

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
from core.simulation.closed_form import expected_tokens_per_pass, validate_alpha, validate_gamma

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
    "ridge_tokens",
    "memory_required_bytes",
    "memory_check",
    "max_batch_that_fits",
]

DEFAULT_OVERHEAD_S = 1e-4
"""Fixed time per forward pass in seconds (0.1 ms): an ASSUMED stand-in for kernel launches, sampling and
scheduling with CUDA graphs. Not measured; the page lets learners change it."""

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
    """Breakdown of one forward pass, in seconds. ``total_s = max(memory_s, compute_s) + overhead_s``."""

    memory_s: float
    compute_s: float
    overhead_s: float
    total_s: float
    regime: Regime


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


def forward_cost(
    hardware: str | Hardware,
    model: str | ModelSpec,
    num_sequences: int,
    tokens_per_sequence: int,
    context_len: int,
    overhead_s: float = DEFAULT_OVERHEAD_S,
) -> ForwardCost:
    """Time of one forward pass, split into memory, compute and overhead seconds, with its regime.

    ``num_sequences`` sequences each feed ``tokens_per_sequence`` new tokens and read ``context_len``
    tokens of KV cache. A ``lookup`` draft costs 0 s (no network runs; its regime is reported as
    memory-bound by convention).
    """
    hw = get_hardware(hardware)
    spec = get_model(model)
    batch = _batch(num_sequences)
    tokens = _whole("tokens per sequence", tokens_per_sequence, 1, MAX_TOKENS_PER_SEQUENCE)
    context = _context(context_len)
    overhead = _overhead(overhead_s)
    if spec.lookup:
        return ForwardCost(0.0, 0.0, 0.0, 0.0, MEMORY_BOUND)
    bytes_read = spec.weight_bytes + spec.kv_bytes_per_token * batch * context
    memory_s = bytes_read / hw.bandwidth_bytes_per_s
    compute_s = 2.0 * spec.params * batch * tokens / hw.model_flops_per_s
    regime = COMPUTE_BOUND if compute_s > memory_s else MEMORY_BOUND
    return ForwardCost(memory_s, compute_s, overhead, max(memory_s, compute_s) + overhead, regime)


def forward_time_s(
    hardware: str | Hardware,
    model: str | ModelSpec,
    num_sequences: int,
    tokens_per_sequence: int,
    context_len: int,
    overhead_s: float = DEFAULT_OVERHEAD_S,
) -> float:
    """Seconds for one forward pass: max(memory time, compute time) + ``overhead_s`` (see module doc)."""
    return forward_cost(hardware, model, num_sequences, tokens_per_sequence, context_len, overhead_s).total_s


def baseline_step_time_s(
    hardware: str | Hardware,
    target: str | ModelSpec,
    batch_size: int,
    context_len: int,
    overhead_s: float = DEFAULT_OVERHEAD_S,
) -> float:
    """Seconds for one plain decoding step: one target forward, one new token per sequence."""
    return forward_time_s(hardware, target, batch_size, 1, context_len, overhead_s)


def speculative_step_time_s(
    hardware: str | Hardware,
    target: str | ModelSpec,
    draft: str | ModelSpec,
    batch_size: int,
    context_len: int,
    gamma: int,
    overhead_s: float = DEFAULT_OVERHEAD_S,
) -> float:
    """Seconds for one speculative step: ``gamma`` draft forwards (1 token per sequence each) plus one
    target forward verifying ``gamma + 1`` tokens per sequence. ``gamma = 0`` equals a plain step."""
    gamma = validate_gamma(gamma)
    verify = forward_time_s(hardware, target, batch_size, gamma + 1, context_len, overhead_s)
    if gamma == 0:
        return verify
    drafting = gamma * forward_time_s(hardware, draft, batch_size, 1, context_len, overhead_s)
    return drafting + verify


def effective_cost_ratio(
    hardware: str | Hardware,
    target: str | ModelSpec,
    draft: str | ModelSpec,
    batch_size: int,
    context_len: int,
    overhead_s: float = DEFAULT_OVERHEAD_S,
) -> float:
    """The cost ratio c of the closed forms: one draft forward's time over one target forward's time,
    both at this batch size and context, one token per sequence. Dimensionless."""
    draft_s = forward_time_s(hardware, draft, batch_size, 1, context_len, overhead_s)
    target_s = forward_time_s(hardware, target, batch_size, 1, context_len, overhead_s)
    return draft_s / target_s


def speculative_speedup(
    hardware: str | Hardware,
    target: str | ModelSpec,
    draft: str | ModelSpec,
    alpha: float,
    gamma: int,
    batch_size: int,
    context_len: int,
    overhead_s: float = DEFAULT_OVERHEAD_S,
) -> float:
    """Throughput of speculative over plain decoding: (E[N] / T_spec) / (1 / T_base). Dimensionless.

    Exactly 1 at ``gamma = 0``; below 1 means speculation is slower than not speculating.
    """
    alpha = validate_alpha(alpha)
    gamma = validate_gamma(gamma)
    base = baseline_step_time_s(hardware, target, batch_size, context_len, overhead_s)
    spec = speculative_step_time_s(hardware, target, draft, batch_size, context_len, gamma, overhead_s)
    return float(expected_tokens_per_pass(alpha, gamma)) * base / spec


def speedup_vs_batch(
    hardware: str | Hardware,
    target: str | ModelSpec,
    draft: str | ModelSpec,
    alpha: float,
    gamma: int,
    batch_sizes,
    context_len: int,
    overhead_s: float = DEFAULT_OVERHEAD_S,
    usable_memory_fraction: float = DEFAULT_USABLE_MEMORY_FRACTION,
) -> BatchSweep:
    """Step times, tokens/s and speedup of speculative over plain decoding for each batch size.

    ``batch_sizes``: an iterable of whole numbers >= 1 (sorted and de-duplicated here). Points that do not
    fit in memory are still computed (``fits`` marks them) so a chart can show where the limit lies.
    """
    hw = get_hardware(hardware)
    tgt = get_model(target)
    drf = get_model(draft)
    alpha = validate_alpha(alpha)
    gamma = validate_gamma(gamma)
    context = _context(context_len)
    overhead = _overhead(overhead_s)
    try:
        raw = list(batch_sizes)
    except TypeError:
        raise ValueError(f"batch sizes must be a list of whole numbers, got {batch_sizes!r}") from None
    if not raw:
        raise ValueError("give at least one batch size")
    batches = sorted({_batch(b) for b in raw})
    expected = float(expected_tokens_per_pass(alpha, gamma))

    base_s, spec_s, regime, base_regime, fits = [], [], [], [], []
    for batch in batches:
        base = forward_cost(hw, tgt, batch, 1, context, overhead)
        verify = forward_cost(hw, tgt, batch, gamma + 1, context, overhead)
        drafting = 0.0 if gamma == 0 else gamma * forward_time_s(hw, drf, batch, 1, context, overhead)
        base_s.append(base.total_s)
        spec_s.append(drafting + verify.total_s)
        regime.append(verify.regime)
        base_regime.append(base.regime)
        check = memory_check(hw, tgt, drf, batch, context, gamma, usable_memory_fraction)
        fits.append(check.fits is not False)

    def frozen(values, dtype=float) -> np.ndarray:
        array = np.asarray(values, dtype=dtype)
        array.flags.writeable = False
        return array

    batch_arr = frozen(batches, np.int64)
    base_arr = np.asarray(base_s)
    spec_arr = np.asarray(spec_s)
    base_tok = batch_arr / base_arr
    spec_tok = batch_arr * expected / spec_arr
    speedup = expected * base_arr / spec_arr
    below = np.flatnonzero(speedup < 1.0)
    return BatchSweep(
        hardware_id=hw.id,
        target_id=tgt.id,
        draft_id=drf.id,
        alpha=alpha,
        gamma=gamma,
        context_len=context,
        expected_tokens_per_pass=expected,
        batch_sizes=batch_arr,
        baseline_step_s=frozen(base_arr),
        speculative_step_s=frozen(spec_arr),
        baseline_tok_s=frozen(base_tok),
        speculative_tok_s=frozen(spec_tok),
        speedup=frozen(speedup),
        regime=tuple(regime),
        baseline_regime=tuple(base_regime),
        fits=frozen(fits, bool),
        break_even_batch=int(batches[below[0]]) if below.size else None,
        overhead_s=overhead,
    )


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
