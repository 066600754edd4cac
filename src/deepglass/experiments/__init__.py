"""Experiments: the run-config schema, running configs into result directories, the result store."""
from .config import RunConfig, apply_overrides, example_config, load_config, parse_config
from .runner import run_simulation, stored_config
from .store import open_run
from .sweep import load_sweep, parse_sweep
from .sweep_run import run_sweep
from .sweep_store import open_sweep

__all__ = ["RunConfig", "apply_overrides", "example_config", "load_config", "open_run", "parse_config",
           "run_simulation", "stored_config",
            "load_sweep", "open_sweep", "parse_sweep", "run_sweep"]
