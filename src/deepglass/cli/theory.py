"""Theory commands: theory, transitions, phase-diagram (registered on the shared app)."""
from __future__ import annotations
