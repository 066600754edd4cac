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


FLAG_OF = {"L": "--depth", "N_values": "--N", "N": "--N", "c_values": "--c", "c": "--c", "n_samples": "--samples",
           "t_max": "--t-max", "R": "--replicas", "M_test": "--m-test", "waiting_time": "--tw"}


def _flag(field: str) -> str:
    """The flag a user typed for a CompareConfig field or a per-N run config field (network.N -> --N)."""
    if field.startswith("--"):
        return field
    leaf = field.split(".")[-1]
    return FLAG_OF.get(leaf, "--" + leaf.replace("_", "-"))


def _parse_sizes(text: str, flag: str = "--N", allowed: str = "a comma-separated list of at least two distinct "
                                                               "integers N >= 2, e.g. 8,12,16") -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(flag, text, allowed) from None
    return values


def compare_summary(ds) -> dict:
    """JSON view: per observable and c, layer-wise theory, MC per N with its verdict, extrapolations."""
    from ..experiments.summary import json_ready

    out = {key: v for key, v in ds.attrs.items() if key not in ("compare_config", "run_seeds", "verdict_codes")}
    out["config"] = json.loads(ds.attrs["compare_config"])
    out["N"] = [int(n) for n in ds["N"].values]
    out["c"] = [int(c) for c in ds["c"].values]
    out["sim_time"] = ds["sim_time"].values
    out["equilibrated"] = [[{1: True, 0: False}.get(int(v)) for v in row] for row in ds["equilibrated"].values]
    out["verdict_reason"] = ds["verdict_reason"].values.tolist()
    out["relaxation_time_Q"] = ds["relaxation_time_Q"].values
    out["nishimori_Q"] = {"difference": ds["nishimori_Q_diff"].values, "error": ds["nishimori_Q_err"].values}
    out["observables"] = {}
    for name in ds["observable"].values:
        pick = ds.sel(observable=name)
        entry = {key: pick[key].values for key in ("theory", "final", "final_err", "extrap", "extrap_err",
                                                   "extrap_chi2_dof", "extrap_n_points", "sim_mean", "sim_sem")}
        for key in ("extrap_c", "extrap_c_err", "extrap_c_chi2_dof"):
            if key in ds:
                entry[key] = pick[key].values
        out["observables"][str(name)] = entry
    for key in ("theory_eps_g", "final_eps_g", "final_eps_g_err"):
        if key in ds:
            out[key] = float(ds[key])
    for key in ("sim_eps_g", "sim_eps_g_sem", "extrap_eps_g", "extrap_eps_g_err"):
        if key in ds:
            out[key] = ds[key].values
    return json_ready(out)


def _table(ds) -> str:
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    console = Console(record=True, width=140, file=io.StringIO())  # recorded, exported once below
    L = int(ds.attrs["L"])
    fmt = lambda v: "-" if not np.isfinite(v) else f"{v:.4f}"
    live = [(c, N) for c in ds["c"].values for N in ds["N"].values if int(ds["equilibrated"].sel(c=c, N=N)) != -2]
    name_c = lambda c: "" if int(c) == 0 else f" c={int(c)}"
    verdicts = Table(title=f"equilibrium verdict per point ({ds.attrs.get('sampler', 'local')} sampler, t_max = "
                           f"{ds.attrs['t_max']}; * = NOT equilibrated: excluded from every fit)")
    for col in ("point", "verdict", "tau_Q max", "reason"):
        verdicts.add_column(col, justify="left" if col == "reason" else "right")
    for c, N in live:
        code = int(ds["equilibrated"].sel(c=c, N=N))
        tau = ds["relaxation_time_Q"].sel(c=c, N=N).values
        verdicts.add_row(f"N={int(N)}{name_c(c)}", {1: "yes", 0: "NO *", -1: "undecided *"}[code],
                         fmt(np.nanmax(tau)) if np.isfinite(tau).any() else "-",
                         str(ds["verdict_reason"].sel(c=c, N=N).values)[:90])
    console.print(verdicts)
    for name in ds["observable"].values:
        pick = ds.sel(observable=name)
        table = Table(title=f"{name}: theory vs MC (mean +- s.e. over samples; * = not equilibrated) and the N -> inf "
                            "fit a + b/N of the equilibrated points")
        cols = ["layer", "theory"] + [f"N={int(N)}{name_c(c)}" for c, N in live]
        for c in ds["c"].values:
            cols += [f"a{name_c(c)}", "+-", "chi2/dof"]
        if "extrap_c" in ds:
            cols += ["c->inf", "+-"]
        for col in cols:
            table.add_column(col, justify="right")
        for l in range(L + 1):
            if not np.isfinite(pick["sim_mean"].sel(layer=l).values).any():
                continue
            row = [str(l), fmt(float(pick["theory"].sel(layer=l)))]
            for c, N in live:
                mark = "" if int(ds["equilibrated"].sel(c=c, N=N)) == 1 else "*"
                row.append(f"{fmt(float(pick['sim_mean'].sel(c=c, N=N, layer=l)))}+-"
                           f"{fmt(float(pick['sim_sem'].sel(c=c, N=N, layer=l)))}{mark}")
            for c in ds["c"].values:
                row += [fmt(float(pick["extrap"].sel(c=c, layer=l))), fmt(float(pick["extrap_err"].sel(c=c, layer=l))),
                        fmt(float(pick["extrap_chi2_dof"].sel(c=c, layer=l)))]
            if "extrap_c" in ds:
                row += [fmt(float(pick["extrap_c"].sel(layer=l))), fmt(float(pick["extrap_c_err"].sel(layer=l)))]
            table.add_row(*row)
        console.print(table)
    if "final_eps_g" in ds:
        console.print(f"eps_g: theory {float(ds['theory_eps_g']):.4f}, MC extrapolated {fmt(float(ds['final_eps_g']))} "
                      f"+- {fmt(float(ds['final_eps_g_err']))} ({ds.attrs['final_note']}; "
                      f"{ds.attrs['n_equilibrated']} of {ds.attrs['n_points']} points equilibrated)")
    return console.export_text()


