"""The steps / topk / draft tokens SGLang would run with, per algorithm and release.

* EAGLE, EAGLE3, NEXTN (SGLang's alias of EAGLE) and STANDALONE (``_handle_eagle_family``): set all three
  or none. None set: ``_auto_choose_speculative_params``: STANDALONE always 3/1/4; EAGLE/EAGLE3 5/4/8
  for the ``LlamaForCausalLM`` and ``Grok1(V)ForCausalLM`` architectures, a release-dependent choice for
  the others (see ``core/data/sglang_releases.toml``). topk 1 forces draft tokens = steps + 1, and the
  draft tree must hold the draft tokens (:func:`draft_candidate_pool`).
* NGRAM (``_handle_ngram``): topk is always ``--speculative-ngram-max-bfs-breadth`` (default 10), draft
  tokens default to 12, steps (from 0.5.17) to draft tokens // breadth; no all-or-none rule, no tree rule.
* Other algorithms of a release (DFLASH, DSPARK, UNO, FROZEN_KV_MTP): values pass through unchanged;
  SGLang applies its own rules at start-up, which this module does not model.

Source paths: ``sglang/srt/arg_groups/speculative_hook.py`` (0.5.23) and the data file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.serving.launch.releases import ReleaseRules, release_rules

__all__ = [
    "EAGLE_FAMILY",
    "NGRAM_DEFAULT_BREADTH",
    "LaunchRuleError",
    "SpecParams",
    "draft_candidate_pool",
    "guess_architecture",
    "is_llama_model",
    "resolve_spec_params",
]

EAGLE_FAMILY = ("EAGLE", "EAGLE3", "NEXTN", "STANDALONE")
NGRAM_DEFAULT_BREADTH = 10  # --speculative-ngram-max-bfs-breadth default, every release
_BIG_TREE_ARCHITECTURES = ("LlamaForCausalLM", "Grok1ForCausalLM", "Grok1VForCausalLM")
# 3/1/4 in every release (server_args.py:4190-4199 in 0.5.5 lists these; later releases add more).
_SMALL_TREE_ARCHITECTURES = (
    "DeepseekV32ForCausalLM",
    "DeepseekV3ForCausalLM",
    "DeepseekV2ForCausalLM",
    "GptOssForCausalLM",
    "BailingMoeForCausalLM",
    "BailingMoeV2ForCausalLM",
)


class LaunchRuleError(ValueError):
    """A setting SGLang would reject (or that makes no sense), with the reason in the message."""


@dataclass(frozen=True)
class SpecParams:
    """Resolved ``--speculative-num-steps`` / ``-eagle-topk`` / ``-num-draft-tokens``.

    ``auto``: none was given and SGLang's automatic choice was filled in. ``eagle_topk`` of NGRAM is its
    BFS breadth. A value is ``None`` where SGLang leaves it unset (NGRAM steps up to 0.5.12, the knobs of
    algorithms this module does not model). ``architecture``: the one the choice assumed;
    ``architecture_guessed``: judged from the model name, not its config.
    """

    num_steps: int | None
    eagle_topk: int | None
    num_draft_tokens: int | None
    auto: bool
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    algorithm: str = "EAGLE"
    release: str = ""
    architecture: str | None = None
    architecture_guessed: bool = False

    @property
    def max_accepted_drafts(self) -> int:
        """Most draft tokens one verify pass can accept: the tree depth capped by the tree size (EAGLE
        family); an NGRAM trie path can use every draft token but the root."""
        tokens = self.num_draft_tokens or 1
        if self.algorithm == "NGRAM" or self.num_steps is None:
            return max(tokens - 1, 0)
        return min(self.num_steps, tokens - 1)


def guess_architecture(model: str) -> str | None:
    """The Hugging Face architecture SGLang would read from ``model``'s config, guessed from its name:
    ``LlamaForCausalLM`` for Llama / Vicuna text models (not Llama-4 or Llama-3.2-Vision, which have other
    architectures), ``Grok1ForCausalLM`` for Grok, ``DeepseekV3ForCausalLM`` for DeepSeek-V3/R1,
    ``GptOssForCausalLM`` for gpt-oss, ``None`` when the name says nothing."""
    name = str(model).lower()
    if "grok" in name:
        return "Grok1ForCausalLM"
    if "deepseek-v3" in name or "deepseek-r1" in name:
        return "DeepseekV3ForCausalLM"
    if "gpt-oss" in name:
        return "GptOssForCausalLM"
    if any(other in name for other in ("llama-4", "llama4", "vision", "mllama")):
        return None
    if "llama" in name or "vicuna" in name:
        return "LlamaForCausalLM"
    return None


def is_llama_model(model: str) -> bool:
    """Whether ``model``'s name suggests the ``LlamaForCausalLM`` architecture (a guess, see above)."""
    return guess_architecture(model) == "LlamaForCausalLM"


