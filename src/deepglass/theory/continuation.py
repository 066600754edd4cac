"""Curves in alpha: solve a chain at many loads, each warm-started from its neighbour."""
from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr

from ..errors import ConfigError
from .problem import ChainProblem
from .dispatch import solve


def solve_curve(problem_template: ChainProblem, alphas, ansatz: str = "rs", **options) -> xr.Dataset:
    """Solutions at every alpha of ``alphas`` (solved in increasing order), concatenated along ``alpha``.

    Each solve starts from the previous solution (continuation); the first from the solver's default.

    Parameters
    ----------
    problem_template : ChainProblem
        The problem; its ``alpha`` is replaced by each load in turn.
    alphas : array_like of float
        Loads alpha = M / c > 0, any order (returned in the given order).
    ansatz : {"rs", "krsb", "frsb"}
        As in `solve`.
    **options
        Passed to `solve` (``steps``, ``tol``, ...).

    Returns
    -------
    xarray.Dataset
        `solve`'s variables with a leading dim ``alpha``; the per-point scalars (free_entropy, residual,
        iterations, converged, replicon_chain, eps_g when present) become variables along ``alpha``.
    """
    alphas = np.asarray(alphas, dtype=float).ravel()
    if alphas.size == 0 or not np.all(np.isfinite(alphas)) or np.any(alphas <= 0):
        raise ConfigError("alphas", alphas.tolist(), "a non-empty list of finite loads > 0")
    order = np.argsort(alphas)
    solutions: list[xr.Dataset | None] = [None] * alphas.size
    previous = None
    for k in order:
        problem = dataclasses.replace(problem_template, alpha=float(alphas[k]))
        ds = solve(problem, ansatz, init=previous, **options)
        solutions[k] = ds
        previous = ds
    scalars = ("free_entropy", "residual", "iterations", "converged", "replicon_chain", "eps_g")
    stacked = []
    for a, ds in zip(alphas, solutions):
        ds = ds.copy()
        for name in scalars:
            if name in ds.attrs:
                ds[name] = ((), ds.attrs.pop(name))
        ds.attrs.pop("alpha", None)
        stacked.append(ds.expand_dims(alpha=[a]))
    out = xr.concat(stacked, dim="alpha", combine_attrs="drop_conflicts")
    return out


def learning_curve(L: int, alphas, *, field: float = 0.0) -> xr.Dataset:
    """Teacher-student RS solutions along alpha: the learning curve eps_g(alpha) of a depth-L student.

    Parameters
    ----------
    L : int
        Depth, L >= 1.
    alphas : array_like of float
        Loads alpha = M / c > 0.
    field : float
        Optional field h >= 0 toward the teacher on the central hidden layer(s) (ChainProblem.field).

    Returns
    -------
    xarray.Dataset
        As `solve_curve`: ``eps_g`` (alpha) in [0, 1/2], fresh-input overlaps ``m_test`` (alpha, layer), q, Q.
    """
    return solve_curve(ChainProblem("teacher-student", L, float(np.min(alphas)), field=field), alphas)
