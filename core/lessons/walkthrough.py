"""The "How it works" lesson: a token-level step-through of speculative decoding on a toy language model.

A tiny bigram language (ten words) has two next-word tables that depend on the previous word:

* the TARGET ``p(next | previous)``, the model whose text we want;
* the DRAFT ``q(next | previous)``, a deliberately imperfect copy (it over-rates some words, e.g. "dog"
  after "the"), so some guesses are rejected.

Each round the draft proposes ``gamma`` words autoregressively from ``q`` (or its top choice in greedy
mode), and :func:`core.simulation.rejection.verify_drafts` verifies them with real rejection sampling: accept draft
``i`` with probability ``min(1, p/q)``, replace the first rejected one with a token drawn from the residual
``norm(max(0, p - q))``, or add a bonus token from ``p`` when every draft was accepted.

The step-through is a state machine over a tiny, serialisable :class:`WalkthroughState` (seed, gamma,
greedy flag, round index, step index). Nothing random is stored: :func:`replay` recomputes every round
from the seed (round ``r`` draws from ``numpy.random.default_rng([seed, r])``), so a state replays
exactly, on any thread. The same module loads the lesson's glossary (``core/data/glossary.toml``) and
runs the output-identity experiment.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import MappingProxyType

import numpy as np

from core.simulation import rejection

__all__ = [
    "VOCAB",
    "PROMPT",
    "GOAL_TOKENS",
    "MAX_GAMMA",
    "MAX_SEED",
    "ToyModel",
    "toy_model",
    "Round",
    "Step",
    "WalkthroughState",
    "Snapshot",
    "simulate_round",
    "round_steps",
    "replay",
    "next_step",
    "next_round",
    "reset",
    "with_settings",
    "Term",
    "Myth",
    "load_glossary",
    "IdentityResult",
    "identity_experiment",
    "MAX_SAMPLES",
    "tv_noise_bound",
]

VOCAB = ("the", "cat", "dog", "sat", "ran", "on", "mat", "rug", "and", ".")
PROMPT = ("the",)
GOAL_TOKENS = 20  # the step-through stops once a round brings the text to this many new tokens
MAX_GAMMA = 6  # keeps a round readable on one screen
MAX_SEED = 2**31 - 1
MAX_SAMPLES = 1_000_000
_FLOOR = 0.05  # every word keeps a little weight, as a real model's softmax does

# Unnormalised next-word weights: previous word -> {next word: weight}; every other word gets _FLOOR.
# Read-only (MappingProxyType): one process serves every session, so module data must never change.
_TARGET_WEIGHTS = MappingProxyType(
    {
        "the": {"cat": 5, "dog": 4, "mat": 2, "rug": 1.5},
        "cat": {"sat": 5, "ran": 3, "and": 1, ".": 1},
        "dog": {"ran": 5, "sat": 3, "and": 1, ".": 1},
        "sat": {"on": 7, ".": 2, "and": 1},
        "ran": {"on": 4, ".": 3, "and": 2},
        "on": {"the": 9, "mat": 0.5, "rug": 0.5},
        "mat": {".": 5, "and": 3},
        "rug": {".": 5, "and": 3},
        "and": {"the": 7, "sat": 1, "ran": 1},
        ".": {"the": 9},
    }
)
# The draft knows the language roughly but gets the proportions wrong in places.
_DRAFT_WEIGHTS = MappingProxyType(
    {
        "the": {"cat": 3, "dog": 6, "mat": 1, "rug": 2},
        "cat": {"sat": 3, "ran": 5, "and": 1, ".": 1},
        "dog": {"ran": 4, "sat": 4, "and": 1, ".": 1},
        "sat": {"on": 5, ".": 1, "and": 4},
        "ran": {"on": 3, ".": 5, "and": 2},
        "on": {"the": 5, "mat": 3, "rug": 3},
        "mat": {".": 3, "and": 6},
        "rug": {".": 4, "and": 5},
        "and": {"the": 5, "sat": 2, "ran": 2},
        ".": {"the": 7, "dog": 2},
    }
)


def _table(weights) -> np.ndarray:
    table = np.full((len(VOCAB), len(VOCAB)), _FLOOR)
    for row, previous in enumerate(VOCAB):
        for word, weight in weights[previous].items():
            table[row, VOCAB.index(word)] += weight
    table /= table.sum(axis=1, keepdims=True)
    table.setflags(write=False)
    return table


@dataclass(frozen=True)
class ToyModel:
    """Vocabulary and the two next-word tables, rows indexed by the previous word (each row sums to 1)."""

    vocab: tuple[str, ...]
    target: np.ndarray  # (V, V): target[prev, next] = p(next | prev)
    draft: np.ndarray  # (V, V): draft[prev, next] = q(next | prev)

    def acceptance_by_word(self) -> np.ndarray:
        """Per-token acceptance sum_x min(p, q) after each previous word (exact), shape (V,)."""
        return np.array(
            [rejection.acceptance_rate(p, q) for p, q in zip(self.target, self.draft, strict=True)]
        )


def toy_model() -> ToyModel:
    """The lesson's ten-word bigram target and its imperfect draft."""
    return ToyModel(VOCAB, _table(_TARGET_WEIGHTS), _table(_DRAFT_WEIGHTS))


