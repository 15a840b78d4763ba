"""Loading the shipped tiny models (``core/data/tiny_models/``): tokenizer, target, drafts, manifest."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import numpy as np

from core.tiny_models.kernels import warm_up
from core.tiny_models.model import EagleHead, Transformer, TransformerConfig
from core.tiny_models.tokenizer import BPETokenizer


@dataclass(frozen=True)
class TinyModels:
    """Everything inference needs; read-only after loading, so one copy serves every thread."""

    tokenizer: BPETokenizer
    target: Transformer
    standalone: Transformer
    eagle: EagleHead
    manifest: dict


MODELS_DIR_ENV = "SPECLAB_TINY_MODELS_DIR"


def shipped_dir() -> Path:
    """The folder of the weights: ``$SPECLAB_TINY_MODELS_DIR`` if set (tests, retrained models), else the
    ones that ship in the repository."""
    override = os.environ.get(MODELS_DIR_ENV)
    return Path(override) if override else Path(str(files("core") / "data" / "tiny_models"))


def _npz(path: Path) -> dict[str, np.ndarray]:
    """Weights as float32 (stored as float16); integer arrays (token ids) stay integers."""
    with np.load(path) as data:
        return {
            k: data[k] if np.issubdtype(data[k].dtype, np.integer) else data[k].astype(np.float32)
            for k in data.files
        }


def load_models_from(folder: Path) -> TinyModels:
    """Load a folder written by ``speclab train-models``; ``FileNotFoundError`` names what is missing."""
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    if not manifest_path.exists():
        raise FileNotFoundError(f"no tiny models in {folder} (run: speclab train-models)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    models = manifest["models"]
    target = Transformer(TransformerConfig(**models["target"]["config"]), _npz(folder / "target.npz"))
    standalone = Transformer(
        TransformerConfig(**models["standalone"]["config"]), _npz(folder / "standalone.npz")
    )
    eagle = EagleHead(target, _npz(folder / "eagle.npz"))
    tokenizer = BPETokenizer.load(folder / "tokenizer.json")
    warm_up()  # compile the kernels now, not during a learner's first request
    return TinyModels(tokenizer, target, standalone, eagle, manifest)


def load_models() -> TinyModels:
    """The shipped models (see ``shipped_dir``), loaded once per process and folder."""
    return _load_cached(str(shipped_dir()))


@lru_cache(maxsize=2)
def _load_cached(folder: str) -> TinyModels:
    return load_models_from(Path(folder))
