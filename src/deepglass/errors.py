"""Errors a user can cause. The CLI turns each into one message and exit status 2."""
from __future__ import annotations


class DeepglassError(Exception):
    """Base class of every error caused by input (config, flag, file), not by a bug."""

    exit_code = 2


class ConfigError(DeepglassError, ValueError):
    """A parameter out of its allowed range: names the field, the value and what is allowed."""

    def __init__(self, field: str, value: object, allowed: str):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"invalid {field} = {value!r}: {allowed}")


class RunDirectoryError(DeepglassError):
    """A run directory that holds something else, or a corrupt result file."""


class ConvergenceError(DeepglassError, RuntimeError):
    """A solver that did not converge: reports its last residual instead of a silent wrong answer."""

    def __init__(self, what: str, residual: float, iterations: int):
        self.what, self.residual, self.iterations = what, residual, iterations
        super().__init__(f"{what} did not converge: residual {residual:.3e} after {iterations} iterations")


class NoSolutionError(ConvergenceError):
    """The equations have no solution in the physical domain (beyond a capacity, say): not a convergence failure."""

    def __init__(self, what: str, reason: str, iterations: int):
        DeepglassError.__init__(self, f"{what}: no solution: {reason}")
        self.what, self.reason, self.residual, self.iterations = what, reason, float("inf"), iterations


class DirectoryBusyError(RunDirectoryError):
    """An output directory held by another running deepglass process (names it: pid, host, since)."""
