"""The informational endpoints' bodies: ``/server_info``, ``/model_info``, ``/v1/models``, ``/metrics``.

``/server_info`` has SGLang's shape (``sglang/srt/utils/common.py`` ``build_server_info``): every
resolved server argument at top level (NEXTN shows as EAGLE), ``internal_states`` with the lifetime
``avg_spec_accept_length`` (only when speculating and refreshed at least once) and
``last_gen_throughput``, ``version`` at top level. The practice server adds
``"speclab_practice_server": true`` and ``speclab_engine`` (what makes the tokens, and whether its
timing is measured or simulated); the synthetic engine's details are also under ``speclab_simulation``.
"""

from __future__ import annotations

from core.serving.practice_server.generation import ServerContext
from core.serving.practice_server.protocol import ModelCard, ModelList

__all__ = ["metrics_text", "model_info", "models", "server_info"]


def _internal_state(ctx: ServerContext) -> dict:
    stats = ctx.engine.stats()
    state: dict = {"last_gen_throughput": stats.last_gen_throughput}
    if ctx.engine.info.speculative is not None and stats.avg_spec_accept_length is not None:
        state["avg_spec_accept_length"] = stats.avg_spec_accept_length
    return state


def _engine_facts(ctx: ServerContext) -> dict:
    info = ctx.engine.info
    return {
        "name": ctx.config.engine,
        "timing": info.timing,
        "description": info.description,
        "vocab_size": info.vocab_size,
    }


def server_info(ctx: ServerContext) -> dict:
    """What ``GET /server_info`` returns."""
    info, c = ctx.engine.info, ctx.config
    spec = info.speculative
    max_running = info.details.get("max_running_requests") or c.max_running_requests
    body = {
        "model_path": info.model_id,
        "tokenizer_path": info.model_id,
        "served_model_name": info.model_id,
        "host": ctx.host,
        "port": ctx.port,
        "context_length": info.context_length,
        "api_key": "<redacted>" if c.api_key else None,
        "speculative_algorithm": spec.algorithm if spec else None,
        "speculative_draft_model_path": spec.draft_model_path if spec else None,
        "speculative_num_steps": spec.num_steps if spec else None,
        "speculative_eagle_topk": spec.eagle_topk if spec else None,
        "speculative_num_draft_tokens": spec.num_draft_tokens if spec else None,
        "max_running_requests": max_running,
        # 0.5.23 turns the overlap scheduler off for speculation only on CPU (review #6).
        "disable_overlap_schedule": False,
        "enable_mixed_chunk": False,
        "incremental_streaming_output": c.incremental_output,
        "enable_metrics": c.enable_metrics,
        "tp_size": 1,
        "dp_size": 1,
        "pp_size": 1,
        "version": "speclab-practice",
        "internal_states": [_internal_state(ctx)],
        "speclab_practice_server": True,
        "speclab_engine": _engine_facts(ctx),
    }
    if info.timing == "simulated":
        body["speclab_simulation"] = dict(info.details)
    return body


def model_info(ctx: ServerContext) -> dict:
    """What ``GET /model_info`` returns."""
    model = ctx.engine.info.model_id
    return {
        "model_path": model,
        "tokenizer_path": model,
        "is_generation": True,
        "preferred_sampling_params": None,
        "weight_version": "default",
        "has_image_understanding": False,
        "has_audio_understanding": False,
        "speclab_practice_server": True,
    }


def models(ctx: ServerContext) -> dict:
    """What ``GET /v1/models`` returns."""
    info = ctx.engine.info
    card = ModelCard(
        id=info.model_id, created=int(ctx.started_at), root=info.model_id, max_model_len=info.context_length
    )
    return ModelList(data=[card]).model_dump()


def _metric(lines: list[str], name: str, kind: str, help_text: str, label: str, value: float) -> None:
    lines += [
        f"# HELP {name} {help_text}",
        f"# TYPE {name} {kind}",
        f'{name}{{model_name="{label}"}} {value}',
    ]


def metrics_text(ctx: ServerContext) -> str:
    """Prometheus text like SGLang's ``/metrics`` (speculation gauges over the last refresh interval)."""
    stats = ctx.engine.stats()
    label = ctx.engine.info.model_id
    lines: list[str] = []
    _metric(
        lines,
        "sglang:gen_throughput",
        "gauge",
        "The generation throughput (token/s).",
        label,
        stats.last_gen_throughput,
    )
    _metric(
        lines,
        "sglang:generation_tokens_total",
        "counter",
        "Number of generation tokens processed.",
        label,
        float(stats.generation_tokens_total),
    )
    if ctx.engine.info.speculative is not None:
        length = stats.interval_accept_length or 0.0
        rate = stats.interval_accept_rate or 0.0
        _metric(
            lines,
            "sglang:spec_accept_length",
            "gauge",
            "The average acceptance length of speculative decoding.",
            label,
            length,
        )
        _metric(
            lines,
            "sglang:spec_accept_rate",
            "gauge",
            "The average acceptance rate of speculative decoding.",
            label,
            rate,
        )
        _metric(
            lines,
            "sglang:spec_verify_calls_total",
            "counter",
            "Number of speculative verify calls.",
            label,
            float(stats.verify_passes_total),
        )
    return "\n".join(lines) + "\n"
