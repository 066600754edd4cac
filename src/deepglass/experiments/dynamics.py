"""The dynamics of learning, measured: relaxation times of the replica overlaps per layer, learning times.

A replica overlap C(s) = q_l(t_w + s, t_w) or Q_l(t_w + s, t_w) starts at C(0) = 1 exactly (the guests are
copies of the host at t_w) and decays towards a plateau p. The rules (docs/experiments.md "Dynamics"):

* plateau p: the mean of C over the last ``tail_fraction`` of the run's log-lag window (at least
  ``min_tail_points`` measurements). It counts as *reached* iff the tail's drift (a straight-line fit of C
  against log s, times the tail's log width) is at most ``plateau_tol`` x (1 - p) plus two standard errors of
  the fit. When it is not reached the true plateau lies below p, which moves every time below later, so the
  times relative to p are then lower bounds.
* tau: the first lag at which the excess x(s) = (C - p)/(1 - p) has fallen to 1/e, found on the
  non-increasing (isotonic) fit of x and interpolated between the two bracketing measurements with
  log(-log x) linear in log s (exact for any stretched exponential).
* tau_int: the integral of x(s) from 0 to the lag where the fit of x first reaches 0 (exact between
  measurements for an exponential). It is sensitive to the plateau: an error dp in p shifts it by about
  dp x (that lag), so read it beside tau.
* an excess 1 - p below ``min_excess`` (0.02) means the overlap has not measurably left 1: tau and tau_int
  are then lower bounds (the last lag).
* tau_decorrelation: the first lag at which C itself has fallen to 1/e (plateau 0: the liquid's value);
  frozen layers never get there.
A time not reached within the run is a lower bound (flag LOWER, the bound = the last lag), one reached before
the first measurement an upper bound (flag UPPER, the bound = the first lag); neither is ever reported as a
number. Errors are jackknife errors over samples (the independent units; pairs of one sample are not).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import ConfigError, RunDirectoryError

MEASURED = 0
"""Flag of a time estimate: measured within the run."""
LOWER = 1
"""Flag: not reached within the run, a lower bound (the last lag)."""
UPPER = 2
"""Flag: reached before the first measured lag, an upper bound."""
FLAG_NAMES = {MEASURED: "measured", LOWER: "lower bound", UPPER: "upper bound"}
"""Flag code -> its name."""
OVERLAPS = {"neurons": "q_replica", "weights": "Q_replica"}
TIMES = ("tau", "tau_int", "tau_decorrelation")
FLAGS = ("plateau_reached", "tau_flag", "tau_int_flag", "tau_decorrelation_flag", "t_solution_median_flag")
FILL = {name: -1 for name in FLAGS} | {"n_samples": 0}  # where points differ in layers or waiting times
ONE_OVER_E = math.exp(-1.0)


@dataclass(frozen=True)
class DecayRules:
    """How a plateau is estimated and when it counts as reached (module docstring)."""

    tail_fraction: float = 0.25
    plateau_tol: float = 0.05
    min_tail_points: int = 3
    min_excess: float = 0.02

    def __post_init__(self):
        if not 0 < self.tail_fraction <= 1:
            raise ConfigError("tail_fraction", self.tail_fraction, "a fraction 0 < tail_fraction <= 1")
        if not self.plateau_tol > 0:
            raise ConfigError("plateau_tol", self.plateau_tol, "a positive fraction of the initial excess")
        if self.min_tail_points < 3:
            raise ConfigError("min_tail_points", self.min_tail_points, "an integer >= 3 (a line fit needs 3)")
        if not 0 <= self.min_excess < 1:
            raise ConfigError("min_excess", self.min_excess, "a number 0 <= min_excess < 1")


# ---------------------------------------------------------------------- one curve

def isotonic_decreasing(y: np.ndarray) -> np.ndarray:
    """The least-squares non-increasing fit of y (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [sum, count]
    for v in np.asarray(y, float):
        blocks.append([v, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] < blocks[-1][0] / blocks[-1][1]:
            s, n = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += n
    return np.concatenate([np.full(int(n), s / n) for s, n in blocks])


def crossing_time(lags: np.ndarray, x: np.ndarray, level: float = ONE_OVER_E) -> tuple[float, int]:
    """(time, flag): the first lag where the non-increasing fit of x (with x(0) = 1) reaches ``level``."""
    iso = isotonic_decreasing(np.concatenate([[1.0], x]))[1:]
    below = np.nonzero(iso <= level)[0]
    if below.size == 0:
        return float(lags[-1]), LOWER
    k = int(below[0])
    if k == 0:
        return float(lags[0]), UPPER
    t0, t1, x0, x1 = np.log(lags[k - 1]), np.log(lags[k]), iso[k - 1], iso[k]
    if 0 < x1 < 1 and 0 < x0 < 1 and x0 != x1:
        y0, y1, y = np.log(-np.log(x0)), np.log(-np.log(x1)), np.log(-np.log(level))
    else:
        y0, y1, y = x0, x1, level
    frac = 0.0 if y1 == y0 else (y - y0) / (y1 - y0)
    return float(np.exp(t0 + frac * (t1 - t0))), MEASURED


def integrated_time(lags: np.ndarray, x: np.ndarray) -> float:
    """Integral of x from 0 (x(0) = 1) to the first lag where its non-increasing fit reaches 0 (beyond it x is
    noise about the plateau; the whole run if it never does); exponential between positive neighbours, else
    linear."""
    iso = isotonic_decreasing(np.concatenate([[1.0], x]))[1:]
    end = np.nonzero(iso <= 0)[0]
    stop = int(end[0]) + 1 if end.size else lags.size
    t = np.concatenate([[0.0], lags[:stop]])
    y = np.concatenate([[1.0], x[:stop]])
    a, b, dt = y[:-1], y[1:], np.diff(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        expo = dt * (b - a) / np.log(b / a)
    use = (a > 0) & (b > 0) & (np.abs(a - b) > 1e-12 * np.abs(a))
    return float(np.sum(np.where(use, expo, dt * (a + b) / 2)))


def plateau(lags: np.ndarray, C: np.ndarray, rules: DecayRules) -> tuple[float, bool, float]:
    """(p, reached, drift): the tail mean of C, whether it has stopped moving, and its drift over the tail."""
    logs = np.log(lags)
    start = logs[-1] - rules.tail_fraction * (logs[-1] - logs[0])
    tail = np.nonzero(logs >= start)[0]
    if tail.size < rules.min_tail_points:
        tail = np.arange(max(0, lags.size - rules.min_tail_points), lags.size)
    p = float(np.mean(C[tail]))
    if tail.size < 3:
        return p, False, float("nan")
    u, y = logs[tail], C[tail]
    width = u[-1] - u[0]
    slope, intercept = np.polyfit(u, y, 1)
    resid = y - (slope * u + intercept)
    dof = tail.size - 2
    se_slope = math.sqrt(np.sum(resid ** 2) / dof / np.sum((u - u.mean()) ** 2)) if dof > 0 else float("inf")
    drift = -slope * width
    reached = abs(drift) <= rules.plateau_tol * max(1.0 - p, 0.0) + 2 * se_slope * width
    return p, bool(reached), float(drift)


def decay_estimates(lags, C, rules: DecayRules = DecayRules()) -> dict:
    """Plateau and the three times of one curve C at lags > 0 (C(0) = 1); see the module docstring.

    For each time NAME: ``NAME`` (NaN unless measured), ``NAME_bound`` (the bound, NaN when measured) and
    ``NAME_flag`` (MEASURED, LOWER or UPPER)."""
    lags, C = np.asarray(lags, float), np.asarray(C, float)
    keep = np.isfinite(C) & (lags > 0)
    lags, C = lags[keep], C[keep]
    if lags.size < rules.min_tail_points:
        raise ValueError(f"a decay curve needs >= {rules.min_tail_points} measured lags, got {lags.size}")
    p, reached, drift = plateau(lags, C, rules)
    out = {"plateau": p, "plateau_reached": reached, "drift": drift}
    excess = 1.0 - p
    times = {}
    if excess > rules.min_excess:
        x = (C - p) / excess
        times["tau"] = crossing_time(lags, x)
        times["tau_int"] = (integrated_time(lags, x), MEASURED)
        if not reached:  # the true plateau is lower: the times relative to p are lower bounds
            times = {k: (max(v, 0.0), LOWER if f == MEASURED else f) for k, (v, f) in times.items()}
    else:  # the overlap has not measurably left 1 within the run: nothing decayed
        times["tau"] = times["tau_int"] = (float(lags[-1]), LOWER)
    times["tau_decorrelation"] = crossing_time(lags, C)
    for name, (value, flag) in times.items():
        out[name] = value if flag == MEASURED else float("nan")
        out[f"{name}_bound"] = float("nan") if flag == MEASURED else value
        out[f"{name}_flag"] = flag
    return out


def _jackknife(values: list[float]) -> float:
    n = len(values)
    if n < 2:
        return float("nan")
    v = np.asarray(values, float)
    return float(math.sqrt((n - 1) / n * np.sum((v - v.mean()) ** 2)))


def sample_estimates(lags, curves, rules: DecayRules = DecayRules()) -> dict:
    """decay_estimates of the mean over samples (curves: (n_samples, n_lags)), with jackknife errors over
    samples: ``<name>_err`` (NaN where any leave-one-out estimate is a bound, or with one sample)."""
    curves = np.atleast_2d(np.asarray(curves, float))
    curves = curves[np.isfinite(curves).any(axis=1)]
    est = decay_estimates(lags, np.nanmean(curves, axis=0), rules)
    n = curves.shape[0]
    loo = [decay_estimates(lags, np.nanmean(np.delete(curves, k, axis=0), axis=0), rules) for k in range(n)] \
        if n > 1 else []
    est["plateau_err"] = _jackknife([e["plateau"] for e in loo])
    for name in TIMES:
        ok = est[f"{name}_flag"] == MEASURED and all(e[f"{name}_flag"] == MEASURED for e in loo)
        est[f"{name}_err"] = _jackknife([e[name] for e in loo]) if ok else float("nan")
    est["n_samples"] = n
    return est


# ---------------------------------------------------------------------- a run

def overlap_curves(run: xr.Dataset, kind: str, tw: int) -> xr.DataArray:
    """Replica overlap of ``kind`` (neurons / weights) since t_w, averaged over pairs: (sample, layer, lag).
    Layers where it is fixed or undefined are dropped (neurons 0 and L: the data; weights 0)."""
    var = run[OVERLAPS[kind]].sel(tw=tw)
    var = var.sel(time=var["time"] > tw).mean("pair")
    L = int(run.sizes["layer"]) - 1
    layers = range(1, L) if kind == "neurons" else range(1, L + 1)
    var = var.sel(layer=list(layers))
    return (var.assign_coords(lag=("time", var["time"].values - tw)).swap_dims(time="lag").drop_vars("time")
            .transpose("sample", "layer", "lag"))


def check_replica_run(run: xr.Dataset, where: str = "the run") -> None:
    missing = [v for v in OVERLAPS.values() if v not in run]
    if missing:
        raise RunDirectoryError(f"{where} has no replica overlaps ({', '.join(missing)}): relaxation times need "
                                "replicas.R >= 2 guests per waiting time")


def relaxation(run: xr.Dataset, rules: DecayRules = DecayRules()) -> xr.Dataset:
    """Per waiting time, kind (neurons, weights) and layer: plateau, tau, tau_int, tau_decorrelation, their
    flags and jackknife errors; also ``curve`` (the sample-mean overlap) over ``lag``. Layers without the
    kind's overlap are NaN (flag -1)."""
    check_replica_run(run)
    L = int(run.sizes["layer"]) - 1
    tws = [int(t) for t in run["tw"].values]
    names = ["plateau", "plateau_err", "drift"] + [f"{n}{s}" for n in TIMES for s in ("", "_bound", "_err")]
    flags = ["plateau_reached"] + [f"{n}_flag" for n in TIMES]
    shape = (len(tws), len(OVERLAPS), L + 1)
    values = {n: np.full(shape, np.nan) for n in names}
    codes = {n: np.full(shape, -1, dtype=np.int8) for n in flags}
    n_samples = np.zeros(shape, dtype=np.int16)
    curves = []
    for i, tw in enumerate(tws):
        for j, kind in enumerate(OVERLAPS):
            C = overlap_curves(run, kind, tw)
            curves.append(C.mean("sample").reindex(layer=np.arange(L + 1)).expand_dims(tw=[tw], kind=[kind]))
            for layer in C["layer"].values:
                measured = np.isfinite(C.sel(layer=layer).values).any(axis=0).sum()
                if measured < rules.min_tail_points:  # guests not made yet (a running run), or too short a run
                    continue
                est = sample_estimates(C["lag"].values, C.sel(layer=layer).values, rules)
                for n in names:
                    values[n][i, j, layer] = est[n]
                for n in flags:
                    codes[n][i, j, layer] = int(est[n])
                n_samples[i, j, layer] = est["n_samples"]
    if (codes["tau_flag"] < 0).all():
        raise RunDirectoryError(f"no waiting time of the run has >= {rules.min_tail_points} measured lags t - t_w "
                                "yet: let the run go on (or measure more often, run.per_decade)")
    dims = ("tw", "kind", "layer")
    ds = xr.Dataset({**{n: (dims, v) for n, v in values.items()}, **{n: (dims, v) for n, v in codes.items()},
                     "n_samples": (dims, n_samples)},
                    coords={"tw": tws, "kind": list(OVERLAPS), "layer": np.arange(L + 1)})
    ds["curve"] = xr.concat([xr.concat(curves[i::len(OVERLAPS)], "tw", join="outer") for i in range(len(OVERLAPS))],
                            "kind", join="outer").transpose("tw", "kind", "layer", "lag")
    ds.attrs = {"rules": json.dumps(asdict(rules)), "flags": json.dumps(FLAG_NAMES), "L": L}
    return ds


def learning_time(run: xr.Dataset) -> xr.Dataset:
    """Time to the first solution (the first measurement with no violated host gap; the true time lies between
    the previous measurement and this one) per sample, NaN when never solved within the run; the fraction
    solved; the median time to solution (a lower bound, flag LOWER, when half the samples or more never
    solved); and the number of violated gaps over time (mean and standard error over samples)."""
    viol = run["violations"].astype(float)
    t = viol["time"].values
    solved_at = np.full(viol.sizes["sample"], np.nan)
    for s in range(viol.sizes["sample"]):
        zero = np.nonzero(viol.isel(sample=s).values == 0)[0]
        if zero.size:
            solved_at[s] = t[zero[0]]
    n = solved_at.size
    ordered = np.sort(np.where(np.isnan(solved_at), np.inf, solved_at))
    median = float(np.median(ordered))
    flag = MEASURED if np.isfinite(median) else LOWER
    sem = viol.std("sample", ddof=1) / math.sqrt(n) if n > 1 else viol.mean("sample") * np.nan
    return xr.Dataset(
        {"t_solution": ("sample", solved_at),
         "fraction_solved": ((), float(np.mean(np.isfinite(solved_at)))),
         "t_solution_median": ((), median if flag == MEASURED else float(t[-1])),
         "t_solution_median_flag": ((), np.int8(flag)),
         "violations_mean": ("time", viol.mean("sample").values),
         "violations_sem": ("time", np.asarray(sem.values, float)),
         "t_max": ((), float(t[-1]))},
        coords={"sample": viol["sample"].values, "time": t})


def mirror_asymmetry(rel: xr.Dataset) -> xr.Dataset:
    """Left-right asymmetry: layers at the same distance from the input and the output (neuron layer l and
    L - l; weight layer l and L + 1 - l), for l in the left half. ``plateau_diff`` = left - right plateau,
    ``log_tau_ratio`` = log(tau_left / tau_right) where both are measured (NaN otherwise), the same for the
    decorrelation time."""
    L = int(rel.attrs["L"])
    parts = []
    for kind, mirror in (("neurons", lambda l: L - l), ("weights", lambda l: L + 1 - l)):
        left = [l for l in range(1, L + 1) if l < mirror(l) and (kind == "weights" or 1 <= l <= L - 1)]
        sel = rel.sel(kind=kind)
        a, b = sel.sel(layer=left), sel.sel(layer=[mirror(l) for l in left]).assign_coords(layer=left)
        both = lambda name: (a[f"{name}_flag"] == MEASURED) & (b[f"{name}_flag"] == MEASURED)
        parts.append(xr.Dataset({
            "plateau_diff": a["plateau"] - b["plateau"],
            "plateau_diff_err": np.hypot(a["plateau_err"], b["plateau_err"]),
            "log_tau_ratio": np.log(a["tau"] / b["tau"]).where(both("tau")),
            "log_tau_decorrelation_ratio": np.log(a["tau_decorrelation"] / b["tau_decorrelation"]).where(
                both("tau_decorrelation"))},
        ).rename(layer="distance").assign_coords(distance=left).expand_dims(kind=[kind]))
    return xr.concat(parts, dim="kind", join="outer")


def run_dynamics(run: xr.Dataset, rules: DecayRules = DecayRules()) -> xr.Dataset:
    """Relaxation (per t_w, kind, layer), learning time and mirror asymmetry of one run, in one Dataset."""
    rel = relaxation(run, rules)
    learn = learning_time(run)
    asym = mirror_asymmetry(rel)
    asym = asym.rename({v: f"asymmetry_{v}" for v in asym.data_vars})
    out = xr.merge([rel, learn, asym], combine_attrs="override")
    cfg = json.loads(run.attrs["config_json"])
    out.attrs.update({"N": cfg["network"]["N"], "L": cfg["network"]["L"], "alpha": cfg["data"]["alpha"],
                      "scenario": cfg["data"]["scenario"], "protocol": cfg["run"]["protocol"],
                      "dynamics": dynamics_label(cfg), "status": str(run.attrs.get("status", ""))})
    return out


def dynamics_label(cfg: dict) -> str:
    """'greedy local, learning' / 'metropolis beta=66.7 local, learning' / 'design-space, planted'."""
    mc = cfg["mc"]
    acc = mc["acceptance"] + (f" beta={mc['beta']:g}" if mc["acceptance"] == "metropolis" else "")
    return f"{acc} {mc['sampler']}, {cfg['run']['protocol']}"


# ---------------------------------------------------------------------- a run directory or a sweep store

def open_dynamics(path: str | os.PathLike | list, rules: DecayRules = DecayRules()) -> xr.Dataset:
    """`run_dynamics` of a run, of every finished point of a sweep store, or of several of them side by side.

    Parameters
    ----------
    path : str, path or list of them
        A run directory (or its .nc), a sweep store (dimension ``point`` with the swept keys as coordinates),
        or a list: one ``point`` per run (and per sweep point), labelled by ``source``.
    rules : DecayRules
        The thresholds of the relaxation-time estimates (docs/experiments.md "Dynamics").

    Returns
    -------
    xarray.Dataset
        Relaxation times tau_l per layer and waiting time (with their flags: measured, lower or upper
        bound), plateaus, the learning time and the mirror asymmetry of the profile (`run_dynamics`).

    Raises
    ------
    RunDirectoryError
        Anything that is not a run or a sweep store, in one clear line.
    """
    if isinstance(path, (list, tuple)):
        if len(path) == 1:
            return open_dynamics(path[0], rules)
        parts = [_as_points(open_dynamics(p, rules), Path(p)) for p in path]
        ds = xr.concat(parts, dim="point", join="outer", fill_value=FILL, combine_attrs="drop_conflicts")
        ds.attrs.update({"store": ", ".join(str(p) for p in path), "n_skipped": sum(int(p.attrs.get("n_skipped", 0))
                                                                                   for p in parts)})
        return ds
    from .store import read_run
    from .sweep_store import MANIFEST

    path = Path(path)
    if not path.exists():
        raise RunDirectoryError(f"{path} does not exist: give a run directory (run.nc) or a sweep store")
    if path.is_dir() and (path / MANIFEST).exists():
        return _sweep_dynamics(path, rules)
    run = read_run(path, with_checkpoint=False).measurements
    check_replica_run(run, str(path))
    return run_dynamics(run, rules)


STANDARD_COORDS = ("point_hash", "N_point", "L_point", "alpha_point", "dynamics")


def _point_coords(ds: xr.Dataset, hash_: str) -> dict:
    return {"point_hash": hash_, "N_point": ds.attrs["N"], "L_point": ds.attrs["L"], "alpha_point": ds.attrs["alpha"],
            "dynamics": ds.attrs["dynamics"]}


def _as_points(ds: xr.Dataset, source: Path) -> xr.Dataset:
    """One input of a side-by-side view as points labelled by ``source`` (sweep-specific coordinates dropped)."""
    if "point" not in ds.dims:
        ds = ds.drop_vars("sample").expand_dims("point").assign_coords(
            {k: ("point", [v]) for k, v in _point_coords(ds, source.name).items()})
    extra = [c for c in ds["point"].coords if c not in (*STANDARD_COORDS, "point")]
    ds = ds.drop_vars(extra)
    return ds.assign_coords(source=("point", [source.name] * ds.sizes["point"]))


def _sweep_dynamics(store: Path, rules: DecayRules) -> xr.Dataset:
    from .store import read_run
    from .sweep_store import _coordinate_names, point_dir, point_problem, read_manifest

    manifest = read_manifest(store)
    names = _coordinate_names(manifest["keys"])
    parts, skipped = [], 0
    for entry in manifest["points"]:
        if point_problem(store, entry["hash"]) is not None:
            skipped += 1
            continue
        run = read_run(point_dir(store, entry["hash"]), with_checkpoint=False).measurements
        check_replica_run(run, f"sweep point {entry['dir']}")
        part = run_dynamics(run, rules)
        coords = {names[k]: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in entry["overrides"].items()}
        coords.update(seed=entry["seed"], **_point_coords(part, entry["hash"][:16]))
        part = part.drop_vars("sample").expand_dims("point")
        parts.append(part.assign_coords({k: ("point", [v]) for k, v in coords.items()}))
    if not parts:
        raise RunDirectoryError(f"{store} holds no finished sweep point yet ({skipped} unfinished): run the sweep first")
    ds = xr.concat(parts, dim="point", join="outer", fill_value=FILL, combine_attrs="drop_conflicts")
    ds.attrs.update({"store": str(store), "swept_keys": json.dumps(manifest["keys"]), "n_skipped": skipped,
                     "rules": json.dumps(asdict(rules)), "flags": json.dumps(FLAG_NAMES)})
    return ds


# ---------------------------------------------------------------------- plain views

def point_labels(ds: xr.Dataset) -> list[str]:
    """'N=16 alpha=2.0 seed=1' per sweep point (swept keys by their coordinate names), or the run's one label."""
    if "point" not in ds.dims:
        return [f"N={ds.attrs['N']} L={ds.attrs['L']} alpha={ds.attrs['alpha']:g} ({ds.attrs['dynamics']})"]
    names = [c for c in ds["point"].coords if c not in ("point", *STANDARD_COORDS)]
    labels = []
    for i in range(ds.sizes["point"]):
        extra = " ".join(f"{c}={ds[c].values[i]}" for c in names if c != "source")
        size = "" if extra else f"N={int(ds['N_point'][i])} L={int(ds['L_point'][i])} alpha={float(ds['alpha_point'][i]):g} "
        head = f"{ds['source'].values[i]}: " if "source" in names else ""
        labels.append(f"{head}{extra}{' ' if extra else ''}{size}({ds['dynamics'].values[i]})")
    return labels


def format_time(value: float, bound: float, flag: int, err: float = float("nan")) -> str:
    """'12.3 +- 1.1', '> 300' (lower bound), '< 1' (upper bound), '-' (not defined)."""
    if flag == LOWER:
        return f"> {bound:.3g}"
    if flag == UPPER:
        return f"< {bound:.3g}"
    if flag != MEASURED or not np.isfinite(value):
        return "-"
    return f"{value:.3g}" + (f" +- {err:.2g}" if np.isfinite(err) else "")


def _time_entry(sel: xr.Dataset, name: str) -> dict:
    flag = int(sel[f"{name}_flag"])
    return {"value": float(sel[name]) if flag == MEASURED else None,
            "error": float(sel[f"{name}_err"]) if flag == MEASURED and np.isfinite(sel[f"{name}_err"]) else None,
            "bound": float(sel[f"{name}_bound"]) if flag in (LOWER, UPPER) else None, "kind": FLAG_NAMES[flag]}


def _one_summary(ds: xr.Dataset) -> dict:
    out: dict = {"relaxation": []}
    for tw in ds["tw"].values:
        for kind in OVERLAPS:
            for layer in ds["layer"].values:
                sel = ds.sel(tw=tw, kind=kind, layer=layer)
                if int(sel["tau_flag"]) < 0:
                    continue
                entry = {"tw": int(tw), "kind": kind, "layer": int(layer), "plateau": float(sel["plateau"]),
                         "plateau_err": float(sel["plateau_err"]), "plateau_reached": bool(sel["plateau_reached"]),
                         "n_samples": int(sel["n_samples"])}
                entry |= {name: _time_entry(sel, name) for name in TIMES}
                out["relaxation"].append(entry)
    flag = int(ds["t_solution_median_flag"])
    out["learning"] = {"fraction_solved": float(ds["fraction_solved"]), "t_max": float(ds["t_max"]),
                       "t_solution_median": {"value": float(ds["t_solution_median"]) if flag == MEASURED else None,
                                             "bound": float(ds["t_solution_median"]) if flag == LOWER else None,
                                             "kind": FLAG_NAMES[flag]},
                       "t_solution": [float(v) for v in ds["t_solution"].values],
                       "violations_final": float(ds["violations_mean"].dropna("time")[-1])}
    asym = ds[["asymmetry_plateau_diff", "asymmetry_plateau_diff_err", "asymmetry_log_tau_ratio",
               "asymmetry_log_tau_decorrelation_ratio"]]
    out["asymmetry"] = [{"tw": int(tw), "kind": str(kind), "layer": int(d), "mirror": int(
        (ds.attrs["L"] - d) if kind == "neurons" else (ds.attrs["L"] + 1 - d)),
        "plateau_diff": float(asym["asymmetry_plateau_diff"].sel(tw=tw, kind=kind, distance=d)),
        "plateau_diff_err": float(asym["asymmetry_plateau_diff_err"].sel(tw=tw, kind=kind, distance=d)),
        "log_tau_ratio": float(asym["asymmetry_log_tau_ratio"].sel(tw=tw, kind=kind, distance=d)),
        "log_tau_decorrelation_ratio": float(asym["asymmetry_log_tau_decorrelation_ratio"].sel(tw=tw, kind=kind,
                                                                                              distance=d))}
        for tw in ds["tw"].values for kind in asym["kind"].values for d in asym["distance"].values
        if np.isfinite(asym["asymmetry_plateau_diff"].sel(tw=tw, kind=kind, distance=d))]
    return out


def dynamics_summary(ds: xr.Dataset) -> dict:
    """The JSON view of open_dynamics: rules, and per run (or sweep point) relaxation, learning, asymmetry."""
    from .summary import json_ready

    labels = point_labels(ds)
    head = {"rules": json.loads(ds.attrs["rules"]), "flags": FLAG_NAMES}
    if "point" not in ds.dims:
        keys = ("N", "L", "alpha", "scenario", "protocol", "dynamics", "status")
        return json_ready(head | {"run": {k: ds.attrs[k] for k in keys} | {"label": labels[0]} | _one_summary(ds)})
    points = []
    for i, label in enumerate(labels):
        one = ds.isel(point=i)
        one.attrs = dict(ds.attrs, L=int(one["L_point"]))
        points.append({"label": label, "point_hash": str(one["point_hash"].values), "N": int(one["N_point"]),
                       "L": int(one["L_point"]), "alpha": float(one["alpha_point"]),
                       "dynamics": str(one["dynamics"].values)} | _one_summary(one))
    return json_ready(head | {"store": ds.attrs["store"], "n_skipped": ds.attrs["n_skipped"], "points": points})


__all__ = ["DecayRules", "FLAG_NAMES", "LOWER", "MEASURED", "UPPER", "crossing_time", "decay_estimates",
           "dynamics_summary", "format_time", "integrated_time", "point_labels", "isotonic_decreasing", "learning_time", "mirror_asymmetry", "open_dynamics",
           "overlap_curves", "relaxation", "run_dynamics", "sample_estimates"]
