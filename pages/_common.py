"""Small display helpers shared by the pages (labels for where a number comes from).

Not a page: the navigation in app.py lists pages explicitly, and files starting with ``_`` are helpers.
"""

import pandas as pd
import streamlit as st

SIMULATED = ":violet-badge[:material/casino: simulated]"
EXACT = ":green-badge[:material/function: exact]"
MEASURED = ":blue-badge[:material/speed: measured]"
PUBLISHED = ":orange-badge[:material/menu_book: published]"


def published(source: str) -> str:
    """Badge plus source for a published number, e.g. ``published("Leviathan et al. 2023, Table 2")``."""
    return f"{PUBLISHED} {source}"


def coming_next(what: str) -> None:
    """An honest placeholder for a part of the lab that is not built yet."""
    st.info(f"**Coming next:** {what} This part of the lab is not built yet, so it shows nothing to measure.")


def csv_download(
    frame: pd.DataFrame, file_stem: str, key: str, label: str = "Download the data (CSV)"
) -> None:
    """A download button for a chart's or table's data, as ``speclab-<file_stem>.csv``.

    The CSV is written only when the button is pressed, not on every rerun.
    """
    st.download_button(
        label,
        data=lambda: frame.to_csv(index=False).encode(),
        file_name=f"speclab-{file_stem}.csv",
        mime="text/csv",
        key=key,
        on_click="ignore",
        icon=":material/download:",
    )
