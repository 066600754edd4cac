"""Figures of a theory-vs-simulation comparison (deepglass.experiments.compare.run_compare's Dataset).

Matplotlib ``Figure`` objects directly (no pyplot state): headless and thread safe.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ..theory.problem import central_layers

LABELS = {"teacher_Q": "student-teacher weight overlap Q_l", "teacher_q": "student-teacher neuron overlap q_l (train)",
          "test_overlap": "student-teacher overlap on fresh inputs m_l", "Q_replica": "replica weight overlap Q_l",
          "q_replica": "replica neuron overlap q_l"}


def _title(ds: xr.Dataset) -> str:
    return (f"{ds.attrs['scenario']} ({ds.attrs['protocol']} MC, t_max = {ds.attrs['t_max']}, "
            f"{ds.attrs['n_samples']} samples): L = {ds.attrs['L']}, alpha = {ds.attrs['alpha']:g}")


def _note(ds: xr.Dataset) -> str:
    if ds.attrs["scenario"] == "teacher-student":
        return ("solid: Bayes-optimal chain theory; dashed: frozen representations (greedy MC at kappa = 0 never "
                "flips a neuron); MC at finite time t_max")
    return f"solid: {ds.attrs['ansatz']} chain theory (N -> inf, equilibrium); MC replicas at finite time t_max"


def plot_profiles(ds: xr.Dataset, path: str | Path) -> Path:
    """One panel per observable: theory line(s), MC points with error bars per N, extrapolated N -> inf."""
    names = list(ds["observable"].values)
    fig = Figure(figsize=(4.6 * len(names), 4.2), layout="constrained")
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    Ns = ds["N"].values
    layers = ds["layer"].values
    shift = np.linspace(-0.15, 0.15, len(Ns) + 1)
    for ax, name in zip(axes, names):
        ax.plot(layers, ds["theory"].sel(observable=name), "k-", lw=1.5, label="theory N -> inf")
        if "theory_frozen" in ds:
            ax.plot(layers, ds["theory_frozen"].sel(observable=name), "k--", lw=1.2, label="frozen-representation theory")
        for k, N in enumerate(Ns):
            mean = ds["sim_mean"].sel(observable=name, N=N).values
            sem = ds["sim_sem"].sel(observable=name, N=N).values
            ax.errorbar(layers + shift[k], mean, yerr=np.nan_to_num(sem), fmt="o", ms=4, capsize=2, label=f"MC N = {N}")
        ax.errorbar(layers + shift[-1], ds["extrap"].sel(observable=name), yerr=np.nan_to_num(
            ds["extrap_err"].sel(observable=name).values), fmt="D", color="crimson", ms=5, capsize=3,
            label="MC extrapolated (a + b/N)")
        ax.set_xlabel("layer l")
        ax.set_ylabel(LABELS.get(name, name))
        ax.set_xticks(layers)
        ax.axhline(0, color="grey", lw=0.5)
    axes[0].legend(fontsize=7)
    fig.suptitle(_title(ds) + "\n" + _note(ds), fontsize=9)
    fig.savefig(path, dpi=110)
    return Path(path)


def extrapolation_panels(ds: xr.Dataset) -> list[tuple[str, int]]:
    """(observable, layer) pairs shown vs 1/N: the generalization overlap (teacher-student) and a central layer."""
    L = int(ds.attrs["L"])
    centre = (central_layers(L) or (L,))[0]
    if ds.attrs["scenario"] == "teacher-student":
        return [("test_overlap", L), ("teacher_Q", centre)]
    return [("q_replica", centre), ("Q_replica", centre)]


def plot_extrapolation(ds: xr.Dataset, path: str | Path) -> Path:
    """Observable vs 1/N with the weighted fit a + b/N and the theory value(s) at 1/N = 0."""
    panels = extrapolation_panels(ds)
    fig = Figure(figsize=(4.8 * len(panels), 4.0), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    x = 1.0 / ds["N"].values
    grid = np.linspace(0.0, x.max() * 1.05, 50)
    for ax, (name, layer) in zip(axes, panels):
        pick = dict(observable=name, layer=layer)
        ax.errorbar(x, ds["sim_mean"].sel(**pick), yerr=np.nan_to_num(ds["sim_sem"].sel(**pick).values), fmt="o",
                    capsize=3, label="MC (mean +- s.e. over samples)")
        a, b = float(ds["extrap"].sel(**pick)), float(ds["extrap_slope"].sel(**pick))
        chi = float(ds["extrap_chi2_dof"].sel(**pick))
        ax.plot(grid, a + b * grid, "-", color="crimson",
                label=f"fit a + b/N: a = {a:.3f} +- {float(ds['extrap_err'].sel(**pick)):.3f}"
                      + (f", chi2/dof = {chi:.2g}" if np.isfinite(chi) else ", dof = 0"))
        ax.plot([0], [float(ds["theory"].sel(**pick))], "k*", ms=12, label="theory (N -> inf)")
        if "theory_frozen" in ds:
            ax.plot([0], [float(ds["theory_frozen"].sel(**pick))], "kP", ms=9, mfc="none",
                    label="frozen-representation theory")
        what = "generalization overlap m_L" if name == "test_overlap" and layer == int(ds.attrs["L"]) else \
            f"{LABELS.get(name, name)}, layer {layer}"
        ax.set_title(what, fontsize=9)
        ax.set_xlabel("1 / N")
        ax.set_xlim(left=-0.002)
        ax.legend(fontsize=7)
    fig.suptitle(_title(ds), fontsize=9)
    fig.savefig(path, dpi=110)
    return Path(path)


def plot_compare(ds: xr.Dataset, out_dir: str | Path) -> list[Path]:
    """Write compare_profiles.png and compare_extrapolation.png into out_dir; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [plot_profiles(ds, out_dir / "compare_profiles.png"),
            plot_extrapolation(ds, out_dir / "compare_extrapolation.png")]


__all__ = ["extrapolation_panels", "plot_compare", "plot_extrapolation", "plot_profiles"]
