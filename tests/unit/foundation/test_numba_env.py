"""Numba is configured before it is imported: cache dir fallback and a thread-safe threading layer."""

import os
import subprocess
import sys

from core.foundation import numba_env
from tests.conftest import ROOT


def _run(code: str, env: dict) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(extra)
    return env


def test_threading_layer_is_thread_safe_by_default():
    out = _run("import core, numba; print(numba.config.THREADING_LAYER)", _clean_env())
    assert out == "threadsafe"


def test_operator_settings_win():
    out = _run(
        "import core, numba; print(numba.config.THREADING_LAYER)", _clean_env(NUMBA_THREADING_LAYER="omp")
    )
    assert out == "omp"


def test_unwritable_package_dir_falls_back_to_user_cache(monkeypatch, tmp_path):
    monkeypatch.setattr(numba_env, "_PACKAGE_DIR", tmp_path / "readonly")
    monkeypatch.setattr(numba_env, "_is_writable_dir", lambda path: "readonly" not in str(path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert numba_env.choose_cache_dir() == tmp_path / "cache" / "speclab" / "numba"


def test_writable_package_dir_keeps_numba_default():
    assert numba_env.choose_cache_dir() is None
