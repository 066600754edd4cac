"""The variables of a sweep (``open_sweep``) and of a comparison (``compare.nc``): dims and meaning.

The one definition of each: compare's writer takes its dims from COMPARE_VARIABLES, open_sweep checks what it
returns against SWEEP_VARIABLES (an unregistered variable is an error), and the documentation's "Dataset
variables" page is generated from both (and from mc.variables.RUN_VARIABLES, the run's measurements).
"""
from __future__ import annotations

from ..mc.variables import Variable

SWEEP_COORDS: dict[str, str] = {
    "point": "one finished sweep point; coordinates: every swept key (leaf names N, alpha, ...; the dotted name "
             "when two keys share a leaf), seed and point_hash. open_sweep(grid=True) unstacks it into one "
             "dimension per swept key plus seed",
    "sample": "independent sample of the point's run (NaN-padded where points have fewer)",
    "layer": "layer index l = 0..L (NaN-padded where points differ in depth)",
    "tw": "waiting time t_w of the guest replicas (MC steps)",
}

SWEEP_VARIABLES: dict[str, Variable] = {
    "energy": Variable(("point", "sample"), "host energy at the last measured time (run variable energy)"),
    "violations": Variable(("point", "sample"), "violated gaps at the last time, all layers (float for NaN padding)"),
    "violations_layer": Variable(("point", "sample", "layer"), "violated gaps per layer at the last time"),
    "teacher_q": Variable(("point", "sample", "layer"), "student-teacher neuron overlap q_l at the last time"),
    "teacher_Q": Variable(("point", "sample", "layer"), "student-teacher weight overlap Q_l at the last time"),
    "test_overlap": Variable(("point", "sample", "layer"), "fresh-input overlap m_l at the last time"),
    "generalization_overlap": Variable(("point", "sample"),
                                       "test_overlap of the output layer L of each point; eps_g = (1 - it)/2"),
    "q_replica": Variable(("point", "sample", "tw", "layer"),
                          "guest-guest neuron overlap q_l at the last time, mean over replica pairs"),
    "Q_replica": Variable(("point", "sample", "tw", "layer"),
                          "guest-guest weight overlap Q_l at the last time, mean over replica pairs"),
    "t_final": Variable(("point",), "last measured MC time of the point's run (steps)"),
    "theory_q": Variable(("point", "layer"), "RS theory of the point's (scenario, L, alpha, kappa): q_l"),
    "theory_Q": Variable(("point", "layer"), "RS theory: Q_l"),
    "theory_m_test": Variable(("point", "layer"), "RS theory, teacher-student: fresh-input overlap m_l"),
    "theory_free_entropy": Variable(("point",), "RS theory: free entropy per N c (MODEL.md section 5)"),
    "theory_eps_g": Variable(("point",), "RS theory, teacher-student: generalization error of the Bayes-optimal "
                                         "student, in [0, 1/2]"),
}

COMPARE_COORDS: dict[str, str] = {
    "observable": "the compared run variable (teacher_Q, teacher_q, test_overlap, the gauge-fixed ones, teacher_q2; "
                  "Q_replica, q_replica for random data)",
    "c": "fan-in of the sparse networks; c = 0 labels dense networks (c = N at every N)",
    "N": "network width of the simulated points",
    "layer": "layer index l = 0..L",
}

_OCL = ("observable", "c", "layer")
COMPARE_VARIABLES: dict[str, Variable] = {
    "theory_q": Variable(("layer",), "theory (compare --ansatz) neuron overlap q_l"),
    "theory_Q": Variable(("layer",), "theory weight overlap Q_l"),
    "theory": Variable(("observable", "layer"), "the theory's value of each observable (its q, Q or m_test)"),
    "sim_mean": Variable(("observable", "c", "N", "layer"), "simulation: mean over samples of each sample's time average over the second half of its run (t >= t_w + (T - t_w)/2)"),
    "sim_sem": Variable(("observable", "c", "N", "layer"), "simulation: standard error of that mean over samples"),
    "sim_time": Variable(("c", "N"), "last measured MC time of each point (steps)"),
    "equilibrated": Variable(("c", "N"), "equilibrium verdict code of each point (attrs verdict_codes: 1 = "
                                         "equilibrated); only equilibrated points enter the fits"),
    "verdict_reason": Variable(("c", "N"), "the verdict's reason, in words"),
    "nishimori_Q_diff": Variable(("c", "N", "layer"), "student-teacher minus student-student weight overlap, "
                                                      "mean over samples (0 in equilibrium)"),
    "nishimori_Q_err": Variable(("c", "N", "layer"), "its standard error over samples"),
    "nishimori_q_diff": Variable(("c", "N", "layer"), "the same for neuron overlaps (hidden layers)"),
    "nishimori_q_err": Variable(("c", "N", "layer"), "its standard error over samples"),
    "relaxation_time_Q": Variable(("c", "N", "layer"), "integrated relaxation time of the student-teacher weight "
                                                       "overlap (MC steps; experiments.summary)"),
    "extrap": Variable(_OCL, "N -> inf intercept a of the fit a + b/N through the equilibrated points"),
    "extrap_err": Variable(_OCL, "its standard error"),
    "extrap_slope": Variable(_OCL, "the slope b of a + b/N"),
    "extrap_slope_err": Variable(_OCL, "its standard error"),
    "extrap_chi2": Variable(_OCL, "chi2 of the fit"),
    "extrap_chi2_dof": Variable(_OCL, "chi2 per degree of freedom (NaN without a free degree)"),
    "extrap_n_points": Variable(_OCL, "number of equilibrated points in the fit"),
    "extrap_c": Variable(("observable", "layer"), "sparse, two or more c: c -> inf intercept A of A + B/c through "
                                                  "the N -> inf values"),
    "extrap_c_err": Variable(("observable", "layer"), "its standard error"),
    "extrap_c_slope": Variable(("observable", "layer"), "the slope B of A + B/c"),
    "extrap_c_chi2_dof": Variable(("observable", "layer"), "chi2 per degree of freedom of that fit"),
    "final": Variable(("observable", "layer"), "the extrapolated value to set beside the theory (attrs final_note)"),
    "final_err": Variable(("observable", "layer"), "its standard error"),
    "theory_m": Variable(("layer",), "teacher-student: the theory's fresh-input overlap m_l"),
    "theory_eps_g": Variable((), "teacher-student: the theory's generalization error eps_g"),
    "sim_eps_g": Variable(("c", "N"), "teacher-student: simulated eps_g = (1 - test_overlap_L)/2"),
    "sim_eps_g_sem": Variable(("c", "N"), "its standard error"),
    "extrap_eps_g": Variable(("c",), "eps_g of the N -> inf extrapolation at each c"),
    "extrap_eps_g_err": Variable(("c",), "its standard error"),
    "final_eps_g": Variable((), "eps_g of the final extrapolation"),
    "final_eps_g_err": Variable((), "its standard error"),
}


def check_registered(ds, registry: dict[str, Variable], where: str):
    """``ds`` unchanged if each of its variables is registered with these dims; else a KeyError naming it."""
    wrong = [f"{name}{tuple(var.dims)}" for name, var in ds.data_vars.items()
             if name not in registry or tuple(var.dims) != registry[name].dims]
    if wrong:
        raise KeyError(f"{where} variables {wrong} do not match deepglass.experiments.variables")
    return ds
