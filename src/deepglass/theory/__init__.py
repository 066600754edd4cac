"""Replica theory of the deep perceptron chain (MODEL.md section 5; docs/theory.md).

Public API: ChainProblem, solve (any ansatz), solve_curve (continuation in alpha), the RS solver,
transitions (alpha_g(l), growth length, capacity) and teacher-student observables (eps_g, learning curve,
field response). Names are imported on first use (PEP 562): `import deepglass.theory` loads nothing heavy.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "ANSATZES": "dispatch", "MAX_RSB_STEPS": "dispatch", "solve": "dispatch",
    "ChainProblem": "problem", "central_layers": "problem",
    "solve_rs": "rs",
    "solve_curve": "continuation", "learning_curve": "continuation",
    "field_response": "field",
    "fresh_input_overlaps": "teacher_student", "generalization_error": "teacher_student",
    "Transitions": "transitions", "capacity": "transitions", "find_transitions": "transitions",
    "liquid_threshold": "transitions",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'deepglass.theory' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__

# A submodule named like one of its exports would shadow it once imported (`import deepglass.theory.x`
# sets the package attribute x to the module): none is, and tests/test_theory_rs.py checks it.
