"""The class store in the app's frame: the learner's resume link, their saved work, and the banner.

Process-wide: one :class:`~core.store.class_store.ClassStore` and one background writer
(``st.cache_resource``; both thread-safe). Per session: one
:class:`~core.store.learner_session.LearnerSession` (key ``store_learner``) whose token rides in the URL
as ``?learner=...``. Pages save with :func:`save` (never blocks) and restore with :func:`take`.
Keys owned here: ``store_learner``, ``store_name``, ``store_delete_confirm``, ``store_notice``.
"""

from __future__ import annotations

import streamlit as st

from core.store.class_store import ClassStore
from core.store.learner_session import QUERY_KEY, LearnerSession, Notice, start_session
from core.store.saved_work import StoredItem, WorkItem
from core.store.writer import BackgroundWriter

_SESSION = "store_learner"


@st.cache_resource(show_spinner=False)
def class_store() -> ClassStore:
    """The process's class store (SPECLAB_DATABASE_URL, else SQLite in the data folder)."""
    return ClassStore()


@st.cache_resource(show_spinner=False)
def writer() -> BackgroundWriter:
    """The process's background writer (saves off the rerun thread, retries while the store is down)."""
    return BackgroundWriter(class_store())


def learner() -> LearnerSession:
    """This browser session's learner, started from the URL's resume token on the first rerun."""
    session = st.session_state.get(_SESSION)
    if session is None:
        session = start_session(class_store(), st.query_params.get(QUERY_KEY))
        st.session_state[_SESSION] = session
    return session


def url_params() -> dict[str, str]:
    """Query parameters a page must keep when it rewrites the URL (the resume token)."""
    return {QUERY_KEY: learner().token}


def save(item: WorkItem) -> None:
    """Save ``item`` for this learner in the background (never blocks the rerun)."""
    learner().save(writer(), item)


def take(kind: str) -> list[StoredItem]:
    """This learner's restored items of ``kind``, handed out once per session."""
    return learner().take(kind)


def frame() -> None:
    """Every rerun, before the page: keep the token in the URL, show notices and the unsaved-work banner,
    and the sidebar box with the resume link, display name and delete."""
    session = learner()
    session.refresh(class_store(), writer())
    if st.query_params.get(QUERY_KEY) != session.token:
        st.query_params[QUERY_KEY] = session.token
    _show(session.notice)
    session.notice = None
    _show(st.session_state.pop("store_notice", None))
    message = session.unsaved_message()
    if message:
        st.warning(message, icon=":material/cloud_off:")
    with st.sidebar.expander("Your saved work", icon=":material/bookmark:"):
        _saved_work_box(session)


def _show(notice: Notice | None) -> None:
    if notice is None:
        return
    icons = {"success": ":material/restore:", "info": ":material/info:", "warning": ":material/cloud_off:"}
    getattr(st, notice.level)(notice.text, icon=icons.get(notice.level, ":material/error:"))


def _saved_work_box(session: LearnerSession) -> None:
    st.caption(
        "Runs, sweeps, quiz answers and wizard inputs are saved as each finishes, under a private link. "
        "Bookmark it to come back after a refresh, in a new tab or another day. Anyone holding the link "
        "can see and delete your work, so keep it to yourself."
    )
    base = (st.context.url or "").split("?", 1)[0]
    st.code(f"{base}?{QUERY_KEY}={session.token}", language=None, wrap_lines=True)
    summary = session.saved_summary()
    if summary:
        st.caption(f"Saved from this tab so far: {summary}.")
    st.text_input(
        "Name the instructor sees (optional)",
        key="store_name",
        max_chars=40,
        on_change=_save_name,
        help="Leave empty to appear as an anonymous 'learner <number>'.",
    )
    confirm = st.checkbox("Yes, delete everything saved under this link", key="store_delete_confirm")
    st.button("Delete my saved work", disabled=not confirm, on_click=_delete, icon=":material/delete:")


def _save_name() -> None:
    learner().set_display_name(writer(), st.session_state.get("store_name", ""))


# What the pages keep of the learner's work in the session: cleared with the saved copies, so nothing
# deleted stays on screen (or gets saved again under the new link).
_PAGE_WORK_KEYS = ("live_runs", "live_sweeps", "live_state", "quiz_attempt", "quiz_feedback")


def _delete() -> None:
    notice = learner().delete_all(class_store())
    st.session_state["store_notice"] = notice
    st.session_state["store_delete_confirm"] = False
    if notice.level == "success":
        for name in _PAGE_WORK_KEYS:
            st.session_state.pop(name, None)
