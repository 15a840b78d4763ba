"""Per-request speculation counts and the ``spec_*`` keys of the final ``meta_info``, per SGLang release.

The counts come from the engine's :class:`StepOutput` objects, never from a formula: verify passes,
accepted (correct) drafts, proposed drafts and the histogram of accepted drafts per pass. The keys follow
``_calculate_spec_decoding_metrics`` in ``sglang/srt/managers/tokenizer_manager.py`` (0.5.23): no
``spec_*`` key at all when no verify pass ran; ``spec_accept_length = completion_tokens / verify
passes`` (it includes the token sampled at prefill); ``spec_accept_rate = correct / proposed``.
Older field sets are in :data:`core.serving.practice_server.config.SPEC_META_VERSIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.serving.practice_server.engine import StepOutput

__all__ = ["SpecCounts", "spec_meta"]


@dataclass
class SpecCounts:
    """One request's speculation counts so far."""

    verify_ct: int = 0
    correct_drafts: int = 0
    proposed_drafts: int = 0
    histogram: list[int] = field(default_factory=list)  # passes by accepted drafts (0, 1, 2, ...)

    def add(self, step: StepOutput) -> None:
        """Count one step (only verify passes count)."""
        if not step.verify_pass:
            return
        self.verify_ct += 1
        self.correct_drafts += step.accepted_drafts
        self.proposed_drafts += step.proposed_drafts
        # SGLang's Req.update_spec_correct_drafts_histogram grows the list to the largest count seen.
        if len(self.histogram) <= step.accepted_drafts:
            self.histogram.extend([0] * (step.accepted_drafts - len(self.histogram) + 1))
        self.histogram[step.accepted_drafts] += 1


def spec_meta(counts: SpecCounts, completion_tokens: int, version: str) -> dict:
    """The ``spec_*`` keys of the final ``meta_info`` as SGLang ``version`` sends them ({} if no pass)."""
    if counts.verify_ct == 0:
        return {}
    rate = counts.correct_drafts / counts.proposed_drafts if counts.proposed_drafts else 0.0
    length = completion_tokens / counts.verify_ct
    if version == "0.5.5":
        return {"spec_verify_ct": counts.verify_ct, "spec_accept_length": length, "spec_accept_rate": rate}
    if version == "0.5.9":
        return {
            "spec_accept_token_num": counts.correct_drafts,
            "spec_draft_token_num": counts.proposed_drafts,
            "spec_accept_rate": rate,
            "spec_accept_length": length,
            "spec_verify_ct": counts.verify_ct,
            "spec_accept_histogram": list(counts.histogram),
        }
    meta = {
        "spec_accept_rate": rate,
        "spec_accept_length": length,
        "spec_num_correct_drafts": counts.correct_drafts,
        "spec_num_proposed_drafts": counts.proposed_drafts,
        "spec_verify_ct": counts.verify_ct,
        "spec_correct_drafts_histogram": list(counts.histogram),
    }
    if (
        version == "0.5.12"
    ):  # 0.5.12-0.5.17 also sent backward-compatible aliases (tokenizer_manager.py:2139-2153)
        meta["spec_accepted_drafts"] = counts.correct_drafts
        meta["spec_proposed_drafts"] = counts.proposed_drafts
        meta["spec_accept_histogram"] = list(counts.histogram)
    return meta
