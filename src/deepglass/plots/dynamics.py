"""Figures of the measured dynamics (deepglass.experiments.dynamics): tau_l vs layer for several series (N,
alpha, waiting time), the decay curves per layer, overlap heatmaps, tau vs t_w, tau vs N, violated gaps vs time.

Measured times are filled markers with jackknife error bars; lower bounds are drawn as open up-triangles at the
bound (the time is longer), upper bounds as open down-triangles (shorter): a bound is never drawn as a value.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib import colormaps
from matplotlib.figure import Figure

from .reproduce_figures import save_figure
from .simulation import _log_edges

KINDS = {"neurons": "neurons, q_l", "weights": "weights, Q_l"}
TIME_LABELS = {"tau": "tau_l: excess over plateau at 1/e", "tau_decorrelation": "decorrelation: overlap at 1/e",
               "tau_int": "integrated time"}


def _draw_times(ax, layers, sel: xr.Dataset, name: str, color, label: str) -> None:
    """One series of times over x = layers: values with errors, bounds as open triangles."""
    flag, value, bound = sel[f"{name}_flag"].values, sel[name].values, sel[f"{name}_bound"].values
    err = np.nan_to_num(sel[f"{name}_err"].values) if f"{name}_err" in sel else None
    measured = flag == 0
    ax.errorbar(layers[measured], value[measured], yerr=None if err is None else err[measured], fmt="o-",
                color=color, capsize=3, label=label)
    for code, marker in ((1, "^"), (2, "v")):
        pick = flag == code
        if pick.any():
            ax.plot(layers[pick], bound[pick], marker, color=color, mfc="none", ms=8)


def plot_tau_vs_layer(ds: xr.Dataset, path: str | Path, series: str, labels: list[str] | None = None,
                      names=("tau", "tau_decorrelation"), title: str = "") -> Path:
    """tau_l against layer on a log axis, one line per entry of dimension ``series`` (N, point, tw, ...);
    rows: the times in ``names``, columns: neurons and weights."""
    values = ds[series].values
    labels = labels or [f"{series} = {v}" for v in values]
    fig = Figure(figsize=(10, 3.6 * len(names)), layout="constrained")
    axes = fig.subplots(len(names), 2, squeeze=False)
    colors = colormaps["viridis"](np.linspace(0, 0.85, len(values)))
    for r, name in enumerate(names):
        for c, kind in enumerate(KINDS):
            ax = axes[r, c]
            for v, color, label in zip(values, colors, labels):
                sel = ds.sel({series: v, "kind": kind})
                sel = sel.sel(layer=sel[f"{name}_flag"] >= 0)
                _draw_times(ax, sel["layer"].values, sel, name, color, label)
            ax.set_yscale("log")
            ax.set_xlabel("layer l")
            ax.set_ylabel(f"{TIME_LABELS[name]} (MC steps)")
            ax.set_title(KINDS[kind], fontsize=9)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle((title + "\n" if title else "") + "open triangles: bounds (up: longer than the run; "
                 "down: shorter than the first measurement)", fontsize=9)
    return save_figure(fig, path)


def plot_decay_curves(curve: xr.DataArray, path: str | Path, title: str = "") -> Path:
    """The overlap since t_w per layer (curve: (kind, layer, lag)), log time axis."""
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, kind in zip(axes, KINDS):
        c = curve.sel(kind=kind).dropna("layer", how="all")
        colors = colormaps["plasma"](np.linspace(0, 0.85, max(1, c.sizes["layer"])))
        for layer, color in zip(c["layer"].values, colors):
            y = c.sel(layer=layer).dropna("lag")
            ax.plot(y["lag"].values, y.values, ".-", color=color, label=f"l = {int(layer)}")
        ax.axhline(np.exp(-1), color="grey", lw=0.6, ls=":")
        ax.set_xscale("log")
        ax.set_xlabel("t - t_w (MC steps)")
        ax.set_ylabel("replica overlap")
        ax.set_title(KINDS[kind], fontsize=9)
        ax.legend(fontsize=6, ncol=2)
    fig.suptitle(title + "  (dotted: 1/e)", fontsize=9)
    return save_figure(fig, path)


def plot_overlap_heatmaps(curve: xr.DataArray, path: str | Path, title: str = "") -> Path:
    """Heatmaps layer x log(t - t_w) of the neuron and weight overlaps (curve: (kind, layer, lag))."""
    fig = Figure(figsize=(10.5, 3.8), layout="constrained")
    axes = fig.subplots(1, 2)
    mesh = None
    for ax, kind in zip(axes, KINDS):
        c = curve.sel(kind=kind).dropna("layer", how="all").dropna("lag", how="all")
        layers = c["layer"].values
        mesh = ax.pcolormesh(_log_edges(c["lag"].values), np.append(layers - 0.5, layers[-1] + 0.5), c.values,
                             vmin=0.0, vmax=1.0, cmap="viridis", shading="flat")
        ax.set_xscale("log")
        ax.set_yticks(layers)
        ax.set_xlabel("t - t_w (MC steps)")
        ax.set_ylabel("layer l")
        ax.set_title(KINDS[kind], fontsize=9)
    fig.colorbar(mesh, ax=list(axes), label="replica overlap (mean over samples, pairs)")
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


def plot_tau_vs_parameter(ds: xr.Dataset, path: str | Path, x: str, name: str = "tau", title: str = "") -> Path:
    """A time against a parameter (dimension or coordinate ``x`` of ``ds``: tw, or N over sweep points), one line
    per layer, neurons and weights side by side; log-log."""
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    axes = fig.subplots(1, 2)
    dim = ds[x].dims[0]
    order = np.argsort(ds[x].values)
    ds = ds.isel({dim: order})
    for ax, kind in zip(axes, KINDS):
        sel = ds.sel(kind=kind)
        layers = [l for l in sel["layer"].values if (sel[f"{name}_flag"].sel(layer=l) >= 0).any()]
        colors = colormaps["plasma"](np.linspace(0, 0.85, max(1, len(layers))))
        for layer, color in zip(layers, colors):
            _draw_times(ax, np.asarray(ds[x].values, float), sel.sel(layer=layer), name, color, f"l = {int(layer)}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(x)
        ax.set_ylabel(f"{TIME_LABELS[name]} (MC steps)")
        ax.set_title(KINDS[kind], fontsize=9)
        ax.legend(fontsize=6, ncol=2)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


def plot_violations(ds: xr.Dataset, path: str | Path, series: str | None, labels: list[str]) -> Path:
    """Violated gaps per sample (mean, standard error) against MC time, one line per series entry."""
    fig = Figure(figsize=(6.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    entries = [None] if series is None else list(ds[series].values)
    colors = colormaps["viridis"](np.linspace(0, 0.85, len(entries)))
    for entry, color, label in zip(entries, colors, labels):
        sel = ds if entry is None else ds.sel({series: entry})
        y = sel["violations_mean"].dropna("time")
        keep = y.values > 0
        ax.plot(y["time"].values[keep], y.values[keep], ".-", color=color, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("MC time t")
    ax.set_ylabel("violated gaps per sample (zeros not shown)")
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def draw_dynamics(ds: xr.Dataset, out: str | Path, labels: list[str]) -> list[Path]:
    """Every dynamics figure that applies (experiments.dynamics.open_dynamics of a run, a sweep or several) into
    ``out``, with one label per point (experiments.dynamics.point_labels); returns the paths."""
    out = Path(out)
    written = []
    if "point" not in ds.dims:
        written.append(plot_tau_vs_layer(ds, out / "tau_vs_layer.png", "tw",
                                         [f"t_w = {int(t)}" for t in ds["tw"].values], title=labels[0]))
        if ds.sizes["tw"] > 1:
            written.append(plot_tau_vs_parameter(ds, out / "tau_vs_tw.png", "tw", title=labels[0] + ": aging"))
        for tw in ds["tw"].values:
            curve = ds["curve"].sel(tw=tw)
            written.append(plot_decay_curves(curve, out / f"decay_curves_tw{int(tw)}.png", f"{labels[0]}, t_w = {int(tw)}"))
            written.append(plot_overlap_heatmaps(curve, out / f"overlap_heatmaps_tw{int(tw)}.png",
                                                 f"{labels[0]}, t_w = {int(tw)}"))
        written.append(plot_violations(ds, out / "violations.png", None, labels))
        return written
    for tw in ds["tw"].values:
        sel = ds.sel(tw=tw)
        written.append(plot_tau_vs_layer(sel, out / f"tau_vs_layer_tw{int(tw)}.png", "point", labels,
                                         title=f"t_w = {int(tw)}"))
        for i, label in enumerate(labels):
            curve = sel["curve"].isel(point=i)
            if curve.notnull().any():
                stem = f"{i:02d}_{ds['point_hash'].values[i]}_tw{int(tw)}"
                written.append(plot_decay_curves(curve, out / f"decay_curves_{stem}.png", f"{label}, t_w = {int(tw)}"))
                written.append(plot_overlap_heatmaps(curve, out / f"overlap_heatmaps_{stem}.png",
                                                     f"{label}, t_w = {int(tw)}"))
        groups = {}
        for i in range(ds.sizes["point"]):  # finite width: tau vs N at fixed (L, alpha, dynamics)
            key = (int(ds["L_point"][i]), float(ds["alpha_point"][i]), str(ds["dynamics"].values[i]))
            groups.setdefault(key, []).append(i)
        for (L, alpha, dyn), members in groups.items():
            Ns = {int(ds["N_point"][i]) for i in members}
            if len(Ns) > 1:
                part = sel.isel(point=members).assign_coords(N=("point", ds["N_point"].values[members]))
                name = f"tau_vs_N_L{L}_alpha{alpha:g}_tw{int(tw)}.png"
                written.append(plot_tau_vs_parameter(part, out / name, "N", title=f"L = {L}, alpha = {alpha:g}, "
                                                     f"{dyn}, t_w = {int(tw)}: finite width"))
    written.append(plot_violations(ds, out / "violations.png", "point", labels))
    return written


__all__ = ["draw_dynamics", "plot_decay_curves", "plot_overlap_heatmaps", "plot_tau_vs_layer", "plot_tau_vs_parameter",
           "plot_violations"]
