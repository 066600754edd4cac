"""Solving the Parisi chain saddle point: Anderson-accelerated levels, breakpoints in an outer loop.

Anderson mixing (type II, a multisecant quasi-Newton method, equivalent to GMRES on linear problems)
finds the zero of r(x) = T(x) - x whether or not the plain iteration x <- T(x) contracts, which matters
for the breakpoint equations ds/dm = 0 (saddle, not maximum, conditions).

Breakpoints: by default Newton steps on the reduced equations (parisi_newton.py, docs/theory.md R4a);
the nested secant iteration below is kept as breakpoint_method "nested" and as the fallback.
Levels and breakpoints are solved in a nested way: at fixed breakpoints the level map is a contraction-
like RS-type iteration with an isolated fixed point -- also when k-RSB collapses onto RS (equal levels),
where ds/dm = 0 identically and the outer loop stops at once. Solving both together would make that
collapse a singular, infinitely slow direction (the breakpoints are then undetermined).
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import xarray as xr

from ..errors import ConvergenceError, NoSolutionError
from .parisi_chain import (
    ChainState,
    GridOptions,
    breakpoint_gradient,
    functions,
    level_residual,
    level_spread,
    pack_breakpoints,
    pack_levels,
    step_jumps,
    unpack_breakpoints,
    unpack_levels,
)
from .anderson import anderson
from .parisi_newton import Collapsed, newton_breakpoints
from .problem import ChainProblem

BREAKPOINT_METHODS = ("newton", "nested")  # newton: parisi_newton.py; nested: the secant iteration below (the old path)


def project_levels(y: np.ndarray, sizes: list, collapse: float) -> np.ndarray:
    """Packed levels (y = -log(1 - level), one segment per function) made admissible: >= 0, nondecreasing.

    A function whose levels have (almost) merged is snapped onto the replica-symmetric subspace, which
    the map leaves invariant: the monotonicity constraint would otherwise put a kink right at the
    collapsed solution and stall the secant steps.
    """
    y = np.maximum(y, 0.0)
    out, start = [], 0
    for n in sizes:
        seg = np.maximum.accumulate(y[start:start + n])
        if n > 1 and seg[-1] - seg[0] < collapse * (1.0 + seg[-1]):
            seg = np.full(n, seg.mean())
        out.append(seg)
        start += n
    return np.concatenate(out)


def solve_levels(problem: ChainProblem, state: ChainState, opts: GridOptions, *, tol: float, max_iter: int,
                 collapse: float = 1e-6, memory: int = 6, mixing: float = 0.5):
    """Levels at fixed breakpoints; returns (state, evaluation, residual, iterations, converged)."""
    L = problem.L

    def fun(y):
        st = unpack_levels(y, state, L)
        r, ev = level_residual(problem, st, opts)
        return r, (st, ev)

    sizes = [f.levels.size for f in functions(state, L)]

    def project(y):
        return project_levels(y, sizes, collapse)

    y, (st, ev), res, it, ok = anderson(fun, pack_levels(state, L), tol=tol, max_iter=max_iter, project=project,
                                        memory=memory, mixing=mixing)
    return st, ev, res, it, ok


def solve_levels_fast(problem: ChainProblem, state: ChainState, opts: GridOptions, *, tol: float, max_iter: int,
                      collapse: float = 1e-6):
    """solve_levels with a longer Anderson memory (10 instead of 6): fewer evaluations (full RSB, L = 1,
    kappa = -1, alpha = 10: 62 against 90; docs/theory.md R4a). Where it fails, the default iteration from
    the same start (evaluations summed). Undamped mixing (1.0) was faster still (3-RSB, L = 10, alpha = 6:
    349 evaluations against 459) but is *not* used: it converged to other, wrong fixed points of the
    full-RSB level map (L = 1, kappa = -1, alpha = 10: s = -2.3572254, above the 1RSB value -2.3572337)."""
    st, ev, res, it, ok = solve_levels(problem, state, opts, tol=tol, max_iter=max_iter, collapse=collapse, memory=10)
    if ok:
        return st, ev, res, it, ok
    st, ev, res, it2, ok = solve_levels(problem, state, opts, tol=tol, max_iter=max_iter, collapse=collapse)
    return st, ev, res, it + it2, ok


def breakpoint_trust_region(m: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Breakpoints proposed by a secant step, limited to [last/4, last + 3/4 (1 - last)] and sorted.

    Why: near a capacity the breakpoint of the RSB branch goes to 0 (m ~ 1 - q_max, the jamming scaling),
    and an undamped secant step from a warm start (m = 0.153 at alpha = 10.8, L = 1, kappa = -1; answer
    0.079 at 11.6) overshot to the clip m = 0, where the level solve forgets the lower level; the next
    iterate then collapsed onto RS and the branch was lost. A breakpoint can still shrink by 4x per step.
    """
    last = np.asarray(last, dtype=float)
    return np.sort(np.clip(np.clip(m, 0.25 * last, last + 0.75 * (1.0 - last)), 0.0, 1.0))


