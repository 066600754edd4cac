"""The sweep store: where every point of a sweep lives, how a finished point is recognised, open_sweep.

Layout of STORE:
  sweep.toml                 the sweep file as given
  manifest.json              every point: hash, swept values, seed, theory hash, status (rewritten atomically)
  points/<hash16>/run.nc     the point's run (deepglass.experiments.runner: atomic, resumable from its checkpoint)
  points/<hash16>/DONE.json  written atomically after the run completed: full hash, sha256 and size of run.nc
  theory/<hash16>.nc         the RS theory of one (scenario, L, alpha, kappa), shared by all points and seeds
  theory/<hash16>.done.json  its sha256 sidecar
A point is finished iff DONE.json names it and run.nc still has the recorded sha256. Anything else (missing,
unreadable, checksum mismatch) is not used: the sweep reports it and recomputes the point.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from .. import __version__
from ..atomic import LOCK_FILE, atomic_path, is_temporary
from ..errors import ConfigError, RunDirectoryError
from .store import ENGINE, RESULT_FILE, read_run
from .variables import SWEEP_VARIABLES, check_registered

SWEEP_FILE = "sweep.toml"
MANIFEST = "manifest.json"
DONE_FILE = "DONE.json"
MANIFEST_FORMAT = "deepglass-sweep-1"
HASH_CHARS = 16  # directory names; the full hash is in DONE.json and checked


def point_dir(store: Path, digest: str) -> Path:
    return Path(store) / "points" / digest[:HASH_CHARS]


def theory_file(store: Path, digest: str) -> Path:
    return Path(store) / "theory" / f"{digest[:HASH_CHARS]}.nc"


def _theory_done(store: Path, digest: str) -> Path:
    return Path(store) / "theory" / f"{digest[:HASH_CHARS]}.done.json"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json_atomic(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")


# ---------------------------------------------------------------------- finished or not

def _check_done(result: Path, done: Path, digest: str) -> str | None:
    """None if ``result`` is a finished, intact file of ``digest``; else why not ("" = simply never finished)."""
    if not done.exists():
        return ""
    try:
        record = json.loads(done.read_text())
        recorded = record["sha256"]
        if record["hash"] != digest:
            return f"{done.name} belongs to another point ({record['hash'][:HASH_CHARS]})"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"{done.name} is unreadable ({exc.__class__.__name__})"
    if not result.exists():
        return f"{result.name} is missing"
    if file_sha256(result) != recorded:
        return f"{result.name} does not match its recorded sha256 (damaged or changed after completion)"
    return None


def point_problem(store: Path, digest: str) -> str | None:
    """None if the point is finished and intact; '' if never finished; else the reason it cannot be used."""
    folder = point_dir(store, digest)
    return _check_done(folder / RESULT_FILE, folder / DONE_FILE, digest)


def theory_problem(store: Path, digest: str) -> str | None:
    return _check_done(theory_file(store, digest), _theory_done(store, digest), digest)


def mark_point_done(store: Path, digest: str, seconds: float) -> str:
    """Record a completed point: sha256 of its run.nc in DONE.json (atomic). Returns the sha256."""
    folder = point_dir(store, digest)
    result = folder / RESULT_FILE
    sha = file_sha256(result)
    write_json_atomic(folder / DONE_FILE, {"hash": digest, "sha256": sha, "size": result.stat().st_size,
                                           "seconds": round(seconds, 3), "finished": time.time(),
                                           "deepglass_version": __version__})
    return sha


def mark_theory_done(store: Path, digest: str, seconds: float) -> str:
    sha = file_sha256(theory_file(store, digest))
    write_json_atomic(_theory_done(store, digest), {"hash": digest, "sha256": sha, "seconds": round(seconds, 3),
                                                    "deepglass_version": __version__})
    return sha


def clear_point(store: Path, digest: str) -> None:
    """Remove a damaged point's files so that it is recomputed from scratch."""
    folder = point_dir(store, digest)
    for name in (DONE_FILE, RESULT_FILE):
        (folder / name).unlink(missing_ok=True)


def clear_theory(store: Path, digest: str) -> None:
    _theory_done(store, digest).unlink(missing_ok=True)
    theory_file(store, digest).unlink(missing_ok=True)


# ---------------------------------------------------------------------- the store directory and manifest

