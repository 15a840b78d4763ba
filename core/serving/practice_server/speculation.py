"""SGLang's speculation settings for a practice server: algorithm name and steps / topk / draft tokens.

Shared by every engine, so all of them report what a real SGLang server started with the same flags
would report: NEXTN resolves to EAGLE, the knobs follow each algorithm's own rules in the newest release
(:func:`core.serving.launch.resolve_spec_params`: EAGLE family, STANDALONE's 3/1/4, NGRAM's BFS breadth).
SGLang's other algorithms (DFLASH, DSPARK, ...) are refused here: their rules are not modelled.
"""

from __future__ import annotations

from core.serving.launch import ALGORITHMS, LaunchRuleError, resolve_spec_params
from core.serving.practice_server.config import PracticeConfig
from core.serving.practice_server.engine import SpeculativeSettings

__all__ = ["SPECULATIVE_ALGORITHMS", "resolve_speculation"]

SPECULATIVE_ALGORITHMS = ("EAGLE", "EAGLE3", "NEXTN", "STANDALONE", "NGRAM")
# SGLang's _resolve_speculative_algorithm_alias (speculative_hook.py) rewrites these before anything
# reads the arguments, so /server_info shows the resolved name.
_ALIASES = {"NEXTN": "EAGLE"}


def resolve_speculation(config: PracticeConfig) -> tuple[SpeculativeSettings | None, str | None, list[str]]:
    """``(settings, requested algorithm, notes)`` for ``config``; settings None without speculation.

    ``requested algorithm`` is the upper-cased name the user gave (NEXTN stays NEXTN there, the
    settings say EAGLE). Raises ``ValueError`` with SGLang's reason for settings SGLang refuses.
    """
    if not config.speculative:
        return None, None, []
    requested = str(config.algorithm).upper()
    if requested == "LOOKAHEAD":
        raise ValueError("LOOKAHEAD was renamed NGRAM in SGLang (2025-09); use NGRAM")
    if requested in ALGORITHMS and requested not in SPECULATIVE_ALGORITHMS:
        raise ValueError(
            f"SGLang accepts {requested}, but the practice server does not model it; "
            f"choose one of {', '.join(SPECULATIVE_ALGORITHMS)}"
        )
    if requested not in SPECULATIVE_ALGORITHMS:
        raise ValueError(
            f"unknown speculative algorithm {config.algorithm!r}; choose one of {SPECULATIVE_ALGORITHMS}"
        )
    try:
        spec = resolve_spec_params(
            config.target, config.num_steps, config.eagle_topk, config.num_draft_tokens, algorithm=requested
        )
    except LaunchRuleError as error:
        raise ValueError(str(error)) from None
    settings = SpeculativeSettings(
        algorithm=_ALIASES.get(requested, requested),
        num_steps=spec.num_steps,
        eagle_topk=spec.eagle_topk,
        num_draft_tokens=spec.num_draft_tokens,
        max_accepted_drafts=spec.max_accepted_drafts,
    )
    notes = list(spec.notes) + list(spec.warnings)
    if requested in _ALIASES:
        notes.append(
            f"{requested} is SGLang's alias of {_ALIASES[requested]}; /server_info reports the latter."
        )
    return settings, requested, notes
