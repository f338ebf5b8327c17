"""edge/core stays pure: no I/O, no asyncio, no clock reads (STYLE.md 'Habits')."""

from __future__ import annotations

import ast
from pathlib import Path

import edge.core

FORBIDDEN = {
    "pymodbus",
    "paho",
    "serial",
    "asyncio",
    "time",
    "socket",
    "sqlite3",
    "subprocess",
    "threading",
    "logging",
    "os",
    "random",
    "datetime",
}


def test_core_imports_nothing_that_does_io():
    root = Path(edge.core.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("edge."):
                assert node.module.startswith("edge.core"), f"{path.name} imports {node.module}"
    assert offenders == []
