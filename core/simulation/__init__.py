"""The simulation: closed forms, Numba Monte Carlo, draft trees, the exact rejection-sampling rule,
the hardware cost model, two-lane timelines, speculation-length controllers and adaptive streams.

May import: ``core.foundation``.
"""
