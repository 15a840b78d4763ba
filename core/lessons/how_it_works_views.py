"""Tables for the How it works page: the step-through's drafted tokens, the chart of the target's next
token, the completed rounds, and the timeline's bar labels.

Pure functions of :mod:`core.lessons.walkthrough` and :mod:`core.simulation.timeline` results: what is
shown, and what is still hidden at this step, is decided here so the page only draws it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from core.lessons.walkthrough import VOCAB, Round, Snapshot
from core.simulation.timeline import Timeline

#: A verify pass is labelled with its tokens when its bar is at least 1/LABEL_SPAN_PARTS of the time axis.
LABEL_SPAN_PARTS = 70


def draft_rows(snap: Snapshot) -> list[dict[str, str]]:
    """One row per drafted token of the current round, as text cells; cells not known yet are blank.

    p appears once the target has run (the "verify" step), u and the verdict when that draft is checked;
    drafts after a rejection are "discarded". Greedy rounds show whether the draft is the target's top
    word instead of min(1, p/q) and u. Empty before the first step.
    """
    current = snap.current
    if current is None:
        return []
    shown = snap.revealed
    step = snap.state.step
    checked = sum(s.kind == "check" for s in snap.steps[:step])
    drafted = sum(s.kind == "draft" for s in snap.steps[:step])
    verified = "verify" in shown
    return [_draft_row(current, i, verified, checked) for i in range(drafted)]


def _draft_row(current: Round, i: int, verified: bool, checked: int) -> dict[str, str]:
    has_verdict = i < checked
    if has_verdict:
        verdict = "accepted" if i < current.accepted else "rejected"
    elif checked > current.accepted:
        verdict = "discarded"
    else:
        verdict = ""
    uniform = current.uniforms[i]
    row = {
        "#": str(i + 1),
        "draft token": VOCAB[current.drafts[i]],
        "q (draft)": f"{current.q_draft[i]:.3f}",
        "p (target)": f"{current.p_draft[i]:.3f}" if verified else "",
    }
    if current.greedy:
        row["target's top word?"] = (
            ("yes" if current.accept_probabilities[i] >= 1 else "no") if verified else ""
        )
    else:
        row["accept prob. min(1, p/q)"] = f"{current.accept_probabilities[i]:.3f}" if verified else ""
        row["uniform u"] = f"{uniform:.3f}" if has_verdict and uniform is not None else ""
    row["verdict"] = verdict
    return row


@dataclass(frozen=True)
class NextTokenView:
    """The distributions the target's own token of a round was chosen from.

    ``series`` names the bars in order ("target p", "draft q", "residual"); ``records`` has one dict per
    (word, series) with ``token``, ``series``, ``probability`` and ``chosen`` (the word picked).
    """

    title: str
    chosen: str
    series: tuple[str, ...]
    records: list[dict]


def next_token_view(current: Round) -> NextTokenView:
    """The bonus token's p, the greedy correction's p and q, or the sampled correction's p, q and residual."""
    chosen = VOCAB[current.next_token]
    position = current.accepted + 1
    if current.next_token_source == "bonus":
        title = f"Bonus token at position {position}: drawn from the target's p"
        series = {"target p": current.next_p}
    elif current.greedy:
        title = f"Correction at position {position}: the target's top word"
        series = {"target p": current.next_p, "draft q": current.next_q}
    else:
        title = f"Correction at position {position}: drawn from the residual norm(max(0, p − q))"
        series = {
            "target p": current.next_p,
            "draft q": current.next_q,
            "residual": current.next_distribution,
        }
    records = [
        {"token": w, "series": name, "probability": values[j], "chosen": w == chosen}
        for name, values in series.items()
        for j, w in enumerate(VOCAB)
    ]
    return NextTokenView(title=title, chosen=chosen, series=tuple(series), records=records)


def round_history(rounds: Sequence[Round]) -> pd.DataFrame:
    """One row per completed round: its drafts, how many were accepted, the target's token and its kind."""
    return pd.DataFrame(
        [
            {
                "round": r.index + 1,
                "drafted": " ".join(VOCAB[t] for t in r.drafts),
                "accepted": r.accepted,
                "target's token": VOCAB[r.next_token],
                "kind": r.next_token_source,
                "tokens added": r.tokens_out,
            }
            for r in rounds
        ]
    )


def timeline_segments(tl: Timeline) -> pd.DataFrame:
    """The timeline's segments with a ``label`` column: "+N" on each verify pass wide enough to hold it
    (a plain step always gives exactly one token, so it carries none)."""
    segments = pd.DataFrame(tl.records())
    span = max(tl.plain_time, tl.speculative_time)
    segments["label"] = [
        f"+{t}" if kind == "verify pass" and duration >= span / LABEL_SPAN_PARTS else ""
        for kind, t, duration in zip(segments["kind"], segments["tokens"], segments["duration"], strict=True)
    ]
    return segments
