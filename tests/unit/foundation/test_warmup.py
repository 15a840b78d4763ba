"""Every module with Numba kernels is warmed, and warming works."""

import ast
from pathlib import Path

from core.foundation import warmup

CORE = Path(warmup.__file__).parent.parent


def test_every_kernel_module_is_listed():
    with_kernels = set()
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        if any(isinstance(node, ast.FunctionDef) and node.name == "warm_up" for node in tree.body):
            module = path.relative_to(CORE.parent).with_suffix("")
            with_kernels.add(".".join(module.parts))
    assert with_kernels == set(warmup.KERNEL_MODULES)


def test_warm_all_compiles_each_module():
    seconds = warmup.warm_all()
    assert set(seconds) == set(warmup.KERNEL_MODULES)
    assert all(value >= 0 for value in seconds.values())
