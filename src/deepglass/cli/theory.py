"""Theory commands: theory, transitions, phase-diagram (registered on the shared app)."""
from __future__ import annotations

import json
import math
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer

from ..atomic import atomic_path
from ..errors import ConfigError, ConvergenceError
from ._common import app, check_format, check_output_file, emit, err_console, fail, input_errors_exit_2

FORMATS = ("json", "netcdf")


def _problem(scenario: str, depth: int, alpha: float, kappa: float, field: float, ansatz: str = "rs"):
    from ..experiments.resources import check_theory_fits
    from ..theory import ChainProblem

    if depth >= 1:  # the range itself is ChainProblem's to check
        check_theory_fits(depth, ansatz, field="depth")
    problem = ChainProblem(scenario, depth, alpha, kappa=kappa, field=field)
    if field > 0 and not problem.field_layers:
        raise ConfigError("field", field, "0 when the network has no hidden layer (depth 1)")
    return problem


def _check_ansatz(ansatz: str, steps: int) -> None:
    from ..theory import ANSATZES, MAX_RSB_STEPS

    if ansatz not in ANSATZES:
        raise ConfigError("ansatz", ansatz, f"one of {', '.join(ANSATZES)}")
    if ansatz == "krsb" and not 1 <= steps <= MAX_RSB_STEPS:
        raise ConfigError("steps", steps, f"an integer 1 <= k <= {MAX_RSB_STEPS} for --ansatz krsb")


def _check_format(format: str, out: Optional[Path]) -> None:
    check_format(format, out, FORMATS, "a file path: --format netcdf needs --out FILE", out_is_file=True)


def solution_summary(ds) -> dict:
    """The JSON view of a solution: Q (layers 1..L), q (layers 0..L), free entropy, residual, stability."""
    import numpy as np

    from ..experiments.summary import json_ready

    def _floats(values):  # integer-valued arrays too are reported as floats
        return np.asarray(values, float)

    out = {
        "Q": _floats(ds["Q"].values[1:]),
        "q": _floats(ds["q"].values),
        "free_entropy": float(ds.attrs["free_entropy"]),
        "residual": float(ds.attrs["residual"]),
        "converged": bool(ds.attrs.get("converged", 1)),
        "iterations": int(ds.attrs.get("iterations", 0)),
    }
    for key in ("ansatz", "steps", "scenario", "L", "alpha", "kappa", "field", "field_layers",
                "replicon_chain", "eps_g"):
        if key in ds.attrs:
            out[key] = ds.attrs[key]
    if "replicon_weight" in ds:
        out["replicon"] = _floats(ds["replicon_weight"].values[1:])
        out["replicon_neuron"] = _floats(ds["replicon_neuron"].values)
    if "m_test" in ds:
        out["m_test"] = _floats(ds["m_test"].values)
    for name in ("q_x", "Q_x"):
        if name in ds:
            out[name] = _floats(ds[name].values)
    if "x" in ds.coords:
        out["x"] = _floats(ds["x"].values)
    return json_ready(out)


def _write_text_atomic(text: str, path: Path) -> None:
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise ConfigError("out", str(path), "a file in an existing directory")
    with atomic_path(path) as tmp:
        tmp.write_text(text)


@contextmanager
def _solving():
    """A solve in a command: no solution or no convergence is exit 3, Ctrl-C exit 130, one line each."""
    try:
        yield
    except ConvergenceError as exc:
        raise fail(f"{exc}; no result written", 3) from None
    except KeyboardInterrupt:
        raise fail("interrupted (Ctrl-C) during the solve; no result written", 130) from None


def _warn_if_rs_unstable(ds) -> None:
    """RS with random data and a negative chain replicon is not the physical solution: say so on stderr."""
    rep = ds.attrs.get("replicon_chain")
    if ds.attrs.get("ansatz") == "rs" and ds.attrs.get("scenario") == "random" and rep is not None and rep < 0:
        err_console.print(f"[yellow]warning:[/] replica symmetry is unstable here (replicon_chain = {rep:.3g} < 0): "
                          "the physical solution breaks it; see --ansatz krsb", highlight=False, soft_wrap=True)