def solve_joint(problem: ChainProblem, state: ChainState, opts: GridOptions, *, tol: float, max_iter: int,
                breakpoint_step: float = 0.5, collapse: float = 1e-6, trust: bool = False):
    """Levels and shared breakpoints in one Anderson iteration; residual (T(y) - y, ds/dm / jump^2).

    Returns (state, evaluation, residual, iterations, converged); residual is the max of the level
    residual and the raw |ds/dm|.
    """
    L = problem.L
    ny = pack_levels(state, L).size
    sizes = [f.levels.size for f in functions(state, L)]

    def split(x):
        return unpack_breakpoints(x[ny:], unpack_levels(x[:ny], state, L), L)

    last = {"m": pack_breakpoints(state, L)}

    def project(x):
        m = breakpoint_trust_region(x[ny:], last["m"]) if trust else np.sort(np.clip(x[ny:], 0.0, 1.0))
        return np.concatenate([project_levels(x[:ny], sizes, collapse), m])

    def fun(x):
        last["m"] = x[ny:].copy()
        st = split(x)
        r, ev = level_residual(problem, st, opts)
        g = breakpoint_gradient(ev, L)
        jump2 = step_jumps(st, L) ** 2 + 1e-14
        raw = max(float(np.max(np.abs(r))), float(np.max(np.abs(g))))
        # converged when both the levels and ds/dm are below tol: report the scaled part only above tol
        scaled = np.where(np.abs(g) < tol, 0.0, breakpoint_step * g / jump2)
        return np.concatenate([r, scaled]), (st, ev, raw)

    x0 = np.concatenate([pack_levels(state, L), pack_breakpoints(state, L)])
    x, (st, ev, raw), res, it, ok = anderson(fun, x0, tol=tol, max_iter=max_iter, memory=10, project=project)
    return st, ev, raw, it, ok


def solve_chain(problem: ChainProblem, state: ChainState, opts: GridOptions, *, tol: float, max_iter: int,
                optimise_breakpoints: bool, what: str, retry_on_collapse: bool = False, method: str = "newton",
                **options):
    """Levels (inner) and breakpoints (outer, ds/dm = 0); raises ConvergenceError if every pass fails.

    ``method`` "newton" (default): Newton steps on the breakpoints (parisi_newton.newton_breakpoints); if
    they fail, or collapse onto RS from a warm RSB start (``retry_on_collapse``), the nested passes below
    from the same start, every evaluation counted. "nested" (the old path, kept for comparison): first the fast pass (ascent-signed secant steps on the breakpoints, clipped to [0, 1]); if it fails,
    or collapses onto RS from a start on the RSB branch (``retry_on_collapse``: a warm k-RSB start), the
    robust pass from the same start: descent steps in a trust region (breakpoint_trust_region). Why two:
    near a capacity only the robust pass keeps the branch (L = 1, kappa = -1: 1 - c from 0.013 to 6.8e-4),
    but in the bulk it needs 2-5x more evaluations (3-RSB, L = 10, alpha = 6: 1604 against 302).
    """
    if method not in BREAKPOINT_METHODS:
        raise ValueError(f"breakpoint method {method!r} not in {BREAKPOINT_METHODS}")
    warm_rsb = level_spread(state, problem.L) > 0
    spent = 0
    if method == "newton" and optimise_breakpoints and pack_breakpoints(state, problem.L).size:
        try:
            out = _solve_newton(problem, state, opts, tol=tol, max_iter=max_iter, what=what)
            if not (retry_on_collapse and out[4] and warm_rsb):
                return out
            spent = out[3]
        except ConvergenceError as exc:
            if type(exc) is not ConvergenceError:
                raise
            spent = int(exc.iterations)
    try:
        out = _solve_chain(problem, state, opts, tol=tol, max_iter=max_iter, optimise_breakpoints=optimise_breakpoints,
                           what=what, robust=False, **options)
        first = out[3] + spent
        out = out[:3] + (first,) + out[4:]
    except ConvergenceError as exc:
        if not optimise_breakpoints or pack_breakpoints(state, problem.L).size == 0:
            raise
        out, first = None, int(exc.iterations) + spent
    if out is not None and not (retry_on_collapse and out[4] and warm_rsb):
        return out
    try:
        st, ev, res, it, coll = _solve_chain(problem, state, opts, tol=tol, max_iter=max_iter,
                                             optimise_breakpoints=optimise_breakpoints, what=what, robust=True,
                                             **options)
    except ConvergenceError as exc:
        if type(exc) is not ConvergenceError:
            raise
        exc.iterations += first  # every evaluation counts (issue 9)
        exc.args = (f"{exc.what} did not converge: residual {exc.residual:.3e} after {exc.iterations} iterations",)
        raise
    return st, ev, res, first + it, coll


