"""A minimal Streamlit websocket client: one simulated browser tab without a browser.

It speaks the same protobuf protocol as Streamlit's frontend (``/_stcore/stream``): it asks the server to
run a page, collects the elements the script sends, and sets widget values the way a browser does (all
known widget states are sent with each rerun). Used by the load test to drive many sessions from one
process; a real browser would spend the test machine's CPU on rendering instead of on the server.
"""

from __future__ import annotations

import contextlib
import random
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
import websocket
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState


@dataclass
class Widget:
    kind: str  # the Element oneof name: "slider", "button", "radio", "text_input", ...
    id: str
    label: str
    proto: object


@dataclass
class RunResult:
    seconds: float
    widgets: list[Widget] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


class StreamlitSession:
    """One session on a running ``streamlit run`` server."""

    def __init__(
        self,
        base_url: str,
        timeout_s: float = 120.0,
        think_s: float = 0.0,
        seed: int = 0,
        query_string: str = "",
        cookies: bool = False,
    ):
        """``think_s``: mean pause (exponential) after each interaction, as a student reading the result.

        ``query_string``: the URL's query as the tab opens (e.g. a resume link's ``learner=...``); the page
        may change it later (``st.query_params``), as a browser's address bar follows. ``cookies``: load
        the page first and send its cookies with the websocket, as a browser does (a proxy's sticky-session
        cookie).
        """
        parts = urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.query_string = query_string
        ws_url = f"ws://{parts.netloc}/_stcore/stream"
        cookie = _page_cookies(self.base_url, timeout_s) if cookies else None
        self.cookie = cookie or ""
        self._ws = websocket.create_connection(
            ws_url,
            timeout=timeout_s,
            subprotocols=["streamlit"],
            origin=f"{parts.scheme}://{parts.netloc}",
            cookie=cookie,
        )
        self._pages: dict[str, str] = {}  # url path -> page script hash
        self._page_hash = ""
        self._states: dict[str, WidgetState] = {}
        self.widgets: list[Widget] = []
        self._think_s = think_s
        self._rng = random.Random(seed)

    def cookie_value(self, name: str) -> str:
        """The value of cookie ``name`` the page set (e.g. the proxy's replica), "" when none."""
        for pair in self.cookie.split(";"):
            key, _, value = pair.strip().partition("=")
            if key == name:
                return value
        return ""

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._ws.close()

    def open(self, url_path: str) -> RunResult:
        """Run a page as if the user had clicked it in the sidebar (url path, e.g. "speedup-simulator")."""
        self._states.clear()
        page_hash = self._pages.get(url_path, "")
        return self._rerun(page_name=url_path if not page_hash else "", page_hash=page_hash)

    def idle(self, seconds: float) -> None:
        """Wait like a reading user: keep reading the socket so the server's pings are answered."""
        deadline = time.monotonic() + seconds
        self._ws.settimeout(0.5)
        try:
            while time.monotonic() < deadline:
                with contextlib.suppress(websocket.WebSocketTimeoutException):
                    self._ws.recv()
        finally:
            self._ws.settimeout(self.timeout_s)

    def find(self, kind: str, label_contains: str) -> Widget:
        for widget in self.widgets:
            if widget.kind == kind and label_contains.lower() in widget.label.lower():
                return widget
        labels = [f"{w.kind}:{w.label}" for w in self.widgets]
        raise LookupError(f"no {kind} labelled like {label_contains!r}; widgets: {labels}")

    def set_slider(self, label: str, value: float) -> RunResult:
        widget = self.find("slider", label)
        state = WidgetState(id=widget.id)
        state.double_array_value.data.append(float(value))
        return self._send(state)

    def set_slider_fraction(self, label: str, fraction: float) -> RunResult:
        """Move a slider to ``fraction`` (0..1) of its range, on its step (a select slider: of its options)."""
        proto = self.find("slider", label).proto
        if proto.options:  # st.select_slider: the state is the chosen option's label
            state = WidgetState(id=self.find("slider", label).id)
            state.string_array_value.data.append(proto.options[round(fraction * (len(proto.options) - 1))])
            return self._send(state)
        steps = round((proto.max - proto.min) / proto.step) if proto.step else 0
        value = proto.min + round(fraction * steps) * proto.step if steps else proto.min
        return self.set_slider(label, min(proto.max, value))

    def set_number(self, label: str, value: float) -> RunResult:
        widget = self.find("number_input", label)
        state = WidgetState(id=widget.id)
        if widget.proto.data_type == widget.proto.INT:
            state.int_value = int(value)
        else:
            state.double_value = float(value)
        return self._send(state)

    def set_text(self, label: str, value: str) -> RunResult:
        widget = self.find("text_input", label)
        return self._send(WidgetState(id=widget.id, string_value=value))

    def choose_radio(self, label: str, index: int) -> RunResult:
        return self.choose_radio_widget(self.find("radio", label), index)

    def choose_radio_widget(self, widget: Widget, index: int) -> RunResult:
        # Since Streamlit 1.5x a radio's state is the chosen option's label, not its index.
        return self._send(WidgetState(id=widget.id, string_value=widget.proto.options[index]))

    def click(self, label: str) -> RunResult:
        widget = self.find("button", label)
        result = self._send(WidgetState(id=widget.id, trigger_value=True))
        self._states.pop(widget.id, None)  # a trigger is true for one run only
        return result

    def rerun(self) -> RunResult:
        return self._rerun(page_name="", page_hash=self._page_hash)

    def _send(self, state: WidgetState) -> RunResult:
        self._states[state.id] = state
        return self._rerun(page_name="", page_hash=self._page_hash)

    def _rerun(self, page_name: str, page_hash: str) -> RunResult:
        message = BackMsg()
        client_state = message.rerun_script
        client_state.query_string = self.query_string
        client_state.page_name = page_name
        client_state.page_script_hash = page_hash
        client_state.widget_states.widgets.extend(self._states.values())
        start = time.perf_counter()
        self._ws.send_binary(message.SerializeToString())
        result = RunResult(seconds=0.0)
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            raw = self._ws.recv()
            if isinstance(raw, str):
                continue
            forward = ForwardMsg()
            forward.ParseFromString(raw)
            kind = forward.WhichOneof("type")
            if kind == "navigation":
                for app_page in forward.navigation.app_pages:
                    self._pages[app_page.url_pathname] = app_page.page_script_hash
                self._page_hash = forward.navigation.page_script_hash
            elif kind == "page_info_changed":
                self.query_string = forward.page_info_changed.query_string
            elif kind == "new_session":
                self._page_hash = forward.new_session.page_script_hash or self._page_hash
            elif kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                element = forward.delta.new_element
                element_kind = element.WhichOneof("type")
                body = getattr(element, element_kind) if element_kind else None
                if element_kind == "exception":
                    result.exceptions.append(f"{body.type}: {body.message}")
                elif element_kind in ("markdown", "alert"):  # alert: st.success / info / warning / error
                    result.texts.append(body.body)
                elif body is not None and hasattr(body, "id") and getattr(body, "id", ""):
                    result.widgets.append(Widget(element_kind, body.id, getattr(body, "label", ""), body))
            elif kind == "script_finished":
                result.seconds = time.perf_counter() - start
                self.widgets = result.widgets
                if self._think_s > 0:
                    self.idle(self._rng.expovariate(1.0 / self._think_s))
                return result
        raise TimeoutError(f"no script_finished within {self.timeout_s} s")


def _page_cookies(base_url: str, timeout_s: float) -> str | None:
    """The cookies a browser would hold after loading the page (``name=value; ...``), None if none."""
    response = requests.get(f"{base_url}/", timeout=timeout_s)
    response.raise_for_status()
    pairs = [f"{name}={value}" for name, value in response.cookies.items()]
    return "; ".join(pairs) or None
