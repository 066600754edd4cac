"""Teacher-student (Nishimori) observables: overlaps on fresh inputs, eps_g, response to the field.

On the Nishimori line the RS overlaps Q_l, q_l are at the same time student-student and student-teacher
overlaps (docs/theory.md section 8). On a fresh input the student and the teacher see the same layer-0
configuration; in the tree approximation the pre-activations of perceptron (l, i) in student and teacher
are jointly Gaussian with correlation Q_l m_{l-1}, so the probability that the two signs agree is
1 - arccos(Q_l m_{l-1})/pi and the test overlap propagates as

    m_0 = 1,   m_l = 1 - 2 arccos(Q_l m_{l-1}) / pi = (2/pi) arcsin(Q_l m_{l-1}),

and eps_g = (1 - m_L)/2 = arccos(Q_L m_{L-1}) / pi (= arccos(R)/pi for L = 1: Gibbs learning).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr

from ..errors import ConfigError
from .problem import ChainProblem


def fresh_input_overlaps(Q: np.ndarray) -> np.ndarray:
    """Student-teacher neuron overlaps m_l (l = 0..L) on a fresh input from the weight overlaps Q_1..Q_L."""
    Q = np.asarray(Q, dtype=float)
    m = np.ones(len(Q) + 1)
    for l, R in enumerate(Q, start=1):
        m[l] = 2.0 / np.pi * np.arcsin(np.clip(R * m[l - 1], -1.0, 1.0))
    return m


def generalization_error(Q: np.ndarray) -> float:
    """eps_g = arccos(Q_L m_{L-1}) / pi: the probability that student and teacher outputs differ."""
    m = fresh_input_overlaps(Q)
    return float(np.arccos(np.clip(Q[-1] * m[-2], -1.0, 1.0)) / np.pi)


def learning_curve(L: int, alphas, *, field: float = 0.0) -> xr.Dataset:
    """Teacher-student RS solutions along alpha with eps_g(alpha) and the test overlaps m(alpha, layer)."""
    from .continuation import solve_curve

    ds = solve_curve(ChainProblem("teacher-student", L, float(np.min(alphas)), field=field), alphas)
    return ds


def field_response(problem_template: ChainProblem, fields, *, alpha_max: float | None = None) -> xr.Dataset:
    """Profiles Q_l, q_l (and eps_g for teacher-student) at the template's alpha for each field h, and,
    when alpha_max is given, the transitions alpha_g(l) for each h (the field makes its layers a third
    'boundary' from which freezing spreads)."""
    from .rs import solve_rs
    from .transitions import find_transitions

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
