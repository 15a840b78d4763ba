"""What every other part of ``core`` stands on: Numba start-up settings, compile-once warm-up,
read-only shared data, and the site map of page URLs.

May import: the standard library and third-party packages only (nothing else from ``core``).
"""
