"""The self-check quiz: question bank, seeded attempts, grading and score records.

The bank lives in ``core/data/quiz.toml``. Numeric questions never store their answer: they name a
computation from a small whitelist (:data:`COMPUTATIONS`) and its arguments, and :func:`expected_value`
recomputes the answer from :mod:`core` every time, so the quiz can never disagree with the simulator.

Typical use::

    bank = load_bank()                       # parsed and validated, raises BankError if broken
    attempt = draw_attempt(1234, bank.questions)
    question = bank.question(attempt.current())
    attempt.record(question.id, "3.36", grade(question, "3.36"))
    score(attempt, bank).by_topic

Everything here is plain Python (no Streamlit): the page keeps an :class:`Attempt` in its session state,
one per learner, and shares the immutable :class:`Bank` between sessions.
"""

from __future__ import annotations

import csv
import io
import math
import random
import string
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from core.foundation import site_map
from core.lessons import decision
from core.simulation import closed_form

__all__ = [
    "BANK_PATH",
    "COMPUTATIONS",
    "KINDS",
    "LINKABLE_PAGES",
    "SIMULATOR_QUERY_KEYS",
    "Answer",
    "Attempt",
    "Bank",
    "BankError",
    "Grade",
    "Link",
    "Question",
    "Score",
    "TopicScore",
    "draw_attempt",
    "expected_value",
    "format_expected",
    "grade",
    "load_bank",
    "parse_number",
    "retry_missed",
    "score",
    "simulator_choices",
    "summary_csv",
    "summary_markdown",
    "validate_bank",
]

BANK_PATH = Path(__file__).resolve().parent.parent / "data" / "quiz.toml"
_PAGES_DIR = Path(__file__).resolve().parent.parent.parent / "pages"

KINDS = ("choice", "numeric")

# Pages a question may link to (path relative to the repository root, as st.page_link takes it).
LINKABLE_PAGES = tuple(site_map.URL_PATHS)
# The simulator's deep-link contract (docs/developing.md).
SIMULATOR_QUERY_KEYS = frozenset(
    {
        "section",
        "alpha",
        "gamma",
        "cost",
        "rounds",
        "preset",
        "hardware",
        "target",
        "draft",
        "batch",
        "context",
    }
)
SIMULATOR_SECTIONS = ("basics", "landscape", "presets", "beyond", "cost")


def _optimal_gamma(alpha: float, cost_ratio: float, max_gamma: int = 32) -> int:
    return closed_form.optimal_gamma(alpha, cost_ratio, max_gamma)[0]


def _optimal_speedup(alpha: float, cost_ratio: float, max_gamma: int = 32) -> float:
    return closed_form.optimal_gamma(alpha, cost_ratio, max_gamma)[1]


def _probability_all_accepted(alpha: float, gamma: int) -> float:
    return float(closed_form.tokens_per_pass_pmf(alpha, gamma)[-1])


def _accepted_drafts_per_pass(completion_tokens: float, verify_passes: float) -> float:
    """Accepted draft tokens per verify pass over a run: completion tokens / verify passes - 1.

    The ratio is SGLang's accept length, which counts the one token the target adds every pass.
    """
    tokens, passes = float(completion_tokens), float(verify_passes)
    if not passes >= 1 or not tokens >= passes:
        raise ValueError("a run has at least one verify pass and at least one token per pass")
    return tokens / passes - 1.0


def _checked_float(function: Callable[..., object]) -> Callable[..., float]:
    def call(**kwargs: float) -> float:
        result = function(**kwargs)
        if result is None:
            raise ValueError(f"{function.__name__} has no value for {kwargs}")
        return float(result)

    call.__name__ = function.__name__
    call.__doc__ = function.__doc__
    return call


