"""Running a sweep: find what is missing in the store, batch it, run the batches on Dask (or in-process).

Order of work: validate the sweep (``sweep.load_sweep``, writes nothing) and the store directory, write
``sweep.toml`` and the manifest, check every point (finished and intact -> cached; damaged -> reported and
recomputed), then run the rest. Workers write each point's files themselves (``run_simulation`` into
``points/<hash16>/``, then ``DONE.json``), so a killed process or worker loses at most the points in flight,
and those resume from their own checkpoints. The driver alone rewrites the manifest, after every batch.

Batching: each point's cost is estimated from its size (experiments/cost.py, the one MC cost model);
points are packed, largest first, into batches of at least ``min_task_seconds`` (and about
``tasks_per_worker`` batches per worker), so the per-task cost of Dask stays a small fraction of the work
(measured in benchmarks/bench_sweep.py).
"""
from __future__ import annotations

import os
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..atomic import atomic_path, directory_lock
from ..errors import ConfigError, ConvergenceError, RunDirectoryError
from .cost import config_seconds
from .resources import check_run_fits
from .sweep import Sweep, TheoryKey, load_sweep, parse_sweep
from .sweep_store import (SWEEP_FILE, check_store, clear_point, clear_theory, mark_point_done, mark_theory_done,
                          point_dir, point_problem, theory_file, theory_problem, write_manifest)

# Theory cost and batch sizes (MC points: experiments/cost.py); only ratios matter for packing.
THEORY_SECONDS = 0.5         # one RS solve of the chain
MIN_TASK_SECONDS = 1.0       # Dask costs ~5 ms of worker time per task: >= 1 s of work per task keeps it < 1 %
TASKS_PER_WORKER = 8         # enough batches that the last ones finishing unevenly cost little


