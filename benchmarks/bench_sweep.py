"""Sweep scheduling overhead on a Dask LocalCluster: raw tasks/s, and the fraction of worker time not spent
computing points, for one point per task versus the default batching (>= 2 s of estimated work per task).

    .venv/bin/python benchmarks/bench_sweep.py [--points 24] [--workers 2] [--t-max 60] [--N 12]

overhead = 1 - (sum of per-point compute seconds measured on the workers) / (workers x wall seconds of the sweep),
with the workers already started and warm (imports, numba JIT) so that only scheduling, transfers, the store's
bookkeeping (checksums, DONE records, manifest rewrites) and load imbalance count. Baseline in the same process:
the same points run serially in this process (no Dask), whose overhead is the store's bookkeeping alone.
"""
from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path


def sweep_dict(n_points: int, t_max: int, first_seed: int, N: int = 12) -> dict:
    return {
        "seeds": {"count": n_points, "first": first_seed},
        "sweep": {"data.alpha": [1.0]},
        "base": {"network": {"N": N, "L": 3}, "data": {"scenario": "teacher-student", "M_test": 100},
                 "run": {"protocol": "learning", "t_max": t_max, "per_decade": 5, "n_samples": 2},
                 "replicas": {"R": 2, "waiting_times": [0]}},
    }


def noop(x):
    return x


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--t-max", type=int, default=60)
    parser.add_argument("--N", type=int, default=12)
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    from deepglass.experiments.sweep import parse_sweep
    from deepglass.experiments.sweep_run import run_sweep

    print(f"load average before: {os.getloadavg()}")
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client, \
            tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # raw Dask: trivial tasks
        client.gather(client.map(noop, range(50)))
        start = time.perf_counter()
        n = 500
        client.gather(client.map(noop, range(n), pure=False))
        raw = time.perf_counter() - start
        print(f"raw dask: {n / raw:.0f} trivial tasks/s ({1e3 * raw / n * args.workers:.2f} ms of worker time per task)")

        address = cluster.scheduler_address
        quiet = lambda message: None  # noqa: E731
        # warm every worker (imports, numba JIT) with a few points of its own
        run_sweep(parse_sweep(sweep_dict(2 * args.workers, 5, 10_000)), tmp / "warm", scheduler=address,
                  log=quiet, min_task_seconds=0.0)

        rows = []
        for name, kwargs, seed in (("one point per task", dict(min_task_seconds=0.0, tasks_per_worker=10**9), 0),
                                   ("batched (default)", {}, 1000)):
            sweep = parse_sweep(sweep_dict(args.points, args.t_max, seed, args.N))
            report = run_sweep(sweep, tmp / name.split()[0], scheduler=address, log=quiet, **kwargs)
            assert report.ok and report.computed == args.points
            overhead = 1 - report.work_seconds / (report.n_workers * report.wall_seconds)
            rows.append((name, report.batches, report.wall_seconds, report.work_seconds, overhead))

        sweep = parse_sweep(sweep_dict(args.points, args.t_max, 2000, args.N))
        report = run_sweep(sweep, tmp / "serial", serial=True, log=quiet)
        rows.append(("serial, in process", report.batches, report.wall_seconds, report.work_seconds,
                     1 - report.work_seconds / report.wall_seconds))

    print(f"{args.points} points (N={args.N}, L=3, alpha=1, t_max={args.t_max}, 2 samples, R=2), {args.workers} workers")
    print(f"{'mode':<22}{'tasks':>7}{'wall s':>9}{'work s':>9}{'points/s':>10}{'overhead':>10}")
    for name, tasks, wall, work, overhead in rows:
        print(f"{name:<22}{tasks:>7}{wall:>9.2f}{work:>9.2f}{args.points / wall:>10.2f}{overhead:>10.1%}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
