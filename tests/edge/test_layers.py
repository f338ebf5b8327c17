"""Layers point one way (ARCHITECTURE: cli -> composition root -> supervisor -> core,
drivers through ports, mqtt, local API -> config, store, clock), and the Pi's install
carries only what the Pi runs.

The graph is read from the source with ast: every `import` of an edge module, at module
level or inside a function, except those under `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import edge

ROOT = Path(edge.__file__).parent

# The simulated house and the device emulators: they may use the drivers, never the other
# way round.
SIMULATED = (
    "edge.sim",
    "edge.drivers.dab.sim",
    "edge.drivers.loads.sim",
    "edge.drivers.pylontech.sim",
    "edge.drivers.sofar.sim",
    "edge.drivers.sofar.g3_sim",
)
# The packages of the `sim`, `bench` and `flash` extras: never loaded by the Pi's runtime.
EXTRA_PACKAGES = (
    "pvlib",
    "pandas",
    "numpy",
    "scipy",
    "richardsonpy",
    "highspy",
    "matplotlib",
    "stm32loader",
    "cryptography",
    "tqdm",
    "host_tools",
    "s2python",  # the s2 extra: loaded only where [s2] is enabled
    "websockets",
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _resolve(module: str, importer: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return module
    base = importer.split(".")[: -node.level]
    return ".".join([*base, module] if module else base)


def import_graph() -> dict[str, set[str]]:
    """{module: the edge modules it imports}."""
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_lines(tree)
        deps: set[str] = set()
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skip:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                mod = _resolve(node.module or "", name, node)
                targets = [mod, *(f"{mod}.{a.name}" for a in node.names)]
            for t in targets:
                # the longest known module the import names
                while t and t not in modules:
                    t = t.rpartition(".")[0]
                if t and t != name and t != "edge":
                    deps.add(t)
        graph[name] = deps
    return graph


def _simulated(module: str) -> bool:
    return any(module == s or module.startswith(s + ".") for s in SIMULATED)


def _reach(graph: dict[str, set[str]], start: str) -> dict[str, str]:
    """Every module start reaches, with the module that first imported it."""
    seen: dict[str, str] = {}
    todo = [start]
    while todo:
        m = todo.pop()
        for d in graph.get(m, ()):
            if d not in seen and d != start:
                seen[d] = m
                todo.append(d)
    return seen


def test_no_import_cycles():
    graph = import_graph()
    cycles = []
    for m in graph:
        back = _reach(graph, m)
        if m in {d for deps in (graph[x] for x in back) for d in deps}:
            cycles.append(m)
    assert cycles == [], f"modules on an import cycle: {sorted(cycles)}"


def test_runtime_never_imports_the_simulated_house():
    graph = import_graph()
    # The CLI imports each command inside the function that runs it (checked below).
    graph["edge.cli"] = set()
    runtime = [m for m in graph if not _simulated(m)]
    offenders = {}
    for m in runtime:
        for dep, via in _reach(graph, m).items():
            if _simulated(dep):
                offenders[m] = f"{via} imports {dep}"
    assert offenders == {}


def test_the_cli_loads_the_simulated_house_only_inside_a_command():
    """cli may name edge.sim, but only in a function (a command that runs it)."""
    tree = ast.parse((ROOT / "cli.py").read_text(encoding="utf-8"))
    top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    names = [ast.unparse(n) for n in top]
    assert not [n for n in names if "edge.sim" in n or "compose" in n], names


# The MQTT client factory is a transport, like pymodbus: drivers of MQTT-switched loads
# use it. The publisher, commands and discovery above it stay out of the drivers.
TRANSPORTS = ("edge.mqtt.client",)


def test_core_and_drivers_point_down():
    graph = import_graph()
    upper = (
        "edge.cli",
        "edge.compose",
        "edge.supervisor",
        "edge.supervisor_api",
        "edge.local_api",
        "edge.mqtt",
        "edge.menu",
    )
    for m, deps in graph.items():
        if m.startswith("edge.core"):
            assert all(d.startswith("edge.core") for d in deps), (m, deps)
        if m.startswith("edge.drivers") and not _simulated(m):
            bad = [d for d in deps if d.startswith(upper) and d not in TRANSPORTS]
            assert bad == [], (m, bad)


def test_only_the_composition_root_names_concrete_drivers():
    """The supervisor, the local API and MQTT meet devices through edge/drivers/ports.py."""
    graph = import_graph()
    concrete = (
        "edge.drivers.sofar.driver",
        "edge.drivers.sofar.g3_driver",
        "edge.drivers.dab.driver",
        "edge.drivers.pylontech.driver",
        "edge.drivers.loads.hardware",
    )
    # commissioning and the doctor ask the devices directly, without a supervisor
    allowed = ("edge.compose", "edge.drivers", "edge.sim", "edge.commissioning", "edge.doctor")
    offenders = {
        m: sorted(d for d in deps if d in concrete)
        for m, deps in graph.items()
        if not m.startswith(allowed) and any(d in concrete for d in deps)
    }
    assert offenders == {}


def test_the_runtime_loads_none_of_the_extras():
    """What `edge run` imports (the composition root and all it builds) in a fresh
    interpreter: none of the sim, bench or flash extras' packages."""
    code = textwrap.dedent(
        """
        import sys
        import edge.compose, edge.cli, edge.menu.app
        print(" ".join(sorted(m for m in sys.modules if "." not in m)))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "edge" in out and "pymodbus" in out  # the probe did load the runtime
    assert [p for p in EXTRA_PACKAGES if p in out] == []


def test_a_missing_extra_is_one_line_naming_it(tmp_path):
    """`edge demo` without the sim extra: one line naming `edge[sim]`, no traceback."""
    blocked = tmp_path / "pvlib"
    blocked.mkdir()
    (blocked / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'pvlib'\", name='pvlib')\n"
    )
    env_path = f"{tmp_path}"
    r = subprocess.run(
        [sys.executable, "-m", "edge", "demo", "--minutes", "0.1"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
    )
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert lines == [
        "edge: edge demo needs the 'sim' extra (pvlib is missing): pip install 'edge[sim]'"
    ], r.stderr