# The only computations a bank may name: name -> (function of keyword arguments, argument names).
COMPUTATIONS: Mapping[str, tuple[Callable[..., float], tuple[str, ...]]] = MappingProxyType(
    {
        "expected_tokens_per_pass": (
            _checked_float(closed_form.expected_tokens_per_pass),
            ("alpha", "gamma"),
        ),
        "walltime_speedup": (_checked_float(closed_form.walltime_speedup), ("alpha", "gamma", "cost_ratio")),
        "optimal_gamma": (_checked_float(_optimal_gamma), ("alpha", "cost_ratio")),
        "optimal_speedup": (_checked_float(_optimal_speedup), ("alpha", "cost_ratio")),
        "speedup_lower_bound": (_checked_float(closed_form.speedup_lower_bound), ("alpha", "cost_ratio")),
        "extra_compute_factor": (
            _checked_float(closed_form.extra_compute_factor),
            ("alpha", "gamma", "flops_ratio"),
        ),
        "alpha_from_accept_length": (
            _checked_float(closed_form.alpha_from_accept_length),
            ("accept_length", "gamma"),
        ),
        "probability_all_accepted": (_checked_float(_probability_all_accepted), ("alpha", "gamma")),
        "accepted_drafts_per_pass": (
            _checked_float(_accepted_drafts_per_pass),
            ("completion_tokens", "verify_passes"),
        ),
        "chain_draft_tokens": (_checked_float(decision.chain_draft_tokens), ("steps",)),
    }
)


# Range checks for arguments the closed forms accept without complaint (they broadcast over arrays).
_ARGUMENT_CHECKS: Mapping[str, Callable[[object], object]] = MappingProxyType(
    {
        "alpha": closed_form.validate_alpha,
        "gamma": closed_form.validate_gamma,
        "cost_ratio": closed_form.validate_cost_ratio,
        "flops_ratio": closed_form.validate_cost_ratio,
    }
)


class BankError(ValueError):
    """The question bank is malformed; ``problems`` lists every problem found, one line each."""

    def __init__(self, problems: Sequence[str]):
        self.problems = tuple(problems)
        super().__init__("quiz bank is invalid:\n  " + "\n  ".join(self.problems))


@dataclass(frozen=True)
class Link:
    """Where a question's explanation can be seen in the app: a page file plus optional query params."""

    page: str
    label: str
    query: Mapping[str, str | int | float] = field(default_factory=dict)


@dataclass(frozen=True)
class Question:
    """One quiz question. ``kind`` is ``"choice"`` (pick one of ``options``) or ``"numeric"``.

    For choice questions ``answer`` is the index of the right option. For numeric questions ``compute``
    names an entry of :data:`COMPUTATIONS`, ``args`` its arguments, ``tolerance`` the accepted absolute
    error (in ``unit``) and ``decimals`` how the answer is displayed. ``prompt`` may use ``{name}``
    fields that are filled from ``args`` (see :meth:`text`). ``shuffle`` False keeps the options in
    file order in every attempt (True / False questions).
    """

    id: str
    topic: str
    kind: str
    prompt: str
    explanation: str
    options: tuple[str, ...] = ()
    answer: int | None = None
    compute: str | None = None
    args: Mapping[str, float] = field(default_factory=dict)
    tolerance: float | None = None
    unit: str = ""
    decimals: int = 2
    link: Link | None = None
    sources: tuple[str, ...] = ()
    shuffle: bool = True
    computed: tuple[str, ...] = ()  # lab computations the explanation quotes (checked by the citations test)
    examples: tuple[float, ...] = ()  # made-up scenario numbers (no source needed)

    def text(self) -> str:
        """The prompt with ``{arg}`` fields filled from ``args`` (numeric questions)."""
        if self.kind == "numeric" and self.args:
            return self.prompt.format(**self.args)
        return self.prompt


@dataclass(frozen=True)
class Bank:
    """The whole question bank: topic id -> label, and the questions in file order."""

    topics: Mapping[str, str]
    questions: tuple[Question, ...]
    title: str = "Quiz"

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(f"no question with id {question_id!r}")

    def topic_label(self, topic: str) -> str:
        return self.topics.get(topic, topic)


