"""Move sizes tuned per system and weight layer during the burn-in only (Robbins-Monro), then frozen.

After each burn-in step t (1-based) the size of layer l of every system moves toward the target acceptance:
  log delta_l <- log delta_l + gain_t (a_l(t) - target),  gain_t = TUNE_GAIN / (1 + t / TUNE_T0)^TUNE_DECAY,
with a_l(t) the fraction of layer l's row moves accepted in step t. An adapted chain is not a Markov chain
of fixed kernel (its kernel depends on its past), so its states before the end of tuning are not samples of
anything: measurements are taken after mc.tune_steps, where delta is frozen and every step is one fixed
kernel that leaves the design-space measure invariant (the chain is exact from there on). Each system tunes
from its own acceptance only, so a host's trajectory does not depend on the guests beside it.
"""
from __future__ import annotations

import numpy as np

TUNE_GAIN = 1.0
TUNE_T0 = 10.0
TUNE_DECAY = 0.6
DELTA_MIN, DELTA_MAX = 1e-4, 10.0


def robbins_monro_step(move_size: np.ndarray, accepted: np.ndarray, target: float, t: int) -> np.ndarray:
    """The sizes (..., L) after burn-in step t, given the fraction accepted in that step (..., L)."""
    gain = TUNE_GAIN / (1.0 + t / TUNE_T0) ** TUNE_DECAY
    return np.clip(move_size * np.exp(gain * (accepted - target)), DELTA_MIN, DELTA_MAX)
