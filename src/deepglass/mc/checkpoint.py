"""Checkpoint: the complete engine state after MC time t (arrays + bit-generator states).

Resuming from it reproduces the uninterrupted run bit for bit: the cached fields are stored as they
are (not recomputed, which would round differently) and every system's PCG64 state is stored.
Acceptance counters are reset at every measurement; a checkpoint taken between measurements (every
K steps) stores them too, so the next measurement's acceptance rates are those of the uninterrupted run.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from ..errors import RunDirectoryError


@dataclass
class Checkpoint:
    t: int
    S: np.ndarray          # (sample, system, layer 0..L, pattern, neuron) int8
    h: np.ndarray          # (sample, system, layer 1..L, pattern, neuron) float64 cached fields
    J: np.ndarray          # (sample, system, wlayer 1..L, neuron, slot) float64 contract layout
    rng_words: np.ndarray  # (sample, system, 6) uint64 PCG64 states
    meta: dict = field(default_factory=dict)  # protocol, n_replicas, waiting_times, random_stream: checked
    counts_neuron: np.ndarray | None = None   # (sample * system, layer 0..L) accepted moves since the last
    counts_weight: np.ndarray | None = None   # measurement, and the number of MC steps they cover
    steps_since: int = 0
    move_size: np.ndarray | None = None       # (sample, system, wlayer) design-space move sizes (tuned)
    tempering: dict | None = None             # the hot members of the ladders (mc/tempering.py): S, h, J,
                                              # rng_words (sample, system, member, ...), swaps (flat_system, pair, 2)

    def to_dataset(self) -> xr.Dataset:
        extra = {} if self.move_size is None else {"move_size": (("sample", "system", "wlayer"), self.move_size)}
        if self.tempering is not None:
            tp, m = self.tempering, ("sample", "system", "member")
            extra.update({"pt_S": ((*m, "layer", "pattern", "neuron"), tp["S"].astype(np.int8)),
                          "pt_h": ((*m, "wlayer", "pattern", "neuron"), tp["h"]),
                          "pt_J": ((*m, "wlayer", "neuron", "slot"), tp["J"]),
                          "pt_rng_state": ((*m, "word"), tp["rng_words"].astype(np.uint64)),
                          "pt_swaps": (("flat_system", "pair", "outcome"), tp["swaps"])})
        return xr.Dataset(
            {**extra,
                "S": (("sample", "system", "layer", "pattern", "neuron"), self.S.astype(np.int8)),
                "h": (("sample", "system", "wlayer", "pattern", "neuron"), self.h),
                "J": (("sample", "system", "wlayer", "neuron", "slot"), self.J),
                "rng_state": (("sample", "system", "word"), self.rng_words.astype(np.uint64)),
                "waiting_times": (("tw_all",), np.asarray(self.meta.get("waiting_times", ()), dtype=np.int64)),
                "counts_neuron": (("flat_system", "layer"), self._counts(self.counts_neuron)),
                "counts_weight": (("flat_system", "layer"), self._counts(self.counts_weight)),
            },
            attrs={"t": int(self.t), "kind": "deepglass.mc.Checkpoint", "steps_since": int(self.steps_since),
                   **{k: v for k, v in self.meta.items() if k != "waiting_times"}},
        )

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> "Checkpoint":
        try:
            if ds.attrs.get("kind") != "deepglass.mc.Checkpoint":
                raise KeyError("kind")
            meta = {k: v for k, v in ds.attrs.items() if k not in ("t", "kind", "steps_since")}
            meta["waiting_times"] = tuple(int(x) for x in ds["waiting_times"].values)
            if "n_replicas" in meta:  # NetCDF hands attributes back as numpy integers
                meta["n_replicas"] = int(meta["n_replicas"])
            return cls(int(ds.attrs["t"]), ds["S"].values.astype(np.int8), ds["h"].values.astype(np.float64),
                       ds["J"].values.astype(np.float64), ds["rng_state"].values.astype(np.uint64), meta,
                       ds["counts_neuron"].values.astype(np.float64), ds["counts_weight"].values.astype(np.float64),
                       int(ds.attrs["steps_since"]),
                       ds["move_size"].values.astype(np.float64) if "move_size" in ds else None,
                       {"S": ds["pt_S"].values.astype(np.int8), "h": ds["pt_h"].values.astype(np.float64),
                        "J": ds["pt_J"].values.astype(np.float64), "rng_words": ds["pt_rng_state"].values.astype(np.uint64),
                        "swaps": ds["pt_swaps"].values.astype(np.float64)} if "pt_S" in ds else None)
        except KeyError as exc:
            raise RunDirectoryError(f"not a deepglass MC checkpoint (missing {exc})") from None

    def _counts(self, counts: np.ndarray | None) -> np.ndarray:
        if counts is not None:
            return counts
        B = self.S.shape[0] * self.S.shape[1]
        return np.zeros((B, self.S.shape[2]))
