"""deepglass: statistical mechanics of deep perceptron networks, replica theory and Monte Carlo."""
from .errors import ConfigError, ConvergenceError, DeepglassError, RunDirectoryError
from .model import (
    SCENARIOS,
    NetworkSpec,
    Teacher,
    TrainingSet,
    forward,
    gap,
    local_field,
    make_training_set,
    normalise_rows,
    random_weights,
    sample_inputs,
)

__version__ = "0.1.0"

__all__ = [
    "SCENARIOS", "NetworkSpec", "Teacher", "TrainingSet", "forward", "gap", "local_field",
    "make_training_set", "normalise_rows", "random_weights", "sample_inputs",
    "ConfigError", "ConvergenceError", "DeepglassError", "RunDirectoryError", "__version__",
]

# Monte Carlo runs and their stored results, imported on first use (pydantic, xarray and dask are heavy):
# `import deepglass.theory` or the CLI's --help must not pay for them.
_LAZY = {"open_run": "experiments", "run_simulation": "experiments", "open_sweep": "experiments"}
__all__ += list(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'deepglass' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value
