"""The variables of a theory solution (`solve`, `deepglass theory --format netcdf`): dims and meaning.

Entries are (dims, meaning) pairs, like deepglass.mc.variables.Variable (theory/ does not import mc/). The
documentation's "Dataset variables" page is generated from this table, and docs/check_api.py solves small RS,
teacher-student and k-RSB problems and fails if a solution holds a variable that is not here or has other dims.
Physics: MODEL.md section 5, docs/theory.md.
"""
from __future__ import annotations

THEORY_COORDS: dict[str, str] = {
    "layer": "layer index l = 0..L; neuron variables at l = 0..L (q_0 = q_L = 1), weight variables at l = 1..L "
             "(NaN at l = 0)",
    "x": "RSB: the Parisi variable x in [0, 1] on which q_x, Q_x are tabulated",
    "level": "k-RSB: the k + 1 levels of the step functions (level 0 the smallest overlap)",
}

THEORY_VARIABLES: dict[str, tuple[tuple[str, ...], str]] = {
    "q": (("layer",), "neuron overlap q_l in [0, 1] (RS value; RSB: the largest level, Edwards-Anderson)"),
    "Q": (("layer",), "weight overlap Q_l in [0, 1), l = 1..L (RS value; RSB: Edwards-Anderson); NaN at l = 0"),
    "c": (("layer",), "RS: gap overlap c_l = q_{l-1} Q_l q_l (-> 1 at the capacity)"),
    "eps": (("layer",), "RS: conjugate field eps_l of the neuron overlap (Legendre pair of s_S(q), "
                        "docs/theory.md 1.2); NaN at l = 0, L"),
    "replicon_weight": (("layer",), "RS: local replicon of weight layer l (> 0: RS locally stable)"),
    "replicon_neuron": (("layer",), "RS: local replicon of neuron layer l"),
    "replicon_mode_Q": (("layer",), "RS: weight part of the least stable replicon mode of the chain (max 1)"),
    "replicon_mode_q": (("layer",), "RS: neuron part of the least stable replicon mode (max 1)"),
    "liquid_Q": (("layer",), "RS: True where Q_l = 0 (the layer is liquid, held at the liquid fixed point)"),
    "liquid_q": (("layer",), "RS: True where q_l = 0 (liquid neuron layer)"),
    "m_test": (("layer",), "teacher-student: student-teacher neuron overlap m_l on a fresh input "
                           "(theory.fresh_input_overlaps); eps_g = arccos(Q_L m_{L-1}) / pi"),
    "q_x": (("layer", "x"), "RSB: the Parisi function q_l(x) of each neuron layer"),
    "Q_x": (("layer", "x"), "RSB: the Parisi function Q_l(x) of each weight layer (NaN at l = 0)"),
    "q_levels": (("layer", "level"), "k-RSB: the k + 1 levels of q_l(x), ascending"),
    "Q_levels": (("layer", "level"), "k-RSB: the k + 1 levels of Q_l(x) (NaN at l = 0)"),
    "breakpoints": (("layer", "level"), "k-RSB: m_0 = 0, m_1..m_k, the breakpoints of the Parisi hierarchy, "
                                        "shared by all layers (a layer's steps may close: equal levels)"),
}

THEORY_ATTRS: dict[str, str] = {
    "free_entropy": "the free entropy per N c at the saddle point (MODEL.md section 5)",
    "residual": "the fixed-point residual of the solution (a solve that does not converge raises instead)",
    "eps_g": "teacher-student: the Bayes-optimal generalization error, in [0, 1/2]",
    "replicon_chain": "RS: 1 - rho of the chain's replicon operator (< 0: the RS saddle is unstable)",
    "ansatz, steps, scenario, L, alpha, kappa, field": "the problem and the ansatz solved",
}
