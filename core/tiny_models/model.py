"""Inference for the tiny decoder-only transformers, with a KV cache (Numba kernels in ``kernels``).

A GPT-style model: token and learned position embeddings, pre-LayerNorm blocks (causal multi-head
attention, tanh-GELU MLP of 4x width), a final LayerNorm and an output layer tied to the token embedding.
``forward`` takes any number of new tokens at once: one token while decoding, or the last accepted
token plus every drafted one in a single verify pass (the weights are read once for all of them).

The EAGLE-style head (``EagleHead``) reads the target's last hidden state and the next token's embedding
and predicts the next hidden state, which the target's own final LayerNorm and output layer turn into
draft logits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from core.tiny_models.kernels import _blocks, _logits
from core.tiny_models.panel_matmul import matmul, pack


@dataclass(frozen=True)
class TransformerConfig:
    """Shape of one model: ``context`` is the longest sequence in tokens (prompt plus output)."""

    vocab_size: int
    d_model: int
    n_layers: int
    n_heads: int
    context: int

    def to_dict(self) -> dict:
        return asdict(self)

    def parameter_count(self) -> int:
        d = self.d_model
        per_layer = 12 * d * d + 4 * d
        return self.vocab_size * d + self.context * d + self.n_layers * per_layer + 2 * d


class KVCache:
    """Keys and values of every layer for the first ``length`` positions; ``truncate`` rolls back.

    Keys are stored transposed, (layer, d_model, position), so attention scores vectorize over positions.
    """

    def __init__(self, n_layers: int, context: int, d_model: int) -> None:
        self.keys = np.zeros((n_layers, d_model, context), dtype=np.float32)
        self.values = np.zeros((n_layers, context, d_model), dtype=np.float32)
        self.length = 0

    @property
    def capacity(self) -> int:
        return self.values.shape[1]

    def copy(self) -> KVCache:
        """An independent copy (for forking a request)."""
        other = KVCache.__new__(KVCache)
        other.keys, other.values, other.length = self.keys.copy(), self.values.copy(), self.length
        return other

    def truncate(self, length: int) -> None:
        """Forget every position from ``length`` on (rejected drafts)."""
        self.length = min(self.length, int(length))


_BLOCK_PARTS = ("ln1.w", "ln1.b", "qkv", "proj", "ln2.w", "ln2.b", "fc1", "fc2")


def _pack_blocks(w: dict[str, np.ndarray], prefixes: list[str]) -> tuple[np.ndarray, ...]:
    """The blocks' weights stacked per kind; matrices (saved as (in, out)) packed by ``panel_matmul.pack``."""
    packed = []
    for part in _BLOCK_PARTS:
        arrays = [w[p + part] if part.startswith("ln") else pack(w[p + part]) for p in prefixes]
        packed.append(np.ascontiguousarray(np.stack(arrays), dtype=np.float32))
    return tuple(packed)


