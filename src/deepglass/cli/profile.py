"""`deepglass profile`: the solid / liquid layer profile of one or more runs (real data: at several M)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ._common import app, emit, input_errors_exit_2


@app.command()
@input_errors_exit_2
def profile(
    run_dirs: list[Path] = typer.Argument(..., help="run directories with replicas (R >= 2), e.g. one per M"),
    tw: Optional[int] = typer.Option(None, "--tw", help="waiting time of the guests (default: the last)"),
    figure: Optional[Path] = typer.Option(None, "--figure", help="write the profile figure (PNG) here"),
    format: str = typer.Option("table", "--format", help="table | json"),
) -> None:
    """Per layer: guest-guest overlaps q_l, Q_l at the last time and the verdict solid (> 1/e) or liquid."""
    from ..errors import ConfigError
    from ..experiments.layer_profile import RULE, layer_profile
    from ..experiments.store import open_run

    if format not in ("table", "json"):
        raise ConfigError("--format", format, "table or json")
    runs = [open_run(d) for d in run_dirs]
    profiles = [layer_profile(r, tw) for r in runs]
    if figure is not None:
        from ..plots.layer_profile import layer_profile_figure
        layer_profile_figure(profiles, runs, figure)
    if format == "json":
        from ..experiments.summary import json_ready
        emit(json.dumps(json_ready([{"run": str(d), **p.attrs, "layers": {name: p[name].values for name in p.data_vars}}
                                    for d, p in zip(run_dirs, profiles)]), indent=1, allow_nan=False))
        return
    lines = [f"rule: {RULE}"]
    for d, p in zip(run_dirs, profiles):
        a = p.attrs
        acc = f", test accuracy {a['test_accuracy']:.3f} +- {a['test_accuracy_sem']:.3f}" if "test_accuracy" in a else ""
        lines.append(f"{d}: M = {a['M']}, t_w = {a['tw']}, t = {a['t_last']}, violated gaps {a['violations_final']}{acc}")
        lines.append("  layer   q_l (decay)      state    Q_l (decay)      state")
        for l in range(a["L"] + 1):
            q, Q = p["q_mean"].values[l], p["Q_mean"].values[l]
            lines.append(f"  {l:5d}   {q:6.3f} ({p['q_decay'].values[l]:5.3f})  {p['q_state'].values[l]:7s}  "
                         f"{Q:6.3f} ({p['Q_decay'].values[l]:5.3f})  {p['Q_state'].values[l]}")
    emit("\n".join(lines) + "\n")
