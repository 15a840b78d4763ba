"""The identity check: does speculation change what the model writes?

At temperature 0 the exact acceptance rule keeps a drafted token only when it equals the target's own
greedy choice, so a speculative server must return, token for token, what the same target returns
without speculation. :func:`check_identity` compares the ``output_ids`` the client kept for each request
of a speculative run with those of a baseline run, prompt by prompt, from the measured records only.

Public API: :func:`check_identity` -> :class:`IdentityCheck`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.serving.bench_runner import BenchRun
from core.serving.sglang_client import RequestRecord

__all__ = ["Difference", "IdentityCheck", "check_identity"]


@dataclass(frozen=True)
class Difference:
    """One speculative output that is not the baseline's: its prompt and the first token index that differs
    (the shorter output's length when one is a prefix of the other)."""

    prompt: str
    index: int
    baseline_token: int | None
    speculative_token: int | None


@dataclass(frozen=True)
class IdentityCheck:
    """The outcome. ``compared``: speculative outputs that had a baseline output of the same prompt to
    compare with; ``identical``: how many of them matched token for token. ``reason`` is set (and nothing
    was compared) when the runs cannot be compared this way; ``skipped`` counts speculative requests left
    out (failed, no ids, or no baseline output of their prompt)."""

    compared: int = 0
    identical: int = 0
    skipped: int = 0
    reason: str | None = None
    differences: list[Difference] = field(default_factory=list)

    @property
    def applicable(self) -> bool:
        return self.reason is None and self.compared > 0

    @property
    def all_identical(self) -> bool:
        return self.applicable and self.identical == self.compared

    def headline(self) -> str:
        """The one-line result, such as "identical: 24 of 24 outputs", or why nothing was compared."""
        if self.reason is not None:
            return f"not checked: {self.reason}"
        if self.compared == 0:
            return "not checked: no request of the speculative run has a baseline output to compare with"
        return f"identical: {self.identical} of {self.compared} outputs"


def _ids_by_prompt(records: list[RequestRecord]) -> dict[str, list[int]]:
    """The first successful output of each prompt (at temperature 0 every repeat is the same)."""
    out: dict[str, list[int]] = {}
    for record in records:
        if record.success and record.output_ids is not None:
            out.setdefault(record.prompt, list(record.output_ids))
    return out


def _first_difference(a: list[int], b: list[int]) -> int:
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return index
    return min(len(a), len(b))


def _why_not_comparable(baseline: BenchRun, speculative: BenchRun) -> str | None:
    b, s = baseline.settings, speculative.settings
    if b.temperature != 0 or s.temperature != 0:
        return (
            "a run sampled at temperature > 0, so its outputs are draws, equal only in distribution; "
            "run both at temperature 0"
        )
    if b.max_tokens != s.max_tokens or b.ignore_eos != s.ignore_eos:
        return "the runs used different max new tokens or end-of-sequence settings"
    model_b = baseline.server_info_after.model_path if baseline.server_info_after else None
    model_s = speculative.server_info_after.model_path if speculative.server_info_after else None
    if model_b and model_s and model_b != model_s:
        return f"the servers run different models ({model_b} and {model_s})"
    if not any(r.output_ids is not None for r in speculative.records):
        return "the server sent no output_ids (use the native /generate API)"
    return None


def check_identity(baseline: BenchRun, speculative: BenchRun) -> IdentityCheck:
    """Compare every successful speculative output with the baseline's output of the same prompt."""
    reason = _why_not_comparable(baseline, speculative)
    if reason is not None:
        return IdentityCheck(reason=reason, skipped=len(speculative.records))
    reference = _ids_by_prompt(baseline.records)
    compared = identical = skipped = 0
    differences: list[Difference] = []
    for record in speculative.records:
        expected = reference.get(record.prompt)
        if not record.success or record.output_ids is None or expected is None:
            skipped += 1
            continue
        compared += 1
        got = list(record.output_ids)
        if got == expected:
            identical += 1
            continue
        index = _first_difference(expected, got)
        differences.append(
            Difference(
                record.prompt,
                index,
                expected[index] if index < len(expected) else None,
                got[index] if index < len(got) else None,
            )
        )
    return IdentityCheck(compared, identical, skipped, None, differences)
