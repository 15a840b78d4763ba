"""Published reference numbers the lab quotes, each with its source, read from ``core/data/published.toml``.

Three views of the same data:

* :func:`load_references` / :func:`get_reference`: every entry (:class:`Reference`), with a short citation
  (``source``), a link (``url``) and its numbers in ``metrics``.
* :func:`simulator_presets`: slider values (alpha, gamma, cost ratio) for published setups. Each
  :class:`SimulatorPreset` says which values the source publishes and how the others were obtained: alpha
  is derived from a published accept length with :func:`core.simulation.closed_form.alpha_from_accept_length`, gamma
  and the cost ratio are labelled assumptions when the source does not give them. The published speedup or
  accept length is kept beside the values, to show next to the simulation, never in place of it.
* :func:`batch_throughput_series`: the EAGLE-3 paper's Table 3 points (throughput ratio over plain
  decoding by batch size), exactly the points published, nothing interpolated.

Units: speedups and ratios are dimensionless (x), accept lengths in tokens per verify pass (bonus token
included), throughputs in output tokens per second, temperatures as given to the sampler.
"""

from __future__ import annotations

import functools
import math
import numbers
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from core.foundation.frozen import FrozenDict
from core.simulation.closed_form import (
    alpha_from_accept_length,
    expected_tokens_per_pass,
    validate_alpha,
    validate_cost_ratio,
    validate_gamma,
    walltime_speedup,
)

__all__ = [
    "Reference",
    "SimulatorPreset",
    "BatchThroughputPoint",
    "load_references",
    "get_reference",
    "simulator_presets",
    "get_simulator_preset",
    "batch_throughput_series",
    "parse_published",
]

MetricValue = float | tuple[float, ...] | Mapping[str, float]


@dataclass(frozen=True)
class Reference:
    """One published result. Fields the source does not state are ``None``.

    ``metrics``: read-only mapping from a metric name to a number, a tuple of numbers (a series) or a
    read-only mapping of numbers (one per method); empty for a cited fact without numbers, which ``note``
    states. See the header of ``published.toml`` for the names.
    """

    id: str
    title: str
    method: str
    target_model: str | None
    draft_model: str | None
    hardware: str | None
    batch_size: int | None
    temperature: float | None
    metrics: Mapping[str, MetricValue]
    source: str
    url: str
    note: str = ""

    def metric(self, name: str) -> MetricValue | None:
        """A metric by name, or ``None`` when the source does not give it."""
        return self.metrics.get(name)

    @property
    def citation(self) -> str:
        """``source`` for a ``published(...)`` badge."""
        return self.source


@dataclass(frozen=True)
class SimulatorPreset:
    """Slider values for the Simulator taken from a published setup.

    ``alpha`` (probability), ``gamma`` (draft tokens per verify pass), ``cost_ratio`` (draft forward time
    over target forward time). ``published_fields``: which of ``"alpha"``, ``"gamma"``, ``"cost_ratio"``
    the source states; ``basis`` explains every other one (derived or assumed). ``published_*``: what the
    source measured, to show beside the simulation (``None`` when not given).
    """

    id: str
    label: str
    reference_id: str
    alpha: float
    gamma: int
    cost_ratio: float
    published_fields: frozenset[str]
    basis: Mapping[str, str]
    published_accept_length: float | None
    published_speedup: float | None
    published_speedup_low: float | None
    published_speedup_high: float | None
    published_predicted_speedup: float | None
    source: str
    url: str
    note: str = ""

    def is_published(self, name: str) -> bool:
        """True when ``name`` (alpha, gamma or cost_ratio) is a published value, False when derived/assumed."""
        return name in self.published_fields

    @property
    def expected_accept_length(self) -> float:
        """E[N] for these slider values (tokens per verify pass), from the i.i.d. closed form."""
        return float(expected_tokens_per_pass(self.alpha, self.gamma))

    @property
    def predicted_speedup(self) -> float:
        """Leviathan's closed-form walltime speedup for these slider values (x)."""
        return float(walltime_speedup(self.alpha, self.gamma, self.cost_ratio))

    @property
    def implied_cost_ratio(self) -> float | None:
        """The cost ratio at which the closed form would match the published speedup (midpoint of a range).

        ``E[N] / (1 + gamma c) = speedup`` solved for c. It folds every overhead of the real system into c,
        so it is usually above a bytes- or parameter-based estimate. ``None`` without a published speedup,
        at ``gamma = 0``, or when the published speedup exceeds E[N] (then no c >= 0 matches).
        """
        speedup = self.published_speedup
        if (
            speedup is None
            and self.published_speedup_low is not None
            and self.published_speedup_high is not None
        ):
            speedup = 0.5 * (self.published_speedup_low + self.published_speedup_high)
        if speedup is None or self.gamma == 0:
            return None
        value = (self.expected_accept_length / speedup - 1.0) / self.gamma
        return value if value >= 0 else None


