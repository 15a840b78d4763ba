"""The SGLang launch command for a :class:`LaunchSpec`, for a named SGLang release.

:func:`build_launch_command` writes the argv (``sglang serve ...`` from 0.5.12, ``python -m
sglang.launch_server ...`` before) and a line-continued text, with notes and warnings that explain each
rule SGLang applies. Everything that changes between releases comes from
``core/data/sglang_releases.toml`` (:mod:`core.serving.launch.releases`); the speculation knobs follow
:mod:`core.serving.launch.spec_params`. Every command is checked against the release's flag table
(:mod:`core.serving.launch.flag_table`) before it is returned, so it never prints an option the release
does not have. A rule the builder cannot fix raises :class:`LaunchRuleError` (a ``ValueError``).
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass, field

from core.serving.launch.draft_pairs import DraftPair, find_draft_pair, known_targets
from core.serving.launch.flag_table import check_against_flag_table
from core.serving.launch.releases import ReleaseRules, UnknownReleaseError, release_rules
from core.serving.launch.spec_params import LaunchRuleError, SpecParams, resolve_spec_params

__all__ = ["LaunchCommand", "LaunchSpec", "build_launch_command", "flag_explanations"]

_NEEDS_DRAFT = ("EAGLE", "EAGLE3", "STANDALONE", "DFLASH")
_SPECULATIVE_MAX_RUNNING = 48


@dataclass(frozen=True)
class LaunchSpec:
    """What to serve, and for which SGLang release. ``algorithm`` ``None`` (or ``baseline=True``) means
    plain decoding.

    ``mem_fraction_static``: fraction of GPU memory for weights + KV cache (0..1). ``tp_size`` /
    ``pp_size``: tensor / pipeline parallel degree. ``simulate_accept_length``: sets SGLang's
    ``SGLANG_SIMULATE_ACC_LEN`` so a real server simulates that accept length (a workshop demo).
    ``sglang_version``: the release to target (default the newest known). ``architecture``: the model
    config's ``architectures[0]`` when known (otherwise guessed from the name). ``ngram_*``: NGRAM's own
    knobs (``ngram_max_bfs_breadth`` is its topk). ``page_size`` in tokens per KV-cache page.
    """

    model: str
    algorithm: str | None = None
    draft_model: str | None = None
    num_steps: int | None = None
    eagle_topk: int | None = None
    num_draft_tokens: int | None = None
    port: int = 30000
    host: str | None = None
    mem_fraction_static: float | None = None
    tp_size: int = 1
    pp_size: int = 1
    cuda_graph_max_bs: int | None = None
    max_running_requests: int | None = None
    trust_remote_code: bool = False
    baseline: bool = False
    simulate_accept_length: float | None = None
    sglang_version: str | None = None
    architecture: str | None = None
    ngram_max_bfs_breadth: int | None = None
    ngram_min_bfs_breadth: int | None = None
    ngram_match_type: str | None = None
    ngram_max_trie_depth: int | None = None
    ngram_capacity: int | None = None
    token_map: str | None = None
    attention_mode: str | None = None
    draft_attention_backend: str | None = None
    page_size: int | None = None
    dtype: str | None = None
    incremental_streaming: bool = False


@dataclass(frozen=True)
class LaunchCommand:
    """The command: ``argv`` (to run), ``text`` (to show, line-continued), ``env`` (variables to set
    before it), ``notes`` / ``warnings`` explaining what SGLang will do, the ``release`` it targets, its
    ``entry_point`` (the first words of ``argv``) and the resolved speculation knobs."""

    argv: list[str]
    text: str
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    draft_pair: DraftPair | None = None
    release: str = ""
    entry_point: tuple[str, ...] = ()
    spec_params: SpecParams | None = None

    @property
    def server_args(self) -> list[str]:
        """The argv after the entry point: what SGLang's parser reads."""
        return self.argv[len(self.entry_point) :]


@dataclass
class _Parts:
    """The command being assembled: flags, notes, warnings, environment."""

    rules: ReleaseRules
    argv: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def add(self, flag: str, value=None) -> None:
        self.argv += [flag] if value is None else [flag, str(value)]


