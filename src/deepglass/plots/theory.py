"""Figures of the replica theory: phase diagram in (layer, alpha), profiles, q(x, l), field response."""
from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..theory import ChainProblem, solve, solve_curve  # noqa: E402
from ..theory.field import field_response  # noqa: E402
from ..theory.transitions import find_transitions  # noqa: E402


def _save_atomic(fig, out: Path) -> None:
    out = Path(out)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=out.suffix, dir=out.parent or ".")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=130, bbox_inches="tight")
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    finally:
        plt.close(fig)


def _regions(ax, alpha_g: np.ndarray, a_lo: float, a_hi: float) -> None:
    """Shade, for each weight layer, the liquid (alpha < alpha_g(l)) and the frozen region above."""
    for l, a in enumerate(alpha_g, start=1):
        top = a_hi if not np.isfinite(a) else max(a, a_lo)
        ax.fill_between([l - 0.5, l + 0.5], a_lo, top, color="#cfe3f5", lw=0)
        if np.isfinite(a):
            ax.fill_between([l - 0.5, l + 0.5], top, a_hi, color="#f6c89a", lw=0)


def phase_diagram_figure(problem: ChainProblem, *, alpha_max: float, ansatz: str = "rs", steps: int = 1,
                         out: Path, n_profiles: int = 6) -> dict:
    """Three panels: (a) liquid/frozen regions with alpha_g(l) and the fits exp(a + l/xi), e^a l^b;
    (b) profiles Q_l and q_l at several loads; (c) for RSB ansatzes, q(x, l) at one load."""
    L = problem.L
    tr = find_transitions(problem, alpha_max=alpha_max)
    a_g = tr.alpha_g_weights
    finite = a_g[np.isfinite(a_g) & (a_g > 0)]
    a_lo = 0.5 * (finite.min() if finite.size else alpha_max / 100)
    n_panels = 3 if ansatz != "rs" else 2
    fig, axes = plt.subplots(1, n_panels, figsize=(5.2 * n_panels, 4.4))
    ax = axes[0]
    _regions(ax, a_g, a_lo, alpha_max)
    layers = np.arange(1, L + 1)
    ax.plot(layers[np.isfinite(a_g)], a_g[np.isfinite(a_g)], "ko", ms=4, label=r"$\alpha_g(l)$ (stability root)")
    if np.isfinite(tr.xi):
        ll = np.linspace(1, (L + 1) / 2, 100)
        fit = np.exp(tr.fit_intercept + ll / tr.xi)
        ax.plot(ll, fit, "k--", lw=1, label=rf"fit $e^{{a+l/\xi}}$, $\xi$={tr.xi:.2f}")
        ax.plot(L + 1 - ll, fit, "k--", lw=1)
    b = tr.growth.get("power", {}).get("exponent", np.nan) if tr.growth else np.nan
    if np.isfinite(b):
        ll = np.linspace(1, (L + 1) / 2, 100)
        fit = np.exp(tr.growth["power"]["intercept"] + b * np.log(ll))
        ax.plot(ll, fit, "k:", lw=1.2, label=rf"fit $e^a l^b$, $b$={b:.2f}")
        ax.plot(L + 1 - ll, fit, "k:", lw=1.2)
    ax.set_yscale("log")
    ax.set_ylim(a_lo, alpha_max)
    ax.set_xlim(0.5, L + 0.5)
    ax.set_xlabel("weight layer l")
    ax.set_ylabel(r"load $\alpha$")
    ax.set_title(f"{problem.scenario}, L={L}: liquid (blue) / frozen (orange)")
    ax.legend(fontsize=8, loc="lower center")

    ax = axes[1]
    alphas = np.geomspace(max(a_lo, 0.05), alpha_max, n_profiles)
    curve = solve_curve(dataclasses.replace(problem, alpha=float(alphas[0])), alphas)
    colors = plt.cm.viridis(np.linspace(0, 0.9, n_profiles))
    for a, col in zip(alphas, colors):
        sol = curve.sel(alpha=a)
        ax.plot(np.arange(1, L + 1), sol.Q.values[1:], "-o", color=col, ms=3, label=rf"$\alpha$={a:.3g}")
        ax.plot(np.arange(0, L + 1), sol.q.values, "--", color=col, lw=1)
    ax.set_xlabel("layer l")
    ax.set_ylabel(r"$Q_l$ (solid), $q_l$ (dashed)")
    ax.set_title("RS overlap profiles")
    ax.legend(fontsize=7)

    if ansatz != "rs":
        ax = axes[2]
        a_mid = float(np.sqrt(a_lo * alpha_max))
        sol = solve(dataclasses.replace(problem, alpha=a_mid), ansatz, steps=steps)
        if "q_x" in sol:
            x = sol["x"].values
            for l, col in zip(range(L + 1), plt.cm.plasma(np.linspace(0, 0.9, L + 1))):
                ax.plot(x, sol["q_x"].sel(layer=l).values, color=col, label=f"l={l}")
        ax.set_xlabel("x")
        ax.set_ylabel("q(x, l)")
        ax.set_title(rf"{ansatz} at $\alpha$={a_mid:.3g}")
        ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    _save_atomic(fig, out)
    return tr.as_dict()


def field_response_figure(problem: ChainProblem, fields, *, alpha_max: float, out: Path):
    """Profiles q_l at the template's load and alpha_g(l) for several fields h on the central layer(s)."""
    fr = field_response(problem, fields, alpha_max=alpha_max)
    fig, axes = plt.subplots(1, 2, figsize=(10.4, 4.2))
    colors = plt.cm.magma(np.linspace(0, 0.8, fr.sizes["field"]))
    for h, col in zip(fr.field.values, colors):
        sol = fr.sel(field=h)
        axes[0].plot(sol.layer, sol.q, "-o", color=col, ms=3, label=f"h={h:g}")
        axes[1].plot(sol.layer[1:], sol.alpha_g[1:], "-o", color=col, ms=3, label=f"h={h:g}")
    axes[0].set_xlabel("layer l")
    axes[0].set_ylabel(r"$q_l$")
    axes[0].set_title(rf"{problem.scenario}, L={problem.L}, $\alpha$={problem.alpha:g}")
    axes[1].set_yscale("log")
    axes[1].set_xlabel("weight layer l")
    axes[1].set_ylabel(r"$\alpha_g(l)$")
    axes[1].set_title("transitions vs field (field layers: %s)" % (list(problem.field_layers),))
    for a in axes:
        a.legend(fontsize=8)
    fig.tight_layout()
    _save_atomic(fig, out)
    return fr
