"""Settings of one practice server: :class:`PracticeConfig`, the fault modes, and their validation.

Engine-independent checks live here (ports, times, fault names); each engine checks the settings it
uses itself when it is created (the synthetic engine: cost-model presets, acceptance rates).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

__all__ = [
    "FAULT_MODES",
    "SPEC_META_VERSIONS",
    "PracticeConfig",
    "config_as_dict",
    "model_id_for",
    "validate_config",
]

FAULT_MODES: dict[str, str] = {
    "http500": "every generation request answers HTTP 500 with a JSON error body",
    "http404": "every generation request answers HTTP 404 (wrong path or wrong server)",
    "error_event": 'the stream sends a few tokens, then data: {"error": {"message": ...}}, then [DONE]',
    "malformed_json": "the stream sends a data: line whose JSON is broken, then carries on",
    "malformed_sse": "the stream sends garbage lines that are not server-sent events, then carries on",
    "truncate": "the stream stops mid-way: the connection closes without [DONE]",
    "stall": "the stream stops sending after a few tokens but keeps the connection open for a long time",
    "slow_start": "a long wait before the first token (TTFT of slow_start_s seconds)",
    "redirect": "generation requests answer 302 to another URL (an HTML login page)",
    "huge_response": "a stream far larger than any sane cap (huge_response_bytes, no [DONE] until then)",
    "health_503": "GET /health answers 503, as while the server is starting",
}

# SGLang releases whose final-meta_info spec_* field sets differ (shared/docs/sglang-review.md #12, #13):
# 0.5.5 sends only verify count, accept length and rate; 0.5.9 adds spec_accept_token_num /
# spec_draft_token_num and spec_accept_histogram; 0.5.12-0.5.17 send spec_num_correct_drafts /
# spec_num_proposed_drafts and both histogram names, plus the aliases spec_accepted_drafts /
# spec_proposed_drafts (tokenizer_manager.py:2139-2153 in 0.5.12); 0.5.21+ only the new names.
SPEC_META_VERSIONS = ("0.5.5", "0.5.9", "0.5.12", "0.5.23")


def model_id_for(target: str) -> str:
    """The model id the synthetic engine reports for a cost-model target preset (says "simulated")."""
    return f"speclab-practice/{target}-simulated"


@dataclass
class PracticeConfig:
    """Settings of one practice server. Times are seconds; ``time_scale`` multiplies model time.

    ``engine``: which engine makes the tokens (``"synthetic"``: SIMULATED; see
    :func:`core.serving.practice_server.engine.engine_names`). ``algorithm`` / ``num_steps`` /
    ``eagle_topk`` / ``num_draft_tokens``: SGLang's speculation settings, resolved with SGLang's rules
    (none set means SGLang's automatic choice). ``category_alpha``: the synthetic engine's acceptance
    probability per prompt category (keys as in ``prompts.toml``, plus ``"unknown"``); ``None`` uses the
    illustrative defaults from ``prompts.toml``. ``fixed_ttft_s`` / ``fixed_itl_s`` /
    ``tokens_per_event``: when either time is set, the synthetic engine skips its batching scheduler and
    gives every request exactly this timing (ITL per token; one event per ``tokens_per_event`` tokens
    after a first event of one token). ``spec_meta_version``: which SGLang release's ``spec_*`` field
    set the final ``meta_info`` carries (:data:`SPEC_META_VERSIONS`). ``spec_tokens_details``: the OpenAI
    endpoints honour ``"return_spec_tokens_details": true`` (SGLang 0.5.21+); off, the field is ignored
    as older servers do. ``stats_interval_steps``: decode steps between refreshes of the lifetime
    accept length (SGLang's ``--decode-log-interval``, 40). ``timing``: the tiny engine's clock,
    ``"cpu"`` (wall clock of the real computation, MEASURED) or ``"gpu-model"`` (real tokens and accept
    counts, each pass paced by the cost model for ``hardware`` / ``target``, SIMULATED).
    """

    speculative: bool = False
    engine: str = "synthetic"
    algorithm: str = "EAGLE3"
    draft_model: str | None = None
    num_steps: int | None = None
    eagle_topk: int | None = None
    num_draft_tokens: int | None = None
    hardware: str = "h100-sxm"
    target: str = "llama-3.1-8b"
    draft: str = "eagle3-llama-3.1-8b"
    category_alpha: dict[str, float] | None = None
    time_scale: float = 1.0
    max_running_requests: int | None = None
    fault: str | None = None
    fixed_ttft_s: float | None = None
    fixed_itl_s: float | None = None
    tokens_per_event: int | None = None
    api_key: str | None = None
    incremental_output: bool = False
    seed: int = 0
    port: int = 0
    host: str = "127.0.0.1"
    context_length: int = 131072
    enable_metrics: bool = True
    stats_interval_steps: int = 40
    fault_after_events: int = 3
    slow_start_s: float = 20.0
    stall_s: float = 600.0
    huge_response_bytes: int = 2 * 1024**3
    spec_meta_version: str = "0.5.23"
    spec_tokens_details: bool = False
    timing: str = "cpu"


def validate_config(config: PracticeConfig) -> None:
    """Raise ``ValueError`` with a clear message for settings no engine could serve."""
    c = config
    if c.fault is not None and c.fault not in FAULT_MODES:
        raise ValueError(f"unknown fault mode {c.fault!r}; choose one of: {', '.join(FAULT_MODES)}")
    if c.spec_meta_version not in SPEC_META_VERSIONS:
        raise ValueError(
            f"spec_meta_version must be one of {', '.join(SPEC_META_VERSIONS)}, got {c.spec_meta_version!r}"
        )
    if not (isinstance(c.time_scale, int | float) and math.isfinite(c.time_scale) and c.time_scale >= 0):
        raise ValueError(f"time_scale must be a finite number >= 0, got {c.time_scale!r}")
    if isinstance(c.port, bool) or not isinstance(c.port, int) or not 0 <= c.port <= 65535:
        raise ValueError(f"port must be between 0 and 65535, got {c.port!r}")
    for name in ("fixed_ttft_s", "fixed_itl_s", "slow_start_s", "stall_s"):
        value = getattr(c, name)
        if value is not None and not (math.isfinite(float(value)) and float(value) >= 0):
            raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
    for name in ("stats_interval_steps", "context_length", "huge_response_bytes"):
        if int(getattr(c, name)) < 1:
            raise ValueError(f"{name} must be >= 1, got {getattr(c, name)!r}")
    if c.tokens_per_event is not None and int(c.tokens_per_event) < 1:
        raise ValueError(f"tokens_per_event must be >= 1, got {c.tokens_per_event!r}")
    if c.max_running_requests is not None and int(c.max_running_requests) < 1:
        raise ValueError(f"max_running_requests must be >= 1, got {c.max_running_requests!r}")
    if isinstance(c.seed, bool) or not isinstance(c.seed, int) or c.seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {c.seed!r}")
    if c.api_key is not None and (not isinstance(c.api_key, str) or not c.api_key.strip()):
        raise ValueError("api_key must be a non-empty string (or None for no key)")


def config_as_dict(config: PracticeConfig) -> dict:
    """The config as a plain dict (for display), with the API key hidden."""
    data = asdict(config)
    if data.get("api_key"):
        data["api_key"] = "<redacted>"
    return data
