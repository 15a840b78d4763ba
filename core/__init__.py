"""Speculative Decoding Lab core: every computation the app shows, with no Streamlit dependency.

Importing any ``core`` module first runs :mod:`core.foundation.numba_env`, so Numba is configured (cache
directory, thread-safe threading layer) before it is imported anywhere in the process.
"""

from core.foundation import numba_env as _numba_env

_numba_env.configure()

__version__ = "0.1.0"