@dataclass(frozen=True)
class Round:
    """One round of speculative decoding, as computed (0-based ``index``).

    Per drafted position ``i`` (length ``gamma``): ``drafts[i]`` (token id), ``q_draft[i]`` and
    ``p_draft[i]`` (the draft's and the target's probability of that token), ``accept_probabilities[i]``
    (``min(1, p/q)``, known for every position once the target has run; 1 or 0 in greedy mode, where
    a draft passes only if it is the target's top token) and ``uniforms[i]`` (the uniform drawn, ``None``
    where none was drawn: after the first rejection, and always in greedy mode). ``accepted`` drafts were kept; ``next_token`` came from ``next_token_source`` ("residual"
    after a rejection, "bonus" when all were accepted), drawn from ``next_distribution`` (the residual,
    or ``p``). ``next_p`` and ``next_q`` are the target and draft rows at that position (``next_q`` is
    all zeros for the bonus position, which the draft never saw).
    """

    index: int
    previous: int
    gamma: int
    greedy: bool
    drafts: tuple[int, ...]
    q_draft: tuple[float, ...]
    p_draft: tuple[float, ...]
    accept_probabilities: tuple[float, ...]
    uniforms: tuple[float | None, ...]
    accepted: int
    next_token: int
    next_token_source: str
    next_distribution: tuple[float, ...]
    next_p: tuple[float, ...]
    next_q: tuple[float, ...]

    @property
    def tokens_out(self) -> int:
        """Tokens this round adds: the accepted drafts plus the target's one (accept length)."""
        return self.accepted + 1

    @property
    def output(self) -> tuple[int, ...]:
        return self.drafts[: self.accepted] + (self.next_token,)

    @property
    def checked(self) -> int:
        """Drafts whose verdict is shown: up to and including the first rejection."""
        return min(self.accepted + 1, self.gamma)


def simulate_round(model: ToyModel, previous: int, gamma: int, seed: int, index: int, greedy: bool) -> Round:
    """Draft ``gamma`` tokens after token ``previous`` and verify them; seeded by ``(seed, index)``."""
    rng = np.random.default_rng([int(seed), int(index)])
    drafts: list[int] = []
    q_rows, p_rows = [], []
    context = int(previous)
    for _ in range(gamma):
        q_row, p_row = model.draft[context], model.target[context]
        token = int(np.argmax(q_row)) if greedy else int(rng.choice(len(q_row), p=q_row))
        drafts.append(token)
        q_rows.append(q_row)
        p_rows.append(p_row)
        context = token
    p_rows.append(model.target[context])  # the extra position: the bonus token's distribution
    q_matrix = np.array(q_rows, dtype=np.float64).reshape(gamma, len(model.vocab))
    p_matrix = np.array(p_rows, dtype=np.float64)
    result = rejection.verify_drafts(p_matrix, q_matrix, np.array(drafts, dtype=np.int64), rng, greedy=greedy)

    accepted = int(result.accepted)
    source = str(result.next_token_source)
    next_p = p_matrix[accepted]
    next_q = q_matrix[accepted] if accepted < gamma else np.zeros(len(model.vocab))
    if source == "bonus" or result.residual is None:
        distribution = next_p
    else:
        distribution = np.asarray(result.residual, dtype=np.float64)
    if greedy:  # greedy picks the target's argmax: show that choice as certain
        distribution = np.zeros(len(model.vocab))
        distribution[int(result.next_token)] = 1.0
    drawn = np.asarray(result.uniforms, dtype=np.float64).ravel()[:gamma]
    uniforms = tuple(float(u) if i < drawn.size and math.isfinite(u) else None for i, u in enumerate(drawn))
    uniforms += (None,) * (gamma - len(uniforms))
    accept = tuple(float(a) for a in np.asarray(result.accept_probabilities, dtype=np.float64).ravel())
    return Round(
        index=int(index),
        previous=int(previous),
        gamma=int(gamma),
        greedy=bool(greedy),
        drafts=tuple(drafts),
        q_draft=tuple(float(q_matrix[i, t]) for i, t in enumerate(drafts)),
        p_draft=tuple(float(p_matrix[i, t]) for i, t in enumerate(drafts)),
        accept_probabilities=accept,
        uniforms=uniforms,
        accepted=accepted,
        next_token=int(result.next_token),
        next_token_source=source,
        next_distribution=tuple(float(x) for x in distribution),
        next_p=tuple(float(x) for x in next_p),
        next_q=tuple(float(x) for x in next_q),
    )