def draft_candidate_pool(num_steps: int, eagle_topk: int) -> int:
    """Candidate draft tokens an EAGLE-style tree scores: ``topk`` after the first step, then ``topk^2``
    per further step (each of the ``topk`` kept branches proposes ``topk`` children). SGLang verifies the
    best ``num_draft_tokens - 1`` of them plus the root (``speculative/eagle_utils.py``)."""
    return int(eagle_topk) + (int(num_steps) - 1) * int(eagle_topk) ** 2


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or float(value) != int(value) or int(value) < 1:
        raise LaunchRuleError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)


def _auto_params(algorithm: str, architecture: str | None, guessed: bool, rules: ReleaseRules):
    """SGLang's automatic (steps, topk, draft tokens) and the note saying why."""
    if algorithm == "STANDALONE":
        return (3, 1, 4), "SGLang picks 3/1/4 for STANDALONE whatever the model."
    if architecture in _BIG_TREE_ARCHITECTURES:
        chosen, why = (5, 4, 8), f"the {architecture} architecture"
    elif architecture in _SMALL_TREE_ARCHITECTURES:
        chosen, why = (3, 1, 4), f"the {architecture} architecture"
    else:
        chosen = tuple(rules.value("auto_params_other_architectures"))
        why = f"architecture {architecture}" if architecture else "an architecture other than Llama or Grok"
    how = " (guessed from the model name: SGLang reads it from the model's config)" if guessed else ""
    other = tuple(rules.value("auto_params_other_architectures"))
    rule = (
        "it picks 5/4/8 only for LlamaForCausalLM and Grok1(V)ForCausalLM"
        if other == (3, 1, 4)
        else "it picks 3/1/4 only for the architectures it lists (DeepSeek, GptOss and a few more), 5/4/8 "
        "for the rest"
    )
    return chosen, f"SGLang {rules.release} picks {'/'.join(map(str, chosen))} for {why}{how}; {rule}."


def _overlap_note(topk: int, rules: ReleaseRules) -> str | None:
    if rules.value("overlap_scheduler") != "spec_v2_opt_in" and topk <= 1:
        return None  # a chain: nothing to say where only tree drafting ever changed it
    return rules.rules["overlap_scheduler"].note or None


def _eagle_family(algorithm, steps, topk, tokens, architecture, guessed, rules) -> SpecParams:
    """EAGLE / EAGLE3 / NEXTN / STANDALONE: all or none, topk 1 chain rule, tree-size rule."""
    common = {"algorithm": algorithm, "release": rules.release, "architecture": architecture}
    common["architecture_guessed"] = guessed
    given = [v is not None for v in (steps, topk, tokens)]
    if not any(given):
        (steps, topk, tokens), why = _auto_params(algorithm, architecture, guessed, rules)
        notes = [f"steps/topk/draft tokens not set, so SGLang chooses {steps}/{topk}/{tokens}: {why}"]
        notes += [n for n in [_overlap_note(topk, rules)] if n]
        return SpecParams(steps, topk, tokens, True, notes, [], **common)
    if not all(given):
        names = ("--speculative-num-steps", "--speculative-eagle-topk", "--speculative-num-draft-tokens")
        missing = [name for name, is_set in zip(names, given, strict=True) if not is_set]
        raise LaunchRuleError(
            f"{algorithm}: set all three of steps, topk and draft tokens, or none of them (SGLang then "
            "chooses); missing: " + ", ".join(missing)
        )
    steps = _positive_int("--speculative-num-steps", steps)
    topk = _positive_int("--speculative-eagle-topk", topk)
    tokens = _positive_int("--speculative-num-draft-tokens", tokens)
    warnings: list[str] = []
    if topk == 1 and tokens != steps + 1:
        warnings.append(
            f"with topk 1 the draft is a single chain, so SGLang sets draft tokens to steps + 1 = {steps + 1} "
            f"(you asked for {tokens})."
        )
        tokens = steps + 1
    _check_tree(steps, topk, tokens, warnings)
    overlap = _overlap_note(topk, rules)
    costly = rules.value("overlap_scheduler") != "kept"
    notes = [overlap] if overlap and not costly else []
    warnings += [overlap] if overlap and costly else []
    return SpecParams(steps, topk, tokens, False, notes, warnings, **common)


