"""Shared test fixtures for the MC engine tests: random states, interrupted runs, refused CLI configs."""
import subprocess
import sys

import numpy as np
import pytest

from deepglass.experiments.runner import execute, plan_run
from deepglass.experiments.store import read_run
from deepglass.mc.layout import fields_from_scratch, weights_to_internal
from deepglass.model import make_training_set, random_spins, random_weights


def random_system(spec, M, n, seed):
    """n independent samples: teacher-student data, random hidden neurons and weights (many moves are
    accepted); flattened batch (S, h, Wt) in the engine layout, with the data."""
    rng = np.random.default_rng(seed)
    data = make_training_set(spec, "teacher-student", M, rng, (n,))
    S = np.stack([np.asarray(x, np.float64) for x in data.teacher_layers], axis=1)
    S[:, 1:spec.L] = random_spins(rng, S[:, 1:spec.L].shape)
    Wt = weights_to_internal(random_weights(spec, rng, (n,)), data.idx, spec.N)
    return data, S, fields_from_scratch(S, Wt, spec.c), Wt


class Stop(Exception):
    """Raised from an event callback to interrupt a run, as a kill would."""


def interrupt_at_k_save(config, out, n_saves=2):
    """Run config into out and stop right after its n_saves-th K-step (non-measurement) checkpoint save.

    Returns (the times of those saves, the stored partial run)."""
    saves = []

    def stop(event):
        if event.checkpoint is not None and event.measurement is None:
            saves.append(event.t)
        if len(saves) == n_saves:
            raise Stop

    with pytest.raises(Stop):
        execute(plan_run(config, out), on_event=stop, save_interval=1e9)
    return saves, read_run(out)


def simulate_refuses(tmp_path, toml_text: str) -> str:
    """`deepglass simulate` on a config with a bad [mc] setting: exit 2, one line on stderr, no output
    directory written. Returns stderr, for the caller to check the field it names."""
    out, config = tmp_path / "run", tmp_path / "run.toml"
    config.write_text(toml_text)
    done = subprocess.run([sys.executable, "-m", "deepglass.cli", "simulate", str(config), "--out", str(out),
                           "--quiet"], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not out.exists()
    return done.stderr
