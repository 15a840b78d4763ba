"""The lessons: the "How it works" step-through, the quiz, the deployment wizard, and the Simulator
page's settings (URL parameters) and chart tables; quiz and wizard answers saved in the class store.

May import: ``core.foundation``, ``core.simulation``, ``core.references``, ``core.serving``, ``core.store``.
"""
