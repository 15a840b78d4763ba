"""Prompt suites: contents from the seed notebook plus more, category lookup, practice assumptions."""

from __future__ import annotations

import re

import pytest

from core.serving.prompt_suite import (
    UNKNOWN_CATEGORY,
    available_suites,
    category_description,
    category_of,
    load_suite,
    practice_assumptions,
)
from tests.conftest import ROOT

SEED = ROOT.parent / "shared" / "seed" / "lab-3.3.4-speculative-decoding-with-sglang.md"
REQUIRED = ("predictable", "semi-predictable", "creative")


def test_default_suite_shape():
    suite = load_suite()
    assert suite.name == "default"
    assert suite.categories[:3] == REQUIRED
    for category in REQUIRED:
        prompts = suite.prompts(category)
        assert len(prompts) >= 6
        assert len(set(prompts)) == len(prompts)
        assert all(p.strip() == p and p for p in prompts)
    assert suite.items() == [(c, p) for c in suite.categories for p in suite.prompts(c)]
    assert len(suite) == len(suite.items())


def test_available_suites_default_first_and_all_loadable():
    names = available_suites()
    assert names[0] == "default" and len(names) >= 2
    for name in names:
        suite = load_suite(name)
        assert set(REQUIRED) <= set(suite.categories)
        assert all(suite.prompts(c) for c in REQUIRED)


def test_quick_suite_is_small():
    quick = load_suite("quick")
    assert all(1 <= len(quick.prompts(c)) <= 2 for c in quick.categories)


def test_seed_notebook_prompts_are_included_in_the_same_category():
    if not SEED.exists():
        pytest.skip("seed notebook not present on this machine")
    text = SEED.read_text(encoding="utf-8")
    block = text[text.index("speculation_benchmark_prompts = {") :]
    block = block[: block.index("\n}\n")]
    seed: dict[str, list[str]] = {}
    current = None
    for line in block.splitlines():
        header = re.match(r'\s*"(\w+)": \[', line)
        if header:
            current = header.group(1).replace("_", "-")
            continue
        prompt = re.match(r'\s*"(.+)",\s*$', line)
        if prompt and current:
            seed.setdefault(current, []).append(prompt.group(1))
    assert set(seed) == set(REQUIRED) and sum(map(len, seed.values())) == 10
    for category, prompts in seed.items():
        for prompt in prompts:
            assert prompt in load_suite().prompts(category)
            assert category_of(prompt) == category


def test_category_of_is_exact():
    prompt = load_suite().prompts("creative")[0]
    assert category_of(prompt) == "creative"
    assert category_of(prompt + " ") is None
    assert category_of("Something nobody wrote.") is None
    assert category_of(None) is None


def test_unknown_names_raise_key_error_listing_choices():
    with pytest.raises(KeyError, match="default"):
        load_suite("nope")
    with pytest.raises(KeyError, match="predictable"):
        load_suite().prompts("boring")


def test_suite_is_immutable():
    suite = load_suite()
    suite.prompts("creative").append("mutated")
    assert "mutated" not in load_suite().prompts("creative")
    with pytest.raises(TypeError):
        suite.prompts_by_category["creative"] = ()  # type: ignore[index]


def test_category_descriptions():
    for category in REQUIRED:
        assert len(category_description(category)) > 20
    assert category_description("nope") == ""


def test_practice_assumptions_are_ordered_probabilities():
    assumptions = practice_assumptions()
    alpha = assumptions.category_alpha
    assert set(REQUIRED) | {UNKNOWN_CATEGORY} <= set(alpha)
    assert all(0.0 <= a <= 1.0 for a in alpha.values())
    assert alpha["predictable"] > alpha["semi-predictable"] > alpha["creative"]
    assert "assumption" in assumptions.note.lower()
    assert assumptions.alpha_for(None) == alpha[UNKNOWN_CATEGORY] == assumptions.alpha_for("other")
    assert assumptions.natural_length_for("creative") > assumptions.natural_length_for("predictable") > 0
