"""core.lessons.decision_views: launch command text, speedup ranges, the methods table."""

from __future__ import annotations

import itertools
import shlex

import pytest

from core.lessons import decision_views as views
from core.lessons.decision import DRAFT_KINDS, TASKS, Deployment, SpeedupEstimate, recommend
from core.serving.launch import DEFAULT_RELEASE, check_against_flag_table, release_rules


def test_launch_command_uses_the_hugging_face_id_and_every_flag():
    rec = recommend(Deployment(task="code", batch_size=1, draft="eagle3", output_tokens=400))
    command = views.launch_command(
        rec.config.flags, "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct"
    )
    argv = shlex.split(command.replace("\\\n", " "))
    # The newest release's entry point: `sglang serve` (python -m sglang.launch_server warns in 0.5.23).
    assert argv[:4] == ["sglang", "serve", "--model-path", "meta-llama/Llama-3.1-8B-Instruct"]
    assert views.COMMAND_RELEASE == DEFAULT_RELEASE
    assert " ".join(argv[4:]) == " ".join(" ".join(shlex.split(f)) for f in rec.config.flags)
    assert "--speculative-algorithm EAGLE3" in command
    assert "--model-path <your model>" in views.launch_command((), "https://example.org/model")


def test_every_wizard_command_parses_in_the_release_it_is_written_for():
    # Review (sglang-review #1, #2, #23): no flag the release rejects (--cuda-graph-max-bs in 0.5.23), no
    # --speculative-eagle-topk for NGRAM, and the release's own entry point.
    entry = release_rules(views.COMMAND_RELEASE).entry_point
    seen = set()
    for task, draft, mtp, batch in itertools.product(TASKS, DRAFT_KINDS, (False, True), (1, 64)):
        rec = recommend(
            Deployment(task=task, draft=draft, has_mtp=mtp, batch_size=batch, memory_headroom_gb=1)
        )
        if rec.config is None:
            continue
        command = views.launch_command(
            rec.config.flags, "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct"
        )
        argv = shlex.split(command.replace("\\\n", " "))
        assert argv[: len(entry)] == entry
        server_args = [a for a in argv[len(entry) :] if not a.startswith("<")]
        check = check_against_flag_table(server_args, views.COMMAND_RELEASE)
        assert check.ok, (rec.method, check.problems)
        if rec.method == "NGRAM":
            assert "--speculative-eagle-topk" not in argv
        seen.add(rec.method)
    assert seen >= {"EAGLE3", "NEXTN", "NGRAM"}


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
