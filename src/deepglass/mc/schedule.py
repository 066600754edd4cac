"""Log-spaced measurement times (MODEL.md section 4: overlaps at log-spaced t - t_w)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ConfigError


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def log_spaced(t_max: int, per_decade: int) -> np.ndarray:
    """Unique integers round(10^(k/per_decade)) in [1, t_max], always including t_max."""
    k = np.arange(0, int(np.floor(np.log10(t_max) * per_decade)) + 1)
    t = np.unique(np.round(10.0 ** (k / per_decade)).astype(np.int64))
    return np.union1d(t[(t >= 1) & (t <= t_max)], [t_max])


def measurement_times(t_max: int, per_decade: int, waiting_times: Sequence[int] = ()) -> np.ndarray:
    """Sorted unique integer MC times in [1, t_max]: log-spaced (per_decade points per decade, always
    including t_max), united with t_w + log-spaced lags for every waiting time.

    Parameters
    ----------
    t_max : int
        Last MC time (steps), >= 1.
    per_decade : int
        Measurements per decade of time, >= 1.
    waiting_times : sequence of int
        Waiting times t_w in [0, t_max): each adds t_w + log-spaced lags.

    Returns
    -------
    numpy.ndarray of int
        The measurement times, ascending.
    """
    if not _is_int(t_max) or t_max < 1:
        raise ConfigError("t_max", t_max, "an integer >= 1 (MC steps)")
    if not _is_int(per_decade) or per_decade < 1:
        raise ConfigError("per_decade", per_decade, "an integer >= 1 (measurements per decade of time)")
    times = log_spaced(t_max, per_decade)
    for tw in check_waiting_times(waiting_times, t_max):
        if tw < t_max:
            times = np.union1d(times, tw + log_spaced(t_max - tw, per_decade))
    return times.astype(np.int64)


def check_waiting_times(waiting_times: Sequence[int], t_max: int) -> tuple[int, ...]:
    tws = tuple(waiting_times)
    if (not all(_is_int(t) for t in tws) or any(not 0 <= t < t_max for t in tws)
            or list(tws) != sorted(set(tws))):
        raise ConfigError("waiting_times", list(tws),
                          f"strictly increasing integers t_w with 0 <= t_w < t_max = {t_max}")
    return tuple(int(t) for t in tws)
