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
