"""Engine profiles: the costs a real serving engine pays on top of the ideal roofline, per hardware/engine.

A profile holds the physical cost terms of :mod:`core.simulation.cost_model` (units in brackets):

* ``bandwidth_efficiency`` [0..1]: achieved fraction of the vendor's peak memory bandwidth.
* ``flops_efficiency`` [0..1]: achieved fraction of the vendor's dense BF16 peak.
* ``pass_overhead_s`` [s]: fixed cost of every forward pass (kernel launches, CUDA-graph replay,
  scheduling), whatever its size.
* ``decode_token_s`` [s per token]: cost per token of a plain decoding pass beyond the weight GEMMs
  (sampling, KV-cache writes, per-request work of the scheduler).
* ``verify_token_s`` [s per token]: the same for every token a verify pass checks (each tree node counts).
* ``draft_token_s`` [s per token]: the same for every token a draft pass proposes.
* ``draft_vocab_entry_s`` [s per vocabulary entry per draft token]: the draft's work over its output
  vocabulary beyond the projection's weight read (logits, softmax, top-k): a 128k-vocabulary head pays
  four times what a 32k one does.
* ``count_attention_flops``: whether attention over the KV cache adds FLOPs (4 x layers x width per query
  token per context token); its KV-cache reads are always counted.

``ideal`` is the best case (vendor peaks, one fixed overhead per pass, nothing else): the roofline the
lesson starts from. Calibrated profiles come from a fit to published measurements; each says what was
fitted to what in ``fit`` (see :mod:`core.simulation.calibration` and ``core/data/cost_profiles.toml``).
"""

from __future__ import annotations

import functools
import math
import tomllib
from dataclasses import dataclass
from importlib import resources

from core.foundation.frozen import FrozenDict

__all__ = [
    "IDEAL",
    "DEFAULT_OVERHEAD_S",
    "EngineProfile",
    "ideal_profile",
    "load_profiles",
    "get_profile",
    "calibrated_profile_for",
    "parse_profiles",
]

IDEAL = "ideal"
DEFAULT_OVERHEAD_S = 1e-4
"""Fixed time per forward pass of the ideal roofline in seconds (0.1 ms): an ASSUMED stand-in for kernel
launches, sampling and scheduling with CUDA graphs. Not measured; the page lets learners change it."""

_COST_FIELDS = (
    "pass_overhead_s",
    "decode_token_s",
    "verify_token_s",
    "draft_token_s",
    "draft_vocab_entry_s",
)


@dataclass(frozen=True)
class EngineProfile:
    """One hardware/engine profile (fields as in the module docstring). ``hardware``: the hardware preset
    it was calibrated on ("" for the ideal profile, which applies to any). ``fit``: provenance text."""

    id: str
    name: str
    bandwidth_efficiency: float = 1.0
    flops_efficiency: float = 1.0
    pass_overhead_s: float = DEFAULT_OVERHEAD_S
    decode_token_s: float = 0.0
    verify_token_s: float = 0.0
    draft_token_s: float = 0.0
    draft_vocab_entry_s: float = 0.0
    count_attention_flops: bool = False
    hardware: str = ""
    engine: str = ""
    fit: str = ""

    def __post_init__(self):
        for label in ("bandwidth_efficiency", "flops_efficiency"):
            value = getattr(self, label)
            if not (isinstance(value, float | int) and 0.0 < value <= 1.0):
                raise ValueError(f"{self.id}: {label} must be in (0, 1], got {value!r}")
        for label in _COST_FIELDS:
            value = getattr(self, label)
            if not (isinstance(value, float | int) and math.isfinite(value) and 0.0 <= value <= 1.0):
                raise ValueError(f"{self.id}: {label} must be between 0 and 1 second, got {value!r}")

    @property
    def is_ideal(self) -> bool:
        """True for a best-case roofline (peaks reached, no per-token costs)."""
        return self.id == IDEAL or self.id.startswith(f"{IDEAL}-")


def ideal_profile(overhead_s: float = DEFAULT_OVERHEAD_S) -> EngineProfile:
    """The best-case roofline with ``overhead_s`` seconds of fixed cost per forward pass."""
    name = "ideal roofline (vendor peaks, one fixed overhead per pass)"
    if overhead_s == DEFAULT_OVERHEAD_S:
        return EngineProfile(IDEAL, name)
    return EngineProfile(f"{IDEAL}-{overhead_s:g}s", name, pass_overhead_s=float(overhead_s))


def _parse_profile(entry: dict) -> EngineProfile:
    numbers = {key: float(entry[key]) for key in ("bandwidth_efficiency", "flops_efficiency") if key in entry}
    numbers.update({key: float(entry[key]) for key in _COST_FIELDS if key in entry})
    return EngineProfile(
        id=str(entry["id"]),
        name=str(entry["name"]),
        count_attention_flops=bool(entry.get("count_attention_flops", False)),
        hardware=str(entry.get("hardware", "")),
        engine=str(entry.get("engine", "")),
        fit=str(entry.get("fit", "")).strip(),
        **numbers,
    )


def parse_profiles(text: str) -> dict[str, EngineProfile]:
    """Profiles from TOML text in the format of ``core/data/cost_profiles.toml`` (read-only dict)."""
    table: dict[str, EngineProfile] = {}
    for entry in tomllib.loads(text).get("profile", []):
        profile = _parse_profile(entry)
        if profile.id in table:
            raise ValueError(f"duplicate engine profile id {profile.id!r}")
        table[profile.id] = profile
    if IDEAL not in table:
        table[IDEAL] = ideal_profile()
    return FrozenDict(table)


@functools.cache
def load_profiles() -> dict[str, EngineProfile]:
    """Every engine profile from ``core/data/cost_profiles.toml`` (read once, immutable)."""
    text = resources.files("core").joinpath("data/cost_profiles.toml").read_text(encoding="utf-8")
    return parse_profiles(text)


def get_profile(profile: str | EngineProfile | None) -> EngineProfile:
    """A profile by id (or the object itself; ``None`` = ideal); ``ValueError`` names the known ids."""
    if profile is None:
        return ideal_profile()
    if isinstance(profile, EngineProfile):
        return profile
    table = load_profiles()
    if isinstance(profile, str) and profile in table:
        return table[profile]
    raise ValueError(f"unknown engine profile {profile!r}; choose one of: {', '.join(table)}")


def calibrated_profile_for(hardware_id: str) -> EngineProfile | None:
    """The first calibrated (non-ideal) profile fitted on ``hardware_id``, or ``None`` when there is none."""
    for profile in load_profiles().values():
        if not profile.is_ideal and profile.hardware == hardware_id:
            return profile
    return None