@dataclass(frozen=True)
class Grade:
    """Result of grading one answer.

    ``valid`` is False when the answer could not be graded at all (empty, not a number, NaN, no option
    chosen); the page then asks again instead of recording it. ``expected`` is the right answer as text,
    ``message`` a one-line verdict for the learner.
    """

    correct: bool
    expected: str
    explanation: str
    valid: bool = True
    message: str = ""


@dataclass(frozen=True)
class Answer:
    """One recorded answer in an attempt (``given`` as the learner gave it, as text)."""

    question_id: str
    given: str
    correct: bool
    expected: str


@dataclass
class Attempt:
    """One run through a list of questions in a seeded order, with the answers recorded so far.

    Mutable on purpose: the page keeps one per learner in session state and records answers into it.
    ``round`` is 1 for a full attempt, 2 for its first retry of missed questions, and so on.
    ``option_orders`` maps a choice question's id to the order its options are shown in (original
    indices), shuffled from the seed so that the right answer's position teaches nothing.
    """

    seed: int
    question_ids: tuple[str, ...]
    answers: dict[str, Answer] = field(default_factory=dict)
    round: int = 1
    option_orders: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def option_order(self, question: Question) -> tuple[int, ...]:
        """Original option indices in the order this attempt shows them (file order if not shuffled)."""
        return self.option_orders.get(question.id, tuple(range(len(question.options))))

    def current(self) -> str | None:
        """Id of the first unanswered question in order, or ``None`` when the attempt is finished."""
        for question_id in self.question_ids:
            if question_id not in self.answers:
                return question_id
        return None

    @property
    def finished(self) -> bool:
        return self.current() is None

    @property
    def position(self) -> int:
        """1-based number of the current question (``len + 1`` once finished)."""
        return len(self.answers) + 1

    def record(self, question_id: str, given: str, result: Grade) -> Answer:
        """Store a graded answer. Invalid grades and questions outside the attempt are refused."""
        if question_id not in self.question_ids:
            raise ValueError(f"question {question_id!r} is not part of this attempt")
        if not result.valid:
            raise ValueError(f"cannot record an answer that could not be graded: {result.message}")
        answer = Answer(question_id, str(given), bool(result.correct), result.expected)
        self.answers[question_id] = answer
        return answer


@dataclass(frozen=True)
class TopicScore:
    topic: str
    label: str
    correct: int
    answered: int
    total: int

    @property
    def percent(self) -> float:
        """Share of answered questions that were right, in percent (0 when none answered)."""
        return 100.0 * self.correct / self.answered if self.answered else 0.0


@dataclass(frozen=True)
class Score:
    """Totals for an attempt; ``missed`` lists wrong answers in question order."""

    correct: int
    answered: int
    total: int
    by_topic: tuple[TopicScore, ...]
    missed: tuple[str, ...]

    @property
    def percent(self) -> float:
        return 100.0 * self.correct / self.answered if self.answered else 0.0


# --------------------------------------------------------------------------------------------- loading


def _parse_link(raw: object, where: str, problems: list[str]) -> Link | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: link must be a table with page and label")
        return None
    query = raw.get("query", {})
    if not isinstance(query, Mapping):
        problems.append(f"{where}: link.query must be a table")
        query = {}
    return Link(
        page=str(raw.get("page", "")), label=str(raw.get("label", "")), query=MappingProxyType(dict(query))
    )