def _solve_newton(problem: ChainProblem, state: ChainState, opts: GridOptions, *, tol: float, max_iter: int, what: str):
    """Newton on the breakpoints (parisi_newton.py); where the steps close, the RS point solved directly."""
    try:
        return newton_breakpoints(problem, state, opts, solve_levels_fast, tol=tol, max_iter=max_iter, what=what)
    except Collapsed as exc:
        st, ev, res, it, ok = solve_levels(problem, exc.state, opts, tol=tol, max_iter=max_iter, collapse=np.inf)
        if not ok:
            raise ConvergenceError(what + " (collapsed onto RS)", res, exc.iterations + it) from None
        return st, ev, res, exc.iterations + it, True


def _solve_chain(problem: ChainProblem, state: ChainState, opts: GridOptions, *, tol: float, max_iter: int,
                 optimise_breakpoints: bool, what: str, robust: bool, breakpoint_step: float = 0.5,
                 max_outer: int = 80, collapse_spread: float = 2e-3, polish_from: float = 1e-3,
                 try_joint_first: bool = False, joint_iter: int = 300):
    """One pass of solve_chain (``robust``: descent steps in a trust region, see solve_chain).

    Returns (state, evaluation, residual, iterations, collapsed). ``collapsed``: the steps closed while the
    breakpoints converged (levels merging, ds/dm ~ spread^2 -> 0: a double root in m, approached only
    linearly); the replica-symmetric point, an exact solution of the k-RSB equations for any breakpoints,
    is then solved for directly and returned.
    """
    L = problem.L
    total = 0
    if optimise_breakpoints and try_joint_first and level_spread(state, L) > 0:
        # from a start already on the RSB branch (continuation in k) the joint iteration is fastest;
        # accepted only if it stays on that branch
        st, ev, raw, it, ok = solve_joint(problem, state, opts, tol=tol, max_iter=joint_iter, trust=robust)
        total += it
        if ok and level_spread(st, L) > 0.5 * level_spread(state, L):
            return st, ev, raw, total, False
    st, ev, res, it, ok = solve_levels(problem, state, opts, tol=tol, max_iter=max_iter)
    total += it
    if not ok:
        raise ConvergenceError(what + " (levels)", res, total)
    if not optimise_breakpoints or pack_breakpoints(st, L).size == 0 or level_spread(st, L) == 0.0:
        return st, ev, res, total, level_spread(st, L) == 0.0
    holder = {"state": st, "spreads": []}

    class Collapsed(Exception):
        pass

    outer_tol = max(tol, polish_from)
    holder["g"] = np.array([1.0])

    def fun(m):
        nonlocal total
        holder["m"] = np.asarray(m, dtype=float).copy()
        trial = unpack_breakpoints(m, holder["state"], L)
        # inexact inner solves: levels a little more precise than the current breakpoint residual
        inner_tol = float(np.clip(1e-2 * np.max(np.abs(holder["g"])), 1e-2 * outer_tol, 1e-6))
        s2, ev2, res2, it2, ok2 = solve_levels(problem, trial, opts, tol=inner_tol, max_iter=max_iter)
        total += it2
        if not ok2:
            raise ConvergenceError(what + " (levels at fixed breakpoints)", res2, total)
        holder["state"] = s2
        spreads = holder["spreads"]
        spreads.append(level_spread(s2, L))
        if len(spreads) >= 4 and spreads[-1] < collapse_spread and spreads[-1] < spreads[-2] < spreads[-3] < spreads[-4]:
            raise Collapsed
        g = breakpoint_gradient(ev2, L)
        # ds/dm_i ~ A_i(m) (jump_i)^2: the zero of A_i is the equation, well scaled whatever the jump size
        jump2 = step_jumps(s2, L) ** 2 + 1e-14
        holder["g"] = g
        # robust pass: the plain step descends s in m: the saddle is a minimum of s(m) (levels at their fixed point;
        # Parisi's functional is minimised over x(q)), ds/dm < 0 below it and > 0 above. The old ascent
        # step (+ g) relied on the secant to flip it and, from a warm start on the far side of the hump of
        # ds/dm near a capacity (L = 1, kappa = -1, alpha = 12.2: ds/dm = +11.8 at the previous m = 0.037,
        # root 0.014), walked m to 1
        return (-1.0 if robust else 1.0) * breakpoint_step * g / jump2, (s2, ev2, res2)

    def outer(start, tolerance):
        holder["m"] = pack_breakpoints(start, L)
        return anderson(fun, pack_breakpoints(start, L), tol=tolerance, max_iter=max_outer, memory=8,
                        project=lambda m: breakpoint_trust_region(m, holder["m"]) if robust else np.clip(m, 0.0, 1.0))

    try:
        m, (st, ev, res_levels), res_m, it_m, ok = outer(st, outer_tol)
        if ok:
            # polish levels and breakpoints together from this robustly found point (fast locally)
            # capped like polish(): from here the joint iteration converges in ~10-20 steps or not at all;
            # uncapped, a failing one ran all max_iter = 1000 evaluations (a third of a 300 s 1RSB solve
            # at L = 3, alpha = 3, near the RS instability) before the nested iteration finished anyway
            st2, ev2, raw, it, ok2 = solve_joint(problem, st, opts, tol=tol, max_iter=min(max_iter, joint_iter),
                                                 trust=robust)
            total += it
            if ok2 and level_spread(st2, L) > 0.5 * level_spread(st, L):  # same branch, not fallen onto RS
                return st2, ev2, raw, total, False
            if outer_tol > tol:  # polish failed: finish the nested iteration instead
                outer_tol = tol
                m, (st, ev, res_levels), res_m, it_m, ok = outer(st, tol)
    except Collapsed:
        st, ev, res, it, ok = solve_levels(problem, holder["state"], opts, tol=tol, max_iter=max_iter,
                                           collapse=np.inf)
        total += it
        if not ok:
            raise ConvergenceError(what + " (collapsed onto RS)", res, total) from None
        return st, ev, res, total, True
    g_final = float(np.max(np.abs(breakpoint_gradient(ev, L))))
    residual = max(res_levels, g_final)
    if residual > tol:  # the saddle-point residual decides, not the iteration's own stopping flag
        raise ConvergenceError(what + " (breakpoints)", residual, total)
    return st, ev, residual, total, False


