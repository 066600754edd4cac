"""What a replica-theory solve is asked: the chain of MODEL.md section 5 for one (scenario, L, alpha, kappa).

Shared by every ansatz (RS, k-RSB, full RSB) so that they solve literally the same problem.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

THEORY_SCENARIOS = ("random", "teacher-student")


@dataclass(frozen=True)
class ChainProblem:
    """Replicated free entropy s = sum_l s_J(Q^l) + alpha sum_{l<L} s_S(q^l) + alpha sum_l s_gap(q^{l-1} Q^l q^l).

    The problem every ansatz solves (MODEL.md section 5; docs/theory.md). Invalid values raise ConfigError
    naming the field.

    Parameters
    ----------
    scenario : {"random", "teacher-student"}
        "random": random data, replica limit n -> 0 (quenched average). "teacher-student": the teacher is one
        more replica, n -> 1 (Bayes-optimal / Nishimori line); kappa must be 0.
    L : int
        Depth (number of weight layers), L >= 1.
    alpha : float
        Load alpha = M / c > 0 (training pairs per weight of a perceptron).
    kappa : float
        Margin of the gaps r >= kappa (finite; 0 by default).
    field : float
        Strength h >= 0 of the optional symmetry-breaking field on the neurons of ``field_layers``: it couples
        the replicas (random) or pulls toward the teacher (teacher-student).
    field_layers : tuple of int, optional
        Hidden layers 1..L-1 the field acts on (default: the central hidden layer(s), `central_layers`).
    """

    scenario: str
    L: int
    alpha: float
    kappa: float = 0.0
    field: float = 0.0
    field_layers: tuple[int, ...] | None = None

    def __post_init__(self):
        if self.scenario not in THEORY_SCENARIOS:
            raise ConfigError("scenario", self.scenario, f"one of {', '.join(THEORY_SCENARIOS)}")
        if not isinstance(self.L, (int, np.integer)) or self.L < 1:
            raise ConfigError("depth", self.L, "an integer L >= 1")
        if not np.isfinite(self.alpha) or self.alpha <= 0:
            raise ConfigError("alpha", self.alpha, "a finite real number > 0")
        if not np.isfinite(self.kappa):
            raise ConfigError("kappa", self.kappa, "a finite real number")
        if self.scenario == "teacher-student" and self.kappa != 0:
            raise ConfigError("kappa", self.kappa, "0 for teacher-student (the teacher's gaps are only >= 0)")
        if not np.isfinite(self.field) or self.field < 0:
            raise ConfigError("field", self.field, "a finite real number >= 0")
        if self.field_layers is None:
            object.__setattr__(self, "field_layers", central_layers(self.L))
        else:
            layers = tuple(int(l) for l in self.field_layers)
            if any(not 1 <= l <= self.L - 1 for l in layers):
                raise ConfigError("field_layers", self.field_layers, f"hidden layers 1..{self.L - 1}")
            object.__setattr__(self, "field_layers", layers)

    @property
    def replica_limit(self) -> float:
        """n -> 0 for random data (quenched average), n -> 1 for teacher-student (Nishimori)."""
        return 0.0 if self.scenario == "random" else 1.0

    @property
    def nishimori(self) -> bool:
        """Teacher-student on the Bayes-optimal line: the teacher is one more replica (blocks_rs)."""
        return self.scenario == "teacher-student"

    @property
    def hidden_layers(self) -> range:
        return range(1, self.L)


def central_layers(L: int) -> tuple[int, ...]:
    """The hidden layer(s) at the centre of the chain: L/2 for even L, (L-1)/2 and (L+1)/2 for odd L >= 3."""
    if L < 2:
        return ()
    if L % 2 == 0:
        return (L // 2,)
    return ((L - 1) // 2, (L + 1) // 2) if L >= 3 else ()
