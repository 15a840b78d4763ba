"""Tiny language models the lab trains itself: corpus, tokenizer, transformer target and drafts, and
NumPy inference with a KV cache, so a room with no GPU can measure real speculative decoding.

May import: ``core.foundation``.
"""
