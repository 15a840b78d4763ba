"""One process's handle on the class store: the engine, migrated to head on first use, retried when down.

Keep one :class:`ClassStore` per process (the app holds it in ``st.cache_resource``; it is thread-safe).
When the database cannot be reached, :meth:`ClassStore.engine` raises
:class:`~core.store.database.StoreUnavailable` and tries again on a later call (no more often than every
``retry_s`` seconds), so a database that comes back is picked up without a restart.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine

from core.store.database import StoreUnavailable, database_url, describe_url, make_engine
from core.store.migrate import upgrade_to_head

__all__ = ["ClassStore"]


class ClassStore:
    """The store at ``url`` (default: :func:`~core.store.database.database_url`)."""

    def __init__(self, url: str | None = None, *, retry_s: float = 5.0):
        self.url = database_url(url)
        self.retry_s = retry_s
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._ready = False
        self._last_error: str | None = None
        self._last_try = -float("inf")

    @property
    def where(self) -> str:
        """The database, password hidden, for the page."""
        return describe_url(self.url)

    @property
    def backend(self) -> str:
        """ "sqlite" or "postgresql" (or whatever the URL names)."""
        return self.url.split(":", 1)[0].split("+", 1)[0]

    @property
    def last_error(self) -> str | None:
        """Why the last attempt to open the store failed (None once it works)."""
        return self._last_error

    def engine(self) -> Engine:
        """The engine, migrated to the newest schema; raises :class:`StoreUnavailable` while it cannot be."""
        if self._ready and self._engine is not None:
            return self._engine
        with self._lock:
            if self._ready and self._engine is not None:
                return self._engine
            if time.monotonic() - self._last_try < self.retry_s and self._last_error:
                raise StoreUnavailable(self._last_error)
            self._last_try = time.monotonic()
            try:
                if self._engine is None:
                    self._engine = make_engine(self.url)
                upgrade_to_head(self._engine)
            except StoreUnavailable as error:
                self._last_error = f"the class store ({self.where}) is unavailable: {error}"
                raise StoreUnavailable(self._last_error) from None
            self._ready, self._last_error = True, None
            return self._engine

    def dispose(self) -> None:
        """Close pooled connections (tests, shutdown)."""
        if self._engine is not None:
            self._engine.dispose()
