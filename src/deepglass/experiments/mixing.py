"""How well a planted run mixes: integrated autocorrelation times of the student-teacher overlaps Q_l and q_l
per layer (observables.integrated_autocorrelation_time), from the evenly spaced measurements that
run.trace_every adds. One function for summary, info, compare and the mixing study to call.

The series: measurements at multiples of trace_every after the burn-in, t > max(mc.tune_steps, t_max / 4)
(tuned move sizes are frozen there, so the chain is one fixed exact kernel). The samples are independent
chains of the same process: their autocorrelation functions are averaged before the window is chosen.
tau is in MC steps; "reliable" means the series is at least 50 tau long (emcee's rule) and a window was found.
"""
from __future__ import annotations

import json

import numpy as np
import xarray as xr

from ..observables import integrated_autocorrelation_time


def trace_series(run: xr.Dataset, config: dict) -> xr.Dataset | None:
    """The evenly spaced post-burn-in slice of run (None without run.trace_every or with < 4 points)."""
    k = int(config["run"].get("trace_every", 0) or 0)
    if k <= 0 or "time" not in run.dims:
        return None
    t_max = int(config["run"]["t_max"])
    burn = max(int(config["mc"].get("tune_steps", 0) or 0), t_max // 4)
    t = run["time"].values
    keep = (t % k == 0) & (t > burn)
    if keep.sum() < 4:
        return None
    return run.isel(time=np.flatnonzero(keep))


def autocorrelation_times(run: xr.Dataset, config: dict | None = None) -> dict | None:
    """{"every", "from_t", "n_points", "Q": {...}, "q": {...}} with, per layer, tau (MC steps) and reliable;
    None when the run has no trace (run.trace_every = 0) or no teacher overlaps (random data)."""
    config = json.loads(run.attrs["config_json"]) if config is None else config
    series = trace_series(run, config)
    if series is None or "teacher_Q" not in series:
        return None
    k = int(config["run"]["trace_every"])
    L = int(config["network"]["L"])
    out: dict = {"every": k, "from_t": int(series["time"].values[0]), "n_points": int(series.sizes["time"])}
    for name, var, layers in (("Q", "teacher_Q", range(1, L + 1)), ("q", "teacher_q", range(1, L))):
        layers = list(layers)
        taus, reliable = [], []
        for l in layers:
            x = series[var].sel(layer=l).transpose("sample", "time").values
            got = integrated_autocorrelation_time(x)
            taus.append(got["tau"] * k if np.isfinite(got["tau"]) else None)
            reliable.append(got["reliable"])
        out[name] = {"layers": layers, "tau": taus, "reliable": reliable}
    out["reliable"] = all(out["Q"]["reliable"]) and all(out["q"]["reliable"] or [True])
    return out