def polish(problem: ChainProblem, state: ChainState, opts: GridOptions, *, tol: float, max_iter: int,
           optimise_breakpoints: bool, collapsed: bool, what: str, method: str = "newton"):
    """Second stage of a solve: from a solution found with a cheaper quadrature, the saddle point with ``opts``.

    solve_chain from that start (``method`` "newton": Newton steps on the breakpoints; "nested", the old
    path: first levels and breakpoints together, a few secant steps, and if that leaves the RSB branch or
    fails, the robust nested iteration). Returns what
    solve_chain returns; every residual in it is one of ``opts``.
    """
    L = problem.L
    if collapsed or not optimise_breakpoints or pack_breakpoints(state, L).size == 0:
        st, ev, res, it, ok = solve_levels(problem, state, opts, tol=tol, max_iter=max_iter,
                                           collapse=np.inf if collapsed else 1e-6)
        if not ok:
            raise ConvergenceError(what + " (levels)", res, it)
        return st, ev, res, it, collapsed or level_spread(st, L) == 0.0
    it = 0
    if method == "nested":
        st, ev, raw, it, ok = solve_joint(problem, state, opts, tol=tol, max_iter=min(max_iter, 200))
        if ok and level_spread(st, L) > 0.5 * level_spread(state, L):
            return st, ev, raw, it, False
    st, ev, res, it2, coll = solve_chain(problem, state, opts, tol=tol, max_iter=max_iter,
                                         optimise_breakpoints=True, what=what, retry_on_collapse=True, method=method)
    return st, ev, res, it + it2, coll


@contextmanager
def map_breakdown_as_convergence_error(what: str):
    """The saddle-point map can only fail numerically when overlaps are driven to 1 (conjugates -> infinity:
    the volume of solutions collapses); report that as a ConvergenceError, not a traceback."""
    try:
        yield
    except (ValueError, FloatingPointError, ZeroDivisionError, OverflowError) as exc:
        raise ConvergenceError(what + f": the saddle-point map broke down ({exc}); overlaps are driven to 1, the "
                               "volume of solutions collapses (beyond capacity?)", float("nan"), 0) from None


