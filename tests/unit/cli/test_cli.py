"""The speclab command line: help, version, and `python -m core`."""

import subprocess
import sys

from core import __version__
from core.cli import main
from tests.conftest import ROOT


def test_help_lists_usage(capsys):
    try:
        main(["--help"])
    except SystemExit as stop:
        assert stop.code == 0
    assert "speclab" in capsys.readouterr().out


def test_version_via_python_dash_m():
    result = subprocess.run(
        [sys.executable, "-m", "core", "--version"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"speclab {__version__}"


def test_unknown_command_exits_2():
    result = subprocess.run(
        [sys.executable, "-m", "core", "no-such-command"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "error" in result.stderr
