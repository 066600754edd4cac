"""``deepglass reproduce``: regenerate the picture of the original study as figures plus an HTML report."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ._common import app, check_output_dir, emit, err_console, fail, input_errors_exit_2


@app.command()
@input_errors_exit_2
def reproduce(
    out: Path = typer.Option(..., "--out", help="output directory: data/, runs/, figures/, report.html"),
    quick: bool = typer.Option(False, "--quick", help="small sizes: a few minutes on a 2-core machine"),
    seed: int = typer.Option(0, "--seed", help="master seed of every random stream (0 <= seed < 2**63)"),
    panels: Optional[str] = typer.Option(None, "--panels", help="comma-separated subset of i,ii,iii,iv,v,vi"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the plan and its estimated cost, run nothing"),
    scale: Optional[str] = typer.Option(None, "--scale", hidden=True, help="tiny | quick | full (internal)"),
) -> None:
    """Figure gallery and self-contained HTML report of the whole picture (MODEL.md section 1).

    Prints the plan with its estimated cost first; finished panels cached in DIR/data are reused, so an
    interrupted reproduce resumes where it stopped.
    """
    from ..errors import ConfigError
    from ..experiments.reproduce import check_scale, check_seed, format_plan, make_plan, parse_panels, reproduce

    chosen = scale or ("quick" if quick else "full")
    if scale is not None and quick and scale != "quick":
        raise ConfigError("--scale", scale, "quick, or leave --scale out when --quick is given")
    check_scale(chosen)
    check_seed(seed)
    keys = parse_panels(panels)
    check_output_dir(out)
    plan = make_plan(chosen, keys)  # every check above: bad flags leave nothing written
    emit(format_plan(plan, chosen))
    if dry_run:
        return
    total = sum(item.estimate for item in plan)
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[status]}"),
                        TimeElapsedColumn(), console=err_console, transient=False)
    tasks = {}
    try:
        with progress:
            overall = progress.add_task(f"reproduce ({chosen}, ~{total / 60:.1f} min)", total=len(plan), status="")

            def start(item):
                tasks[item.panel.key] = progress.add_task(item.panel.title[:60], total=1, status="running")

            def done(result):
                status = "cached" if result.cached else f"computed in {result.seconds:.1f} s"
                progress.update(tasks[result.panel.key], completed=1, status=status)
                progress.advance(overall)

            def note(text):
                if tasks:
                    progress.update(list(tasks.values())[-1], status=text)

            result = reproduce(out, chosen, seed, keys, on_panel_start=start, on_panel_done=done, progress=note)
    except KeyboardInterrupt:
        raise fail(f"interrupted; finished panels are kept in {out / 'data'}: run the same command again to "
                   "resume from there", code=130) from None
    emit(f"report: {result.report}")
    for path in result.figures:
        emit(f"figure: {path}")
