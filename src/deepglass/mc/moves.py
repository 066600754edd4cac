"""The move-set seam: one explicit state object for a batch of systems and one small transition interface.

A move set (netket's "transition rule" plus its sampler) is a class with

    draw_shapes() -> {name: (shape, dtype)}     one system's random numbers of one MC step, drawn in order
    step(state: BatchState, draws: dict)        one MC step of every system, in place, from the drawn numbers
    attempts_per_step() -> (neuron, weight)     attempted moves per layer (0..L) per system in one step

registered in MOVE_SETS under the name of MCParams.sampler. The engine (mc/engine.py) draws the numbers
from each system's PCG64 stream (system axis first, (B, ...)) and hands them over, so every move set and
backend obeys the same reproducibility contract: same seed -> same numbers, checkpoints resume bit for bit.
The local moves of the learning dynamics live in engine.py itself (their historical home); the
design-space sampler is mc/design_space.py.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class BatchState:
    """Every system of the flattened batch (B = samples x systems), updated in place by a move set.

    S, h : (B, L+1, M, N) float64 neurons (+-1) and cached local fields (layer 0 of h unused)
    Wt   : (B, L, N, N) float64 dense transposed weights (state.py)
    system_sample : (B,) the data sample of each system (its sparse connectivity)
    counts_neuron, counts_weight : (B, L+1) accepted neuron / weight moves per layer since the last reset
    stats : (B, L+1) or None, diagnostics a move set may fill (design space: column 0 gaps evaluated,
            column l (hidden) neurons flipped by accepted cascades); not part of the checkpointed state
    move_size : (B, L) or None, the weight-move size of every system and weight layer (tuned during the
            burn-in, mc/tuning.py; checkpointed); None = MCParams.delta everywhere
    beta : (B,) or None, the inverse temperature of every system (tempering ladders, mc/tempering.py);
           None = MCParams.beta
    """

    S: np.ndarray
    h: np.ndarray
    Wt: np.ndarray
    system_sample: np.ndarray
    counts_neuron: np.ndarray
    counts_weight: np.ndarray
    stats: np.ndarray | None = None
    move_size: np.ndarray | None = None
    beta: np.ndarray | None = None


def draw_system(rng: np.random.Generator, shapes: dict, highs: dict, out: dict) -> None:
    """Fill out[name] (one system's buffers) from rng in the order of shapes: standard normals for names
    starting with 'gauss', uniforms in [0, 1) for other floats, integers in [0, highs[name]) otherwise."""
    for name, (shape, dtype) in shapes.items():
        if dtype is np.float64:
            (rng.standard_normal if name.startswith("gauss") else rng.random)(out=out[name])
        else:
            out[name][...] = rng.integers(0, highs[name], size=shape)


def draw_batch_system_first(rngs: list, shapes: dict, highs: dict, buffers: dict | None) -> dict:
    """Every system's numbers of one step, system axis first (B, ...), in buffers reused between calls."""
    B = len(rngs)
    if buffers is None or next(iter(buffers.values())).shape[0] != B:
        buffers = {name: np.empty((B, *shape), dtype) for name, (shape, dtype) in shapes.items()}
    for b, g in enumerate(rngs):
        draw_system(g, shapes, highs, {name: x[b] for name, x in buffers.items()})
    return buffers


MOVE_SETS: dict = {}


def register_move_set(name: str, cls) -> None:
    """A third move set is a new file that calls this (and a name in params.SAMPLERS)."""
    MOVE_SETS[name] = cls