@dataclass(frozen=True)
class Step:
    """One click of "next step": ``kind`` is "draft", "verify", "check" or "finish"; ``position`` is the
    1-based draft position for "draft" and "check" steps (0 otherwise)."""

    kind: str
    position: int = 0


def round_steps(round_: Round) -> tuple[Step, ...]:
    """The steps that reveal one round: gamma draft passes, one verify pass, the verdicts up to the first
    rejection, then the target's token (correction or bonus)."""
    return (
        tuple(Step("draft", i + 1) for i in range(round_.gamma))
        + (Step("verify"),)
        + tuple(Step("check", i + 1) for i in range(round_.checked))
        + (Step("finish"),)
    )


@dataclass(frozen=True)
class WalkthroughState:
    """Where the learner is. ``round`` is 0-based; ``step`` counts the steps of that round shown so far
    (0 only before the very first click). Small and serialisable: :meth:`to_dict` / :meth:`from_dict`."""

    seed: int = 0
    gamma: int = 4
    greedy: bool = False
    round: int = 0
    step: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data) -> WalkthroughState:
        """Rebuild a state; anything missing or invalid falls back to a fresh start (never raises)."""
        try:
            state = cls(
                seed=int(data.get("seed", 0)),
                gamma=int(data.get("gamma", 4)),
                greedy=bool(data.get("greedy", False)),
                round=int(data.get("round", 0)),
                step=int(data.get("step", 0)),
            )
            return _validated(state)
        except (AttributeError, TypeError, ValueError, OverflowError):
            return cls()


def _validated(state: WalkthroughState) -> WalkthroughState:
    if not 0 <= state.seed <= MAX_SEED:
        raise ValueError(f"seed must be a whole number from 0 to {MAX_SEED}, got {state.seed!r}")
    if not 1 <= state.gamma <= MAX_GAMMA:
        raise ValueError(f"gamma must be between 1 and {MAX_GAMMA} draft tokens, got {state.gamma!r}")
    if state.round < 0 or state.step < 0 or (state.step == 0 and state.round > 0):
        raise ValueError("round and step must be non-negative, and step is 0 only before the first round")
    if state.round >= GOAL_TOKENS:  # every round adds at least one token
        raise ValueError(f"the step-through ends within {GOAL_TOKENS} rounds, got round {state.round}")
    return state


@dataclass(frozen=True)
class Snapshot:
    """Everything the page shows for one state.

    ``rounds`` holds every round up to and including the current one. Counters count what has been
    revealed: ``draft_passes`` (draft forwards), ``target_passes`` (target forwards, one per round) and
    ``tokens`` (new tokens now fixed in the text). ``text`` is the prompt plus every fixed token as
    ``(token id, kind, round index)`` with kind "prompt", "accepted", "correction" or "bonus";
    ``pending`` is the current round's drafts not yet fixed, as ``(token id, status)`` with status
    "drafted", "accepted" (verdict shown but round not finished), "rejected" or "discarded".
    """

    state: WalkthroughState
    rounds: tuple[Round, ...]
    steps: tuple[Step, ...]  # steps of the current round
    draft_passes: int
    target_passes: int
    tokens: int
    text: tuple[tuple[int, str, int], ...]
    pending: tuple[tuple[int, str], ...]
    narration: str
    finished: bool

    @property
    def current(self) -> Round | None:
        return self.rounds[-1] if self.state.step > 0 else None

    @property
    def current_step(self) -> Step | None:
        return self.steps[self.state.step - 1] if self.state.step > 0 else None

    @property
    def round_complete(self) -> bool:
        return self.state.step > 0 and self.state.step == len(self.steps)

    @property
    def completed_rounds(self) -> tuple[Round, ...]:
        return self.rounds if self.round_complete else self.rounds[:-1]

    @property
    def revealed(self) -> set[str]:
        """Which parts of the current round are visible: subset of {"draft", "verify", "check", "finish"}."""
        if self.state.step == 0:
            return set()
        return {s.kind for s in self.steps[: self.state.step]}


