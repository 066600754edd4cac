"""The one cost model of a Monte Carlo run: how long it will take, before it runs (beside resources.py, the one
memory model). Used to print reproduce's plan and to pack sweep points into batches of similar work.

Seconds per MC step, measured on the 2-core machine under load (numba backend, greedy soft-core, N = 16..128):
n_systems * L * (sub-step overhead ~ N + work ~ N c M), plus a fixed cost per run (start state, measurements,
atomic saves). See docs/experiments.md "Reproduce" and "Sweeps". The design-space sampler has no per-sub-step
thread launch (systems run serially when a step is small): its overhead per neuron was measured on the demo's
case (N = 6, L = 2, 24 systems, 60000 steps: 32 s of MC on the loaded 2-core machine, 2026-12-01).
"""
from __future__ import annotations

MC_OVERHEAD_PER_NEURON = 1.9e-5
MC_WORK = 4e-9
MC_RUN_OVERHEAD = 1.5
OVERHEAD_PER_NEURON = {"local": MC_OVERHEAD_PER_NEURON, "design-space": 2e-6}


def mc_seconds(N: int, L: int, M: int, t_max: int, n_systems: int, c: int | None = None,
               sampler: str = "local") -> float:
    """Estimated seconds of a run: N neurons per layer, L weight layers, M patterns, c inputs per perceptron
    (None: fully connected, c = N), t_max MC steps of n_systems systems (samples x (host + guests)), with the
    move set `sampler` (mc.sampler)."""
    c = N if c is None else c
    return MC_RUN_OVERHEAD + t_max * n_systems * L * (OVERHEAD_PER_NEURON[sampler] * N + MC_WORK * N * c * M)


def config_seconds(config) -> float:
    """mc_seconds of a RunConfig: every sample's host and its guests (R per waiting time)."""
    guests = config.replicas.R * len(config.replicas.waiting_times) if config.replicas.R else 0
    return mc_seconds(config.network.N, config.network.L, config.n_patterns, config.run.t_max,
                      config.run.n_samples * (1 + guests), config.network.c, config.mc.sampler)


__all__ = ["config_seconds", "mc_seconds"]
