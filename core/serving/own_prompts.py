"""Exercise 2: the learner's own prompts, each labelled with what they expect (high or low acceptance),
sent to a baseline and a speculative server, and each prompt's accept length measured.

:func:`parse_own_prompts` checks what was typed (empty rows dropped, limits enforced, one message per
problem); :func:`own_prompt_pairs` turns the prompts into the benchmark's (category, prompt) pairs, the
expectation being the category; :func:`per_prompt_table` reads each prompt's accept length (output
tokens ÷ verify passes, bonus token included) from a speculative run's records, next to the baseline's
speed and whether the outputs matched; :func:`expectation_verdict` says whether the labels held.

Everything here comes from the measured records; nothing is predicted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from core.serving.bench_runner import BenchRun
from core.serving.sglang_client import RequestRecord

__all__ = [
    "EXPECTATIONS",
    "MAX_OWN_PROMPTS",
    "MAX_PROMPT_CHARS",
    "OwnPrompt",
    "expectation_verdict",
    "own_prompt_pairs",
    "parse_own_prompts",
    "per_prompt_table",
]

#: The labels a learner can give a prompt (they become the run's categories).
EXPECTATIONS = ("expect high", "expect low")
#: At most this many prompts per run, each at most this many characters (the tiny models' context is short).
MAX_OWN_PROMPTS = 8
MAX_PROMPT_CHARS = 400


@dataclass(frozen=True)
class OwnPrompt:
    text: str
    expectation: str  # one of EXPECTATIONS


def parse_own_prompts(rows: Iterable[Mapping]) -> tuple[list[OwnPrompt], list[str]]:
    """The prompts of the editor's rows (``{"prompt": str, "expectation": str}``) and one message per
    problem. Blank prompts are dropped silently; a too long prompt, an unknown label, a repeated prompt or
    rows past :data:`MAX_OWN_PROMPTS` are dropped with a message."""
    prompts: list[OwnPrompt] = []
    problems: list[str] = []
    seen: set[str] = set()
    for number, row in enumerate(rows, start=1):
        raw = row.get("prompt")
        text = raw if isinstance(raw, str) else ""
        if not text.strip():
            continue
        label = row.get("expectation")
        if label not in EXPECTATIONS:
            problems.append(f"row {number}: choose '{EXPECTATIONS[0]}' or '{EXPECTATIONS[1]}'")
            continue
        if len(text) > MAX_PROMPT_CHARS:
            problems.append(f"row {number}: {len(text)} characters; at most {MAX_PROMPT_CHARS}")
            continue
        if text in seen:
            problems.append(f"row {number}: the same prompt as an earlier row (left out)")
            continue
        if len(prompts) == MAX_OWN_PROMPTS:
            problems.append(
                f"at most {MAX_OWN_PROMPTS} prompts per run: the rows after {number - 1} are left out"
            )
            break
        seen.add(text)
        prompts.append(OwnPrompt(text, label))
    return prompts, problems


def own_prompt_pairs(prompts: Iterable[OwnPrompt]) -> tuple[tuple[str, str], ...]:
    """(category, prompt) pairs for :class:`~core.serving.bench_runner.BenchSettings` ``prompts``."""
    return tuple((p.expectation, p.text) for p in prompts)


def _accept_length(records: list[RequestRecord]) -> float | None:
    ok = [r for r in records if r.success and r.spec_verify_ct]
    passes = sum(r.spec_verify_ct for r in ok)
    return sum(r.completion_tokens for r in ok) / passes if passes else None


def _tokens_per_s(records: list[RequestRecord]) -> float | None:
    """Mean per-request decoding speed, 1 / TPOT (tokens per second after the first token)."""
    speeds = [1.0 / r.tpot_s for r in records if r.success and r.tpot_s]
    return sum(speeds) / len(speeds) if speeds else None


def _identical(base: list[RequestRecord], spec: list[RequestRecord]) -> bool | None:
    ref = next((r.output_ids for r in base if r.success and r.output_ids is not None), None)
    got = [r.output_ids for r in spec if r.success and r.output_ids is not None]
    if ref is None or not got:
        return None
    return all(ids == ref for ids in got)


def per_prompt_table(speculative: BenchRun, baseline: BenchRun | None = None) -> pd.DataFrame:
    """One row per prompt of the speculative run, in sending order: prompt, expectation, accept length,
    per-request tok/s of both runs and the speedup, and whether the outputs were identical (None when
    not comparable, e.g. temperature > 0)."""
    comparable = (
        baseline is not None and baseline.settings.temperature == 0 and speculative.settings.temperature == 0
    )
    rows = []
    for prompt in dict.fromkeys(r.prompt for r in speculative.records):
        spec = [r for r in speculative.records if r.prompt == prompt]
        base = [r for r in baseline.records if r.prompt == prompt] if baseline is not None else []
        spec_speed, base_speed = _tokens_per_s(spec), _tokens_per_s(base)
        rows.append(
            {
                "prompt": prompt,
                "expectation": spec[0].category,
                "accept length": _accept_length(spec),
                "output tokens": sum(r.completion_tokens for r in spec if r.success),
                "baseline tok/s": base_speed,
                "speculative tok/s": spec_speed,
                "speedup": spec_speed / base_speed if spec_speed and base_speed else None,
                "identical": _identical(base, spec) if comparable else None,
            }
        )
    return pd.DataFrame(rows)


def expectation_verdict(table: pd.DataFrame) -> str | None:
    """One sentence on whether the "expect high" prompts accepted more than the "expect low" ones; None
    without a measured accept length in both groups."""
    if table.empty:
        return None
    means = {}
    for label in EXPECTATIONS:
        values = table.loc[table["expectation"] == label, "accept length"].dropna()
        if len(values):
            means[label] = float(values.mean())
    if len(means) < 2:
        return None
    high, low = means[EXPECTATIONS[0]], means[EXPECTATIONS[1]]
    held = "held" if high > low else "did not hold"
    return (
        f"Your labels {held}: the prompts you expected to accept well averaged {high:.2f} tokens per verify "
        f"pass, the ones you expected to accept badly {low:.2f}."
    )
