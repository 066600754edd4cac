"""Command line interface. Each command group lives in its own module and registers on ``app``."""
from __future__ import annotations

from ._common import app
from . import simulate as _simulate  # noqa: F401  (registers simulate, info, config, demo)
from . import theory as _theory  # noqa: F401  (registers theory, transitions, phase-diagram)
from . import reproduce as _reproduce  # noqa: F401  (registers reproduce)
from . import compare as _compare  # noqa: F401  (registers compare, ultrametric)
from . import sweep as _sweep  # noqa: F401  (registers sweep)
from . import dynamics as _dynamics  # noqa: F401  (registers dynamics)
from . import profile as _profile  # noqa: F401  (registers profile)


def main() -> None:
    app()


__all__ = ["app", "main"]
