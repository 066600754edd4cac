"""Run a configured Monte Carlo experiment into a run directory, resuming interrupted runs.

The order of work is always: validate the config, inspect the directory (:func:`plan_run`, writes
nothing), then run (:func:`execute`). So bad input never leaves a half-created directory behind.

Randomness: one ``SeedSequence(config.seed)`` spawns three independent children, in this fixed order:
data (training set, teacher, sparse connectivity), test inputs, and the MC engine.
"""
from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import xarray as xr

from .. import __version__
from ..atomic import LOCK_FILE, directory_lock, is_temporary, remove_stale_temporaries
from ..errors import RunDirectoryError
from ..model import TrainingSet, make_training_set, sample_inputs
from .config import RunConfig, load_config, parse_config
from .resources import check_run_fits
from .summary import equilibrium_attrs
from .store import (RESULT_FILE, StoredRun, concat_measurements, read_run, remove_figures, result_file,
                    write_run)

EventCallback = Callable[[object], None]


@dataclass
class Inputs:
    """Everything the engine needs, derived deterministically from the config and its seed."""

    data: TrainingSet
    test_inputs: np.ndarray | None
    engine_seed: np.random.SeedSequence


def make_inputs(config: RunConfig) -> Inputs:
    """Training sets (one per sample), test inputs and the engine's seed, all from ``SeedSequence(seed)``."""
    if config.seed is None:
        raise ValueError("make_inputs needs a config with a concrete seed (use config.with_seed())")
    data_seed, test_seed, engine_seed = np.random.SeedSequence(config.seed).spawn(3)
    spec = config.spec()
    batch = (config.run.n_samples,)
    if config.data.scenario == "dataset":
        from .dataset_inputs import make_dataset_training_set
        data = make_dataset_training_set(config, spec, np.random.default_rng(data_seed),
                                         np.random.default_rng(test_seed))
        return Inputs(data, None, engine_seed)
    data = make_training_set(spec, config.data.scenario, config.n_patterns, np.random.default_rng(data_seed),
                             batch=batch, D=config.data.D)
    test_inputs = None
    if data.teacher is not None and config.data.M_test > 0:
        test_inputs = sample_inputs(spec, config.data.M_test, np.random.default_rng(test_seed), batch=batch,
                                    manifold=data.manifold)
    return Inputs(data, test_inputs, engine_seed)


def mc_params(config: RunConfig):
    from ..mc import MCParams

    beta = config.mc.beta if config.mc.acceptance == "metropolis" else None  # greedy ignores beta
    return MCParams(potential=config.mc.potential, acceptance=config.mc.acceptance, beta=beta,
                    delta=config.mc.delta, exact_sphere=config.mc.exact_sphere, sampler=config.mc.sampler,
                    proposal=config.mc.proposal, tune_steps=config.mc.tune_steps,
                    target_acceptance=config.mc.target_acceptance, pt_betas=tuple(config.mc.pt_betas),
                    billiard_time=config.mc.billiard_time)


def engine_waiting_times(config: RunConfig) -> tuple[int, ...]:
    """The waiting times the engine sees: none without replicas (the config's list is then unused)."""
    return tuple(config.replicas.waiting_times) if config.replicas.R > 0 else ()


def measurement_schedule(config: RunConfig) -> np.ndarray:
    from ..mc import measurement_times

    times = measurement_times(config.run.t_max, config.run.per_decade, engine_waiting_times(config))
    k = config.run.trace_every
    if k > 0:   # the evenly spaced series of the autocorrelation times (experiments/mixing.py)
        times = np.union1d(times, np.arange(k, config.run.t_max + 1, k)).astype(np.int64)
    return times


# ---------------------------------------------------------------------- what is in the directory

@dataclass
class RunPlan:
    """A validated decision about a run directory: start ``fresh``, ``resume`` or nothing to do (``complete``)."""

    config: RunConfig  # with a concrete seed
    out: Path
    mode: str
    stored: StoredRun | None = None


def _config_json(config: RunConfig) -> str:
    return json.dumps(config.to_dict(), sort_keys=True)