def check_store(store: Path) -> None:
    """A store is a missing or empty directory, or one holding a sweep (sweep.toml + manifest.json)."""
    store = Path(store)
    if not store.exists():
        return
    if not store.is_dir():
        raise RunDirectoryError(f"--out {store} exists and is not a directory")
    names = {p.name for p in store.iterdir() if not (p.name == LOCK_FILE or is_temporary(p.name))}
    if names and not {SWEEP_FILE, MANIFEST} <= names:
        raise RunDirectoryError(f"--out {store} is not empty and holds no sweep ({', '.join(sorted(names)[:5])}); "
                                "choose a new or empty directory")


def write_manifest(store: Path, sweep, status: dict[str, str], theory_status: dict[str, str]) -> None:
    points = [{"hash": p.hash, "dir": f"points/{p.hash[:HASH_CHARS]}", "overrides": p.overrides, "seed": p.seed,
               "theory": p.theory.hash if p.theory is not None else None, "status": status.get(p.hash, "pending")}
              for p in sweep.points]
    theory = [{"hash": key.hash, "file": f"theory/{key.hash[:HASH_CHARS]}.nc", **key.to_dict(),
               "status": theory_status.get(key.hash, "pending")} for key in sweep.theory_keys()]
    write_json_atomic(Path(store) / MANIFEST, {
        "format": MANIFEST_FORMAT, "deepglass_version": __version__, "keys": sweep.keys,
        "zip": sweep.zip_groups, "seeds": sweep.seeds, "theory_enabled": sweep.theory,
        "points": points, "theory": theory})


def read_manifest(store: str | os.PathLike) -> dict:
    file = Path(store) / MANIFEST
    try:
        manifest = json.loads(file.read_text())
        if manifest.get("format") != MANIFEST_FORMAT:
            raise ValueError("format attribute missing")
    except FileNotFoundError:
        raise RunDirectoryError(f"{file} does not exist: {store} is not a deepglass sweep store") from None
    except (OSError, ValueError) as exc:
        raise RunDirectoryError(f"{file} is not a readable sweep manifest ({exc}); "
                                "rerun `deepglass sweep` to rewrite it") from None
    return manifest


# ---------------------------------------------------------------------- open_sweep

PROFILE_VARS = ("violations_layer", "teacher_q", "teacher_Q", "test_overlap")
THEORY_VARS = ("q", "Q", "m_test")


def final_observables(run: xr.Dataset) -> xr.Dataset:
    """The host observables of a run at its last measured time (replica overlaps averaged over pairs)."""
    last = run.isel(time=-1)
    out = xr.Dataset({"energy": last["energy"], "violations": last["violations"].astype(float)})
    for name in PROFILE_VARS:
        if name in last:
            out[name] = last[name].astype(float)
    if "test_overlap" in last:  # the output layer's overlap, whatever the depth of the point
        out["generalization_overlap"] = last["test_overlap"].isel(layer=-1).astype(float)
    for name in ("q_replica", "Q_replica"):
        if name in last:
            out[name] = last[name].mean("pair")
    out["t_final"] = last["time"].astype(float)
    return out.drop_vars([c for c in out.coords if c not in ("sample", "layer", "tw")])


def _coordinate_names(keys: list[str]) -> dict[str, str]:
    """Swept key -> coordinate name: the leaf name (network.N -> N) unless two swept keys share it."""
    leaves = [k.split(".")[-1] for k in keys]
    return {k: (leaf if leaves.count(leaf) == 1 and leaf not in ("seed", "point") else k)
            for k, leaf in zip(keys, leaves)}


