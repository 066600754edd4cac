"""Figures of a theory-vs-simulation comparison (deepglass.experiments.compare.run_compare's Dataset).

Only points shown to be equilibrated are drawn as results (filled markers with error bars). A point that is
not (or cannot be) shown equilibrated is drawn as a grey cross without error bar, labelled as excluded, so
the reader sees that it exists and that it is not a result. Matplotlib ``Figure`` objects directly (no pyplot
state): headless and thread safe.
"""
from __future__ import annotations

import textwrap
import warnings
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ..theory.problem import central_layers

LABELS = {"teacher_Q": "student-teacher weight overlap Q_l", "teacher_q": "student-teacher neuron overlap q_l (train)",
          "test_overlap": "student-teacher overlap on fresh inputs m_l", "Q_replica": "replica weight overlap Q_l",
          "q_replica": "replica neuron overlap q_l", "teacher_Q_gauge": "gauge-fixed student-teacher Q_l",
          "teacher_q_gauge": "gauge-fixed student-teacher q_l (train)",
          "teacher_q2": "student-teacher q_l^2 (sign-gauge free)"}
EXCLUDED = dict(marker="x", color="0.55", ls="none", ms=5)
EXCLUDED_LABEL = "NOT equilibrated: not a result, excluded from fits"


def _c_label(c: int) -> str:
    return "dense" if int(c) == 0 else f"c = {int(c)}"


def _title(ds: xr.Dataset) -> str:
    return (f"{ds.attrs['scenario']} ({ds.attrs['protocol']}, {ds.attrs.get('sampler', 'local')} sampler, t_max = "
            f"{ds.attrs['t_max']}, {ds.attrs['n_samples']} samples): L = {ds.attrs['L']}, alpha = {ds.attrs['alpha']:g}; "
            f"{ds.attrs.get('n_equilibrated', '?')} of {ds.attrs.get('n_points', '?')} points equilibrated")


def _theory_name(ds: xr.Dataset) -> str:
    return "Bayes-optimal RS chain" if ds.attrs["scenario"] == "teacher-student" else f"{ds.attrs['ansatz']} chain"


def _equilibrated(ds: xr.Dataset, c, N) -> bool:
    return int(ds["equilibrated"].sel(c=c, N=N)) == 1


def plot_profiles(ds: xr.Dataset, path: str | Path) -> Path:
    """One panel per observable: theory line, MC points per (c, N), the final extrapolation."""
    names = list(ds["observable"].values)
    fig = Figure(figsize=(4.6 * len(names), 4.2), layout="constrained")
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    layers = ds["layer"].values
    points = [(c, N) for c in ds["c"].values for N in ds["N"].values if int(ds["equilibrated"].sel(c=c, N=N)) != -2]
    shift = np.linspace(-0.2, 0.2, len(points) + 1)
    for ax, name in zip(axes, names):
        ax.plot(layers, ds["theory"].sel(observable=name), "k-", lw=1.5, label=f"theory N -> inf ({_theory_name(ds)})")
        excluded_drawn = False
        for k, (c, N) in enumerate(points):
            mean = ds["sim_mean"].sel(observable=name, c=c, N=N).values
            if _equilibrated(ds, c, N):
                sem = ds["sim_sem"].sel(observable=name, c=c, N=N).values
                ax.errorbar(layers + shift[k], mean, yerr=np.nan_to_num(sem), fmt="o", ms=4, capsize=2,
                            label=f"MC N = {int(N)}" + ("" if int(c) == 0 else f", c = {int(c)}"))
            else:
                ax.plot(layers + shift[k], mean, **EXCLUDED, label=None if excluded_drawn else EXCLUDED_LABEL)
                excluded_drawn = True
        final = ds["final"].sel(observable=name).values
        if np.isfinite(final).any():
            ax.errorbar(layers + shift[-1], final, yerr=np.nan_to_num(ds["final_err"].sel(observable=name).values),
                        fmt="D", color="crimson", ms=5, capsize=3, label="MC extrapolated (equilibrated points)")
        ax.set_xlabel("layer l")
        ax.set_ylabel(LABELS.get(name, name))
        ax.set_xticks(layers)
        ax.axhline(0, color="grey", lw=0.5)
    axes[0].legend(fontsize=7)
    fig.suptitle(_title(ds), fontsize=9)
    fig.savefig(path, dpi=110)
    return Path(path)


def extrapolation_panels(ds: xr.Dataset) -> list[tuple[str, int]]:
    """(observable, layer) pairs shown vs 1/N: the generalization overlap (teacher-student) and a central layer."""
    L = int(ds.attrs["L"])
    centre = (central_layers(L) or (L,))[0]
    if ds.attrs["scenario"] == "teacher-student":
        gauge = "teacher_Q_gauge" in ds["observable"].values   # the estimator of the symmetry-broken Q_l
        return [("test_overlap", L), ("teacher_Q_gauge" if gauge else "teacher_Q", centre)]
    return [("q_replica", centre), ("Q_replica", centre)]