def _run_blocks(x: np.ndarray, packed: tuple, cache: KVCache, n_heads: int) -> np.ndarray:
    """Every block over ``n`` new positions starting at ``cache.length`` (cache not advanced)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    ln1w, ln1b, wqkv, wproj, ln2w, ln2b, wfc1, wfc2 = packed
    _blocks(
        x, cache.length, ln1w, ln1b, wqkv, wproj, ln2w, ln2b, wfc1, wfc2, cache.keys, cache.values, n_heads
    )
    return x


class Transformer:
    """A decoder-only transformer; weights are float32 arrays named as ``core.tiny_models.training`` saves."""

    def __init__(self, config: TransformerConfig, weights: dict[str, np.ndarray]) -> None:
        self.config = config
        self.weights = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()}
        self.head = pack(self.weights["tok_emb"].T)  # tied: logits = h @ tok_emb.T
        self._packed = _pack_blocks(self.weights, [f"l{i}." for i in range(config.n_layers)])

    def new_cache(self) -> KVCache:
        c = self.config
        return KVCache(c.n_layers, c.context, c.d_model)

    def output_logits(self, hidden: np.ndarray) -> np.ndarray:
        """Next-token logits (n, vocab) from final-layer hidden states (n, d_model)."""
        return self.logits_over(hidden, self.head, self.config.vocab_size)

    def logits_over(self, hidden: np.ndarray, head: np.ndarray, size: int) -> np.ndarray:
        """Logits (n, size) through the final LayerNorm and ``head`` (``pack``ed (d_model, size) rows of
        the token embedding: all of them, or a draft vocabulary's)."""
        x = np.ascontiguousarray(hidden, dtype=np.float32)
        return _logits(x, self.weights["lnf.w"], self.weights["lnf.b"], head, size)

    def forward(self, tokens, cache: KVCache) -> tuple[np.ndarray, np.ndarray]:
        """Feed ``tokens`` after the cached ones; returns logits (n, vocab) and hidden states (n, d).

        Raises ``ValueError`` when the sequence would pass the model's context.
        """
        ids = np.asarray(tokens, dtype=np.int64)
        n = len(ids)
        start = cache.length
        if n == 0 or start + n > self.config.context:
            raise ValueError(f"{start + n} tokens do not fit the context of {self.config.context}")
        w = self.weights
        x = w["tok_emb"][ids] + w["pos_emb"][start : start + n]
        x = _run_blocks(x, self._packed, cache, self.config.n_heads)
        cache.length = start + n
        return self.output_logits(x), x


class EagleHead:
    """EAGLE-style draft head: ``fc`` (2d -> d) on [target hidden, next-token embedding], one block.

    Its logits cover only ``draft_ids``, the draft vocabulary (the weights' ``hot_ids``: the most frequent
    training tokens, FR-Spec's idea, SGLang's ``--speculative-token-map``; every token when absent): the
    output layer over all 4,096 tokens would cost as much as the head's block. A target token outside
    the draft vocabulary is never drafted, so the exact rule rejects there and the target supplies it.
    """

    def __init__(self, target: Transformer, weights: dict[str, np.ndarray]) -> None:
        self.target = target
        vocab = target.config.vocab_size
        hot = weights.get("hot_ids")
        ids = np.arange(vocab, dtype=np.int64) if hot is None else np.asarray(hot, dtype=np.int64)
        if len(np.unique(ids)) != len(ids) or ids.min() < 0 or ids.max() >= vocab:
            raise ValueError("the EAGLE head's hot_ids must be distinct token ids of the target's vocabulary")
        self.draft_ids = ids
        self.weights = {
            k: np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items() if k != "hot_ids"
        }
        self._fc = pack(self.weights["fc"])
        self._packed = _pack_blocks(self.weights, ["h."])
        self._draft_head = pack(target.weights["tok_emb"][ids].T)

    def new_cache(self) -> KVCache:
        c = self.target.config
        return KVCache(1, c.context, c.d_model)

    def draft_logits(self, hidden: np.ndarray) -> np.ndarray:
        """Logits (n, len(draft_ids)) over the draft vocabulary, through the target's final LayerNorm."""
        return self.target.logits_over(hidden, self._draft_head, len(self.draft_ids))

    def forward(self, features: np.ndarray, next_tokens, cache: KVCache) -> tuple[np.ndarray, np.ndarray]:
        """From hidden states h_t and tokens x_{t+1} (n of each), predict h_{t+1}: draft logits (over
        ``draft_ids``) and features."""
        ids = np.asarray(next_tokens, dtype=np.int64)
        n = len(ids)
        if n == 0 or cache.length + n > cache.capacity:
            raise ValueError(f"{cache.length + n} positions do not fit the context of {cache.capacity}")
        joined = np.concatenate([features, self.target.weights["tok_emb"][ids]], axis=1)
        x = np.empty((n, self.target.config.d_model), dtype=np.float32)
        matmul(np.ascontiguousarray(joined, dtype=np.float32), self._fc, x)
        x = _run_blocks(x, self._packed, cache, self.target.config.n_heads)
        cache.length += n
        return self.draft_logits(x), x