_FLAG_EXPLANATIONS = {
    "--model-path": "The target model to serve: a Hugging Face id or a local folder.",
    "--port": "HTTP port of the server (SGLang's default is 30000).",
    "--host": "Address to listen on (default 127.0.0.1; 0.0.0.0 exposes it to the network).",
    "--speculative-algorithm": "Turns speculation on: EAGLE, EAGLE3, NEXTN, STANDALONE, NGRAM and, in newer "
    "releases, DFLASH, DSPARK, UNO.",
    "--speculative-draft-model-path": "The draft model (EAGLE head or small LM) proposing tokens; "
    "--speculative-draft-model is only an alias.",
    "--speculative-num-steps": "Draft depth: sequential draft forward passes per verify (max accepted drafts).",
    "--speculative-eagle-topk": "Branching: candidates kept per draft step; 1 = a chain, more = a tree.",
    "--speculative-num-draft-tokens": "Draft tokens the target verifies per pass (tree size, incl. the root).",
    "--speculative-ngram-max-bfs-breadth": "NGRAM's topk: most branches its trie search keeps (default 10).",
    "--speculative-ngram-min-bfs-breadth": "NGRAM: fewest branches its trie search keeps (default 1).",
    "--speculative-ngram-match-type": "NGRAM: how the trie is searched (BFS or PROB).",
    "--speculative-ngram-max-trie-depth": "NGRAM: longest n-gram the trie stores.",
    "--speculative-ngram-capacity": "NGRAM: most n-grams the trie keeps.",
    "--speculative-token-map": "FR-Spec hot vocabulary: the draft head predicts only these token ids.",
    "--speculative-attention-mode": "Whether draft verification runs as prefill or decode attention.",
    "--speculative-draft-attention-backend": "Attention kernels for the draft model (default: the target's).",
    "--page-size": "Tokens per KV-cache page (topk > 1 with pages > 1 needs flashinfer, fa3 or triton).",
    "--dtype": "Weight and activation data type (e.g. float16, bfloat16, auto).",
    "--mem-fraction-static": "Share of GPU memory for weights and KV cache; lower it if the server runs out "
    "of memory.",
    "--cuda-graph-max-bs": "Largest batch captured in CUDA graphs (SGLang up to 0.5.12; 0.5.17 keeps it as a "
    "deprecated alias; gone from 0.5.21).",
    "--cuda-graph-max-bs-decode": "Largest decode batch captured in CUDA graphs (SGLang 0.5.17 and later).",
    "--max-running-requests": "Most requests decoded at once; speculation caps it at 48 unless set.",
    "--tp-size": "Tensor parallelism: GPUs one model is split across.",
    "--pp-size": "Pipeline parallelism: refused with speculation up to 0.5.17; from 0.5.21 allowed with EAGLE.",
    "--trust-remote-code": "Allow model code from the hub (some models, e.g. DeepSeek, need it).",
    "--stream-output": "Stream only the new text in each /generate event (SGLang 0.5.5 and 0.5.9).",
    "--incremental-streaming-output": "Stream only the new text in each /generate event (SGLang 0.5.12 on).",
    "SGLANG_SIMULATE_ACC_LEN": "Environment variable: the server simulates this accept length instead of "
    "the real one (to demo how accept length drives speed).",
}


def flag_explanations() -> dict[str, str]:
    """One-line meaning of each flag the builder can emit (a new dict each call)."""
    return dict(_FLAG_EXPLANATIONS)


