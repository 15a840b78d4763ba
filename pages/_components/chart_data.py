"""Chart specs ready to send: their inline datasets converted to Arrow once, inside the cached function.

``st.vega_lite_chart(spec=...)`` converts every inline dataset of a spec (``datasets``) to Arrow IPC bytes
on every rerun, through pandas, even when the spec itself came from a cache: for the chart-heavy pages
that was about a third of a rerun's CPU. Datasets already in bytes are passed through as they are, so a
cached spec whose datasets were converted by :func:`with_arrow_datasets` costs almost nothing to send.
"""

from __future__ import annotations

from streamlit import dataframe_util


def with_arrow_datasets(spec: dict) -> dict:
    """``spec`` with each tabular inline dataset (a list of rows) replaced by its Arrow IPC bytes."""
    datasets = spec.get("datasets")
    if not isinstance(datasets, dict):
        return spec
    converted = {}
    for name, rows in datasets.items():
        if isinstance(rows, list) and all(isinstance(row, dict) for row in rows):
            converted[name] = dataframe_util.convert_anything_to_arrow_bytes(rows)
        else:  # GeoJSON, bytes already, or anything else Streamlit handles itself
            converted[name] = rows
    return {**spec, "datasets": converted}
