"""The Simulator page's settings as URL query parameters: parse, validate, and write back.

An instructor shares an exact setup as a link, and other pages deep-link into the Simulator with the
parameters listed in ``docs/developing.md``: ``section``, ``alpha``, ``gamma``, ``cost``, ``rounds``,
``preset``, ``hardware``, ``target``, ``draft``, ``batch``, ``context``. A value that cannot be used is
dropped with a one-line warning that says what is allowed; parsing never raises.

Units: ``alpha`` probability in [0, 1]; ``gamma`` draft tokens per verify pass; ``cost`` draft forward
time / target forward time; ``rounds`` Monte Carlo verify passes; ``batch`` sequences decoded together;
``context`` tokens already in each sequence's KV cache.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from core.foundation import site_map

SIMULATOR_URL_PATH = site_map.url_path("pages/simulator.py")

__all__ = [
    "SECTIONS",
    "ALPHA_STEP",
    "COST_STEP",
    "MAX_GAMMA",
    "MAX_COST",
    "ROUNDS_OPTIONS",
    "MAX_BATCH",
    "MIN_CONTEXT",
    "MAX_CONTEXT",
    "SimulatorSettings",
    "parse_query_params",
    "to_query_params",
    "query_string",
    "share_link",
]

SECTIONS = ("basics", "landscape", "presets", "beyond", "cost")
ALPHA_STEP = 0.01
COST_STEP = 0.01
MAX_GAMMA = 32
MAX_COST = 1.0
# Monte Carlo rounds on a 1-2-5 ladder: a slider with readable stops from a quick look to a long run.
ROUNDS_OPTIONS = tuple(m * 10**e for e in range(3, 8) for m in (1, 2, 5)) + (100_000_000,)
MAX_BATCH = 4096
MIN_CONTEXT = 1
MAX_CONTEXT = 1_048_576


@dataclass(frozen=True)
class SimulatorSettings:
    """Every setting the Simulator page shares through its URL, with the defaults a first visit sees."""

    section: str = "basics"
    alpha: float = 0.8
    gamma: int = 5
    cost: float = 0.05
    rounds: int = 100_000
    preset: str = ""
    hardware: str = "h100-sxm"
    target: str = "llama-3.1-8b"
    draft: str = "eagle3-llama-3.1-8b"
    batch: int = 1
    context: int = 512

    def with_values(self, values: Mapping[str, Any]) -> SimulatorSettings:
        """A copy with ``values`` (a subset of the field names) replaced."""
        return replace(self, **{k: v for k, v in values.items() if k in _FIELD_NAMES})


_FIELD_NAMES = frozenset(f.name for f in fields(SimulatorSettings))


def _single(raw: Any) -> str:
    """The last value of a repeated parameter (what a browser shows last wins), as a stripped string."""
    if isinstance(raw, list | tuple):
        raw = raw[-1] if raw else ""
    return str(raw).strip()


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _parse_int(text: str) -> int:
    value = _parse_float(text)
    if value != int(value):
        raise ValueError(text)
    return int(value)


def _snap(value: float, step: float) -> float:
    return round(round(value / step) * step, 10)


def _nearest_rounds(value: int) -> int:
    return min(ROUNDS_OPTIONS, key=lambda option: (abs(math.log(option) - math.log(value)), option))


def parse_query_params(
    params: Mapping[str, Any], *, choices: Mapping[str, Collection[str]] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Usable settings found in ``params`` and one warning per value that was dropped or adjusted.

    ``params`` maps names to a string or a list of strings (``st.query_params.to_dict()`` or a test's
    dict). ``choices`` gives the allowed ids for ``preset``, ``hardware``, ``target`` and ``draft``; a name
    missing from ``choices`` accepts no value (its presets are not loaded). Unknown parameter names are
    ignored silently (other tools add their own). Values off a slider's grid are snapped to it with a
    warning; values out of range are dropped.
    """
    choices = choices or {}
    values: dict[str, Any] = {}
    warnings: list[str] = []
    for name in ("section", "preset", "hardware", "target", "draft"):
        if name in params:
            allowed = SECTIONS if name == "section" else tuple(choices.get(name, ()))
            _take_choice(name, _single(params[name]), allowed, values, warnings)
    for number in _NUMBER_PARAMS:
        if number.name in params:
            _take_number(number, _single(params[number.name]), values, warnings)
    return values, warnings


def _dropped(name: str, text: str, allowed: str) -> str:
    return f"Ignored `{name}={text}` from the link: {allowed}."


def _take_choice(name: str, text: str, allowed: tuple[str, ...], values: dict, warnings: list[str]) -> None:
    """Keep ``text`` if it is one of ``allowed``; otherwise warn (listing them, or saying there are none)."""
    if text in allowed:
        values[name] = text
    elif allowed:
        warnings.append(_dropped(name, text, "use one of " + ", ".join(f"`{a}`" for a in allowed)))
    else:
        warnings.append(_dropped(name, text, "no such presets are available"))


