"""The layer profile figure of real-data runs: per-layer guest-guest overlaps (layer on x) at several M, with the
1/e line of the solid / liquid rule, and the test accuracy over time (experiments/layer_profile.py computes the
profiles; this module only draws the Datasets it is given)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ..atomic import atomic_path


def layer_profile_figure(profiles: list[xr.Dataset], runs: list[xr.Dataset], path: str | Path) -> dict:
    """Left: q_l (neurons, hidden layers) and Q_l (weights) against l, one line per run (label M); right: the
    test accuracy against MC time. Returns the drawn numbers, by M."""
    fig = Figure(figsize=(11, 4))
    ax_q, ax_acc = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    drawn = {}
    for n, (prof, run) in enumerate(zip(profiles, runs)):
        color = f"C{n % 10}"
        M, L = prof.attrs["M"], prof.attrs["L"]
        layers = np.arange(L + 1)
        q, Q = prof["q_mean"].values, prof["Q_mean"].values
        ax_q.errorbar(layers, q, yerr=prof["q_sem"].values, color=color, marker="o", label=f"q_l, M = {M}")
        ax_q.errorbar(layers[1:], Q[1:], yerr=prof["Q_sem"].values[1:], color=color, marker="s", ls="--",
                      label=f"Q_l, M = {M}")
        entry = {"q": q.tolist(), "Q": Q.tolist()}
        if "test_accuracy" in run:
            acc = run["test_accuracy"].mean("sample")
            ax_acc.semilogx(run["time"].values, acc.values, color=color, label=f"M = {M}")
            entry["test_accuracy"] = acc.values.tolist()
        drawn[M] = entry
    ax_q.axhline(float(np.exp(-1)), color="k", lw=0.8, ls=":", label="1/e (solid above)")
    ax_q.set_xlabel("layer l")
    ax_q.set_ylabel("guest-guest overlap at the last time")
    tw = profiles[0].attrs["tw"] if profiles else 0
    ax_q.set_title(f"layer profile (t_w = {tw})")
    ax_q.legend(fontsize=7)
    ax_acc.set_xlabel("MC time t")
    ax_acc.set_ylabel("test accuracy")
    ax_acc.set_title("test accuracy of the host")
    if any("test_accuracy" in r for r in runs):
        ax_acc.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:   # a reader never sees half a file
        fig.savefig(tmp, dpi=110, format="png")
    return drawn
