"""core.lessons.decision_views: launch command text, speedup ranges, the methods table."""

from __future__ import annotations

import shlex

import pytest

from core.lessons import decision_views as views
from core.lessons.decision import Deployment, SpeedupEstimate, recommend


def test_launch_command_uses_the_hugging_face_id_and_every_flag():
    rec = recommend(Deployment(task="code", batch_size=1, draft="eagle3", output_tokens=400))
    command = views.launch_command(
        rec.config.flags, "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct"
    )
    argv = shlex.split(command.replace("\\\n", " "))
    assert argv[:5] == [
        "python",
        "-m",
        "sglang.launch_server",
        "--model-path",
        "meta-llama/Llama-3.1-8B-Instruct",
    ]
    assert " ".join(argv[5:]) == " ".join(" ".join(shlex.split(f)) for f in rec.config.flags)
    assert "--speculative-algorithm EAGLE3" in command
    assert "--model-path <your model>" in views.launch_command((), "https://example.org/model")


@pytest.mark.parametrize(
    ("low", "high", "text"), [(1.8, 1.8, "1.80x"), (1.8, 1.804, "1.80x"), (1.5, 2.1, "1.50-2.10x")]
)
def test_speedup_text(low, high, text):
    estimate = SpeedupEstimate(kind="simulated", low=low, high=high, source="", conditions="")
    assert views.speedup_text(estimate) == text


def test_methods_table_has_one_row_per_candidate():
    rec = recommend(Deployment(task="summarization", batch_size=1, draft="none", output_tokens=400))
    table = views.methods_table(rec.candidates)
    assert list(table["method"]) == [c.label for c in rec.candidates]
    assert list(table["best gamma"]) == [c.best_gamma for c in rec.candidates]
    assert list(table["best speedup (x)"]) == [round(c.speedup, 2) for c in rec.candidates]