def available_cores() -> int:
    """Cores this process may run on (the affinity mask in containers and batch jobs), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Job:
    kind: str          # "run" or "theory"
    hash: str
    payload: dict      # the run config, or the theory key
    seconds: float     # estimated cost
    label: str = ""


def make_batches(jobs: list[Job], n_workers: int, min_task_seconds: float = MIN_TASK_SECONDS,
                 tasks_per_worker: int = TASKS_PER_WORKER) -> list[list[Job]]:
    """Pack jobs, largest first, into batches of at least max(min_task_seconds, total / (tasks x workers))."""
    if not jobs:
        return []
    total = sum(j.seconds for j in jobs)
    target = max(min_task_seconds, total / (tasks_per_worker * max(1, n_workers)))
    batches, current, cost = [], [], 0.0
    for job in sorted(jobs, key=lambda j: -j.seconds):
        current.append(job)
        cost += job.seconds
        if cost >= target:
            batches.append(current)
            current, cost = [], 0.0
    if current:
        batches.append(current)
    return batches


# ---------------------------------------------------------------------- what runs on a worker

def _run_point(store: Path, job: Job) -> str:
    from .config import parse_config
    from .runner import run_simulation

    folder = point_dir(store, job.hash)  # run_simulation locks it and removes a killed write's temporaries
    note = ""
    config = parse_config(job.payload)
    try:
        run_simulation(config, folder)  # resumes a killed run from its checkpoint; a finished one is left as is
    except RunDirectoryError as exc:  # a damaged partial run.nc: start this point afresh
        note = f"partial run unusable ({exc}); restarted"
        clear_point(store, job.hash)
        run_simulation(config, folder, overwrite=True)
    return note


def _solve_theory(store: Path, job: Job) -> str:
    from ..theory import solve
    from .store import write_dataset

    path = theory_file(store, job.hash)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_dataset(solve(TheoryKey(**job.payload).problem(), "rs"), path)
    return ""


def run_batch(store: str, jobs: list[Job]) -> list[dict]:
    """Run one batch (on a worker, or in-process). One result per job; failures are returned, not raised."""
    store_path = Path(store)
    results = []
    for job in jobs:
        start = time.perf_counter()
        try:
            note = _run_point(store_path, job) if job.kind == "run" else _solve_theory(store_path, job)
            seconds = time.perf_counter() - start
            (mark_point_done if job.kind == "run" else mark_theory_done)(store_path, job.hash, seconds)
            results.append({"hash": job.hash, "kind": job.kind, "ok": True, "seconds": seconds, "note": note})
        except ConvergenceError as exc:
            results.append({"hash": job.hash, "kind": job.kind, "ok": False, "error": str(exc),
                            "seconds": time.perf_counter() - start})
        except Exception as exc:  # noqa: BLE001 - one bad point must not lose the rest of the batch
            results.append({"hash": job.hash, "kind": job.kind, "ok": False, "seconds": time.perf_counter() - start,
                            "error": f"{exc.__class__.__name__}: {exc}",
                            "traceback": traceback.format_exc(limit=5)})
    return results


# ---------------------------------------------------------------------- the driver

@dataclass
class SweepReport:
    """What a sweep run did. ``recomputed``: (label, reason) of damaged points found and recomputed."""

    total: int = 0
    cached: int = 0
    computed: int = 0
    recomputed: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    theory_total: int = 0
    theory_cached: int = 0
    theory_computed: int = 0
    theory_failed: list[tuple[str, str]] = field(default_factory=list)
    batches: int = 0
    work_seconds: float = 0.0   # sum of job times measured on the workers
    wall_seconds: float = 0.0
    n_workers: int = 1

    @property
    def ok(self) -> bool:
        return not self.failed and not self.theory_failed

    def summary(self) -> str:
        line = (f"points: {self.total} total, {self.cached} cached, {self.computed} computed "
                f"({len(self.recomputed)} of them recomputed: damaged), {len(self.failed)} failed")
        if self.theory_total:
            line += (f"; theory: {self.theory_total} total, {self.theory_cached} cached, "
                     f"{self.theory_computed} computed, {len(self.theory_failed)} failed")
        return line


Progress = Callable[[int, int], None]  # (finished points, total points)
Log = Callable[[str], None]


def _warn(message: str) -> None:
    warnings.warn(message, stacklevel=3)


def prepare_store(sweep: Sweep, store: Path) -> None:
    """Check the directory, then write sweep.toml and a fresh manifest (statuses filled in by the scan)."""
    check_store(store)
    (store / "points").mkdir(parents=True, exist_ok=True)
    with atomic_path(store / SWEEP_FILE) as tmp:
        tmp.write_text(sweep.to_toml())


def _scan(sweep: Sweep, store: Path, report: SweepReport, log: Log) -> tuple[list[Job], dict, dict]:
    """Finished points (cached) and the jobs still to do; damaged points are reported and cleared."""
    status, theory_status, jobs = {}, {}, []
    for point in sweep.points:
        problem = point_problem(store, point.hash)
        if problem is None:
            status[point.hash] = "complete"
            report.cached += 1
            continue
        if problem:
            log(f"point {point.short} ({point.label()}): {problem}; recomputing it")
            report.recomputed.append((point.label(), problem))
            clear_point(store, point.hash)
        status[point.hash] = "pending"
        jobs.append(Job("run", point.hash, point.config.to_dict(), config_seconds(point.config), point.label()))
    for key in sweep.theory_keys():
        problem = theory_problem(store, key.hash)
        if problem is None:
            theory_status[key.hash] = "complete"
            report.theory_cached += 1
            continue
        if problem:
            log(f"theory {key.hash[:16]} ({key.to_dict()}): {problem}; recomputing it")
            clear_theory(store, key.hash)
        theory_status[key.hash] = "pending"
        jobs.append(Job("theory", key.hash, key.to_dict(), THEORY_SECONDS, str(key.to_dict())))
    return jobs, status, theory_status


def run_sweep(sweep: Sweep | dict | str | os.PathLike, store: str | os.PathLike, *,
              scheduler: str | None = None, workers: int | None = None, serial: bool = False,
              progress: Progress | None = None, log: Log | None = None,
              min_task_seconds: float = MIN_TASK_SECONDS, tasks_per_worker: int = TASKS_PER_WORKER) -> SweepReport:
    """Compute every missing point of ``sweep`` into ``store`` (finished points are cached under their hash).

    Re-running a finished sweep does nothing; after a kill only the missing points run, and a damaged point
    is reported and recomputed (docs/experiments.md). Read the result with `open_sweep`.

    Parameters
    ----------
    sweep : Sweep, dict or path
        The sweep: a parsed Sweep, the same as a dict, or a sweep TOML file (``deepglass sweep --example``).
    store : str or path
        The sweep store directory (created if needed).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); its workers must see ``store`` on a shared
        filesystem and have this deepglass installed. None: a LocalCluster is started and closed again.
    workers : int, optional
        LocalCluster worker processes (single-threaded), default one per core.
    serial : bool
        Run every point in this process, without Dask.
    progress : callable, optional
        ``progress(finished, total)`` after every finished point.
    log : callable, optional
        ``log(message)`` for notes (damaged points, failures); default: warnings.
    min_task_seconds : float
        Batches hold at least this much estimated work (seconds).
    tasks_per_worker : int
        About this many batches per worker.

    Returns
    -------
    SweepReport
        How many points were cached, computed, recomputed (with the reasons) or failed, and the theory's.
    """
    if not isinstance(sweep, Sweep):
        sweep = load_sweep(sweep) if isinstance(sweep, (str, os.PathLike)) else parse_sweep(sweep)
    store = Path(store).absolute()
    log = log or _warn
    start = time.perf_counter()
    if workers is not None and not 1 <= workers <= max_workers():
        raise ConfigError("--workers", workers, f"an integer 1 <= workers <= {max_workers()} "
                                                f"(4 x the {available_cores()} cores this process may use)")
    check_points_fit(sweep)  # every point, before anything is written
    check_store(store)
    client = None if serial or scheduler is None else connect_scheduler(scheduler)  # before the store is written
    try:
        with directory_lock(store):  # one driver per store; workers lock each point's own directory
            return _run_locked(sweep, store, client, workers, serial, progress, log, min_task_seconds,
                               tasks_per_worker, start)
    finally:
        if client is not None:
            client.close()


def check_points_fit(sweep: Sweep) -> None:
    """Refuse a sweep with any point whose run cannot fit in memory (ConfigError naming the point)."""
    for point in sweep.points:
        try:
            check_run_fits(point.config)
        except ConfigError as exc:
            raise ConfigError(f"sweep point {point.label()}: {exc.field}", exc.value, exc.allowed) from None


def connect_scheduler(address: str):
    """A Dask Client of a running scheduler, or ConfigError saying why not (nothing written yet)."""
    from distributed import Client

    try:
        return Client(address, timeout=30)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError("--scheduler", address, "the address of a running Dask scheduler "
                          f"(could not connect: {exc.__class__.__name__}: {exc}); nothing was written") from None


def _run_locked(sweep, store, client, workers, serial, progress, log, min_task_seconds, tasks_per_worker,
                start) -> SweepReport:
    prepare_store(sweep, store)
    report = SweepReport(total=len(sweep.points), theory_total=len(sweep.theory_keys()))
    jobs, status, theory_status = _scan(sweep, store, report, log)
    write_manifest(store, sweep, status, theory_status)
    labels = {p.hash: p.label() for p in sweep.points}
    finished = report.cached

    def record(results: list[dict]) -> None:
        nonlocal finished
        for r in results:
            report.work_seconds += r.get("seconds", 0.0)
            if r["kind"] == "run":
                finished += 1
                if r["ok"]:
                    report.computed += 1
                    status[r["hash"]] = "complete"
                    if r.get("note"):
                        log(f"point {r['hash'][:16]} ({labels[r['hash']]}): {r['note']}")
                else:
                    status[r["hash"]] = "failed"
                    report.failed.append((labels[r["hash"]], r["error"]))
                    log(f"point {r['hash'][:16]} ({labels[r['hash']]}) failed: {r['error']}")
            elif r["ok"]:
                report.theory_computed += 1
                theory_status[r["hash"]] = "complete"
            else:
                theory_status[r["hash"]] = "failed"
                report.theory_failed.append((r["hash"][:16], r["error"]))
                log(f"theory {r['hash'][:16]} failed: {r['error']}")
        write_manifest(store, sweep, status, theory_status)
        if progress is not None:
            progress(finished, report.total)

    if progress is not None:
        progress(finished, report.total)
    if jobs:
        if serial:
            report.n_workers = 1
            batches = make_batches(jobs, 1, min_task_seconds, tasks_per_worker)
            report.batches = len(batches)
            for batch in batches:
                record(run_batch(str(store), batch))
        else:
            _run_on_dask(jobs, store, client, workers, (min_task_seconds, tasks_per_worker), report, record)
    report.wall_seconds = time.perf_counter() - start
    return report


def max_workers() -> int:
    """The most LocalCluster worker processes a sweep starts: more than a few per core only adds start-up
    time and memory (100000 of them never finish starting)."""
    return 4 * available_cores()


def _run_on_dask(jobs, store, client, workers, batching, report, record) -> None:
    """Run the batches on ``client`` (a connected scheduler), or on a LocalCluster started here when None."""
    import logging

    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if client is None:
        n = workers or available_cores()
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)
        client = Client(cluster)
    try:
        client.wait_for_workers(1, timeout=60)
        report.n_workers = max(1, len(client.scheduler_info()["workers"]))
        batches = make_batches(jobs, report.n_workers, *batching)
        report.batches = len(batches)
        futures = {client.submit(run_batch, str(store), batch, pure=False): batch for batch in batches}
        for future in as_completed(futures):
            try:
                results = future.result()
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: its points stay missing, a rerun does them
                results = [{"hash": j.hash, "kind": j.kind, "ok": False,
                            "error": f"{exc.__class__.__name__}: {exc}"} for j in futures[future]]
            record(results)
    finally:
        if cluster is not None:  # a scheduler's client is closed by run_sweep, which opened it
            client.close()
            cluster.close()


__all__ = ["Job", "SweepReport", "make_batches", "run_batch", "run_sweep"]

