"""The final state of a stored run as plain numbers (for ``deepglass info``)."""
from __future__ import annotations

import json
import math

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

    ``violations`` is the total number of violated host gaps summed over samples (an integer, 0 iff every
    sample is solved); ``violations_per_sample`` is its mean. Layer lists cover ``layers`` = 1..L.
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
    if "teacher_q" in last:
        final["teacher_overlap_q"] = _layers_mean(last["teacher_q"], layers)
    if "teacher_Q" in last:
        final["teacher_overlap_Q"] = _layers_mean(last["teacher_Q"], layers)
    for name, key in (("q_replica", "replica_overlap_q"), ("Q_replica", "replica_overlap_Q")):
        if name in last:  # one profile per waiting time
            final[key] = {f"t_w={int(tw)}": _layers_mean(last[name].sel(tw=tw), layers) for tw in last["tw"].values}
    summary["final"] = final
    return summary


def to_json(summary: dict) -> str:
    """JSON with NaN/inf as null (strict JSON has no NaN)."""
    return json.dumps(json_ready(summary), indent=2, allow_nan=False)