COLLAPSE_LEVEL = 1.0 - 1e-10  # a level this close to 1: the volume of solutions has collapsed


def check_solution(problem: ChainProblem, state: ChainState, ev, opts: GridOptions, residual: float, what: str,
                   *, iterations: int, breakpoints: bool, tol: float) -> dict:
    """Audit of a converged solution with a refined quadrature (parisi_quadrature.QuadratureOptions.refined).

    Raises ConvergenceError where the volume collapses (a level at 1: beyond capacity, the iteration only
    stopped at the clip 1 - 1e-12 of the levels) or the free entropy is not finite. Returns attrs:
    ``residual`` (max of the solver's residual and the saddle-point residual re-evaluated with the refined
    quadrature, so a wrong solution cannot show residual 0), ``residual_refined``, ``quadrature_error``
    (|s - s_refined|) and ``free_entropy_refined``.
    """
    top = max(float(np.max(f.levels)) for f in functions(state, problem.L))
    if top >= COLLAPSE_LEVEL or not np.isfinite(ev.free_entropy):
        raise NoSolutionError(what, f"the volume of solutions collapses (largest overlap level 1 - {1 - top:.1e}, "
                              "free entropy -> -infinity): beyond capacity", iterations)
    r_ref, ev_ref = level_residual(problem, state, opts.refined())
    refined = float(np.max(np.abs(r_ref))) if r_ref.size else 0.0
    if breakpoints:
        g = breakpoint_gradient(ev_ref, problem.L)
        if g is not None and g.size:
            refined = max(refined, float(np.max(np.abs(g))))
    total = max(float(residual), refined)
    if total > max(1e3 * tol, 1e-6):
        raise ConvergenceError(what + " (residual re-evaluated with the refined quadrature)", total, iterations)
    return {"residual": total, "residual_refined": refined, "free_entropy_refined": float(ev_ref.free_entropy),
            "quadrature_error": abs(float(ev.free_entropy) - float(ev_ref.free_entropy))}


def to_dataset(problem: ChainProblem, state: ChainState, free_entropy: float, *, ansatz: str, steps: int,
               residual: float, iterations: int, collapsed: bool = False, n_x: int = 101) -> xr.Dataset:
    """The theory contract's layout: q, Q per layer (EA values), q_x, Q_x on an x grid, levels/breakpoints."""
    L = problem.L
    layer = np.arange(L + 1)
    x = np.linspace(0.0, 1.0, n_x)
    nan = np.full(n_x, np.nan)
    q_x = np.array([state.q[l](x) for l in layer])
    Q_x = np.array([nan] + [state.Q[l](x) for l in range(1, L + 1)])
    q_ea = np.array([state.q[l].levels[-1] for l in layer])
    Q_ea = np.array([np.nan] + [state.Q[l].levels[-1] for l in range(1, L + 1)])
    data = {"q": ("layer", q_ea), "Q": ("layer", Q_ea), "q_x": (("layer", "x"), q_x), "Q_x": (("layer", "x"), Q_x)}
    coords = {"layer": layer, "x": x}
    if ansatz == "krsb":
        nl = steps + 1
        nan_l = np.full(nl, np.nan)

        def levels(f):
            return f.levels if f.levels.size == nl else np.full(nl, f.levels[0])

        def bps(f):
            return np.concatenate([[0.0], f.breakpoints])

        data["q_levels"] = (("layer", "level"), np.array([levels(state.q[l]) for l in layer]))
        data["Q_levels"] = (("layer", "level"), np.array([nan_l] + [levels(state.Q[l]) for l in range(1, L + 1)]))
        data["breakpoints"] = (("layer", "level"), np.array([nan_l] + [bps(state.Q[l]) for l in range(1, L + 1)]))
        coords["level"] = np.arange(nl)
    ds = xr.Dataset(data, coords=coords)
    if ansatz == "krsb":
        ds["breakpoints"].attrs["description"] = ("m_0 = 0, m_1..m_k: the breakpoints of the Parisi hierarchy, shared "
                                                  "by all layers (a layer's steps may close: equal levels)")
    ds.attrs.update(ansatz=ansatz, steps=int(steps), scenario=problem.scenario, L=int(L), alpha=float(problem.alpha),
                    kappa=float(problem.kappa), field=float(problem.field), free_entropy=float(free_entropy),
                    residual=float(residual), iterations=int(iterations), converged=1,
                    collapsed_to_rs=int(bool(collapsed)))
    return ds
