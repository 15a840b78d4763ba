"""The learner's own prompts: parsing what was typed, and each prompt's measured accept length."""

from __future__ import annotations

import pytest

from core.serving.own_prompts import (
    MAX_OWN_PROMPTS,
    MAX_PROMPT_CHARS,
    expectation_verdict,
    own_prompt_pairs,
    parse_own_prompts,
    per_prompt_table,
)
from core.serving.sglang_client import RequestRecord
from tests.unit.serving.test_identity_check import run


def test_rows_are_checked_and_problems_named():
    rows = [
        {"prompt": "x = 1\nx = 1\nx =", "expectation": "expect high"},
        {"prompt": "   ", "expectation": "expect low"},  # blank: dropped silently
        {"prompt": "Once upon a time", "expectation": None},
        {"prompt": "y" * (MAX_PROMPT_CHARS + 1), "expectation": "expect low"},
        {"prompt": "x = 1\nx = 1\nx =", "expectation": "expect low"},
        {"prompt": None, "expectation": "expect low"},
        {"prompt": "The weather", "expectation": "expect low"},
    ]
    prompts, problems = parse_own_prompts(rows)
    assert own_prompt_pairs(prompts) == (("expect high", "x = 1\nx = 1\nx ="), ("expect low", "The weather"))
    assert [p.split(":")[0] for p in problems] == ["row 3", "row 4", "row 5"]


def test_at_most_the_limit_of_prompts_is_kept():
    rows = [{"prompt": f"p{i}", "expectation": "expect high"} for i in range(MAX_OWN_PROMPTS + 3)]
    prompts, problems = parse_own_prompts(rows)
    assert len(prompts) == MAX_OWN_PROMPTS and len(problems) == 1


def rec(prompt, category, tokens, passes, ids, e2e=1.0):
    return RequestRecord(
        prompt=prompt,
        category=category,
        success=True,
        completion_tokens=tokens,
        spec_verify_ct=passes,
        output_ids=ids,
        ttft_s=0.1,
        e2e_s=e2e,
    )


def test_each_prompt_gets_its_own_accept_length_and_speedup():
    spec = run(
        [
            rec("copy", "expect high", 30, 10, [1] * 30, e2e=0.39),
            rec("story", "expect low", 30, 25, [2] * 30, e2e=0.97),
            rec("copy", "expect high", 30, 12, [1] * 30, e2e=0.39),
        ]
    )
    base = run(
        [
            rec("copy", "expect high", 30, None, [1] * 30, e2e=1.26),
            rec("story", "expect low", 30, None, [3] * 30, e2e=1.26),
        ]
    )
    table = per_prompt_table(spec, base)
    assert list(table["prompt"]) == ["copy", "story"]
    copy, story = table.to_dict("records")
    assert copy["accept length"] == pytest.approx(60 / 22) and story["accept length"] == pytest.approx(
        30 / 25
    )
    assert copy["speedup"] == pytest.approx((1.26 - 0.1) / (0.39 - 0.1))
    assert copy["identical"] is True and story["identical"] is False
    assert expectation_verdict(table).startswith("Your labels held")
    swapped = table.assign(expectation=["expect low", "expect high"])
    assert expectation_verdict(swapped).startswith("Your labels did not hold")


def test_nothing_is_claimed_without_both_groups_or_at_temperature_above_zero():
    spec = run([rec("copy", "expect high", 30, 10, [1] * 30)], temperature=0.5)
    table = per_prompt_table(spec, run([rec("copy", "expect high", 30, None, [1] * 30)]))
    assert table["identical"].isna().all()
    assert expectation_verdict(table) is None
