"""deepglass: statistical mechanics of deep perceptron networks, replica theory and Monte Carlo."""
from .errors import ConfigError, ConvergenceError, DeepglassError, RunDirectoryError

__version__ = "0.1.0"

# Everything else is imported on first use (PEP 562): the model needs numpy, runs need pydantic, xarray and
# dask, and neither `import deepglass.theory` nor the CLI's --help and version may pay for what they do not use.
_MODEL = ("SCENARIOS", "NetworkSpec", "Teacher", "TrainingSet", "forward", "gap", "local_field",
          "make_training_set", "normalise_rows", "random_weights", "sample_inputs")
_LAZY = dict.fromkeys(_MODEL, "model") | {"open_run": "experiments", "run_simulation": "experiments",
                                          "open_sweep": "experiments"}

__all__ = [*_MODEL, "ConfigError", "ConvergenceError", "DeepglassError", "RunDirectoryError", "__version__",
           "open_run", "run_simulation", "open_sweep"]


_SUBPACKAGES = ("atomic", "model", "observables", "mc", "theory", "experiments", "plots", "cli")


def __getattr__(name: str):
    import importlib

    if name in _SUBPACKAGES:  # `import deepglass; deepglass.model.forward` as when __init__ imported model
        return importlib.import_module(f".{name}", __name__)
    if name not in _LAZY:
        raise AttributeError(f"module 'deepglass' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value
