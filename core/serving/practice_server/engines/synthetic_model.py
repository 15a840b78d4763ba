"""The synthetic engine's "model": its word vocabulary, tokenizer, chat template and step times.

Nothing here runs a model. Tokens are words from a fixed list, picked by a seeded random generator (same
prompt, same text); the time of a step comes from :mod:`core.simulation.cost_model` (a roofline model of
one GPU); the draft tokens a verify pass accepts come from the Monte Carlo in
:mod:`core.simulation.montecarlo` with an acceptance rate chosen by the prompt's category. All of it is
SIMULATED, and the engine says so.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Sequence

from core.serving.prompt_suite import UNKNOWN_CATEGORY, category_of
from core.simulation import cost_model

__all__ = ["SyntheticTiming", "SyntheticTokenizer", "sample_accepted", "stable_seed"]

EOS_TOKEN_ID = 128009  # Llama 3's <|eot_id|>; the simulated model "emits" it to stop
VOCAB_SIZE = 128256  # Llama 3's vocabulary size, so token ids look like a Llama's
_FIRST_WORD_ID = 1000
_FIRST_OTHER_ID = 5000  # prompt words outside the list get a stable id from here up
_SPECIAL_IDS = {"<|begin_of_text|>": 128000, "<|eot_id|>": EOS_TOKEN_ID}
_PREFILL_CHUNK_TOKENS = 4096  # the cost model's most tokens per sequence in one forward pass
_TOKEN_RE = re.compile(r"<\|\w+\|>|\w+|[^\w\s]")
_ROLE_RE = re.compile(r"<\|(\w+)\|> ")
_WORDS = (
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "with",
    "was",
    "on",
    "be",
    "by",
    "this",
    "are",
    "from",
    "at",
    "or",
    "an",
    "which",
    "not",
    "have",
    "has",
    "one",
    "all",
    "can",
    "more",
    "their",
    "will",
    "other",
    "about",
    "into",
    "than",
    "its",
    "only",
    "some",
    "time",
    "two",
    "may",
    "then",
    "these",
    "also",
    "first",
    "use",
    "model",
    "token",
    "draft",
    "target",
    "verify",
    "accept",
    "speed",
    "batch",
    "server",
    "memory",
    "cache",
    "layer",
    "tree",
    "chain",
    "step",
    "pass",
    "count",
    "list",
    "code",
    "function",
    "value",
    "return",
    "print",
    "data",
    "table",
    "query",
    "result",
    "order",
    "sum",
    "loop",
    "index",
    "string",
    "river",
    "mountain",
    "lantern",
    "velvet",
    "comet",
    "orchard",
    "harbor",
    "whisper",
    "meadow",
    "ember",
    "tide",
    "crystal",
    "glacier",
    "echo",
    "story",
    "poem",
    "dream",
    "silver",
    "garden",
    "forest",
    "window",
    "shadow",
    "morning",
    "music",
    "color",
    "ocean",
    "light",
    "stone",
    "bridge",
    "quickly",
    "slowly",
    "gently",
    "brightly",
    "softly",
    "clearly",
    "simply",
    "nearly",
    "always",
    "never",
    "often",
    "rarely",
    "here",
    "there",
    "blue",
    "green",
    "red",
    "yellow",
    "purple",
    "orange",
    "golden",
    "quiet",
    "ancient",
    "curious",
    "hidden",
    "gentle",
    "bright",
    "wild",
    "calm",
)


def stable_seed(*parts) -> int:
    """A seed that depends only on ``parts`` (not on Python's per-process hash salt)."""
    digest = hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") & 0x7FFFFFFF


class SyntheticTokenizer:
    """Words and punctuation marks as tokens; ``<|role|>`` markers are one special token each."""

    eos_token_id = EOS_TOKEN_ID
    vocab_size = VOCAB_SIZE

    def __init__(self):
        self._word_ids = {word: _FIRST_WORD_ID + i for i, word in enumerate(_WORDS)}

    def tokenize(self, text: str) -> list[int]:
        """Token ids of ``text``: list words keep their id, other pieces get a stable hashed id."""
        ids = []
        for piece in _TOKEN_RE.findall(text):
            known = self._word_ids.get(piece) or _SPECIAL_IDS.get(piece)
            span = VOCAB_SIZE - 1024 - _FIRST_OTHER_ID
            ids.append(known if known is not None else _FIRST_OTHER_ID + stable_seed(piece) % span)
        return ids

    def detokenize(self, token_ids: Sequence[int]) -> str:
        """Text of ``token_ids``: `` word`` per list word, ``""`` for EOS, `` <id>`` for anything else."""
        return "".join(self.token_text(int(t)) for t in token_ids)

    @staticmethod
    def token_text(token_id: int) -> str:
        """The text one generated token adds (a space and a word)."""
        if token_id == EOS_TOKEN_ID:
            return ""
        index = token_id - _FIRST_WORD_ID
        return f" {_WORDS[index]}" if 0 <= index < len(_WORDS) else f" <{token_id}>"

    @staticmethod
    def word_id(rng: random.Random) -> int:
        """A random word's token id (the synthetic model's next token)."""
        return _FIRST_WORD_ID + rng.randrange(len(_WORDS))

    @staticmethod
    def apply_chat_template(messages: Sequence[dict]) -> str:
        """``<|role|> content`` lines, then ``<|assistant|> `` for the reply (a made-up template)."""
        lines = [f"<|{m.get('role') or 'user'}|> {m.get('content') or ''}" for m in messages]
        return "\n".join([*lines, "<|assistant|> "])

    @staticmethod
    def category_key(prompt: str) -> str:
        """The prompt-suite category of ``prompt`` (for chat: of its last user turn), or "unknown"."""
        category = category_of(prompt)
        if category is None and "<|user|> " in prompt:
            turns = _ROLE_RE.split(prompt)  # ["", role, content, role, content, ...]
            users = [turns[i + 1].rstrip("\n") for i in range(1, len(turns) - 1, 2) if turns[i] == "user"]
            category = category_of(users[-1]) if users else None
        return category or UNKNOWN_CATEGORY


class SyntheticTiming:
    """Step times in model seconds for one (hardware, target, draft) triple, from the cost model.

    ``gamma``: draft tokens priced per verify pass (the tree depth); 0 prices plain decoding.
    Raises ``ValueError`` at once, with the cost model's message, for an unknown preset id.
    """

    def __init__(self, hardware: str, target: str, draft: str, gamma: int):
        self.hardware, self.target, self.draft, self.gamma = hardware, target, draft, int(gamma)
        try:
            self.decode_step_s(1, 128)
            self.prefill_s([128])
        except ValueError as error:
            raise ValueError(f"cost model presets: {error}") from None

    def decode_step_s(self, batch_size: int, context_len: int) -> float:
        """Model seconds of one decode step (one verify pass with speculation) for the whole batch.

        With speculation the cost model prices a chain of ``gamma`` drafts (the tree depth); a wider
        tree (topk > 1) costs somewhat more on a real GPU.
        """
        batch_size, context_len = max(1, int(batch_size)), max(1, int(context_len))
        if self.gamma > 0:
            return float(
                cost_model.speculative_step_time_s(
                    self.hardware, self.target, self.draft, batch_size, context_len, self.gamma
                )
            )
        return float(cost_model.baseline_step_time_s(self.hardware, self.target, batch_size, context_len))

    def prefill_s(self, prompt_lengths: list[int]) -> float:
        """Model seconds to prefill these prompts together: one target forward over all their tokens.

        Prompts longer than the cost model's per-pass limit are prefilled in chunks, as SGLang's chunked
        prefill does.
        """
        count = max(1, len(prompt_lengths))
        per_sequence = max(1, math.ceil(sum(prompt_lengths) / count))
        chunks = math.ceil(per_sequence / _PREFILL_CHUNK_TOKENS)
        tokens = math.ceil(per_sequence / chunks)
        return chunks * float(cost_model.forward_time_s(self.hardware, self.target, count, tokens, 0))


def sample_accepted(alpha: float, gamma: int, n: int, seed: int) -> list[int]:
    """Accepted draft counts (0..gamma) for ``n`` verify passes with i.i.d. acceptance ``alpha``.

    Imported lazily: a plain-decoding server never loads Numba.
    """
    from core.simulation.montecarlo import sample_accepted_counts

    return [int(x) for x in sample_accepted_counts(float(alpha), int(gamma), int(n), int(seed))]
