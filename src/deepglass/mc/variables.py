"""The variables of a run's measurements (``run.nc``, mc.measure.measurement_slice): dims and meaning.

The one definition of every measured variable: the writer takes each variable's dims from here (a variable
without an entry cannot be written), and the documentation's "Dataset variables" page is generated from it.
Physics of each quantity: MODEL.md sections 2-4 (gaps r, potential V, overlaps).
"""
from __future__ import annotations

from typing import NamedTuple


class Variable(NamedTuple):
    """One Dataset variable: its dimensions (in order) and what it holds (units, range)."""

    dims: tuple[str, ...]
    meaning: str


RUN_COORDS: dict[str, str] = {
    "sample": "independent sample (own data, teacher and chain), 0..n_samples-1",
    "time": "MC time in sweeps (steps) at which the measurement was taken: log-spaced (run.per_decade), int",
    "layer": "layer index l = 0..L (neurons); weight variables use l = 1..L and hold NaN (or 0) at l = 0",
    "tw": "waiting time t_w (MC steps) at which the guest replicas were copied from the host",
    "pair": "replica pair (a, b), a < b, among the R guests of one waiting time; labels pair_a, pair_b",
    "triangle": "replica triple (a, b, c), a < b < c; labels triangle_a, triangle_b, triangle_c",
    "side": "the three overlaps of a triangle, sorted ascending (ultrametric: the two smallest are equal)",
    "pair_k": "parallel-tempering neighbour pair (k, k+1) of the inverse-temperature ladder",
}

RUN_VARIABLES: dict[str, Variable] = {
    "energy": Variable(("sample", "time"),
                       "host energy E = sum_{l, mu, i} V(r) over all gaps (MODEL.md section 4; V of mc.potential), >= 0"),
    "violations": Variable(("sample", "time"), "host's number of violated gaps r < kappa, all layers, int >= 0"),
    "violations_layer": Variable(("sample", "time", "layer"),
                                 "host's violated gaps per layer l = 1..L (0 at l = 0), int >= 0"),
    "energy_layer": Variable(("sample", "time", "layer"), "host energy per layer l = 1..L (0 at l = 0), >= 0"),
    "acceptance_neuron": Variable(("sample", "time", "layer"),
                                  "fraction of neuron moves accepted since the previous measurement, per layer, in "
                                  "[0, 1]; NaN where no neuron move is attempted (input, output, design-space)"),
    "acceptance_weight": Variable(("sample", "time", "layer"),
                                  "fraction of weight moves accepted since the previous measurement, per layer "
                                  "1..L, in [0, 1]; NaN at l = 0"),
    "swap_acceptance": Variable(("sample", "time", "pair_k"),
                                "parallel tempering: fraction of accepted exchanges between ladder rungs k, k+1"),
    "move_size": Variable(("sample", "time", "layer"),
                          "design-space sampler: weight move size per layer 1..L (tuned during the burn-in); "
                          "NaN at l = 0"),
    "teacher_q": Variable(("sample", "time", "layer"),
                          "student-teacher neuron overlap q_l = (1/(M N_l)) sum S^student S^teacher on the "
                          "training inputs, l = 0..L, in [-1, 1] (1 at l = 0 and, when solved, l = L)"),
    "teacher_Q": Variable(("sample", "time", "layer"),
                          "student-teacher weight overlap Q_l = (1/(N_l c)) sum J^student J^teacher, "
                          "l = 1..L, in [-1, 1]; NaN at l = 0"),
    "teacher_q_gauge": Variable(("sample", "time", "layer"),
                                "teacher_q after fixing the gauge (hidden neurons of the student matched to the "
                                "teacher's by a signed permutation, observables.fix_gauge), in [-1, 1]"),
    "teacher_q2": Variable(("sample", "time", "layer"),
                           "squared student-teacher neuron overlap q_l^2, sign-gauge free and unbiased "
                           "(observables.squared_neuron_overlap; for sparse networks), l = 0..L (1 at l = 0, L)"),
    "teacher_Q_gauge": Variable(("sample", "time", "layer"),
                                "teacher_Q after fixing the gauge (observables.fix_gauge), l = 1..L; NaN at l = 0"),
    "test_overlap": Variable(("sample", "time", "layer"),
                             "student-teacher neuron overlap m_l on M_test fresh inputs, both networks run "
                             "forward, l = 0..L; layer L is the generalization overlap, eps_g = (1 - m_L)/2"),
    "test_accuracy": Variable(("sample", "time"),
                              "real data: fraction of the held-out images whose class the host's output "
                              "read-out gets right, in [0, 1]"),
    "train_accuracy": Variable(("sample", "time"),
                               "real data: fraction of the training images classified right, in [0, 1]"),
    "guest_energy": Variable(("sample", "tw", "time"),
                             "mean energy of the R guests of each waiting time; NaN before t_w"),
    "guest_violations": Variable(("sample", "tw", "time"),
                                 "violated gaps summed over the R guests of each waiting time; NaN before t_w"),
    "q_replica": Variable(("sample", "tw", "time", "pair", "layer"),
                          "guest-guest neuron overlap q_l^{ab} per pair and layer 0..L, in [-1, 1]; NaN before t_w"),
    "Q_replica": Variable(("sample", "tw", "time", "pair", "layer"),
                          "guest-guest weight overlap Q_l^{ab} per pair and layer 1..L, in [-1, 1]; NaN at "
                          "l = 0 and before t_w"),
    "q_triangle": Variable(("sample", "tw", "time", "triangle", "layer", "side"),
                           "sides of every replica triangle of neuron overlaps, sorted ascending "
                           "(observables.overlap_triangles); R >= 3"),
}


def with_dims(data: dict, registry: dict[str, Variable] | None = None, where: str = "run") -> dict:
    """{name: array} -> {name: (dims, array)} with the registered dims (KeyError names an unregistered one)."""
    registry = RUN_VARIABLES if registry is None else registry
    missing = [name for name in data if name not in registry]
    if missing:
        raise KeyError(f"{where} variables {missing} have no entry in the variable registry "
                       "(deepglass.mc.variables, deepglass.experiments.variables)")
    return {name: (registry[name].dims, value) for name, value in data.items()}
