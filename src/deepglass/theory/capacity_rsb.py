"""k-RSB capacity of the chain (random data): the SAT/UNSAT load where the largest level of some gap
overlap c_l(x) = q^{l-1}(x) Q^l(x) q^l(x) reaches 1 (docs/theory.md, section 5).

Where RS is stable up to its capacity (L = 1, kappa >= 0) k-RSB collapses onto RS and both agree
(Gardner's alpha_c); where RS is unstable the k-RSB solution, with its own largest level, decides.
Method: continuation in alpha with warm starts (each load a full solve_krsb_chain: accurate polish and
refined audit) until the solve finds no solution (NoSolutionError: the volume collapses; or the map
breaks down with overlaps driven to 1) or 1 - max c < 1e-3; then 1 - max c, linear in (alpha_c - alpha)
near the capacity, is sampled just below and extrapolated to 0 by a quadratic fit. The estimate comes
only from converged, audited solutions; failed loads only bound the search (an upper bound, reported).
``min_gap`` (1 - max c at the last solution) says how close to the capacity the data came.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import ConfigError, ConvergenceError, DeepglassError, NoSolutionError
from .krsb import solve_krsb_chain
from .problem import ChainProblem


FAR = 0.05  # a failed solve with 1 - max c above this is a solver failure, not the capacity's approach


class LostBranchError(ConvergenceError):
    """The k-RSB solve collapsed onto RS where RS is unstable (or onto another RS fixed point): the RSB
    branch is lost, so no k-RSB capacity can be read off (a refusal, not a capacity)."""

    def __init__(self, what: str, reached: str):
        DeepglassError.__init__(self, f"{what}; {reached}")
        self.what, self.residual, self.iterations = what, float("nan"), 0


def _check_collapse(problem: ChainProblem, ds) -> None:
    """A collapsed k-RSB solution is accepted only if it is the RS solution and RS is stable there."""
    from .rs import solve_rs

    rs = solve_rs(problem)
    rep = rs.attrs.get("replicon_chain")
    same = np.allclose(ds["Q"].values[1:], rs["Q"].values[1:], atol=1e-6) and np.allclose(
        ds["q"].values, rs["q"].values, atol=1e-6)
    if not same or rep is None or rep <= 0:
        why = (f"RS is unstable there (replicon_chain = {rep:.3g})" if same else
               "onto a fixed point that is not the RS solution")
        raise LostBranchError(f"{ds.attrs['steps']}-RSB solve at alpha = {problem.alpha:.6g} (L = {problem.L}, "
                              f"kappa = {problem.kappa}) collapsed onto RS, {why}: the RSB branch is lost",
                              "no k-RSB capacity")


def largest_gap_level(ds) -> float:
    """max_l of the top level of c_l = q_{l-1} Q_l q_l (the EA values: the largest level of each function)."""
    Q, q = np.asarray(ds["Q"].values[1:], float), np.asarray(ds["q"].values, float)
    return float(np.max(q[:-1] * Q * q[1:]))


def krsb_capacity(template: ChainProblem, steps: int = 1, *, alpha_start: float = 0.5, alpha_max: float = 1e3,
                  growth: float = 1.25, close: float = 1e-3, rounds: int = 4, progress=None) -> dict:
    """k-RSB capacity; returns {"alpha_c": float | None (none below alpha_max; quadratic extrapolation),
    "alpha_c_linear" (linear extrapolation of the same points), "lower_bound" (= alpha_reached), "max_c", "alpha_reached",
    "collapsed_to_rs" (of the last solution), "free_entropy", "points": [(alpha, 1 - max c)] of the last fit,
    "stopped": why the scan ended}. A solve that fails to converge below the capacity propagates."""
    if template.nishimori:
        raise ConfigError("scenario", template.scenario,
                          "random (teacher-student data have no capacity: the teacher is always a solution)")
    if not np.isfinite(alpha_max) or alpha_max <= alpha_start:
        raise ConfigError("alpha_max", alpha_max, f"a finite load > {alpha_start}")

    def solve_at(a, init):
        # a collapsed (RS) start would stay RS (the map leaves that subspace invariant): start cold then,
        # from the RS solution split open, so that RSB is found where it exists
        problem = dataclasses.replace(template, alpha=float(a))
        warm = init if init is not None and not init.attrs.get("collapsed_to_rs") else None
        ds = solve_krsb_chain(problem, steps=steps, init=warm)
        if warm is not None and ds.attrs["collapsed_to_rs"]:  # a warm start can slide onto RS: try cold
            cold = solve_krsb_chain(problem, steps=steps)
            ds = ds if cold.attrs["collapsed_to_rs"] else cold
        if progress is not None:
            progress(f"alpha = {a:.6g}: max c = {largest_gap_level(ds):.8f}"
                     f"{' (collapsed onto RS)' if ds.attrs['collapsed_to_rs'] else ''}")
        if ds.attrs["collapsed_to_rs"]:
            try:
                _check_collapse(problem, ds)
            except LostBranchError as exc:
                exc.args = (f"{exc}; last RSB solution: alpha = {result['alpha_reached']}, max c = {result['max_c']}",)
                raise
        return ds

    result = {"alpha_c": None, "max_c": np.nan, "alpha_reached": np.nan, "collapsed_to_rs": None,
              "free_entropy": np.nan, "points": [], "stopped": "alpha_max"}
    last, upper, a, g = None, np.inf, float(alpha_start), float(growth)
    while a <= alpha_max:
        try:
            ds = solve_at(a, last)
        except LostBranchError:
            raise
        except ConvergenceError as exc:  # NoSolutionError, or the map broke down (overlaps driven to 1)
            if last is None:
                raise
            if not isinstance(exc, NoSolutionError) and g - 1.0 > (growth - 1.0) / 16.0:
                # a warm start too far from the new load (the RSB branch moves fast near a capacity: m and
                # 1 - max c both -> 0): retry from the last solution with half the step, up to 4 times
                g = 1.0 + 0.5 * (g - 1.0)
                a = result["alpha_reached"] * g
                continue
            result["stopped"] = "no solution" if isinstance(exc, NoSolutionError) else "map broke down"
            upper = a if isinstance(exc, NoSolutionError) else np.inf
            break
        last = ds
        result.update(max_c=largest_gap_level(ds), alpha_reached=a, free_entropy=float(ds.attrs["free_entropy"]),
                      collapsed_to_rs=bool(ds.attrs["collapsed_to_rs"]))
        if 1.0 - result["max_c"] < close:
            result["stopped"] = "max c within 1e-3 of 1"
            break
        a *= g
    if result["stopped"] == "alpha_max":
        return result
    if result["stopped"] == "map broke down" and 1.0 - result["max_c"] > FAR:
        raise ConvergenceError(f"{steps}-RSB capacity (L = {template.L}, kappa = {template.kappa}): the solve failed at "
                               f"alpha = {a:.6g} while max c = {result['max_c']:.4f} (at alpha = "
                               f"{result['alpha_reached']:.6g}) is still far from 1: no capacity can be extrapolated",
                               float("nan"), 0)
    if last is None:
        raise ConvergenceError(f"{steps}-RSB capacity (L = {template.L}, kappa = {template.kappa}): no solution "
                               f"even at the first load {alpha_start}", float("inf"), 0)
    # refine between the last solved load and the first unsolvable one (or beyond the close one)
    lo = result["alpha_reached"]
    hi = min(upper, a if a > lo else lo * growth)
    pts = [(lo, 1.0 - result["max_c"])]
    estimate = None
    for _ in range(rounds):
        trial = lo + (hi - lo) * (np.array([0.25, 0.5, 0.75]) if estimate is None else np.array([0.3, 0.6]))
        for t in trial:
            if t <= lo or t >= upper or t >= hi:
                continue
            try:
                ds = solve_at(t, last)
            except LostBranchError:
                raise
            except NoSolutionError:  # beyond the capacity: an upper bound
                upper = min(upper, t)
                continue
            except ConvergenceError:  # the map broke down close to 1: no bound, the fit decides
                hi = min(hi, t)
                continue
            last, lo = ds, t
            pts.append((t, 1.0 - largest_gap_level(ds)))
            result.update(max_c=largest_gap_level(ds), alpha_reached=float(t), free_entropy=float(ds.attrs["free_entropy"]),
                          collapsed_to_rs=bool(ds.attrs["collapsed_to_rs"]))
        use = sorted(pts)[-4:]
        if len(use) < 3:
            hi = lo + 0.5 * (min(upper, hi) - lo)
            continue
        fa, fg = np.array(use).T
        roots = np.roots(np.polyfit(fa, fg, 2))
        real = roots[np.isreal(roots)].real
        real = real[real >= fa.max()]
        if not real.size:
            break
        estimate = float(min(real.min(), upper))
        hi = min(estimate, hi) if estimate > lo else estimate
    result["alpha_c"] = estimate
    # how far the extrapolation reaches: the linear root from the same last points (close to the quadratic
    # one when the data come close to 1); a solution exists at alpha_reached, a lower bound in this ansatz
    fa, fg = np.array(sorted(pts)[-4:]).T
    slope = np.polyfit(fa, fg, 1)[0] if fa.size >= 2 else np.nan
    result["alpha_c_linear"] = float(fa[-1] - fg[-1] / slope) if slope < 0 else None
    result["lower_bound"] = float(result["alpha_reached"])
    result["upper_bound"] = None if not np.isfinite(upper) else float(upper)
    result["min_gap"] = float(1.0 - result["max_c"])
    result["points"] = [(float(x), float(y)) for x, y in sorted(pts)]
    return result
