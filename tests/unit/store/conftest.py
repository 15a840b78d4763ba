"""Stores to test against: SQLite in a temporary folder always, and a real PostgreSQL server.

PostgreSQL: ``SPECLAB_TEST_DATABASE_URL`` names a server to use (its ``speclab_test_*`` schemas are not
touched: each test gets a fresh database); otherwise a throwaway cluster is started from Debian's
postgresql binaries (``/usr/lib/postgresql/<version>/bin``) on a loopback port, as the ``postgres`` user
when run as root, and removed after the session. Without either, PostgreSQL tests are skipped with the
reason.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from core.store.class_store import ClassStore

ENV_TEST_URL = "SPECLAB_TEST_DATABASE_URL"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class _Cluster:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (trust authentication, fsync off)."""

    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="speclab-pg-"))
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> str:
        if self.as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        data = str(self.folder / "data")
        self._run("initdb", "-D", data, "-A", "trust", "-U", "speclab", "--no-sync", "-E", "UTF8")
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", data, "-o", options, "-l", str(self.folder / "log"), "-w", "start")
        return f"postgresql+psycopg://speclab@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server():
    """URL of a PostgreSQL server's maintenance database, or a skip with the reason."""
    url = os.environ.get(ENV_TEST_URL)
    if url:
        yield url
        return
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("PostgreSQL tests need psycopg (pip install 'psycopg[binary]')")
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip(
            "PostgreSQL tests need Debian's postgresql package (scripts/test.sh installs it when run as root) "
            f"or {ENV_TEST_URL}"
        )
    cluster = _Cluster(bin_dir)
    try:
        url = cluster.start()
    except (subprocess.SubprocessError, OSError) as error:
        detail = getattr(error, "stderr", b"") or b""
        shutil.rmtree(cluster.folder, ignore_errors=True)
        pytest.skip(f"could not start a throwaway PostgreSQL cluster: {error} {detail.decode()[-300:]}")
    yield url
    cluster.stop()


def _fresh_postgres_database(server_url: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"speclab_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """A fresh, empty database of each kind (the PostgreSQL one is skipped when no server can be had)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'class.sqlite3'}"
    return _fresh_postgres_database(request.getfixturevalue("postgres_server"))


@pytest.fixture
def store(database_url):
    """A :class:`ClassStore` on a fresh database of each kind, migrated."""
    class_store = ClassStore(database_url)
    class_store.engine()
    yield class_store
    class_store.dispose()


@pytest.fixture
def sqlite_store(tmp_path):
    class_store = ClassStore(f"sqlite:///{tmp_path / 'class.sqlite3'}")
    class_store.engine()
    yield class_store
    class_store.dispose()
