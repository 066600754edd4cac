"""The sweep command: a sweep file run point by point into a cached store, on Dask or in-process."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..errors import ConfigError
from ._common import app, check_output_dir, emit, err_console, fail, input_errors_exit_2


def _progress() -> Progress:
    return Progress(TextColumn("[bold]sweep points[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("ETA"), TimeRemainingColumn(), console=err_console, transient=False)


@app.command()
@input_errors_exit_2
def sweep(
    sweep_file: Optional[Path] = typer.Argument(None, help="TOML sweep file (see `deepglass sweep --example`)"),
    out: Optional[Path] = typer.Option(None, "--out", help="store directory (created; cached points are reused)"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="address of a running Dask scheduler "
                                            "(default: a LocalCluster on this machine)"),
    workers: Optional[int] = typer.Option(None, "--workers", help="LocalCluster worker processes (default: cores)"),
    serial: bool = typer.Option(False, "--serial", help="run in this process, no Dask (debugging)"),
    example: bool = typer.Option(False, "--example", help="print a commented example sweep file and exit"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
) -> None:
    """Run every point of a parameter sweep into --out STORE (python: deepglass.open_sweep(STORE))."""
    from ..experiments.sweep import EXAMPLE_SWEEP, load_sweep
    from ..experiments.sweep_run import run_sweep

    if example:
        emit(EXAMPLE_SWEEP)
        return
    if sweep_file is None:
        raise ConfigError("SWEEP_FILE", None, "a TOML sweep file (print one with `deepglass sweep --example`)")
    if out is None:
        raise ConfigError("--out", None, "a store directory for the sweep's results")
    if serial and (scheduler is not None or workers is not None):
        raise ConfigError("--serial", True, "not together with --scheduler or --workers")
    if scheduler is not None and workers is not None:
        raise ConfigError("--workers", workers, "unset with --scheduler (the cluster has its own workers)")
    spec = load_sweep(sweep_file)  # every check before anything is written (run_sweep checks sizes and workers)
    check_output_dir(out)

    def log(message: str) -> None:
        err_console.print(f"[yellow]warning:[/] {message}", highlight=False, soft_wrap=True)

    try:
        if quiet:
            report = run_sweep(spec, out, scheduler=scheduler, workers=workers, serial=serial, log=log)
        else:
            bar, task = _progress(), None

            def progress(done, total):  # the bar starts with the first report: after every check passed
                nonlocal task
                if task is None:
                    bar.start()
                    task = bar.add_task("points", total=total)
                bar.update(task, completed=done, total=total)

            try:
                report = run_sweep(spec, out, scheduler=scheduler, workers=workers, serial=serial, log=log,
                                   progress=progress)
            finally:
                bar.stop()
    except KeyboardInterrupt:
        raise fail(f"interrupted; {out} keeps every finished point (and the running ones resume from their "
                   "checkpoints): run the same command again to compute the rest", code=130) from None
    err_console.print(report.summary(), highlight=False, soft_wrap=True)
    emit(f"results: {out}  (python: deepglass.open_sweep({str(out)!r}))")
    if not report.ok:
        raise typer.Exit(1)
