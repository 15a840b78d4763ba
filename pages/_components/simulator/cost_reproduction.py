"""Section 5, continued: the calibrated cost model next to the EAGLE-3 paper's Tables 3 and 4.

Shows the model's curve per method with the published points and the error at each; owns no session keys.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.references import cost_calibration
from core.references import published as published_data
from core.simulation.engine_profile import get_profile
from pages._common import SIMULATED, published
from pages._components.simulator.common import csv_button, show_chart


@st.cache_data(max_entries=2, show_spinner=False)
def reproduction_tables(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(published points with the model's value and error, the model's curves) for one reproduction."""
    result = cost_calibration.reproduce(name)
    points, curves = [], []
    for method in result["methods"]:
        inputs = method["inputs"]
        for p in method["points"]:
            points.append(
                {
                    "method": method["method"],
                    "quantity": method["quantity"],
                    "batch_size": p["batch"],
                    "model": p["model"],
                    "published": p["published"],
                    "error_pct": 100 * p["error"],
                    "alpha": inputs["alpha"],
                    "steps/topk/draft tokens": "{steps}/{topk}/{draft_tokens}".format(**inputs),
                }
            )
        if method["quantity"] == "speedup":
            sweep = cost_calibration.sweep_for(inputs, range(1, 65))
            curves += [
                {"method": method["method"], "batch_size": int(b), "speedup": float(v)}
                for b, v in zip(sweep.batch_sizes, sweep.speedup, strict=True)
            ]
    return pd.DataFrame(points), pd.DataFrame(curves)


def calibration_part() -> None:
    """The calibrated model next to the EAGLE-3 paper's Tables 3 and 4, with the error at each point."""
    st.markdown("##### Does the calibrated model reproduce the measurements?")
    profile = get_profile(cost_calibration.calibration_inputs()["profile"])
    table3, curves = reproduction_tables("eagle3-table3")
    table4, _ = reproduction_tables("eagle3-table4")
    source3 = published_data.get_reference("eagle3-table3-batch").source
    source4 = published_data.get_reference("sglang-docs-llama31-8b-h100").source
    st.markdown(f"{SIMULATED} calibrated model (lines) and {published(source3)} (squares)")
    show_chart("reproduction", curves, table3)
    worst3 = table3["error_pct"].abs().max()
    worst4 = table4["error_pct"].abs().max()
    st.markdown(
        f"Largest error: **{worst3:.1f}%** over the 18 points of Table 3, **{worst4:.1f}%** over the three "
        f"throughputs at batch 1 {published(source4)}. One acceptance α per head, the same at every batch "
        "size: batch changes cost, never acceptance."
    )
    both = pd.concat([table3, table4])
    st.dataframe(both, hide_index=True, width="stretch")
    csv_button(both, "cost-model-reproduction", label="Download model vs published (CSV)")
    st.caption(
        f"How it was fitted: {profile.fit} Reproduce it with `speclab cost --reproduce eagle3-table3`."
    )