def plan_run(config: RunConfig, out: str | os.PathLike, overwrite: bool = False) -> RunPlan:
    """Decide what to do with ``out`` without writing anything.

    * a config whose arrays cannot fit in this machine's memory: ConfigError naming the field (resources.py);
    * no directory, an empty one (or one holding only the temporary file of a first write that was killed),
      or ``overwrite``: a fresh run (seed drawn now if the config has none);
    * a run of the same config (a config without seed matches any seed): resume it, or report it complete;
    * anything else (another run, a corrupt result file, unrelated files): RunDirectoryError.
    Call it holding the directory's lock (:func:`locked_run_directory`), so nobody changes it before execute.
    """
    check_run_fits(config)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RunDirectoryError(f"--out {out} exists and is not a directory")
    file = out / RESULT_FILE
    if overwrite or not out.exists():
        return RunPlan(config.with_seed(), out, "fresh")
    if not file.exists():
        others = [p.name for p in out.iterdir() if not (is_temporary(p.name) or p.name == LOCK_FILE)]
        if others:
            raise RunDirectoryError(
                f"--out {out} is not empty and holds no {RESULT_FILE} ({', '.join(sorted(others)[:5])}); "
                "choose another directory or pass --overwrite to write the run into it")
        return RunPlan(config.with_seed(), out, "fresh")
    try:
        stored = read_run(out)
    except RunDirectoryError as exc:
        raise RunDirectoryError(f"{exc}; pass --overwrite to start this run afresh") from None
    previous = stored_config(stored.measurements)
    wanted = config if config.seed is not None else config.model_copy(update={"seed": previous.seed})
    if wanted != previous:
        raise RunDirectoryError(
            f"--out {out} holds a different run ({_difference(previous, wanted)}); "
            "choose another directory or pass --overwrite to replace it")
    if stored.status == "complete":
        return RunPlan(previous, out, "complete", stored)
    return RunPlan(previous, out, "resume", stored)


def _difference(stored: RunConfig, wanted: RunConfig) -> str:
    """The first few settings that differ, as 'network.N: 20 there, 40 here'."""
    a, b = stored.to_dict(), wanted.to_dict()
    diffs = []
    for key in a:
        if isinstance(a[key], dict):
            diffs += [f"{key}.{k}: {a[key][k]!r} there, {b[key][k]!r} here" for k in a[key] if a[key][k] != b[key][k]]
        elif a[key] != b[key]:
            diffs.append(f"{key}: {a[key]!r} there, {b[key]!r} here")
    return "; ".join(diffs[:3]) or "same settings, different file"


@contextlib.contextmanager
def locked_run_directory(out: str | os.PathLike):
    """Hold ``out`` for this process (a second process is refused, naming the holder) and remove the
    temporaries a killed write left there: a directory holding only those is an unfinished, empty run."""
    with directory_lock(out):
        remove_stale_temporaries(out)
        yield Path(out)


# ---------------------------------------------------------------------- running

def run_attrs(config: RunConfig, status: str, t_done: int) -> dict:
    return {
        "config_json": _config_json(config),
        "config_toml": config.to_toml(comments=False),
        "seed": int(config.seed),
        "deepglass_version": __version__,
        "status": status,
        "t_done": int(t_done),
        "n_patterns": int(config.n_patterns),
        "scenario": config.data.scenario,
        "protocol": config.run.protocol,
    }


SAVE_OVERHEAD_FACTOR = 9.0   # a save that took d seconds is followed by >= 9 d seconds of work before the next


