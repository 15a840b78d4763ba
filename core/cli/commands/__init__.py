"""Subcommands of the ``speclab`` CLI.

Each module here defines ``register(subparsers)``: it adds one subparser and sets ``func`` to a callable
``run(args) -> int`` (the exit code). :mod:`core.cli.main` discovers the modules, so adding a subcommand means
adding a module, nothing else.
"""
