"""Record REAL output files of SGLang's bench_serving against the practice server (test fixtures).

Usage (SGLANG_PYTHON: a Python with sglang installed, e.g. a /tmp venv with the wheel and the few
packages ``sglang.benchmark.serving`` imports)::

    PYTHONPATH=$PWD python scripts/make_bench_serving_fixtures.py SGLANG_PYTHON OUT_DIR

It builds a small byte-level BPE tokenizer with the ``tokenizers`` library (bench_serving always loads
a tokenizer, and nothing may come from a hub here), starts a speculative practice server on a free
loopback port, runs ``python -m sglang.benchmark.serving`` twice (``--output-file`` alone, and with
``--output-details``) on the ``random-ids`` dataset (no download), and copies both JSONL files to
OUT_DIR. Every figure in them is bench_serving's own; the practice server's timing is SIMULATED.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from core.serving.practice_server import PracticeConfig, PracticeServer
from core.serving.prompt_suite import load_suite
from core.serving.sglang_client import SGLangClient

RUNS = {
    "bench_serving_summary.jsonl": [],
    "bench_serving_details.jsonl": ["--output-details"],
}


def build_tokenizer(folder: Path) -> None:
    """A 512-token byte-level BPE trained on the default prompt suite, saved as a transformers folder."""
    suite = load_suite("default")
    texts = [p for c in suite.categories for p in suite.prompts(c)]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=512, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(texts * 4, trainer=trainer)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "eos_token": "<|endoftext|>",
        "model_max_length": 4096,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    sglang_python, out_dir = argv[0], Path(argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer_dir = Path(tmp) / "tokenizer"
        build_tokenizer(tokenizer_dir)
        config = PracticeConfig(speculative=True, seed=7, time_scale=1.0)
        with PracticeServer(config) as server:
            with SGLangClient(server.url) as client:
                model = client.model_id()
            for name, extra in RUNS.items():
                target = Path(tmp) / name
                command = [
                    sglang_python, "-m", "sglang.benchmark.serving",
                    "--backend", "sglang", "--base-url", server.url,
                    "--model", model, "--tokenizer", str(tokenizer_dir),
                    "--dataset-name", "random-ids", "--num-prompts", "16",
                    "--random-input-len", "32", "--random-output-len", "64", "--random-range-ratio", "1.0",
                    "--max-concurrency", "4", "--seed", "3", "--disable-tqdm",
                    "--output-file", str(target), *extra,
                ]  # fmt: skip
                subprocess.run(command, check=True, env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"})
                shutil.copy(target, out_dir / name)
                print(f"wrote {out_dir / name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
