"""Training the tokenizer, the target, the STANDALONE draft and the EAGLE head (optional extra ``train``).

Needs ``torch`` and ``tokenizers`` (``pip install 'speclab[train]'``); inference never imports this
module. Everything is drawn from one seed: the same seed, corpus and library versions give the same
weights on the same machine. The drafts learn from the target (distillation on its next-token
distribution; the EAGLE head also regresses the target's next hidden state), which is what makes their
guesses agree with the target's.
"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.tiny_models.corpus import assemble_corpus
from core.tiny_models.model import TransformerConfig
from core.tiny_models.panel_matmul import LANES
from core.tiny_models.tokenizer import END_OF_TEXT, PRETOKEN_PATTERN, BPETokenizer


class TrainingExtraMissing(RuntimeError):
    """``torch`` or ``tokenizers`` is not installed."""


def _require_extras():
    try:
        import tokenizers
        import torch
    except ImportError as exc:
        raise TrainingExtraMissing(
            f"training needs the optional extra: pip install 'speclab[train]' ({exc.name} is missing)"
        ) from exc
    return torch, tokenizers


@dataclass(frozen=True)
class Plan:
    """What to train: sizes in tokens/positions, steps of ``batch`` sequences of ``context`` tokens."""

    vocab_size: int
    context: int
    batch: int
    target: TransformerConfig
    draft: TransformerConfig
    target_steps: int
    draft_steps: int
    eagle_steps: int
    learning_rate: float = 3e-3


DRAFT_VOCAB_SHARE = 4  # the EAGLE head drafts from the most frequent quarter of the vocabulary


def make_plan(quick: bool) -> Plan:
    """The full plan (about 20 minutes on 2 free cores) or the miniature one for tests (seconds)."""
    if quick:
        v, ctx = 320, 128
        return Plan(
            v, ctx, 8, TransformerConfig(v, 32, 1, 2, ctx), TransformerConfig(v, 16, 1, 1, ctx), 6, 4, 4
        )
    v, ctx = 4096, 256
    return Plan(
        v, ctx, 16, TransformerConfig(v, 256, 4, 4, ctx), TransformerConfig(v, 96, 1, 2, ctx), 800, 128, 200
    )


# --- tokenizer -------------------------------------------------------------------------------------


def _bytes_of_symbol() -> dict[str, int]:
    """GPT-2's map from the printable stand-in characters of byte-level BPE back to byte values."""
    printable = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    chars, extra = list(printable), 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


def train_tokenizer(texts: list[str], vocab_size: int):
    """Train byte-level BPE; returns (our pure-Python ``BPETokenizer``, the ``tokenizers`` one)."""
    _, tk = _require_extras()
    from tokenizers import Regex, models, pre_tokenizers, trainers

    hf = tk.Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKEN_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[END_OF_TEXT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    hf.train_from_iterator(texts, trainer=trainer)
    return _from_hf(hf), hf


def _from_hf(hf) -> BPETokenizer:
    to_byte = _bytes_of_symbol()
    vocab = hf.get_vocab()
    tokens = [b""] * len(vocab)
    for symbol, i in vocab.items():
        tokens[i] = b"" if symbol == END_OF_TEXT else bytes(to_byte[c] for c in symbol)
    merges_raw = json.loads(hf.to_str())["model"]["merges"]
    merges = []
    for m in merges_raw:
        left, right = m.split(" ") if isinstance(m, str) else m
        merges.append((vocab[left], vocab[right], vocab[left + right]))
    return BPETokenizer(tokens=tokens, merges=merges)


def encode_stream(hf, texts: list[str]) -> np.ndarray:
    """All texts encoded and joined, each followed by the end-of-text token (int32)."""
    parts = [np.zeros(0, dtype=np.int32)]
    for enc in hf.encode_batch(texts):
        parts.append(np.asarray(enc.ids, dtype=np.int32))
        parts.append(np.zeros(1, dtype=np.int32))
    return np.concatenate(parts)


def hot_token_ids(train_ids: np.ndarray, vocab_size: int, size: int) -> tuple[np.ndarray, float]:
    """The ``size`` most frequent token ids of the training tokens (ties: lower id first), ascending, and
    the share of training tokens they cover: the EAGLE head's draft vocabulary (FR-Spec, Zhao et al.
    2025, arXiv:2502.14856; SGLang's ``--speculative-token-map``)."""
    counts = np.bincount(np.asarray(train_ids, dtype=np.int64), minlength=vocab_size)
    order = np.lexsort((np.arange(vocab_size), -counts))[:size]
    return np.sort(order).astype(np.int32), float(counts[order].sum() / max(1, counts.sum()))


# --- run -------------------------------------------------------------------------------------------


def train_all(quick: bool, seed: int, out: Path, log=print) -> dict:
    """Train everything, write ``tokenizer.json``, ``*.npz`` (float16) and ``manifest.json`` to ``out``."""
    torch, _ = _require_extras()
    from core.tiny_models import training_torch as tt

    started = time.perf_counter()
    plan = make_plan(quick)
    corpus = assemble_corpus(quick=quick)
    tokenizer, hf = train_tokenizer(corpus.texts(held_out=False), plan.vocab_size)
    train_ids = encode_stream(hf, corpus.texts(held_out=False))
    held_ids = encode_stream(hf, corpus.texts(held_out=True))
    if len(held_ids) < 4 * (plan.context + 1):  # a miniature corpus may draw no held-out document
        cut = len(train_ids) - 4 * (plan.context + 1)
        train_ids, held_ids = train_ids[:cut], train_ids[cut:]
    log(f"corpus {corpus.digest[:12]}: {len(train_ids)} training tokens, {len(held_ids)} held out")
    out.mkdir(parents=True, exist_ok=True)
    (out / "tokenizer.json").write_text(tokenizer.to_json(), encoding="utf-8")
    torch.manual_seed(seed)
    models = tt.train_models(torch, plan, train_ids, held_ids, seed, log)
    draft_vocab = plan.vocab_size // DRAFT_VOCAB_SHARE // LANES * LANES  # inference packs outputs in LANES
    hot_ids, coverage = hot_token_ids(train_ids, plan.vocab_size, draft_vocab)
    models["eagle"]["draft_vocab"] = {
        "size": int(len(hot_ids)),
        "training_token_coverage": round(coverage, 4),
    }
    for name, entry in models.items():
        arrays = {k: v.astype(np.float16) for k, v in entry["weights"].items()}
        if name == "eagle":
            arrays["hot_ids"] = hot_ids  # int32: float16 cannot hold ids above 2048
        np.savez_compressed(out / f"{name}.npz", **arrays)
    manifest = {
        "format": 1,
        "seed": seed,
        "quick": quick,
        "corpus": {"digest": corpus.digest, "python": platform.python_version(), **corpus.make_up()},
        "tokenizer": {"vocab_size": tokenizer.vocab_size, "pattern": PRETOKEN_PATTERN},
        "tokens": {"train": int(len(train_ids)), "held_out": int(len(held_ids))},
        "models": {name: {k: v for k, v in e.items() if k != "weights"} for name, e in models.items()},
        "training_seconds": round(time.perf_counter() - started, 1),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "argv": sys.argv[1:],
        "learning_rate": plan.learning_rate,
        "batch": plan.batch,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    log(f"done in {manifest['training_seconds']} s")
    return manifest


def cosine_lr(step: int, steps: int, peak: float) -> float:
    """Linear warm-up over the first tenth of the steps, then cosine decay to a tenth of ``peak``."""
    warm = max(1, steps // 10)
    if step < warm:
        return peak * (step + 1) / warm
    frac = (step - warm) / max(1, steps - warm)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
