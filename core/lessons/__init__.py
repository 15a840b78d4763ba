"""The lessons: the "How it works" step-through (simulated, and on the lab's tiny models:
``tiny_walkthrough``), the quiz, the deployment wizard, the Simulator page's settings (URL parameters),
and the tables each page shows (``*_views``: simulator, how it works, adaptive, decision), computed here
so the pages only draw them; quiz and wizard answers saved in the class store (``saved_answers``).

May import: ``core.foundation``, ``core.simulation``, ``core.tiny_models``, ``core.references``,
``core.serving``, ``core.store``.
"""
