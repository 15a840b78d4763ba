"""How it works, on real models: the token-level step-through run on the lab's tiny models.

Each verify pass of a real speculative decode (``core.tiny_models.DecodeSession``) becomes a
:class:`TinyPass`: the tokens the draft proposed, and at each drafted position the draft's top
candidates (q) and the target's (p), whether the target accepted the token, and what the pass emitted
(the accepted drafts plus the target's own next token). Nothing is simulated: probabilities are the
models' softmax at the run's temperature (temperature 1 shown for greedy runs, whose choice is the
argmax either way).

Public API: :data:`DRAFTS`, :func:`tiny_step_through` -> :class:`TinyWalkthrough`,
:func:`pass_table`, :func:`show_token`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.tiny_models import DecodeSession, DraftKind, load_models

__all__ = ["DRAFTS", "TinyPass", "TinyWalkthrough", "pass_table", "show_token", "tiny_step_through"]

#: The draft kinds a learner can pick, with a line on each.
DRAFTS = {
    "EAGLE": "a small head that reads the target's hidden state (EAGLE-style)",
    "STANDALONE": "a smaller independent model trained on the same text",
    "NGRAM": "no model: looks the last tokens up earlier in the text (prompt lookup)",
}
MAX_PROMPT_CHARS = 400
MAX_NEW_TOKENS = 48


def show_token(text: str) -> str:
    """A token's text with its whitespace made visible (· for a space, ⏎ for a newline, → for a tab)."""
    return text.replace(" ", "·").replace("\n", "⏎").replace("\t", "→") or "∅"


@dataclass(frozen=True)
class DraftedPosition:
    """One drafted position: the drafted token, the top candidates of q (draft) and p (target) as
    (token text, probability), and whether the target accepted it (greedy: it is p's argmax)."""

    token: str
    q_top: list[tuple[str, float]]
    p_top: list[tuple[str, float]]
    accepted: bool


@dataclass(frozen=True)
class TinyPass:
    """One verify pass: its drafted positions, accepted count, the emitted text and the seconds it took
    on this CPU (measured)."""

    number: int
    positions: list[DraftedPosition]
    accepted: int
    emitted: str
    bonus: str
    seconds: float


@dataclass(frozen=True)
class TinyWalkthrough:
    prompt: str
    draft: str
    num_draft: int
    passes: list[TinyPass]
    output: str

    @property
    def accept_length(self) -> float:
        """Tokens emitted per verify pass (accepted drafts + the target's token), over the passes shown."""
        if not self.passes:
            return 0.0
        return sum(p.accepted + 1 for p in self.passes) / len(self.passes)


def _validate(prompt: str, draft: str, num_draft: int, max_new_tokens: int, candidates: int) -> None:
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("type a prompt first")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise ValueError(f"the prompt has {len(prompt)} characters; at most {MAX_PROMPT_CHARS}")
    if draft not in DRAFTS:
        raise ValueError(f"unknown draft {draft!r}; choose one of {', '.join(DRAFTS)}")
    if not 1 <= num_draft <= 8 or not 1 <= max_new_tokens <= MAX_NEW_TOKENS or not 1 <= candidates <= 5:
        raise ValueError(f"drafted tokens must be 1-8, new tokens 1-{MAX_NEW_TOKENS} and candidates 1-5")


def tiny_step_through(
    prompt: str,
    draft: str = "EAGLE",
    num_draft: int = 4,
    max_new_tokens: int = 24,
    candidates: int = 3,
    models=None,
) -> TinyWalkthrough:
    """Decode ``prompt`` greedily with ``draft`` proposing ``num_draft`` tokens a pass, recording every
    pass. ``ValueError`` for bad input (including a prompt longer than the model's context)."""
    num_draft, max_new_tokens, candidates = int(num_draft), int(max_new_tokens), int(candidates)
    _validate(prompt, draft, num_draft, max_new_tokens, candidates)
    models = models or load_models()
    tok = models.tokenizer
    session = DecodeSession(
        models,
        tok.encode(prompt),
        DraftKind[draft],
        num_draft=num_draft,
        max_new_tokens=max_new_tokens,
        candidates=candidates,
    )
    session.step(num_draft=0)  # the prefill's token, as a server's first token
    passes = []
    while not session.done:
        record = session.step()
        if not record.proposed:  # the last token, when only one was left to make
            continue

        def shown(pairs):
            return [(show_token(tok.decode([t])), round(p, 4)) for t, p in pairs]

        positions = [
            DraftedPosition(
                show_token(tok.decode([token])),
                shown(record.draft_top[i]),
                shown(record.target_top[i]),
                i < record.accepted,
            )
            for i, token in enumerate(record.proposed)
        ]
        passes.append(
            TinyPass(
                len(passes) + 1,
                positions,
                record.accepted,
                tok.decode(record.emitted),
                show_token(tok.decode(record.emitted[-1:])),
                record.seconds,
            )
        )
    return TinyWalkthrough(prompt, draft, num_draft, passes, tok.decode(session.output_ids))


def pass_table(one_pass: TinyPass) -> pd.DataFrame:
    """One row per drafted position of a pass: drafted token, draft's and target's top candidates, verdict."""

    def fmt(pairs):
        return "  ".join(f"{t} {p:.2f}" for t, p in pairs)

    rows = []
    rejected = False
    for i, pos in enumerate(one_pass.positions, start=1):
        if pos.accepted:
            verdict = "accepted"
        elif not rejected:
            verdict, rejected = "rejected: the target's choice is kept instead", True
        else:
            verdict = "discarded (comes after a rejected token)"
        rows.append(
            {
                "position": i,
                "drafted token": pos.token,
                "draft's top candidates (q)": fmt(pos.q_top),
                "target's top candidates (p)": fmt(pos.p_top),
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows)
