"""The import direction of the package (issue 13 A): every import, module level or inside a function, runs
toward the base, mc/ and theory/ never import each other, and no two modules import each other in a cycle.

Layers, lowest first (a module may import its own layer's package and any layer below it):

  0 base         deepglass (the package: errors and model, the rest lazily), errors, atomic, model, datasets,
                 observables (array functions of the model's configurations; mc/measure.py records them, so
                 observables sits below mc/ and imports only model)
  1 engines      mc/ and theory/, side by side: neither imports the other
  2 plots/       figures: functions of the Datasets they are given (and the theory figures, which solve
                 the theory); never import experiments/ (they draw, they do not run)
  3 experiments/ configs, runs, stores, sweeps, compare, reproduce (which draws its figures with plots/)
  4 cli/         the `deepglass` command (and deepglass.__main__)
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "deepglass"

BASE = {"deepglass", "deepglass.errors", "deepglass.atomic", "deepglass.model", "deepglass.observables",
        "deepglass.datasets"}
LAYERS = {"mc": 1, "theory": 1, "plots": 2, "experiments": 3, "cli": 4}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(name: str, path: Path) -> set[str]:
    """The deepglass modules `name` imports anywhere in its body (absolute or relative). `from pkg import mod`
    depends on the submodule, `from pkg import attr` on pkg's __init__."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            submodules = {f"{base}.{alias.name}" for alias in node.names} & set(MODULES)
            found.update(submodules)
            if len(submodules) < len(node.names):  # a name defined in `base` itself: its __init__ is a dependency
                found.add(base)
    return {m for m in found if m.split(".")[0] == "deepglass" and m != name}


GRAPH = {name: imported_modules(name, path) for name, path in MODULES.items()}


def layer(name: str) -> tuple[int, str]:
    """(rank, group): group is the subpackage, for the mc/theory separation."""
    if name in BASE:
        return 0, "base"
    if name == "deepglass.__main__":
        return LAYERS["cli"], "cli"
    group = name.split(".")[1]
    assert group in LAYERS, f"{name}: a module outside the layer model; add it to tests/test_import_layers.py"
    return LAYERS[group], group


def test_every_import_resolves_to_a_module():
    unknown = {(name, dep) for name, deps in GRAPH.items() for dep in deps if dep not in MODULES}
    assert not unknown, f"imports of deepglass modules that do not exist: {sorted(unknown)}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_run_toward_the_base(name):
    rank, group = layer(name)
    upward = []
    for dep in sorted(GRAPH[name]):
        dep_rank, dep_group = layer(dep)
        if dep_rank > rank or (dep_rank == rank and dep_group != group):
            upward.append(f"{dep} (layer {dep_rank} {dep_group})")
    assert not upward, f"{name} (layer {rank} {group}) imports upward or sideways: {upward}"


def test_mc_and_theory_never_import_each_other():
    crossing = [(a, b) for a, deps in GRAPH.items() for b in deps
                if {layer(a)[1], layer(b)[1]} == {"mc", "theory"}]
    assert not crossing, crossing


def test_no_import_cycle():
    """Depth-first search over the module graph; a back edge is a cycle, reported as its path."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(GRAPH.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (cycle := visit(dep)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for name in sorted(GRAPH):
        if name not in state and (cycle := visit(name)):
            pytest.fail("import cycle: " + " -> ".join(cycle))


def test_the_checker_sees_imports_inside_functions(tmp_path):
    """The checker is not blind to the kind of import that once ran upward: relative, inside a function body."""
    body = tmp_path / "observables.py"
    body.write_text("def energy():\n    from .mc.params import potential_function\n    from . import model\n"
                    "    from . import __version__\n")
    assert imported_modules("deepglass.observables", body) == {"deepglass.mc.params", "deepglass.model", "deepglass"}


HEAVY = ("numpy", "xarray", "pydantic", "scipy", "numba", "matplotlib", "dask")


@pytest.mark.parametrize("code", [
    "import deepglass",
    "import deepglass.cli",
    "from deepglass.cli import app\ntry:\n    app(['version'])\nexcept SystemExit:\n    pass",
    "from deepglass.cli import app\ntry:\n    app(['--help'])\nexcept SystemExit:\n    pass",
])
def test_cli_startup_imports_nothing_heavy(code):
    """`deepglass --help` and `deepglass version` stay fast: the commands import numpy, xarray, pydantic and
    the theory inside their bodies (checked as what a fresh interpreter has loaded, not as a time)."""
    import os
    import subprocess
    import sys

    probe = code + f"\nimport sys\nprint('loaded:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    env = dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
    loaded = done.stdout.rpartition("loaded:")[2].strip()
    assert "loaded:" in done.stdout and loaded == "", f"{code!r} imported {loaded}"
