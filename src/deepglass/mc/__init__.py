"""Monte Carlo of learning (MODEL.md section 4): engine, protocols, measurements, checkpoints.

Public API (docs/simulation.md): MCParams, simulate, Checkpoint, Event, measurement_times.
"""
from .checkpoint import Checkpoint
from .engine import BACKENDS, Engine, register_backend
from .params import ACCEPTANCES, POTENTIALS, MCParams, potential_function
from .schedule import measurement_times
from .simulate import PROTOCOLS, Event, simulate

__all__ = ["MCParams", "simulate", "Checkpoint", "Event", "measurement_times", "Engine", "BACKENDS",
           "register_backend", "POTENTIALS", "ACCEPTANCES", "PROTOCOLS", "potential_function"]
