"""The Simulator's shared controls: settings from the URL, the section switch, the α/γ/c/rounds sliders,
and the share link that writes them back (contract in docs/developing.md).

Keys owned here: ``sim_section``, ``sim_alpha``, ``sim_gamma``, ``sim_cost``, ``sim_rounds``,
``sim_preset`` and ``sim_url_written`` (the query parameters this page last wrote).
"""

from __future__ import annotations

from dataclasses import asdict

import streamlit as st

from core.lessons import simulator_views as views
from core.lessons.simulator_settings import (
    ALPHA_STEP,
    COST_STEP,
    MAX_COST,
    MAX_GAMMA,
    ROUNDS_OPTIONS,
    SECTIONS,
    SimulatorSettings,
    parse_query_params,
    share_link,
    to_query_params,
)
from pages._components import class_store
from pages._components.simulator import beyond, cost
from pages._components.simulator.common import cost_choices, key, preset_ids

DEFAULTS = SimulatorSettings()
SECTION_LABELS = {
    "basics": "1 · Basics",
    "landscape": "2 · Landscape",
    "presets": "3 · Real models",
    "beyond": "4 · Beyond i.i.d.",
    "cost": "5 · When it hurts",
}
# URL parameters each section shares (the link carries what the section on screen uses).
SECTION_PARAMS = {
    "basics": ("section", "alpha", "gamma", "cost", "rounds"),
    "landscape": ("section", "alpha", "gamma", "cost"),
    "presets": ("section", "alpha", "gamma", "cost", "rounds", "preset"),
    "beyond": ("section", "cost", "rounds"),
    "cost": ("section", "alpha", "gamma", "hardware", "target", "draft", "batch", "context"),
}
COST_SETTINGS = ("hardware", "target", "draft", "batch", "context", "preset")


def apply_url() -> list[str]:
    """Copy settings from the URL into session state when the URL changed since this page last wrote it.

    Runs before any widget renders. Returns the warnings for values that were ignored or adjusted.
    """
    current = st.query_params.to_dict()
    if current == st.session_state.get(key("url_written")):
        return []
    choices = {name: tuple(options) for name, options in cost_choices().items()}
    choices["preset"] = tuple(preset_ids())
    values, warnings = parse_query_params(current, choices=choices)
    for name, value in values.items():
        st.session_state[key(name)] = value
    return warnings


def set_defaults() -> None:
    """Every setting not yet in the session starts at its default (sections' own defaults included)."""
    for name, value in {**asdict(DEFAULTS), **cost.SESSION_DEFAULTS, **beyond.SESSION_DEFAULTS}.items():
        st.session_state.setdefault(key(name), value)


def section_switch():
    """The section buttons, and the share popover beside them (filled by :func:`share_box`)."""
    nav_col, share_col = st.columns([4, 1], vertical_alignment="center")
    section = nav_col.segmented_control(
        "Section",
        SECTIONS,
        format_func=SECTION_LABELS.get,
        required=True,
        key=key("section"),
        label_visibility="collapsed",
        persist_state="session",
    )
    return section, share_col.popover("Share this setup", icon=":material/share:", width="stretch")


def sliders(section: str) -> SimulatorSettings:
    """α, γ, c and Monte Carlo rounds, with the section's other settings from the session."""
    with st.container(border=True):
        col_alpha, col_gamma, col_cost, col_rounds = st.columns(4)
        alpha = col_alpha.slider(
            "Acceptance rate α",
            min_value=0.0,
            max_value=1.0,
            step=ALPHA_STEP,
            key=key("alpha"),
            help="Probability that one draft token is accepted (i.i.d. across positions).",
            persist_state="session",
        )
        gamma = col_gamma.slider(
            "Speculation length γ",
            min_value=0,
            max_value=MAX_GAMMA,
            step=1,
            key=key("gamma"),
            help="Draft tokens proposed per verify pass; γ = 0 is plain decoding.",
            persist_state="session",
        )
        cost_ratio = col_cost.slider(
            "Cost ratio c",
            min_value=0.0,
            max_value=MAX_COST,
            step=COST_STEP,
            key=key("cost"),
            help="Time of one draft forward / time of one target forward.",
            disabled=section == "cost",
            persist_state="session",
        )
        rounds = col_rounds.select_slider(
            "Monte Carlo rounds",
            options=ROUNDS_OPTIONS,
            format_func=lambda n: f"{n:,}",
            key=key("rounds"),
            help="Simulated verify passes. More rounds, smaller standard error (it shrinks as 1/√rounds). "
            f"Runs over {views.CHUNK_ROUNDS:,} go in chunks with a progress bar.",
            persist_state="session",
        )
    values = {"section": section, "alpha": float(alpha), "gamma": int(gamma), "cost": float(cost_ratio)}
    return DEFAULTS.with_values({**values, "rounds": int(rounds), **section_settings()})


def section_settings() -> dict:
    """The settings the sections set themselves (cost presets, batch, context, the published preset)."""
    values = {name: st.session_state[key(name)] for name in COST_SETTINGS}
    return {**values, "batch": int(values["batch"]), "context": int(values["context"])}


def write_url(settings: SimulatorSettings) -> dict[str, str]:
    """Put the section's settings in the address bar; returns the query parameters."""
    params = to_query_params(settings, include=SECTION_PARAMS[settings.section])
    in_url = {**params, **class_store.url_params()}  # keep the learner's resume token in the address bar
    if st.query_params.to_dict() != in_url:
        st.query_params.from_dict(in_url)
    st.session_state[key("url_written")] = in_url
    return params  # the shared link never carries the resume token


def share_box(box, settings: SimulatorSettings) -> None:
    """Write the settings to the URL (the section's widgets may have changed them) and show the link."""
    params = write_url(settings.with_values(section_settings()))
    with box:
        st.markdown(
            "This link opens the Simulator with exactly these settings (the address bar shows it too):"
        )
        st.code(share_link(st.context.url, params), language=None, wrap_lines=True)
