"""The one entry point of the theory (docs/theory.md section 2): solve(problem, ansatz) -> xr.Dataset."""
from __future__ import annotations

import importlib

import xarray as xr

from ..errors import ConfigError
from .problem import ChainProblem
from .rs import solve_rs

ANSATZES = ("rs", "krsb", "frsb")
"""The ansatzes `solve` accepts: replica symmetric, k-step and full replica symmetry breaking."""
MAX_RSB_STEPS = 6  # k-RSB cost grows ~ k^2 (3-RSB at L = 10: ~10 s); 6 levels resolve q(x) finer than needed
"""The largest number of breaking steps k that `solve(..., "krsb", steps=k)` accepts."""


def _rsb_solver(module: str, name: str):
    """Import an RSB solver lazily: it lives in the Parisi machinery, which may be absent."""
    try:
        mod = importlib.import_module(f"deepglass.theory.{module}")
        return getattr(mod, name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError("ansatz", module, f"'rs' only: deepglass.theory.{module}.{name} is not available "
                                            f"in this installation ({exc})") from None


def solve(problem: ChainProblem, ansatz: str = "rs", *, steps: int = 1, init: xr.Dataset | None = None,
          tol: float = 1e-10, max_iter: int = 5000, **grid_options) -> xr.Dataset:
    """Solve the chain free entropy of MODEL.md section 5 under one ansatz, all layers at once.

    "rs" -> `deepglass.theory.rs.solve_rs`; "krsb" -> `krsb.solve_krsb_chain(steps=k)`;
    "frsb" -> `frsb.solve_frsb_chain` (derivations: docs/theory.md sections 1-2 and R1-R9). Never a silent
    wrong answer: a solver that does not converge, or a load without a solution, raises.

    Parameters
    ----------
    problem : ChainProblem
        Scenario, depth L, load alpha = M / c, margin kappa, optional symmetry-breaking field.
    ansatz : {"rs", "krsb", "frsb"}
        Replica symmetric, k-step or full replica symmetry breaking (RSB: random data only).
    steps : int
        k-RSB only: the number of breaking steps, 1 <= k <= MAX_RSB_STEPS.
    init : xarray.Dataset, optional
        A previous solution (same L) to start from (continuation, as in `solve_curve`).
    tol : float
        Convergence tolerance of the solver's fixed-point residual.
    max_iter : int
        Iteration limit of the RS solver.
    **grid_options
        RSB only: options of the RSB solvers (e.g. ``panel_nodes``; full RSB: ``n_x`` cells of the x grid).

    Returns
    -------
    xarray.Dataset
        Dim ``layer`` = 0..L. Variables ``q`` (neuron overlap q_l in [0, 1]; q_0 = q_L = 1) and ``Q`` (weight
        overlap Q_l in [0, 1), NaN at l = 0), for RSB the Edwards-Anderson values, with ``q_x``, ``Q_x`` on
        an x grid; RS adds ``c`` (gap overlap), ``eps``, local replicons and ``m_test`` (teacher-student).
        Attributes: ``free_entropy`` (per N c), ``residual``, ``iterations``, ``ansatz``, the problem's
        parameters and, teacher-student, ``eps_g``. Variables with dims and meaning: the docs' "Dataset
        variables" page.

    Raises
    ------
    ConvergenceError
        No converged solution (including a load beyond the ansatz's capacity).
    ConfigError
        An unknown ansatz, steps out of range, grid options where none apply.
    """
    if ansatz not in ANSATZES:
        raise ConfigError("ansatz", ansatz, f"one of {', '.join(ANSATZES)}")
    if ansatz == "rs":
        if grid_options:
            raise ConfigError("grid_options", sorted(grid_options), "none for the RS ansatz")
        return solve_rs(problem, init=init, tol=tol, max_iter=max_iter)
    if ansatz == "krsb":
        if not isinstance(steps, int) or not 1 <= steps <= MAX_RSB_STEPS:
            raise ConfigError("steps", steps, f"an integer 1 <= k <= {MAX_RSB_STEPS} for k-RSB")
        solver = _rsb_solver("krsb", "solve_krsb_chain")
        return solver(problem, steps=steps, init=init, tol=tol, **grid_options)
    solver = _rsb_solver("frsb", "solve_frsb_chain")
    return solver(problem, init=init, tol=tol, **grid_options)
