"""Replica theory of the deep perceptron chain (MODEL.md section 5; docs/theory.md).

Public API: ChainProblem, solve (any ansatz), solve_curve (continuation in alpha), the RS solver and
its building blocks, transitions (alpha_g(l), xi, capacity) and teacher-student (eps_g, field response).
"""
from __future__ import annotations

from .continuation import solve_curve
from .problem import ChainProblem, central_layers
from .rs import solve_rs
from .solve import ANSATZES, solve

__all__ = ["ANSATZES", "ChainProblem", "central_layers", "solve", "solve_curve", "solve_rs"]
