"""SGLang launch commands for speculative (or baseline) serving, with SGLang's own rules explained.

:func:`build_launch_command` turns a :class:`LaunchSpec` into the ``python -m sglang.launch_server``
command line (an argv list and a line-continued text), plus notes and warnings that explain each rule
SGLang applies (shared/docs/sglang.md):

* ``--speculative-algorithm``: EAGLE, EAGLE3, NEXTN, STANDALONE, NGRAM (case-insensitive). LOOKAHEAD was
  renamed NGRAM and is rejected.
* EAGLE / EAGLE3 / STANDALONE need ``--speculative-draft-model-path`` (the documented flag, never the
  ``--speculative-draft-model`` alias); known targets get theirs from ``core/data/draft_pairs.toml``.
  NEXTN uses the model's own multi-token-prediction layer and NGRAM builds drafts from the context, so
  neither takes a draft path.
* ``--speculative-num-steps`` / ``--speculative-eagle-topk`` / ``--speculative-num-draft-tokens``: all
  three or none (:func:`resolve_spec_params`).
* Turning speculation on caps ``--max-running-requests`` at 48 unless set, disables mixed chunked
  prefill, and is incompatible with pipeline parallelism.

A rule the builder cannot fix raises :class:`LaunchRuleError` (a ``ValueError``) whose message explains it.
"""

from __future__ import annotations

import functools
import math
import shlex
import tomllib
from dataclasses import dataclass, field
from importlib import resources

__all__ = [
    "ALGORITHMS",
    "DraftPair",
    "LaunchCommand",
    "LaunchRuleError",
    "LaunchSpec",
    "SpecParams",
    "build_launch_command",
    "draft_candidate_pool",
    "draft_pairs",
    "find_draft_pair",
    "flag_explanations",
    "is_llama_model",
    "resolve_spec_params",
]

