"""The simulation: closed forms, Numba Monte Carlo, draft trees, the exact rejection-sampling rule,
the hardware cost model (the ideal roofline and engine profiles calibrated on published measurements,
with the fit behind them), two-lane timelines, speculation-length controllers and adaptive streams.

May import: ``core.foundation``.
"""
