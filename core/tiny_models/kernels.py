"""Numba kernels of the tiny transformers' inference: one compiled call runs every block of a pass.

The matrix products are ``core.tiny_models.panel_matmul.matmul`` over weights packed at load time
(``panel_matmul.pack``): each weight is read once per pass, however many positions the pass holds, and
each position's numbers are the same whatever the number of positions in the pass, which
``tests/unit/tiny_models/test_model.py`` checks bit for bit: greedy speculative decoding then returns
exactly the plain decoding's tokens. LayerNorm, attention and GELU below run row by row, so they keep
that property too.

The kernels are private; ``core.tiny_models.model`` packs the weights and calls them.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from core.tiny_models.panel_matmul import matmul, pack

_FAST = {"nsz", "arcp", "contract", "afn", "reassoc"}


@njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")
def _layer_norm(x, w, b, out):
    m, d = x.shape
    for i in range(m):
        mean = np.float32(0.0)
        for k in range(d):
            mean += x[i, k]
        mean /= d
        var = np.float32(0.0)
        for k in range(d):
            c = x[i, k] - mean
            var += c * c
        inv = np.float32(1.0) / np.float32(math.sqrt(var / d + np.float32(1e-5)))
        for k in range(d):
            out[i, k] = (x[i, k] - mean) * inv * w[k] + b[k]


@njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")
def _softmax_weights(scores, bits, visible):
    """scores[:visible] -> exp(scores - max) in place, returns their sum. exp by 2^n * 2^f (n whole,
    |f| <= 1/2, 2^f by its Taylor series to degree 7, relative error < 1e-8): no library call, so the
    loop vectorizes."""
    top = np.float32(-np.inf)
    for t in range(visible):
        top = max(top, scores[t])
    for t in range(visible):
        z = max((scores[t] - top) * np.float32(1.4426950408889634), np.float32(-126.0))
        n = -np.int32(np.float32(0.5) - z)
        bits[t] = (n + 127) << 23
        r = (z - np.float32(n)) * np.float32(0.6931471805599453)
        poly = np.float32(1.0) + r * np.float32(1.0 / 7.0)
        poly = np.float32(1.0) + r * np.float32(1.0 / 6.0) * poly
        poly = np.float32(1.0) + r * np.float32(1.0 / 5.0) * poly
        poly = np.float32(1.0) + r * np.float32(1.0 / 4.0) * poly
        poly = np.float32(1.0) + r * np.float32(1.0 / 3.0) * poly
        poly = np.float32(1.0) + r * np.float32(1.0 / 2.0) * poly
        scores[t] = np.float32(1.0) + r * poly
    scale = bits.view(np.float32)
    total = np.float32(0.0)
    for t in range(visible):
        e = scores[t] * scale[t]
        scores[t] = e
        total += e
    return total


@njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")
def _attend(qkv, keys, values, start, n_heads, out):
    """Causal attention of the new positions (their keys and values already in the cache; ``keys`` is
    (d, context), transposed, ``values`` (context, d); head size a multiple of 4)."""
    m = qkv.shape[0]
    d = out.shape[1]
    hd = d // n_heads
    scale = np.float32(1.0 / math.sqrt(hd))
    scores = np.empty(start + m, dtype=np.float32)
    bits = np.empty(start + m, dtype=np.int32)
    acc = np.empty(hd, dtype=np.float32)
    for i in range(m):
        visible = start + i + 1
        for h in range(n_heads):
            lo = h * hd
            q = qkv[i, lo : lo + hd]
            scores[:visible] = 0.0
            for c in range(0, hd, 4):  # keys are stored transposed: vectorize over positions
                q0, q1, q2, q3 = q[c] * scale, q[c + 1] * scale, q[c + 2] * scale, q[c + 3] * scale
                k0, k1 = keys[lo + c, :visible], keys[lo + c + 1, :visible]
                k2, k3 = keys[lo + c + 2, :visible], keys[lo + c + 3, :visible]
                for t in range(visible):
                    scores[t] += q0 * k0[t] + q1 * k1[t] + q2 * k2[t] + q3 * k3[t]
            inv = np.float32(1.0) / _softmax_weights(scores, bits, visible)
            acc[:] = 0.0
            for t in range(visible):
                p = scores[t]
                vt = values[t, lo : lo + hd]
                for c in range(hd):
                    acc[c] += p * vt[c]
            for c in range(hd):
                out[i, lo + c] = acc[c] * inv


@njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")
def _tanh(x):
    """tanh to float32 accuracy by Eigen's rational approximation: no library call, so it vectorizes."""
    x = min(max(x, np.float32(-7.90531110763549805)), np.float32(7.90531110763549805))
    x2 = x * x
    p = x2 * np.float32(-2.76076847742355e-16) + np.float32(2.00018790482477e-13)
    p = x2 * p + np.float32(-8.60467152213735e-11)
    p = x2 * p + np.float32(5.12229709037114e-08)
    p = x2 * p + np.float32(1.48572235717979e-05)
    p = x2 * p + np.float32(6.37261928875436e-04)
    p = x2 * p + np.float32(4.89352455891786e-03)
    q = x2 * np.float32(1.19825839466702e-06) + np.float32(1.18534705686654e-04)
    q = x2 * q + np.float32(2.26843463243900e-03)
    q = x2 * q + np.float32(4.89352518554385e-03)
    return x * p / q


@njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")
def _gelu(x):
    c = np.float32(math.sqrt(2.0 / math.pi))
    m, n = x.shape
    for i in range(m):
        for j in range(n):
            v = x[i, j]
            x[i, j] = (
                np.float32(0.5) * v * (np.float32(1.0) + _tanh(c * (v + np.float32(0.044715) * v * v * v)))
            )


@njit(cache=True, nogil=True, error_model="numpy")
def _blocks(x, start, ln1w, ln1b, wqkv, wproj, ln2w, ln2b, wfc1, wfc2, keys, values, n_heads):
    """Every block, in place on x (m new positions after ``start``); writes their keys and values.
    Matrices are packed panels, stacked per layer (``model._pack_blocks``)."""
    m, d = x.shape
    normed = np.empty((m, d), dtype=np.float32)
    qkv = np.empty((m, 3 * d), dtype=np.float32)
    attended = np.empty((m, d), dtype=np.float32)
    delta = np.empty((m, d), dtype=np.float32)
    hidden = np.empty((m, 4 * d), dtype=np.float32)
    for layer in range(wqkv.shape[0]):
        _layer_norm(x, ln1w[layer], ln1b[layer], normed)
        matmul(normed, wqkv[layer], qkv)
        keys[layer, :, start : start + m] = qkv[:, d : 2 * d].T
        values[layer, start : start + m] = qkv[:, 2 * d :]
        _attend(qkv, keys[layer], values[layer], start, n_heads, attended)
        matmul(attended, wproj[layer], delta)
        x += delta
        _layer_norm(x, ln2w[layer], ln2b[layer], normed)
        matmul(normed, wfc1[layer], hidden)
        _gelu(hidden)
        matmul(hidden, wfc2[layer], delta)
        x += delta


@njit(cache=True, nogil=True, error_model="numpy")
def _logits(x, lnfw, lnfb, head, vocab_size):
    """Final LayerNorm and the output layer (``head``: the tied token embedding, packed as (d, vocab))."""
    normed = np.empty_like(x)
    _layer_norm(x, lnfw, lnfb, normed)
    out = np.empty((x.shape[0], vocab_size), dtype=np.float32)
    matmul(normed, head, out)
    return out


def warm_up() -> None:
    """Compile (or load from Numba's cache) every kernel on tiny inputs, before a first request."""
    d, m = 16, 2
    x = np.ones((m, d), dtype=np.float32)
    ones, zeros = np.ones((1, d), dtype=np.float32), np.zeros((1, d), dtype=np.float32)

    def packed(n_in, n_out):
        return pack(np.full((n_in, n_out), 0.01, dtype=np.float32))[None]

    keys, values = np.zeros((1, d, 4), dtype=np.float32), np.zeros((1, 4, d), dtype=np.float32)
    _blocks(
        x,
        0,
        ones,
        zeros,
        packed(d, 3 * d),
        packed(d, d),
        ones,
        zeros,
        packed(d, 4 * d),
        packed(4 * d, d),
        keys,
        values,
        2,
    )
    out = np.empty((m, d), dtype=np.float32)
    matmul(x, packed(d, d)[0], out)
    _logits(x, ones[0], zeros[0], packed(d, d)[0], d)
