"""``speclab train-models --quick``: trains in seconds and writes what inference loads (needs the extra)."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the training extra (torch) is not installed")
pytest.importorskip("tokenizers", reason="the training extra (tokenizers) is not installed")

from core.cli.main import main  # noqa: E402
from core.tiny_models import generate, load_models_from  # noqa: E402


@pytest.fixture(scope="module")
def quick_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    assert main(["train-models", "--quick", "--seed", "3", "--out", str(out)]) == 0
    return out


def test_quick_training_writes_a_loadable_manifest(quick_dir):
    manifest = json.loads((quick_dir / "manifest.json").read_text())
    assert set(manifest["models"]) == {"target", "standalone", "eagle"}
    for facts in manifest["models"].values():
        assert np.isfinite(facts["held_out_perplexity"]) and facts["held_out_perplexity"] > 1
    models = load_models_from(quick_dir)
    out = generate(models, models.tokenizer.encode("def f(x):\n"), "EAGLE", max_new_tokens=8)
    assert len(out.output_ids) >= 1


def test_quick_training_writes_the_eagle_draft_vocabulary(quick_dir):
    manifest = json.loads((quick_dir / "manifest.json").read_text())
    size = manifest["models"]["eagle"]["draft_vocab"]["size"]
    with np.load(quick_dir / "eagle.npz") as data:
        hot = data["hot_ids"]
    assert hot.dtype == np.int32 and len(hot) == size == 80  # a quarter of the miniature's 320 tokens
    models = load_models_from(quick_dir)
    assert np.array_equal(models.eagle.draft_ids, hot)
    assert 0.25 < manifest["models"]["eagle"]["draft_vocab"]["training_token_coverage"] <= 1


def test_numpy_inference_matches_torch(quick_dir):
    from core.tiny_models import training_torch as tt
    from core.tiny_models.training import make_plan

    models = load_models_from(quick_dir)
    net = tt.load_gpt(make_plan(True).target, models.target.weights)
    ids = models.tokenizer.encode("class A:\n    def run(self):\n        return 1\n")
    with torch.no_grad():
        ref = net.logits(net.hidden(torch.tensor([ids]))).numpy()[0]
    ours, _ = models.target.forward(ids, models.target.new_cache())
    np.testing.assert_allclose(ours, ref, rtol=1e-3, atol=1e-4)


def test_same_seed_same_weights(quick_dir, tmp_path):
    assert main(["train-models", "--quick", "--seed", "3", "--out", str(tmp_path)]) == 0
    with np.load(quick_dir / "target.npz") as a, np.load(tmp_path / "target.npz") as b:
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])


def test_quick_needs_an_out_folder(capsys):
    assert main(["train-models", "--quick"]) == 2
    assert "--out" in capsys.readouterr().err
