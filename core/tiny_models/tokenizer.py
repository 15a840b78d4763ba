"""Byte-level BPE encode and decode from saved merges, in pure Python (no ``tokenizers`` needed).

The merges are learnt by ``core.tiny_models.training`` with the ``tokenizers`` library; this module
applies them the way a byte-level BPE does: split the text into pre-tokens with ``PRETOKEN_PATTERN``,
turn each into its UTF-8 bytes (one token per byte to start with), then merge the adjacent pair of
lowest merge rank until no pair has a merge. Token ``0`` is the end-of-text marker between documents.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

# Python's ``re`` and the Oniguruma engine of ``tokenizers`` read this pattern alike (ASCII classes):
# words with their leading space, numbers of up to 3 digits, runs of punctuation, and whitespace.
PRETOKEN_PATTERN = r" ?[A-Za-z_]+| ?[0-9]{1,3}| ?[^\sA-Za-z_0-9]+|\s+(?!\S)|\s+"
END_OF_TEXT = "<|endoftext|>"


@dataclass
class BPETokenizer:
    """``tokens[i]`` is the bytes of token ``i``; ``merges`` lists ``(left, right, merged)`` by rank."""

    tokens: list[bytes]
    merges: list[tuple[int, int, int]]
    pattern: str = PRETOKEN_PATTERN
    _ranks: dict = field(init=False, repr=False)
    _byte_ids: list[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._ranks = {(a, b): (rank, m) for rank, (a, b, m) in enumerate(self.merges)}
        by_bytes = {t: i for i, t in enumerate(self.tokens)}
        self._byte_ids = [by_bytes[bytes([b])] for b in range(256)]
        self._regex = re.compile(self.pattern)
        self._encode_piece = lru_cache(maxsize=65536)(self._merge_piece)

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    @property
    def end_of_text_id(self) -> int:
        return 0

    def _merge_piece(self, piece: str) -> tuple[int, ...]:
        ids = [self._byte_ids[b] for b in piece.encode("utf-8")]
        while len(ids) > 1:
            best = None
            for i in range(len(ids) - 1):
                found = self._ranks.get((ids[i], ids[i + 1]))
                if found is not None and (best is None or found[0] < best[0]):
                    best = (found[0], found[1], i)
            if best is None:
                break
            _, merged, i = best
            ids[i : i + 2] = [merged]
        return tuple(ids)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (the end-of-text marker is never produced from text)."""
        out: list[int] = []
        for piece in self._regex.findall(text):
            out.extend(self._encode_piece(piece))
        return out

    def decode_bytes(self, ids: list[int]) -> bytes:
        """The raw bytes of ``ids`` (end-of-text contributes nothing)."""
        return b"".join(self.tokens[i] for i in ids if i != 0)

    def decode(self, ids: list[int]) -> str:
        """Text of ``ids``; a multi-byte character cut in half shows as U+FFFD."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def to_json(self) -> str:
        return json.dumps(
            {
                "pattern": self.pattern,
                "tokens": [t.hex() for t in self.tokens],
                "merges": [list(m) for m in self.merges],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> BPETokenizer:
        data = json.loads(text)
        return cls(
            tokens=[bytes.fromhex(t) for t in data["tokens"]],
            merges=[tuple(m) for m in data["merges"]],
            pattern=data["pattern"],
        )

    @classmethod
    def load(cls, path: Path) -> BPETokenizer:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))
