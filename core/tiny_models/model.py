"""NumPy inference for the tiny decoder-only transformers, with a KV cache.

A GPT-style model: token and learned position embeddings, pre-LayerNorm blocks (causal multi-head
attention, tanh-GELU MLP of 4x width), a final LayerNorm and an output layer tied to the token embedding.
``forward`` takes any number of new tokens at once: one token while decoding, or the last accepted token
plus every drafted one in a single verify pass (the weights are read once for all of them).

The EAGLE-style head (``EagleHead``) reads the target's last hidden state and the next token's embedding
and predicts the next hidden state, which the target's own final LayerNorm and output layer turn into
draft logits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

_GELU_C = np.float32(np.sqrt(2.0 / np.pi))


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
    """Keys and values of every layer for the first ``length`` positions; ``truncate`` rolls back."""

    def __init__(self, n_layers: int, context: int, d_model: int) -> None:
        self.keys = np.zeros((n_layers, context, d_model), dtype=np.float32)
        self.values = np.zeros((n_layers, context, d_model), dtype=np.float32)
        self.length = 0

    @property
    def capacity(self) -> int:
        return self.keys.shape[1]

    def copy(self) -> KVCache:
        """An independent copy (for forking a request)."""
        other = KVCache.__new__(KVCache)
        other.keys, other.values, other.length = self.keys.copy(), self.values.copy(), self.length
        return other

    def truncate(self, length: int) -> None:
        """Forget every position from ``length`` on (rejected drafts)."""
        self.length = min(self.length, int(length))


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(-1, keepdims=True)
    return centred * (1.0 / np.sqrt(var + 1e-5)) * w + b


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(_GELU_C * (x + 0.044715 * x * x * x)))


def _block(x: np.ndarray, w: dict, prefix: str, cache: KVCache, layer: int, n_heads: int) -> np.ndarray:
    """One pre-LN block over ``n`` new positions starting at ``cache.length`` (cache not advanced)."""
    n, d = x.shape
    start = cache.length
    end = start + n
    hd = d // n_heads
    qkv = _layer_norm(x, w[prefix + "ln1.w"], w[prefix + "ln1.b"]) @ w[prefix + "qkv"]
    cache.keys[layer, start:end] = qkv[:, d : 2 * d]
    cache.values[layer, start:end] = qkv[:, 2 * d :]
    q = qkv[:, :d].reshape(n, n_heads, hd).transpose(1, 0, 2)
    k = cache.keys[layer, :end].reshape(end, n_heads, hd).transpose(1, 2, 0)
    v = cache.values[layer, :end].reshape(end, n_heads, hd).transpose(1, 0, 2)
    scores = (q @ k) * np.float32(1.0 / np.sqrt(hd))
    if n > 1:  # causal mask among the new positions; every cached position is visible
        scores[:, :, start:] += np.triu(np.full((n, n), -1e30, dtype=np.float32), 1)
    scores -= scores.max(-1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(-1, keepdims=True)
    attended = (probs @ v).transpose(1, 0, 2).reshape(n, d)
    x = x + attended @ w[prefix + "proj"]
    hidden = _layer_norm(x, w[prefix + "ln2.w"], w[prefix + "ln2.b"]) @ w[prefix + "fc1"]
    return x + _gelu(hidden) @ w[prefix + "fc2"]


class Transformer:
    """A decoder-only transformer; weights are float32 arrays named as ``core.tiny_models.training`` saves."""

    def __init__(self, config: TransformerConfig, weights: dict[str, np.ndarray]) -> None:
        self.config = config
        self.weights = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()}
        self.head = np.ascontiguousarray(self.weights["tok_emb"].T)

    def new_cache(self) -> KVCache:
        c = self.config
        return KVCache(c.n_layers, c.context, c.d_model)

    def output_logits(self, hidden: np.ndarray) -> np.ndarray:
        """Next-token logits (n, vocab) from final-layer hidden states (n, d_model)."""
        w = self.weights
        return _layer_norm(hidden, w["lnf.w"], w["lnf.b"]) @ self.head

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
        for layer in range(self.config.n_layers):
            x = _block(x, w, f"l{layer}.", cache, layer, self.config.n_heads)
        cache.length = start + n
        return self.output_logits(x), x


class EagleHead:
    """EAGLE-style draft head: ``fc`` (2d -> d) on [target hidden, next-token embedding], one block."""

    def __init__(self, target: Transformer, weights: dict[str, np.ndarray]) -> None:
        self.target = target
        self.weights = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()}

    def new_cache(self) -> KVCache:
        c = self.target.config
        return KVCache(1, c.context, c.d_model)

    def forward(self, features: np.ndarray, next_tokens, cache: KVCache) -> tuple[np.ndarray, np.ndarray]:
        """From hidden states h_t and tokens x_{t+1} (n of each), predict h_{t+1}: logits and features."""
        ids = np.asarray(next_tokens, dtype=np.int64)
        n = len(ids)
        if n == 0 or cache.length + n > cache.capacity:
            raise ValueError(f"{cache.length + n} positions do not fit the context of {cache.capacity}")
        joined = np.concatenate([features, self.target.weights["tok_emb"][ids]], axis=1)
        x = joined @ self.weights["fc"]
        x = _block(x, self.weights, "h.", cache, 0, self.target.config.n_heads)
        cache.length += n
        return self.target.output_logits(x), x