ALGORITHMS = ("EAGLE", "EAGLE3", "NEXTN", "STANDALONE", "NGRAM")
_NEEDS_DRAFT = ("EAGLE", "EAGLE3", "STANDALONE")
_SPECULATIVE_MAX_RUNNING = 48
_LLAMA_NAME_HINTS = ("llama", "vicuna")


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

    SGLang looks at the model's architecture; without downloading the config, the name is the best hint
    (Llama and Vicuna models are Llama architectures).
    """
    name = str(model).lower()
    return any(hint in name for hint in _LLAMA_NAME_HINTS)


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or float(value) != int(value) or int(value) < 1:
        raise LaunchRuleError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)


def draft_candidate_pool(num_steps: int, eagle_topk: int) -> int:
    """Candidate draft tokens an EAGLE-style tree scores: ``topk`` after the first step, then ``topk^2``
    per further step (each of the ``topk`` kept branches proposes ``topk`` children). SGLang verifies the
    best ``num_draft_tokens - 1`` of them plus the root."""
    return int(eagle_topk) + (int(num_steps) - 1) * int(eagle_topk) ** 2


def resolve_spec_params(model: str, num_steps=None, eagle_topk=None, num_draft_tokens=None) -> SpecParams:
    """Apply SGLang's rules to the three speculation knobs.

    * Set all three or none. None set: SGLang chooses (5, 4, 8) for Llama models, (3, 1, 4) otherwise.
    * ``eagle_topk == 1`` forces ``num_draft_tokens = num_steps + 1`` (SGLang overwrites it, warning).
    * ``num_draft_tokens - 1`` cannot exceed the candidates the draft tree scores
      (:func:`draft_candidate_pool`): raises :class:`LaunchRuleError`. Above ``num_steps * eagle_topk + 1``
      (the practical limit SGLang's own sweep script keeps to) only warns: SGLang runs it, and its docs'
      EAGLE-3 example (3/4/16) is such a setting.
    """
    given = [v is not None for v in (num_steps, eagle_topk, num_draft_tokens)]
    notes: list[str] = []
    warnings: list[str] = []
    if not any(given):
        llama = is_llama_model(model)
        steps, topk, tokens = (5, 4, 8) if llama else (3, 1, 4)
        notes.append(
            f"steps/topk/draft tokens not set, so SGLang chooses them: {steps}/{topk}/{tokens} here "
            f"({'a Llama' if llama else 'not a Llama'} architecture, judged from the name; SGLang picks "
            "5/4/8 for Llama architectures and 3/1/4 for most others)."
        )
        if topk > 1:
            notes.append(f"That tree (topk {topk} > 1) turns SGLang's overlap scheduler off.")
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
    pool = draft_candidate_pool(steps, topk)
    if tokens - 1 > pool:
        raise LaunchRuleError(
            f"draft tokens {tokens} do not fit the draft tree: {steps} steps keeping {topk} candidates each "
            f"score only {pool} candidate tokens (topk + (steps - 1) x topk^2), so at most {pool + 1} draft "
            "tokens including the root; lower draft tokens or raise steps/topk."
        )
    if tokens > steps * topk + 1:
        warnings.append(
            f"draft tokens {tokens} > steps x topk + 1 = {steps * topk + 1}: SGLang runs it (its docs' EAGLE-3 "
            "example uses 3/4/16), but its own parameter sweep skips such settings; every extra draft token is "
            "verified for every request, which costs compute at larger batch."
        )
    if topk > 1:
        warnings.append(
            f"topk {topk} > 1 (tree drafting) turns SGLang's overlap scheduler off; newer SGLang docs advise topk 1."
        )
    return SpecParams(steps, topk, tokens, False, notes, warnings)


# --------------------------------------------------------------------------------------------------
# Known target -> draft pairs


@dataclass(frozen=True)
class DraftPair:
    """One published target -> draft pairing (``draft`` is ``""`` for NEXTN, which needs none)."""

    target: str
    aliases: tuple[str, ...]
    algorithm: str
    draft: str
    source: str
    steps: int | None = None
    topk: int | None = None
    draft_tokens: int | None = None
    default: bool = False

    def matches(self, model: str) -> bool:
        """Whether ``model`` names this pair's target: hub id, alias, or a local folder ending in one."""
        wanted = _normalise(model)
        names = {_normalise(n) for n in (self.target, *self.aliases)}
        names |= {n.rsplit("/", 1)[-1] for n in names}
        return wanted in names or wanted.rstrip("/").rsplit("/", 1)[-1] in names

    @property
    def recommended(self) -> tuple[int, int, int] | None:
        """``(steps, topk, draft tokens)`` from the source, or ``None`` when it gives none."""
        if None in (self.steps, self.topk, self.draft_tokens):
            return None
        return (int(self.steps), int(self.topk), int(self.draft_tokens))


def _normalise(name: str) -> str:
    return str(name).strip().lower()


@functools.cache
def draft_pairs() -> tuple[DraftPair, ...]:
    """Every known pair from ``core/data/draft_pairs.toml``, in file order."""
    text = resources.files("core").joinpath("data/draft_pairs.toml").read_text(encoding="utf-8")
    pairs = []
    for entry in tomllib.loads(text)["pairs"]:
        algorithm = str(entry["algorithm"]).upper()
        if algorithm not in ALGORITHMS:
            raise ValueError(f"draft_pairs.toml: unknown algorithm {entry['algorithm']!r}")
        pairs.append(
            DraftPair(
                target=str(entry["target"]),
                aliases=tuple(str(a) for a in entry.get("aliases", ())),
                algorithm=algorithm,
                draft=str(entry.get("draft", "")),
                source=str(entry["source"]),
                steps=entry.get("steps"),
                topk=entry.get("topk"),
                draft_tokens=entry.get("draft_tokens"),
                default=bool(entry.get("default", False)),
            )
        )
    return tuple(pairs)


def find_draft_pair(model: str, algorithm: str | None = None) -> DraftPair | None:
    """The known pair for ``model`` (and ``algorithm`` when given): the one marked default, else the
    first listed; ``None`` when the target is unknown."""
    wanted = None if algorithm is None else str(algorithm).upper()
    candidates = [p for p in draft_pairs() if p.matches(model) and (wanted is None or p.algorithm == wanted)]
    if not candidates:
        return None
    return next((p for p in candidates if p.default), candidates[0])


def _known_targets(algorithm: str) -> list[str]:
    return sorted({p.target for p in draft_pairs() if p.algorithm == algorithm})


# --------------------------------------------------------------------------------------------------
# The command


@dataclass(frozen=True)
class LaunchSpec:
    """What to serve. ``algorithm`` ``None`` (or ``baseline=True``) means plain decoding.

    ``mem_fraction_static``: fraction of GPU memory for weights + KV cache (0..1). ``tp_size`` /
    ``pp_size``: tensor / pipeline parallel degree. ``simulate_accept_length``: sets SGLang's
    ``SGLANG_SIMULATE_ACC_LEN`` so a real server simulates that accept length (a workshop demo).
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


@dataclass(frozen=True)
class LaunchCommand:
    """The command: ``argv`` (to run), ``text`` (to show, line-continued), ``env`` (variables to set
    before it), and ``notes`` / ``warnings`` explaining what SGLang will do."""

    argv: list[str]
    text: str
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    draft_pair: DraftPair | None = None


_FLAG_EXPLANATIONS = {
    "--model-path": "The target model to serve: a Hugging Face id or a local folder.",
    "--port": "HTTP port of the server (SGLang's default is 30000).",
    "--host": "Address to listen on (default 127.0.0.1; 0.0.0.0 exposes it to the network).",
    "--speculative-algorithm": "Turns speculation on: EAGLE, EAGLE3, NEXTN, STANDALONE or NGRAM.",
    "--speculative-draft-model-path": "The draft model (EAGLE head or small LM) proposing tokens; "
    "--speculative-draft-model is only an alias.",
    "--speculative-num-steps": "Draft depth: sequential draft forward passes per verify (max accepted drafts).",
    "--speculative-eagle-topk": "Branching: candidates kept per draft step; 1 = a chain, more = a tree.",
    "--speculative-num-draft-tokens": "Draft tokens the target verifies per pass (tree size, incl. the root).",
    "--mem-fraction-static": "Share of GPU memory for weights and KV cache; lower it if the server runs out "
    "of memory.",
    "--cuda-graph-max-bs": "Largest batch captured in CUDA graphs (newest SGLang: --cuda-graph-max-bs-decode).",
    "--max-running-requests": "Most requests decoded at once; speculation caps it at 48 unless set.",
    "--tp-size": "Tensor parallelism: GPUs one model is split across.",
    "--pp-size": "Pipeline parallelism: incompatible with speculative decoding.",
    "--trust-remote-code": "Allow model code from the hub (some models, e.g. DeepSeek, need it).",
    "SGLANG_SIMULATE_ACC_LEN": "Environment variable: the server simulates this accept length instead of "
    "the real one (to demo how accept length drives speed).",
}


def flag_explanations() -> dict[str, str]:
    """One-line meaning of each flag the builder can emit (a new dict each call)."""
    return dict(_FLAG_EXPLANATIONS)


def _check_positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or float(value) != int(value):
        raise LaunchRuleError(f"{name} must be a whole number, got {value!r}")
    if int(value) < minimum:
        raise LaunchRuleError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def _format(argv: list[str], env: dict[str, str]) -> str:
    """``python -m sglang.launch_server`` on the first line, then one flag (with its value) per line."""
    prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    head = " ".join(shlex.quote(a) for a in argv[:3])
    lines = [f"{prefix} {head}" if prefix else head]
    i = 3
    while i < len(argv):
        if i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            lines.append(f"{argv[i]} {shlex.quote(argv[i + 1])}")
            i += 2
        else:
            lines.append(argv[i])
            i += 1
    return " \\\n    ".join(lines)


def build_launch_command(spec: LaunchSpec) -> LaunchCommand:
    """The SGLang launch command for ``spec``, applying and explaining SGLang's rules.

    Raises :class:`LaunchRuleError` for a setting SGLang would reject that cannot be fixed here (unknown
    algorithm, missing draft for an unknown target, draft tokens that do not fit the tree, speculation
    with pipeline parallelism, ...).
    """
    model = str(spec.model or "").strip()
    if not model:
        raise LaunchRuleError("--model is required: a Hugging Face id or a local folder")
    port = _check_positive_int("--port", spec.port)
    if port > 65535:
        raise LaunchRuleError(f"--port must be between 1 and 65535, got {spec.port!r}")
    tp = _check_positive_int("--tp-size", spec.tp_size)
    pp = _check_positive_int("--pp-size", spec.pp_size)
    notes: list[str] = []
    warnings: list[str] = []
    env: dict[str, str] = {}
    argv = ["python", "-m", "sglang.launch_server", "--model-path", model, "--port", str(port)]
    if spec.host:
        argv += ["--host", str(spec.host)]
    if tp > 1:
        argv += ["--tp-size", str(tp)]
    if pp > 1:
        argv += ["--pp-size", str(pp)]
    if spec.trust_remote_code:
        argv.append("--trust-remote-code")

    algorithm = None if spec.baseline or spec.algorithm in (None, "") else str(spec.algorithm).strip().upper()
    pair = None
    if algorithm is None:
        given = [
            name
            for name, value in (
                ("--draft-model", spec.draft_model),
                ("--steps", spec.num_steps),
                ("--topk", spec.eagle_topk),
                ("--draft-tokens", spec.num_draft_tokens),
                ("--simulate-accept-length", spec.simulate_accept_length),
            )
            if value not in (None, "")
        ]
        if given:
            raise LaunchRuleError(
                f"{', '.join(given)} only apply to speculative serving; add --algorithm (e.g. EAGLE3) or drop them"
            )
        notes.append("Baseline: plain decoding, no speculation (the reference to measure speedups against).")
        suggestion = find_draft_pair(model)
        if suggestion is not None and not spec.baseline:
            notes.append(
                f"For speculation on this model, add --algorithm {suggestion.algorithm} "
                f"(known draft: {suggestion.draft or 'none needed'})."
            )
    else:
        if algorithm == "LOOKAHEAD":
            raise LaunchRuleError(
                "LOOKAHEAD was renamed NGRAM in SGLang (2025-09) and the old name is now rejected; use NGRAM"
            )
        if algorithm not in ALGORITHMS:
            raise LaunchRuleError(
                f"unknown speculative algorithm {spec.algorithm!r}; choose one of {', '.join(ALGORITHMS)}"
            )
        if pp > 1:
            raise LaunchRuleError(
                "speculative decoding is incompatible with pipeline parallelism (--pp-size > 1) in SGLang; "
                "use tensor parallelism (--tp-size) or serve without speculation"
            )
        argv += ["--speculative-algorithm", algorithm]
        draft = (spec.draft_model or "").strip() or None
        if algorithm in _NEEDS_DRAFT:
            if draft is None:
                pair = find_draft_pair(model, algorithm)
                if pair is None:
                    known = ", ".join(_known_targets(algorithm)) or "none"
                    raise LaunchRuleError(
                        f"{algorithm} needs a draft model and none is known for {model!r}; pass --draft-model "
                        f"(known {algorithm} targets: {known})"
                    )
                draft = pair.draft
                notes.append(f"Draft model {draft} for {pair.target} ({pair.source}).")
            argv += ["--speculative-draft-model-path", draft]
        else:
            if draft is not None:
                warnings.append(
                    f"{algorithm} takes no draft model ("
                    + (
                        "it uses the model's own multi-token-prediction layer"
                        if algorithm == "NEXTN"
                        else "it drafts from n-grams already in the context"
                    )
                    + f"); dropped --draft-model {draft}."
                )
            if algorithm == "NEXTN":
                notes.append(
                    "NEXTN is SGLang's alias of EAGLE using the model's own MTP layer (e.g. DeepSeek V3/R1)."
                )
                pair = find_draft_pair(model, algorithm)
            else:
                notes.append(
                    "NGRAM builds drafts from n-grams already in the prompt and output; no draft model."
                )
        knobs = resolve_spec_params(model, spec.num_steps, spec.eagle_topk, spec.num_draft_tokens)
        notes += knobs.notes
        warnings += knobs.warnings
        if not knobs.auto:
            argv += [
                "--speculative-num-steps",
                str(knobs.num_steps),
                "--speculative-eagle-topk",
                str(knobs.eagle_topk),
                "--speculative-num-draft-tokens",
                str(knobs.num_draft_tokens),
            ]
        elif pair is not None and pair.recommended is not None:
            steps, topk, tokens = pair.recommended
            notes.append(
                f"The source of this draft uses steps/topk/draft tokens {steps}/{topk}/{tokens}: "
                f"add --steps {steps} --topk {topk} --draft-tokens {tokens} to use them."
            )
        if spec.max_running_requests is None:
            notes.append(
                f"With speculation SGLang caps --max-running-requests at {_SPECULATIVE_MAX_RUNNING} unless set; "
                "pass --max-running-requests N for more concurrent requests."
            )
        notes.append("Speculation also turns mixed chunked prefill off.")
        if spec.simulate_accept_length is not None:
            value = float(spec.simulate_accept_length)
            top = knobs.max_accepted_drafts + 1
            if not (math.isfinite(value) and 1.0 <= value <= top):
                raise LaunchRuleError(
                    f"--simulate-accept-length must lie between 1 and steps + 1 = {top} (it includes the bonus "
                    f"token), got {spec.simulate_accept_length!r}"
                )
            env["SGLANG_SIMULATE_ACC_LEN"] = f"{value:g}"
            warnings.append(
                f"SGLANG_SIMULATE_ACC_LEN={value:g}: the server fakes this accept length, so its speed is a "
                "simulation on real hardware, not the draft's real acceptance."
            )
        notes.append(
            "If the server runs out of memory: lower --mem-fraction-static (docs examples use 0.7), then "
            "--cuda-graph-max-bs (docs examples use 8), then shrink the tree to 3/1/4, then lower "
            "--max-running-requests."
        )
    if spec.mem_fraction_static is not None:
        fraction = float(spec.mem_fraction_static)
        if not (math.isfinite(fraction) and 0.0 < fraction < 1.0):
            raise LaunchRuleError(
                f"--mem-fraction-static is a fraction of GPU memory between 0 and 1, got {spec.mem_fraction_static!r}"
            )
        argv += ["--mem-fraction-static", f"{fraction:g}"]
    if spec.cuda_graph_max_bs is not None:
        argv += [
            "--cuda-graph-max-bs",
            str(_check_positive_int("--cuda-graph-max-bs", spec.cuda_graph_max_bs)),
        ]
        notes.append(
            "Newest SGLang renames --cuda-graph-max-bs to --cuda-graph-max-bs-decode (old name accepted)."
        )
    if spec.max_running_requests is not None:
        argv += [
            "--max-running-requests",
            str(_check_positive_int("--max-running-requests", spec.max_running_requests)),
        ]
    return LaunchCommand(
        argv=argv, text=_format(argv, env), notes=notes, warnings=warnings, env=env, draft_pair=pair
    )
