"""Result store: one NetCDF file per run directory, always replaced atomically.

``DIR/run.nc`` holds
  * the root group: the measurements concatenated along ``time`` (the engine's slices), with attributes
    ``config_json`` / ``config_toml`` (the full config, seed included), ``seed``, ``deepglass_version``,
    ``status`` ("running" or "complete"), ``n_patterns`` (M) and ``t_done`` (MC steps completed and saved);
  * while the run is in progress, a ``checkpoint`` group: the engine state (``Checkpoint.to_dataset``)
    at time ``t_done``, from which the run resumes bit for bit. It is dropped once the run completes.
Every write goes to a temporary file in the same directory and is then ``os.replace``d over ``run.nc``,
so a reader (or a crash) only ever sees a complete old file or a complete new one.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from ..atomic import atomic_path
from ..errors import RunDirectoryError

RESULT_FILE = "run.nc"
# What deepglass writes into a run directory besides run.nc (plots.simulation.plot_run, the ultrametric
# command): removed when a run is started afresh there, so no figure of a previous run stays beside the new
# result. tests/test_reliability.py checks that plot_run's file names match these patterns.
FIGURE_PATTERNS = ("energy.png", "replica_overlap_tw*.png", "replica_weight_overlap_tw*.png",
                   "teacher_overlap_profile.png", "demo_profile_vs_theory.png", "ultrametric_triangles.png", "ultrametric_dendrograms.png")
CHECKPOINT_GROUP = "checkpoint"
FORMAT = "deepglass-run-1"
ENGINE = "h5netcdf"


def result_file(path: str | os.PathLike) -> Path:
    """The result file of a run directory (or the file itself when given one)."""
    path = Path(path)
    return path if path.suffix == ".nc" else path / RESULT_FILE


@dataclass
class StoredRun:
    """What a run directory holds: the measurements (with attributes) and, mid-run, the engine checkpoint."""

    measurements: xr.Dataset
    checkpoint: xr.Dataset | None

    @property
    def status(self) -> str:
        return str(self.measurements.attrs.get("status", ""))

    @property
    def t_done(self) -> int:
        return int(self.measurements.attrs.get("t_done", 0))


def netcdf_ready(ds: xr.Dataset) -> xr.Dataset:
    """A copy NetCDF can hold: boolean variables as int8, list/tuple attributes as int or float arrays."""
    clean = ds.copy()
    for name, var in clean.data_vars.items():
        if var.dtype == bool:
            clean[name] = var.astype("int8")
    for key, value in list(clean.attrs.items()):
        if isinstance(value, bool):
            clean.attrs[key] = int(value)
        elif isinstance(value, (list, tuple)):
            integers = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)
            clean.attrs[key] = np.asarray(value, dtype=int if integers else float)
    return clean


def write_dataset(ds: xr.Dataset, path: str | os.PathLike, groups: dict[str, xr.Dataset] | None = None) -> Path:
    """The one NetCDF writer (runs, theory solutions, sweeps, compare, reproduce panels): the cleaned root Dataset
    and any named groups go to a temporary file beside PATH, then ``os.replace``: never a half-written file."""
    path = Path(path)
    with atomic_path(path) as tmp:
        netcdf_ready(ds).to_netcdf(tmp, mode="w", engine=ENGINE)
        for group, part in (groups or {}).items():
            netcdf_ready(part).to_netcdf(tmp, mode="a", engine=ENGINE, group=group)
    return path


def write_run(path: str | os.PathLike, measurements: xr.Dataset, checkpoint: xr.Dataset | None = None) -> Path:
    """Atomically (re)write ``run.nc`` (measurements, and the checkpoint group mid-run)."""
    final = result_file(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    attrs = dict(measurements.attrs, format=FORMAT, has_checkpoint=int(checkpoint is not None))
    return write_dataset(measurements.assign_attrs(attrs), final,
                         None if checkpoint is None else {CHECKPOINT_GROUP: checkpoint})


def read_run(path: str | os.PathLike, with_checkpoint: bool = True) -> StoredRun:
    """Load a run file fully into memory. Anything unreadable is a RunDirectoryError with a clear message."""
    file = result_file(path)
    if not file.is_file():
        raise RunDirectoryError(f"{file} does not exist: {Path(path)} is not a deepglass run directory")
    try:
        with xr.open_dataset(file, engine=ENGINE) as ds:
            measurements = ds.load()
        if measurements.attrs.get("format") != FORMAT or "config_json" not in measurements.attrs:
            raise ValueError("not written by deepglass (format attribute missing)")
        json.loads(measurements.attrs["config_json"])
        checkpoint = None
        if with_checkpoint and int(measurements.attrs.get("has_checkpoint", 0)):
            with xr.open_dataset(file, engine=ENGINE, group=CHECKPOINT_GROUP) as ck:
                checkpoint = ck.load()
    except RunDirectoryError:
        raise
    except Exception as exc:  # h5py/netCDF raise many types for damaged files; all mean the same to the user
        raise RunDirectoryError(
            f"{file} is not a readable deepglass result file ({exc.__class__.__name__}: {exc})") from None
    return StoredRun(measurements, checkpoint)


def remove_figures(folder: str | os.PathLike) -> list[Path]:
    """Delete the figures a previous run left in FOLDER (FIGURE_PATTERNS); returns what was removed."""
    removed = [p for pattern in FIGURE_PATTERNS for p in Path(folder).glob(pattern) if p.is_file()]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def open_run(path: str | os.PathLike) -> xr.Dataset:
    """The measurements of a run (directory or ``run.nc``) as an in-memory xarray Dataset.

    Parameters
    ----------
    path : str or path
        A run directory (holding ``run.nc``) or the ``.nc`` file itself.

    Returns
    -------
    xarray.Dataset
        Dims ``sample``, ``time`` (log-spaced MC times, steps), ``layer`` (0..L) and, with replicas, ``tw``,
        ``pair``, ``triangle``; variables ``energy``, ``violations``, overlaps (``teacher_q``, ``q_replica``,
        ...): each with its dims and meaning on the docs' "Dataset variables" page. ``attrs["config_json"]``
        / ``attrs["config_toml"]`` hold the full config (seed included), ``attrs["status"]`` says whether
        the run completed (``"complete"``) or is still ``"running"``, ``attrs["nishimori_json"]`` the
        equilibrium verdict of a completed planted run.

    Raises
    ------
    RunDirectoryError
        The path holds no readable deepglass result file (missing, damaged, not written by deepglass).
    """
    return read_run(path, with_checkpoint=False).measurements


def concat_measurements(parts: list[xr.Dataset]) -> xr.Dataset:
    """Measurement slices (one time each, or earlier concatenations) -> one Dataset along ``time``."""
    parts = [p for p in parts if p is not None and "time" in p.dims and p.sizes["time"] > 0]
    if not parts:
        return xr.Dataset()
    if len(parts) == 1:
        return parts[0]
    return xr.concat(parts, dim="time", data_vars="minimal", coords="minimal", compat="override",
                     join="outer", combine_attrs="override")
