"""Add the EAGLE head's draft vocabulary to a folder of tiny models trained before it existed.

Run ``python scripts/tiny_draft_vocab.py [FOLDER]`` (default: the shipped ``core/data/tiny_models``).
``speclab train-models`` writes the draft vocabulary itself; this script gives weights trained earlier
the same one, computed the same way: the folder's corpus, rebuilt from this Python's standard library,
encoded with the folder's tokenizer, then ``training.hot_token_ids``. It refuses when the corpus digest
or the training token count differ from the manifest's (another Python release, another tokenizer), and
changes no weight: it adds ``hot_ids`` to ``eagle.npz`` and ``draft_vocab`` to the manifest.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.tiny_models.corpus import assemble_corpus  # noqa: E402
from core.tiny_models.tokenizer import BPETokenizer  # noqa: E402
from core.tiny_models.training import DRAFT_VOCAB_SHARE, hot_token_ids  # noqa: E402
from core.tiny_models.weights import shipped_dir  # noqa: E402


def training_tokens(tokenizer: BPETokenizer, texts: list[str]) -> np.ndarray:
    """As ``training.encode_stream``: every text's ids, each followed by the end-of-text token."""
    ids: list[int] = []
    for text in texts:
        ids.extend(tokenizer.encode(text))
        ids.append(tokenizer.end_of_text_id)
    return np.asarray(ids, dtype=np.int32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=shipped_dir())
    folder = parser.parse_args().folder
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    corpus = assemble_corpus(quick=manifest["quick"])
    if corpus.digest != manifest["corpus"]["digest"]:
        print(f"error: this Python's corpus ({corpus.digest[:12]}) is not the folder's", file=sys.stderr)
        return 2
    tokenizer = BPETokenizer.load(folder / "tokenizer.json")
    ids = training_tokens(tokenizer, corpus.texts(held_out=False))
    if len(ids) != manifest["tokens"]["train"]:
        print(
            f"error: {len(ids)} training tokens, the manifest says {manifest['tokens']['train']}",
            file=sys.stderr,
        )
        return 2
    vocab = tokenizer.vocab_size
    hot, coverage = hot_token_ids(ids, vocab, vocab // DRAFT_VOCAB_SHARE // 16 * 16)
    with np.load(folder / "eagle.npz") as data:
        arrays = {k: data[k] for k in data.files if k != "hot_ids"}
    np.savez_compressed(folder / "eagle.npz", **arrays, hot_ids=hot)
    manifest["models"]["eagle"]["draft_vocab"] = {
        "size": int(len(hot)),
        "training_token_coverage": round(coverage, 4),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    print(f"draft vocabulary: {len(hot)} of {vocab} tokens, {coverage:.1%} of the {len(ids)} training tokens")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