def open_sweep(store: str | os.PathLike, grid: bool = False) -> xr.Dataset:
    """Every finished point of a sweep as one in-memory xarray Dataset.

    Unfinished or damaged points are skipped (``attrs["n_skipped"]``, and a warning): rerun the sweep to
    complete them.

    Parameters
    ----------
    store : str or path
        The sweep store (``deepglass sweep ... --out STORE``).
    grid : bool
        Unstack ``point`` into one dimension per swept key plus ``seed`` (a full grid only: no zip groups,
        no skipped point, no list-valued key; else ConfigError).

    Returns
    -------
    xarray.Dataset
        Dimension ``point`` with coordinates for every swept key (leaf names: ``N``, ``alpha``, ...; the dotted
        name when two swept keys share a leaf), ``seed`` and ``point_hash``. Variables: the final-time host
        observables of each run (``energy``, ``violations`` over ``sample``; ``violations_layer``,
        ``teacher_q``, ``teacher_Q``, ``test_overlap`` over ``sample, layer``; ``generalization_overlap``
        (``test_overlap`` of the output layer L of each point) over ``sample``; ``q_replica``, ``Q_replica``
        averaged over replica pairs, over ``sample, tw, layer``; ``t_final``), NaN-padded where samples,
        layers or waiting times differ. With theory: ``theory_q``, ``theory_Q`` (and ``theory_m_test`` for
        teacher-student) over ``layer``, ``theory_free_entropy`` and, for teacher-student, ``theory_eps_g``.
        Every variable with dims and meaning: the docs' "Dataset variables" page (``SWEEP_VARIABLES``).

    Raises
    ------
    RunDirectoryError
        ``store`` holds no readable sweep manifest.
    """
    store = Path(store)
    manifest = read_manifest(store)
    names = _coordinate_names(manifest["keys"])
    theory_ok = {t["hash"] for t in manifest["theory"] if theory_problem(store, t["hash"]) is None}
    parts, skipped = [], []
    for entry in manifest["points"]:
        if point_problem(store, entry["hash"]) is not None:
            skipped.append(entry["hash"])
            continue
        part = final_observables(read_run(point_dir(store, entry["hash"]), with_checkpoint=False).measurements)
        if entry["theory"] is not None and entry["theory"] in theory_ok:
            with xr.open_dataset(theory_file(store, entry["theory"]), engine=ENGINE) as th:
                th = th.load()
            for name in THEORY_VARS:
                if name in th:
                    part[f"theory_{name}"] = th[name]
            part["theory_free_entropy"] = xr.DataArray(float(th.attrs["free_entropy"]))
            if "eps_g" in th.attrs:  # teacher-student: generalization error of the Bayes-optimal student
                part["theory_eps_g"] = xr.DataArray(float(th.attrs["eps_g"]))
        coords = {names[k]: json.dumps(v) if isinstance(v, (list, dict)) else v  # list values label as text
                  for k, v in entry["overrides"].items()}
        coords.update(seed=entry["seed"], point_hash=entry["hash"][:HASH_CHARS])
        parts.append(part.expand_dims("point").assign_coords({k: ("point", [v]) for k, v in coords.items()}))
    if skipped:
        warnings.warn(f"open_sweep({str(store)!r}): {len(skipped)} of {len(manifest['points'])} points are not "
                      "finished (or damaged) and were skipped; rerun the sweep to complete them", stacklevel=2)
    if parts:
        ds = xr.concat(parts, dim="point", join="outer", data_vars="all", coords="different", compat="equals",
                       fill_value=np.nan)
    else:
        ds = xr.Dataset(coords={"point": np.arange(0)})
    ds.attrs = {"store": str(store), "swept_keys": json.dumps(manifest["keys"]),
                "coordinate_names": json.dumps(names), "n_points": len(manifest["points"]),
                "n_complete": len(parts), "n_skipped": len(skipped),
                "sweep_toml": (store / SWEEP_FILE).read_text() if (store / SWEEP_FILE).exists() else ""}
    check_registered(ds, SWEEP_VARIABLES, "open_sweep")   # each documented (docs: Dataset variables)
    if grid:
        ds = _unstack(ds, manifest, names)
    return ds


def _unstack(ds: xr.Dataset, manifest: dict, names: dict[str, str]) -> xr.Dataset:
    if manifest["zip"]:
        raise ConfigError("grid", True, "False for a sweep with zip groups (its points do not fill a grid)")
    if ds.attrs["n_skipped"]:
        raise ConfigError("grid", True, f"False while {ds.attrs['n_skipped']} points are unfinished "
                                        "(rerun the sweep first)")
    dims = [names[k] for k in manifest["keys"]] + ["seed"]
    for dim in dims:
        values = ds[dim].values
        if values.dtype.kind not in "iufb":  # text labels of list-valued keys (waiting_times) make no axis
            raise ConfigError("grid", True, f"False: {dim} takes list values, which cannot label a grid axis")
    return ds.drop_vars("point_hash").set_index(point=dims).unstack("point").transpose(*dims, ...)
