"""Simulation commands: simulate, info, config, demo (registered on the shared app)."""
from __future__ import annotations
