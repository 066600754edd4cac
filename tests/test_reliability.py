"""Reliability against a hostile user (issue 13 part B): one writer per directory, killed writes, sizes that
cannot fit, bad output paths, full disks, runaway worker counts, silently accepted values, one-line errors.

Every case: exit status 2, one line on stderr naming the field (or path) and what is allowed, nothing
half-written."""
import errno
import fnmatch
import json
import os
import socket
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
import xarray as xr
from typer.testing import CliRunner

from deepglass.atomic import LOCK_FILE, directory_lock
from deepglass.cli import app
from deepglass.errors import ConfigError, DirectoryBusyError
from deepglass.experiments.config import apply_overrides, example_config
from deepglass.experiments.resources import check_run_fits, run_bytes
from deepglass.experiments.store import FIGURE_PATTERNS, open_run

runner = CliRunner()
SRC = str(Path(__file__).resolve().parents[1] / "src")
TINY = ["--set", "N=6", "--set", "L=3", "--set", "M_test=16", "--set", "per_decade=3", "--set", "R=0",
        "--set", "backend=numpy", "--t-max", "6", "--samples", "2", "-q"]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def error_line(result, *words):
    """Exit 2 and exactly one 'error: ...' line (after whatever the command printed first) holding every word."""
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    for word in words:
        assert word in errors[0], (word, errors[0])
    return errors[0]


def one_error_line(result, *words):
    """Exit 2 and a single 'error: ...' line holding every word."""
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "ts.toml"
    path.write_text(example_config("teacher-student").to_toml())
    return path


def _python(code: str, **kwargs) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env, stdout=subprocess.PIPE,
                            stdin=subprocess.PIPE, text=True, **kwargs)


@pytest.fixture
def held(tmp_path):
    """A helper process holding the lock of a directory until killed (kill -9: the crash case)."""
    procs = []

    def hold(folder: Path) -> subprocess.Popen:
        proc = _python(f"""
            import sys
            from deepglass.atomic import directory_lock
            with directory_lock({str(folder)!r}):
                print("locked", flush=True)
                sys.stdin.read()
        """)
        assert proc.stdout.readline().strip() == "locked"
        procs.append(proc)
        return proc

    yield hold
    for proc in procs:
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------------- 1. one writer per directory

def test_a_second_simulate_is_refused_naming_the_holder_and_a_dead_holder_is_taken_over(tmp_path, config_file,
                                                                                          held):
    out = tmp_path / "run"
    holder = held(out)
    line = one_error_line(invoke("simulate", config_file, "--out", out, *TINY), "in use by",
                          f"pid {holder.pid}", socket.gethostname())
    assert "choose another directory" in line
    assert not (out / "run.nc").exists()
    holder.kill()  # kill -9: the lock file stays behind, the kernel released the flock
    holder.wait()
    assert (out / LOCK_FILE).exists()
    assert invoke("simulate", config_file, "--out", out, *TINY).exit_code == 0
    assert open_run(out).attrs["status"] == "complete"
    assert sorted(p.name for p in out.iterdir()) == ["run.nc"]  # lock released and removed


def test_simulate_holds_its_directory_while_it_runs(tmp_path, config_file, monkeypatch):
    """While simulate is running, another process asking for the directory is refused."""
    from deepglass.experiments import runner as runner_module

    out = tmp_path / "run"
    seen = {}
    real_execute = runner_module.execute

    def execute_and_probe(plan, on_event=None, **kwargs):
        probe = _python(f"""
            from deepglass.atomic import directory_lock
            from deepglass.errors import DirectoryBusyError
            try:
                with directory_lock({str(out)!r}):
                    print("acquired")
            except DirectoryBusyError as exc:
                print("busy:", exc)
        """)
        seen["probe"] = probe.communicate(timeout=120)[0]
        return real_execute(plan, on_event=on_event, **kwargs)

    monkeypatch.setattr(runner_module, "execute", execute_and_probe)
    assert invoke("simulate", config_file, "--out", out, *TINY).exit_code == 0
    assert seen["probe"].startswith("busy:") and f"pid {os.getpid()}" in seen["probe"]


def test_lock_is_reentrant_in_one_process_and_leaves_no_new_directory(tmp_path):
    folder = tmp_path / "new"
    with directory_lock(folder):
        with directory_lock(folder):  # compare holds DIR and run_simulation holds DIR/runs/N: nested is fine
            assert (folder / LOCK_FILE).exists()
        assert (folder / LOCK_FILE).exists()
    assert not folder.exists()  # created by the lock, still empty: removed


