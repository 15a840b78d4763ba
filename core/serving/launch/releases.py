"""SGLang releases and the rules that change between them, read from ``core/data/sglang_releases.toml``.

Each rule of the data file is a list of version ranges with the SGLang source it was read from;
:func:`release_rules` picks, for one release, the value of every rule (:class:`ReleaseRules`).
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources

__all__ = [
    "DEFAULT_RELEASE",
    "RULE_NAMES",
    "ReleaseRules",
    "RuleValue",
    "UnknownReleaseError",
    "known_releases",
    "normalise_release",
    "release_rules",
]

RULE_NAMES = (
    "entry_point",
    "cuda_graph_max_bs_flag",
    "algorithms",
    "auto_params_other_architectures",
    "overlap_scheduler",
    "draft_memory_reserve_mib",
    "pipeline_parallel_algorithms",
    "mixed_chunk_algorithms",
    "incremental_streaming_flag",
    "ngram_defaults",
)


class UnknownReleaseError(ValueError):
    """A release the rules do not describe; the message lists the known ones."""


@dataclass(frozen=True)
class RuleValue:
    """One rule's value for a release, the range it holds for, its SGLang source and an optional note
    (``{release}`` in a note is replaced by the release it describes)."""

    value: object
    first: str
    last: str | None
    source: str
    note: str = ""


@functools.cache
def _data() -> dict:
    text = resources.files("core").joinpath("data/sglang_releases.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def known_releases() -> tuple[str, ...]:
    """Every release the rules describe, oldest first."""
    return tuple(_data()["releases"])


DEFAULT_RELEASE: str = _data()["default"]


def _index(release: str) -> int:
    return known_releases().index(release)


def _pick(rule: str, release: str) -> RuleValue:
    at = _index(release)
    for entry in _data()[rule]:
        first = _index(entry["from"])
        last = _index(entry["to"]) if "to" in entry else len(known_releases()) - 1
        if first <= at <= last:
            note = str(entry.get("note", "")).replace("{release}", release)
            return RuleValue(entry["value"], entry["from"], entry.get("to"), entry["source"], note)
    raise ValueError(f"sglang_releases.toml: rule {rule!r} has no range covering {release}")


def normalise_release(release: str | None) -> str:
    """``release`` checked against the known ones (``None`` or ``""`` = the default, a leading ``v`` is
    dropped); raises :class:`UnknownReleaseError` listing the known releases."""
    if release in (None, ""):
        return DEFAULT_RELEASE
    name = str(release).strip().removeprefix("v")
    if name not in known_releases():
        raise UnknownReleaseError(
            f"unknown SGLang release {release!r}; known releases: {', '.join(known_releases())}"
        )
    return name


@dataclass(frozen=True)
class ReleaseRules:
    """Every rule's value for one SGLang ``release`` (see the data file for what each means)."""

    release: str
    rules: dict[str, RuleValue]

    def value(self, rule: str):
        return self.rules[rule].value

    @property
    def entry_point(self) -> list[str]:
        return list(self.value("entry_point"))

    @property
    def algorithms(self) -> tuple[str, ...]:
        return tuple(self.value("algorithms"))

    @property
    def cuda_graph_max_bs_flag(self) -> str:
        return str(self.value("cuda_graph_max_bs_flag"))

    @property
    def incremental_streaming_flag(self) -> str:
        return str(self.value("incremental_streaming_flag"))

    def draft_memory_reserve_mib(self, algorithm: str) -> int:
        """MiB the automatic ``--mem-fraction-static`` keeps free for ``algorithm``'s draft."""
        reserve = self.value("draft_memory_reserve_mib")
        family = "EAGLE" if algorithm in ("EAGLE", "EAGLE3", "NEXTN") else algorithm
        return int(reserve.get(family, 0))


@functools.cache
def release_rules(release: str | None = None) -> ReleaseRules:
    """The rules of ``release`` (default: :data:`DEFAULT_RELEASE`); raises :class:`UnknownReleaseError`."""
    name = normalise_release(release)
    return ReleaseRules(name, {rule: _pick(rule, name) for rule in RULE_NAMES})
