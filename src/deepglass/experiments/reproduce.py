"""``deepglass reproduce``: the picture of the original study (MODEL.md section 1) as a figure gallery.

The plan is a list of panels (i)-(vi). Each panel has parameters per scale ("tiny" for the tests,
"quick" for a few minutes on the 2-core machine, "full" for the real thing), a cost estimate, a function
computing its data and one drawing its figures. Data are cached in ``DIR/data/<key>_<name>.nc``
(written atomically, tagged with the panel's parameters and seed), so an interrupted reproduce resumes:
panels whose cache matches are reused, a missing, stale or unreadable cache is recomputed. Monte Carlo
runs live in ``DIR/runs/...`` and resume through ``run_simulation`` themselves. Every random stream
derives from the one ``seed`` (panel seeds are children of ``SeedSequence(seed)``).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import xarray as xr

from .. import __version__
from ..atomic import directory_lock, remove_stale_temporaries
from ..errors import ConfigError, RunDirectoryError
from .config import SEED_LIMIT, child_seed, parse_config
from .cost import mc_seconds
from .store import ENGINE, write_dataset
from .summary import json_ready

SCALES = ("tiny", "quick", "full")
DATA_DIR, FIGURE_DIR, RUN_DIR, REPORT_FILE = "data", "figures", "runs", "report.html"

Progress = Callable[[str], None]


@dataclass
class Context:
    """What a panel's compute function needs besides its parameters."""

    out: Path
    seed: int
    scale: str
    progress: Progress = lambda text: None

    def panel_seed(self, key: str) -> int:
        """A child seed per panel, derived from the one recorded seed (stable when panels are added)."""
        return child_seed(self.seed, PANEL_KEYS.index(key))


@dataclass(frozen=True)
class Panel:
    key: str                                    # "i".."vi"
    name: str                                   # file stem
    title: str
    params: dict                                # scale -> parameters
    compute: Callable[[dict, Context], xr.Dataset]
    draw: Callable[[xr.Dataset, Path], list[Path]]      # (data, figures dir) -> written figures
    describe: Callable[[xr.Dataset], tuple[str, dict]]  # (data) -> caption, measured numbers
    estimate: Callable[[dict, str], float]      # (params, scale) -> seconds on the 2-core development machine
    layout: int = 1                             # bump when the cached Dataset changes shape: old caches recompute

    @property
    def stem(self) -> str:
        return f"{self.key}_{self.name}"


def _mc_seconds(N: int, L: int, alpha: float, t_max: int, n_systems: int) -> float:
    """experiments.cost.mc_seconds of a fully connected run at load alpha (M = round(alpha N), at least 1)."""
    return mc_seconds(N, L, max(1, round(alpha * N)), t_max, n_systems)


def _run(ctx: Context, config, where: Path) -> xr.Dataset:
    """run_simulation into a reproduce-owned directory; a damaged directory is started afresh."""
    from .runner import run_simulation

    def on_event(event):
        ctx.progress(f"{where.name}: MC t = {event.t}/{config.run.t_max}")

    try:
        return run_simulation(config, where, on_event=on_event)
    except RunDirectoryError:
        return run_simulation(config, where, overwrite=True, on_event=on_event)


# ---------------------------------------------------------------------- (i) alpha_g(l) and xi

def _transitions(p: dict, ctx: Context) -> xr.Dataset:
    from ..theory import ChainProblem, find_transitions

    tr = find_transitions(ChainProblem("random", p["L"], 1.0, kappa=p["kappa"]), alpha_max=p["alpha_max"])
    L = p["L"]
    return xr.Dataset(
        {"alpha_g": ("weight_layer", tr.alpha_g_weights), "alpha_g_neurons": ("neuron_layer", tr.alpha_g_neurons)},
        coords={"weight_layer": np.arange(1, L + 1), "neuron_layer": np.arange(L + 1)},
        attrs={"L": L, "kappa": float(p["kappa"]), "alpha_max": float(p["alpha_max"]), "xi": float(tr.xi),
               "fit_intercept": float(tr.fit_intercept), "fit_layers": json.dumps(tr.fit_layers),
               "fit_rms": float(tr.growth["exponential"]["rms"]),
               "power_exponent": float(tr.growth["power"]["exponent"]),
               "power_intercept": float(tr.growth["power"]["intercept"]),
               "power_rms": float(tr.growth["power"]["rms"])})


def _draw_transitions(ds, figures):
    from ..plots.reproduce_figures import plot_transitions

    return [plot_transitions(ds, figures / "i_transitions.png")]


def _fits_sentence(ds) -> str:
    xi = float(ds.attrs["xi"])
    exp_rms, pow_rms = float(ds.attrs.get("fit_rms", np.nan)), float(ds.attrs.get("power_rms", np.nan))
    if not (np.isfinite(exp_rms) and np.isfinite(pow_rms)):
        return (f"the dashed lines are the exponential log alpha_g(l) = a + l/xi through the frozen layers left of "
                f"the centre (xi = {xi:.3f}); too few of them to compare it with a power law.")
    better = "the power law" if pow_rms < exp_rms else "the exponential"
    return (f"over the left half the dashed lines are the fit log alpha_g(l) = a + l/xi (xi = {xi:.3f}, rms "
            f"{exp_rms:.3f} in log alpha_g), the dotted ones the power law a + b log l (b = "
            f"{float(ds.attrs['power_exponent']):.2f}, rms {pow_rms:.3f}): {better} fits better here "
            f"(docs/theory.md 4.1).")


