"""SGLang's own bench_serving runs cleanly against the practice server (native and OpenAI chat backends).

Needs a Python with SGLang 0.5.23's benchmark importable; the project's environment has no SGLang (it
needs torch), so the test is skipped unless ``SPECLAB_BENCH_SERVING_PYTHON`` names one. To make one:

    python -m venv /tmp/sglang-bench
    /tmp/sglang-bench/bin/pip download sglang==0.5.23 --no-deps -d /tmp/wheels
    /tmp/sglang-bench/bin/pip install /tmp/wheels/sglang-0.5.23-*.whl --no-deps
    /tmp/sglang-bench/bin/pip install aiohttp numpy requests tqdm transformers pillow orjson psutil \\
        pybase64 torch starlette msgspec pyzmq IPython datasets torchvision apache-tvm-ffi==0.1.11 \\
        sentencepiece compressed-tensors gguf
    SPECLAB_BENCH_SERVING_PYTHON=/tmp/sglang-bench/bin/python pytest tests/unit/serving/test_practice_server_bench_serving.py

(The extra packages are what ``import sglang.benchmark.serving`` pulls in; see docs/practice-server.md.)
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from core.serving.practice_server import PracticeConfig, PracticeServer, model_id_for
from tests.conftest import ROOT

PYTHON = os.environ.get("SPECLAB_BENCH_SERVING_PYTHON", "")
PROMPTS = 24
OUTPUT_LEN = 32

pytestmark = pytest.mark.slow


def _bench_serving_python() -> str:
    if not PYTHON:
        pytest.skip("SPECLAB_BENCH_SERVING_PYTHON is not set: no Python with SGLang's bench_serving to run")
    if not Path(PYTHON).is_file():
        pytest.skip(f"SPECLAB_BENCH_SERVING_PYTHON={PYTHON} does not exist")
    probe = subprocess.run(
        [PYTHON, "-c", "import sglang.benchmark.serving"], capture_output=True, timeout=300
    )
    if probe.returncode != 0:
        pytest.skip(f"{PYTHON} cannot import sglang.benchmark.serving: {probe.stderr.decode()[-300:]}")
    return PYTHON


@pytest.fixture(scope="module")
def bench_setup(tmp_path_factory):
    python = _bench_serving_python()
    tokenizer = tmp_path_factory.mktemp("tokenizer")
    subprocess.run(
        [python, str(ROOT / "scripts" / "tiny_hf_tokenizer.py"), str(tokenizer)], check=True, timeout=300
    )
    config = PracticeConfig(speculative=True, time_scale=0.2, stats_interval_steps=5)
    with PracticeServer(config) as server:
        yield python, tokenizer, server


@pytest.mark.parametrize("backend", ["sglang", "sglang-oai", "sglang-oai-chat"])
def test_bench_serving_runs_cleanly(bench_setup, backend, tmp_path):
    python, tokenizer, server = bench_setup
    output = tmp_path / "result.jsonl"
    command = [python, "-m", "sglang.benchmark.serving", "--backend", backend]
    command += ["--base-url", server.url, "--dataset-name", "random-ids", "--num-prompts", str(PROMPTS)]
    command += [
        "--random-input-len",
        "64",
        "--random-output-len",
        str(OUTPUT_LEN),
        "--random-range-ratio",
        "1",
    ]
    command += [
        "--tokenizer",
        str(tokenizer),
        "--model",
        model_id_for("llama-3.1-8b"),
        "--output-file",
        str(output),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    (result,) = [json.loads(line) for line in output.read_text().splitlines()]
    assert result["completed"] == PROMPTS
    # ignore_eos is bench_serving's default, so every request yields exactly OUTPUT_LEN tokens.
    assert result["total_output_tokens"] == PROMPTS * OUTPUT_LEN
    # bench_serving's accept length is the server's lifetime average over verify passes.
    info = server.server_info()["internal_states"][0]
    assert result["accept_length"] == pytest.approx(info["avg_spec_accept_length"])
    assert 1.0 < result["accept_length"] <= 6.0
