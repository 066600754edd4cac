"""Ultrametricity from simulation: replica overlap triangles and dendrograms per layer (R >= 3 guests).

An ultrametric set of overlaps has, in every triangle of replicas, its two smallest overlaps equal
(q_mid = q_min): the replicas sit on the leaves of a tree. At finite N two overlaps that are equal in the
limit differ by the overlap noise, about 1/sqrt(N M) for neurons (1/sqrt(N c) for weights), so a triangle
counts as ultrametric when q_mid - q_min <= z * noise. docs/experiments.md "Ultrametricity".
"""
from __future__ import annotations

import json
from typing import NamedTuple

import numpy as np
import xarray as xr
from scipy import stats
from scipy.cluster import hierarchy
from scipy.spatial.distance import squareform

from .. import observables as obs
from ..errors import ConfigError
from ..theory.problem import central_layers

PAIR_VARS = ("q_replica", "Q_replica")


def _config(run: xr.Dataset) -> dict:
    return json.loads(run.attrs["config_json"])


def _replica_count(run: xr.Dataset) -> int:
    return int(run["pair_b"].values.max()) + 1 if "pair_b" in run.coords else 0


def noise_scale(run: xr.Dataset, var: str = "q_replica") -> float:
    """Finite-size noise of one overlap: 1/sqrt(N M) for neurons, 1/sqrt(N c) for weights."""
    cfg = _config(run)
    N = cfg["network"]["N"]
    if var == "q_replica":
        return 1.0 / np.sqrt(N * int(run.attrs["n_patterns"]))
    return 1.0 / np.sqrt(N * (cfg["network"]["c"] or N))


def _select(run: xr.Dataset, var: str, tw, time) -> tuple[xr.DataArray, int, int]:
    """The pair overlaps (sample, pair, layer) of one waiting time at one time (default: first t_w, last time)."""
    if var not in PAIR_VARS:
        raise ConfigError("var", var, f"one of {', '.join(PAIR_VARS)}")
    R = _replica_count(run)
    if var not in run or R < 3:
        raise ConfigError("replicas.R", R, "an integer >= 3: ultrametricity needs triangles of guest replicas")
    tws = [int(t) for t in run["tw"].values]
    tw = tws[0] if tw is None else tw
    if tw not in tws:
        raise ConfigError("tw", tw, f"one of the run's waiting times {tws}")
    times = [int(t) for t in run["time"].values]
    time = times[-1] if time is None else time
    if time not in times or time < tw:
        raise ConfigError("time", time, f"a measured time >= t_w = {tw} (last: {times[-1]})")
    return run[var].sel(tw=tw, time=time).transpose("sample", "pair", "layer"), int(tw), int(time)


