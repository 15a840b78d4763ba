"""`speclab cost`: per-batch output, --reproduce inputs that reproduce, one-line errors with exit code 2."""

from __future__ import annotations

import json

import pytest

from core.cli.main import main as cli_main


def _json(capsys, *args):
    assert cli_main(["cost", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_cost_prints_each_batch_with_the_four_columns(capsys):
    data = _json(capsys, "--hardware", "h100-sxm", "--target", "llama-3.1-8b", "--draft",
                 "eagle3-llama-3.1-8b", "--alpha", "0.8", "--batch", "1,2,64", "--context", "512")  # fmt: skip
    assert [p["batch"] for p in data["points"]] == [1, 2, 64]
    assert set(data["points"][0]) == {"batch", "baseline_tok_s", "speculative_tok_s", "speedup"}
    assert data["profile"] == "ideal" and data["kind"] == "SIMULATED"
    for p in data["points"]:
        assert p["speedup"] == pytest.approx(p["speculative_tok_s"] / p["baseline_tok_s"])


@pytest.mark.parametrize("name", ["eagle3-table3", "eagle3-table4"])
def test_reproduce_inputs_give_the_same_model_numbers(capsys, name):
    result = _json(capsys, "--reproduce", name)
    for method in result["methods"]:
        i = method["inputs"]
        batches = ",".join(str(p["batch"]) for p in method["points"])
        data = _json(capsys, "--hardware", i["hardware"], "--target", i["target"], "--draft", i["draft"],
                     "--alpha", str(i["alpha"]), "--steps", str(i["steps"]), "--topk", str(i["topk"]),
                     "--draft-tokens", str(i["draft_tokens"]), "--batch", batches, "--context",
                     str(i["context"]), "--profile", i["profile"])  # fmt: skip
        got = [p[method["quantity"]] for p in data["points"]]
        assert got == pytest.approx([p["model"] for p in method["points"]], rel=1e-12)
        assert all({"batch", "model", "published"} <= set(p) for p in method["points"])


def test_accept_length_instead_of_alpha(capsys):
    data = _json(capsys, "--hardware", "h100-sxm", "--target", "llama-3.1-8b", "--draft", "ngram",
                 "--accept-length", "2.5", "--steps", "4", "--batch", "1", "--context", "100")  # fmt: skip
    assert data["accept_length"] == 2.5


@pytest.mark.parametrize(
    "args",
    [
        ["--hardware", "h100", "--target", "llama-3.1-8b", "--draft", "ngram", "--alpha", "0.5",
         "--batch", "1", "--context", "1"],
        ["--hardware", "h100-sxm", "--target", "llama-3.1-8b", "--draft", "ngram", "--alpha", "1.5",
         "--batch", "1", "--context", "1"],
        ["--hardware", "h100-sxm", "--target", "llama-3.1-8b", "--draft", "ngram", "--alpha", "0.5",
         "--accept-length", "2", "--batch", "1", "--context", "1"],
        ["--hardware", "h100-sxm", "--target", "llama-3.1-8b", "--draft", "ngram", "--alpha", "0.5",
         "--batch", "1,x", "--context", "1"],
        ["--hardware", "h100-sxm", "--target", "llama-3.1-8b", "--draft", "ngram", "--alpha", "0.5",
         "--topk", "1", "--draft-tokens", "9", "--batch", "1", "--context", "1"],
        ["--hardware", "h100-sxm", "--target", "llama-3.1-8b", "--draft", "ngram", "--alpha", "0.5",
         "--batch", "1", "--context", "1", "--profile", "nope"],
        ["--hardware", "h100-sxm"],
        ["--hardware", "l4", "--target", "llama-3.1-8b", "--draft", "ngram", "--alpha", "0.5",
         "--batch", "1", "--context", "1", "--profile", "h100-sglang-0.4.4"],
    ],
)  # fmt: skip
def test_bad_arguments_are_one_line_and_exit_2(capsys, args):
    assert cli_main(["cost", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("speclab cost: ") and err.count("\n") == 1
