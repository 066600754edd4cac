"""k-step replica symmetry breaking for the deep chain (docs/theory_rsb.md, section 3).

Every order parameter -- the weight overlap Q^l(x) of each layer and the neuron overlap q^l(x) of each
hidden layer -- is a step function with k + 1 levels and its OWN k breakpoints, all optimised
(ds/dm = 0). The gap block of layer l lives on the union of the breakpoints of q^{l-1}, Q^l, q^l.
k = 0 is the replica-symmetric chain.

Scenario: random data only (replica limit n -> 0). Teacher-student sits on the Nishimori line where
RS is exact, so RSB is not needed there; it raises ConfigError (use ansatz "rs").
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import ConfigError
from .parisi import StepFunction
from .parisi_chain import ONE, ChainState, GridOptions, Layout
from .parisi_solver import anderson_solve, to_dataset
from .problem import ChainProblem


def check_random_scenario(problem: ChainProblem, ansatz: str) -> None:
    if problem.scenario != "random":
        raise ConfigError("scenario", problem.scenario,
                          f"'random' for ansatz '{ansatz}' (teacher-student is replica symmetric on the Nishimori "
                          "line: use ansatz 'rs')")


def _levels_from_value(value: float, n: int) -> np.ndarray:
    """k+1 increasing levels ending at ``value`` (a spread guess that k-RSB may collapse if RS is right)."""
    return value * np.linspace(0.55, 1.0, n) if n > 1 else np.array([value])


def initial_state(problem: ChainProblem, steps: int, init: xr.Dataset | None) -> ChainState:
    """Warm start from any solution Dataset (its EA overlaps, or its levels for k-RSB), else a glassy guess."""
    L, n = problem.L, steps + 1
    Q, q = [None], [ONE]
    for f_index in range(1, 2 * L):
        is_Q = f_index <= L
        l = f_index if is_Q else f_index - L
        # staggered breakpoints: distinct functions never start with coincident breakpoints
        bp = np.linspace(0.25, 0.75, steps) + 0.013 * (f_index % 5) if steps else np.zeros(0)
        lv = None
        if init is not None:
            name = "Q" if is_Q else "q"
            if f"{name}_levels" in init and init.attrs.get("steps") == steps and init.attrs.get("L") == L:
                lv = np.asarray(init[f"{name}_levels"].sel(layer=l), dtype=float)
                bname = "breakpoints" if is_Q else "q_breakpoints"
                if bname in init and np.all(np.isfinite(init[bname].sel(layer=l))):
                    bp = np.asarray(init[bname].sel(layer=l), dtype=float)[1:]
            elif int(init.attrs.get("L", -1)) == L:
                lv = _levels_from_value(float(init[name].sel(layer=l)), n)
        if lv is None:
            edge = min(l, L - l + (0 if is_Q else 0))  # distance to the boundary: glassy near it
            top = 0.9 if edge <= 1 else 0.6
            lv = _levels_from_value(top, n)
        f = StepFunction(bp, np.clip(np.maximum.accumulate(lv), 0.0, 1.0 - 1e-9))
        (Q if is_Q else q).append(f)
    q.append(ONE)
    return ChainState(Q, q)


def solve_krsb_chain(problem: ChainProblem, steps: int = 1, init: xr.Dataset | None = None, tol: float = 1e-8,
                     max_iter: int = 400, field_step: float = 0.05, max_half: int = 300) -> xr.Dataset:
    """k-RSB saddle point of the chain, per-function breakpoints optimised; contract layout (ansatz "krsb")."""
    check_random_scenario(problem, "krsb")
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ConfigError("steps", steps, "an integer k >= 0 (number of RSB steps)")
    if not (0 < field_step <= 0.5):
        raise ConfigError("field_step", field_step, "a real number in (0, 0.5]")
    opts = GridOptions(field_step=field_step, max_half=int(max_half))
    state = initial_state(problem, int(steps), init)
    layout = Layout(problem.L, int(steps) + 1, optimise_breakpoints=steps > 0)
    state, ev, residual, iterations = anderson_solve(
        problem, layout, state, opts, tol=tol, max_iter=max_iter, what=f"{steps}-RSB chain (L = {problem.L}, "
        f"alpha = {problem.alpha}, kappa = {problem.kappa})")
    return to_dataset(problem, state, ev.free_entropy, ansatz="krsb", steps=int(steps), residual=residual,
                      iterations=iterations, eps=ev.eps)
