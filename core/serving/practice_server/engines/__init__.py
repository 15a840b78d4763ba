"""Engines behind the practice server's engine seam (``core.serving.practice_server.engine``).

``synthetic``: SIMULATED tokens and timing (cost model + Monte Carlo), no model runs.
"""