@app.command()
@input_errors_exit_2
def theory(
    scenario: str = typer.Option("random", "--scenario", help="random | teacher-student"),
    depth: int = typer.Option(..., "--depth", help="number of weight layers L >= 1"),
    alpha: float = typer.Option(..., "--alpha", help="load alpha = M/c > 0"),
    kappa: float = typer.Option(0.0, "--kappa", help="gap threshold (0 for teacher-student)"),
    field: float = typer.Option(0.0, "--field", help="symmetry-breaking field h >= 0 on the central layer(s)"),
    ansatz: str = typer.Option("rs", "--ansatz", help="rs | krsb | frsb"),
    steps: int = typer.Option(1, "--steps", help="k for --ansatz krsb, 1..6 (3-RSB at L = 10, alpha = 6: ~20 s CPU)"),
    format: str = typer.Option("json", "--format", help="json | netcdf"),
    out: Optional[Path] = typer.Option(None, "--out", help="output file (required for netcdf)"),
) -> None:
    """Solve the replica theory of the chain at one load: overlap profiles, free entropy, stability."""
    _check_format(format, out)
    _check_ansatz(ansatz, steps)
    problem = _problem(scenario, depth, alpha, kappa, field, ansatz)
    from ..theory import solve

    with _solving():
        ds = solve(problem, ansatz, steps=steps)
    _warn_if_rs_unstable(ds)
    if format == "netcdf":
        from ..experiments.store import write_dataset

        write_dataset(ds, out)  # out checked by _check_format: a file in an existing writable directory
        emit(json.dumps({"written": str(out), "residual": float(ds.attrs["residual"])}))
        return
    text = json.dumps(solution_summary(ds), indent=2)
    if out is not None:
        _write_text_atomic(text + "\n", out)
    emit(text)


@app.command()
@input_errors_exit_2
def transitions(
    scenario: str = typer.Option("random", "--scenario", help="random | teacher-student"),
    depth: int = typer.Option(..., "--depth", help="number of weight layers L >= 1"),
    kappa: float = typer.Option(0.0, "--kappa", help="gap threshold (0 for teacher-student)"),
    field: float = typer.Option(0.0, "--field", help="symmetry-breaking field h >= 0 on the central layer(s)"),
    alpha_max: float = typer.Option(1000.0, "--alpha-max", help="largest load scanned"),
    format: str = typer.Option("json", "--format", help="json"),
    out: Optional[Path] = typer.Option(None, "--out", help="also write the JSON to this file"),
) -> None:
    """alpha_g(l) at which each weight layer leaves the liquid, its growth length xi, RS capacity (L = 1)."""
    if format != "json":
        raise ConfigError("format", format, "json")
    if out is not None:
        check_output_file(out)
    problem = _problem(scenario, depth, 1.0, kappa, field)
    from ..theory.transitions import find_transitions, liquid_threshold

    with _solving():
        tr = find_transitions(problem, alpha_max=alpha_max)
    result = {"scenario": scenario, "L": depth, "kappa": kappa, "field": field,
              "alpha_g_first_analytic": liquid_threshold(depth, kappa) if field == 0 else None,
              **tr.as_dict()}
    text = json.dumps(result, indent=2)
    if out is not None:
        _write_text_atomic(text + "\n", out)
    emit(text)


