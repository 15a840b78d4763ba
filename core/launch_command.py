"""SGLang launch commands for speculative (or baseline) serving, with SGLang's own rules explained.

Work in progress: the rule checks for the three speculation knobs land first (the practice server uses
them); the command builder follows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["LaunchRuleError", "SpecParams", "resolve_spec_params", "is_llama_model"]


class LaunchRuleError(ValueError):
    """A setting SGLang would reject (or that makes no sense), with the reason in the message."""


@dataclass(frozen=True)
class SpecParams:
    """Resolved ``--speculative-num-steps`` / ``-eagle-topk`` / ``-num-draft-tokens``.

    ``auto`` is True when none was given and SGLang's automatic choice was filled in.
    """

    num_steps: int
    eagle_topk: int
    num_draft_tokens: int
    auto: bool
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def max_accepted_drafts(self) -> int:
        """Most draft tokens one verify pass can accept: the tree depth, capped by the tree size."""
        return min(self.num_steps, self.num_draft_tokens - 1)


def is_llama_model(model: str) -> bool:
    """Whether SGLang would treat ``model`` as a Llama architecture for its automatic defaults.

    SGLang looks at the model's architecture; without downloading the config, the name is the best hint.
    """
    return "llama" in str(model).lower()


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or float(value) != int(value) or int(value) < 1:
        raise LaunchRuleError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)


def resolve_spec_params(model: str, num_steps=None, eagle_topk=None, num_draft_tokens=None) -> SpecParams:
    """Apply SGLang's rules to the three speculation knobs.

    * Set all three or none. None set: SGLang chooses (5, 4, 8) for Llama models, (3, 1, 4) otherwise.
    * ``eagle_topk == 1`` forces ``num_draft_tokens = num_steps + 1`` (SGLang overwrites it, warning).
    * ``num_draft_tokens <= num_steps * eagle_topk + 1``: a tree of that depth and width has no room for
      more (SGLang's own sweep skips such settings). Violations raise :class:`LaunchRuleError`.
    """
    given = [v is not None for v in (num_steps, eagle_topk, num_draft_tokens)]
    notes: list[str] = []
    warnings: list[str] = []
    if not any(given):
        steps, topk, tokens = (5, 4, 8) if is_llama_model(model) else (3, 1, 4)
        kind = "a Llama model" if is_llama_model(model) else "a non-Llama model"
        notes.append(
            f"steps/topk/draft tokens not set: SGLang chooses {steps}/{topk}/{tokens} for {kind} "
            "(5/4/8 for Llama architectures, 3/1/4 for most others)."
        )
        return SpecParams(steps, topk, tokens, True, notes, warnings)
    if not all(given):
        missing = [
            name
            for name, is_set in zip(
                ("--speculative-num-steps", "--speculative-eagle-topk", "--speculative-num-draft-tokens"),
                given,
                strict=True,
            )
            if not is_set
        ]
        raise LaunchRuleError(
            "set all three of steps, topk and draft tokens, or none of them (SGLang then chooses); missing: "
            + ", ".join(missing)
        )
    steps = _positive_int("--speculative-num-steps", num_steps)
    topk = _positive_int("--speculative-eagle-topk", eagle_topk)
    tokens = _positive_int("--speculative-num-draft-tokens", num_draft_tokens)
    if topk == 1 and tokens != steps + 1:
        warnings.append(
            f"with topk 1 the draft is a single chain, so SGLang sets draft tokens to steps + 1 = {steps + 1} "
            f"(you asked for {tokens})."
        )
        tokens = steps + 1
    if tokens > steps * topk + 1:
        raise LaunchRuleError(
            f"draft tokens {tokens} exceed steps x topk + 1 = {steps * topk + 1}: a draft tree {steps} deep "
            f"and {topk} wide cannot hold that many tokens; lower draft tokens or raise steps/topk."
        )
    if topk > 1:
        warnings.append(
            f"topk {topk} > 1 (tree drafting) turns SGLang's overlap scheduler off; newer SGLang docs advise topk 1."
        )
    return SpecParams(steps, topk, tokens, False, notes, warnings)
