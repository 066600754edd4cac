"""One measurement slice (an xr.Dataset with coord time = [t]) of a running simulation.

Gaps are recomputed from scratch here (deepglass.model.gap), independently of the engine's cached
fields, so a measurement never trusts the incremental bookkeeping.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from .. import observables as obs
from ..model import layer_gaps
from .layout import weights_from_internal
from .variables import with_dims


def measurement_slice(run) -> xr.Dataset:
    spec, ns, L, t = run.spec, run.ns, run.spec.L, run.t
    n_sys = run.S.shape[1]
    idx_sys = None if run.idx is None else run.idx[:, None]
    J = weights_from_internal(run.Wt, idx_sys)                            # (ns, n_sys, L, N, c)
    layers = run.S.astype(np.int8)                                        # (ns, n_sys, L+1, M, N)
    idx_b = None if idx_sys is None else np.broadcast_to(idx_sys, J.shape)
    if spec.uniform:
        gaps = obs.all_gaps(J, layers, idx_b)
        viol = obs.violations_per_layer(gaps, spec.kappa)                 # (ns, n_sys, L)
        energy = obs.energy_per_layer(gaps, spec.kappa, run.params.potential)
    else:   # each layer its own width: per-layer gaps without the padding
        per_layer = layer_gaps(J, [layers[..., l, :, :] for l in range(L + 1)], idx_b, spec)
        viol = np.stack([obs.violations_per_layer(g[..., None, :, :], spec.kappa)[..., 0] for g in per_layer], -1)
        energy = np.stack([obs.energy_per_layer(g[..., None, :, :], spec.kappa, run.params.potential)[..., 0]
                           for g in per_layer], -1)
    q_pad, Q_pad = padding_factors(spec)   # overlaps of padded arrays -> per-layer means (1 for equal widths)

    pad = lambda x, fill: np.concatenate([np.full((*x.shape[:-1], 1), fill, dtype=x.dtype), x], axis=-1)
    coords = {"time": [t], "sample": np.arange(ns), "layer": np.arange(L + 1)}
    host = lambda x: x[:, 0][:, None]                                     # (ns, 1=time, ...)
    attempts_n, attempts_w = run.engine.attempts_per_step()
    with np.errstate(invalid="ignore", divide="ignore"):
        host_rows = np.arange(ns) * n_sys
        acc_n = run.count_neuron[host_rows] / (run.steps_since * attempts_n)
        acc_w = run.count_weight[host_rows] / (run.steps_since * attempts_w)
    acc_n[:, attempts_n == 0] = np.nan
    acc_w[:, attempts_w == 0] = np.nan
    # dims: mc.variables.RUN_VARIABLES (the one definition of every run variable)
    data = {
        "energy": host(energy.sum(-1)),
        "violations": host(viol.sum(-1)),
        "violations_layer": host(pad(viol, 0)),
        "energy_layer": host(pad(energy, 0.0)),
        "acceptance_neuron": acc_n[:, None],
        "acceptance_weight": acc_w[:, None],
    }
    if getattr(run, "ladder", None) is not None:   # tempering: exchange acceptance of each pair (k, k+1)
        coords["pair_k"] = np.arange(run.ladder.K)
        sw = run.ladder.swaps[host_rows]
        with np.errstate(invalid="ignore", divide="ignore"):
            data["swap_acceptance"] = (sw[..., 0] / sw[..., 1])[:, None]
    if getattr(run, "move_size", None) is not None:   # design-space move sizes (tuned during the burn-in)
        data["move_size"] = pad(run.move_size[:, 0], np.nan)[:, None]
    if run.teacher is not None:
        data["teacher_q"] = (obs.neuron_overlap(layers[:, 0], run.teacher_layers) * q_pad)[:, None]
        data["teacher_Q"] = pad(obs.weight_overlap(J[:, 0], run.teacher.J) * Q_pad, np.nan)[:, None]
        q_g, Q_g, q2 = _gauge_fixed(run, J[:, 0], layers[:, 0])
        data["teacher_q_gauge"] = (q_g * q_pad)[:, None]
        data["teacher_q2"] = q2[:, None]
        data["teacher_Q_gauge"] = pad(Q_g * Q_pad, np.nan)[:, None]
        if run.test_inputs is not None:
            data["test_overlap"] = obs.test_overlap(J[:, 0], run.teacher.J, run.test_inputs, run.idx,
                                                     run.teacher_test, spec=spec)[:, None]
    if getattr(run, "test_labels", None) is not None:   # real data: accuracy of the host's class read-out
        n_classes, coding = run.readout
        data["test_accuracy"] = obs.class_accuracy(J[:, 0], run.test_images, run.test_labels, n_classes, coding,
                                                    run.idx, spec)[:, None]
        data["train_accuracy"] = obs.class_accuracy(J[:, 0], run.inputs[..., :spec.N_in], run.train_labels,
                                                     n_classes, coding, run.idx, spec)[:, None]
    if run.R >= 1:
        _replica_vars(run, data, coords, layers, J, viol, energy, q_pad, Q_pad)
    return xr.Dataset(with_dims(data), coords=coords, attrs={"backend": run.engine.backend_name})


def _gauge_fixed(run, J, layers) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gauge-fixed student-teacher overlaps of every sample's host (observables.fix_gauge): q (ns, L+1), Q (ns, L),
    and the squared neuron overlaps q2 (ns, L+1) of the gauge-fixed student (observables.squared_neuron_overlap)."""
    q, Q, q2 = [], [], []
    for s in range(run.ns):
        idx = None if run.idx is None else run.idx[s]
        J_f, S_f = obs.fix_gauge(J[s], layers[s], run.teacher.J[s], run.teacher_layers[s], idx, run.spec.widths)
        q.append(obs.neuron_overlap(S_f, run.teacher_layers[s]))
        Q.append(obs.weight_overlap(J_f, run.teacher.J[s]))
        q2.append(obs.squared_neuron_overlap(S_f, run.teacher_layers[s], run.spec.widths))
    return np.stack(q), np.stack(Q), np.stack(q2)


