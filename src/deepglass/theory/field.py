"""Response of the chain to a symmetry-breaking field on its central layer(s) (docs/theory.md section 8)."""
from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr

from ..errors import ConfigError
from .problem import ChainProblem
from .rs import solve_rs
from .transitions import find_transitions


def field_response(problem_template: ChainProblem, fields, *, alpha_max: float | None = None) -> xr.Dataset:
    """Profiles Q_l, q_l (and eps_g for teacher-student) at the template's alpha for each field h (RS).

    The field makes its layers a third 'boundary' from which freezing spreads (docs/theory.md section 8).

    Parameters
    ----------
    problem_template : ChainProblem
        Scenario, L, alpha, kappa and ``field_layers`` (default: the central hidden layer(s)).
    fields : array_like of float
        Field strengths h >= 0.
    alpha_max : float, optional
        If given, also the transitions alpha_g(l) up to this load for each h (slower).

    Returns
    -------
    xarray.Dataset
        `solve`'s RS variables with a leading dim ``field``; ``free_entropy`` (and ``eps_g``) along it;
        ``alpha_g`` (field, layer) when alpha_max is given.
    """
    fields = np.asarray(fields, dtype=float).ravel()
    if fields.size == 0 or np.any(~np.isfinite(fields)) or np.any(fields < 0):
        raise ConfigError("fields", fields.tolist(), "a non-empty list of finite fields >= 0")
    parts = []
    for h in fields:
        problem = dataclasses.replace(problem_template, field=float(h),
                                      field_layers=problem_template.field_layers)
        ds = solve_rs(problem)
        if alpha_max is not None:
            tr = find_transitions(problem, alpha_max=alpha_max)
            ds["alpha_g"] = ("layer", np.concatenate([[np.nan], tr.alpha_g_weights]))
        ds["free_entropy"] = ((), ds.attrs.pop("free_entropy"))
        for key in ("residual", "replicon_chain", "eps_g", "field", "iterations", "converged"):
            ds.attrs.pop(key, None)
        parts.append(ds.expand_dims(field=[h]))
    return xr.concat(parts, dim="field", combine_attrs="drop_conflicts")
