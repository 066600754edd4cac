"""Theory vs simulation and ultrametricity commands: compare, ultrametric (registered on the shared app)."""
from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from typing import Optional

import typer

from ..errors import ConfigError
from ..atomic import directory_lock
from ._common import app, check_output_dir, emit, err_console, input_errors_exit_2


FLAG_OF = {"L": "--depth", "N_values": "--N", "N": "--N", "n_samples": "--samples", "t_max": "--t-max",
           "R": "--replicas", "M_test": "--m-test"}


def _flag(field: str) -> str:
    """The flag a user typed for a CompareConfig field or a per-N run config field (network.N -> --N)."""
    if field.startswith("--"):
        return field
    leaf = field.split(".")[-1]
    return FLAG_OF.get(leaf, "--" + leaf.replace("_", "-"))


def _parse_sizes(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError("--N", text, "a comma-separated list of at least two distinct integers N >= 2, e.g. 16,32,64") from None
    return values


def compare_summary(ds) -> dict:
    """JSON view: per observable and layer, theory, extrapolation (+- error, chi2/dof) and MC per N."""
    from ..experiments.summary import json_ready

    out = {key: v for key, v in ds.attrs.items() if key not in ("compare_config", "run_seeds")}
    out["config"] = json.loads(ds.attrs["compare_config"])
    out["N"] = [int(n) for n in ds["N"].values]
    out["sim_time"] = [int(t) for t in ds["sim_time"].values]
    out["observables"] = {}
    for name in ds["observable"].values:
        pick = ds.sel(observable=name)
        entry = {key: pick[var].values for key, var in
                 (("theory", "theory"), ("extrap", "extrap"), ("extrap_err", "extrap_err"),
                  ("extrap_chi2_dof", "extrap_chi2_dof"))}
        if "theory_frozen" in ds:
            entry["theory_frozen"] = pick["theory_frozen"].values
        entry["sim_mean"] = pick["sim_mean"].values
        entry["sim_sem"] = pick["sim_sem"].values
        out["observables"][str(name)] = entry
    for key in ("theory_eps_g", "frozen_eps_g", "extrap_eps_g", "extrap_eps_g_err"):
        if key in ds:
            out[key] = float(ds[key])
    return json_ready(out)


def _table(ds) -> str:
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    console = Console(record=True, width=120, file=io.StringIO())  # recorded, exported once below
    L = int(ds.attrs["L"])
    for name in ds["observable"].values:
        pick = ds.sel(observable=name)
        table = Table(title=f"{name}: theory vs MC extrapolated to N -> inf (t_max = {ds.attrs['t_max']})")
        cols = ["layer", "theory"] + (["frozen"] if "theory_frozen" in ds else []) + \
               [f"MC N={int(n)}" for n in ds["N"].values] + ["extrap a", "+-", "chi2/dof"]
        for col in cols:
            table.add_column(col, justify="right")
        fmt = lambda v: "-" if not np.isfinite(v) else f"{v:.4f}"
        for l in range(L + 1):
            if not np.isfinite(pick["sim_mean"].sel(layer=l).values).any():
                continue
            row = [str(l), fmt(float(pick["theory"].sel(layer=l)))]
            if "theory_frozen" in ds:
                row.append(fmt(float(pick["theory_frozen"].sel(layer=l))))
            row += [f"{fmt(m)}+-{fmt(s)}" for m, s in zip(pick["sim_mean"].sel(layer=l).values,
                                                          pick["sim_sem"].sel(layer=l).values)]
            row += [fmt(float(pick["extrap"].sel(layer=l))), fmt(float(pick["extrap_err"].sel(layer=l))),
                    fmt(float(pick["extrap_chi2_dof"].sel(layer=l)))]
            table.add_row(*row)
        console.print(table)
    if "extrap_eps_g" in ds:
        console.print(f"eps_g: theory {float(ds['theory_eps_g']):.4f}, frozen-representation theory "
                      f"{float(ds['frozen_eps_g']):.4f}, MC extrapolated {float(ds['extrap_eps_g']):.4f} "
                      f"+- {float(ds['extrap_eps_g_err']):.4f}")
    return console.export_text()


@app.command()
@input_errors_exit_2
def compare(
    scenario: str = typer.Option("teacher-student", "--scenario", help="teacher-student | random"),
    depth: int = typer.Option(4, "--depth", help="number of weight layers L >= 1"),
    alpha: float = typer.Option(2.0, "--alpha", help="load alpha = M/N > 0"),
    kappa: float = typer.Option(0.0, "--kappa", help="gap threshold (0 for teacher-student)"),
    sizes: str = typer.Option("16,32,64", "--N", help="comma-separated widths, at least two, e.g. 16,32,64"),
    samples: int = typer.Option(4, "--samples", help="samples of the data per N (>= 2)"),
    t_max: int = typer.Option(300, "--t-max", help="MC steps per run"),
    replicas: Optional[int] = typer.Option(None, "--replicas", help="guest replicas R (random data: >= 2; default 0 "
                                                                  "for teacher-student, 3 for random)"),
    seed: int = typer.Option(0, "--seed", help="master seed (each N's run seed derives from it)"),
    ansatz: str = typer.Option("rs", "--ansatz", help="rs | krsb | frsb (random data)"),
    steps: int = typer.Option(1, "--steps", help="k for --ansatz krsb"),
    m_test: int = typer.Option(1000, "--m-test", help="fresh test inputs (teacher-student)"),
    backend: str = typer.Option("auto", "--backend", help="auto | numpy | numba"),
    out: Path = typer.Option(..., "--out", help="directory: compare.nc, figures, runs/N<N>/"),
    overwrite: bool = typer.Option(False, "--overwrite", help="rerun every N afresh, replacing what DIR/runs holds"),
    format: str = typer.Option("table", "--format", help="table | json"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress lines"),
) -> None:
    """Theory profiles vs planted/learning MC at several N, extrapolated to N -> infinity (a + b/N)."""
    from ..experiments.compare import CompareConfig, run_compare
    from ..plots.compare import plot_compare

    if format not in ("table", "json"):
        raise ConfigError("--format", format, "table or json")
    R = replicas if replicas is not None else (3 if scenario == "random" else 0)
    N_values = _parse_sizes(sizes)
    try:
        config = CompareConfig(scenario=scenario, L=depth, alpha=alpha, kappa=kappa, N_values=N_values,
                               n_samples=samples, t_max=t_max, R=R, seed=seed, ansatz=ansatz, steps=steps,
                               backend=backend, M_test=m_test)
    except ConfigError as exc:  # name the flag the user typed, not the config field
        raise ConfigError(_flag(exc.field), exc.value, exc.allowed) from None
    check_output_dir(out)

    def progress(N, event):
        if not quiet and event.done:
            err_console.print(f"N = {N}: done at MC time {event.t}", highlight=False)

    with directory_lock(out):  # one compare per DIR; the runs in DIR/runs/N<N> lock their own directories
        ds = run_compare(config, out, on_progress=progress, overwrite=overwrite)
        figures = plot_compare(ds, out)
    if format == "json":
        emit(json.dumps(compare_summary(ds) | {"figures": [str(p) for p in figures]}, indent=2))
    else:
        emit(_table(ds) + f"written: {out / 'compare.nc'}, " + ", ".join(str(p) for p in figures))


@app.command()
@input_errors_exit_2
def ultrametric(
    run_dir: Path = typer.Argument(..., help="run directory with R >= 3 guest replicas"),
    out: Optional[Path] = typer.Option(None, "--out", help="figure directory (default: the run directory)"),
    layer: Optional[list[int]] = typer.Option(None, "--layer", help="layer(s) for the dendrograms "
                                                                   "(default: a boundary and the central layer)"),
    var: str = typer.Option("q_replica", "--var", help="q_replica (neurons) | Q_replica (weights)"),
    z: float = typer.Option(2.0, "--z", help="tolerance q_mid - q_min <= z x overlap noise"),
    tw: Optional[int] = typer.Option(None, "--tw", help="waiting time (default: the first)"),
    format: str = typer.Option("table", "--format", help="table | json"),
) -> None:
    """Overlap triangles and replica dendrograms per layer: is the design space ultrametric, boundary vs centre?"""
    from ..experiments.store import open_run
    from ..experiments.summary import json_ready
    from ..experiments.ultrametric import replica_dendrogram, ultrametricity
    from ..plots.ultrametric import plot_dendrograms, plot_triangles

    if format not in ("table", "json"):
        raise ConfigError("--format", format, "table or json")
    run = open_run(run_dir)
    stats = ultrametricity(run, tw=tw, var=var, z=z)
    L = int(stats.attrs["L"])
    layers = layer or sorted({stats.attrs["boundary_layers"][0], stats.attrs["centre_layers"][0]})
    bad = [l for l in layers if not 1 <= l <= L - 1]
    if bad:
        raise ConfigError("--layer", bad[0], f"a hidden layer 1 <= l <= {L - 1}")
    out = check_output_dir(run_dir if out is None else out)
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # identical replicas (planted, q = 1) give a tree of height 0: scipy's
        warnings.filterwarnings("ignore", message="Attempting to set identical low and high ylims")  # axis
        figures = [plot_triangles(stats, out / "ultrametric_triangles.png"),   # warns; the flat tree is right
                   plot_dendrograms({l: replica_dendrogram(run, l, var=var) for l in layers},
                                    out / "ultrametric_dendrograms.png", var=var)]
    per_layer = {int(l): {k: json_ready(float(stats[k].sel(layer=l))) for k in
                          ("fraction_ultrametric", "fraction_equilateral", "violation", "ks_statistic", "ks_pvalue")}
                 | {"n_triangles": int(stats["n_triangles"].sel(layer=l))} for l in stats["layer"].values}
    regions = {str(r): {k: json_ready(float(stats[f"region_{k}"].sel(region=r))) for k in
                        ("fraction_ultrametric", "fraction_equilateral", "violation", "ks_statistic")}
               for r in stats["region"].values}
    attrs = json_ready(dict(stats.attrs))
    if format == "json":
        emit(json.dumps({"settings": attrs, "layers": per_layer, "regions": regions,
                         "figures": [str(p) for p in figures]}, indent=2))
        return
    lines = [f"{var} triangles at t = {attrs['time']} (t_w = {attrs['tw']}), N = {attrs['N']}, R = {attrs['R']}, "
             f"tolerance {attrs['tol']:.3g} = {attrs['z']:g} x noise",
             f"{'layer':>5} {'ultrametric':>12} {'equilateral':>12} {'violation':>10} {'KS':>6} {'triangles':>9}"]
    for l, v in per_layer.items():
        fmt = lambda x: "-" if x is None else f"{x:.3f}"
        lines.append(f"{l:>5} {fmt(v['fraction_ultrametric']):>12} {fmt(v['fraction_equilateral']):>12} "
                     f"{fmt(v['violation']):>10} {fmt(v['ks_statistic']):>6} {v['n_triangles']:>9}")
    for r, v in regions.items():
        lines.append(f"{r:>8}: ultrametric {v['fraction_ultrametric']:.3f}, violation {v['violation']:.3f}")
    lines.append("written: " + ", ".join(str(p) for p in figures))
    emit("\n".join(lines))
