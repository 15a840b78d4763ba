"""Tiny language models the lab trains itself: corpus, tokenizer, transformer target and drafts, and
inference (Numba kernels) with a KV cache, so a room with no GPU can measure real speculative decoding.

Public API: ``load_models()`` (the shipped weights), ``generate(models, prompt_ids, draft, ...)`` and
``DecodeSession`` (pass by pass, each pass a ``PassRecord``: proposed tokens, accepted count, emitted
tokens, seconds, optionally the top candidates of p and q), ``DraftKind`` (STANDALONE, EAGLE, NGRAM),
``tiny_prompt_suite()`` (prompts by category). Training lives in ``training`` (optional extra).

May import: ``core.foundation``.
"""

from core.tiny_models.drafts import DraftKind
from core.tiny_models.speculative import DecodeSession, Generation, PassRecord, generate
from core.tiny_models.weights import TinyModels, load_models, load_models_from

__all__ = [
    "DecodeSession",
    "DraftKind",
    "Generation",
    "PassRecord",
    "TinyModels",
    "generate",
    "load_models",
    "load_models_from",
]
