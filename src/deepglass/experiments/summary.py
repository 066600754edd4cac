"""The final state of a stored run as plain numbers (for ``deepglass info``)."""
from __future__ import annotations

import json
import math
import warnings

import numpy as np
import xarray as xr

from ..observables import generalization_error_from_output_overlap


def _layers_mean(var: xr.DataArray, layers: list[int]) -> list[float | None]:
    """Mean over every dimension but ``layer`` (samples, and pairs for replica overlaps), NaNs skipped."""
    means = var.sel(layer=layers).mean([d for d in var.dims if d != "layer"], skipna=True)
    return [_number(v) for v in means.values]


def json_ready(obj):
    """The one strict-JSON cleaner: NaN and inf -> None, numpy/xarray scalars and arrays -> Python numbers and
    lists, recursively through dicts, lists and tuples."""
    if isinstance(obj, dict):
        return {k: json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if isinstance(obj, xr.DataArray):
        obj = obj.values
    if isinstance(obj, np.ndarray):
        return json_ready(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj


def _number(value) -> float | None:
    return json_ready(float(value))


def final_summary(run: xr.Dataset) -> dict:
    """Sample averages at the last measured time; quantities that do not apply to the run are None.

    What ``deepglass info --format json`` prints.

    Parameters
    ----------
    run : xarray.Dataset
        A run's measurements (`open_run`).

    Returns
    -------
    dict
        ``config`` (the full config); ``final``: ``energy``, ``violations`` (violated host gaps summed over
        samples, an integer, 0 iff every sample is solved), ``violations_per_sample``, per-layer lists over
        ``layers`` = 1..L (``generalization_overlap``, ``teacher_overlap_q``, ``teacher_overlap_Q``, ...) and
        ``generalization_error``; ``nishimori``: the equilibrium verdict (`equilibrium_verdict`, planted
        runs with R >= 2 guests and n_samples >= 2, else None); ``autocorrelation``: integrated
        autocorrelation times of the run's traces.
    """
    config = json.loads(run.attrs["config_json"])
    L = int(config["network"]["L"])
    layers = list(range(1, L + 1))
    summary: dict = {
        "config": config,
        "status": str(run.attrs.get("status", "")),
        "seed": int(run.attrs["seed"]),
        "deepglass_version": str(run.attrs.get("deepglass_version", "")),
        "n_patterns": int(run.attrs.get("n_patterns", 0)),
    }
    if "time" not in run.dims or run.sizes["time"] == 0:
        summary["final"] = None
        return summary
    last = run.isel(time=-1)
    n_samples = last.sizes.get("sample", 1)
    final: dict = {
        "time": int(last["time"]),
        "n_samples": int(n_samples),
        "averaging": "mean over samples (and replica pairs); violations summed over samples",
        "layers": layers,
        "energy": float(last["energy"].mean()),
        "violations": int(last["violations"].sum()),
        "violations_per_sample": float(last["violations"].mean()),
        "solved_fraction": float((last["violations"] == 0).mean()),
        "generalization_overlap": None,
        "generalization_error": None,
        "teacher_overlap_q": None,
        "teacher_overlap_Q": None,
        "replica_overlap_q": None,
        "replica_overlap_Q": None,
    }
    if "test_overlap" in last:
        final["generalization_overlap"] = _layers_mean(last["test_overlap"], layers)
        output = final["generalization_overlap"][-1]
        final["generalization_error"] = None if output is None else float(generalization_error_from_output_overlap(output))
    if "move_size" in last:   # design-space move sizes (tuned per layer during the burn-in, then frozen)
        final["move_size"] = _layers_mean(last["move_size"], layers)
    if "teacher_q" in last:
        final["teacher_overlap_q"] = _layers_mean(last["teacher_q"], layers)
    if "teacher_Q" in last:
        final["teacher_overlap_Q"] = _layers_mean(last["teacher_Q"], layers)
    for name in ("q", "Q"):   # gauge-fixed student-teacher overlaps (observables.fix_gauge), planted runs
        if f"teacher_{name}_gauge" in last:
            final[f"teacher_overlap_{name}_gauge"] = _layers_mean(last[f"teacher_{name}_gauge"], layers)
    if "teacher_q2" in last:   # squared neuron overlaps, sign-gauge free (observables.squared_neuron_overlap)
        final["teacher_overlap_q2"] = _layers_mean(last["teacher_q2"], layers)
    for name, key in (("q_replica", "replica_overlap_q"), ("Q_replica", "replica_overlap_Q")):
        if name in last:  # one profile per waiting time
            final[key] = {f"t_w={int(tw)}": _layers_mean(last[name].sel(tw=tw), layers) for tw in last["tw"].values}
    summary["final"] = final
    summary["nishimori"] = stored_nishimori(run)
    from .mixing import autocorrelation_times
    summary["autocorrelation"] = autocorrelation_times(run, config)
    return summary


FALSE_ALARM = 0.01       # probability that an equilibrated run fails its verdict, all layer tests together


def verdict_threshold(n_samples: int, n_tests: int, false_alarm: float = FALSE_ALARM) -> float:
    """|mean| / standard error beyond which one layer's test fails: the Student-t quantile with n_samples - 1
    degrees of freedom (the error is estimated from the same few samples) at the Bonferroni level
    false_alarm / n_tests (one test per layer: a fixed 3 sigma per layer made ~30% of equilibrated L = 10 runs
    with 8 samples fail somewhere by chance). Two-sided; conservative where the layers are correlated."""
    from scipy.stats import t

    return float(t.ppf(1.0 - false_alarm / (2.0 * n_tests), n_samples - 1))


MIN_ACCEPTANCE = 0.01    # below it in a layer the chain is frozen and the identity holds trivially (ST = SS = 1)


VERDICT_WINDOW = "second half"   # marks verdicts over second_half; older stored ones (last snapshot) are recomputed


def second_half(run: xr.Dataset, waiting_time: int = 0) -> xr.Dataset:
    """The measurements of the second half of a run after the waiting time, t >= t_w + (T - t_w)/2: the window
    over which equilibrium averages and the Nishimori test are taken (at least the last measurement)."""
    times = run["time"].values
    T = int(times[-1])
    return run.sel(time=times[times >= waiting_time + (T - waiting_time) / 2])


def time_average(var: xr.DataArray) -> xr.DataArray:
    """Mean over the time axis, quiet about all-NaN layers."""
    with warnings.catch_warnings():   # all-NaN layers (Q at layer 0) are expected
        warnings.simplefilter("ignore", RuntimeWarning)
        return var.mean("time")


def nishimori_check(run: xr.Dataset, config: dict) -> dict | None:
    """The equilibrium test of planted runs (MODEL.md section 4): student-teacher overlaps (host) equal
    student-student overlaps (guests of the last waiting time, all pairs) layer by layer.

    Per sample d = teacher overlap - mean pair overlap, each averaged over the second half of the guests' life
    (``second_half``: more statistics than the last snapshot, so a stricter test); reported per layer: both means
    over samples, the mean of d and its standard error over samples. ``equilibrated`` is True iff every layer's
    |d| <= ``verdict_threshold`` errors (family-wise false alarm 1%) and every layer's weight moves are accepted at least 1% of the time (a frozen chain passes trivially),
    None when the run cannot tell (not planted, fewer than 2 guests or 2 samples, guests not created yet).
    Q covers layers 1..L, q the hidden layers 1..L-1 (q_0 = q_L = 1 by construction)."""
    if config["run"]["protocol"] != "planted":
        return None
    last = run.isel(time=-1)
    L = int(config["network"]["L"])
    reason = None
    if "Q_replica" not in last or "teacher_Q" not in last:
        reason = "needs replicas.R >= 2 guests"
    elif last.sizes.get("sample", 1) < 2:
        reason = "needs run.n_samples >= 2 (the error is taken over samples)"
    else:
        tws = [int(t) for t in last["tw"].values if int(t) <= int(last["time"])]
        if not tws:
            reason = "no guests yet at the last time"
    if reason is not None:
        return {"equilibrated": None, "reason": reason}
    tw = tws[-1]
    threshold = verdict_threshold(last.sizes["sample"], 2 * L - 1)
    out: dict = {"t": int(last["time"]), "t_w": tw, "threshold": threshold, "false_alarm": FALSE_ALARM,
                 "window": VERDICT_WINDOW}
    ok = True
    late = second_half(run, tw)
    for name, teacher, layers in (("Q", "teacher_Q", range(1, L + 1)), ("q", "teacher_q", range(1, L))):
        layers = list(layers)
        if not layers:
            continue
        st = time_average(late[teacher].sel(layer=layers)).transpose("sample", "layer").values
        pairs = late[f"{name}_replica"].sel(tw=tw, layer=layers).mean("pair")
        ss = time_average(pairs).transpose("sample", "layer").values
        d = st - ss
        err = d.std(axis=0, ddof=1) / np.sqrt(d.shape[0])
        diff = d.mean(axis=0)
        ok = ok and bool(np.all(np.abs(diff) <= threshold * err))
        out[name] = {"layers": layers, "student_teacher": st.mean(0).tolist(), "student_student": ss.mean(0).tolist(),
                     "difference": diff.tolist(), "error": err.tolist()}
    acc = last["acceptance_weight"].sel(layer=list(range(1, L + 1))).mean("sample").values
    out["acceptance_weight"] = acc.tolist()
    frozen = bool(np.any(~(acc >= MIN_ACCEPTANCE)))
    out["equilibrated"] = ok and not frozen
    if frozen:
        out["reason"] = (f"weight moves frozen (acceptance < {MIN_ACCEPTANCE} in a layer): the identity holds "
                         "trivially, NOT shown to be equilibrated (reduce mc.delta)")
    else:
        out["reason"] = (f"student-teacher = student-student within {threshold:.2f} errors in every layer" if ok else
                         f"student-teacher != student-student beyond {threshold:.2f} errors: NOT equilibrated, its "
                         "numbers are not equilibrium results")
    if config["mc"].get("sampler", "local") == "local" and float(config["network"]["kappa"]) >= 0:
        out["reason"] += ("; local moves never move a hidden neuron here, so this is at best the equilibrium of "
                          "the teacher's internal representations, not of the design space (mc.sampler = "
                          "\"design-space\")")
    return out


TAU_FACTOR = 10.0        # a planted run is equilibrated only if it ran >= this many relaxation times in every layer
NISHIMORI_ATTR = "nishimori_json"   # the verdict, stored in the completed run's Dataset (runner.execute)


def planted_relaxation_times(run: xr.Dataset, config: dict) -> list[float] | None:
    """Integrated relaxation time (MC steps) of the host's weight overlap with the teacher, per layer 1..L.

    The planted host starts at the teacher, itself an equilibrium sample, so Q_st(t) is the weight
    autocorrelation of an equilibrium chain. With C_l(t) = (Q_st(t) - Q_st(T)) / (1 - Q_st(T)) (T the last
    measured time, sample means), tau_l = int_0^W C_l(t) dt by the trapezoid rule over the measured times
    (C(0) = 1), W the first time C reaches 0 (linear interpolation): the usual self-consistent window, which
    keeps the noise of the plateau (large on log-spaced late times) out of the integral. Using the late value
    as plateau makes tau a lower bound while the chain still decays (a linear decay to T gives tau = T/2, so
    T >= 10 tau fails); NaN for a layer that never left the teacher (1 - Q_st(T) < 1e-3: the acceptance test
    covers it). A small local estimator, until the engine reports integrated autocorrelation times of its
    own (docs/experiments.md "Equilibrium verdict")."""
    if config["run"]["protocol"] != "planted" or "teacher_Q" not in run or run.sizes.get("time", 0) < 2:
        return None
    L = int(config["network"]["L"])
    times = np.concatenate([[0.0], run["time"].values.astype(float)])
    Q = run["teacher_Q"].sel(layer=list(range(1, L + 1))).mean("sample").values      # (time, layer)
    out = []
    for l in range(L):
        series = np.concatenate([[1.0], Q[:, l]])
        plateau = series[-1]
        if not np.isfinite(plateau) or 1.0 - plateau < 1e-3:
            out.append(float("nan"))
            continue
        C = (series - plateau) / (1.0 - plateau)
        out.append(_windowed_integral(times, C))
    return out


def _windowed_integral(t: np.ndarray, C: np.ndarray) -> float:
    """Trapezoid integral of C(t) (C[0] > 0) up to its first zero (linear interpolation), or to the end."""
    below = np.flatnonzero(C <= 0.0)
    if below.size == 0:
        return float(np.sum(0.5 * (C[1:] + C[:-1]) * np.diff(t)))
    k = int(below[0])   # C[k-1] > 0 >= C[k]
    head = float(np.sum(0.5 * (C[1:k] + C[:k - 1]) * np.diff(t[:k])))
    t0 = t[k - 1] + (t[k] - t[k - 1]) * C[k - 1] / (C[k - 1] - C[k])
    return head + 0.5 * C[k - 1] * (t0 - t[k - 1])


def equilibrium_verdict(run: xr.Dataset, config: dict | None = None) -> dict | None:
    """The equilibrium verdict of a planted run: `nishimori_check` plus the relaxation times.

    Equilibrated iff the Nishimori identity holds in every layer (student-teacher = student-student overlaps
    within ``verdict_threshold`` errors over samples), no layer is frozen, the run lasted >= TAU_FACTOR (10)
    relaxation times in every layer, and so did the guests since their copy at t_w (MODEL.md section 4; docs/experiments.md
    "Theory vs simulation").

    Parameters
    ----------
    run : xarray.Dataset
        A run's measurements (`open_run`).
    config : dict, optional
        Its config as a dict (default: read from ``run.attrs["config_json"]``).

    Returns
    -------
    dict or None
        None for a run that is not planted; else ``equilibrated`` (True, False, or None when the run cannot
        tell: fewer than 2 guests or 2 samples), ``reason`` in words, per-layer ``Q`` and ``q`` entries
        (student-teacher and student-student means, their difference and its error), ``acceptance_weight``
        and ``relaxation_time_Q`` (MC steps per layer).
    """
    config = json.loads(run.attrs["config_json"]) if config is None else config
    check = nishimori_check(run, config)
    if check is None or check.get("equilibrated") is None:
        return check
    tau = planted_relaxation_times(run, config)
    if tau is not None:
        check["relaxation_time_Q"] = tau
        check["tau_factor"] = TAU_FACTOR
        finite = [x for x in tau if np.isfinite(x)]
        short = bool(finite) and check["t"] < TAU_FACTOR * max(finite)
        # guests copied from the host at t_w start equal to it: until they have decorrelated from each other
        # the student-student overlap decays from 1 and can cross the student-teacher one by coincidence
        young = bool(finite) and check["t"] - check["t_w"] < TAU_FACTOR * max(finite)
        if short and check["equilibrated"]:
            check["equilibrated"] = False
            check["reason"] = (f"run shorter than {TAU_FACTOR:g} relaxation times (t = {check['t']}, tau_Q up to "
                               f"{max(finite):.3g}): NOT shown to be equilibrated; " + check["reason"])
        elif young and check["equilibrated"]:
            check["equilibrated"] = False
            check["reason"] = (f"guests younger than {TAU_FACTOR:g} relaxation times (t - t_w = "
                               f"{check['t'] - check['t_w']}, tau_Q up to {max(finite):.3g}): their agreement may be "
                               "a crossing, NOT shown to be equilibrated; " + check["reason"])
    return check


def equilibrium_attrs(run: xr.Dataset) -> dict:
    """The attributes that store a completed run's equilibrium verdict in its own Dataset (JSON, null if none)."""
    return {NISHIMORI_ATTR: json.dumps(json_ready(equilibrium_verdict(run)), allow_nan=False)}


def stored_nishimori(run: xr.Dataset) -> dict | None:
    """The verdict stored with the run (runs completed since it is stored), else computed from the measurements
    (also for a Nishimori verdict stored before the test used the second half of the run, ``VERDICT_WINDOW``)."""
    if NISHIMORI_ATTR in run.attrs:
        stored = json.loads(run.attrs[NISHIMORI_ATTR])
        if stored is None or "Q" not in stored or stored.get("window") == VERDICT_WINDOW:
            return stored
    if "time" not in run.dims or run.sizes["time"] == 0:
        return None
    return equilibrium_verdict(run)


def to_json(summary: dict) -> str:
    """JSON with NaN/inf as null (strict JSON has no NaN)."""
    return json.dumps(json_ready(summary), indent=2, allow_nan=False)
