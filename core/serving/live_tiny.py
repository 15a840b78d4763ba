"""The Live benchmark against the lab's tiny models: which servers run them, their prompt suite, and the
small default run that keeps the page snappy.

The tiny models learnt from Python's standard library, so the chat-style suites in ``prompts.toml``
mean little to them; their own suite (``core/data/tiny_prompts.toml``: code, docstrings, prose, text to
copy) is what a run against them sends by default. Its accept lengths are measured, never configured.

Public API: :func:`is_tiny_server`, :func:`tiny_suite_pairs`, :func:`tiny_categories`,
:data:`TINY_SUITE`, :data:`TINY_RUN_DEFAULTS`.
"""

from __future__ import annotations

from types import MappingProxyType

from core.serving.sglang_client import ServerInfo
from core.tiny_models.suite import tiny_prompt_suite

__all__ = ["TINY_RUN_DEFAULTS", "TINY_SUITE", "is_tiny_server", "tiny_categories", "tiny_suite_pairs"]

#: The name the run section shows for the tiny models' suite.
TINY_SUITE = "tiny models (standard-library text)"
#: Model ids of the tiny engine start with this (``core.serving.practice_server.engines.tiny``).
_TINY_MODEL_PREFIX = "speclab-tiny/"
#: A run that covers the whole 24-prompt suite once with short answers, 4 in flight: a few seconds on a
#: 2-core CPU, so every learner's first token stays well under a second.
TINY_RUN_DEFAULTS = MappingProxyType({"requests": 24, "concurrency": 4, "max_tokens": 32})


def is_tiny_server(info: ServerInfo | None) -> bool:
    """True when the server is a practice server running the lab's tiny models."""
    return bool(info is not None and info.model_path and info.model_path.startswith(_TINY_MODEL_PREFIX))


def tiny_suite_pairs(categories: tuple[str, ...] | list[str] = ()) -> tuple[tuple[str, str], ...]:
    """(category, prompt) of every prompt of the tiny suite, in file order; only ``categories`` if given."""
    wanted = set(categories)
    return tuple((p.category, p.text) for p in tiny_prompt_suite() if not wanted or p.category in wanted)


def tiny_categories() -> dict[str, str]:
    """Category key -> its label, in file order."""
    out: dict[str, str] = {}
    for prompt in tiny_prompt_suite():
        out.setdefault(prompt.category, prompt.label)
    return out