def triangle_statistics(triangles: np.ndarray, tol: float, edges: np.ndarray,
                        ratio_edges: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Statistics of sorted triangles (n_triangles, K, 3) per column K (a layer).

    fraction_ultrametric: q_mid - q_min <= tol; fraction_equilateral: q_max - q_min <= tol (trivially
    ultrametric, e.g. identical replicas); violation: mean (q_mid - q_min)/(q_max - q_min)
    (observables.ultrametricity_violation); ks_statistic / ks_pvalue: two-sample Kolmogorov-Smirnov between
    the spacings q_mid - q_min and q_max - q_mid (equal laws for exchangeable unrelated sides; far apart
    for ultrametric ones); hist_low / hist_high: normalised histograms of the two spacings on ``edges``;
    hist_ratio: of (q_mid - q_min)/(q_max - q_min) over the non-equilateral triangles.
    """
    triangles = np.asarray(triangles, dtype=float)
    ratio_edges = np.linspace(0.0, 1.0, 11) if ratio_edges is None else ratio_edges
    low, high = obs.triangle_spacings(triangles)          # (n, K)
    span = low + high
    K = triangles.shape[1]
    out = {
        "n_triangles": np.full(K, triangles.shape[0]),
        "fraction_ultrametric": obs.ultrametric_fraction(triangles, tol),
        "fraction_equilateral": np.mean(span <= tol, axis=0),
        "violation": obs.ultrametricity_violation(triangles),
        "ks_statistic": np.full(K, np.nan), "ks_pvalue": np.full(K, np.nan),
        "hist_low": np.zeros((K, len(edges) - 1)), "hist_high": np.zeros((K, len(edges) - 1)),
        "hist_ratio": np.zeros((K, len(ratio_edges) - 1)),
    }
    for k in range(K):
        if triangles.shape[0] >= 1 and np.ptp(np.concatenate([low[:, k], high[:, k]])) > 0:
            test = stats.ks_2samp(low[:, k], high[:, k])
            out["ks_statistic"][k], out["ks_pvalue"][k] = test.statistic, test.pvalue
        out["hist_low"][k] = np.histogram(low[:, k], edges)[0] / max(len(low), 1)
        out["hist_high"][k] = np.histogram(high[:, k], edges)[0] / max(len(high), 1)
        open_ = span[:, k] > tol
        if open_.any():
            out["hist_ratio"][k] = np.histogram(low[open_, k] / span[open_, k], ratio_edges)[0] / open_.sum()
    return out


def ultrametricity(run: xr.Dataset, tw: int | None = None, time: int | None = None, *, var: str = "q_replica",
                   z: float = 2.0, tol: float | None = None, bins: int = 20) -> xr.Dataset:
    """Per hidden layer: triangle statistics of the replica overlaps (triangle_statistics), pooled over samples
    and triangles, at one waiting time and time (default: first t_w, last time), plus a boundary (layers 1 and
    L-1) vs centre (central layer(s)) summary over dim ``region``.

    tol defaults to z times the overlap noise (noise_scale). Uses the stored ``q_triangle`` for neurons and
    builds the triangles from ``Q_replica`` for weights.
    """
    pairs, tw, time = _select(run, var, tw, time)
    if not np.isfinite(z) or z <= 0:
        raise ConfigError("z", z, "a finite number > 0 (tolerance in units of the overlap noise)")
    L = int(run["layer"].values.max())
    layers = np.arange(1, L)  # hidden layers: q_0 = q_L = 1 (shared data) and Q has no layer 0
    if len(layers) == 0:
        raise ConfigError("network.L", L, "an integer >= 2: ultrametricity is measured on hidden layers")
    noise = noise_scale(run, var)
    tol = z * noise if tol is None else float(tol)
    R = _replica_count(run)
    if var == "q_replica" and "q_triangle" in run:
        tri = run["q_triangle"].sel(tw=tw, time=time).transpose("sample", "triangle", "layer", "side").values
    else:
        tri = obs.overlap_triangles(pairs.values, R)     # (sample, n_tri, layer, 3)
    tri = tri[:, :, layers, :].reshape(-1, len(layers), 3)
    low, high = obs.triangle_spacings(tri)
    top = max(float(np.nanmax(np.concatenate([low.ravel(), high.ravel()]))), 2 * tol, 1e-12)
    edges = np.linspace(0.0, top, bins + 1)
    ratio_edges = np.linspace(0.0, 1.0, 11)
    st = triangle_statistics(tri, tol, edges, ratio_edges)
    per_layer = ("n_triangles", "fraction_ultrametric", "fraction_equilateral", "violation", "ks_statistic",
                 "ks_pvalue")
    data = {name: ("layer", st[name]) for name in per_layer}
    data |= {"hist_low": (("layer", "bin"), st["hist_low"]), "hist_high": (("layer", "bin"), st["hist_high"]),
             "hist_ratio": (("layer", "ratio_bin"), st["hist_ratio"]),
             "bin_edges": ("edge", edges), "ratio_edges": ("ratio_edge", ratio_edges)}
    ds = xr.Dataset(data, coords={"layer": layers, "bin": 0.5 * (edges[1:] + edges[:-1]),
                                  "ratio_bin": 0.5 * (ratio_edges[1:] + ratio_edges[:-1])})
    boundary = sorted({1, L - 1})
    centre = list(central_layers(L))
    regions = {"boundary": boundary, "centre": centre}
    for name in ("fraction_ultrametric", "fraction_equilateral", "violation", "ks_statistic"):
        ds[f"region_{name}"] = ("region", [float(ds[name].sel(layer=ls).mean()) for ls in regions.values()])
    ds = ds.assign_coords(region=list(regions))
    ds.attrs = {"var": var, "tw": tw, "time": time, "tol": tol, "z": float(z), "noise": noise, "R": R, "L": L,
                "N": _config(run)["network"]["N"], "n_patterns": int(run.attrs["n_patterns"]),
                "boundary_layers": boundary, "centre_layers": centre,
                "scenario": run.attrs.get("scenario", ""), "protocol": run.attrs.get("protocol", "")}
    return ds


class Dendrogram(NamedTuple):
    linkage: np.ndarray        # scipy linkage matrix (R-1, 4), average linkage on d_ab = 1 - q_ab
    cophenetic: float          # correlation of tree (cophenetic) distances with d_ab; 1 for ultrametric d


def dendrogram_from_overlaps(q: np.ndarray) -> Dendrogram:
    """Average-linkage tree of R replicas from their overlap matrix (R, R), distances 1 - q_ab."""
    q = np.asarray(q, dtype=float)
    d = np.clip(1.0 - q, 0.0, None)
    np.fill_diagonal(d, 0.0)
    condensed = squareform(0.5 * (d + d.T), checks=False)
    Z = hierarchy.linkage(condensed, method="average")
    with np.errstate(invalid="ignore", divide="ignore"):
        coph = float(hierarchy.cophenet(Z, condensed)[0]) if np.ptp(condensed) > 0 else np.nan
    return Dendrogram(Z, coph)


def replica_dendrogram(run: xr.Dataset, layer: int, sample: int = 0, tw: int | None = None,
                       var: str = "q_replica", time: int | None = None) -> Dendrogram:
    """Dendrogram of the R guests of one sample at one layer (default: first t_w, last time)."""
    pairs, _, _ = _select(run, var, tw, time)
    if layer not in pairs["layer"].values or not np.all(np.isfinite(pairs.sel(layer=layer).values)):
        raise ConfigError("layer", layer, "a layer with finite overlaps (0..L for q, 1..L for Q)")
    if not 0 <= sample < pairs.sizes["sample"]:
        raise ConfigError("sample", sample, f"an integer 0 <= sample < {pairs.sizes['sample']}")
    q = obs.overlap_matrix(pairs.sel(layer=layer).isel(sample=sample).values, _replica_count(run))
    return dendrogram_from_overlaps(q)


__all__ = ["Dendrogram", "dendrogram_from_overlaps", "noise_scale", "replica_dendrogram", "triangle_statistics",
           "ultrametricity"]
