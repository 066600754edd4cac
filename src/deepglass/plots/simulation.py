"""Figures of a Monte Carlo run: each function takes the run Dataset (``deepglass.open_run``), writes one
PNG and returns the numbers it drew (so tests can check the figure shows the right thing).

Uses ``matplotlib.figure.Figure`` directly (no pyplot state, Agg canvas): safe in threads and headless.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure


def _title(run: xr.Dataset) -> str:
    cfg = json.loads(run.attrs["config_json"])
    net, data = cfg["network"], cfg["data"]
    return (f"{data['scenario']}, {cfg['run']['protocol']}: N={net['N']} L={net['L']} "
            f"alpha={data['alpha']:g} ({cfg['run']['n_samples']} samples, seed {cfg['seed']})")


def _log_edges(x: np.ndarray) -> np.ndarray:
    """Cell edges for positive, increasing centres x on a log axis (geometric midpoints)."""
    lx = np.log10(x.astype(float))
    if lx.size == 1:
        return 10 ** np.array([lx[0] - 0.5, lx[0] + 0.5])
    mid = (lx[1:] + lx[:-1]) / 2
    return 10 ** np.concatenate([[lx[0] - (mid[0] - lx[0])], mid, [lx[-1] + (lx[-1] - mid[-1])]])


def _waiting_time(run: xr.Dataset, tw: int | None) -> int:
    """The given waiting time, or by default the first one."""
    return int(run["tw"].values.min()) if tw is None else int(tw)


OVERLAP_LABELS = {"q_replica": "neuron overlap q_l", "Q_replica": "weight overlap Q_l"}


def replica_overlap_map(run: xr.Dataset, tw: int | None = None, var: str = "q_replica") -> xr.DataArray:
    """q_l (var="q_replica") or Q_l ("Q_replica") at t - t_w, averaged over samples and replica pairs:
    dims (layer, lag), lag = t - t_w > 0. Layers where the overlap is undefined (Q at l = 0) are dropped."""
    if var not in run:
        raise ValueError(f"the run has no replica overlaps {var} (needs replicas.R >= 2)")
    tw = _waiting_time(run, tw)
    q = run[var].sel(tw=tw)
    q = q.sel(time=q["time"] > tw).mean(["sample", "pair"])
    q = q.sel(layer=q.notnull().any("time"))
    lag = q["time"].values - tw
    return q.assign_coords(lag=("time", lag)).swap_dims(time="lag").drop_vars("time").transpose("layer", "lag")


def plot_replica_overlap_heatmap(run: xr.Dataset, path: str | Path, tw: int | None = None,
                                 var: str = "q_replica") -> xr.DataArray:
    """Heatmap of the replica overlap q_l (or Q_l) over layer (y) and log time since t_w (x)."""
    q = replica_overlap_map(run, tw, var)
    tw = _waiting_time(run, tw)
    layers = q["layer"].values
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.add_subplot()
    mesh = ax.pcolormesh(_log_edges(q["lag"].values), np.append(layers - 0.5, layers[-1] + 0.5), q.values,
                         vmin=min(0.0, float(np.nanmin(q.values))), vmax=1.0, cmap="viridis", shading="flat")
    ax.set_xscale("log")
    ax.set_xlabel(f"MC time since the replicas were made, t - t_w (t_w = {tw})")
    ax.set_ylabel("layer l (0 = input, L = output)")
    ax.set_yticks(layers)
    ax.set_title(_title(run), fontsize=9)
    fig.colorbar(mesh, ax=ax, label=f"replica {OVERLAP_LABELS[var]} (mean over samples, pairs)")
    fig.savefig(path, dpi=110)
    return q


def teacher_profile(run: xr.Dataset) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """At the last measured time: name -> (layers, mean over samples, standard error over samples)."""
    last = run.isel(time=-1)
    out = {}
    for name in ("teacher_q", "teacher_Q", "test_overlap"):
        if name not in last:
            continue
        var = last[name]
        n = var.notnull().sum("sample")
        mean = var.mean("sample", skipna=True)
        sem = var.std("sample", ddof=1, skipna=True) / np.sqrt(n) if var.sizes["sample"] > 1 else mean * np.nan
        keep = n.values > 0
        out[name] = (var["layer"].values[keep], mean.values[keep], sem.values[keep])
    return out


def plot_teacher_profile(run: xr.Dataset, path: str | Path) -> dict:
    """Student-teacher overlaps vs layer at the final time, with sample standard errors."""
    profile = teacher_profile(run)
    if not profile:
        raise ValueError("the run has no teacher (teacher-student or hidden-manifold data)")
    labels = {"teacher_q": "neurons on the training set, q_l", "teacher_Q": "weights, Q_l",
              "test_overlap": "neurons on fresh test inputs (l = L: generalization)"}
    fig = Figure(figsize=(6.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for (name, (layers, mean, sem)), marker in zip(profile.items(), "osD"):
        ax.errorbar(layers, mean, yerr=np.nan_to_num(sem), marker=marker, capsize=3, label=labels[name])
    ax.set_xlabel("layer l")
    ax.set_ylabel("student-teacher overlap")
    ax.set_title(f"t = {int(run['time'][-1])}; " + _title(run), fontsize=9)
    ax.axhline(0, color="grey", lw=0.5)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)
    return profile


def plot_energy(run: xr.Dataset, path: str | Path) -> xr.Dataset:
    """Host energy and number of violated gaps (means over samples) vs MC time, log-log."""
    curves = run[["energy", "violations"]].mean("sample")
    fig = Figure(figsize=(6.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    t = run["time"].values
    positive = any((curves[name].values > 0).any() for name in ("energy", "violations"))
    for name in ("energy", "violations"):
        y = curves[name].values.astype(float)
        keep = y > 0 if positive else np.ones_like(y, dtype=bool)  # a planted greedy run stays at exactly 0
        ax.plot(t[keep], y[keep], marker=".", label=f"{name} (mean over samples)")
    ax.set_xscale("log")
    if positive:
        ax.set_yscale("log")
    ax.set_xlabel("MC time t")
    note = "zero values not shown on the log axis" if positive else "every sample stays inside the design space"
    ax.set_title(_title(run) + f"\n({note})", fontsize=9)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)
    return curves


def plot_run(run: xr.Dataset, outdir: str | Path) -> list[Path]:
    """Every figure that applies to the run, written into ``outdir``; returns their paths."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    if "time" not in run.dims or run.sizes["time"] == 0:
        return written
    plot_energy(run, outdir / "energy.png")
    written.append(outdir / "energy.png")
    for var, stem in (("q_replica", "replica_overlap"), ("Q_replica", "replica_weight_overlap")):
        if var in run:
            for tw in run["tw"].values:
                path = outdir / f"{stem}_tw{int(tw)}.png"
                plot_replica_overlap_heatmap(run, path, tw=int(tw), var=var)
                written.append(path)
    if any(name in run for name in ("teacher_q", "teacher_Q", "test_overlap")):
        plot_teacher_profile(run, outdir / "teacher_overlap_profile.png")
        written.append(outdir / "teacher_overlap_profile.png")
    return written
