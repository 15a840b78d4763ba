"""Write a tiny word-level tokenizer in Hugging Face format, for running SGLang's bench_serving offline.

bench_serving always loads a tokenizer with ``transformers.AutoTokenizer``; nothing can be downloaded
from a hub here, so this builds one locally: ``tokenizer.json`` (a ``tokenizers`` WordLevel model over
676 two-letter words, letters, digits and punctuation), ``tokenizer_config.json`` with a chat template,
and ``special_tokens_map.json``. It needs only the ``tokenizers`` package (transformers brings it), so it
runs in the separate virtual environment that holds SGLang, without the project installed.

Usage: ``python scripts/tiny_hf_tokenizer.py OUT_DIR``
"""

from __future__ import annotations

import itertools
import json
import string
import sys
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers

SPECIALS = ["<unk>", "<s>", "</s>"]
CHAT_TEMPLATE = "{% for m in messages %}<s>{{ m['role'] }}: {{ m['content'] }}</s>{% endfor %}<s>assistant:"


def write_tokenizer(out: Path) -> int:
    """Write the tokenizer files into ``out``; returns the vocabulary size."""
    words = ["".join(pair) for pair in itertools.product(string.ascii_lowercase, repeat=2)]
    pieces = SPECIALS + words + list(string.ascii_letters + string.digits + string.punctuation)
    vocab = {piece: i for i, piece in enumerate(dict.fromkeys(pieces))}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.decoder = decoders.WordPiece(prefix="##")  # joins the words with spaces
    out.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(out / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "model_max_length": 131072,
        "chat_template": CHAT_TEMPLATE,
    }
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
    specials = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}
    (out / "special_tokens_map.json").write_text(json.dumps(specials), encoding="utf-8")
    return len(vocab)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python scripts/tiny_hf_tokenizer.py OUT_DIR", file=sys.stderr)
        sys.exit(2)
    print(f"{write_tokenizer(Path(sys.argv[1]))} tokens -> {sys.argv[1]}")
