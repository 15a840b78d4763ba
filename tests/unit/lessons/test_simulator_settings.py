"""URL settings of the Simulator page: parse, validate, write back."""

import math

import pytest

from core.lessons.simulator_settings import (
    MAX_GAMMA,
    ROUNDS_OPTIONS,
    SECTIONS,
    SimulatorSettings,
    parse_query_params,
    query_string,
    share_link,
    to_query_params,
)

CHOICES = {
    "preset": ["leviathan-t5"],
    "hardware": ["h100-sxm", "l4"],
    "target": ["llama-3.1-8b"],
    "draft": ["ngram"],
}


def test_valid_values_are_parsed_with_their_types():
    values, warnings = parse_query_params(
        {
            "section": "cost",
            "alpha": "0.75",
            "gamma": "7",
            "cost": "0.02",
            "rounds": "1000000",
            "preset": "leviathan-t5",
            "hardware": "l4",
            "target": "llama-3.1-8b",
            "draft": "ngram",
            "batch": "64",
            "context": "8192",
        },
        choices=CHOICES,
    )
    assert warnings == []
    assert values == {
        "section": "cost",
        "alpha": 0.75,
        "gamma": 7,
        "cost": 0.02,
        "rounds": 1_000_000,
        "preset": "leviathan-t5",
        "hardware": "l4",
        "target": "llama-3.1-8b",
        "draft": "ngram",
        "batch": 64,
        "context": 8192,
    }
    assert isinstance(values["gamma"], int) and isinstance(values["alpha"], float)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("alpha", "1.5"),
        ("alpha", "-0.1"),
        ("alpha", "nan"),
        ("alpha", "abc"),
        ("gamma", "2.5"),
        ("gamma", str(MAX_GAMMA + 1)),
        ("gamma", "-1"),
        ("cost", "inf"),
        ("cost", "3"),
        ("rounds", "10"),
        ("rounds", "1e12"),
        ("batch", "0"),
        ("batch", "many"),
        ("context", "0"),
        ("section", "nowhere"),
        ("hardware", "tpu-v9"),
        ("preset", ""),
    ],
)
def test_invalid_values_are_dropped_with_a_warning(name, text):
    values, warnings = parse_query_params({name: text, "gamma_extra": "ignored"}, choices=CHOICES)
    assert name not in values
    assert len(warnings) == 1
    assert f"`{name}={text}`" in warnings[0]


def test_ids_without_loaded_choices_are_dropped():
    values, warnings = parse_query_params({"hardware": "h100-sxm"}, choices={})
    assert values == {}
    assert "no such presets" in warnings[0]


def test_off_grid_values_are_snapped_with_a_warning():
    values, warnings = parse_query_params({"alpha": "0.834", "cost": "0.051", "rounds": "300000"})
    assert values["alpha"] == pytest.approx(0.83)
    assert values["cost"] == pytest.approx(0.05)
    assert values["rounds"] in ROUNDS_OPTIONS
    assert math.isclose(math.log10(values["rounds"]), math.log10(300_000), abs_tol=0.25)
    assert len(warnings) == 3


def test_repeated_parameter_uses_the_last_value():
    values, _ = parse_query_params({"gamma": ["3", "4"]})
    assert values["gamma"] == 4


def test_edge_values_are_accepted():
    values, warnings = parse_query_params({"alpha": "0", "gamma": "0", "cost": "0"})
    assert warnings == []
    assert values == {"alpha": 0.0, "gamma": 0, "cost": 0.0}
    values, warnings = parse_query_params({"alpha": "1", "gamma": str(MAX_GAMMA)})
    assert warnings == [] and values == {"alpha": 1.0, "gamma": MAX_GAMMA}


def test_round_trip_through_the_url():
    settings = SimulatorSettings(section="landscape", alpha=0.63, gamma=9, cost=0.17, rounds=2_000_000)
    params = to_query_params(settings)
    assert "preset" not in params  # empty preset is not written
    values, warnings = parse_query_params(params, choices={k: [getattr(settings, k)] for k in CHOICES})
    assert warnings == []
    assert SimulatorSettings().with_values(values) == settings


def test_include_limits_the_parameters_and_order_is_stable():
    params = to_query_params(SimulatorSettings(), include=["alpha", "section"])
    assert list(params) == ["section", "alpha"]
    assert query_string(params) == "?section=basics&alpha=0.8"
    assert query_string({}) == ""


def test_sections_and_rounds_ladder():
    assert SECTIONS[0] == SimulatorSettings().section
    assert list(ROUNDS_OPTIONS) == sorted(set(ROUNDS_OPTIONS))
    assert SimulatorSettings().rounds in ROUNDS_OPTIONS


def test_share_link_points_at_the_simulator():
    params = {"alpha": "0.7", "gamma": "4"}
    assert share_link(None, params) == "speedup-simulator?alpha=0.7&gamma=4"
    assert share_link("http://localhost:8501/speedup-simulator", params) == (
        "http://localhost:8501/speedup-simulator?alpha=0.7&gamma=4"
    )
    assert share_link("http://localhost:8501/", {}) == "http://localhost:8501/speedup-simulator"
    assert share_link("https://host/lab/adaptive-speculation", params).startswith(
        "https://host/lab/speedup-simulator?"
    )
    assert share_link("https://host/lab", params).startswith("https://host/lab/speedup-simulator?")
