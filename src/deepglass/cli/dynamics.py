"""The dynamics command: relaxation times per layer and waiting time, learning time, of a run or a sweep."""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Optional

import typer

from ._common import app, check_format, emit, err_console, input_errors_exit_2

FORMATS = ("table", "json", "netcdf")
NETCDF_FILE = "dynamics.nc"


def _tables(ds) -> str:
    from rich.console import Console
    from rich.table import Table

    from ..experiments.dynamics import TIMES, format_time, point_labels

    console = Console(record=True, width=160, file=io.StringIO())
    points = [None] if "point" not in ds.dims else list(range(ds.sizes["point"]))
    for i, label in zip(points, point_labels(ds)):
        one = ds if i is None else ds.isel(point=i)
        for tw in one["tw"].values:
            sel = one.sel(tw=tw)
            if (sel["tau_flag"] < 0).all():
                continue
            table = Table(title=f"{label}: t_w = {int(tw)}", title_justify="left")
            table.add_column("layer", justify="right")
            for kind, short in (("neurons", "q"), ("weights", "Q")):
                table.add_column(f"{short} plateau", justify="right")
                for name, head in zip(TIMES, ("tau", "tau_int", "tau_dec")):
                    table.add_column(f"{head} {short}", justify="right")
            for layer in one["layer"].values:
                cells, any_defined = [str(int(layer))], False
                for kind in ("neurons", "weights"):
                    s = sel.sel(kind=kind, layer=layer)
                    if int(s["tau_flag"]) < 0:
                        cells += ["-"] * 4
                        continue
                    any_defined = True
                    star = "" if bool(s["plateau_reached"]) else "*"
                    cells.append(f"{float(s['plateau']):.3f}{star}")
                    cells += [format_time(float(s[n]), float(s[f"{n}_bound"]), int(s[f"{n}_flag"]),
                                          float(s[f"{n}_err"])) for n in TIMES]
                if any_defined:
                    table.add_row(*cells)
            console.print(table)
        flag = int(one["t_solution_median_flag"])
        median = format_time(float(one["t_solution_median"]), float(one["t_solution_median"]), flag)
        final = one["violations_mean"].dropna("time")
        console.print(f"learning: {float(one['fraction_solved']):.0%} of samples solved (no violated gap) by "
                      f"t_max = {float(one['t_max']):g}; median time to the first solution {median}; violated gaps "
                      f"per sample at the end {float(final[-1]):.4g}\n")
    console.print("* plateau not reached (still drifting at the end): the times relative to it are lower bounds. "
                  "'> x': longer than the run (lower bound); '< x': shorter than the first measurement. "
                  "tau: 1/e of the excess over the plateau; tau_int: integrated; tau_dec: overlap down to 1/e. "
                  "Errors: jackknife over samples.")
    return console.export_text()


@app.command()
@input_errors_exit_2
def dynamics(
    paths: list[Path] = typer.Argument(..., help="a run directory (run.nc) or a sweep store with replica overlaps; "
                                       "several: shown side by side"),
    out: Optional[Path] = typer.Option(None, "--out", help="folder for the figures (and dynamics.nc with "
                                       "--format netcdf); created if missing"),
    fmt: str = typer.Option("table", "--format", help="table | json (stdout) | netcdf (DIR/dynamics.nc, needs --out)"),
) -> None:
    """Relaxation times tau_l per layer and waiting time (neurons, weights), plateaus, learning time, of a run, a
    sweep or several of them side by side (docs/experiments.md "Dynamics")."""
    from ..experiments.dynamics import dynamics_summary, open_dynamics, point_labels

    check_format(fmt, out, FORMATS, "a folder for dynamics.nc with --format netcdf", out_is_file=False)
    ds = open_dynamics(list(paths))
    if out is not None:
        from ..experiments.store import write_dataset
        from ..plots.dynamics import draw_dynamics

        out.mkdir(parents=True, exist_ok=True)
        figures = draw_dynamics(ds, out, point_labels(ds))
        if fmt == "netcdf":
            write_dataset(ds, out / NETCDF_FILE)
            emit(f"wrote {out / NETCDF_FILE}")
        err_console.print(f"{len(figures)} figures in {out}", highlight=False)
    if fmt == "json":
        emit(json.dumps(dynamics_summary(ds), indent=1, allow_nan=False))
    elif fmt == "table":
        emit(_tables(ds))
