"""A transparent prompt classifier: which kind of output a prompt asks for (code, structured, chat, creative).

Adaptive speculation uses the kind as a *prior*: before a request has produced a single token, a controller
can guess how predictable its output will be (code and structured output repeat syntax and keys, so a draft
model guesses them well; stories and poems are hard to guess). The guess only sets the starting estimate;
the controller then corrects it from the acceptance it observes.

The classifier is deliberately simple so a learner can read every rule: each rule is a regular expression
with a weight and a one-line reason. The type with the highest total weight wins; ties go to the type listed
first in :data:`PROMPT_TYPES`; a prompt that matches nothing is ``"chat"`` (general conversation). It is a
teaching tool, not a trained model, and it makes mistakes (a poem *about* Python can look like code).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["PROMPT_TYPES", "DEFAULT_TYPE", "Rule", "Classification", "RULES", "classify", "type_index"]

# Order matters: it is the tie-break order (the more predictable kind wins a tie).
PROMPT_TYPES: tuple[str, ...] = ("structured", "code", "chat", "creative")
DEFAULT_TYPE = "chat"


@dataclass(frozen=True)
class Rule:
    """One readable rule: if ``pattern`` matches the prompt (case-insensitive), add ``weight`` to ``kind``."""

    kind: str
    pattern: str
    weight: float
    reason: str


RULES: tuple[Rule, ...] = (
    # Code: code fences, language names, programming verbs, code-looking syntax.
    Rule("code", r"```", 3.0, "contains a code fence"),
    Rule(
        "code",
        r"\b(python|javascript|typescript|java|c\+\+|rust|golang|sql|bash|shell script|html|css|numpy|pandas)\b",
        2.0,
        "names a programming language or library",
    ),
    Rule(
        "code",
        r"\b(function|class|method|compile[sd]?|bug|debug|stack ?trace|refactor|unit tests?|regex|api endpoint"
        r"|snippet|algorithm|implement)\b",
        1.5,
        "uses a programming word",
    ),
    Rule("code", r"(\bdef |\bimport |=>|==|;\s*$|\{\s*\}|\w+\(\))", 2.0, "contains code-like syntax"),
    # Structured: machine-readable formats, extraction, fixed lists.
    Rule("structured", r"\b(json|yaml|xml|csv|markdown table|table|schema)\b", 2.5, "asks for a data format"),
    Rule(
        "structured",
        r"\b(extract|fill in|key[- ]value|fields?|format (it |this |the answer )?as|in the format)\b",
        1.5,
        "asks to extract or fill a format",
    ),
    Rule(
        "structured",
        r"\b(list (the|all)|count from|days of the week|months of the year|alphabet|enumerate)\b",
        2.0,
        "asks for a fixed, predictable list",
    ),
    # Creative: fiction, poetry, invention.
    Rule(
        "creative",
        r"\b(story|stories|poem|poetry|haiku|limerick|lyrics|song|fiction|fairy tale|screenplay|novel|fable)\b",
        2.5,
        "asks for fiction or poetry",
    ),
    Rule(
        "creative",
        r"\b(imagine|invent|creative|original|unique|brainstorm|metaphor)\b",
        1.5,
        "asks for invention",
    ),
    # Chat: explanations, advice, questions (also the default when nothing matches).
    Rule(
        "chat",
        r"\b(explain|what is|what are|why|how do|how does|how to|tell me|advice|recommend|help me|describe"
        r"|summari[sz]e|compare)\b",
        1.0,
        "asks a question or for an explanation",
    ),
)

_COMPILED = tuple((rule, re.compile(rule.pattern, re.IGNORECASE | re.MULTILINE)) for rule in RULES)


@dataclass(frozen=True)
class Classification:
    """The result of :func:`classify`: the chosen ``kind``, every type's score and the reasons that fired."""

    kind: str
    scores: dict[str, float]
    reasons: tuple[str, ...]

    @property
    def explanation(self) -> str:
        """One line a learner can read, e.g. ``"code: names a programming language or library"``."""
        if not self.reasons:
            return f"{self.kind}: no rule matched, so the default ({DEFAULT_TYPE})"
        return f"{self.kind}: " + "; ".join(self.reasons)


def classify(prompt: str) -> Classification:
    """Classify ``prompt`` into one of :data:`PROMPT_TYPES` with the readable rules in :data:`RULES`."""
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a string, got {type(prompt).__name__}")
    scores = dict.fromkeys(PROMPT_TYPES, 0.0)
    fired: dict[str, list[str]] = {kind: [] for kind in PROMPT_TYPES}
    for rule, regex in _COMPILED:
        if regex.search(prompt):
            scores[rule.kind] += rule.weight
            fired[rule.kind].append(rule.reason)
    best = max(scores.values())
    if best <= 0.0:
        return Classification(DEFAULT_TYPE, scores, ())
    kind = next(k for k in PROMPT_TYPES if scores[k] == best)  # first in tie-break order
    return Classification(kind, scores, tuple(fired[kind]))


def type_index(kind: str) -> int:
    """Position of ``kind`` in :data:`PROMPT_TYPES` (the integer code used by the stream simulator)."""
    try:
        return PROMPT_TYPES.index(kind)
    except ValueError:
        raise ValueError(f"unknown prompt type {kind!r}; expected one of {', '.join(PROMPT_TYPES)}") from None
