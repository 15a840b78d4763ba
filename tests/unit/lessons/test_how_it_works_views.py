"""core.lessons.how_it_works_views: what the step-through shows at each step, and the timeline labels."""

from __future__ import annotations

import pytest

from core.lessons import how_it_works_views as views
from core.lessons import walkthrough as wt
from core.simulation import timeline


def states_of_one_round(seed: int, gamma: int, greedy: bool = False):
    """Every state of the first round, from the first step to the round's end."""
    state = wt.with_settings(wt.WalkthroughState(), seed, gamma, greedy)
    state = wt.next_step(state)
    yield state
    while state.round == 0 and not wt.replay(state).round_complete:
        state = wt.next_step(state)
        yield state


def test_nothing_is_shown_before_the_first_step():
    assert views.draft_rows(wt.replay(wt.WalkthroughState())) == []


@pytest.mark.parametrize("seed", range(6))
def test_draft_rows_reveal_p_after_verify_and_verdicts_as_checked(seed):
    for state in states_of_one_round(seed, gamma=4):
        snap = wt.replay(state)
        rows = views.draft_rows(snap)
        drafted = sum(s.kind == "draft" for s in snap.steps[: state.step])
        assert [r["#"] for r in rows] == [str(i + 1) for i in range(drafted)]
        verified = "verify" in snap.revealed
        assert all((r["p (target)"] != "") == verified for r in rows)
        current = snap.current
        for i, row in enumerate(rows):
            assert row["draft token"] == wt.VOCAB[current.drafts[i]]
            if row["verdict"] == "accepted":
                assert i < current.accepted and row["uniform u"] != ""
            elif row["verdict"] == "rejected":
                assert i == current.accepted
            elif row["verdict"] == "discarded":
                assert i > current.accepted and row["uniform u"] == ""  # no u after a rejection


def test_greedy_rows_say_whether_the_draft_is_the_targets_top_word():
    *_, last = states_of_one_round(seed=3, gamma=3, greedy=True)
    rows = views.draft_rows(wt.replay(last))
    assert rows and all("uniform u" not in r and r["target's top word?"] in ("yes", "no") for r in rows)


@pytest.mark.parametrize(("seed", "greedy"), [(s, g) for s in range(8) for g in (False, True)])
def test_next_token_view_matches_how_the_round_ended(seed, greedy):
    *_, last = states_of_one_round(seed, gamma=3, greedy=greedy)
    current = wt.replay(last).current
    view = views.next_token_view(current)
    assert view.chosen == wt.VOCAB[current.next_token]
    if current.next_token_source == "bonus":
        assert view.series == ("target p",) and view.title.startswith("Bonus token")
    elif greedy:
        assert view.series == ("target p", "draft q") and "top word" in view.title
    else:
        assert view.series == ("target p", "draft q", "residual") and "residual" in view.title
    assert len(view.records) == len(view.series) * len(wt.VOCAB)
    for name in view.series:
        total = sum(r["probability"] for r in view.records if r["series"] == name)
        assert total == pytest.approx(1.0)
    assert {r["token"] for r in view.records if r["chosen"]} == {view.chosen}


def test_round_history_adds_up_to_the_tokens_in_the_text():
    state = wt.with_settings(wt.WalkthroughState(), 5, 4, False)
    for _ in range(4):
        state = wt.next_round(state)
    snap = wt.replay(state)
    history = views.round_history(snap.completed_rounds)
    assert list(history["round"]) == [r.index + 1 for r in snap.completed_rounds]
    assert int(history["tokens added"].sum()) == sum(r.tokens_out for r in snap.completed_rounds)
    assert (history["tokens added"] == history["accepted"] + 1).all()


def test_timeline_labels_only_wide_verify_passes():
    tl = timeline.simulate_timeline(0.8, 5, 0.05, 60, seed=0)
    segments = views.timeline_segments(tl)
    span = max(tl.plain_time, tl.speculative_time)
    labelled = segments[segments["label"] != ""]
    assert len(labelled) and (labelled["kind"] == "verify pass").all()
    assert (labelled["label"] == "+" + labelled["tokens"].astype(str)).all()
    assert (labelled["duration"] >= span / views.LABEL_SPAN_PARTS).all()
    assert len(segments) == len(tl.records())
    long_run = timeline.simulate_timeline(0.1, 1, 0.05, 100, seed=0)  # 100 verify passes: too narrow to label
    assert (views.timeline_segments(long_run)["label"] == "").all()