@app.command()
@input_errors_exit_2
def compare(
    scenario: str = typer.Option("teacher-student", "--scenario", help="teacher-student | random"),
    depth: int = typer.Option(2, "--depth", help="number of weight layers L >= 1"),
    alpha: float = typer.Option(3.0, "--alpha", help="load alpha = M/c > 0"),
    kappa: float = typer.Option(0.0, "--kappa", help="gap threshold (0 for teacher-student)"),
    sizes: str = typer.Option("8,12,16", "--N", help="comma-separated widths, at least two, e.g. 8,12,16"),
    c_values: str = typer.Option("", "--c", help="comma-separated fan-ins c (sparse networks, each with two N >= c); "
                                                 "empty: dense (c = N)"),
    samples: int = typer.Option(8, "--samples", help="samples of the data per N (>= 2)"),
    t_max: int = typer.Option(2000, "--t-max", help="MC steps per run"),
    replicas: int = typer.Option(2, "--replicas", help="guest replicas R >= 2 (the equilibrium verdict needs two)"),
    tw: int = typer.Option(0, "--tw", help="waiting time of the guests (random data: a time the host has solved)"),
    seed: int = typer.Option(0, "--seed", help="master seed (each point's run seed derives from it)"),
    ansatz: str = typer.Option("auto", "--ansatz", help="auto (RS, k-RSB where RS is unstable) | rs | krsb | frsb"),
    steps: int = typer.Option(1, "--steps", help="k for k-RSB"),
    m_test: int = typer.Option(1000, "--m-test", help="fresh test inputs (teacher-student)"),
    sampler: str = typer.Option("design-space", "--sampler", help="design-space (the theory's measure) | local "
                                                                 "(learning dynamics; not the theory's ensemble)"),
    proposal: Optional[str] = typer.Option(None, "--proposal", help="design-space move: billiard (default for "
                                                                   "teacher-student) | row | weight (default for random "
                                                                   "data: the host learns from a random start)"),
    delta: float = typer.Option(0.2, "--delta", help="weight move size 0 < delta <= 10 (row, weight)"),
    backend: str = typer.Option("auto", "--backend", help="auto | numpy | numba"),
    out: Path = typer.Option(..., "--out", help="directory: compare.nc, figures, runs/<point>/"),
    overwrite: bool = typer.Option(False, "--overwrite", help="rerun every point afresh, replacing what DIR/runs holds"),
    format: str = typer.Option("table", "--format", help="table | json"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress lines"),
) -> None:
    """Theory profiles vs MC of the design space at several N (and c), each point with its equilibrium verdict,
    extrapolated to N -> infinity (a + b/N, equilibrated points only), then c -> infinity."""
    from ..experiments.compare import CompareConfig, run_compare
    from ..plots.compare import plot_compare

    if format not in ("table", "json"):
        raise ConfigError("--format", format, "table or json")
    N_values = _parse_sizes(sizes)
    cs = _parse_sizes(c_values, "--c", "a comma-separated list of distinct integers c >= 2, e.g. 4,8") if c_values else []
    try:
        config = CompareConfig(scenario=scenario, L=depth, alpha=alpha, kappa=kappa, N_values=N_values, c_values=cs,
                               n_samples=samples, t_max=t_max, R=replicas, seed=seed, ansatz=ansatz, steps=steps,
                               backend=backend, M_test=m_test, sampler=sampler, proposal=proposal, delta=delta,
                               waiting_time=tw)
    except ConfigError as exc:  # name the flag the user typed, not the config field
        raise ConfigError(_flag(exc.field), exc.value, exc.allowed) from None
    check_output_dir(out)

    def progress(N, event):
        if not quiet and event.done:
            err_console.print(f"N = {N}: done at MC time {event.t}", highlight=False)

    with directory_lock(out):  # one compare per DIR; the runs in DIR/runs/<point> lock their own directories
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