def _check_tree(steps: int, topk: int, tokens: int, warnings: list[str]) -> None:
    pool = draft_candidate_pool(steps, topk)
    if tokens - 1 > pool:
        raise LaunchRuleError(
            f"draft tokens {tokens} do not fit the draft tree: {steps} steps keeping {topk} candidates each "
            f"score only {pool} candidate tokens (topk + (steps - 1) x topk^2), so at most {pool + 1} draft "
            "tokens including the root; lower draft tokens or raise steps/topk."
        )
    if tokens > steps * topk + 1:
        warnings.append(
            f"draft tokens {tokens} > steps x topk + 1 = {steps * topk + 1}: SGLang runs it, but its own "
            "parameter sweep (scripts/playground/bench_speculative.py) skips such settings; every extra draft "
            "token is verified for every request, which costs compute at larger batch."
        )


def _ngram(steps, topk, tokens, breadth, rules: ReleaseRules) -> SpecParams:
    """NGRAM: topk is the BFS breadth; draft tokens and steps have their own defaults."""
    notes: list[str] = []
    if topk is not None and breadth is not None and int(topk) != int(breadth):
        raise LaunchRuleError(
            f"NGRAM: topk {topk} and --speculative-ngram-max-bfs-breadth {breadth} disagree; SGLang always "
            "uses the breadth as NGRAM's topk, so give only the breadth"
        )
    if breadth is None and topk is not None:
        breadth = topk
        notes.append(
            f"NGRAM's topk is --speculative-ngram-max-bfs-breadth (SGLang overwrites --speculative-eagle-topk "
            f"with it), so topk {topk} is emitted as that flag."
        )
    width = _positive_int("--speculative-ngram-max-bfs-breadth", breadth or NGRAM_DEFAULT_BREADTH)
    defaults = rules.value("ngram_defaults")
    auto = tokens is None
    tokens = 12 if tokens is None else _positive_int("--speculative-num-draft-tokens", tokens)
    if steps is not None:
        steps = _positive_int("--speculative-num-steps", steps)
    elif defaults["steps"] == "draft_tokens // breadth":
        steps = tokens // width
    if auto:
        notes.append(
            f"NGRAM draft tokens not set: SGLang {rules.release} uses 12"
            + (
                " (--speculative-ngram-max-match-window-size's default)."
                if defaults["draft_tokens"] != "12"
                else "."
            )
        )
    if steps is None:
        notes.append(
            f"SGLang {rules.release} leaves NGRAM's steps unset (its trie drafting does not use them)."
        )
    return SpecParams(steps, width, tokens, auto and breadth is None, notes, [], "NGRAM", rules.release)


def _unmodelled(algorithm, steps, topk, tokens, rules: ReleaseRules) -> SpecParams:
    values = [
        None if v is None else _positive_int(name, v)
        for name, v in (
            ("--speculative-num-steps", steps),
            ("--speculative-eagle-topk", topk),
            ("--speculative-num-draft-tokens", tokens),
        )
    ]
    note = (
        f"{algorithm} is accepted by SGLang {rules.release}; this generator does not model its rules "
        f"(sglang/srt/arg_groups/speculative_hook.py, _handle_{algorithm.lower()}), so SGLang checks the "
        "settings at start-up and fills in what is unset."
    )
    return SpecParams(*values, all(v is None for v in values), [note], [], algorithm, rules.release)


def resolve_spec_params(
    model: str,
    num_steps=None,
    eagle_topk=None,
    num_draft_tokens=None,
    *,
    algorithm: str = "EAGLE",
    architecture: str | None = None,
    release: str | None = None,
    ngram_max_bfs_breadth=None,
) -> SpecParams:
    """Apply SGLang ``release``'s rules (default the newest) for ``algorithm`` to the three knobs.

    ``architecture``: the model config's ``architectures[0]`` when known; otherwise it is guessed from
    ``model``'s name (:func:`guess_architecture`) and the notes say so. Raises :class:`LaunchRuleError`
    for a setting SGLang would refuse (mixed set/unset EAGLE knobs, draft tokens that do not fit the tree).
    An unknown ``release`` raises :class:`~core.serving.launch.releases.UnknownReleaseError`.
    """
    rules = release_rules(release)
    name = str(algorithm or "EAGLE").strip().upper()
    if name in EAGLE_FAMILY:
        guessed = architecture is None
        arch = guess_architecture(model) if guessed else str(architecture)
        return _eagle_family(name, num_steps, eagle_topk, num_draft_tokens, arch, guessed, rules)
    if name == "NGRAM":
        return _ngram(num_steps, eagle_topk, num_draft_tokens, ngram_max_bfs_breadth, rules)
    if name in rules.algorithms:
        return _unmodelled(name, num_steps, eagle_topk, num_draft_tokens, rules)
    raise LaunchRuleError(
        f"unknown speculative algorithm {algorithm!r} for SGLang {rules.release}; choose one of "
        + ", ".join(rules.algorithms)
    )