def _word(token: int) -> str:
    return f"“{VOCAB[token]}”"


def _narrate(round_: Round, step: Step) -> str:
    if step.kind == "draft":
        i = step.position - 1
        context = round_.drafts[i - 1] if i > 0 else round_.previous
        how = "takes its top choice" if round_.greedy else "samples"
        return (
            f"Draft pass {step.position} of {round_.gamma}: after {_word(context)} the draft {how} "
            f"{_word(round_.drafts[i])}, which it gives probability q = {round_.q_draft[i]:.2f}."
        )
    if step.kind == "verify":
        return (
            f"ONE target pass scores all {round_.gamma} drafted positions at once (plus one more position "
            "for a possible bonus token). Now every draft has the target's probability p next to the "
            "draft's q."
        )
    if step.kind == "check":
        i = step.position - 1
        word = _word(round_.drafts[i])
        kept = i < round_.accepted
        if round_.greedy:
            verdict = (
                "is also the target's top choice: accepted."
                if kept
                else "is not the target's top choice: rejected."
            )
            tail = "" if kept else " Any drafts after it are discarded, because they were built on it."
            return f"Draft {step.position}: {word} {verdict}{tail}"
        u, a = round_.uniforms[i], round_.accept_probabilities[i]
        if kept:
            return f"Draft {step.position}: {word}, u = {u:.3f} < min(1, p/q) = {a:.3f}, so it is accepted."
        tail = (
            " The later drafts are discarded, because they were built on it." if i + 1 < round_.gamma else ""
        )
        return f"Draft {step.position}: {word}, u = {u:.3f} ≥ min(1, p/q) = {a:.3f}, so it is rejected.{tail}"
    word = _word(round_.next_token)
    count = f"{round_.tokens_out} token{'s' if round_.tokens_out != 1 else ''} for one target pass"
    if round_.next_token_source == "bonus":
        how = "its top choice" if round_.greedy else "a token drawn from p"
        return f"All {round_.gamma} drafts accepted, so the target's extra position adds a bonus token: {how}, {word}. Round total: {count}."
    if round_.greedy:
        return f"The target writes its own top choice {word} in place of the rejected draft. Round total: {count}."
    return (
        f"The target replaces the rejected draft with {word}, drawn from the residual norm(max(0, p − q)). "
        f"Round total: {count}."
    )


def replay(state: WalkthroughState, model: ToyModel | None = None) -> Snapshot:
    """Recompute every round up to ``state`` and describe what is visible. Raises ``ValueError`` for a
    state that cannot exist (use :meth:`WalkthroughState.from_dict` for untrusted input)."""
    state = _validated(state)
    rounds, produced = _rounds_up_to(state, model or toy_model())
    current = rounds[-1]
    steps = round_steps(current)
    if state.step > len(steps):
        raise ValueError(f"round {state.round + 1} has only {len(steps)} steps, got step {state.step}")
    text = [(VOCAB.index(w), "prompt", -1) for w in PROMPT]
    for round_ in rounds[:-1]:
        text.extend(_fixed_tokens(round_))
    shown = steps[: state.step]
    drafted = sum(s.kind == "draft" for s in shown)
    checked = sum(s.kind == "check" for s in shown)
    verified = any(s.kind == "verify" for s in shown)
    finished_round = state.step > 0 and state.step == len(steps)
    tokens = produced + (min(checked, current.accepted) + int(finished_round) if state.step > 0 else 0)
    if finished_round:
        text.extend(_fixed_tokens(current))
    narration = (
        _narrate(current, steps[state.step - 1])
        if state.step > 0
        else f"The prompt is {_word(VOCAB.index(PROMPT[-1]))}. Press “Next step” to let the draft start guessing."
    )
    return Snapshot(
        state=state,
        rounds=tuple(rounds),
        steps=steps,
        draft_passes=sum(r.gamma for r in rounds[:-1]) + drafted,
        target_passes=len(rounds) - 1 + int(verified),
        tokens=tokens,
        text=tuple(text),
        pending=_pending(current, drafted, checked, finished_round) if state.step > 0 else (),
        narration=narration,
        finished=state.step == len(steps) and tokens >= GOAL_TOKENS,
    )


