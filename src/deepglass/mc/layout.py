"""Engine state layout converters: contract weights <-> the dense transposed internal layout, fields from scratch.

Layout (internal, chosen for the vectorised sweeps; see docs/simulation.md):
  S  : (n_samples, n_sys, L+1, M, N) float64 in {-1, +1}; layer 0 = inputs, layer L = outputs (fixed)
  h  : (n_samples, n_sys, L+1, M, N) float64; h[..., l, mu, i] = local field of perceptron (l, i) on
       pattern mu for l = 1..L; layer 0 is unused and kept at 0
  Wt : (n_samples, n_sys, L, N, N) float64, *transposed and dense*: Wt[..., l-1, j, i] = weight of the
       input neuron j of layer l-1 in perceptron (l, i); zero where (l, i) does not read j (sparse c < N).
       Column Wt[..., l-1, :, i] is row J_i^l; rows have squared norm c.
System 0 of every sample is the host; systems 1.. are guests (R per waiting time, in order).
The contract layout J (..., L, N, c) of deepglass.model is recovered with `weights_from_internal`.
Unequal widths: N is the padded width W = max N_l, J is (..., L, W, C) and the padding is 0 (model.py).
"""
from __future__ import annotations

import numpy as np


def weights_to_internal(J: np.ndarray, idx: np.ndarray | None, N: int) -> np.ndarray:
    """(..., L, N, c) contract weights -> (..., L, N_in, N_out) dense transposed weights (exact copy)."""
    if idx is None:
        return np.ascontiguousarray(np.swapaxes(J, -1, -2), dtype=np.float64)
    idx = np.broadcast_to(idx, J.shape)
    W = np.zeros((*J.shape[:-1], N), dtype=np.float64)  # (..., L, N_out, N_in)
    np.put_along_axis(W, idx, J, axis=-1)
    return np.ascontiguousarray(np.swapaxes(W, -1, -2))


def weights_from_internal(Wt: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
    """(..., L, N_in, N_out) dense transposed weights -> (..., L, N, c) contract weights (exact copy)."""
    W = np.swapaxes(Wt, -1, -2)  # (..., L, N_out, N_in)
    if idx is None:
        return np.ascontiguousarray(W)
    idx = np.broadcast_to(idx, (*W.shape[:-1], idx.shape[-1]))
    return np.take_along_axis(W, idx, axis=-1)


def fields_from_scratch(S: np.ndarray, Wt: np.ndarray, c) -> np.ndarray:
    """h^l = S^{l-1} Wt^l / sqrt(c_l) for l = 1..L (layer 0 zero): the same sum as deepglass.model.local_field.

    c: the fan-in (a number), or the fan-ins c_l of the L layers (unequal widths; padding gives h = 0)."""
    h = np.zeros_like(S)
    norm = np.sqrt(c) if np.ndim(c) == 0 else np.sqrt(np.asarray(c, dtype=np.float64))[:, None, None]
    h[..., 1:, :, :] = np.matmul(S[..., :-1, :, :], Wt) / norm
    return h


def normalise_internal_rows(Wt: np.ndarray, c) -> None:
    """Rescale every row (a column of Wt) to squared norm c (or c_l per layer), in place; padded rows stay 0."""
    if np.ndim(c) == 0:
        Wt *= np.sqrt(c / np.sum(Wt * Wt, axis=-2, keepdims=True))
        return
    norm2 = np.sum(Wt * Wt, axis=-2, keepdims=True)
    c = np.asarray(c, dtype=np.float64)[:, None, None]
    Wt *= np.sqrt(np.divide(c, norm2, out=np.zeros_like(norm2), where=norm2 > 0))


def forward_hidden_neurons(S: np.ndarray, Wt: np.ndarray, c, widths: tuple[int, ...]) -> None:
    """Set the hidden layers of S (..., L+1, M, W) to the forward pass of Wt (sign(0) = +1), in place; the padding
    beyond each layer's width N_l stays 0. c: the fan-in, or the L fan-ins c_l."""
    c_l = np.broadcast_to(np.asarray(c, dtype=np.float64), (len(widths) - 1,))
    for l in range(1, S.shape[-3] - 1):
        n = widths[l]
        h = np.matmul(S[..., l - 1, :, :], Wt[..., l - 1, :, :n]) / np.sqrt(c_l[l - 1])
        S[..., l, :, :n] = np.where(h >= 0.0, 1.0, -1.0)
