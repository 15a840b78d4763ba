"""Anonymous learners: a secret resume token per learner, stored only as its SHA-256.

The token (:func:`new_token`, 256 bits from :mod:`secrets`) goes in the learner's resume link
(``?learner=...``); anyone holding it can read and delete that learner's work, nobody else can find it.
Others (the instructor) see a learner only as an optional display name or "learner <number>".
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from core.store.database import insert_ignoring_duplicates
from core.store.schema import learners, prompt_results, quiz_answers, run_results, saved_items

__all__ = [
    "MAX_DISPLAY_NAME",
    "BadResumeLink",
    "check_token",
    "clean_display_name",
    "delete_learner",
    "ensure_learner",
    "find_learner",
    "label",
    "new_token",
    "set_display_name",
    "token_hash",
]

MAX_DISPLAY_NAME = 40
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


class BadResumeLink(ValueError):
    """A resume token that is malformed; the message is for the learner."""


def new_token() -> str:
    """A fresh resume token: 43 URL-safe characters (32 random bytes)."""
    return secrets.token_urlsafe(32)


def check_token(token: object) -> str:
    """``token`` stripped if it has the shape of a resume token, else :class:`BadResumeLink`."""
    text = str(token or "").strip()
    if not _TOKEN.match(text):
        raise BadResumeLink(
            "This resume link is not valid (it should end in ?learner= and 43 letters, digits, - or _; "
            "it may have been cut off when copied)."
        )
    return text


def token_hash(token: str) -> str:
    """The key the store keeps for a token (hex SHA-256)."""
    return hashlib.sha256(token.encode()).hexdigest()


def label(learner_id: int, display_name: str | None) -> str:
    """How others see a learner: the display name, or "learner <id>"."""
    return display_name or f"learner {learner_id}"


def ensure_learner(connection: Connection, key: str, now: float | None = None) -> int:
    """The id of the learner with token hash ``key``, created if new (inside a write transaction)."""
    query = select(learners.c.id).where(learners.c.token_hash == key)
    found = connection.execute(query).scalar()
    if found is not None:  # the common case; also keeps SQLite's AUTOINCREMENT from skipping numbers
        return found
    values = {"token_hash": key, "created_at": time.time() if now is None else now}
    insert_ignoring_duplicates(connection, learners, values, ["token_hash"])
    return connection.execute(query).scalar_one()


def find_learner(connection: Connection, key: str) -> tuple[int, str | None] | None:
    """(id, display name) of the learner with token hash ``key``, or None if the store has no such learner."""
    row = connection.execute(
        select(learners.c.id, learners.c.display_name).where(learners.c.token_hash == key)
    ).first()
    return None if row is None else (row.id, row.display_name)


def clean_display_name(name: object) -> str | None:
    """A display name as stored: single spaces, printable, at most 40 characters; None when empty."""
    text = " ".join(str(name or "").split())
    text = "".join(ch for ch in text if ch.isprintable())[:MAX_DISPLAY_NAME]
    return text or None


def set_display_name(connection: Connection, key: str, name: object) -> str | None:
    """Set (or clear, with an empty name) the learner's display name; returns the name stored."""
    learner_id = ensure_learner(connection, key)
    stored = clean_display_name(name)
    connection.execute(update(learners).where(learners.c.id == learner_id).values(display_name=stored))
    return stored


def delete_learner(connection: Connection, key: str) -> bool:
    """Delete the learner and everything saved under them; False when there was nothing to delete."""
    found = find_learner(connection, key)
    if found is None:
        return False
    learner_id = found[0]
    for table in (saved_items, run_results, prompt_results, quiz_answers):
        connection.execute(delete(table).where(table.c.learner_id == learner_id))
    connection.execute(delete(learners).where(learners.c.id == learner_id))
    return True
