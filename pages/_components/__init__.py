"""Reusable page sections and widgets, one subpackage per page that has grown past one reading.

Not pages: each module draws one section (text, widgets, charts) and owns the session-state keys it
names; the logic they call lives in ``core``. Pages import from here; core never does.
"""