def _rounds_up_to(state: WalkthroughState, model: ToyModel) -> tuple[list[Round], int]:
    """Every round up to the state's current one, and the tokens the finished rounds produced; a round
    after the text was finished cannot exist (``ValueError``)."""
    rounds: list[Round] = []
    previous = VOCAB.index(PROMPT[-1])
    produced = 0
    for index in range(state.round + 1):
        round_ = simulate_round(model, previous, state.gamma, state.seed, index, state.greedy)
        rounds.append(round_)
        if index < state.round:
            if produced >= GOAL_TOKENS:
                raise ValueError(f"the text was finished before round {state.round + 1}")
            produced += round_.tokens_out
            previous = round_.next_token
    if state.round > 0 and produced >= GOAL_TOKENS:
        raise ValueError(f"the text was finished before round {state.round + 1}")
    return rounds, produced


def _fixed_tokens(round_: Round) -> list[tuple[int, str, int]]:
    """A finished round's tokens in the text: its accepted drafts, then the target's correction or bonus."""
    kind = "bonus" if round_.next_token_source == "bonus" else "correction"
    accepted = [(t, "accepted", round_.index) for t in round_.drafts[: round_.accepted]]
    return [*accepted, (round_.next_token, kind, round_.index)]


def _pending(current: Round, drafted: int, checked: int, finished_round: bool) -> tuple[tuple[int, str], ...]:
    """The current round's drafts not fixed in the text, with their status so far."""
    if finished_round:
        rejected = current.drafts[current.accepted : current.accepted + 1]
        discarded = current.drafts[current.accepted + 1 :]
        return (*((t, "rejected") for t in rejected), *((t, "discarded") for t in discarded))
    pending = []
    for i in range(drafted):
        if i < checked:
            status = "accepted" if i < current.accepted else "rejected"
        elif checked > current.accepted:
            status = "discarded"
        else:
            status = "drafted"
        pending.append((current.drafts[i], status))
    return tuple(pending)


def next_step(state: WalkthroughState, model: ToyModel | None = None) -> WalkthroughState:
    """Reveal one more step; after a round's last step, start the next round. Unchanged when finished."""
    snap = replay(state, model)
    if snap.finished:
        return state
    if state.step < len(snap.steps):
        return replace(state, step=state.step + 1)
    return replace(state, round=state.round + 1, step=1)


def next_round(state: WalkthroughState, model: ToyModel | None = None) -> WalkthroughState:
    """Finish the current round, or play the whole next one if the current one is complete."""
    snap = replay(state, model)
    if snap.finished:
        return state
    if 0 < state.step < len(snap.steps) or state.step == 0:
        return replace(state, step=len(snap.steps))
    following = replace(state, round=state.round + 1, step=1)
    return replace(following, step=len(replay(following, model).steps))


def reset(state: WalkthroughState) -> WalkthroughState:
    """Back to the prompt, keeping seed, gamma and greedy."""
    return replace(state, round=0, step=0)


def with_settings(state: WalkthroughState, seed: int, gamma: int, greedy: bool) -> WalkthroughState:
    """The state for new settings: unchanged if they are the same, otherwise a fresh start with them.

    Raises ``ValueError`` (clear message) for a seed or gamma out of range.
    """
    new = replace(state, seed=int(seed), gamma=int(gamma), greedy=bool(greedy))
    if new == state:
        return state
    return _validated(reset(new))


# --- glossary -----------------------------------------------------------------------------------------

_GLOSSARY_PATH = Path(__file__).resolve().parent.parent / "data" / "glossary.toml"


@dataclass(frozen=True)
class Term:
    name: str
    short: str
    detail: str
    source: str


@dataclass(frozen=True)
class Myth:
    claim: str
    truth: str
    source: str


def load_glossary(path: Path | str | None = None) -> tuple[tuple[Term, ...], tuple[Myth, ...]]:
    """Key terms and corrected myths from ``core/data/glossary.toml``; ``ValueError`` names a bad entry."""
    with open(path or _GLOSSARY_PATH, "rb") as handle:
        data = tomllib.load(handle)

    def build(cls, key):
        entries = []
        for number, entry in enumerate(data.get(key, []), start=1):
            missing = [f for f in cls.__dataclass_fields__ if not str(entry.get(f, "")).strip()]
            if missing:
                raise ValueError(f"glossary {key} #{number} lacks {', '.join(missing)}")
            entries.append(cls(**{f: str(entry[f]).strip() for f in cls.__dataclass_fields__}))
        return tuple(entries)

    return build(Term, "term"), build(Myth, "myth")


