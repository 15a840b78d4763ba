"""SGLang launch commands, version-aware: release rules (``core/data/sglang_releases.toml``), the
speculation knobs per algorithm, known draft pairs, the command builder, and checks against SGLang's own
parser or the flag table extracted from a release wheel (``core/data/sglang_flags.json``).

Modules: ``releases`` (which rule holds for which release), ``spec_params`` (steps/topk/draft tokens),
``draft_pairs``, ``command`` (:func:`build_launch_command`), ``flag_table``, ``sglang_parser``, ``check``.
"""

from core.serving.launch.check import check_launch_command
from core.serving.launch.command import LaunchCommand, LaunchSpec, build_launch_command, flag_explanations
from core.serving.launch.draft_pairs import DraftPair, draft_pairs, find_draft_pair, known_targets
from core.serving.launch.flag_table import FlagCheck, check_against_flag_table, flag_table
from core.serving.launch.releases import (
    DEFAULT_RELEASE,
    ReleaseRules,
    UnknownReleaseError,
    known_releases,
    normalise_release,
    release_rules,
)
from core.serving.launch.sglang_parser import check_with_sglang_parser, sglang_importable
from core.serving.launch.spec_params import (
    LaunchRuleError,
    SpecParams,
    draft_candidate_pool,
    guess_architecture,
    is_llama_model,
    resolve_spec_params,
)

#: Every speculative algorithm the newest known release accepts.
ALGORITHMS = release_rules(DEFAULT_RELEASE).algorithms

__all__ = [
    "ALGORITHMS",
    "DEFAULT_RELEASE",
    "DraftPair",
    "FlagCheck",
    "LaunchCommand",
    "LaunchRuleError",
    "LaunchSpec",
    "ReleaseRules",
    "SpecParams",
    "UnknownReleaseError",
    "build_launch_command",
    "check_against_flag_table",
    "check_launch_command",
    "check_with_sglang_parser",
    "draft_candidate_pool",
    "draft_pairs",
    "find_draft_pair",
    "flag_explanations",
    "flag_table",
    "guess_architecture",
    "is_llama_model",
    "known_releases",
    "known_targets",
    "normalise_release",
    "release_rules",
    "resolve_spec_params",
    "sglang_importable",
]