@dataclass(frozen=True)
class BatchThroughputPoint:
    """One published point: ``throughput_ratio`` = speculative over plain throughput at ``batch_size``."""

    method: str
    batch_size: int
    throughput_ratio: float
    reference_id: str
    source: str
    url: str


@dataclass(frozen=True)
class _Published:
    references: Mapping[str, Reference]
    presets: tuple[SimulatorPreset, ...]


# --------------------------------------------------------------------------------------------- parsing


def _number(where: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _metric(where: str, value) -> MetricValue:
    if isinstance(value, list):
        if not value:
            raise ValueError(f"{where}: empty series")
        return tuple(_number(f"{where}[{i}]", v) for i, v in enumerate(value))
    if isinstance(value, dict):
        if not value:
            raise ValueError(f"{where}: empty table")
        return FrozenDict({str(k): _number(f"{where}.{k}", v) for k, v in value.items()})
    return _number(where, value)


def _optional_str(entry: dict, key: str) -> str | None:
    value = entry.get(key)
    return None if value is None else str(value)


def _parse_reference(entry: dict) -> Reference:
    ref_id = str(entry.get("id", "")).strip()
    if not ref_id:
        raise ValueError("a published reference has no id")
    for key in ("title", "method", "source", "url"):
        if not str(entry.get(key, "")).strip():
            raise ValueError(f"published reference {ref_id!r} has no {key}")
    metrics = entry.get("metrics", {})
    if not isinstance(metrics, dict):
        raise ValueError(f"published reference {ref_id!r}: metrics must be a table")
    if not metrics and not str(entry.get("note", "")).strip():
        raise ValueError(f"published reference {ref_id!r} has neither metrics nor a note stating the fact")
    batch = entry.get("batch_size")
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        raise ValueError(f"published reference {ref_id!r}: batch_size must be a whole number >= 1")
    temperature = entry.get("temperature")
    return Reference(
        id=ref_id,
        title=str(entry["title"]),
        method=str(entry["method"]),
        target_model=_optional_str(entry, "target_model"),
        draft_model=_optional_str(entry, "draft_model"),
        hardware=_optional_str(entry, "hardware"),
        batch_size=batch,
        temperature=None if temperature is None else _number(f"{ref_id}.temperature", temperature),
        metrics=FrozenDict({str(k): _metric(f"{ref_id}.metrics.{k}", v) for k, v in metrics.items()}),
        source=str(entry["source"]),
        url=str(entry["url"]),
        note=str(entry.get("note", "")),
    )


def _scalar_metric(reference: Reference, name: str) -> float | None:
    value = reference.metrics.get(name)
    if value is None:
        return None
    if not isinstance(value, float):
        raise ValueError(f"{reference.id}: metric {name!r} must be a single number")
    return value


def _parse_preset(entry: dict, references: Mapping[str, Reference]) -> SimulatorPreset:
    preset_id = str(entry.get("id", "")).strip()
    ref_id = str(entry.get("reference", ""))
    if ref_id not in references:
        raise ValueError(f"simulator preset {preset_id!r} names unknown reference {ref_id!r}")
    ref = references[ref_id]
    published: set[str] = set()
    basis: dict[str, str] = {}

    def pick(name: str, validate):
        """Published metric if the reference has it, else the preset's value with its stated basis."""
        value = _scalar_metric(ref, name)
        if value is not None:
            published.add(name)
            return validate(value)
        if name not in entry or not str(entry.get(f"{name}_basis", "")).strip():
            raise ValueError(f"simulator preset {preset_id!r}: give {name} and {name}_basis (not published)")
        basis[name] = str(entry[f"{name}_basis"])
        return validate(entry[name])

    gamma = pick("gamma", validate_gamma)
    cost_ratio = pick("cost_ratio", validate_cost_ratio)
    accept_metric = str(entry.get("accept_length_metric", "accept_length"))
    accept_length = _scalar_metric(ref, accept_metric)
    alpha_published = _scalar_metric(ref, "alpha")
    if alpha_published is not None:
        alpha = validate_alpha(alpha_published)
        published.add("alpha")
    elif accept_length is not None:
        alpha = alpha_from_accept_length(accept_length, gamma)
        basis["alpha"] = (
            f"Derived: the i.i.d. acceptance rate whose expected tokens per verify pass at gamma {gamma} "
            f"equals the published accept length {accept_length:g}."
        )
    else:
        raise ValueError(
            f"simulator preset {preset_id!r}: its reference gives neither alpha nor an accept length"
        )
    return SimulatorPreset(
        id=preset_id,
        label=str(entry.get("label", ref.title)),
        reference_id=ref.id,
        alpha=alpha,
        gamma=gamma,
        cost_ratio=cost_ratio,
        published_fields=frozenset(published),
        basis=FrozenDict(basis),
        published_accept_length=accept_length,
        published_speedup=_scalar_metric(ref, "speedup"),
        published_speedup_low=_scalar_metric(ref, "speedup_low"),
        published_speedup_high=_scalar_metric(ref, "speedup_high"),
        published_predicted_speedup=_scalar_metric(ref, "predicted_speedup"),
        source=ref.source,
        url=ref.url,
        note=ref.note,
    )


def parse_published(text: str) -> _Published:
    """Parse TOML text in the format of ``core/data/published.toml``; ``ValueError`` on any bad entry."""
    data = tomllib.loads(text)
    references: dict[str, Reference] = {}
    for entry in data.get("reference", []):
        ref = _parse_reference(entry)
        if ref.id in references:
            raise ValueError(f"duplicate published reference id {ref.id!r}")
        references[ref.id] = ref
    frozen_refs = FrozenDict(references)
    presets: list[SimulatorPreset] = []
    for entry in data.get("simulator_preset", []):
        preset = _parse_preset(entry, frozen_refs)
        if any(p.id == preset.id for p in presets):
            raise ValueError(f"duplicate simulator preset id {preset.id!r}")
        presets.append(preset)
    return _Published(frozen_refs, tuple(presets))


@functools.cache
def _load() -> _Published:
    text = resources.files("core").joinpath("data/published.toml").read_text(encoding="utf-8")
    return parse_published(text)


# ------------------------------------------------------------------------------------------ public API


def load_references() -> dict[str, Reference]:
    """Every published reference by id (a read-only dict, loaded once per process)."""
    return _load().references


def get_reference(reference_id: str) -> Reference:
    """One reference by id; ``ValueError`` naming the known ids when it does not exist."""
    references = load_references()
    if reference_id not in references:
        raise ValueError(f"unknown published reference {reference_id!r}; known: {', '.join(references)}")
    return references[reference_id]


def simulator_presets() -> list[SimulatorPreset]:
    """Slider presets for published setups, in file order (a new list each call; items are immutable)."""
    return list(_load().presets)


def get_simulator_preset(preset_id: str) -> SimulatorPreset:
    """One simulator preset by id; ``ValueError`` naming the known ids when it does not exist."""
    presets = _load().presets
    for preset in presets:
        if preset.id == preset_id:
            return preset
    raise ValueError(f"unknown simulator preset {preset_id!r}; known: {', '.join(p.id for p in presets)}")


_BATCH_SERIES = (("EAGLE-1", "eagle1"), ("EAGLE-3", "eagle3"))


def batch_throughput_series(reference_id: str = "eagle3-table3-batch") -> list[BatchThroughputPoint]:
    """The published throughput ratios by batch size (EAGLE-3 paper, Table 3), one point per quoted value.

    Only the points the source gives (both methods at batch 2, 4, 8, 16, 24, 32, 48, 56 and 64); a chart
    should draw them as points, not as a continuous line implying values in between.
    """
    ref = get_reference(reference_id)
    points: list[BatchThroughputPoint] = []
    for method, prefix in _BATCH_SERIES:
        batches = ref.metrics.get(f"{prefix}_batch_sizes")
        ratios = ref.metrics.get(f"{prefix}_throughput_ratio")
        if batches is None and ratios is None:
            continue
        if not isinstance(batches, tuple) or not isinstance(ratios, tuple) or len(batches) != len(ratios):
            raise ValueError(
                f"{reference_id}: {prefix} batch sizes and ratios must be series of equal length"
            )
        for batch, ratio in zip(batches, ratios, strict=True):
            points.append(BatchThroughputPoint(method, int(batch), ratio, ref.id, ref.source, ref.url))
    return points
