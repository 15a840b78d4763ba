"""Compatibility name: the launch-command code lives in :mod:`core.serving.launch` (a package)."""

from core.serving.launch import *  # noqa: F403
from core.serving.launch import __all__  # noqa: F401
