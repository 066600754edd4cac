"""Random streams: every generator derives from the one recorded SeedSequence, without mutating it.

Host of sample s: child(seed, 0, s) (its random start, then its dynamics).
Guest r of waiting time number k of sample s: child(seed, 1, s, k, r).
Counter-based backends (JAX) use instead a key per system, see system_key.
Each system owns its stream, so a host's trajectory does not depend on how many guests run beside it.
"""
from __future__ import annotations

import numpy as np

_MASK64 = (1 << 64) - 1


def child(seed: np.random.SeedSequence, *keys: int) -> np.random.SeedSequence:
    """The SeedSequence that seed.spawn would give at these keys, without advancing seed's spawn counter."""
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, *keys), pool_size=seed.pool_size)


def host_rng(seed: np.random.SeedSequence, sample: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(child(seed, 0, sample)))


def guest_rng(seed: np.random.SeedSequence, sample: int, tw_index: int, replica: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(child(seed, 1, sample, tw_index, replica)))


def member_rng(seed: np.random.SeedSequence, sample: int, system: int, member: int) -> np.random.Generator:
    """Hot member k (1..K) of the tempering ladder of system position `system` (0 = host) of sample s:
    child(seed, 3, s, system, k)."""
    return np.random.Generator(np.random.PCG64(child(seed, 3, sample, system, member)))


def system_key(seed: np.random.SeedSequence, sample: int, tw_index: int | None = None,
               replica: int | None = None) -> np.ndarray:
    """Key of a counter-based stream (JAX backend): 2 uint32 words from child(seed, 2, ...).

    Host: child(seed, 2, 0, s); guest r of waiting time k: child(seed, 2, 1, s, k, r). Step t of the
    system hashes (key; t, round) with Threefry-2x32 (mc/jax_kernels.py), so the stream needs no state
    beyond the MC time.
    """
    keys = (2, 0, sample) if tw_index is None else (2, 1, sample, tw_index, replica)
    return child(seed, *keys).generate_state(2, np.uint32)


def rng_to_words(rng: np.random.Generator) -> np.ndarray:
    """PCG64 state as 6 uint64 words (state hi/lo, inc hi/lo, has_uint32, uinteger): NetCDF-friendly."""
    st = rng.bit_generator.state
    if st["bit_generator"] != "PCG64":
        raise TypeError("only PCG64 streams are serialised")
    s, inc = st["state"]["state"], st["state"]["inc"]
    return np.array([s >> 64, s & _MASK64, inc >> 64, inc & _MASK64, st["has_uint32"], st["uinteger"]],
                    dtype=np.uint64)


def rng_from_words(words: np.ndarray) -> np.random.Generator:
    w = [int(x) for x in np.asarray(words, dtype=np.uint64)]
    bg = np.random.PCG64()
    bg.state = {"bit_generator": "PCG64", "state": {"state": (w[0] << 64) | w[1], "inc": (w[2] << 64) | w[3]},
                "has_uint32": w[4], "uinteger": w[5]}
    return np.random.Generator(bg)
