"""The lessons: the "How it works" step-through, the quiz, the deployment wizard, the Simulator page's
settings (URL parameters), and the tables each page shows (``*_views``: simulator, how it works, adaptive,
decision), computed here so the pages only draw them.

May import: ``core.foundation``, ``core.simulation``, ``core.references``, ``core.serving``.
"""
