"""vLLM's speculative-decoding counters, read from a server's Prometheus ``/metrics`` text.

vLLM (checked in the 0.34.0 wheel, ``vllm/v1/spec_decode/metrics.py``, class ``SpecDecodingProm``)
counts, per engine and model label, since the server started:

- ``vllm:spec_decode_num_drafts_total``: verify steps that checked a draft (one per request per step);
- ``vllm:spec_decode_num_draft_tokens_total``: draft tokens proposed;
- ``vllm:spec_decode_num_accepted_tokens_total``: draft tokens accepted;
- ``vllm:spec_decode_num_accepted_tokens_per_pos_total{position="k"}``: accepted at draft position k.

The counters only grow, so two readings, before and after a run, give that run's own figures
(:meth:`SpecCounters.minus`), shared with whatever other clients sent meanwhile. vLLM's "mean
acceptance length" is ``1 + accepted / drafts`` (the same formula it logs): tokens per verify step, the
bonus token included and the token sampled at prefill left out, the same kind of figure as SGLang's
``avg_spec_accept_length``. The series of every engine and model are summed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

__all__ = ["VLLM_COUNTERS", "SpecCounters", "parse_spec_counters"]

#: The counter families read, by the field of :class:`SpecCounters` they fill (names without ``_total``).
VLLM_COUNTERS = {
    "drafts": "vllm:spec_decode_num_drafts",
    "draft_tokens": "vllm:spec_decode_num_draft_tokens",
    "accepted_tokens": "vllm:spec_decode_num_accepted_tokens",
}
_PER_POSITION = "vllm:spec_decode_num_accepted_tokens_per_pos"


@dataclass(frozen=True)
class SpecCounters:
    """Counts of speculative decoding (whole numbers stored as floats, as Prometheus sends them).

    ``accepted_per_position[k]`` counts accepted draft tokens at draft position k (0 = first draft token).
    """

    drafts: float = 0.0
    draft_tokens: float = 0.0
    accepted_tokens: float = 0.0
    accepted_per_position: tuple[float, ...] = field(default=())

    @property
    def mean_acceptance_length(self) -> float | None:
        """vLLM's mean acceptance length, ``1 + accepted / drafts`` (tokens per verify step); None
        without drafts."""
        return 1.0 + self.accepted_tokens / self.drafts if self.drafts > 0 else None

    @property
    def draft_acceptance_rate(self) -> float | None:
        """Accepted / proposed draft tokens (0..1); None without draft tokens."""
        return self.accepted_tokens / self.draft_tokens if self.draft_tokens > 0 else None

    @property
    def per_position_acceptance(self) -> tuple[float, ...]:
        """Accepted tokens at each draft position per draft (vLLM's per-position acceptance rate)."""
        if self.drafts <= 0:
            return ()
        return tuple(count / self.drafts for count in self.accepted_per_position)

    def minus(self, earlier: SpecCounters) -> SpecCounters:
        """The counts between ``earlier`` and this reading. ``ValueError`` when a counter went down (the
        server restarted in between, so the difference means nothing)."""
        values = {}
        for name in VLLM_COUNTERS:
            delta = getattr(self, name) - getattr(earlier, name)
            if delta < 0:
                raise ValueError(f"the counter {VLLM_COUNTERS[name]} went down: did the server restart?")
            values[name] = delta
        before = earlier.accepted_per_position
        per_position = tuple(
            count - (before[k] if k < len(before) else 0.0)
            for k, count in enumerate(self.accepted_per_position)
        )
        return SpecCounters(accepted_per_position=per_position, **values)

    def to_dict(self) -> dict:
        """A JSON-ready dict with the counts and the figures derived from them."""
        return {
            "drafts": self.drafts,
            "draft_tokens": self.draft_tokens,
            "accepted_tokens": self.accepted_tokens,
            "accepted_per_position": list(self.accepted_per_position),
            "mean_acceptance_length": self.mean_acceptance_length,
            "draft_acceptance_rate": self.draft_acceptance_rate,
        }

    @classmethod
    def from_dict(cls, data: dict) -> SpecCounters:
        """Inverse of :meth:`to_dict` (derived figures ignored)."""
        return cls(
            drafts=float(data.get("drafts") or 0.0),
            draft_tokens=float(data.get("draft_tokens") or 0.0),
            accepted_tokens=float(data.get("accepted_tokens") or 0.0),
            accepted_per_position=tuple(float(x) for x in data.get("accepted_per_position") or ()),
        )


def parse_spec_counters(text: str) -> SpecCounters | None:
    """vLLM's speculative-decoding counters from Prometheus text; None when the text has none of them
    (not vLLM, or vLLM without speculation). ``ValueError`` when the text is not Prometheus format."""
    totals = dict.fromkeys(VLLM_COUNTERS, 0.0)
    per_position: dict[int, float] = {}
    seen = False
    wanted = {family: name for name, family in VLLM_COUNTERS.items()}
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as exc:  # the parser raises ValueError and others on broken text
        raise ValueError(f"/metrics is not Prometheus text: {exc}") from None
    for family in families:
        if family.name in wanted:
            seen = True
            totals[wanted[family.name]] += sum(s.value for s in family.samples if s.name.endswith("_total"))
        elif family.name == _PER_POSITION:
            for sample in family.samples:
                position = sample.labels.get("position", "")
                if sample.name.endswith("_total") and position.isdigit():
                    per_position[int(position)] = per_position.get(int(position), 0.0) + sample.value
    if not seen:
        return None
    ordered = tuple(per_position.get(k, 0.0) for k in range(max(per_position, default=-1) + 1))
    return SpecCounters(accepted_per_position=ordered, **totals)
