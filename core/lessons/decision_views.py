"""What the Decision page shows of a :class:`core.lessons.decision.Recommendation`: the launch command
text, speedup ranges as text, and the table of candidate methods."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from core.lessons.decision import MethodScore, SpeedupEstimate
from core.serving.launch import release_rules

HUGGING_FACE = "https://huggingface.co/"
COMMAND_RELEASE: str = release_rules().release  # the SGLang release the wizard's command is written for


def launch_command(flags: Sequence[str], model_url: str) -> str:
    """The SGLang launch command for a recommended configuration, one flag per line.

    It starts with the newest known release's entry point (``sglang serve`` from 0.5.12; ``python -m
    sglang.launch_server`` still works there but warns). The model path is the Hugging Face id in
    ``model_url``; other URLs give a ``<your model>`` placeholder.
    """
    model_path = (
        model_url.removeprefix(HUGGING_FACE) if model_url.startswith(HUGGING_FACE) else "<your model>"
    )
    entry = " ".join(release_rules(COMMAND_RELEASE).entry_point)
    command = entry + " \\\n    --model-path " + model_path
    return command + "".join(f" \\\n    {flag}" for flag in flags)


def speedup_text(estimate: SpeedupEstimate) -> str:
    """ "1.80x" for a single value (low and high within 0.005), "1.50-2.10x" for a range."""
    if abs(estimate.high - estimate.low) < 0.005:
        return f"{estimate.low:.2f}x"
    return f"{estimate.low:.2f}-{estimate.high:.2f}x"


def methods_table(candidates: Sequence[MethodScore]) -> pd.DataFrame:
    """One row per candidate method: its acceptance prior, cost ratio, best gamma and best speedup (batch 1)."""
    return pd.DataFrame(
        [
            {
                "method": c.label,
                "alpha (lab prior)": round(c.alpha, 2),
                "cost ratio c": c.cost_ratio,
                "best gamma": c.best_gamma,
                "best speedup (x)": round(c.speedup, 2),
            }
            for c in candidates
        ]
    )
