"""Parallel tempering over the inverse temperature of the output-layer cost (design-space sampler, kappa >= 0).

Every system (host or guest) is the beta = infinity member of a ladder beta_0 = inf > beta_1 > ... > beta_K
(mc.pt_betas = [beta_1, ..., beta_K]). A hot member k runs the same slaved-neuron row moves with Metropolis
acceptance at beta_k on E_out = sum over output gaps V(r), every hidden gap a hard constraint (a move that
puts one below kappa is rejected), so its hidden neurons stay the forward pass with |h| >= kappa and its
stationary law is exp(-beta_k E_out) on the weights whose hidden gaps are satisfied. The beta = inf member is
the greedy design-space sampler (E_out = 0). After each MC step neighbours (k, k+1) with k = t mod 2,
k + 2, ... exchange states with the Metropolis rule min(1, exp((beta_k - beta_{k+1}) (E_k - E_{k+1}))), which
satisfies detailed balance for the product law of the ladder (swap_accept; with beta_0 = inf the exchange
with member 1 is accepted iff member 1 is inside the design space). Each member has its own random stream
(streams.member_rng); the swap uniforms come from the beta = inf member's stream, drawn after its step.
Measurements see only the beta = inf members: they are samples of the design space whatever the swaps did.
"""
from __future__ import annotations

import numpy as np

from .layout import fields_from_scratch, normalise_internal_rows, weights_from_internal, weights_to_internal
from .streams import member_rng, rng_from_words, rng_to_words


def swap_accept(beta_a, beta_b, E_a, E_b, u) -> np.ndarray:
    """Exchange accepted (bool array): u < exp((beta_a - beta_b)(E_a - E_b)), beta_a > beta_b, beta_a may be inf
    (then accepted iff E_b <= E_a: an infinite factor times 0 counts as 0)."""
    beta_a, beta_b, E_a, E_b, u = np.broadcast_arrays(*(np.asarray(x, np.float64) for x in (beta_a, beta_b, E_a, E_b, u)))
    dE = E_a - E_b
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        log_r = np.where(dE == 0.0, 0.0, (beta_a - beta_b) * dE)
        return np.log(u) < log_r


def output_cost(S: np.ndarray, h: np.ndarray, V) -> np.ndarray:
    """E_out of every system of (..., L+1, M, N) states: the output layer's gap costs."""
    return V(S[..., -1, :, :] * h[..., -1, :, :]).sum((-1, -2))


def swap_pairs(t: int, K: int) -> list[int]:
    """The lower members k of the pairs (k, k+1) exchanged after step t (members 0..K; even/odd alternation)."""
    return list(range(t % 2, K, 2))


