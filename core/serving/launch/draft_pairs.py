"""Known target -> draft pairs for SGLang speculative decoding, from ``core/data/draft_pairs.toml``."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources

from core.serving.launch.releases import known_releases, release_rules

__all__ = ["DraftPair", "draft_pairs", "find_draft_pair", "known_targets"]


@dataclass(frozen=True)
class DraftPair:
    """One published target -> draft pairing (``draft`` is ``""`` for NEXTN, which needs none)."""

    target: str
    aliases: tuple[str, ...]
    algorithm: str
    draft: str
    source: str
    steps: int | None = None
    topk: int | None = None
    draft_tokens: int | None = None
    default: bool = False

    def matches(self, model: str) -> bool:
        """Whether ``model`` names this pair's target: hub id, alias, or a local folder ending in one."""
        wanted = _normalise(model)
        names = {_normalise(n) for n in (self.target, *self.aliases)}
        names |= {n.rsplit("/", 1)[-1] for n in names}
        return wanted in names or wanted.rstrip("/").rsplit("/", 1)[-1] in names

    @property
    def recommended(self) -> tuple[int, int, int] | None:
        """``(steps, topk, draft tokens)`` from the source, or ``None`` when it gives none."""
        if None in (self.steps, self.topk, self.draft_tokens):
            return None
        return (int(self.steps), int(self.topk), int(self.draft_tokens))


def _normalise(name: str) -> str:
    return str(name).strip().lower()


def _every_algorithm() -> set[str]:
    return {a for release in known_releases() for a in release_rules(release).algorithms}


@functools.cache
def draft_pairs() -> tuple[DraftPair, ...]:
    """Every known pair from ``core/data/draft_pairs.toml``, in file order."""
    text = resources.files("core").joinpath("data/draft_pairs.toml").read_text(encoding="utf-8")
    pairs = []
    for entry in tomllib.loads(text)["pairs"]:
        algorithm = str(entry["algorithm"]).upper()
        if algorithm not in _every_algorithm():
            raise ValueError(f"draft_pairs.toml: unknown algorithm {entry['algorithm']!r}")
        pairs.append(
            DraftPair(
                target=str(entry["target"]),
                aliases=tuple(str(a) for a in entry.get("aliases", ())),
                algorithm=algorithm,
                draft=str(entry.get("draft", "")),
                source=str(entry["source"]),
                steps=entry.get("steps"),
                topk=entry.get("topk"),
                draft_tokens=entry.get("draft_tokens"),
                default=bool(entry.get("default", False)),
            )
        )
    return tuple(pairs)


def find_draft_pair(model: str, algorithm: str | None = None) -> DraftPair | None:
    """The known pair for ``model`` (and ``algorithm`` when given): the one marked default, else the
    first listed; ``None`` when the target is unknown."""
    wanted = None if algorithm is None else str(algorithm).upper()
    candidates = [p for p in draft_pairs() if p.matches(model) and (wanted is None or p.algorithm == wanted)]
    if not candidates:
        return None
    return next((p for p in candidates if p.default), candidates[0])


def known_targets(algorithm: str) -> list[str]:
    """Targets with a known pair for ``algorithm``, sorted."""
    return sorted({p.target for p in draft_pairs() if p.algorithm == algorithm})
