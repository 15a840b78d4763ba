"""The ``speclab`` command line: :mod:`core.cli.main` builds the parser, :mod:`core.cli.commands` holds
one module per subcommand.

May import: anything in ``core``.
"""

from core.cli.main import main

__all__ = ["main"]