def _whole(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or float(value) != int(value):
        raise LaunchRuleError(f"{name} must be a whole number, got {value!r}")
    if int(value) < minimum:
        raise LaunchRuleError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def _format(argv: list[str], env: dict[str, str], entry_words: int) -> str:
    """The entry point on the first line, then one flag (with its value) per line."""
    prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    head = " ".join(shlex.quote(a) for a in argv[:entry_words])
    lines = [f"{prefix} {head}" if prefix else head]
    i = entry_words
    while i < len(argv):
        if i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            lines.append(f"{argv[i]} {shlex.quote(argv[i + 1])}")
            i += 2
        else:
            lines.append(argv[i])
            i += 1
    return " \\\n    ".join(lines)


def _rules_for(spec: LaunchSpec) -> ReleaseRules:
    try:
        return release_rules(spec.sglang_version)
    except UnknownReleaseError as error:
        raise LaunchRuleError(str(error)) from None


def _server_flags(spec: LaunchSpec, parts: _Parts) -> str:
    """Model, address, parallelism and model-loading flags; returns the model."""
    model = str(spec.model or "").strip()
    if not model:
        raise LaunchRuleError("--model is required: a Hugging Face id or a local folder")
    port = _whole("--port", spec.port)
    if port > 65535:
        raise LaunchRuleError(f"--port must be between 1 and 65535, got {spec.port!r}")
    parts.add("--model-path", model)
    parts.add("--port", port)
    if spec.host:
        parts.add("--host", spec.host)
    for flag, value in (("--tp-size", spec.tp_size), ("--pp-size", spec.pp_size)):
        if _whole(flag, value) > 1:
            parts.add(flag, int(value))
    if spec.trust_remote_code:
        parts.add("--trust-remote-code")
    if spec.dtype:
        parts.add("--dtype", str(spec.dtype).strip())
    if spec.page_size is not None:
        parts.add("--page-size", _whole("--page-size", spec.page_size))
    if spec.incremental_streaming:
        parts.add(parts.rules.incremental_streaming_flag)
        parts.notes.append(f"{parts.rules.incremental_streaming_flag}: /generate events carry deltas.")
    return model


def _speculation_only_fields(spec: LaunchSpec) -> list[str]:
    fields = (
        ("--draft-model", spec.draft_model),
        ("--steps", spec.num_steps),
        ("--topk", spec.eagle_topk),
        ("--draft-tokens", spec.num_draft_tokens),
        ("--simulate-accept-length", spec.simulate_accept_length),
        ("--ngram-max-bfs-breadth", spec.ngram_max_bfs_breadth),
        ("--ngram-min-bfs-breadth", spec.ngram_min_bfs_breadth),
        ("--ngram-match-type", spec.ngram_match_type),
        ("--ngram-max-trie-depth", spec.ngram_max_trie_depth),
        ("--ngram-capacity", spec.ngram_capacity),
        ("--token-map", spec.token_map),
        ("--attention-mode", spec.attention_mode),
        ("--draft-attention-backend", spec.draft_attention_backend),
    )
    return [name for name, value in fields if value not in (None, "")]


def _baseline(spec: LaunchSpec, model: str, parts: _Parts) -> None:
    given = _speculation_only_fields(spec)
    if given:
        raise LaunchRuleError(
            f"{', '.join(given)} only apply to speculative serving; add --algorithm (e.g. EAGLE3) or drop them"
        )
    parts.notes.append(
        "Baseline: plain decoding, no speculation (the reference to measure speedups against)."
    )
    suggestion = find_draft_pair(model)
    if suggestion is not None and not spec.baseline:
        parts.notes.append(
            f"For speculation on this model, add --algorithm {suggestion.algorithm} "
            f"(known draft: {suggestion.draft or 'none needed'})."
        )


def _algorithm(spec: LaunchSpec, rules: ReleaseRules) -> str:
    algorithm = str(spec.algorithm).strip().upper()
    if algorithm == "LOOKAHEAD":
        raise LaunchRuleError(
            "LOOKAHEAD was renamed NGRAM in SGLang (2025-09) and the old name is now rejected; use NGRAM"
        )
    if algorithm not in rules.algorithms:
        raise LaunchRuleError(
            f"unknown speculative algorithm {spec.algorithm!r} for SGLang {rules.release}; choose one of "
            + ", ".join(rules.algorithms)
        )
    if _whole("--pp-size", spec.pp_size) > 1:
        allowed = rules.value("pipeline_parallel_algorithms")
        if algorithm not in allowed:
            later = " (from 0.5.21 SGLang allows it with EAGLE or NEXTN)" if not allowed else ""
            raise LaunchRuleError(
                f"SGLang {rules.release} refuses {algorithm} with pipeline parallelism (--pp-size > 1)"
                f"{later}; use tensor parallelism (--tp-size) or serve without speculation"
            )
    return algorithm


def _draft(spec: LaunchSpec, model: str, algorithm: str, parts: _Parts) -> DraftPair | None:
    """The draft model flag: given, or the known pair's; NEXTN and NGRAM take none."""
    draft = (spec.draft_model or "").strip() or None
    if algorithm in ("NEXTN", "NGRAM"):
        if draft is not None:
            why = (
                "it uses the model's own multi-token-prediction layer"
                if algorithm == "NEXTN"
                else "it drafts from n-grams already in the context"
            )
            parts.warnings.append(f"{algorithm} takes no draft model ({why}); dropped --draft-model {draft}.")
        if algorithm == "NEXTN":
            parts.notes.append(
                "NEXTN is SGLang's alias of EAGLE using the model's own MTP layer (e.g. DeepSeek V3/R1); "
                "a running server reports it as EAGLE."
            )
            return find_draft_pair(model, algorithm)
        parts.notes.append(
            "NGRAM builds drafts from n-grams already in the prompt and output; no draft model."
        )
        return None
    pair = None
    if draft is None and algorithm in _NEEDS_DRAFT:
        pair = find_draft_pair(model, algorithm)
        if pair is None:
            known = ", ".join(known_targets(algorithm)) or "none"
            raise LaunchRuleError(
                f"{algorithm} needs a draft model and none is known for {model!r}; pass --draft-model "
                f"(known {algorithm} targets: {known})"
            )
        draft = pair.draft
        parts.notes.append(f"Draft model {draft} for {pair.target} ({pair.source}).")
    if draft is not None:
        parts.add("--speculative-draft-model-path", draft)
    return pair


def _knobs(spec: LaunchSpec, model: str, algorithm: str, pair: DraftPair | None, parts: _Parts) -> SpecParams:
    """Steps / topk / draft tokens under the algorithm's rules; emitted only when set by the user."""
    knobs = resolve_spec_params(
        model,
        spec.num_steps,
        spec.eagle_topk,
        spec.num_draft_tokens,
        algorithm=algorithm,
        architecture=spec.architecture,
        release=parts.rules.release,
        ngram_max_bfs_breadth=spec.ngram_max_bfs_breadth,
    )
    parts.notes += knobs.notes
    parts.warnings += knobs.warnings
    if algorithm == "NGRAM":  # emit what the user set, with SGLang's rewrites (topk -> breadth)
        for flag, given, value in (
            ("--speculative-num-steps", spec.num_steps, knobs.num_steps),
            (
                "--speculative-ngram-max-bfs-breadth",
                spec.ngram_max_bfs_breadth or spec.eagle_topk,
                knobs.eagle_topk,
            ),
            ("--speculative-num-draft-tokens", spec.num_draft_tokens, knobs.num_draft_tokens),
        ):
            if given is not None:
                parts.add(flag, value)
    elif not knobs.auto:
        for flag, value in (
            ("--speculative-num-steps", knobs.num_steps),
            ("--speculative-eagle-topk", knobs.eagle_topk),
            ("--speculative-num-draft-tokens", knobs.num_draft_tokens),
        ):
            if value is not None:
                parts.add(flag, value)
    elif pair is not None and pair.recommended is not None:
        steps, topk, tokens = pair.recommended
        parts.notes.append(
            f"This pair's entry suggests steps/topk/draft tokens {steps}/{topk}/{tokens} (where they come "
            f"from: {pair.source}): add --steps {steps} --topk {topk} --draft-tokens {tokens} to use them."
        )
    return knobs


def _tuning_flags(spec: LaunchSpec, algorithm: str, parts: _Parts) -> None:
    """The speculative flags a user tunes beyond the three knobs."""
    ngram = (
        ("--speculative-ngram-min-bfs-breadth", spec.ngram_min_bfs_breadth, True),
        ("--speculative-ngram-match-type", spec.ngram_match_type, False),
        ("--speculative-ngram-max-trie-depth", spec.ngram_max_trie_depth, True),
        ("--speculative-ngram-capacity", spec.ngram_capacity, True),
    )
    for flag, value, whole in ngram:
        if value in (None, ""):
            continue
        if algorithm != "NGRAM":
            raise LaunchRuleError(f"{flag} only applies to NGRAM (the algorithm is {algorithm})")
        parts.add(flag, _whole(flag, value) if whole else str(value).strip().upper())
    for flag, value in (
        ("--speculative-token-map", spec.token_map),
        ("--speculative-attention-mode", spec.attention_mode),
        ("--speculative-draft-attention-backend", spec.draft_attention_backend),
    ):
        if value not in (None, ""):
            parts.add(flag, str(value).strip())
    if spec.token_map and algorithm not in ("EAGLE", "EAGLE3", "NEXTN"):
        parts.warnings.append(
            f"--speculative-token-map is an EAGLE head option; {algorithm} has no use for it."
        )


def _side_effects(spec: LaunchSpec, algorithm: str, parts: _Parts) -> None:
    """Notes on what turning speculation on changes in this release."""
    rules = parts.rules
    if spec.max_running_requests is None:
        parts.notes.append(
            f"With speculation SGLang caps --max-running-requests at {_SPECULATIVE_MAX_RUNNING} unless set "
            "(it logs a warning once); pass --max-running-requests N for more concurrent requests."
        )
    kept = rules.value("mixed_chunk_algorithms")
    parts.notes.append(
        f"SGLang {rules.release} keeps mixed chunked prefill (--enable-mixed-chunk, off by default) with {algorithm}."
        if algorithm in kept
        else f"SGLang {rules.release} turns mixed chunked prefill off with {algorithm} (it is off by default)."
    )
    reserve = rules.draft_memory_reserve_mib(algorithm)
    parts.notes.append(
        f"SGLang {rules.release}'s automatic --mem-fraction-static keeps {reserve / 1024:g} GB more free for "
        f"the {algorithm} draft."
        if reserve
        else f"SGLang {rules.release}'s automatic --mem-fraction-static keeps no extra memory for the draft."
    )
    if _whole("--pp-size", spec.pp_size) > 1:
        parts.notes.append(rules.rules["pipeline_parallel_algorithms"].note)
    parts.notes.append(
        "If the server runs out of memory: lower --mem-fraction-static (docs examples use 0.7), then "
        f"{rules.cuda_graph_max_bs_flag} (docs examples use 8), then shrink the tree to 3/1/4, then lower "
        "--max-running-requests."
    )


def _simulated_accept_length(spec: LaunchSpec, knobs: SpecParams, parts: _Parts) -> None:
    if spec.simulate_accept_length is None:
        return
    value = float(spec.simulate_accept_length)
    top = knobs.max_accepted_drafts + 1
    if not (math.isfinite(value) and 1.0 <= value <= top):
        raise LaunchRuleError(
            f"--simulate-accept-length must lie between 1 and steps + 1 = {top} (it includes the bonus "
            f"token), got {spec.simulate_accept_length!r}"
        )
    parts.env["SGLANG_SIMULATE_ACC_LEN"] = f"{value:g}"
    parts.warnings.append(
        f"SGLANG_SIMULATE_ACC_LEN={value:g}: the server fakes this accept length, so its speed is a "
        "simulation on real hardware, not the draft's real acceptance."
    )


def _limits(spec: LaunchSpec, parts: _Parts) -> None:
    """Memory fraction, CUDA-graph batch (the release's flag name) and running-request cap."""
    if spec.mem_fraction_static is not None:
        fraction = float(spec.mem_fraction_static)
        if not (math.isfinite(fraction) and 0.0 < fraction < 1.0):
            raise LaunchRuleError(
                f"--mem-fraction-static is a fraction of GPU memory between 0 and 1, got {spec.mem_fraction_static!r}"
            )
        parts.add("--mem-fraction-static", f"{fraction:g}")
    if spec.cuda_graph_max_bs is not None:
        flag = parts.rules.cuda_graph_max_bs_flag
        parts.add(flag, _whole(flag, spec.cuda_graph_max_bs))
        parts.notes.append(parts.rules.rules["cuda_graph_max_bs_flag"].note)
    if spec.max_running_requests is not None:
        parts.add("--max-running-requests", _whole("--max-running-requests", spec.max_running_requests))


def _check_flags(parts: _Parts) -> None:
    """Refuse any option the release's flag table does not accept (e.g. a flag newer than the release)."""
    check = check_against_flag_table(parts.argv, parts.rules.release)
    if not check.ok:
        raise LaunchRuleError(
            f"SGLang {parts.rules.release} would refuse this command: {'; '.join(check.problems)}"
        )


def build_launch_command(spec: LaunchSpec) -> LaunchCommand:
    """The SGLang launch command for ``spec`` and its release, applying and explaining SGLang's rules.

    Raises :class:`LaunchRuleError` for a setting SGLang would reject that cannot be fixed here (unknown
    release or algorithm, missing draft for an unknown target, draft tokens that do not fit the tree,
    speculation with pipeline parallelism where the release refuses it, a flag the release lacks, ...).
    """
    parts = _Parts(_rules_for(spec))
    model = _server_flags(spec, parts)
    pair, knobs = None, None
    if spec.baseline or spec.algorithm in (None, ""):
        _baseline(spec, model, parts)
    else:
        algorithm = _algorithm(spec, parts.rules)
        parts.add("--speculative-algorithm", algorithm)
        pair = _draft(spec, model, algorithm, parts)
        knobs = _knobs(spec, model, algorithm, pair, parts)
        _tuning_flags(spec, algorithm, parts)
        _side_effects(spec, algorithm, parts)
        _simulated_accept_length(spec, knobs, parts)
    _limits(spec, parts)
    _check_flags(parts)
    entry = parts.rules.entry_point
    argv = entry + parts.argv
    parts.notes.append(f"Written for SGLang {parts.rules.release} (other releases: --sglang-version).")
    return LaunchCommand(
        argv=argv,
        text=_format(argv, parts.env, len(entry)),
        notes=parts.notes,
        warnings=parts.warnings,
        env=parts.env,
        draft_pair=pair,
        release=parts.rules.release,
        entry_point=tuple(entry),
        spec_params=knobs,
    )
