"""Section 6: keep your results: download each saved run or sweep, load one back, or reset the page.

Keys owned here: ``live_json_*``, ``live_csvrun_*``, ``live_csvsweep_*``, ``live_forget_*``,
``live_upload``, ``live_uploaded`` (the file loaded last), ``live_upload_msg`` and ``live_reset``.
"""

from __future__ import annotations

import streamlit as st

from core.serving import live_session as live
from core.serving.bench_serving_files import read_upload
from pages._components.live_benchmark.state import badge, forget, key, reset_page, shelf


def results_section() -> None:
    st.header("6 · Keep your results")
    st.markdown(
        "Results stay on this page while you visit the others. Download them to keep them (JSON to load here "
        "again, CSV for a spreadsheet); the API key is never included."
    )
    box = shelf()
    for saved in reversed(box.runs):
        saved_result_row(
            "run",
            saved.id,
            saved.label,
            saved.run.simulated,
            lambda run=saved.run: run.to_json().encode(),
            lambda run=saved.run, label=saved.label: run.to_csv(label).encode(),
        )
    for sweep in reversed(box.sweeps):
        saved_result_row(
            "sweep",
            sweep.id,
            sweep.label,
            sweep.simulated,
            lambda runs=sweep.runs: live.sweep_to_json(runs).encode(),
            lambda runs=sweep.runs: live.sweep_to_csv(runs).encode(),
        )
    if not box.runs and not box.sweeps:
        st.caption("No results yet.")
    load_results_file()
    st.button(
        "Reset this page",
        key=key("reset"),
        on_click=reset_page,
        icon=":material/restart_alt:",
        help="Stops your practice servers and forgets the connection and all results (download them first).",
    )


def saved_result_row(kind: str, result_id, label: str, simulated: bool, to_json, to_csv) -> None:
    """One kept run or sweep: its label, JSON and CSV downloads (written when pressed) and a Remove button."""
    c1, c2, c3, c4 = st.columns([5, 1, 1, 1], vertical_alignment="center")
    c1.markdown(f"{label.removesuffix(' · simulated')} {badge(simulated)}")
    for column, extension, data, mime, key_name in (
        (c2, "json", to_json, "application/json", f"json_{result_id}"),
        (c3, "csv", to_csv, "text/csv", f"csv{kind}_{result_id}"),
    ):
        column.download_button(
            extension.upper(),
            data,
            file_name=f"speclab-{kind}-{result_id}.{extension}",
            mime=mime,
            key=key(key_name),
            on_click="ignore",
            icon=":material/download:",
        )
    c4.button("Remove", key=key(f"forget_{result_id}"), on_click=forget, args=(kind, result_id))


def load_results_file() -> None:
    """The uploader: each uploaded file is read once and kept as a run or sweep; bad files say why."""
    upload = st.file_uploader(
        f"Load a saved run or sweep (.json), or an output file of SGLang's bench_serving (.jsonl), up to "
        f"{live.MAX_RESULTS_FILE_BYTES / 1e6:.0f} MB",
        type=["json", "jsonl"],
        key=key("upload"),
        help="bench_serving writes one with `python -m sglang.benchmark.serving ... --output-file FILE.jsonl` "
        "(add `--output-details` so the app can recompute every figure from its requests): bring what it "
        "measured on a GPU machine and compare it here.",
    )
    if upload is not None:
        marker = (upload.file_id, upload.name)
        if st.session_state.get(key("uploaded")) != marker:  # load each uploaded file once
            st.session_state[key("uploaded")] = marker
            try:
                loaded = read_upload(upload.getvalue(), upload.name, live.MAX_RESULTS_FILE_BYTES)
            except live.ResultsFileError as error:
                st.session_state[key("upload_msg")] = ("error", f"Could not load it: {error}")
            else:
                labels = [shelf().load(results, name).label for results, name in loaded]
                st.session_state[key("upload_msg")] = ("success", f"Loaded {', '.join(labels)}.")
            st.rerun()
    message = st.session_state.get(key("upload_msg"))
    if message:
        (st.error if message[0] == "error" else st.success)(message[1])
