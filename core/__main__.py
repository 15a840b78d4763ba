"""``python -m core`` runs the ``speclab`` command line."""

from core.cli import main

raise SystemExit(main())
