"""The lessons: the "How it works" step-through (simulated, and on the lab's tiny models), the quiz, the
deployment wizard, and the Simulator page's settings (URL parameters) and chart tables.

May import: ``core.foundation``, ``core.simulation``, ``core.tiny_models``, ``core.references``,
``core.serving``.
"""
