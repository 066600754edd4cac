"""Replica theory of the deep perceptron chain (MODEL.md section 5; docs/theory.md).

Public API: ChainProblem, solve (any ansatz), solve_curve (continuation in alpha), the RS solver,
transitions (alpha_g(l), growth length, capacity) and teacher-student observables (eps_g, field response).
"""
from __future__ import annotations

from .continuation import solve_curve
from .problem import ChainProblem, central_layers
from .rs import solve_rs
from .solve import ANSATZES, MAX_RSB_STEPS, solve
from .teacher_student import field_response, fresh_input_overlaps, generalization_error, learning_curve
from .transitions import Transitions, capacity, find_transitions, liquid_threshold

__all__ = [
    "ANSATZES", "MAX_RSB_STEPS", "ChainProblem", "Transitions", "capacity", "central_layers", "field_response",
    "find_transitions", "fresh_input_overlaps", "generalization_error", "learning_curve",
    "liquid_threshold", "solve", "solve_curve", "solve_rs",
]
