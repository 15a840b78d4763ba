"""Benchmark prompt suites grouped by how predictable the answer is (data in ``core/data/prompts.toml``).

A suite lists prompts per category ("predictable", "semi-predictable", "creative"). Speculative decoding
is expected to speed up predictable answers most; the live benchmark measures whether it does on a real
server. :func:`category_of` maps a prompt back to its category (exact text lookup across every suite),
which the practice server uses to pick a simulated acceptance rate.

Public API: :func:`load_suite`, :func:`available_suites`, :func:`category_of`,
:func:`category_description`, :func:`practice_assumptions`, :class:`PromptSuite`,
:class:`PracticeAssumptions`.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

__all__ = [
    "PromptSuite",
    "PracticeAssumptions",
    "load_suite",
    "available_suites",
    "category_of",
    "category_description",
    "practice_assumptions",
    "UNKNOWN_CATEGORY",
]

UNKNOWN_CATEGORY = "unknown"
_REQUIRED_CATEGORIES = ("predictable", "semi-predictable", "creative")


@dataclass(frozen=True)
class PromptSuite:
    """One named prompt suite: ordered categories, each with an ordered tuple of prompts."""

    name: str
    description: str
    categories: tuple[str, ...]
    prompts_by_category: MappingProxyType  # category -> tuple[str, ...]

    def prompts(self, category: str) -> list[str]:
        """The prompts of one category, in file order. Raises ``KeyError`` naming the known categories."""
        try:
            return list(self.prompts_by_category[category])
        except KeyError:
            raise KeyError(
                f"suite {self.name!r} has no category {category!r}; categories: {', '.join(self.categories)}"
            ) from None

    def items(self) -> list[tuple[str, str]]:
        """Every ``(category, prompt)`` pair, categories in order, prompts in file order."""
        return [(category, prompt) for category in self.categories for prompt in self.prompts(category)]

    def __len__(self) -> int:
        return sum(len(p) for p in self.prompts_by_category.values())


@dataclass(frozen=True)
class PracticeAssumptions:
    """Illustrative per-category settings for the simulated practice server (not measurements).

    ``category_alpha``: draft acceptance probability per category (key ``"unknown"`` for prompts in no
    suite). ``natural_length_tokens``: tokens after which the simulated model stops when ``ignore_eos`` is
    off.
    """

    note: str
    category_alpha: MappingProxyType
    natural_length_tokens: MappingProxyType

    def alpha_for(self, category: str | None) -> float:
        """Acceptance probability for a category, the ``"unknown"`` value when ``None`` or not listed."""
        return float(
            self.category_alpha.get(category or UNKNOWN_CATEGORY, self.category_alpha[UNKNOWN_CATEGORY])
        )

    def natural_length_for(self, category: str | None) -> int:
        """Natural answer length in tokens for a category, the ``"unknown"`` value when not listed."""
        table = self.natural_length_tokens
        return int(table.get(category or UNKNOWN_CATEGORY, table[UNKNOWN_CATEGORY]))


@functools.cache
def _raw() -> dict[str, Any]:
    text = resources.files("core").joinpath("data/prompts.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@functools.cache
def _suites() -> MappingProxyType:
    raw = _raw()
    suites: dict[str, PromptSuite] = {}
    for name, body in raw["suites"].items():
        categories = tuple(body["categories"])
        missing = [c for c in _REQUIRED_CATEGORIES if c not in categories]
        if missing:
            raise ValueError(f"prompts.toml: suite {name!r} lacks categories {missing}")
        prompts = body["prompts"]
        extra = set(prompts) - set(categories)
        if extra:
            raise ValueError(
                f"prompts.toml: suite {name!r} has prompts for unlisted categories {sorted(extra)}"
            )
        table = MappingProxyType({c: tuple(str(p) for p in prompts.get(c, ())) for c in categories})
        suites[name] = PromptSuite(
            name=name,
            description=str(body.get("description", "")),
            categories=categories,
            prompts_by_category=table,
        )
    return MappingProxyType(suites)


@functools.cache
def _category_index() -> MappingProxyType:
    index: dict[str, str] = {}
    for suite in _suites().values():
        for category, prompt in suite.items():
            previous = index.setdefault(prompt, category)
            if previous != category:
                raise ValueError(f"prompts.toml: prompt {prompt!r} is both {previous!r} and {category!r}")
    return MappingProxyType(index)


def available_suites() -> list[str]:
    """Names of the prompt suites, ``"default"`` first."""
    names = list(_suites())
    return sorted(names, key=lambda n: (n != "default", names.index(n)))


def load_suite(name: str = "default") -> PromptSuite:
    """The prompt suite called ``name``. Raises ``KeyError`` listing the available suites."""
    try:
        return _suites()[name]
    except KeyError:
        raise KeyError(f"no prompt suite {name!r}; available: {', '.join(available_suites())}") from None


def category_of(prompt: str) -> str | None:
    """The category of ``prompt`` (exact text, any suite), or ``None`` for a prompt in no suite."""
    if not isinstance(prompt, str):
        return None
    return _category_index().get(prompt)


def category_description(category: str) -> str:
    """One sentence saying what the category means (empty string for an unknown category)."""
    return str(_raw().get("categories", {}).get(category, {}).get("description", ""))


@functools.cache
def practice_assumptions() -> PracticeAssumptions:
    """The practice server's illustrative per-category assumptions from ``prompts.toml``."""
    body = _raw()["practice_assumptions"]
    alpha = {str(k): float(v) for k, v in body["category_alpha"].items()}
    lengths = {str(k): int(v) for k, v in body["natural_length_tokens"].items()}
    for table_name, table in (("category_alpha", alpha), ("natural_length_tokens", lengths)):
        if UNKNOWN_CATEGORY not in table:
            raise ValueError(f"prompts.toml: practice_assumptions.{table_name} needs an 'unknown' entry")
    bad = {k: v for k, v in alpha.items() if not 0.0 <= v <= 1.0}
    if bad:
        raise ValueError(f"prompts.toml: acceptance rates must lie in [0, 1], got {bad}")
    return PracticeAssumptions(
        note=str(body.get("note", "")),
        category_alpha=MappingProxyType(alpha),
        natural_length_tokens=MappingProxyType(lengths),
    )
