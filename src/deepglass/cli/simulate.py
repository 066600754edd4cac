"""Simulation commands: simulate, info, config, demo, plot (registered on the shared app)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from ._common import app, check_output_dir, emit, err_console, fail, input_errors_exit_2, os_error_message
from ..errors import ConfigError

config_app = typer.Typer(help="Run configurations: examples and checks.", no_args_is_help=True)
app.add_typer(config_app, name="config")


# ---------------------------------------------------------------------- config

@config_app.command("example")
@input_errors_exit_2
def config_example(
    scenario: str = typer.Option("teacher-student", "--scenario",
                                 help="random | teacher-student | hidden-manifold | dataset"),
    plain: bool = typer.Option(False, "--plain", help="no comments"),
) -> None:
    """Print a complete example config (TOML) to stdout."""
    from ..experiments.config import example_config

    emit(example_config(scenario).to_toml(comments=not plain))


@config_app.command("check")
@input_errors_exit_2
def config_check(
    config: Path = typer.Argument(..., help="TOML config file"),
    set_: list[str] = typer.Option([], "--set", help="override KEY=VALUE (dotted path or leaf name)"),
) -> None:
    """Validate a config (with overrides) and print it fully resolved."""
    from ..experiments.config import apply_overrides, load_config

    emit(apply_overrides(load_config(config), set_).to_toml(comments=False))


# ---------------------------------------------------------------------- simulate

def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]MC time[/] {task.completed:>.0f}/{task.total:.0f}"),
        BarColumn(),
        TextColumn("host E = {task.fields[energy]:.4g}   violated gaps = {task.fields[violations]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    )


def _run_with_progress(plan, quiet: bool):
    """Execute a RunPlan with a progress bar on stderr; Ctrl-C keeps the last save and says how to resume."""
    from ..experiments.runner import execute

    config = plan.config
    start = plan.stored.t_done if plan.mode == "resume" else 0
    if plan.mode == "resume":
        err_console.print(f"resuming the interrupted run in {plan.out} from MC time {start}", soft_wrap=True)
    last = {"t": start}
    try:
        if quiet:
            return execute(plan, on_event=lambda e: last.update(t=e.t))
        with _progress() as progress:
            task = progress.add_task("mc", total=config.run.t_max, completed=start, energy=float("nan"),
                                     violations="?")

            def on_event(event):
                last["t"] = event.t
                progress.update(task, completed=event.t, energy=event.energy, violations=event.violations)

            return execute(plan, on_event=on_event)
    except KeyboardInterrupt:
        raise fail(f"interrupted at MC time {last['t']}; {plan.out} keeps everything up to {_saved(plan)}: "
                   "run the same command again to resume from there", code=130) from None
    except OSError as exc:  # disk full, quota, read-only: the last complete save is intact
        raise fail(f"{os_error_message(exc)}; {plan.out} keeps everything up to {_saved(plan)}: make room and "
                   "run the same command again to resume from there", code=2) from None


def _saved(plan) -> str:
    from ..experiments.store import read_run

    try:
        return f"MC time {read_run(plan.out, with_checkpoint=False).t_done}"
    except Exception:  # noqa: BLE001 - nothing (readable) saved yet
        return "the start (nothing saved yet)"


def _report(run, plan) -> None:
    final = run.isel(time=-1)
    err_console.print(
        f"[green]done[/]: {plan.out / 'run.nc'}  ({run.sizes['time']} measurements up to t = {int(final['time'])}, "
        f"seed {plan.config.seed}; host E = {float(final['energy'].mean()):.4g}, "
        f"violated gaps = {int(final['violations'].sum())})", highlight=False, soft_wrap=True)


@app.command()
@input_errors_exit_2
def simulate(
    config: Optional[Path] = typer.Argument(None, help="TOML run config (see `deepglass config example`); "
                                                     "optional with --resume"),
    out: Path = typer.Option(..., "--out", help="run directory (created; resumed if it holds this run)"),
    resume: bool = typer.Option(False, "--resume", help="continue the interrupted run in DIR (its stored config "
                                                        "when CONFIG is omitted); an error if there is none"),
    set_: list[str] = typer.Option([], "--set", help="override KEY=VALUE, e.g. --set N=40 --set mc.beta=2"),
    seed: Optional[int] = typer.Option(None, "--seed", help="master seed (overrides the config)"),
    samples: Optional[int] = typer.Option(None, "--samples", help="run.n_samples"),
    t_max: Optional[int] = typer.Option(None, "--t-max", help="run.t_max (MC steps)"),
    replicas: Optional[int] = typer.Option(None, "--replicas", help="replicas.R"),
    alpha: Optional[float] = typer.Option(None, "--alpha", help="data.alpha"),
    protocol: Optional[str] = typer.Option(None, "--protocol", help="run.protocol: learning | planted"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace whatever DIR holds"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
) -> None:
    """Run a Monte Carlo experiment into --out DIR (results: DIR/run.nc, one xarray Dataset).

    A directory holding an interrupted run of the same config is resumed (bit-identical to an uninterrupted
    run on the same backend); --resume makes that the requirement and can take the config from DIR.
    """
    from ..atomic import is_temporary
    from ..experiments.config import apply_overrides, load_config
    from ..experiments.resources import check_run_fits
    from ..experiments.runner import locked_run_directory, plan_run, stored_config
    from ..experiments.store import read_run, result_file

    flags = {"seed": seed, "run.n_samples": samples, "run.t_max": t_max, "replicas.R": replicas,
             "data.alpha": alpha, "run.protocol": protocol}
    if resume and overwrite:
        raise ConfigError("--resume", True, "either --resume or --overwrite, not both")
    if resume and not result_file(out).exists():
        if out.is_dir() and any(is_temporary(p.name) for p in out.iterdir()):
            raise ConfigError("--resume", str(out), f"a run directory holding {result_file(out).name}; {out} holds "
                              "only the temporary file of a first save that was killed, so nothing was saved to "
                              "resume from: run the same command without --resume to start the run")
        raise ConfigError("--resume", str(out), f"a run directory holding {result_file(out).name} "
                                                "(nothing to resume there)")
    if config is None:
        if not resume:
            raise ConfigError("CONFIG", None, "a TOML run config path (or --resume --out DIR to continue a run)")
        base = stored_config(read_run(out, with_checkpoint=False).measurements)
    else:
        base = load_config(config)
    cfg = apply_overrides(base, set_)
    cfg = apply_overrides(cfg, {k: v for k, v in flags.items() if v is not None})
    check_run_fits(cfg)
    check_output_dir(out)  # every check before anything is written
    with locked_run_directory(out):  # a second simulate on this --out is refused, naming this process
        plan = plan_run(cfg, out, overwrite=overwrite)
        if plan.mode == "complete":
            err_console.print(f"{out} already holds the completed run of this config (seed {plan.config.seed}); "
                              "nothing to do (--overwrite reruns it)", highlight=False, soft_wrap=True)
            return
        run = _run_with_progress(plan, quiet)
    _report(run, plan)


# ---------------------------------------------------------------------- info / plot

def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4f}"


@app.command()
@input_errors_exit_2
def info(
    run_dir: Path = typer.Argument(..., help="run directory (or its run.nc)"),
    format: str = typer.Option("table", "--format", help="table | json"),
) -> None:
    """Summarise a run: config and sample averages at the last measured time."""
    from ..errors import ConfigError
    from ..experiments.store import open_run
    from ..experiments.summary import final_summary, to_json

    if format not in ("table", "json"):
        raise ConfigError("--format", format, "table or json")
    summary = final_summary(open_run(run_dir))
    if format == "json":
        emit(to_json(summary))
        return
    cfg, final = summary["config"], summary["final"]
    console = Console()
    head = Table(title=f"deepglass run {run_dir}", show_header=False)
    net, data, mc, run = cfg["network"], cfg["data"], cfg["mc"], cfg["run"]
    rows = [("status", summary["status"]), ("seed", str(summary["seed"])),
            ("network", f"N={net['N']} L={net['L']} c={net['c'] or net['N']} kappa={net['kappa']}"),
            ("data", f"{data['scenario']} alpha={data['alpha']} (M={summary['n_patterns']})"),
            ("mc", f"{mc.get('sampler', 'local')} {mc['acceptance']} {mc['potential']} delta={mc['delta']}"
                   + (f" beta={mc['beta']}" if mc["acceptance"] == "metropolis" else "")),
            ("protocol", f"{run['protocol']} t_max={run['t_max']} samples={run['n_samples']}"),
            ("replicas", f"R={cfg['replicas']['R']} t_w={cfg['replicas']['waiting_times']}")]
    if final is not None:
        rows += [("final time", str(final["time"])), ("host energy", f"{final['energy']:.6g}"),
                 ("violated gaps", f"{final['violations']} (sum over samples)"),
                 ("solved samples", f"{final['solved_fraction']:.0%}")]
        if final["generalization_error"] is not None:
            rows.append(("generalization error", f"{final['generalization_error']:.4f}"))
        if final.get("move_size"):
            rows.append(("move size per layer", " / ".join(f"{d:.3g}" for d in final["move_size"])
                         + (f" (tuned in steps 1..{mc['tune_steps']})" if mc.get("tune_steps") else "")))
    for key, value in rows:
        head.add_row(key, value)
    console.print(head)
    if final is None:
        return
    columns = {"teacher q_l": final["teacher_overlap_q"], "teacher Q_l": final["teacher_overlap_Q"],
               "test overlap": final["generalization_overlap"]}
    if final["replica_overlap_q"]:
        for tw, values in final["replica_overlap_q"].items():
            columns[f"replica q_l ({tw})"] = values
    columns = {k: v for k, v in columns.items() if v is not None}
    if columns:
        layers = Table(title=f"per layer at t = {final['time']} (mean over {final['n_samples']} samples)")
        layers.add_column("layer")
        for name in columns:
            layers.add_column(name, justify="right")
        for i, l in enumerate(final["layers"]):
            layers.add_row(str(l), *(_fmt(v[i]) for v in columns.values()))
        console.print(layers)
    gauge = {"gauge-fixed teacher q_l": final.get("teacher_overlap_q_gauge"),
             "gauge-fixed teacher Q_l": final.get("teacher_overlap_Q_gauge"),
             "teacher q_l^2": final.get("teacher_overlap_q2")}
    gauge = {k: v for k, v in gauge.items() if v is not None}
    if len(gauge) >= 2:   # planted runs: the overlaps of the gauge-fixed student
        table = Table(caption="max over gauge images: biased up ~ sqrt(log N / N); q_l^2: sign-gauge free, "
                              "null O(1/c) (docs/simulation.md)")
        for name in ("layer", *gauge):
            table.add_column(name, justify="right")
        for i, l in enumerate(final["layers"]):
            table.add_row(str(l), *(_fmt(v[i]) for v in gauge.values()))
        console.print(table)
    _print_nishimori(console, summary.get("nishimori"))
    _print_autocorrelation(console, summary.get("autocorrelation"))


def _print_autocorrelation(console, tau) -> None:
    """Integrated autocorrelation times per layer (experiments.mixing.autocorrelation_times)."""
    if tau is None:
        return
    parts = [f"{name}_{l} {'-' if v is None else f'{v:.3g}'}{'' if ok else ' (unreliable)'}" for name in ("Q", "q")
             for l, v, ok in zip(tau[name]["layers"], tau[name]["tau"], tau[name]["reliable"])]
    console.print(f"autocorrelation times (MC steps, {tau['n_points']} points every {tau['every']} after t = "
                  f"{tau['from_t']}; unreliable: series < 50 tau): " + ", ".join(parts), highlight=False)


def _print_nishimori(console, check) -> None:
    """The equilibrium test of a planted run (experiments.summary.nishimori_check)."""
    if check is None:
        return
    if check["equilibrated"] is None:
        console.print(f"equilibration (Nishimori identity): cannot tell, {check['reason']}", highlight=False)
        return
    when = (f"averaged over t >= {check['t_w'] + (check['t'] - check['t_w']) / 2:g} .. {check['t']}"
            if check.get("window") else f"at t = {check['t']}")          # older stored verdicts: the last snapshot
    table = Table(title=f"Nishimori identity {when} (guests of t_w = {check['t_w']}): "
                        + ("equilibrated" if check["equilibrated"] else "NOT EQUILIBRATED"))
    for col in ("overlap", "layer", "student-teacher", "student-student", "difference", "error"):
        table.add_column(col, justify="right")
    for name in ("Q", "q"):
        if name in check:
            part = check[name]
            for k, l in enumerate(part["layers"]):
                table.add_row(name, str(l), *(f"{part[key][k]:.4f}" for key in
                                             ("student_teacher", "student_student", "difference", "error")))
    console.print(table)
    if check.get("relaxation_time_Q"):
        taus = " ".join("-" if t is None else f"{t:.3g}" for t in check["relaxation_time_Q"])
        console.print(f"relaxation time of Q_l (MC steps, layers 1..L): {taus}; equilibrated needs t >= "
                      f"{check.get('tau_factor', 10):g} x each", highlight=False)
    console.print(check["reason"], highlight=False)


@app.command()
@input_errors_exit_2
def plot(
    run_dir: Path = typer.Argument(..., help="run directory"),
    out: Optional[Path] = typer.Option(None, "--out", help="figure directory (default: the run directory)"),
) -> None:
    """Write the PNG figures of a run."""
    from ..experiments.store import open_run
    from ..plots.simulation import plot_run

    run = open_run(run_dir)
    for path in plot_run(run, check_output_dir(out or run_dir)):
        emit(str(path))


# ---------------------------------------------------------------------- demo

def _report_gibbs(ds) -> None:
    """Part 1's lines: each width's verdict, then the N -> inf fits against the theory."""
    o = list(ds["observable"].values)
    ok = ds["equilibrated"].values[0]
    emit(f"Gibbs learning (L = 1, alpha = {float(ds.attrs['alpha']):g}), equilibrium verdict per N: " + ", ".join(
        f"N = {int(N)} {'equilibrated' if v == 1 else 'NOT equilibrated'}" for N, v in zip(ds["N"].values, ok)))
    for name, label in (("teacher_Q", "student-teacher overlap Q"), ("test_overlap", "output overlap m (fresh inputs)")):
        i = o.index(name)
        per_N = " ".join(f"{m:.3f}" for m in ds["sim_mean"].values[i, 0, :, 1])
        chi2 = float(ds["extrap_chi2_dof"].values[i, 0, 1])
        emit(f"  {label}: MC {per_N} -> N = inf {float(ds['final'].values[i, 1]):.3f} +- "
             f"{float(ds['final_err'].values[i, 1]):.3f} (a + b/N, chi2/dof {chi2:.2f}) | theory "
             f"{float(ds['theory'].values[i, 1]):.3f}")
    emit(f"  generalization error eps_g: N = inf {float(ds['final_eps_g']):.4f} +- {float(ds['final_eps_g_err']):.4f}"
         f" | theory {float(ds['theory_eps_g']):.4f}")


@app.command()
@input_errors_exit_2
def demo(
    out: Path = typer.Option(Path("demo_out"), "--out", help="run directory for results and figures"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace whatever DIR holds"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
    t_max: Optional[int] = typer.Option(None, "--t-max", help="MC steps (default: sized for a < 3 minute demo)"),
) -> None:
    """Theory and simulation in one ensemble (design-space sampler, planted teacher-student, experiments/demo.py):
    Gibbs learning at L = 1 (N = 10, 20, 40 extrapolated, against the theory), then a deep network (L = 2, N = 10,
    alpha = 2, 8 samples, 2 replicas): its profile over the theory's curve and its equilibrium verdict."""
    from ..experiments.compare import run_compare
    from ..experiments.demo import DEMO_NOTE, DEMO_T_MAX, GIBBS_DIR, GIBBS_T_MAX, demo_config, demo_theory, gibbs_config
    from ..plots.compare import plot_compare
    from ..plots.compare import plot_run_over_theory
    from ..experiments.runner import locked_run_directory, plan_run
    from ..experiments.summary import final_summary
    from ..plots.simulation import plot_run

    config = demo_config(t_max=DEMO_T_MAX if t_max is None else t_max)
    gibbs = gibbs_config(t_max=GIBBS_T_MAX if t_max is None else min(t_max, GIBBS_T_MAX))
    check_output_dir(out)
    with locked_run_directory(out):
        plan = plan_run(config, out, overwrite=overwrite)   # first: it checks what DIR holds before anything is written
        if not quiet:
            err_console.print(f"part 1: Gibbs learning, L = 1, alpha = {gibbs.alpha:g}, N = "
                              f"{', '.join(map(str, gibbs.N_values))} ({gibbs.t_max} steps each)", highlight=False)
        cmp = run_compare(gibbs, out / GIBBS_DIR, overwrite=overwrite)
        gibbs_figures = plot_compare(cmp, out / GIBBS_DIR)
        if not quiet:
            err_console.print(f"part 2: deep network, L = {config.network.L}, N = {config.network.N}, alpha = "
                              f"{config.data.alpha:g} ({config.run.t_max} steps)", highlight=False)
        if plan.mode == "complete":
            err_console.print(f"{out} already holds the completed demo run; redrawing its figures", soft_wrap=True)
            run = plan.stored.measurements
        else:
            run = _run_with_progress(plan, quiet)
            _report(run, plan)
        summary = final_summary(run)
        theory = demo_theory(config)
        figures = gibbs_figures + plot_run(run, out) + [plot_run_over_theory(
            run, theory, summary.get("nishimori"), out / "demo_profile_vs_theory.png", DEMO_NOTE)]
    for path in figures:
        emit(f"figure: {path}")
    _report_gibbs(cmp)
    final = summary["final"]
    if final["generalization_error"] is not None:
        emit(f"generalization error at t = {final['time']}: {final['generalization_error']:.4f} "
             f"(mean over {final['n_samples']} samples; theory N -> inf: {float(theory.attrs['eps_g']):.4f})")
    L = len(theory["layer"]) - 1
    for name, key, tname, ls in (("Q", "teacher_overlap_Q", "Q", range(1, L + 1)),
                                 ("Q gauge-fixed", "teacher_overlap_Q_gauge", "Q", range(1, L + 1)),
                                 ("q", "teacher_overlap_q", "q", range(1, L)),
                                 ("q gauge-fixed", "teacher_overlap_q_gauge", "q", range(1, L)),
                                 ("q^2 (unbiased)", "teacher_overlap_q2", "q2", range(1, L)),
                                 ("m (fresh inputs)", "generalization_overlap", "m_test", range(1, L + 1))):
        mc = final.get(key)
        if mc is None or not len(ls):
            continue
        th = theory["q"].values ** 2 if tname == "q2" else theory[tname].values
        emit(f"{name}_l, l = {ls.start}..{ls.stop - 1}: MC " + " ".join(
            "-" if mc[final["layers"].index(l)] is None else f"{mc[final['layers'].index(l)]:.3f}" for l in ls)
             + "  | theory " + " ".join(f"{th[l]:.3f}" for l in ls))
    check = summary.get("nishimori")
    if check and check.get("equilibrated") is not None:  # the equilibrium verdict belongs beside the numbers
        emit(f"equilibrium (Nishimori identity per layer): {check['reason']}")
    emit(DEMO_NOTE)
    emit(f"results: {out / 'run.nc'}  (python: deepglass.open_run({str(out)!r}); CLI: deepglass info {out})")
