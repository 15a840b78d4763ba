"""The step-through on the tiny models: every pass as the exact greedy rule decided it."""

from __future__ import annotations

import pytest

from core.lessons.tiny_walkthrough import DRAFTS, pass_table, show_token, tiny_step_through
from core.tiny_models import generate, load_models

PROMPT = (
    "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a"
)


@pytest.mark.parametrize("draft", list(DRAFTS))
def test_each_pass_follows_the_greedy_rule_and_the_output_is_the_targets(draft):
    models = load_models()
    walk = tiny_step_through(PROMPT, draft, num_draft=3, max_new_tokens=16, candidates=3, models=models)
    plain = generate(models, models.tokenizer.encode(PROMPT), None, max_new_tokens=16)
    assert walk.output == models.tokenizer.decode(plain.output_ids)
    assert walk.passes
    for one in walk.passes:
        flags = [pos.accepted for pos in one.positions]
        assert flags == [True] * one.accepted + [False] * (len(flags) - one.accepted)
        for pos in one.positions:
            assert len(pos.p_top) == 3 and len(pos.q_top) >= 1
            if pos.accepted:  # greedy: a kept draft is the target's most likely token
                assert pos.token == pos.p_top[0][0]
        if one.accepted < len(one.positions):
            rejected = one.positions[one.accepted]
            assert rejected.token != rejected.p_top[0][0]
            assert one.bonus == rejected.p_top[0][0]  # the target's own choice replaces it
        table = pass_table(one)
        assert len(table) == len(one.positions)
    assert walk.accept_length == pytest.approx(sum(p.accepted + 1 for p in walk.passes) / len(walk.passes))


def test_bad_input_is_a_clear_value_error():
    for kwargs, fragment in (
        ({"prompt": " "}, "type a prompt"),
        ({"prompt": "x", "draft": "MEDUSA"}, "unknown draft"),
        ({"prompt": "x", "num_draft": 0}, "drafted tokens"),
        ({"prompt": "x" * 401}, "at most 400"),
    ):
        with pytest.raises(ValueError, match=fragment):
            tiny_step_through(**kwargs)


def test_whitespace_is_made_visible():
    assert show_token(" a\n\t") == "·a⏎→" and show_token("") == "∅"