def test_sweep_compare_and_reproduce_refuse_a_held_directory(tmp_path, held):
    from deepglass.experiments.sweep_run import run_sweep

    for name in ("store", "cmp", "repro"):
        held(tmp_path / name)
    sweep = {"seeds": [1], "sweep": {"data.alpha": [1.0]},
             "base": {"network": {"N": 6, "L": 2}, "run": {"t_max": 5}, "mc": {"backend": "numpy"}}}
    with pytest.raises(DirectoryBusyError, match="in use by pid"):
        run_sweep(sweep, tmp_path / "store", serial=True)
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == [LOCK_FILE]  # nothing written
    one_error_line(invoke("compare", "--N", "8,12", "--depth", "2", "--t-max", "4", "--samples", "2",
                          "--backend", "numpy", "--out", tmp_path / "cmp"), "in use by pid")
    error_line(invoke("reproduce", "--scale", "tiny", "--panels", "i", "--out", tmp_path / "repro"),
               "in use by pid")  # after printing its plan


# ---------------------------------------------------------------------- 2. kill -9 during the first write

def _killed_first_write(out: Path) -> None:
    """A process killed (SIGKILL) inside the atomic write of run.nc: only its temporary file remains."""
    out.mkdir()
    proc = _python(f"""
        import os, signal
        from deepglass.atomic import directory_lock, atomic_path
        with directory_lock({str(out)!r}):
            with atomic_path({str(out / 'run.nc')!r}) as tmp:
                tmp.write_bytes(b"half an HDF5 file")
                os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc.wait()
    names = sorted(p.name for p in out.iterdir())
    assert LOCK_FILE in names and any(n.startswith(".run.nc.") and n.endswith(".tmp") for n in names), names


def test_a_run_killed_during_its_first_write_is_an_unfinished_run(tmp_path, config_file):
    out = tmp_path / "run"
    _killed_first_write(out)
    line = one_error_line(invoke("simulate", config_file, "--out", out, "--resume", *TINY), "--resume",
                          "temporary file", "without --resume")
    assert "--overwrite" not in line
    result = invoke("simulate", config_file, "--out", out, *TINY)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["run.nc"]  # the stale temporary and lock are gone


def test_messages_suggest_only_flags_of_the_command(tmp_path, config_file):
    """A damaged run.nc: simulate and compare suggest --overwrite (both have it), info suggests nothing."""
    damaged = tmp_path / "cmp" / "runs" / "N8"
    damaged.mkdir(parents=True)
    (damaged / "run.nc").write_bytes(b"not a netcdf file")
    args = ["compare", "--N", "8,12", "--depth", "2", "--t-max", "4", "--samples", "2", "--m-test", "20",
            "--backend", "numpy", "--out", tmp_path / "cmp", "-q"]
    one_error_line(invoke(*args), "not a readable deepglass result file", "--overwrite")
    result = invoke(*args, "--overwrite")
    assert result.exit_code == 0, result.output
    assert open_run(damaged).attrs["status"] == "complete"
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "run.nc").write_bytes(b"junk")
    assert "--overwrite" not in one_error_line(invoke("info", tmp_path / "bad"), "not a readable")


# ---------------------------------------------------------------------- 3. sizes that cannot fit

@pytest.mark.parametrize("key, value, field", [
    ("N", 10**9, "network.N"), ("L", 10**8, "network.L"), ("n_samples", 10**9, "run.n_samples"),
    ("R", 10**8, "replicas.R"), ("alpha", 1e12, "data.alpha"), ("M_test", 10**12, "data.M_test")])
def test_a_run_that_cannot_fit_is_refused_before_allocating(tmp_path, config_file, key, value, field):
    out = tmp_path / "run"
    one_error_line(invoke("simulate", config_file, "--out", out, "--set", f"{key}={value}"),
                   f"invalid {field} =", "needs ~", "available")
    assert not out.exists()


def test_memory_check_refuses_exactly_above_what_is_available():
    config = apply_overrides(example_config("random"), {"N": 50, "alpha": 2.0, "R": 0})
    need = check_run_fits(config, available=10**15)
    assert need > 0
    assert check_run_fits(config, available=int(need) + 1) == need
    with pytest.raises(ConfigError, match="needs ~"):
        check_run_fits(config, available=int(need) - 1)


def test_memory_estimate_counts_the_engine_arrays():
    """The estimate covers at least S, h (float64, (L+1) M N) and the dense transposed weights (L N N) of
    every system, the layout of mc/layout.py, whatever the calibration factor."""
    N, L, c, M, ns, guests = 30, 4, 10, 60, 3, 2
    systems = ns * (1 + guests)
    engine_state = systems * 8 * (2 * (L + 1) * M * N + L * N * N)
    assert run_bytes(N, L, c, M, ns, guests, 0, sparse=True) >= engine_state


def test_theory_and_compare_and_sweep_sizes_are_checked_first(tmp_path):
    one_error_line(invoke("theory", "--depth", 10**9, "--alpha", 1), "invalid depth = 1000000000", "available")
    one_error_line(invoke("compare", "--N", "16,1000000000", "--out", tmp_path / "cmp"),
                   "invalid --N = 1000000000", "available")
    assert not (tmp_path / "cmp").exists()
    sweep = tmp_path / "sweep.toml"
    sweep.write_text('seeds = [1]\n[sweep]\n"network.N" = [8, 1000000000]\n[base.run]\nt_max = 10\n')
    one_error_line(invoke("sweep", sweep, "--out", tmp_path / "store", "--serial"),
                   "N=1000000000", "network.N", "available")
    assert not (tmp_path / "store").exists()


# ---------------------------------------------------------------------- 4. output paths, full disks

def test_bad_output_paths_are_one_line(tmp_path, config_file, monkeypatch):
    afile = tmp_path / "afile"
    afile.write_text("x")
    monkeypatch.chdir(tmp_path)
    one_error_line(invoke("theory", "--depth", 2, "--alpha", 1, "--out", "."), "--out", "not a directory")
    one_error_line(invoke("transitions", "--depth", 2, "--out", "."), "--out", "not a directory")
    for args in (["theory", "--depth", 2, "--alpha", 1, "--out"], ["transitions", "--depth", 2, "--out"],
                 ["phase-diagram", "--depth", 2, "--out"], ["simulate", config_file, "--out"],
                 ["compare", "--out"], ["reproduce", "--dry-run", "--out"]):
        out = afile / ("sub.png" if args[0] == "phase-diagram" else "sub")
        one_error_line(invoke(*args, out), "afile is a file")
    assert afile.read_text() == "x"


def test_plot_out_an_existing_file_and_a_read_only_directory(tmp_path, config_file, monkeypatch):
    out = tmp_path / "run"
    assert invoke("simulate", config_file, "--out", out, *TINY).exit_code == 0
    afile = tmp_path / "afile"
    afile.write_text("x")
    one_error_line(invoke("plot", out, "--out", afile), "not a directory")
    readonly = tmp_path / "ro"
    readonly.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == readonly else real_access(p, mode))
    one_error_line(invoke("plot", out, "--out", readonly / "figs"), "read-only")
    one_error_line(invoke("simulate", config_file, "--out", readonly / "run2", *TINY), "read-only")
    assert list(readonly.iterdir()) == []


def _fail_writes(monkeypatch, after: int):
    """Make every NetCDF write after the first ``after`` ones fail like a full disk."""
    calls = {"n": 0}
    real = xr.Dataset.to_netcdf

    def to_netcdf(self, path=None, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > after:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(xr.Dataset, "to_netcdf", to_netcdf)
    return calls


def test_a_full_disk_is_one_line_and_leaves_nothing_half_written(tmp_path, config_file, monkeypatch):
    out = tmp_path / "run"
    _fail_writes(monkeypatch, after=0)  # the very first write fails
    line = one_error_line(invoke("simulate", config_file, "--out", out, *TINY), "No space left on device",
                          "ENOSPC")
    assert "Traceback" not in line
    assert not out.exists()  # created for the run, empty again: removed


def test_a_disk_that_fills_mid_run_keeps_the_last_save_and_the_run_resumes(tmp_path, config_file, monkeypatch):
    out = tmp_path / "run"
    _fail_writes(monkeypatch, after=3)  # claim + two saves (measurements and checkpoint in one file each)
    one_error_line(invoke("simulate", config_file, "--out", out, *TINY, "--set", "checkpoint_every=1"),
                   "No space left on device", "resume")
    saved = open_run(out)
    assert saved.attrs["status"] == "running"
    assert [p.name for p in out.iterdir()] == ["run.nc"]
    monkeypatch.undo()
    assert invoke("simulate", config_file, "--out", out, *TINY, "--set", "checkpoint_every=1").exit_code == 0
    assert open_run(out).attrs["status"] == "complete"


# ---------------------------------------------------------------------- 5. sweep workers and scheduler

def test_sweep_workers_are_bounded_and_a_dead_scheduler_writes_nothing(tmp_path, monkeypatch):
    import distributed

    sweep = tmp_path / "sweep.toml"
    sweep.write_text('seeds = [1]\n[sweep]\n"data.alpha" = [1.0]\n[base.network]\nN = 6\nL = 2\n')
    one_error_line(invoke("sweep", sweep, "--out", tmp_path / "store", "--workers", 100000),
                   "--workers = 100000", "cores")
    assert not (tmp_path / "store").exists()

    def refuse(*args, **kwargs):
        raise OSError("Timed out trying to connect to tcp://127.0.0.1:1")

    monkeypatch.setattr(distributed, "Client", refuse)
    one_error_line(invoke("sweep", sweep, "--out", tmp_path / "store", "--scheduler", "tcp://127.0.0.1:1"),
                   "--scheduler", "could not connect", "nothing was written")
    assert not (tmp_path / "store").exists()


# ---------------------------------------------------------------------- 6. values accepted silently before

@pytest.mark.parametrize("sets, field", [
    (["D=3"], "data.D"),                    # teacher-student data have no manifold dimension
    (["alpha=0.05", "N=6"], "data.alpha"),  # M = round(0.3) = 0 used to run as M = 1
    (["kappa=1e300"], "network.kappa"),     # E = inf, exit 0
])
def test_values_that_were_silently_accepted_are_refused(tmp_path, config_file, sets, field):
    out = tmp_path / "run"
    args = [a for s in sets for a in ("--set", s)]
    one_error_line(invoke("simulate", config_file, "--out", out, *args), f"invalid {field} =")
    assert not out.exists()


def test_reproduce_with_no_panel_chosen_is_refused(tmp_path):
    one_error_line(invoke("reproduce", "--panels", "", "--dry-run", "--out", tmp_path / "r"), "--panels")


# ---------------------------------------------------------------------- 7. cosmetics

@pytest.mark.parametrize("args, words", [
    (["theory", "--depth", "1e9", "--alpha", "1"], ["--depth", "integer", "deepglass theory --help"]),
    (["theory", "--depthx", "3"], ["No such option: --depthx"]),
    (["simulate"], ["Missing option '--out'"]),
])
def test_framework_usage_errors_are_one_line(args, words):
    one_error_line(invoke(*args), *words)


def test_flag_and_section_names_in_messages(tmp_path):
    line = one_error_line(invoke("compare", "--N", "16,a", "--out", tmp_path / "c"), "invalid --N =")
    assert "----N" not in line
    bad = tmp_path / "bad.toml"
    bad.write_text("[network]\nfoo = 1\n")
    one_error_line(invoke("config", "check", bad), "allowed in [network]: N, L, c, kappa")


def test_ultrametric_of_identical_replicas_warns_nothing(tmp_path, config_file):
    out = tmp_path / "run"  # planted greedy MC at kappa = 0 never flips a neuron: q_ab = 1, a tree of height 0
    sets = [a if a != "R=0" else "R=3" for a in TINY]
    assert invoke("simulate", config_file, "--out", out, *sets, "--set", "waiting_times=[0]").exit_code == 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = invoke("ultrametric", out, "--out", tmp_path / "um")
    assert result.exit_code == 0, result.output
    assert [str(w.message) for w in caught if issubclass(w.category, UserWarning)] == []


def test_overwrite_removes_the_previous_runs_figures(tmp_path, config_file):
    out = tmp_path / "run"
    replicas = [a if a != "R=0" else "R=2" for a in TINY] + ["--set", "waiting_times=[0]"]
    assert invoke("simulate", config_file, "--out", out, *replicas).exit_code == 0
    plotted = invoke("plot", out)
    assert plotted.exit_code == 0
    figures = [Path(p).name for p in plotted.output.split()]
    assert "replica_overlap_tw0.png" in figures
    for name in figures:  # every figure deepglass draws into a run directory is one it knows to remove
        assert any(fnmatch.fnmatch(name, pattern) for pattern in FIGURE_PATTERNS), name
    (out / "notes.txt").write_text("mine")  # not deepglass's: kept
    assert invoke("simulate", config_file, "--out", out, *TINY, "--set", "alpha=2", "--overwrite").exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "run.nc"]
    assert json.loads(open_run(out).attrs["config_json"])["data"]["alpha"] == 2
