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

# Monte Carlo runs and their stored results (after __version__: the runner records it).
from .experiments import open_run, run_simulation  # noqa: E402
from .experiments import open_sweep  # noqa: E402

__all__ += ["open_run", "run_simulation", "open_sweep"]