@app.command("phase-diagram")
@input_errors_exit_2
def phase_diagram(
    scenario: str = typer.Option("random", "--scenario", help="random | teacher-student"),
    depth: int = typer.Option(8, "--depth", help="number of weight layers L >= 2"),
    kappa: float = typer.Option(0.0, "--kappa", help="gap threshold (0 for teacher-student)"),
    field: float = typer.Option(0.0, "--field", help="symmetry-breaking field h >= 0 on the central layer(s)"),
    alpha_max: float = typer.Option(1000.0, "--alpha-max", help="largest load scanned"),
    ansatz: str = typer.Option("rs", "--ansatz", help="rs | krsb | frsb (adds q(x, l) panels)"),
    steps: int = typer.Option(1, "--steps", help="k for --ansatz krsb, 1..6 (3-RSB at L = 10, alpha = 6: ~20 s CPU)"),
    out: Path = typer.Option(..., "--out", help="figure file (.png, .pdf, .svg)"),
) -> None:
    """Figure: liquid and solid regions in (layer, alpha), alpha_g(l) with its fit, overlap profiles."""
    _check_ansatz(ansatz, steps)
    if depth < 2:
        raise ConfigError("depth", depth, "an integer L >= 2 for a phase diagram (L = 1 has no liquid)")
    if out.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise ConfigError("out", str(out), "a file ending in .png, .pdf or .svg")
    check_output_file(out)
    problem = _problem(scenario, depth, 1.0, kappa, field, ansatz)
    from ..plots.theory import phase_diagram_figure

    with _solving():
        phase_diagram_figure(problem, alpha_max=alpha_max, ansatz=ansatz, steps=steps, out=out)
    emit(json.dumps({"written": str(out)}))


@app.command()
@input_errors_exit_2
def capacity(
    depth: int = typer.Option(..., "--depth", help="number of weight layers L >= 1"),
    kappa: float = typer.Option(0.0, "--kappa", help="gap threshold"),
    alpha_max: float = typer.Option(1000.0, "--alpha-max", help="largest load scanned (> 0.1)"),
    ansatz: str = typer.Option("rs", "--ansatz", help="rs | krsb (the k-RSB SAT/UNSAT threshold)"),
    steps: int = typer.Option(1, "--steps", help="k for --ansatz krsb, 1..6"),
    alpha_start: float = typer.Option(0.5, "--alpha-start", help="first load of the k-RSB scan (> 0)"),
    out: Optional[Path] = typer.Option(None, "--out", help="also write the JSON to this file"),
) -> None:
    """Capacity of the chain (random data): the load where some gap overlap q Q q (k-RSB: its largest level)
    reaches 1, or none below --alpha-max (a result, exit 0); RS also reports its stability (replicon_chain)
    at the last load solved."""
    if ansatz not in ("rs", "krsb"):
        raise ConfigError("ansatz", ansatz, "rs or krsb")
    _check_ansatz(ansatz, steps)
    if not (math.isfinite(alpha_start) and alpha_start > 0):
        raise ConfigError("alpha_start", alpha_start, "a finite load > 0")
    problem = _problem("random", depth, 1.0, kappa, 0.0, ansatz)
    from ..experiments.summary import json_ready

    if ansatz == "krsb":
        from ..theory.capacity_rsb import krsb_capacity

        if out is not None:
            check_output_file(out)
        with _solving():
            cap = krsb_capacity(problem, steps, alpha_start=alpha_start, alpha_max=alpha_max,
                                progress=lambda line: err_console.print(line, highlight=False))
        result = json_ready({"scenario": "random", "L": depth, "kappa": kappa, "alpha_max": alpha_max,
                             "ansatz": "krsb", "steps": steps, "found": cap["alpha_c"] is not None, **cap})
    else:
        from ..theory.transitions import capacity as rs_capacity

        with _solving():
            cap = rs_capacity(problem, alpha_max=alpha_max)
        rep = cap["replicon_chain"]
        result = json_ready({"scenario": "random", "L": depth, "kappa": kappa, "alpha_max": alpha_max, "ansatz": "rs",
                             "alpha_c": cap["alpha_c"], "found": cap["alpha_c"] is not None,
                             "max_c": cap["max_c"], "alpha_reached": cap["alpha_reached"],
                             "replicon_chain": rep, "rs_stable": None if rep is None else bool(rep > 0)})
    text = json.dumps(result, indent=2)
    if out is not None:
        _write_text_atomic(text + "\n", out)
    emit(text)
