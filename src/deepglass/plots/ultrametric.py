"""Figures of ultrametricity from simulation: triangle spacing histograms (boundary vs centre) and replica
dendrograms, drawn from what deepglass.experiments.ultrametric computed."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from scipy.cluster import hierarchy


def plot_triangles(stats: xr.Dataset, path: str | Path) -> Path:
    """Histograms of q_mid - q_min (ultrametric: 0) and q_max - q_mid, boundary layer(s) vs centre."""
    regions = {"boundary": stats.attrs["boundary_layers"], "centre": stats.attrs["centre_layers"]}
    edges = stats["bin_edges"].values
    width = np.diff(edges)
    fig = Figure(figsize=(10, 4.0), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, (region, layers) in zip(axes, regions.items()):
        layers = [l for l in np.atleast_1d(layers) if l in stats["layer"].values]
        low = stats["hist_low"].sel(layer=layers).mean("layer").values
        high = stats["hist_high"].sel(layer=layers).mean("layer").values
        ax.bar(edges[:-1], low, width, align="edge", alpha=0.6, label="q_mid - q_min")
        ax.bar(edges[:-1], high, width, align="edge", alpha=0.4, label="q_max - q_mid")
        ax.axvline(stats.attrs["tol"], color="k", ls=":", label=f"tolerance {stats.attrs['tol']:.3g}")
        frac = float(stats[f"region_fraction_ultrametric"].sel(region=region))
        eq = float(stats[f"region_fraction_equilateral"].sel(region=region))
        ax.set_title(f"{region} (layers {', '.join(map(str, layers))}): ultrametric {frac:.2f}, "
                     f"equilateral {eq:.2f}", fontsize=9)
        ax.set_xlabel("triangle spacing")
        ax.set_ylabel("fraction of triangles")
        ax.legend(fontsize=7)
    a = stats.attrs
    fig.suptitle(f"{a['var']} triangles, {a['scenario']} {a['protocol']}: N = {a['N']}, L = {a['L']}, R = {a['R']}, "
                 f"t_w = {a['tw']}, t = {a['time']} (tolerance = {a['z']:g} x overlap noise {a['noise']:.3g})",
                 fontsize=9)
    fig.savefig(path, dpi=110)
    return Path(path)


def plot_dendrograms(trees: dict, path: str | Path, sample: int = 0, var: str = "q_replica") -> Path:
    """Average-linkage dendrograms (distance 1 - q_ab) of the guests of one sample, one panel per layer.

    trees: layer -> a tree with ``linkage`` and ``cophenetic`` (experiments.ultrametric.replica_dendrogram).
    """
    fig = Figure(figsize=(4.5 * len(trees), 3.8), layout="constrained")
    axes = fig.subplots(1, len(trees), squeeze=False)[0]
    for ax, (layer, tree) in zip(axes, trees.items()):
        hierarchy.dendrogram(tree.linkage, ax=ax, labels=[f"r{a}" for a in range(len(tree.linkage) + 1)],
                             color_threshold=0)
        ax.set_title(f"layer {layer}: cophenetic correlation {tree.cophenetic:.3f}", fontsize=9)
        ax.set_ylabel("1 - q_ab")
    fig.suptitle(f"replica dendrograms ({var}, sample {sample}, last time)", fontsize=9)
    fig.savefig(path, dpi=110)
    return Path(path)


def plot_ultrametric(stats: xr.Dataset, out_dir: str | Path, trees: dict | None = None) -> list[Path]:
    """The triangle histograms of an ``ultrametricity`` Dataset and, given trees (layer -> dendrogram), the
    dendrograms. Returns the written paths. Figures draw what they are given: computing is experiments'."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [plot_triangles(stats, out_dir / "ultrametric_triangles.png")]
    if trees:
        paths.append(plot_dendrograms(trees, out_dir / "ultrametric_dendrograms.png", var=stats.attrs["var"]))
    return paths


__all__ = ["plot_dendrograms", "plot_triangles", "plot_ultrametric"]