def _parse_question(raw: Mapping, index: int, problems: list[str]) -> Question | None:
    where = f"question #{index + 1} ({raw.get('id', 'no id')})"
    try:
        answer = raw.get("answer")
        tolerance = raw.get("tolerance")
        return Question(
            id=str(raw["id"]),
            topic=str(raw["topic"]),
            kind=str(raw["kind"]),
            prompt=str(raw["prompt"]).strip(),
            explanation=str(raw["explanation"]).strip(),
            options=tuple(str(option) for option in raw.get("options", ())),
            answer=None if answer is None else answer,
            compute=raw.get("compute"),
            args=MappingProxyType(dict(raw.get("args", {}))),
            tolerance=None if tolerance is None else tolerance,
            unit=str(raw.get("unit", "")),
            decimals=raw.get("decimals", 2),
            link=_parse_link(raw.get("link"), where, problems),
            sources=tuple(str(source) for source in raw.get("sources", ())),
            shuffle=bool(raw.get("shuffle", True)),
            computed=tuple(str(call) for call in raw.get("computed", ())),
            examples=tuple(float(value) for value in raw.get("examples", ())),
        )
    except KeyError as missing:
        problems.append(f"{where}: missing field {missing}")
    except (TypeError, ValueError, AttributeError) as error:
        problems.append(f"{where}: {error}")
    return None


def parse_bank(data: Mapping) -> tuple[Bank, list[str]]:
    """Build a :class:`Bank` from parsed TOML; returns it with the problems met while parsing."""
    problems: list[str] = []
    topics = data.get("topics", {})
    if not isinstance(topics, Mapping) or not topics:
        problems.append("the bank needs a [topics] table: topic id -> label")
        topics = {}
    questions = []
    for index, raw in enumerate(data.get("questions", [])):
        question = _parse_question(raw, index, problems)
        if question is not None:
            questions.append(question)
    title = str(data.get("meta", {}).get("title", "Quiz"))
    return Bank(MappingProxyType(dict(topics)), tuple(questions), title), problems