class Ladder:
    """The hot members of every system's ladder: their states, random streams, exchange counters and one MC step.

    States pt["S"], pt["h"], pt["Wt"] are (ns, n_sys, K, ...) beside the run's (ns, n_sys, ...); streams
    rngs[s][k_sys][k] (streams.member_rng); swaps (B, K, 2) accepted / attempted per pair (k, k+1) since the last
    measurement. The run (mc/simulate.py) owns the beta = inf members and calls start / restore / add_guests /
    step / renormalise / state at the matching points of its own life cycle."""

    def __init__(self, spec, params, make_engine, protocol: str):
        """make_engine(params) -> the run's Engine for other MCParams (the hot members' Metropolis moves)."""
        from dataclasses import replace

        from ..errors import ConfigError

        self.betas = np.asarray(params.pt_betas, dtype=np.float64)      # (K,) hot members of each ladder
        if protocol == "learning" and spec.kappa > 0:
            raise ConfigError("mc.pt_betas", list(params.pt_betas), "[] for learning runs at kappa > 0 (hot "
                                                                     "members need satisfied hidden gaps)")
        hot = replace(params, acceptance="metropolis", beta=float(self.betas[0]), pt_betas=(), tune_steps=0)
        self.engine = make_engine(hot)
        self.engine.moves.hard_hidden = True
        self.spec = spec

    @property
    def K(self) -> int:
        return self.betas.size

    def start(self, S, h, Wt, seed: int, ns: int) -> None:
        """Every hot member starts as a copy of its system (the hosts only: guests join in add_guests)."""
        self.pt = {name: np.repeat(x[:, :, None], self.K, axis=2) for name, x in (("S", S), ("h", h), ("Wt", Wt))}
        self.rngs = [[[member_rng(seed, s, 0, k + 1) for k in range(self.K)]] for s in range(ns)]

    def restore(self, tp: dict, idx, W: int) -> None:
        idx = None if idx is None else idx[:, None, None]
        self.pt = {"S": tp["S"].astype(np.float64), "h": np.zeros(tp["S"].shape),
                   "Wt": weights_to_internal(tp["J"], idx, W)}
        self.pt["h"][..., 1:, :, :] = tp["h"]
        self.rngs = [[[rng_from_words(w) for w in sys_words] for sys_words in sample_words]
                     for sample_words in tp["rng_words"]]
        self.swaps = tp["swaps"].copy()

    def state(self, idx) -> dict:
        """The checkpointed part (mc/checkpoint.py): states as the run stores its own, streams as words, swaps."""
        idx = None if idx is None else idx[:, None, None]
        words = np.array([[[rng_to_words(g) for g in members] for members in row] for row in self.rngs])
        return {"S": self.pt["S"].astype(np.int8), "h": self.pt["h"][..., 1:, :, :].copy(),
                "J": weights_from_internal(self.pt["Wt"], idx), "rng_words": words, "swaps": self.swaps.copy()}

    def add_guests(self, rep, seed: int, ns: int, n_old: int, R: int) -> None:
        """Guests get copies of their host's ladder, with their own streams."""
        self.pt = {name: rep(x) for name, x in self.pt.items()}
        for s in range(ns):
            self.rngs[s] += [[member_rng(seed, s, n_old + r, k + 1) for k in range(self.K)] for r in range(R)]

    def reset_counters(self, B: int) -> None:
        self.swaps = np.zeros((B, self.K, 2))

    def renormalise(self, c_norm) -> None:
        """The periodic recomputation of rows and cached fields from scratch, as the run does for its own."""
        normalise_internal_rows(self.pt["Wt"], c_norm)
        self.pt["h"] = fields_from_scratch(self.pt["S"], self.pt["Wt"], c_norm)

    def step(self, run) -> None:
        """One MC step of every hot member, then the neighbour exchanges of step run.t (module docstring)."""
        ns, n_sys, K, L = run.ns, run.S.shape[1], self.K, self.spec.L
        B = ns * n_sys
        flat = lambda x: x.reshape(B * K, *x.shape[3:])
        rngs = [g for row in self.rngs for members in row for g in members]
        size = None if run.move_size is None else np.repeat(run.move_size.reshape(B, 1, -1), K, axis=1).reshape(B * K, -1)
        cn, cw = np.zeros((B * K, L + 1)), np.zeros((B * K, L + 1))
        self.engine.advance(flat(self.pt["S"]), flat(self.pt["h"]), flat(self.pt["Wt"]), rngs, None,
                            np.repeat(np.arange(ns), n_sys * K), cn, cw, run.t, 1, size, np.tile(self.betas, B))
        V = run.engine.V
        betas = np.concatenate([[np.inf], self.betas])
        pairs = swap_pairs(run.t + 1, K)
        host_rngs = [g for row in run.rngs for g in row]
        for b in range(B):
            s, k_sys = divmod(b, n_sys)
            u = host_rngs[b].random(K)        # a fixed count per step: the stream does not depend on the outcomes
            members = [[x[s, k_sys] for x in (run.S, run.h, run.Wt)],
                       *[[self.pt[n][s, k_sys, k] for n in ("S", "h", "Wt")] for k in range(K)]]
            for k in pairs:
                E = [self._cost(members[j], V) for j in (k, k + 1)]
                ok = bool(swap_accept(betas[k], betas[k + 1], E[0], E[1], u[k]))
                self.swaps[b, k] += (ok, 1)
                if ok:   # views into the arrays: exchange the contents in place
                    for x, y in zip(members[k], members[k + 1]):
                        tmp = x.copy()
                        x[...] = y
                        y[...] = tmp

    def _cost(self, member, V) -> float:
        S, h, _ = member
        if not self.spec.uniform:   # the output layer's N_out gaps, not its padding
            S, h = S[..., :self.spec.N_out], h[..., :self.spec.N_out]
        return float(output_cost(S, h, V))