# --- output identity experiment -----------------------------------------------------------------------


@dataclass(frozen=True)
class IdentityResult:
    """The output-identity experiment: target ``p``, draft ``q`` and what rejection sampling produced.

    ``empirical_acceptance`` (simulated, binomial standard error ``acceptance_stderr``) sits next to
    ``expected_acceptance`` = sum min(p, q) (exact);
    ``output_frequencies`` should match ``p``, not ``q``: see ``tv_to_p`` and ``tv_to_q`` (total variation
    distances, 0 = identical, 1 = disjoint). ``tv_p_q`` is the draft's own distance from the target.
    """

    p: np.ndarray
    q: np.ndarray
    samples: int
    greedy: bool
    empirical_acceptance: float
    acceptance_stderr: float
    expected_acceptance: float
    output_frequencies: np.ndarray
    tv_to_p: float
    tv_to_q: float
    tv_p_q: float

    def records(self, vocab: tuple[str, ...] = VOCAB) -> list[dict]:
        """Long-form rows (token, series, probability) for a grouped bar chart or a CSV download."""
        rows = []
        for series, values in (
            ("target p", self.p),
            ("draft q", self.q),
            ("speculative output", self.output_frequencies),
        ):
            rows.extend(
                {"token": vocab[i], "series": series, "probability": float(v)} for i, v in enumerate(values)
            )
        return rows


def identity_experiment(
    temperature: float,
    skew: float,
    samples: int,
    seed: int = 0,
    greedy: bool = False,
    previous: str = "the",
    mix: float = 0.0,
) -> IdentityResult:
    """Run rejection sampling ``samples`` times for one position of the toy language.

    The target ``p`` is the toy target's next-word distribution after ``previous``; the draft ``q`` is
    :func:`core.simulation.rejection.draft_from_target` of it with the learner's ``temperature``, ``skew`` (share of
    each word's probability moved to the next word of the vocabulary) and ``mix`` (share spread evenly).
    In greedy mode both become one-hot at their top word, and ``p`` / ``q`` here are those one-hot
    vectors. ``ValueError`` (clear message) for settings out of range.
    """
    if previous not in VOCAB:
        raise ValueError(f"previous word must be one of {', '.join(VOCAB)}, got {previous!r}")
    if isinstance(samples, bool) or float(samples) != int(samples) or not 1 <= int(samples) <= MAX_SAMPLES:
        raise ValueError(f"samples must be a whole number from 1 to {MAX_SAMPLES:,}, got {samples!r}")
    if not 0 <= int(seed) <= MAX_SEED:
        raise ValueError(f"seed must be a whole number from 0 to {MAX_SEED}, got {seed!r}")
    target = np.array(toy_model().target[VOCAB.index(previous)], dtype=np.float64)
    draft = rejection.draft_from_target(
        target, temperature=float(temperature), skew=float(skew), mix=float(mix)
    )
    result = rejection.run_rejection_sampling(
        target, draft, int(samples), seed=int(seed), greedy=bool(greedy)
    )
    p = np.asarray(result.p, dtype=np.float64)  # one-hot at the argmax in greedy mode
    q = np.asarray(result.q, dtype=np.float64)
    freqs = np.asarray(result.output_frequencies, dtype=np.float64)
    return IdentityResult(
        p=p,
        q=q,
        samples=int(samples),
        greedy=bool(greedy),
        empirical_acceptance=float(result.empirical_acceptance),
        acceptance_stderr=float(result.acceptance_stderr),
        expected_acceptance=float(result.expected_acceptance),
        output_frequencies=freqs,
        tv_to_p=float(result.total_variation_to_p),
        tv_to_q=float(result.total_variation_to_q),
        tv_p_q=0.5 * float(np.abs(p - q).sum()),
    )


def tv_noise_bound(vocab_size: int, samples: int) -> float:
    """Upper bound on the EXPECTED total variation between ``samples`` i.i.d. draws and their own
    distribution: E[TV] <= 0.5 * sum_x sqrt(p_x (1 - p_x) / n) <= 0.5 * sqrt(V / n).

    Units: a distance in [0, 1]. Used to tell sampling noise from a real difference.
    """
    if samples < 1 or vocab_size < 1:
        raise ValueError("vocabulary size and samples must be at least 1")
    return min(1.0, 0.5 * math.sqrt(vocab_size / samples))
