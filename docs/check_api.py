"""Check that the API reference covers the public API (run by `make docs` and tests/test_docs.py).

Fails (exit 1, one line per problem) if
  * a public name has no entry (``::: deepglass.module.name``) in docs/api/*.md,
  * a public function or class has no docstring, or a numpy-style "Parameters" section that misses or invents
    an argument of its signature,
  * a variable the run, sweep or compare writers produce has no entry in their registries (the writers take
    their dims from the registries; this also reads their source for names, so an entry cannot be forgotten
    on a code path the tests do not run), or a small theory solution (RS, teacher-student, 1-RSB) holds a
    variable that deepglass.theory.variables does not list.

The public API: ``__all__`` of deepglass, deepglass.theory, deepglass.mc, deepglass.experiments and of the
modules in PUBLIC_MODULES that define it; in the others every module-level function and class not starting
with ``_``. An entry documents a name where it is defined (``deepglass.theory.dispatch.solve`` for
``deepglass.theory.solve``), so a re-exported name is documented once.
Usage: python docs/check_api.py [--list]
"""
from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
API_DIR = ROOT / "docs" / "api"
SRC = ROOT / "src" / "deepglass"

PUBLIC_PACKAGES = ("deepglass", "deepglass.theory", "deepglass.mc", "deepglass.experiments")
PUBLIC_MODULES = ("deepglass.model", "deepglass.observables", "deepglass.datasets", "deepglass.errors",
                  "deepglass.experiments.compare", "deepglass.experiments.dynamics",
                  "deepglass.experiments.ultrametric", "deepglass.experiments.layer_profile",
                  "deepglass.experiments.summary",
                  "deepglass.mc.variables", "deepglass.experiments.variables")
PLOTS = "deepglass.plots"
# The writers of Dataset variables and their registries (module, registry name in that module).
WRITERS = {"src/deepglass/mc/measure.py": ("deepglass.mc.variables", "RUN_VARIABLES"),
           "src/deepglass/experiments/compare.py": ("deepglass.experiments.variables", "COMPARE_VARIABLES")}
# The entry points a user calls: their docstrings must have numpy "Parameters" (every argument) and "Returns"
# sections (shapes, units, ranges). The other public docstrings may be prose; a Parameters section, where
# present, must match the signature.
NUMPY_STYLE = (
    "deepglass.theory.dispatch.solve", "deepglass.theory.continuation.solve_curve",
    "deepglass.theory.continuation.learning_curve", "deepglass.theory.transitions.find_transitions",
    "deepglass.theory.transitions.capacity", "deepglass.theory.field.field_response",
    "deepglass.theory.teacher_student.generalization_error", "deepglass.theory.teacher_student.fresh_input_overlaps",
    "deepglass.experiments.store.open_run", "deepglass.experiments.runner.run_simulation",
    "deepglass.experiments.sweep_store.open_sweep", "deepglass.experiments.sweep_run.run_sweep",
    "deepglass.experiments.compare.run_compare", "deepglass.experiments.compare.open_compare",
    "deepglass.experiments.summary.final_summary", "deepglass.experiments.layer_profile.layer_profile",
    "deepglass.mc.simulate.simulate", "deepglass.mc.schedule.measurement_times",
    "deepglass.observables.neuron_overlap", "deepglass.observables.weight_overlap",
    "deepglass.observables.fix_gauge", "deepglass.observables.gauge_fixed_overlaps",
    "deepglass.observables.all_gaps", "deepglass.observables.violations_per_layer",
    "deepglass.observables.energy_per_layer", "deepglass.observables.test_overlap",
    "deepglass.observables.generalization_error_from_output_overlap",
    "deepglass.datasets.read_idx_directory", "deepglass.datasets.read_npz",
    "deepglass.model.forward", "deepglass.model.local_field", "deepglass.model.gap",
    "deepglass.model.make_training_set", "deepglass.experiments.summary.equilibrium_verdict",
    "deepglass.experiments.dynamics.open_dynamics",
)
ENTRY = re.compile(r"^:::\s+([\w.]+)\s*$", re.M)


def plot_modules() -> list[str]:
    return sorted(f"{PLOTS}.{p.stem}" for p in (SRC / "plots").glob("*.py") if not p.stem.startswith("_"))