def _describe_transitions(ds):
    a_g = ds["alpha_g"].values
    L = int(ds.attrs["L"])
    half = {f"alpha_g({l})": _num(a_g[l - 1]) for l in range(1, (L + 1) // 2 + 1)}
    frozen_never = [int(l) for l, a in zip(ds["weight_layer"].values, a_g) if not np.isfinite(a)]
    numbers = {**half, "xi": _num(ds.attrs["xi"]), "fit layers": json.loads(ds.attrs["fit_layers"]),
               "exponential fit: rms of log alpha_g": _num(ds.attrs.get("fit_rms", np.nan)),
               "power law: exponent b": _num(ds.attrs.get("power_exponent", np.nan)),
               "power law: rms of log alpha_g": _num(ds.attrs.get("power_rms", np.nan)),
               "liquid up to alpha_max": frozen_never}
    caption = (f"Random data, kappa = {ds.attrs['kappa']:g}, replica-symmetric chain of depth L = {L}. For each weight "
               f"layer l the load alpha_g(l) where it leaves the liquid (Q_l = q_l = 0, blue) and freezes (orange). "
               f"Freezing starts at both boundaries (alpha_g(1) = pi^2/4 = 2.467 exactly) and moves inward; "
               f"{_fits_sentence(ds)} "
               f"Layers still liquid at alpha_max = {ds.attrs['alpha_max']:g}: {frozen_never or 'none'}.")
    return caption, numbers


# ---------------------------------------------------------------------- (ii) profiles

def _profiles(p: dict, ctx: Context) -> xr.Dataset:
    from ..theory import ChainProblem, solve_curve

    parts = []
    for scenario in ("random", "teacher-student"):
        ctx.progress(f"RS profiles, {scenario}")
        curve = solve_curve(ChainProblem(scenario, p["L"], float(p["alphas"][0])), p["alphas"], "rs")
        keep = curve[["Q", "q", "free_entropy", "residual"]]
        keep["eps_g"] = curve["eps_g"] if "eps_g" in curve else xr.full_like(curve["residual"], np.nan)
        parts.append(keep.expand_dims(scenario=[scenario]))
    ds = xr.concat(parts, dim="scenario", combine_attrs="drop_conflicts")
    ds.attrs = {"L": p["L"], "ansatz": "rs", "max_residual": float(ds["residual"].max())}
    return ds


def _draw_profiles(ds, figures):
    from ..plots.reproduce_figures import plot_profiles

    return [plot_profiles(ds, figures / "ii_profiles.png")]


def _describe_profiles(ds):
    L = int(ds.attrs["L"])
    centre = L // 2
    numbers = {}
    for scenario in ("random", "teacher-student"):
        sub = ds.sel(scenario=scenario)
        numbers[f"{scenario}: Q_1 per alpha"] = {f"{a:g}": _num(v) for a, v in zip(sub.alpha.values, sub.Q.sel(layer=1).values)}
        numbers[f"{scenario}: Q_{centre} per alpha"] = {f"{a:g}": _num(v) for a, v in
                                                       zip(sub.alpha.values, sub.Q.sel(layer=centre).values)}
    ts = ds.sel(scenario="teacher-student")
    numbers["teacher-student eps_g per alpha"] = {f"{a:g}": _num(v) for a, v in zip(ts.alpha.values, ts.eps_g.values)}
    numbers["largest solver residual"] = _num(ds.attrs["max_residual"])
    caption = (f"Replica-symmetric overlap profiles of a chain of depth L = {L}: weight overlaps Q_l (solid) and "
               "neuron overlaps q_l (dashed) vs layer, one colour per load alpha. Random data (left): the glass grows "
               "from both boundaries while the centre stays liquid (Q = q = 0). Teacher-student on the Nishimori line "
               "(right): a crystal, where the overlaps are also the student-teacher overlaps; it too freezes from the "
               "boundaries inward, faster than the glass.")
    return caption, numbers


# ---------------------------------------------------------------------- (iii) q(x, l)

def _parisi(p: dict, ctx: Context) -> xr.Dataset:
    from ..theory import ChainProblem, central_layers, solve

    problem = ChainProblem("random", p["L"], float(p["alpha"]))
    ctx.progress(f"{p['ansatz']} solve, L = {p['L']}, alpha = {p['alpha']:g}")
    sol = solve(problem, p["ansatz"], steps=p.get("steps", 1))
    shown = sorted({1, 2, *central_layers(p["L"])} & set(range(1, p["L"])))
    keep = [v for v in ("q", "Q", "q_x", "Q_x", "q_levels", "Q_levels", "breakpoints") if v in sol]
    ds = sol[keep]
    ds.attrs = {"ansatz": p["ansatz"], "steps": int(p.get("steps", 0)), "L": p["L"], "alpha": float(p["alpha"]),
                "free_entropy": float(sol.attrs["free_entropy"]), "residual": float(sol.attrs["residual"]),
                "collapsed_to_rs": int(sol.attrs.get("collapsed_to_rs", 0)), "shown_layers": json.dumps(shown)}
    return ds


def _draw_parisi(ds, figures):
    from ..plots.reproduce_figures import plot_parisi_functions

    return [plot_parisi_functions(ds, figures / "iii_parisi_functions.png")]


def _distinct_levels(values: np.ndarray, tol: float = 1e-6) -> list[float]:
    """The distinct plateau values of a step function sampled on a grid."""
    out: list[float] = []
    for v in np.asarray(values, float):
        if np.isfinite(v) and (not out or abs(v - out[-1]) > tol):
            out.append(float(v))
    return out


def _describe_parisi(ds):
    shown = json.loads(ds.attrs["shown_layers"])
    numbers = {f"q(x, {l}) levels": [round(v, 4) for v in _distinct_levels(ds["q_x"].sel(layer=l).values)]
               for l in shown}
    numbers |= {f"Q(x, {l}) levels": [round(v, 4) for v in _distinct_levels(ds["Q_x"].sel(layer=l).values)]
                for l in shown}
    numbers |= {"free entropy": _num(ds.attrs["free_entropy"]), "residual": _num(ds.attrs["residual"]),
                "collapsed to RS": bool(ds.attrs["collapsed_to_rs"])}
    what = f"{ds.attrs['steps']}-step RSB" if ds.attrs["ansatz"] == "krsb" else "full RSB (x grid)"
    caption = (f"{what} Parisi functions q(x, l) (neurons) and Q(x, l) (weights) of random data at alpha = "
               f"{ds.attrs['alpha']:g}, L = {ds.attrs['L']}, for the boundary layer 1, layer 2 and the centre. "
               "The number of distinct levels (listed below) measures the hierarchy: the boundary layer has the "
               "richest structure, deeper layers fewer steps, and the liquid centre sits at 0.")
    return caption, numbers


# ---------------------------------------------------------------------- (iv) MC overlap dynamics

def _dynamics_config(p: dict, ctx: Context, N: int) -> dict:
    return {
        "seed": ctx.panel_seed("iv"),
        "network": {"N": int(N), "L": p["L"], "kappa": 0.0},
        "data": {"scenario": "random", "alpha": float(p["alpha"]), "M_test": 0},
        "mc": {"acceptance": "metropolis", "beta": float(p["beta"]), "potential": "soft", "backend": p["backend"]},
        "run": {"protocol": "learning", "t_max": p["t_max"], "per_decade": p["per_decade"],
                "n_samples": p["n_samples"]},
        "replicas": {"R": p["R"], "waiting_times": [p["tw"]]},
    }


def dynamics_config(p: dict, ctx: Context, N: int):
    """The validated RunConfig of panel (iv) at width N."""
    return parse_config(_dynamics_config(p, ctx, N))


def dynamics_run(p: dict, ctx: Context, N: int) -> xr.Dataset:
    """The random-data learning run of panel (iv) at width N (reused by panel (vi))."""
    where = ctx.out / RUN_DIR / "iv" / f"{ctx.scale}-seed{ctx.seed}" / f"N{N}"
    return _run(ctx, dynamics_config(p, ctx, N), where)


def _dynamics(p: dict, ctx: Context) -> xr.Dataset:
    from ..plots.simulation import replica_overlap_map
    from .dynamics import learning_time, relaxation

    parts = []
    for N in p["N_values"]:
        run = dynamics_run(p, ctx, N)
        q = replica_overlap_map(run, p["tw"], "q_replica")
        Q = replica_overlap_map(run, p["tw"], "Q_replica").reindex(layer=q["layer"])
        rel = relaxation(run).sel(tw=p["tw"]).drop_vars(["tw", "curve"])
        last = run.isel(time=-1)
        parts.append(xr.merge([xr.Dataset({"q": q, "Q": Q,
                                           "violations": ((), float(last["violations"].mean())),
                                           "fraction_solved": ((), float(learning_time(run)["fraction_solved"])),
                                           "energy": ((), float(last["energy"].mean()))}),
                               rel.reindex(layer=q["layer"])], combine_attrs="drop").expand_dims(N=[N]))
    ds = xr.concat(parts, dim="N", join="outer")
    ds.attrs = {k: p[k] for k in ("L", "alpha", "R", "tw", "t_max", "n_samples", "beta")} | {"seed": ctx.panel_seed("iv")}
    return ds


def _draw_dynamics(ds, figures):
    from ..plots.dynamics import plot_tau_vs_layer
    from ..plots.reproduce_figures import plot_overlap_maps

    a = ds.attrs
    title = (f"random data, thermal local moves at beta = {a['beta']:g} from a random start: L = {a['L']}, "
             f"alpha = {a['alpha']:g}, replicas made "
             f"at t_w = {a['tw']}, {a['n_samples']} samples")
    return [plot_tau_vs_layer(ds, figures / "iv_relaxation_times.png", "N", [f"N = {int(n)}" for n in ds["N"].values],
                              title=title),
            plot_overlap_maps(ds, figures / "iv_overlap_dynamics_Q.png", "Q"),
            plot_overlap_maps(ds, figures / "iv_overlap_dynamics_q.png", "q")]


def _describe_dynamics(ds):
    from ..theory import central_layers
    from .dynamics import TIMES, format_time

    L = int(ds.attrs["L"])
    centre = central_layers(L)[0]
    numbers = {}
    for N in ds["N"].values:
        for kind in ("neurons", "weights"):
            sel = ds.sel(N=N, kind=kind)
            layers = [int(l) for l in sel["layer"].values if int(sel["tau_flag"].sel(layer=l)) >= 0]
            for name in TIMES:
                numbers[f"N = {int(N)}, {kind}: {name} per layer {layers}"] = [
                    format_time(float(sel[name].sel(layer=l)), float(sel[f"{name}_bound"].sel(layer=l)),
                                int(sel[f"{name}_flag"].sel(layer=l)), float(sel[f"{name}_err"].sel(layer=l)))
                    for l in layers]
            numbers[f"N = {int(N)}, {kind}: plateau per layer {layers}"] = [
                _num(sel["plateau"].sel(layer=l)) for l in layers]
        numbers[f"N = {int(N)}: violated gaps per sample at the end"] = _num(ds["violations"].sel(N=N))
        numbers[f"N = {int(N)}: fraction of samples that reached a solution by t_max"] = _num(
            ds["fraction_solved"].sel(N=N))
    final_Q = {int(N): ds["Q"].sel(N=N).dropna("lag", how="all").isel(lag=-1) for N in ds["N"].values}
    measured = "; ".join(f"N = {N}: boundary layers 1, {L}: {float(Q.sel(layer=[1, L]).mean()):.3f}, centre layer "
                         f"{centre}: {float(Q.sel(layer=centre)):.3f}" for N, Q in final_Q.items())
    caption = (f"Monte Carlo of learning on random data (soft-core cost, thermal local moves at beta = "
               f"{ds.attrs['beta']:g}, the beta of published codes of this model, from a random start; L = {L}, "
               f"alpha = {ds.attrs['alpha']:g}, above alpha_g(1) = pi^2/4 = 2.467 where the replica theory freezes the "
               f"boundary layers and keeps the centre liquid; t_max = {ds.attrs['t_max']}, {ds.attrs['n_samples']} "
               f"samples): R = {ds.attrs['R']} replicas copied from the host at t_w = {ds.attrs['tw']} continue with "
               "independent noise. First figure: relaxation times per layer, one line per width N "
               "(deepglass.experiments.dynamics; top: tau_l, where the overlap has lost 1/e of its excess over its "
               "plateau; bottom: the decorrelation time, where it has fallen to 1/e; open triangles are bounds, never "
               "values: up = longer than the run, down = shorter than the first measurement). Then the overlap maps "
               f"over layer and log(t - t_w): weight overlaps Q_l and neuron overlaps q_l. Q_l at the last time: "
               f"{measured}. At this temperature the soft cost stays above 0 (violated gaps below): this is the "
               "dynamics of the search; `deepglass dynamics` gives the same numbers for any run or sweep "
               "(examples/dynamics_original_study.toml: the same picture over N and alpha, docs/experiments.md "
               "\"Dynamics\").")
    return caption, numbers


# ---------------------------------------------------------------------- (v) the deep student, exact ensemble

def compare_configs(p: dict, ctx: Context) -> list:
    """One teacher-student CompareConfig per (depth L, load alpha), design-space sampler, each with a child seed
    of the panel's seed (keyed by L and alpha, so adding a load changes no other run)."""
    from .compare import CompareConfig

    seed = ctx.panel_seed("v")
    configs = []
    for L in p["depths"]:
        for k, alpha in enumerate(p["alphas"]):
            child = child_seed(child_seed(seed, int(L)), k)
            configs.append(CompareConfig(scenario="teacher-student", L=int(L), alpha=float(alpha),
                                         N_values=tuple(p["N_values"]), n_samples=p["n_samples"], t_max=p["t_max"],
                                         R=2, seed=child, M_test=p["M_test"], backend=p["backend"],
                                         sampler="design-space", delta=p["delta"]))
    return configs


def deep_student_study(p: dict, ctx: Context) -> xr.Dataset:
    """The deep-student study: generalization overlap of a planted student (design-space sampler) vs N for each
    depth and load, with each point's equilibrium verdict, beside the Bayes-optimal chain theory."""
    from .compare import run_compare

    parts = []
    for config in compare_configs(p, ctx):
        L, alpha = config.L, config.alpha
        where = ctx.out / RUN_DIR / "v" / f"{ctx.scale}-seed{ctx.seed}" / f"L{L}_alpha{alpha:g}"
        ds = run_compare(config, where, on_progress=lambda N, e, a=alpha, L=L: ctx.progress(
            f"L = {L}, alpha = {a:g}, N = {N}: MC t = {e.t}/{p['t_max']}")).isel(c=0)
        g = list(ds["observable"].values).index("test_overlap")
        parts.append(xr.Dataset({
            "sim_m": ("N", ds["sim_mean"].isel(observable=g).sel(layer=L).values),
            "sim_m_sem": ("N", ds["sim_sem"].isel(observable=g).sel(layer=L).values),
            "sim_eps_g": ("N", ds["sim_eps_g"].values), "sim_eps_g_sem": ("N", ds["sim_eps_g_sem"].values),
            "equilibrated": ("N", ds["equilibrated"].values.astype(np.int8)),
            "relaxation_time_max": ("N", np.nanmax(np.where(np.isfinite(ds["relaxation_time_Q"].values),
                                                            ds["relaxation_time_Q"].values, -1.0), axis=-1)),
            "extrap_eps_g": ((), float(ds["extrap_eps_g"])), "extrap_eps_g_err": ((), float(ds["extrap_eps_g_err"])),
            "theory_eps_g": ((), float(ds["theory_eps_g"])),
            "theory_m": ((), float(ds["theory_m"].sel(layer=L))),
        }, coords={"N": ds["N"].values}).expand_dims(depth=[int(L)], alpha=[float(alpha)]))
    out = xr.combine_by_coords(parts, combine_attrs="drop")
    out = out.merge(_generalization_theory(p))
    out.attrs = {"depths": json.dumps(list(p["depths"])), "t_max": p["t_max"], "n_samples": p["n_samples"],
                 "M_test": p["M_test"], "delta": p["delta"], "sampler": "design-space", "seed": ctx.panel_seed("v"),
                 "proposal": config.proposal}
    return out


def _generalization_theory(p: dict) -> xr.Dataset:
    """eps_g(alpha) of the Bayes-optimal chain on a fine grid, per depth."""
    from ..theory import learning_curve

    grid = np.geomspace(min(p["alphas"]) / 2, max(p["alphas"]) * 2, p["grid_points"])
    curves = [learning_curve(int(L), grid)["eps_g"].values for L in p["depths"]]
    return xr.Dataset({"theory_eps_g_grid": (("depth", "alpha_grid"), np.array(curves))},
                      coords={"alpha_grid": grid, "depth": [int(L) for L in p["depths"]]})


def _draw_generalization(ds, figures):
    from ..plots.reproduce_figures import plot_generalization

    return [plot_generalization(ds, figures / "v_generalization.png")]


def _describe_generalization(ds):
    numbers = {}
    for L in ds["depth"].values:
        for a in ds["alpha"].values:
            pick = ds.sel(depth=L, alpha=a)
            sim = {}
            for N, v, e, ok in zip(ds["N"].values, pick["sim_m"].values, pick["sim_m_sem"].values,
                                   pick["equilibrated"].values):
                sim[f"N={int(N)}"] = [_num(v), _num(e), "equilibrated" if ok == 1 else "NOT equilibrated"]
            numbers[f"L = {int(L)}, alpha = {a:g}"] = {
                "MC generalization overlap m_L [mean, s.e., verdict]": sim,
                "MC eps_g extrapolated a + b/N (equilibrated points)": _num(pick["extrap_eps_g"]),
                "theory m_L (Bayes-optimal, N -> inf)": _num(pick["theory_m"]),
                "theory eps_g": _num(pick["theory_eps_g"])}
    caption = (f"The deep student in the exact ensemble: depths L = {json.loads(ds.attrs['depths'])}, the student "
               "starts at the teacher (planted) and the design-space sampler "
               f"({ds.attrs.get('proposal', 'row')} proposal, hidden neurons slaved to the forward pass: the theory's "
               f"measure) runs t_max = {ds.attrs['t_max']} steps, {ds.attrs['n_samples']} "
               "samples per point. Left: generalization overlap m_L (student-teacher output agreement on "
               f"{ds.attrs['M_test']} fresh inputs, eps_g = (1 - m_L)/2) vs N, filled where the run is equilibrated "
               "(Nishimori identity per layer and >= 10 relaxation times), grey crosses where it is not (not a "
               "result); dashed: the Bayes-optimal chain theory (N -> inf). Right: eps_g vs alpha, theory per depth, "
               "equilibrated MC points. Runs and fits: deepglass.experiments.compare.run_compare, one per (L, alpha).")
    return caption, numbers


# ---------------------------------------------------------------------- (vi) ultrametric triangles

TRIANGLE_VARS = {"q_replica": "neurons", "Q_replica": "weights"}  # overlap -> suffix of its part of the cache
TRIANGLE_DIMS = ("bin", "edge", "ratio_bin", "ratio_edge")


def _ultrametric(p: dict, ctx: Context) -> xr.Dataset:
    """Triangles of the R >= 3 replicas of the widest run of panel (iv), per layer, at its last time: the neuron
    overlaps (the stored q_triangle) and the weight overlaps, each as one suffixed part of the Dataset."""
    from .ultrametric import ultrametricity

    source = PANELS_BY_KEY["iv"].params[ctx.scale]
    run = dynamics_run(source, ctx, max(source["N_values"]))
    parts = []
    for var, suffix in TRIANGLE_VARS.items():
        stats = ultrametricity(run, tw=source["tw"], var=var, bins=p["bins"])
        names = {name: f"{name}_{suffix}" for name in [*stats.data_vars, *TRIANGLE_DIMS, "region"]}
        part = stats.rename(names)
        part.attrs = {}
        for key, value in stats.attrs.items():  # lists as JSON: NetCDF attributes are flat
            part.attrs[f"{key}_{suffix}"] = json.dumps(value) if isinstance(value, (list, tuple)) else value
        parts.append(part)
    return xr.merge(parts, combine_attrs="no_conflicts")


def triangle_stats(ds: xr.Dataset, var: str) -> xr.Dataset:
    """One overlap's part of the cached panel (vi), as deepglass.experiments.ultrametric.ultrametricity returned it."""
    suffix = "_" + TRIANGLE_VARS[var]
    mine = [name for name in ds.variables if str(name).endswith(suffix)]
    stats = ds[mine].rename({name: str(name)[: -len(suffix)] for name in mine})
    stats.attrs = {}
    for key, value in ds.attrs.items():
        if key.endswith(suffix):
            key = key[: -len(suffix)]
            stats.attrs[key] = json.loads(value) if key.endswith("_layers") else value
    return stats


def _draw_ultrametric(ds, figures):
    from ..plots.ultrametric import plot_triangles

    return [Path(plot_triangles(triangle_stats(ds, var), figures / f"vi_ultrametric_triangles_{suffix}.png"))
            for var, suffix in TRIANGLE_VARS.items()]


def _describe_ultrametric(ds):
    numbers = {}
    for var, suffix in TRIANGLE_VARS.items():
        stats = triangle_stats(ds, var)
        numbers |= {f"{suffix}, layer {int(l)}: fraction ultrametric / violation": [_num(f), _num(v)] for l, f, v in
                    zip(stats["layer"].values, stats["fraction_ultrametric"].values, stats["violation"].values)}
        for name in ("fraction_ultrametric", "fraction_equilateral", "ks_statistic"):
            numbers |= {f"{suffix}, {r}: {name.replace('_', ' ')}": _num(stats[f"region_{name}"].sel(region=r))
                        for r in stats["region"].values}
    a = triangle_stats(ds, "q_replica").attrs
    caption = (f"Ultrametricity of the replicas of the widest run of panel (iv) (N = {a['N']}, R = {a['R']} replicas, "
               f"t = {a['time']}): for every triangle of replicas, the spacings q_mid - q_min (0 when ultrametric: the "
               "two smallest overlaps equal) and q_max - q_mid, boundary layers "
               f"{a['boundary_layers']} vs centre {a['centre_layers']}; neuron overlaps q_l (first figure, the stored "
               "q_triangle) and weight overlaps Q_l (second). A triangle counts as ultrametric when q_mid - q_min is "
               f"within {a['z']:g} x the overlap noise (1/sqrt(N M) for neurons, 1/sqrt(N c) for weights); "
               "equilateral triangles are ultrametric trivially, so read the equilateral fraction and the "
               "Kolmogorov-Smirnov statistic between the two spacings beside it. Statistics: "
               "deepglass.experiments.ultrametric.ultrametricity.")
    return caption, numbers


# ---------------------------------------------------------------------- the plan

def _num(value) -> float | None:
    value = json_ready(float(value))
    return None if value is None else round(value, 6)


def _theory_estimate(seconds: dict) -> Callable[[dict, str], float]:
    return lambda p, scale: seconds[scale]


def _dynamics_estimate(p: dict, scale: str) -> float:
    return sum(_mc_seconds(N, p["L"], p["alpha"], p["t_max"], p["n_samples"] * (1 + p["R"])) for N in p["N_values"])


COMPARE_RUN_OVERHEAD = 4.0  # per planted run: theory solves, test-set forward passes, compare bookkeeping (measured)


def _generalization_estimate(p: dict, scale: str) -> float:
    runs = [(N, L, a) for N in p["N_values"] for L in p["depths"] for a in p["alphas"]]
    mc = sum(_mc_seconds(N, L, a, p["t_max"], p["n_samples"] * 3) for N, L, a in runs)  # host + 2 guests
    return mc + COMPARE_RUN_OVERHEAD * len(runs) + 0.1 * p["grid_points"]


PANELS = (
    Panel("i", "transitions", "(i) Glass transitions alpha_g(l) and the growth length xi",
          {"tiny": {"L": 6, "kappa": 0.0, "alpha_max": 200.0},
           "quick": {"L": 10, "kappa": 0.0, "alpha_max": 1000.0},
           "full": {"L": 20, "kappa": 0.0, "alpha_max": 1e4}},
          _transitions, _draw_transitions, _describe_transitions, _theory_estimate({"tiny": 1, "quick": 2, "full": 5})),
    Panel("ii", "profiles", "(ii) Overlap profiles Q_l, q_l at several loads: glass vs crystal",
          {"tiny": {"L": 4, "alphas": [1.0, 3.0, 10.0, 30.0]},
           "quick": {"L": 10, "alphas": [1.0, 3.0, 10.0, 30.0, 100.0, 300.0]},
           "full": {"L": 20, "alphas": [1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 100.0, 300.0, 1000.0, 3000.0]}},
          _profiles, _draw_profiles, _describe_profiles, _theory_estimate({"tiny": 1, "quick": 3, "full": 20})),
    Panel("iii", "parisi_functions", "(iii) Parisi functions q(x, l): hierarchy at the boundary, simpler inside",
          {"tiny": {"L": 4, "alpha": 30.0, "ansatz": "krsb", "steps": 1},
           "quick": {"L": 6, "alpha": 30.0, "ansatz": "krsb", "steps": 2},
           "full": {"L": 10, "alpha": 30.0, "ansatz": "frsb"}},
          _parisi, _draw_parisi, _describe_parisi, _theory_estimate({"tiny": 3, "quick": 12, "full": 150})),
    Panel("iv", "overlap_dynamics", "(iv) Monte Carlo: relaxation times tau_l per layer and overlap dynamics, several N",
          {"tiny": {"N_values": [8, 12], "L": 4, "alpha": 4.0, "t_max": 40, "per_decade": 6, "n_samples": 2,
                    "R": 3, "tw": 5, "beta": 66.7, "backend": "numpy"},
           "quick": {"N_values": [16, 32], "L": 6, "alpha": 4.0, "t_max": 1000, "per_decade": 8, "n_samples": 3,
                     "R": 4, "tw": 100, "beta": 66.7, "backend": "auto"},
           "full": {"N_values": [10, 20, 40, 80], "L": 10, "alpha": 4.0, "t_max": 3000, "per_decade": 10,
                    "n_samples": 3, "R": 4, "tw": 100, "beta": 66.7, "backend": "auto"}},
          _dynamics, _draw_dynamics, _describe_dynamics, _dynamics_estimate, layout=3),
    Panel("v", "generalization", "(v) The deep student: generalization overlap vs N in the exact ensemble, beside theory",
          {"tiny": {"depths": [3], "alphas": [1.0, 2.0], "N_values": [4, 6], "n_samples": 2, "t_max": 20, "M_test": 200,
                    "grid_points": 8, "backend": "numpy", "delta": 0.3},
           "quick": {"depths": [6], "alphas": [1.0, 4.0], "N_values": [4, 6], "n_samples": 8, "t_max": 1000,
                     "M_test": 1000, "grid_points": 25, "backend": "auto", "delta": 0.3},
           # the billiard's tau_Q <= ~700 steps at N <= 16 (docs/experiments.md "The deep student"): 4000 steps pass
           # the 10-tau rule; N = 24 would cost ~3.4x N = 16 (L alpha N^3 per step)
           "full": {"depths": [6, 10], "alphas": [1.0, 2.0, 4.0], "N_values": [4, 6, 8, 12, 16], "n_samples": 8,
                    "t_max": 4000, "M_test": 1000, "grid_points": 40, "backend": "auto", "delta": 0.3}},
          deep_student_study, _draw_generalization, _describe_generalization, _generalization_estimate, layout=2),
    Panel("vi", "ultrametric", "(vi) Ultrametric triangles of replicas per layer",
          {"tiny": {"bins": 10}, "quick": {"bins": 20}, "full": {"bins": 30}},
          _ultrametric, _draw_ultrametric, _describe_ultrametric, lambda p, scale: 2.0, layout=2),
)
PANEL_KEYS = tuple(p.key for p in PANELS)
PANELS_BY_KEY = {p.key: p for p in PANELS}


@dataclass(frozen=True)
class PlannedPanel:
    panel: Panel
    params: dict
    estimate: float  # seconds


def check_scale(scale: str) -> str:
    if scale not in SCALES:
        raise ConfigError("--scale", scale, f"one of {', '.join(SCALES)}")
    return scale


def parse_panels(text: str | None) -> list[str]:
    """``"i,iv"`` -> ["i", "iv"] in plan order; None or "all" -> every panel; "" (nothing chosen) is an error."""
    if text is None or text.strip() == "all":
        return list(PANEL_KEYS)
    wanted = [t.strip().lower() for t in text.split(",") if t.strip()]
    bad = [t for t in wanted if t not in PANEL_KEYS]
    if bad or not wanted:
        raise ConfigError("--panels", text, f"a comma-separated list of {', '.join(PANEL_KEYS)} (or all)")
    return [k for k in PANEL_KEYS if k in wanted]


def check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < SEED_LIMIT:
        raise ConfigError("--seed", seed, "an integer 0 <= seed < 2**63")
    return int(seed)


def make_plan(scale: str = "quick", panels: list[str] | None = None) -> list[PlannedPanel]:
    """The panels to produce at ``scale`` with their parameters and estimated cost (seconds)."""
    check_scale(scale)
    keys = list(PANEL_KEYS) if panels is None else panels
    plan = []
    for key in keys:
        if key not in PANELS_BY_KEY:
            raise ConfigError("--panels", key, f"one of {', '.join(PANEL_KEYS)}")
        panel = PANELS_BY_KEY[key]
        params = dict(panel.params[scale])
        estimate = panel.estimate(params, scale)
        if key == "vi" and "iv" not in keys:  # (vi) reuses the widest run of (iv): its cost when (iv) is not planned
            iv = PANELS_BY_KEY["iv"].params[scale]
            estimate += _mc_seconds(max(iv["N_values"]), iv["L"], iv["alpha"], iv["t_max"], iv["n_samples"] * (1 + iv["R"]))
        plan.append(PlannedPanel(panel, params, float(estimate)))
    return plan


def format_plan(plan: list[PlannedPanel], scale: str) -> str:
    lines = [f"deepglass reproduce, scale '{scale}': {len(plan)} panels, estimated cost on a 2-core machine:"]
    for item in plan:
        shown = ", ".join(f"{k}={v}" for k, v in item.params.items())
        lines.append(f"  {item.panel.title}\n      {shown}\n      ~{_duration(item.estimate)}")
    total = sum(item.estimate for item in plan)
    lines.append(f"  total: ~{_duration(total)} (cached panels in DIR/data are reused and cost nothing)")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


# ---------------------------------------------------------------------- cache and execution

def data_file(out: Path, panel: Panel) -> Path:
    return Path(out) / DATA_DIR / f"{panel.stem}.nc"


def cache_tag(panel: Panel, params: dict, scale: str, seed: int) -> str:
    """What a cached panel was computed from: reused only when this matches exactly."""
    return json.dumps({"panel": panel.key, "layout": panel.layout, "scale": scale, "seed": seed, "params": params},
                      sort_keys=True)


def load_cached(out: Path, panel: Panel, tag: str) -> xr.Dataset | None:
    """The cached data of a panel, or None when missing, unreadable or computed from other parameters."""
    file = data_file(out, panel)
    if not file.is_file():
        return None
    try:
        with xr.open_dataset(file, engine=ENGINE) as ds:
            ds = ds.load()
    except Exception:  # a damaged file (interrupted copy, disk error): recompute, it is only a cache
        return None
    return ds if ds.attrs.get("reproduce_tag") == tag else None


def store(out: Path, panel: Panel, ds: xr.Dataset) -> Path:
    file = data_file(out, panel)
    file.parent.mkdir(parents=True, exist_ok=True)
    return write_dataset(ds, file)


@dataclass
class PanelResult:
    panel: Panel
    params: dict
    estimate: float
    data: xr.Dataset
    figures: list[Path]
    caption: str
    numbers: dict
    seconds: float      # compute time when it was computed (stored with the cache)
    cached: bool


@dataclass
class ReproduceResult:
    out: Path
    scale: str
    seed: int
    panels: list[PanelResult] = field(default_factory=list)
    report: Path | None = None

    @property
    def figures(self) -> list[Path]:
        return [f for p in self.panels for f in p.figures]


def run_panel(item: PlannedPanel, ctx: Context) -> PanelResult:
    """Reuse the panel's cache when it matches, otherwise compute and store it; then draw its figures."""
    panel = item.panel
    tag = cache_tag(panel, item.params, ctx.scale, ctx.seed)
    ds = load_cached(ctx.out, panel, tag)
    cached = ds is not None
    if ds is None:
        start = time.perf_counter()
        ds = panel.compute(item.params, ctx)
        ds.attrs.update(reproduce_tag=tag, compute_seconds=time.perf_counter() - start,
                        deepglass_version=__version__, reproduce_seed=ctx.seed)
        store(ctx.out, panel, ds)
    figures = [Path(f) for f in panel.draw(ds, ctx.out / FIGURE_DIR)]
    caption, numbers = panel.describe(ds)
    return PanelResult(panel, item.params, item.estimate, ds, figures, caption, numbers,
                       float(ds.attrs["compute_seconds"]), cached)


def reproduce(out: str | Path, scale: str = "quick", seed: int = 0, panels: list[str] | None = None, *,
              on_panel_start: Callable[[PlannedPanel], None] | None = None,
              on_panel_done: Callable[[PanelResult], None] | None = None,
              progress: Progress | None = None) -> ReproduceResult:
    """Produce every planned panel into ``out`` (data/, figures/, runs/) and write ``out/report.html``."""
    from .report import write_report

    seed = check_seed(seed)
    plan = make_plan(scale, panels)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError("--out", str(out), "a directory (created if missing)")
    with directory_lock(out):  # a second reproduce into DIR is refused, naming this one
        remove_stale_temporaries(out)
        (out / FIGURE_DIR).mkdir(parents=True, exist_ok=True)
        ctx = Context(out, seed, scale, progress or (lambda text: None))
        result = ReproduceResult(out, scale, seed)
        for item in plan:
            if on_panel_start is not None:
                on_panel_start(item)
            done = run_panel(item, ctx)
            result.panels.append(done)
            if on_panel_done is not None:
                on_panel_done(done)
        result.report = write_report(result, out / REPORT_FILE)
    return result


__all__ = ["PANELS", "PANEL_KEYS", "SCALES", "Context", "Panel", "PanelResult", "PlannedPanel", "ReproduceResult",
           "cache_tag", "check_seed", "data_file", "format_plan", "load_cached", "make_plan",
           "parse_panels", "reproduce", "run_panel"]
