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
