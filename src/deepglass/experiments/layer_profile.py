"""Which layers are solid and which liquid: the layer profile of a run's replica overlaps (MODEL.md section 3).

Rule (stated with every result): guests copied from the host at t_w evolve with independent noise; the
overlap between two guests, q_l(t, t_w) for neurons and Q_l(t, t_w) for weights, starts at 1 and decays. A
layer whose sample- and pair-averaged overlap at the last measured time still exceeds 1/e is called solid
(its plateau lies above 1/e), else liquid. The input and output layers are the data (q = 1): not classified.
The verdict is only as good as the time window: an overlap still decaying at the end of the run may cross 1/e
later (`decay` reports q at the last time over q a decade earlier in t - t_w, 1 on a plateau).
"""
from __future__ import annotations

import json

import numpy as np
import xarray as xr

from ..errors import ConfigError

SOLID_THRESHOLD = float(np.exp(-1.0))
RULE = "solid iff the guest-guest overlap at the last time, averaged over samples and pairs, exceeds 1/e"


def _waiting_time(run: xr.Dataset, tw: int | None) -> int:
    if "q_replica" not in run:
        raise ConfigError("run", "R < 2", "a run with replicas.R >= 2 (guest pairs give the layer overlaps)")
    tws = [int(x) for x in run["tw"].values]
    if tw is None:
        return tws[-1]
    if int(tw) not in tws:
        raise ConfigError("--tw", tw, f"one of the run's waiting times {tws}")
    return int(tw)


def layer_profile(run: xr.Dataset, tw: int | None = None, threshold: float = SOLID_THRESHOLD) -> xr.Dataset:
    """Per-layer q_l, Q_l (mean and standard error over samples) at the last time, their decay over the last
    decade, the solid / liquid verdict of each, and the final test accuracy when the run has one.

    Parameters
    ----------
    run : xarray.Dataset
        A run with R >= 2 guest replicas (`open_run`).
    tw : int, optional
        The waiting time whose guests are compared (default: the run's single or last one).
    threshold : float
        A layer is solid when its guest-guest overlap at the last time exceeds this (1/e by default).

    Returns
    -------
    xarray.Dataset
        Per ``layer``: the overlaps' means and standard errors, their change over the last decade and the
        solid / liquid verdict (what ``deepglass profile`` prints and draws).
    """
    tw = _waiting_time(run, tw)
    times = run["time"].values
    t_last = int(times[-1])
    if t_last <= tw:
        raise ConfigError("--tw", tw, f"a waiting time before the run's last time t = {t_last}")
    after = times[times > tw]                      # guests exist: pick the time closest to a decade before in t - t_w
    t_before = int(after[np.argmin(np.abs(np.log10((after - tw) / max((t_last - tw) / 10, 1))))])
    cfg = json.loads(run.attrs["config_json"])
    L = int(cfg["network"]["L"])
    out = {}
    for name, var in (("q", "q_replica"), ("Q", "Q_replica")):
        x = run[var].sel(tw=tw).mean("pair")                           # (sample, time, layer)
        last, before = x.sel(time=t_last), x.sel(time=t_before)
        mean = last.mean("sample")
        ns = last.sizes["sample"]
        sem = last.std("sample", ddof=1) / np.sqrt(ns) if ns > 1 else xr.full_like(mean, np.nan)
        interior = (range(1, L) if name == "q" else range(1, L + 1))
        state = np.array(["data" if name == "q" else "-"] * (L + 1), dtype=object)
        for l in interior:
            state[l] = "solid" if float(mean.sel(layer=l)) > threshold else "liquid"
        out[f"{name}_mean"] = mean
        out[f"{name}_sem"] = sem
        out[f"{name}_decay"] = mean / before.mean("sample")
        out[f"{name}_state"] = ("layer", state.astype(str))
    ds = xr.Dataset(out)
    attrs = {"tw": tw, "t_last": t_last, "t_decade_before": int(t_before), "threshold": threshold, "rule": RULE,
             "M": int(run.attrs.get("n_patterns", 0)), "L": L}
    if "test_accuracy" in run:
        acc = run["test_accuracy"].isel(time=-1)
        attrs["test_accuracy"] = float(acc.mean())
        attrs["test_accuracy_sem"] = float(acc.std(ddof=1) / np.sqrt(acc.size)) if acc.size > 1 else float("nan")
        attrs["train_accuracy"] = float(run["train_accuracy"].isel(time=-1).mean())
    attrs["violations_final"] = int(run["violations"].isel(time=-1).sum())
    ds.attrs = attrs
    return ds
