"""Layer widths: equal widths before / after the unequal-widths change, and the cost of unequal widths, in one run.

Before / after: the package at git revision BASE (default: main) is unpacked (git archive) into a cache folder and
imported as `deepglass_base` beside this tree's `deepglass`; both engines step the same planted systems with the
same random numbers, alternately, best of the repeats, timed in CPU time (time.process_time, all threads: the
machine is shared, and CPU time is far less disturbed by other jobs than wall time). Their final states are compared bit for bit (equal widths
must follow the same trajectory) and the time ratio after / before is printed.
Unequal widths: a digits-like network (N_in = 64, N = 20, N_out = 2) against the equal-width network of the same
hidden width, per attempted move (numba; the arrays are padded to 64 but the kernels loop to each layer's width).
Usage: python benchmarks/bench_widths.py [--base REV] [--quick]
"""
from __future__ import annotations

import importlib
import subprocess
import sys
import tarfile
import time
from io import BytesIO
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def base_package(rev: str):
    """The deepglass package of git revision `rev`, importable as deepglass_base (relative imports only)."""
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", rev], check=True, capture_output=True,
                         text=True).stdout.strip()
    folder = Path("/tmp") / f"deepglass-bench-base-{sha[:12]}"
    target = folder / "deepglass_base"
    if not target.exists():
        raw = subprocess.run(["git", "-C", str(ROOT), "archive", sha, "src/deepglass"], check=True,
                             capture_output=True).stdout
        with tarfile.open(fileobj=BytesIO(raw)) as tar:
            tar.extractall(folder / "unpacked")
        (folder / "unpacked" / "src" / "deepglass").rename(target)
    sys.path.insert(0, str(folder))
    return importlib.import_module("deepglass_base"), sha


def planted(pkg, N, L, M, B, widths=None):
    model = importlib.import_module(f"{pkg.__name__}.model")
    layout = importlib.import_module(f"{pkg.__name__}.mc.layout")
    kw = {} if widths is None else {"N_in": widths[0], "N_out": widths[-1]}
    spec = model.NetworkSpec(N=N, L=L, **kw)
    data = model.make_training_set(spec, "teacher-student", M, np.random.default_rng(0), (B,))
    W = max(spec.widths) if hasattr(spec, "widths") else N
    S = np.zeros((B, L + 1, M, W))
    for l, x in enumerate(data.teacher_layers):
        S[:, l, :, :x.shape[-1]] = x
    Wt = layout.weights_to_internal(data.teacher.J, None, W)
    c = N if widths is None else spec.fan_in
    return spec, S, layout.fields_from_scratch(S, Wt, c), Wt


def engine_of(pkg, spec, M, backend):
    eng = importlib.import_module(f"{pkg.__name__}.mc.engine")
    params = importlib.import_module(f"{pkg.__name__}.mc.params").MCParams()
    kw = {} if getattr(spec, "uniform", True) else {"widths": spec.widths, "fan_in": spec.fan_in}
    return eng.Engine(spec.N, spec.L, spec.c, M, 0.0, params, None, backend, **kw)


def timed_steps(engine, state, B, steps, seed=7):
    S, h, Wt = (x.copy() for x in state)
    rngs = [np.random.default_rng([seed, b]) for b in range(B)]
    counts = np.zeros((B, engine.L + 1)), np.zeros((B, engine.L + 1))
    t0 = time.process_time()   # CPU time of this process (all its threads): robust to other jobs on the machine
    for _ in range(steps):
        engine.step(S, h, Wt, rngs, np.arange(B), *counts)
    return time.process_time() - t0, (S, h, Wt)


def before_after(base, new, backend, N, L, M, B, steps, repeats):
    spec, *state = planted(new, N, L, M, B)
    engines = {"before": engine_of(base, base.model.NetworkSpec(N=N, L=L), M, backend),
               "after": engine_of(new, spec, M, backend)}
    for e in engines.values():
        timed_steps(e, state, B, 1)   # warm-up: numba loads or compiles its kernels
    best, final = {k: np.inf for k in engines}, {}
    for _ in range(repeats):          # alternate, so a load change on the shared machine hits both
        for name, e in engines.items():
            dt, final[name] = timed_steps(e, state, B, steps)
            best[name] = min(best[name], dt / steps)
    same = all(np.array_equal(a, b) for a, b in zip(final["before"], final["after"]))
    return best["before"], best["after"], same


def unequal_cost(new, N, L, M, B, steps, repeats, widths):
    out = {}
    for name, w in (("equal", None), ("unequal", widths)):
        spec, *state = planted(new, N, L, M, B, w)
        e = engine_of(new, spec, M, "numba")
        timed_steps(e, state, B, 1)
        n_att = sum(x.sum() for x in e.attempts_per_step())
        out[name] = min(timed_steps(e, state, B, steps)[0] / steps for _ in range(repeats)), n_att
    return out


def main():
    quick = "--quick" in sys.argv
    rev = sys.argv[sys.argv.index("--base") + 1] if "--base" in sys.argv else "main"
    sys.path.insert(0, str(ROOT / "src"))
    import deepglass as new
    importlib.import_module("deepglass.model")
    base, sha = base_package(rev)
    importlib.import_module("deepglass_base.model")
    print(f"before = {rev} ({sha[:10]}), after = this tree; CPU ms per step, best of the repeats, alternating")
    print(f"{'backend':8s} {'N':>4s} {'L':>3s} {'M':>4s} {'B':>2s}  {'before ms':>10s} {'after ms':>10s} "
          f"{'after/before':>12s}  same trajectory")
    cases = [("numpy", 20, 6, 40, 2, 3), ("numba", 20, 10, 40, 2, 20), ("numba", 100, 6, 100, 2, 3)]
    repeats = 3 if quick else 7
    for backend, N, L, M, B, steps in cases:
        b, a, same = before_after(base, new, backend, N, L, M, B, steps, repeats)
        print(f"{backend:8s} {N:4d} {L:3d} {M:4d} {B:2d}  {1e3 * b:10.2f} {1e3 * a:10.2f} {a / b:12.3f}  {same}")
    widths = (64, 20, 20, 20, 20, 20, 2)
    res = unequal_cost(new, 20, 6, 100, 2, 5, repeats, widths)
    (te, ne), (tu, nu) = res["equal"], res["unequal"]
    print(f"unequal widths {widths} vs equal N = 20, L = 6, M = 100, B = 2 (numba): {1e3 * tu:.2f} ms vs "
          f"{1e3 * te:.2f} ms per step; per attempted move {1e9 * tu / nu:.1f} ns vs {1e9 * te / ne:.1f} ns "
          f"(ratio {(tu / nu) / (te / ne):.2f})")


if __name__ == "__main__":
    main()
