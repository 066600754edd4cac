"""The one memory model: what a Monte Carlo run or a theory solve will allocate, checked before it allocates.

A config that cannot fit is refused with one line naming the field most responsible, the estimate and the
memory this machine has available (``ConfigError``, exit status 2), instead of a numpy traceback after half
a store is written. The estimate counts the arrays of the engine (``mc/layout.py`` layout: S and h of every
system are (L+1) x M x N float64, the transposed weights L x N x N float64 even when sparse), one MC step's
random numbers, the checkpoint copies, the data with its teacher and the test set's forward passes. It is
an estimate (calibrated on measured peaks, see TEMPORARIES_FACTOR), not a bound: it exists to stop sizes that
are off by orders of magnitude before they allocate.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import ConfigError

F64, I64, I8 = 8, 8, 1
# The arrays counted below are about half the measured peak (ru_maxrss, numpy backend, N = 100 and 200,
# alpha = 5 and 10, 4 samples x 3 systems: 240 MiB and ~1.6 GiB measured, 109 and 795 MiB counted): the rest is
# the temporaries of the vectorised step and of the stacked random numbers.
TEMPORARIES_FACTOR = 2.0
# Theory: bytes per layer of the chain (peak / L measured with tracemalloc: RS at L = 1000, k-RSB and full RSB
# at L = 40, where the fixed cost still dominates; an upper estimate per layer).
THEORY_BYTES_PER_LAYER = {"rs": 1.2e5, "krsb": 6e5, "frsb": 6e5}


def available_bytes() -> int:
    """Memory this process can still get: MemAvailable, capped by a cgroup (container) limit if lower."""
    free = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                free = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    if free is None:
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return 1 << 62  # unknown platform: do not refuse on a guess
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            limit = int(Path(limit_file).read_text().split()[0])
            used = int(Path(usage_file).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        free = min(free, max(0, limit - used))
        break
    return free


def human_bytes(n: float) -> str:
    for unit, size in (("EiB", 2**60), ("PiB", 2**50), ("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if n >= size:
            value = n / size
            return f"{value:.3g} {unit}" if value < 1e4 else f"{value:.2e} {unit}"
    return f"{n / 2**10:.3g} KiB"


def run_bytes(N: int, L: int, c: int, M: int, n_samples: int, guests: int, M_test: int,
              metropolis: bool = False, weight_uniform: bool = True, sparse: bool = False) -> float:
    """Estimated peak bytes of one run: ``guests`` = guest systems per sample (R x number of waiting times)."""
    N, L, c, M, ns, M_test = (float(x) for x in (N, L, c, M, n_samples, M_test))
    B = ns * (1 + guests)
    state = B * (2 * F64 * (L + 1) * M * N + F64 * L * N * N)
    draws = B * (I64 * N * max(L - 1, 0) * M * (1 + metropolis) + F64 * c * L * N * (2 + weight_uniform))
    saved = B * ((I8 + F64) * (L + 1) * M * N + F64 * L * N * c)        # checkpoint copies (S int8, h, J)
    data = ns * (M * N * 2 * (I8 + F64) + I8 * (L + 1) * M * N + F64 * L * N * c * (1 + sparse))
    test = ns * M_test * N * (I8 * (1 + 2 * (L + 1)) + 2 * F64)          # inputs, two forward passes, a field
    return TEMPORARIES_FACTOR * (state + draws + saved + data + test)


def _sizes(config) -> dict:
    """The config fields that set array sizes (the memory model's inputs), by dotted name."""
    net, data, run, reps = config.network, config.data, config.run, config.replicas
    return {"network.N": net.N, "network.L": net.L, "network.c": net.c, "data.alpha": data.alpha,
            "run.n_samples": run.n_samples, "replicas.R": reps.R,
            "data.M_test": data.M_test if config.has_teacher else 0}


def _bytes_of(config, sizes: dict) -> tuple[float, int, float]:
    """(estimated bytes, M, systems) for the config with its size fields replaced by ``sizes``."""
    N, c = sizes["network.N"], sizes["network.c"]
    fan_in = N if c is None else min(c, N)
    M = max(1, round(sizes["data.alpha"] * fan_in))
    if config.data.scenario == "dataset":   # M is given; unequal widths pad every array to the widest layer
        M, N = int(config.data.M), max(N, config.spec().width_max)
        fan_in = max(fan_in, min(N, config.spec().slots))
    guests = sizes["replicas.R"] * len(config.replicas.waiting_times) if sizes["replicas.R"] else 0
    metropolis = config.mc.acceptance == "metropolis"
    need = run_bytes(N, sizes["network.L"], fan_in, M, sizes["run.n_samples"], guests, sizes["data.M_test"],
                     metropolis=metropolis, weight_uniform=metropolis or config.mc.exact_sphere,
                     sparse=fan_in < N)
    return need, M, sizes["run.n_samples"] * (1 + guests)


# the smallest value of each size field: the field whose reduction saves the most is the one to name
_SMALLEST = {"network.N": 1, "network.L": 1, "network.c": 1, "data.alpha": 1e-300, "run.n_samples": 1,
             "replicas.R": 0, "data.M_test": 0}


def check_run_fits(config, available: int | None = None) -> float:
    """Refuse (ConfigError on the field most responsible) a run config whose estimate exceeds free memory.

    Returns the estimate in bytes. ``available``: bytes to compare with (default: this machine, now).
    """
    sizes = _sizes(config)
    need, M, systems = _bytes_of(config, sizes)
    free = available_bytes() if available is None else available
    if need <= free:
        return need
    saving = {}
    for field, low in _SMALLEST.items():
        if sizes[field] is None:  # c unset: fully connected, N sets the fan-in
            continue
        smaller = dict(sizes, **{field: low})
        if field == "network.N" and sizes["network.c"] is not None:
            smaller["network.c"] = 1
        saving[field] = need - _bytes_of(config, smaller)[0]
    field = max(saving, key=saving.get)
    raise ConfigError(field, sizes[field], f"a size that fits in memory: this run needs ~{human_bytes(need)} "
                                           f"(M = {M} patterns, {systems} systems), this machine has "
                                           f"{human_bytes(free)} available")


def check_theory_fits(L: int, ansatz: str = "rs", field: str = "depth", available: int | None = None) -> float:
    """Refuse a replica-theory chain of depth L whose estimated memory exceeds free memory."""
    need = THEORY_BYTES_PER_LAYER.get(ansatz, max(THEORY_BYTES_PER_LAYER.values())) * float(L)
    free = available_bytes() if available is None else available
    if need > free:
        raise ConfigError(field, L, f"a depth whose {ansatz} chain fits in memory: L = {L} needs "
                                    f"~{human_bytes(need)}, this machine has {human_bytes(free)} available")
    return need


__all__ = ["available_bytes", "check_run_fits", "check_theory_fits", "human_bytes", "run_bytes"]