def load_bank(path: str | Path | None = None, *, validate: bool = True) -> Bank:
    """Read and (by default) validate the question bank; raises :class:`BankError` listing all problems.

    ``path`` defaults to :data:`BANK_PATH`. A missing file or bad TOML also raises :class:`BankError`.
    """
    bank_path = Path(path) if path is not None else BANK_PATH
    try:
        with open(bank_path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as error:
        raise BankError([f"cannot read {bank_path}: {error.strerror or error}"]) from error
    except tomllib.TOMLDecodeError as error:
        raise BankError([f"{bank_path.name} is not valid TOML: {error}"]) from error
    bank, problems = parse_bank(data)
    if validate:
        problems += validate_bank(bank)
    if problems:
        raise BankError(problems)
    return bank


# ------------------------------------------------------------------------------------------ validation


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _prompt_fields(prompt: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(prompt) if name}


def simulator_choices() -> dict[str, tuple[str, ...]]:
    """The preset ids a Simulator link may name: cost-model hardware/target/draft and published presets."""
    from core.references import published
    from core.simulation import cost_model

    presets = cost_model.load_presets()
    return {
        "hardware": tuple(presets.hardware),
        "target": tuple(presets.targets),
        "draft": tuple(presets.drafts),
        "preset": tuple(preset.id for preset in published.simulator_presets()),
    }


def _validate_link(
    link: Link, where: str, pages_dir: Path | None, choices: Mapping[str, tuple[str, ...]] | None
) -> list[str]:
    problems = []
    if link.page not in LINKABLE_PAGES:
        problems.append(f"{where}: link page {link.page!r} is not one of {LINKABLE_PAGES}")
    elif pages_dir is not None and not (pages_dir / Path(link.page).name).is_file():
        problems.append(f"{where}: link page {link.page!r} does not exist in {pages_dir}")
    if not link.label.strip():
        problems.append(f"{where}: link needs a label")
    if link.query and link.page != "pages/simulator.py":
        problems.append(f"{where}: only simulator links take query parameters")
    unknown = set(link.query) - SIMULATOR_QUERY_KEYS
    if unknown:
        problems.append(f"{where}: unknown simulator query keys {sorted(unknown)}")
    if link.page == "pages/simulator.py" and link.query.get("section", "basics") not in SIMULATOR_SECTIONS:
        problems.append(f"{where}: simulator section must be one of {SIMULATOR_SECTIONS}")
    if link.page == "pages/simulator.py" and choices is not None and not unknown:
        from core.lessons.simulator_settings import parse_query_params

        _, warnings = parse_query_params({k: str(v) for k, v in link.query.items()}, choices=choices)
        problems += [f"{where}: the simulator would say: {warning}" for warning in warnings]
    return problems


def _validate_question(
    question: Question,
    topics: Mapping[str, str],
    pages_dir: Path | None,
    choices: Mapping[str, tuple[str, ...]] | None,
) -> list[str]:
    where = f"question {question.id!r}"
    problems = []
    if not question.id or not question.id.replace("-", "").replace("_", "").isalnum():
        problems.append(f"{where}: id must be letters, digits, - or _")
    if question.topic not in topics:
        problems.append(f"{where}: topic {question.topic!r} is not in [topics]")
    if not question.prompt:
        problems.append(f"{where}: empty prompt")
    if not question.explanation:
        problems.append(f"{where}: every question needs an explanation")
    if question.kind not in KINDS:
        problems.append(f"{where}: kind must be one of {KINDS}, got {question.kind!r}")
    elif question.kind == "choice":
        if len(question.options) < 2:
            problems.append(f"{where}: a choice question needs at least two options")
        if len(set(question.options)) != len(question.options):
            problems.append(f"{where}: options repeat")
        if any(not option.strip() for option in question.options):
            problems.append(f"{where}: empty option")
        answer = question.answer
        if isinstance(answer, bool) or not isinstance(answer, int):
            problems.append(f"{where}: answer must be the index of the right option")
        elif not 0 <= answer < len(question.options):
            problems.append(
                f"{where}: answer index {answer} is out of range for {len(question.options)} options"
            )
        if question.compute is not None:
            problems.append(f"{where}: a choice question cannot have compute")
        if _prompt_fields(question.prompt):
            problems.append(f"{where}: braces in a choice prompt are not filled in; write the numbers out")
    else:
        problems += _validate_numeric(question, where)
    if question.link is not None:
        problems += _validate_link(question.link, where, pages_dir, choices)
    return problems


def _validate_numeric(question: Question, where: str) -> list[str]:
    problems = []
    if question.answer is not None or question.options:
        problems.append(f"{where}: numeric questions store a computation, not an answer or options")
    if question.compute not in COMPUTATIONS:
        problems.append(f"{where}: compute {question.compute!r} is not one of {sorted(COMPUTATIONS)}")
        return problems
    _, names = COMPUTATIONS[question.compute]
    if set(question.args) != set(names):
        problems.append(f"{where}: {question.compute} takes arguments {names}, got {sorted(question.args)}")
        return problems
    if not all(_is_number(value) for value in question.args.values()):
        problems.append(f"{where}: arguments must be finite numbers")
        return problems
    tolerance = question.tolerance
    if not _is_number(tolerance) or tolerance <= 0:
        problems.append(f"{where}: tolerance must be a positive number, got {tolerance!r}")
    decimals = question.decimals
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 6:
        problems.append(f"{where}: decimals must be a whole number from 0 to 6")
    fields = _prompt_fields(question.prompt)
    if fields - set(names):
        problems.append(f"{where}: prompt fields {sorted(fields - set(names))} are not arguments")
    if set(names) - fields:
        problems.append(f"{where}: the prompt must show every input; missing {sorted(set(names) - fields)}")
    try:
        value = expected_value(question)
    except (ValueError, TypeError) as error:
        problems.append(f"{where}: computing the answer failed: {error}")
    else:
        if not math.isfinite(value):
            problems.append(f"{where}: the computed answer is not finite")
        elif _is_number(tolerance) and tolerance >= max(abs(value), 1e-9):
            problems.append(f"{where}: tolerance {tolerance} would accept 0 for answer {value:.4g}")
    return problems


def validate_bank(
    bank: Bank,
    *,
    pages_dir: Path | None = _PAGES_DIR,
    known_sources: Iterable[str] | None = None,
    simulator_ids: Mapping[str, tuple[str, ...]] | None = None,
    min_questions: int = 25,
) -> list[str]:
    """Every problem in the bank, one line each (an empty list means the bank is usable).

    Checks: unique ids, known topics, a valid answer key per kind (choice index in range; numeric
    computation whitelisted, arguments complete and shown in the prompt, answer computable and finite,
    tolerance positive), links to existing page files with the simulator's query contract, and, when
    ``known_sources`` is given, that every cited source id is known, and, when ``simulator_ids`` is
    given (see :func:`simulator_choices`), that the Simulator accepts every link's values without a
    warning. ``pages_dir=None`` skips the file check (for an installed package without pages/).
    """
    problems = []
    if len(bank.questions) < min_questions:
        problems.append(f"the bank has {len(bank.questions)} questions, fewer than {min_questions}")
    seen: set[str] = set()
    for question in bank.questions:
        if question.id in seen:
            problems.append(f"question id {question.id!r} appears twice")
        seen.add(question.id)
        problems += _validate_question(question, bank.topics, pages_dir, simulator_ids)
    used_topics = {question.topic for question in bank.questions}
    for topic in bank.topics:
        if topic not in used_topics:
            problems.append(f"topic {topic!r} has no questions")
    if known_sources is not None:
        known = set(known_sources)
        for question in bank.questions:
            for source in question.sources:
                if source not in known:
                    problems.append(f"question {question.id!r}: unknown source id {source!r}")
    return problems


# --------------------------------------------------------------------------------------------- grading


def expected_value(question: Question) -> float:
    """The answer of a numeric question, recomputed from :mod:`core` (raises ``ValueError`` if invalid)."""
    if question.kind != "numeric" or question.compute not in COMPUTATIONS:
        raise ValueError(f"question {question.id!r} has no computation from the whitelist")
    function, names = COMPUTATIONS[question.compute]
    missing = set(names) - set(question.args)
    if missing:
        raise ValueError(f"question {question.id!r} lacks arguments {sorted(missing)}")
    for name in names:
        check = _ARGUMENT_CHECKS.get(name)
        if check is not None:
            check(question.args[name])
    return function(**{name: question.args[name] for name in names})


def format_expected(question: Question) -> str:
    """The right answer as the learner sees it: an option's text, or a rounded number with its unit."""
    if question.kind == "choice":
        return question.options[question.answer]
    value = expected_value(question)
    text = f"{value:.{question.decimals}f}"
    return f"{text} {question.unit}".strip()


def parse_number(text: object) -> float:
    """A learner's numeric answer as a float; raises ``ValueError`` with a short reason.

    Accepts surrounding spaces, a decimal comma (``2,8``) and a trailing ``x`` or ``×`` (``2.8x``).
    Rejects empty input, NaN and infinities.
    """
    if text is None:
        raise ValueError("no answer given")
    if isinstance(text, int | float) and not isinstance(text, bool):
        value = float(text)
    else:
        cleaned = str(text).strip().rstrip("xX×").strip()
        if not cleaned:
            raise ValueError("no answer given")
        if cleaned.count(",") == 1 and "." not in cleaned:
            cleaned = cleaned.replace(",", ".")
        try:
            value = float(cleaned)
        except ValueError:
            raise ValueError(f"{str(text).strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError("the answer must be a finite number")
    return value


def grade(question: Question, answer: object) -> Grade:
    """Grade one answer: an option index for choice questions, a number or text for numeric ones.

    Unusable answers (nothing chosen, an index out of range, empty or non-numeric text, NaN) give a
    :class:`Grade` with ``valid=False`` and a message saying what to enter; they are never counted.
    """
    expected = format_expected(question)
    if question.kind == "choice":
        if answer is None or isinstance(answer, bool) or not isinstance(answer, int):
            return Grade(False, expected, question.explanation, valid=False, message="Choose one option.")
        if not 0 <= answer < len(question.options):
            return Grade(False, expected, question.explanation, valid=False, message="Choose one option.")
        correct = answer == question.answer
        message = "Correct." if correct else f"Not quite. The answer is: {expected}"
        return Grade(correct, expected, question.explanation, message=message)
    try:
        value = parse_number(answer)
    except ValueError as error:
        return Grade(
            False,
            expected,
            question.explanation,
            valid=False,
            message=f"{error}: enter a number such as 2.5.",
        )
    target = expected_value(question)
    correct = abs(value - target) <= question.tolerance + 1e-12
    tolerance = f"accepted within ±{question.tolerance:g}"
    if correct:
        message = f"Correct: {expected} ({tolerance})."
    else:
        message = f"Not quite: you answered {value:g}, the answer is {expected} ({tolerance})."
    return Grade(correct, expected, question.explanation, message=message)


# -------------------------------------------------------------------------------------- attempts, score


MAX_ATTEMPT_SEED = 999_999


def parse_attempt_seed(text: object, max_seed: int = MAX_ATTEMPT_SEED) -> int:
    """An attempt seed typed by a learner (a whole number 0..``max_seed``); ``ValueError`` with a message
    for the learner otherwise."""
    cleaned = str(text or "").strip()
    if not cleaned.isdigit() or int(cleaned) > max_seed:
        shown = f"`{cleaned}`" if cleaned else "nothing"
        raise ValueError(f"The seed must be a whole number from 0 to {max_seed}; you entered {shown}.")
    return int(cleaned)


def given_text(question: Question, raw: object) -> str:
    """The answer as recorded: the chosen option's text, or the typed number as typed (trimmed)."""
    return question.options[raw] if question.kind == "choice" else str(raw).strip()


def fits_bank(attempt: Attempt, bank: Bank) -> bool:
    """Whether every question of the attempt is still in the bank (it may have changed since)."""
    return set(attempt.question_ids) <= {question.id for question in bank.questions}


def topics_frame(result: Score) -> pd.DataFrame:
    """Right, answered and percent right (rounded) per topic, in the bank's topic order."""
    return pd.DataFrame(
        [
            {"topic": t.label, "right": t.correct, "answered": t.answered, "percent": round(t.percent)}
            for t in result.by_topic
        ]
    )


def _round_robin(groups: list[list[str]], count: int) -> list[str]:
    chosen: list[str] = []
    while len(chosen) < count:
        for group in groups:
            if group and len(chosen) < count:
                chosen.append(group.pop(0))
    return chosen


def draw_attempt(seed: int, questions: Sequence[Question], count: int | None = None) -> Attempt:
    """A new attempt over ``questions`` in an order fixed by ``seed``, options shuffled per question.

    The same seed and the same questions always give the same attempt, on any thread or machine, and
    the input order does not matter. ``count`` draws a shorter quiz that still spreads over every topic
    (round-robin over topics in the seeded order).
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"the attempt seed must be a whole number >= 0, got {seed!r}")
    pool = sorted(questions, key=lambda q: q.id)
    ids = [question.id for question in pool]
    if len(set(ids)) != len(ids):
        raise ValueError("question ids repeat")
    if not ids:
        raise ValueError("an attempt needs at least one question")
    rng = random.Random(seed)
    rng.shuffle(pool)
    if count is not None:
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"count must be a whole number >= 1, got {count!r}")
        if count < len(pool):
            topics = list(dict.fromkeys(question.topic for question in pool))
            groups = [[q.id for q in pool if q.topic == topic] for topic in topics]
            keep = set(_round_robin(groups, count))
            pool = [question for question in pool if question.id in keep]
    orders = {}
    for question in pool:
        if question.kind == "choice" and question.shuffle:
            order = list(range(len(question.options)))
            rng.shuffle(order)
            orders[question.id] = tuple(order)
    return Attempt(seed=seed, question_ids=tuple(q.id for q in pool), option_orders=orders)


def retry_missed(attempt: Attempt, bank: Bank) -> Attempt:
    """A new attempt with only the questions answered wrongly, reshuffled (order and options).

    The retry keeps the attempt's seed (shown to the learner) and counts up ``round``; its order comes
    from the seed and the round together, so a retry is as reproducible as the first attempt.
    """
    missed = [
        qid for qid in attempt.question_ids if qid in attempt.answers and not attempt.answers[qid].correct
    ]
    if not missed:
        raise ValueError("no missed questions to retry")
    retry = draw_attempt(attempt.seed * 1000 + attempt.round, [bank.question(qid) for qid in missed])
    return Attempt(
        seed=attempt.seed,
        question_ids=retry.question_ids,
        round=attempt.round + 1,
        option_orders=retry.option_orders,
    )


def score(attempt: Attempt, bank: Bank) -> Score:
    """Running score of an attempt, with the per-topic breakdown in the bank's topic order."""
    counts: dict[str, list[int]] = {topic: [0, 0, 0] for topic in bank.topics}
    for question_id in attempt.question_ids:
        topic = bank.question(question_id).topic
        entry = counts.setdefault(topic, [0, 0, 0])
        entry[2] += 1
        answer = attempt.answers.get(question_id)
        if answer is not None:
            entry[1] += 1
            entry[0] += int(answer.correct)
    by_topic = tuple(
        TopicScore(topic, bank.topic_label(topic), correct, answered, total)
        for topic, (correct, answered, total) in counts.items()
        if total
    )
    missed = tuple(
        qid for qid in attempt.question_ids if qid in attempt.answers and not attempt.answers[qid].correct
    )
    correct = sum(answer.correct for answer in attempt.answers.values())
    return Score(correct, len(attempt.answers), len(attempt.question_ids), by_topic, missed)


def _rows(attempt: Attempt, bank: Bank) -> list[dict[str, str]]:
    rows = []
    for number, question_id in enumerate(attempt.question_ids, start=1):
        question = bank.question(question_id)
        answer = attempt.answers.get(question_id)
        given = "" if answer is None else answer.given
        result = "not answered" if answer is None else ("right" if answer.correct else "wrong")
        rows.append(
            {
                "number": str(number),
                "id": question_id,
                "topic": bank.topic_label(question.topic),
                "result": result,
                "your_answer": given,
                "right_answer": format_expected(question),
            }
        )
    return rows


def summary_csv(attempt: Attempt, bank: Bank) -> str:
    """One CSV row per question of the attempt: number, id, topic, result, your answer, right answer."""
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer,
        fieldnames=["number", "id", "topic", "result", "your_answer", "right_answer"],
        lineterminator="\n",
    )
    writer.writeheader()
    writer.writerows(_rows(attempt, bank))
    return buffer.getvalue()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def summary_markdown(attempt: Attempt, bank: Bank) -> str:
    """A Markdown report of the attempt: total, per-topic table, and every missed question explained."""
    result = score(attempt, bank)
    lines = [
        f"# {bank.title}: result",
        "",
        f"Attempt seed **{attempt.seed}**, round {attempt.round}. "
        f"Score **{result.correct} / {result.answered}** answered ({result.percent:.0f}%), "
        f"{result.total} questions in the attempt.",
        "",
        "| Topic | Right | Answered | Questions |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {t.label} | {t.correct} | {t.answered} | {t.total} |" for t in result.by_topic]
    if result.missed:
        lines += ["", "## Missed questions", ""]
        for question_id in result.missed:
            question = bank.question(question_id)
            answer = attempt.answers[question_id]
            lines += [
                f"### {question.text()}",
                "",
                f"- Your answer: {_cell(answer.given)}",
                f"- Right answer: {_cell(format_expected(question))}",
                "",
                question.explanation,
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"
