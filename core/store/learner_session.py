"""One learner's session with the class store: resume link, restoring saved work, saving, deleting.

The page frame keeps one :class:`LearnerSession` per browser session (``st.session_state``) and puts its
token in the URL (``?learner=<token>``), so a refresh or the resume link in a new tab finds the same work.
Reads happen once when the session starts (bounded by the database timeouts); every write goes through
the process's :class:`~core.store.writer.BackgroundWriter`, so no rerun waits on the database, and an
item not saved yet stays listed (:meth:`LearnerSession.unsaved_message`) until it is.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from core.store import learners
from core.store.class_store import ClassStore
from core.store.database import StoreUnavailable, transaction
from core.store.saved_work import StoredItem, WorkItem, delete_work, load_work, save_work
from core.store.writer import BackgroundWriter, PendingSaves, SaveJob

__all__ = ["QUERY_KEY", "LearnerSession", "Notice", "start_session"]

#: The query parameter that carries the resume token.
QUERY_KEY = "learner"
#: Seconds between attempts to read saved work while the store is unavailable.
RESTORE_RETRY_S = 10.0
_NAMES = {  # kind -> (one, several), for the welcome-back notice
    "run": ("run", "runs"),
    "sweep": ("sweep", "sweeps"),
    "prompt": ("own prompt", "own prompts"),
    "quiz": ("quiz attempt", "quiz attempts"),
    "wizard": ("set of wizard inputs", "sets of wizard inputs"),
}


@dataclass(frozen=True)
class Notice:
    """A message for the learner: ``level`` is "success", "info", "warning" or "error"."""

    level: str
    text: str


@dataclass
class LearnerSession:
    """``token`` is the secret of the resume link; ``key`` its hash, the learner's key in the store."""

    token: str
    restored: dict[str, list[StoredItem]] = field(default_factory=dict)
    pending: PendingSaves = field(default_factory=PendingSaves)
    notice: Notice | None = None
    restore_pending: bool = False
    last_restore_try: float = 0.0

    @property
    def key(self) -> str:
        return learners.token_hash(self.token)

    def take(self, kind: str) -> list[StoredItem]:
        """The restored items of ``kind`` (oldest first), handed out once; later calls return []."""
        return self.restored.pop(kind, [])

    def save(self, writer: BackgroundWriter, item: WorkItem) -> SaveJob:
        """Save ``item`` in the background; returns its job (its ``state`` tells when it is saved)."""
        key = self.key
        job = SaveJob(item.description, lambda connection: save_work(connection, key, item), kind=item.kind)
        self.pending.add(writer, job)
        return job

    def forget(self, writer: BackgroundWriter, kind: str, item_key: str, description: str) -> SaveJob:
        """Delete one saved item in the background (the learner removed it from the page)."""
        key = self.key
        job = SaveJob(f"removal of {description}", lambda c: delete_work(c, key, kind, item_key))
        self.pending.add(writer, job)
        return job

    def set_display_name(self, writer: BackgroundWriter, name: str) -> SaveJob:
        """Show ``name`` (cleaned, up to 40 characters; empty = anonymous) to the instructor."""
        key = self.key
        job = SaveJob("display name", lambda connection: learners.set_display_name(connection, key, name))
        self.pending.add(writer, job)
        return job

    def refresh(self, store: ClassStore, writer: BackgroundWriter) -> None:
        """Call on every rerun: resubmits refused jobs and retries a restore that failed."""
        self.pending.refresh(writer)
        if self.restore_pending and time.monotonic() - self.last_restore_try >= RESTORE_RETRY_S:
            self._restore(store)

    def saved_summary(self) -> str | None:
        """What this session has saved so far ("2 runs, 1 quiz attempt"), None before the first save."""
        counts = self.pending.saved
        if not counts:
            return None
        return ", ".join(f"{n} {_NAMES.get(kind, (kind, kind))[n > 1]}" for kind, n in sorted(counts.items()))

    def unsaved_message(self) -> str | None:
        """What is not saved and why, for a banner (None when everything is saved or on its way)."""
        problems = self.pending.problems()
        if not problems:
            return None
        names = ", ".join(job.description for job in problems[:6]) + (" ..." if len(problems) > 6 else "")
        reason = problems[-1].error or "unknown error"
        if any(job.state == "refused" for job in problems):
            return f"Not saved: {names} ({reason}). Download it from its page to keep it."
        return (
            f"Not saved yet: {names}. The class store is unavailable ({reason}); "
            "it stays in this tab and is saved automatically when the store is back. Do not close the tab."
        )

    def delete_all(self, store: ClassStore) -> Notice:
        """Delete everything saved under this link, then switch to a fresh link (the old one finds nothing)."""
        try:
            with transaction(store.engine(), write=True) as connection:
                learners.delete_learner(connection, self.key)
        except StoreUnavailable as error:
            return Notice("error", f"Could not delete your saved work now: {error}. Try again in a minute.")
        self.pending.cancel_all()
        self.restored = {}
        self.token = learners.new_token()
        return Notice(
            "success", "Deleted everything saved under your old resume link. New work gets a new link."
        )

    def _restore(self, store: ClassStore) -> None:
        self.last_restore_try = time.monotonic()
        try:
            with transaction(store.engine()) as connection:
                items = load_work(connection, self.key)
        except StoreUnavailable as error:
            self.restore_pending = True
            self.notice = Notice(
                "warning",
                f"Your saved work could not be loaded yet ({error}). It is not lost: the app tries again, "
                "and new results are kept in this tab until they can be saved.",
            )
            return
        self.restore_pending = False
        if items is None:
            self.notice = Notice(
                "info",
                "Nothing is saved under this resume link here (it may have been deleted, or it belongs to "
                "another class's server). Your work from now on is saved under it.",
            )
            return
        for item in items:
            self.restored.setdefault(item.kind, []).append(item)
        counts = Counter(item.kind for item in items)
        summary = ", ".join(f"{n} {_NAMES.get(kind, (kind, kind))[n > 1]}" for kind, n in counts.items())
        self.notice = Notice("success", f"Welcome back: restored {summary or 'nothing yet'}.")


def start_session(store: ClassStore, token_param: object) -> LearnerSession:
    """The session for a visit: a new link when ``token_param`` is empty, the saved work of a valid link,
    or a clear notice (and a new link) for a malformed one."""
    if not token_param:
        return LearnerSession(token=learners.new_token())
    try:
        token = learners.check_token(token_param)
    except learners.BadResumeLink as error:
        session = LearnerSession(token=learners.new_token())
        session.notice = Notice("error", f"{error} You now have a new, empty resume link.")
        return session
    session = LearnerSession(token=token)
    session._restore(store)
    return session