def public_names(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    if hasattr(module, "__all__"):
        return [n for n in module.__all__ if n != "__version__"]
    return [n for n, obj in vars(module).items() if not n.startswith("_")
            and (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == module_name]


def _module_file(module_name: str) -> Path:
    return Path(importlib.import_module(module_name).__file__)


def defining_path(module_name: str, name: str) -> str:
    """Where NAME, public in MODULE_NAME, is defined (the path of its API entry)."""
    module = importlib.import_module(module_name)
    obj = getattr(module, name)
    if inspect.isfunction(obj) or inspect.isclass(obj):
        return f"{obj.__module__}.{obj.__qualname__}"
    lazy = getattr(module, "_EXPORTS", None) or getattr(module, "_LAZY", None) or {}
    if name in lazy:                                     # PEP 562 re-export: {name: submodule}
        return defining_path(f"{module_name}.{lazy[name]}", name)
    tree = ast.parse(_module_file(module_name).read_text())
    for node in tree.body:                               # a constant: assigned here, or imported from
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(getattr(t, "id", None) == name for t in targets):
                return f"{module_name}.{name}"
        if isinstance(node, ast.ImportFrom) and any(a.name == name for a in node.names):
            package = module_name if _module_file(module_name).name == "__init__.py" \
                else module_name.rpartition(".")[0]
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            source = f"{base}.{node.module}" if node.level else node.module
            return defining_path(source, name)
    return f"{module_name}.{name}"


def public_api() -> dict[str, str]:
    """{public name as a user writes it: path of the entry documenting it}."""
    out = {}
    for module_name in (*PUBLIC_PACKAGES, *PUBLIC_MODULES, *plot_modules()):
        for name in public_names(module_name):
            out[f"{module_name}.{name}"] = defining_path(module_name, name)
    return out


def api_entries() -> dict[str, str]:
    """{entry path: page} of every ``::: path`` in docs/api/*.md."""
    return {m.group(1): page.name for page in sorted(API_DIR.glob("*.md")) for m in ENTRY.finditer(page.read_text())}


def _is_rule(line: str) -> bool:
    return bool(line.strip()) and set(line.strip()) == {"-"}


def _documented_parameters(doc: str) -> list[str] | None:
    """Argument names of a numpy "Parameters" section (None if the docstring has none)."""
    lines = doc.splitlines()
    for k in range(len(lines) - 1):
        if lines[k].strip() == "Parameters" and _is_rule(lines[k + 1]):
            names, indent = [], None
            for i in range(k + 2, len(lines)):
                if i + 1 < len(lines) and _is_rule(lines[i + 1]):
                    break                                  # the next section's header
                line = lines[i]
                if line.strip():
                    here = len(line) - len(line.lstrip())
                    indent = here if indent is None else indent
                    if here == indent:                     # "name : type" (descriptions are indented)
                        names += [n.strip().lstrip("*") for n in line.split(":")[0].split(",")]
            return names
    return None


def _has_section(doc: str, title: str) -> bool:
    lines = doc.splitlines()
    return any(a.strip() == title and _is_rule(b) for a, b in zip(lines, lines[1:]))


def docstring_problems(path: str, obj, numpy_style: bool = False) -> list[str]:
    doc = inspect.getdoc(obj)
    if not doc:
        return [f"{path}: no docstring"]
    documented = _documented_parameters(doc)
    if numpy_style and not _has_section(doc, "Returns"):
        return [f"{path}: an entry point without a numpy Returns section (NUMPY_STYLE)"]
    if numpy_style and documented is None and inspect.signature(obj).parameters:
        return [f"{path}: an entry point without a numpy Parameters section (NUMPY_STYLE)"]
    if documented is None:
        return []
    target = obj.__init__ if inspect.isclass(obj) and "__init__" in vars(obj) else obj
    try:
        params = [p for p in inspect.signature(target).parameters if p not in ("self", "cls")]
    except (TypeError, ValueError):
        return []
    problems = [f"{path}: argument {p!r} is missing from its Parameters section" for p in params
                if p not in documented]
    problems += [f"{path}: Parameters documents {p!r}, which is not an argument" for p in documented
                 if p not in params]
    return problems


def _has_attribute_docstring(module_name: str, name: str) -> bool:
    """Whether the module-level assignment of NAME is followed by a string literal (what griffe shows)."""
    body = ast.parse(_module_file(module_name).read_text()).body
    for node, after in zip(body, body[1:]):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(getattr(t, "id", None) == name for t in targets):
            return isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant) \
                and isinstance(after.value.value, str)
    return False


def written_variable_names(source: Path) -> set[str]:
    """Names a writer stores: string keys of the dict literal named ``data`` and of ``data[...] =``."""
    names = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Subscript) and getattr(target.value, "id", None) == "data" \
                        and isinstance(target.slice, ast.Constant):
                    names.add(target.slice.value)
                if getattr(target, "id", None) == "data" and isinstance(node.value, ast.Dict):
                    names |= {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
        if isinstance(node, ast.BinOp) or isinstance(node, ast.AugAssign):
            value = node.right if isinstance(node, ast.BinOp) else node.value
            if isinstance(value, ast.Dict):
                names |= {k.value for k in value.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    return names


def theory_problems() -> list[str]:
    """Variables of small RS (random, teacher-student) and 1-RSB solutions not in THEORY_VARIABLES (or other dims)."""
    from deepglass.theory import ChainProblem, solve
    from deepglass.theory.variables import THEORY_VARIABLES

    out = []
    for problem, ansatz, steps in ((ChainProblem("random", L=2, alpha=1.0), "rs", 1),
                                   (ChainProblem("teacher-student", L=2, alpha=1.0), "rs", 1),
                                   (ChainProblem("random", L=2, alpha=1.0), "krsb", 1)):
        ds = solve(problem, ansatz, steps=steps)
        for name, var in ds.data_vars.items():
            if name not in THEORY_VARIABLES or tuple(var.dims) != THEORY_VARIABLES[name][0]:
                out.append(f"theory ({problem.scenario}, {ansatz}): variable {name}{tuple(var.dims)} does not match "
                           "deepglass.theory.variables.THEORY_VARIABLES")
    return out


def problems() -> list[str]:
    sys.path.insert(0, str(ROOT / "src"))
    out = []
    api, entries = public_api(), api_entries()
    for public, path in api.items():
        if path not in entries:
            out.append(f"{public}: no API entry (add `::: {path}` to a page in docs/api/)")
    for path in sorted(set(api.values())):
        module_name, _, name = path.rpartition(".")
        try:
            obj = getattr(importlib.import_module(module_name), name)
        except (ImportError, AttributeError):
            obj = None   # a method path (Class.method) or a constant: griffe resolves it in the build
        if inspect.isfunction(obj) or inspect.isclass(obj):
            out += docstring_problems(path, obj, numpy_style=path in NUMPY_STYLE)
        elif not _has_attribute_docstring(module_name, name):
            out.append(f"{path}: no docstring (a string literal on the line after the assignment)")
    out += [f"{path}: in NUMPY_STYLE but not a public name" for path in NUMPY_STYLE if path not in set(api.values())]
    for entry in entries:
        if entry not in set(api.values()) and not _importable(entry):
            out.append(f"docs/api/{entries[entry]}: entry {entry} names nothing importable")
    for source, (module_name, registry_name) in WRITERS.items():
        registry = getattr(importlib.import_module(module_name), registry_name)
        written = written_variable_names(ROOT / source)
        for name in sorted(written - set(registry)):
            out.append(f"{source}: variable {name!r} has no entry in {module_name}.{registry_name}")
        for name in sorted(set(registry) - written):
            out.append(f"{module_name}.{registry_name}: {name!r} is documented but {source} never writes it")
    return out + theory_problems()


def _importable(path: str) -> bool:
    try:
        importlib.import_module(path)
        return True
    except ImportError:
        pass
    module_name, _, name = path.rpartition(".")
    try:
        return hasattr(importlib.import_module(module_name), name)
    except ImportError:
        return False


def main(argv: list[str]) -> int:
    if "--list" in argv:
        sys.path.insert(0, str(ROOT / "src"))
        for public, path in public_api().items():
            print(f"{public}\t{path}")
        return 0
    found = problems()
    for line in found:
        print(line)
    print(f"check_api: {len(found)} problem(s)" if found else "check_api: every public name has an API entry "
          "and a docstring, every written variable a registry entry")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