def padding_factors(spec) -> tuple[np.ndarray, np.ndarray]:
    """Means over padded arrays (zeros beyond a layer's width) times these are the layer's own means:
    W / N_l for neuron overlaps (layers 0..L), W C / (N_l c_l) for weight overlaps (layers 1..L)."""
    W, C = spec.width_max, spec.slots
    q = W / np.asarray(spec.widths, dtype=np.float64)
    Q = W * C / (np.asarray(spec.widths[1:], dtype=np.float64) * np.asarray(spec.fan_in))
    return q, Q


def _replica_vars(run, data, coords, layers, J, viol, energy, q_pad, Q_pad):
    """Guest energies, and pair overlaps / triangles among the R guests of each waiting time."""
    ns, L, R, t = run.ns, run.spec.L, run.R, run.t
    n_tw = len(run.tws)
    coords["tw"] = list(run.tws)
    g_energy = np.full((ns, n_tw, 1), np.nan)
    g_viol = np.full((ns, n_tw, 1), np.nan)   # NaN: guests not created yet (t < t_w)
    pairs = obs.replica_pairs(R)
    q = np.full((ns, n_tw, 1, len(pairs), L + 1), np.nan)
    Q = np.full((ns, n_tw, 1, len(pairs), L + 1), np.nan)
    for k, tw in enumerate(run.tws):
        if tw > t:
            continue
        sl = slice(1 + k * R, 1 + (k + 1) * R)
        g_energy[:, k, 0] = energy[:, sl].sum(-1).mean(-1)
        g_viol[:, k, 0] = viol[:, sl].sum(axis=(-1, -2))
        for p, (a, b) in enumerate(pairs):
            q[:, k, 0, p] = obs.neuron_overlap(layers[:, sl][:, a], layers[:, sl][:, b]) * q_pad
            Q[:, k, 0, p, 1:] = obs.weight_overlap(J[:, sl][:, a], J[:, sl][:, b]) * Q_pad
    data["guest_energy"] = g_energy
    data["guest_violations"] = g_viol
    if R >= 2:
        coords["pair"] = np.arange(len(pairs))
        coords["pair_a"] = ("pair", [a for a, _ in pairs])
        coords["pair_b"] = ("pair", [b for _, b in pairs])
        data["q_replica"] = q
        data["Q_replica"] = Q
    if R >= 3:
        triples = obs.replica_triples(R)
        coords["triangle"] = np.arange(len(triples))
        for n, name in enumerate(("triangle_a", "triangle_b", "triangle_c")):
            coords[name] = ("triangle", [tr[n] for tr in triples])
        tri = obs.overlap_triangles(q, R)                         # (ns, n_tw, 1, n_tri, L+1, 3)
        data["q_triangle"] = tri
