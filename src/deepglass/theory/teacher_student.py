"""Teacher-student (Nishimori) observables: overlaps on fresh inputs and eps_g (pure formulas of Q_l).

On the Nishimori line the RS overlaps Q_l, q_l are at the same time student-student and student-teacher
overlaps (docs/theory.md section 8). On a fresh input the student and the teacher see the same layer-0
configuration; in the tree approximation the pre-activations of perceptron (l, i) in student and teacher
are jointly Gaussian with correlation Q_l m_{l-1}, so the probability that the two signs agree is
1 - arccos(Q_l m_{l-1})/pi and the test overlap propagates as

    m_0 = 1,   m_l = 1 - 2 arccos(Q_l m_{l-1}) / pi = (2/pi) arcsin(Q_l m_{l-1}),

and eps_g = (1 - m_L)/2 = arccos(Q_L m_{L-1}) / pi (= arccos(R)/pi for L = 1: Gibbs learning).
"""
from __future__ import annotations

import numpy as np


def fresh_input_overlaps(Q: np.ndarray) -> np.ndarray:
    """Student-teacher neuron overlaps m_l on a fresh input from the weight overlaps (docs/theory.md section 7).

    Parameters
    ----------
    Q : array_like, shape (L,)
        Student-teacher weight overlaps Q_1..Q_L, each in [0, 1].

    Returns
    -------
    numpy.ndarray, shape (L + 1,)
        m_0 = 1 (the shared input), then m_l for l = 1..L, in [0, 1].
    """
    Q = np.asarray(Q, dtype=float)
    m = np.ones(len(Q) + 1)
    for l, R in enumerate(Q, start=1):
        m[l] = 2.0 / np.pi * np.arcsin(np.clip(R * m[l - 1], -1.0, 1.0))
    return m


def generalization_error(Q: np.ndarray) -> float:
    """eps_g = arccos(Q_L m_{L-1}) / pi: the probability that student and teacher outputs differ on a fresh input.

    Measured counterpart: `deepglass.observables.generalization_error_from_output_overlap`.

    Parameters
    ----------
    Q : array_like, shape (L,)
        Student-teacher weight overlaps Q_1..Q_L, each in [0, 1].

    Returns
    -------
    float
        eps_g in [0, 1/2] (1/2: no better than chance).
    """
    m = fresh_input_overlaps(Q)
    return float(np.arccos(np.clip(Q[-1] * m[-2], -1.0, 1.0)) / np.pi)