def execute(plan: RunPlan, on_event: EventCallback | None = None, save_interval: float = 1.0) -> xr.Dataset:
    """Run (or resume) the plan; returns the complete measurement Dataset.

    Measurements and the engine checkpoint are saved together, atomically, at measurement times, at most
    once per ``save_interval`` seconds (or per SAVE_OVERHEAD_FACTOR times the last save's duration, whichever is
    longer, so rewriting a growing run.nc stays ~10 % of the work; 0 = at every measurement), every ``run.checkpoint_every`` MC steps when
    set, and always at the end, so an interrupted run loses at most the work since the last save and resumes
    exactly there.
    """
    from ..mc import Checkpoint, simulate

    config = plan.config
    if plan.mode == "complete":
        return plan.stored.measurements
    inputs = make_inputs(config)
    if plan.mode == "resume" and plan.stored.checkpoint is not None:
        done_parts = [plan.stored.measurements]
        checkpoint = Checkpoint.from_dataset(plan.stored.checkpoint)
    else:
        done_parts, checkpoint = [], None
    t_saved = checkpoint.t if checkpoint is not None else 0
    new_parts: list[xr.Dataset] = []
    last_save, wait = time.monotonic(), save_interval
    events = simulate(
        config.spec(), inputs.data, mc_params(config),
        protocol=config.run.protocol,
        n_replicas=config.replicas.R,
        waiting_times=engine_waiting_times(config),
        t_max=config.run.t_max,
        times=measurement_schedule(config),
        test_inputs=inputs.test_inputs,
        stop_when_solved=config.run.stop_when_solved,
        seed=inputs.engine_seed,
        checkpoint=checkpoint,
        backend=config.mc.backend,
        precision=config.mc.precision,
        checkpoint_every=config.run.checkpoint_every,
        **({} if config.run.hidden_start == "random" else {"hidden_start": config.run.hidden_start}),
    )  # validates everything and builds the start state eagerly: a ConfigError here leaves nothing written
    if checkpoint is None:
        remove_figures(plan.out)  # a replaced run's figures must not stay beside the new result
        write_run(plan.out, xr.Dataset(attrs=run_attrs(config, "running", 0)))  # claim the directory
    for event in events:
        if event.measurement is not None:
            new_parts.append(event.measurement)
        if event.done:
            result = concat_measurements(done_parts + new_parts)
            result.attrs = run_attrs(config, "complete", event.t)
            result.attrs |= equilibrium_attrs(result)  # the equilibrium verdict travels with the result
            write_run(plan.out, result)
        elif event.checkpoint is not None and (event.measurement is None  # a K-step checkpoint: always saved
                                               or time.monotonic() - last_save >= wait):
            done_parts = [concat_measurements(done_parts + new_parts)]
            new_parts = []
            snapshot = done_parts[0].assign_attrs(run_attrs(config, "running", event.t))
            began = time.monotonic()
            write_run(plan.out, snapshot, event.checkpoint.to_dataset())
            t_saved, last_save = event.t, time.monotonic()
            if save_interval > 0:   # 0: save at every measurement (asked for explicitly: tests, debugging)
                wait = max(save_interval, SAVE_OVERHEAD_FACTOR * (last_save - began))
        if on_event is not None:
            on_event(event)
        if event.done:
            return result
    raise RuntimeError(f"the engine stopped without a final event (last save at t = {t_saved})")


def coerce_config(config: RunConfig | dict | str | os.PathLike) -> RunConfig:
    if isinstance(config, RunConfig):
        return config
    if isinstance(config, dict):
        return parse_config(config)
    return load_config(config)


def run_simulation(config: RunConfig | dict | str | os.PathLike, out: str | os.PathLike, *,
                   overwrite: bool = False, on_event: EventCallback | None = None) -> xr.Dataset:
    """Python entry point: run ``config`` into directory ``out`` (``out/run.nc``, written atomically).

    Same rules as ``deepglass simulate``: resumes an interrupted run of the same config (bit-identical to an
    uninterrupted one), returns a completed one untouched, refuses a directory holding a different run
    unless ``overwrite``. One process writes a directory at a time (a lock file).

    Parameters
    ----------
    config : RunConfig, dict or path
        The run config (MODEL.md sections 2-4; fields: ``deepglass config example``): a parsed RunConfig,
        the same as a nested dict, or a TOML file. Without ``seed`` one is drawn and recorded.
    out : str or path
        The run directory (created if needed).
    overwrite : bool
        Replace a different run (and its figures) in ``out`` instead of refusing.
    on_event : callable, optional
        Called with every `deepglass.mc.Event` of the engine (MC time, host energy, violations), e.g. for a
        progress bar.

    Returns
    -------
    xarray.Dataset
        The completed run's measurements, as `open_run` reads them.

    Raises
    ------
    ConfigError
        A config value out of range (the message names the field and the allowed range), or a config too
        large for the memory available.
    RunDirectoryError
        ``out`` holds another run or unrelated files (without ``overwrite``), or another process holds it.
    """
    config = coerce_config(config)
    check_run_fits(config)  # before the lock creates the directory
    with locked_run_directory(out):
        plan = plan_run(config, out, overwrite=overwrite)
        return execute(plan, on_event=on_event)


def stored_config(run: xr.Dataset) -> RunConfig:
    """The config a stored run was made with."""
    return parse_config(json.loads(run.attrs["config_json"]))


__all__ = ["Inputs", "RunPlan", "execute", "locked_run_directory", "make_inputs", "plan_run", "run_simulation", "stored_config",
           "result_file"]