@dataclass(frozen=True)
class _NumberParam:
    """A numeric URL parameter: how to parse it, its range, what to say when it is out of range, and
    (``snap``) how to move it onto its slider's grid, with the message for a value that moved
    (``adjusted``, formatted with ``text`` and ``value``)."""

    name: str
    parse: Any
    low: float
    high: float
    allowed: str
    snap: Any = None
    adjusted: str = ""


_NUMBER_PARAMS = (
    _NumberParam(
        "alpha",
        _parse_float,
        0.0,
        1.0,
        "the acceptance rate is a probability between 0 and 1",
        lambda v: _snap(v, ALPHA_STEP),
        "`alpha={text}` rounded to the slider's step: {value:.2f}.",
    ),
    _NumberParam(
        "gamma", _parse_int, 0, MAX_GAMMA, f"the speculation length is a whole number from 0 to {MAX_GAMMA}"
    ),
    _NumberParam(
        "cost",
        _parse_float,
        0.0,
        MAX_COST,
        f"the cost ratio c (draft time / target time) lies between 0 and {MAX_COST:g}",
        lambda v: _snap(v, COST_STEP),
        "`cost={text}` rounded to the slider's step: {value:.2f}.",
    ),
    _NumberParam(
        "rounds",
        _parse_int,
        ROUNDS_OPTIONS[0],
        ROUNDS_OPTIONS[-1],
        f"rounds is a whole number from {ROUNDS_OPTIONS[0]:,} to {ROUNDS_OPTIONS[-1]:,}",
        _nearest_rounds,
        "`rounds={text}` moved to the nearest slider stop: {value:,}.",
    ),
    _NumberParam(
        "batch",
        _parse_int,
        1,
        MAX_BATCH,
        f"the batch size is a whole number of sequences from 1 to {MAX_BATCH:,}",
    ),
    _NumberParam(
        "context",
        _parse_int,
        MIN_CONTEXT,
        MAX_CONTEXT,
        f"the context length is a whole number of tokens from {MIN_CONTEXT:,} to {MAX_CONTEXT:,}",
    ),
)


def _take_number(number: _NumberParam, text: str, values: dict, warnings: list[str]) -> None:
    """Keep the parsed value if it is in range (snapped to its slider, with a warning if it moved)."""
    try:
        value = number.parse(text)
        if not number.low <= value <= number.high:  # also refuses NaN
            raise ValueError(text)
    except ValueError:
        warnings.append(_dropped(number.name, text, number.allowed))
        return
    if number.snap is None:
        values[number.name] = value
        return
    values[number.name] = number.snap(value)
    if abs(values[number.name] - value) > 1e-9:
        warnings.append(number.adjusted.format(text=text, value=values[number.name]))


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") or "0"
    return str(value)


def to_query_params(settings: SimulatorSettings, *, include: Collection[str] | None = None) -> dict[str, str]:
    """The URL parameters for ``settings`` (strings, in a fixed order), limited to ``include`` if given.

    An empty ``preset`` is left out. Floats are written at slider precision (two decimals).
    """
    out: dict[str, str] = {}
    for name, value in asdict(settings).items():
        if include is not None and name not in include:
            continue
        if name == "preset" and not value:
            continue
        out[name] = _format(value)
    return out


def query_string(params: Mapping[str, str]) -> str:
    """``?name=value&...`` for a link, or an empty string when there is nothing to share."""
    return "?" + urlencode(dict(params)) if params else ""


def share_link(app_url: str | None, params: Mapping[str, str], page: str = SIMULATOR_URL_PATH) -> str:
    """A link to ``page`` with ``params``, built from the URL the browser shows (``st.context.url``).

    ``app_url`` may point at any page of the app (its last path segment is replaced by ``page`` unless it
    already is ``page``) or at the app's root. Without ``app_url`` the result is a relative link
    ``page?...``, which still works when pasted after the app's address.
    """
    query = query_string(params)
    if not app_url:
        return f"{page}{query}"
    scheme, netloc, path, _, _ = urlsplit(app_url)
    segments = [s for s in path.split("/") if s]
    if segments and segments[-1] in _OTHER_PAGES:
        segments = segments[:-1]  # keep a base path (e.g. /lab/), swap the page
    if not segments or segments[-1] != page:
        segments.append(page)
    return urlunsplit((scheme, netloc, "/" + "/".join(segments), query.lstrip("?"), ""))


# url_path of the app's other pages; a link made while on one of them points to the Simulator.
_OTHER_PAGES = frozenset(path for path in site_map.URL_PATHS.values() if path and path != SIMULATOR_URL_PATH)
