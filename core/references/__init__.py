"""Published numbers and cited facts the lab quotes, each with its source (paper and table, or
repository path and release), read from ``core/data``.

May import: ``core.foundation``, ``core.simulation`` (to recompute a published setup).
"""
