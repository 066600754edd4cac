"""Figures of `deepglass reproduce` (its panels; docs/experiments.md "Reproduce").

Each function draws one panel of the picture of the original study (MODEL.md section 1) from the panel's
cached Dataset (deepglass.experiments.reproduce), writes one PNG atomically and returns its path.
Plain ``matplotlib.figure.Figure`` objects (no pyplot state): safe headless and in threads.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from ..atomic import atomic_path
from .simulation import _log_edges

DPI = 110


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write a PNG atomically (a reader never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=DPI, format="png")
    return path


def _attr_list(ds: xr.Dataset, name: str) -> list:
    return json.loads(ds.attrs[name]) if name in ds.attrs else []


# ---------------------------------------------------------------------- (i) transitions

def plot_transitions(ds: xr.Dataset, path: str | Path) -> Path:
    """alpha (log) vs weight layer: frozen (glass) region above alpha_g(l), shaded from both boundaries,
    the transition points and the fits log alpha_g(l) = a + l/xi (dashed) and a + b log l (dotted) drawn from
    each boundary."""
    a_g = ds["alpha_g"].values
    layers = ds["weight_layer"].values
    L = int(ds.attrs["L"])
    alpha_max = float(ds.attrs["alpha_max"])
    finite = np.isfinite(a_g) & (a_g > 0)
    a_lo = 0.5 * float(a_g[finite].min()) if finite.any() else alpha_max / 100
    fig = Figure(figsize=(9.5, 4.6), layout="constrained")
    ax = fig.add_subplot()
    for l, a in zip(layers, a_g):
        top = min(a, alpha_max) if np.isfinite(a) else alpha_max
        ax.fill_between([l - 0.5, l + 0.5], a_lo, top, color="#cfe3f5", lw=0)
        if np.isfinite(a):
            ax.fill_between([l - 0.5, l + 0.5], top, alpha_max, color="#f6c89a", lw=0)
    ax.plot(layers[finite], a_g[finite], "ko", ms=5, label=r"$\alpha_g(l)$ (RS stability of the liquid)")
    xi = float(ds.attrs["xi"])
    if np.isfinite(xi) and xi > 0:
        ll = np.linspace(1, (L + 1) / 2, 100)
        fit = np.exp(float(ds.attrs["fit_intercept"]) + ll / xi)
        ax.plot(ll, fit, "k--", lw=1, label=rf"fit $\alpha_g \propto e^{{l/\xi}}$, $\xi$ = {xi:.3f}")
        ax.plot(L + 1 - ll, fit, "k--", lw=1)
    b = float(ds.attrs.get("power_exponent", np.nan))
    if np.isfinite(b):
        ll = np.linspace(1, (L + 1) / 2, 100)
        fit = np.exp(float(ds.attrs["power_intercept"]) + b * np.log(ll))
        ax.plot(ll, fit, "k:", lw=1.2, label=rf"fit $\alpha_g \propto l^b$, $b$ = {b:.2f}")
        ax.plot(L + 1 - ll, fit, "k:", lw=1.2)
    if float(ds.attrs["kappa"]) == 0.0:
        ax.axhline(np.pi ** 2 / 4, color="grey", lw=0.6, ls=":", label=r"$\pi^2/4$ (exact $\alpha_g(1)$)")
    ax.set_yscale("log")
    ax.set_ylim(a_lo, alpha_max)
    ax.set_xlim(0.5, L + 0.5)
    ax.set_xticks(layers if L <= 20 else layers[::2])
    ax.set_xlabel("weight layer l (1 = next to the input, L = next to the output)")
    ax.set_ylabel(r"load $\alpha = M/N$")
    ax.set_title(f"random data, kappa = {float(ds.attrs['kappa']):g}, L = {L}: liquid (blue) / glass (orange)",
                 fontsize=9)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return save_figure(fig, path)


# ---------------------------------------------------------------------- (ii) profiles

def plot_profiles(ds: xr.Dataset, path: str | Path) -> Path:
    """Q_l (solid) and q_l (dashed) vs layer at several loads, one panel per data scenario."""
    scenarios = [str(s) for s in ds["scenario"].values]
    fig = Figure(figsize=(5.4 * len(scenarios), 4.4), layout="constrained")
    axes = fig.subplots(1, len(scenarios), squeeze=False)[0]
    alphas = ds["alpha"].values
    colors = colormaps["viridis"](np.linspace(0, 0.9, len(alphas)))
    layer = ds["layer"].values
    for ax, scenario in zip(axes, scenarios):
        sub = ds.sel(scenario=scenario)
        for a, col in zip(alphas, colors):
            sol = sub.sel(alpha=a)
            ax.plot(layer[1:], sol["Q"].values[1:], "-o", color=col, ms=3, label=rf"$\alpha$ = {a:g}")
            ax.plot(layer, sol["q"].values, "--", color=col, lw=1)
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel("layer l")
        ax.set_ylabel(r"$Q_l$ (solid, weights), $q_l$ (dashed, neurons)")
        kind = "glass (n -> 0)" if scenario == "random" else "crystal, Nishimori line (n -> 1)"
        ax.set_title(f"{scenario}: {kind}, RS, L = {int(ds.attrs['L'])}", fontsize=9)
        ax.legend(fontsize=7)
    return save_figure(fig, path)


# ---------------------------------------------------------------------- (iii) q(x, l)

def plot_parisi_functions(ds: xr.Dataset, path: str | Path) -> Path:
    """q(x, l) and Q(x, l) (step functions of the Parisi variable x) at the boundary and deeper layers."""
    layers = _attr_list(ds, "shown_layers")
    x = ds["x"].values
    fig = Figure(figsize=(10.4, 4.3), layout="constrained")
    axes = fig.subplots(1, 2)
    colors = colormaps["plasma"](np.linspace(0, 0.8, max(len(layers), 1)))
    for ax, name, label in zip(axes, ("q_x", "Q_x"), ("neuron overlap q(x, l)", "weight overlap Q(x, l)")):
        for l, col in zip(layers, colors):
            ax.plot(x, ds[name].sel(layer=l).values, color=col, drawstyle="steps-post", lw=1.6, label=f"layer {l}")
        ax.set_xlabel("Parisi variable x")
        ax.set_ylabel(label)
        ax.set_ylim(-0.03, 1.03)
        ax.legend(fontsize=8)
    a = ds.attrs
    what = f"{a['steps']}-RSB" if a["ansatz"] == "krsb" else "full RSB"
    fig.suptitle(f"{what}, random data, L = {a['L']}, alpha = {a['alpha']:g}: hierarchical (several levels) at the "
                 "boundary, simpler deeper in", fontsize=9)
    return save_figure(fig, path)


# ---------------------------------------------------------------------- (iv) MC overlap dynamics

def plot_overlap_maps(ds: xr.Dataset, path: str | Path, var: str = "q") -> Path:
    """One heatmap per N of the replica overlap (layer x log(t - t_w)); a shared colour scale."""
    Ns = [int(n) for n in ds["N"].values]
    fig = Figure(figsize=(4.3 * len(Ns) + 1.2, 4.0), layout="constrained")
    axes = fig.subplots(1, len(Ns), squeeze=False)[0]
    values = ds[var]
    vmin = min(0.0, float(np.nanmin(values.values))) if np.isfinite(values.values).any() else 0.0
    mesh = None
    for ax, N in zip(axes, Ns):
        q = values.sel(N=N).dropna("lag", how="all").dropna("layer", how="all")
        layers = q["layer"].values
        lag = q["lag"].values
        mesh = ax.pcolormesh(_log_edges(lag), np.append(layers - 0.5, layers[-1] + 0.5), q.values, vmin=vmin,
                             vmax=1.0, cmap="viridis", shading="flat")
        ax.set_xscale("log")
        ax.set_yticks(layers)
        ax.set_xlabel("t - t_w (MC steps)")
        ax.set_title(f"N = {N}", fontsize=9)
    axes[0].set_ylabel("layer l (0 = input, L = output)")
    name = "neuron overlap q_l" if var == "q" else "weight overlap Q_l"
    fig.colorbar(mesh, ax=list(axes), label=f"replica {name} (mean over samples, pairs)")
    a = ds.attrs
    moves = f"thermal beta = {a['beta']:g}" if "beta" in a else "greedy"
    fig.suptitle(f"random data, learning, {moves}: L = {a['L']}, alpha = {a['alpha']:g}, R = {a['R']} replicas made at "
                 f"t_w = {a['tw']}, {a['n_samples']} samples", fontsize=9)
    return save_figure(fig, path)


# ---------------------------------------------------------------------- (v) generalization

def plot_generalization(ds: xr.Dataset, path: str | Path) -> Path:
    """The deep student: m_L vs N per (depth, alpha), equilibrated points as results and the others as grey
    crosses (not results), theory N -> inf as dashed lines; eps_g vs alpha per depth with equilibrated MC points."""
    fig = Figure(figsize=(11, 4.4), layout="constrained")
    ax_n, ax_a = fig.subplots(1, 2)
    depths, alphas, Ns = ds["depth"].values, ds["alpha"].values, ds["N"].values
    colors = colormaps["viridis"](np.linspace(0, 0.85, len(alphas)))
    markers = "osD^v<>"
    excluded_drawn = False
    for d, (L, m) in enumerate(zip(depths, markers)):
        shift = (d - (len(depths) - 1) / 2) * 0.15
        for a, col in zip(alphas, colors):
            pick = ds.sel(depth=L, alpha=a)
            y, err, ok = pick["sim_m"].values, pick["sim_m_sem"].values, pick["equilibrated"].values == 1
            ax_n.errorbar(Ns[ok] + shift, y[ok], yerr=np.nan_to_num(err[ok]), fmt=m, color=col, capsize=3,
                          label=rf"L = {int(L)}, $\alpha$ = {a:g}")
            bad = ~ok & np.isfinite(y)
            if bad.any():
                ax_n.plot(Ns[bad] + shift, y[bad], "x", color="0.55", ms=6,
                          label=None if excluded_drawn else "NOT equilibrated: not a result")
                excluded_drawn = True
            ax_n.axhline(float(pick["theory_m"]), color=col, ls="--", lw=0.8)
    ax_n.set_xlabel("N (dashed: Bayes-optimal chain theory, N -> inf)")
    ax_n.set_ylabel("generalization overlap $m_L$ (fresh inputs)")
    ax_n.set_xticks(Ns)
    ax_n.legend(fontsize=6, ncol=2)
    grid = ds["alpha_grid"].values
    for d, (L, m) in enumerate(zip(depths, markers)):
        line = ax_a.plot(grid, ds["theory_eps_g_grid"].sel(depth=L).values, "-", label=f"theory L = {int(L)}")
        for N in Ns:
            pick = ds.sel(depth=L, N=N)
            ok = pick["equilibrated"].values == 1
            if ok.any():
                ax_a.errorbar(alphas[ok], pick["sim_eps_g"].values[ok], yerr=np.nan_to_num(pick["sim_eps_g_sem"].values[ok]),
                              fmt=m, color=line[0].get_color(), alpha=0.4 + 0.6 * (N / Ns.max()), capsize=2,
                              label=f"MC L = {int(L)}, N = {int(N)}")
    ax_a.set_xscale("log")
    ax_a.set_xticks(alphas, [f"{a:g}" for a in alphas])
    ax_a.xaxis.set_minor_formatter(NullFormatter())
    ax_a.set_xlabel(r"load $\alpha$")
    ax_a.set_ylabel(r"$\varepsilon_g$")
    ax_a.legend(fontsize=6, loc="lower left")
    a = ds.attrs
    fig.suptitle(f"deep student, planted, design-space sampler (the theory's ensemble): t_max = {a['t_max']}, "
                 f"{a['n_samples']} samples per point (errors: standard error over samples)", fontsize=9)
    return save_figure(fig, path)


__all__ = ["plot_generalization", "plot_overlap_maps", "plot_parisi_functions", "plot_profiles",
           "plot_transitions", "save_figure"]