def plot_extrapolation(ds: xr.Dataset, path: str | Path) -> Path:
    """Observable vs 1/N per c with the weighted fit a + b/N (equilibrated points only) and the theory at 1/N = 0."""
    panels = extrapolation_panels(ds)
    fig = Figure(figsize=(4.8 * len(panels), 4.0), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    x = 1.0 / ds["N"].values
    grid = np.linspace(0.0, x.max() * 1.05, 50)
    for ax, (name, layer) in zip(axes, panels):
        excluded_drawn = False
        for c in ds["c"].values:
            pick = dict(observable=name, layer=layer, c=c)
            mean, sem = ds["sim_mean"].sel(**pick).values, ds["sim_sem"].sel(**pick).values
            ok = ds["equilibrated"].sel(c=c).values == 1
            bad = (ds["equilibrated"].sel(c=c).values != 1) & (ds["equilibrated"].sel(c=c).values != -2)
            line = ax.errorbar(x[ok], mean[ok], yerr=np.nan_to_num(sem[ok]), fmt="o", capsize=3,
                               label=f"MC {_c_label(c)} (mean +- s.e. over samples)")
            if bad.any():
                ax.plot(x[bad], mean[bad], **EXCLUDED, label=None if excluded_drawn else EXCLUDED_LABEL)
                excluded_drawn = True
            a, b = float(ds["extrap"].sel(**pick)), float(ds["extrap_slope"].sel(**pick))
            if np.isfinite(a) and np.isfinite(b):
                chi = float(ds["extrap_chi2_dof"].sel(**pick))
                ax.plot(grid, a + b * grid, "-", color=line[0].get_color(),
                        label=f"fit a + b/N: a = {a:.3f} +- {float(ds['extrap_err'].sel(**pick)):.3f}"
                              + (f", chi2/dof = {chi:.2g}" if np.isfinite(chi) else ", dof = 0"))
        ax.plot([0], [float(ds["theory"].sel(observable=name, layer=layer))], "k*", ms=12, label="theory (N -> inf)")
        if "extrap_c" in ds:
            ax.errorbar([0], [float(ds["extrap_c"].sel(observable=name, layer=layer))],
                        yerr=[np.nan_to_num(float(ds["extrap_c_err"].sel(observable=name, layer=layer)))],
                        fmt="D", color="crimson", capsize=3, label="MC N -> inf, then c -> inf")
        what = "generalization overlap m_L" if name == "test_overlap" and layer == int(ds.attrs["L"]) else \
            f"{LABELS.get(name, name)}, layer {layer}"
        ax.set_title(what, fontsize=9)
        ax.set_xlabel("1 / N")
        ax.set_xlim(left=-0.005)
        ax.legend(fontsize=6)
    fig.suptitle(_title(ds), fontsize=9)
    fig.savefig(path, dpi=110)
    return Path(path)


def plot_run_over_theory(run: xr.Dataset, theory: xr.Dataset, verdict: dict | None, path: str | Path,
                         note: str = "") -> Path:
    """A planted run's final student-teacher profiles (mean +- s.e. over samples) drawn over the theory's
    curves: weight overlaps Q_l, neuron overlaps q_l (train) and the fresh-input overlaps m_l (the demo's figure).
    The verdict is written on the figure; an unequilibrated run is drawn as excluded crosses, not as a result."""
    last = run.isel(time=-1)
    panels = [(n, t) for n, t in (("teacher_Q", "Q"), ("teacher_q", "q"), ("test_overlap", "m_test")) if n in last]
    fig = Figure(figsize=(4.4 * len(panels), 4.0), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    ok = bool(verdict and verdict.get("equilibrated"))
    for ax, (name, tname) in zip(axes, panels):
        var = last[name].transpose("sample", "layer")
        layers = var["layer"].values
        n = np.sum(np.isfinite(var.values), axis=0)
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # Q at layer 0 is NaN in every sample
            mean = np.nanmean(var.values, axis=0)
            sem = np.nanstd(var.values, axis=0, ddof=1) / np.sqrt(np.maximum(n, 1))
        ax.plot(theory["layer"].values, theory[tname].values, "k-", lw=1.5, label="theory N -> inf (Bayes-optimal RS)")
        if ok:
            ax.errorbar(layers, mean, yerr=np.nan_to_num(sem), fmt="o", capsize=3, color="tab:blue",
                        label="MC, design space (mean +- s.e.)")
        else:
            ax.plot(layers, mean, **EXCLUDED, label=EXCLUDED_LABEL)
        if f"{name}_gauge" in last:   # gauge-fixed overlaps (observables.fix_gauge) beside the plain ones
            g = last[f"{name}_gauge"].transpose("sample", "layer").values
            with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                g_mean = np.nanmean(g, axis=0)
                g_sem = np.nanstd(g, axis=0, ddof=1) / np.sqrt(np.maximum(np.sum(np.isfinite(g), axis=0), 1))
            if ok:
                ax.errorbar(layers + 0.08, g_mean, yerr=np.nan_to_num(g_sem), fmt="s", capsize=3, color="tab:orange",
                            label="MC gauge-fixed (max over gauge images)")
            else:
                ax.plot(layers + 0.08, g_mean, **{**EXCLUDED, "color": "tab:orange"},
                        label="gauge-fixed, " + EXCLUDED_LABEL)
            ax.legend(fontsize=7)
        ax.set_xlabel("layer l")
        ax.set_ylabel(LABELS.get(name, name))
        ax.set_xticks(layers)
        ax.set_ylim(-0.1, 1.05)
        ax.axhline(0, color="grey", lw=0.5)
    axes[0].legend(fontsize=7)
    reason = (verdict or {}).get("reason", "no equilibrium verdict")
    text = f"planted teacher-student run vs theory; equilibrium: {reason}" + (f"\n{note}" if note else "")
    fig.suptitle("\n".join(line for part in text.split("\n") for line in textwrap.wrap(part, 160)), fontsize=7)
    fig.savefig(path, dpi=110)
    return Path(path)


def plot_compare(ds: xr.Dataset, out_dir: str | Path) -> list[Path]:
    """Write compare_profiles.png and compare_extrapolation.png into out_dir; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [plot_profiles(ds, out_dir / "compare_profiles.png"),
            plot_extrapolation(ds, out_dir / "compare_extrapolation.png")]


__all__ = ["extrapolation_panels", "plot_compare", "plot_extrapolation", "plot_profiles", "plot_run_over_theory"]
