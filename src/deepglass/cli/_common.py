"""Shared CLI plumbing: one Typer app, and the rule that input errors exit with status 2."""
from __future__ import annotations

import functools
import sys

import typer
from rich.console import Console

from ..errors import DeepglassError

app = typer.Typer(
    name="deepglass",
    help="Design space of deep perceptron networks: replica theory and Monte Carlo of learning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)


@app.callback()
def _root() -> None:
    """Design space of deep perceptron networks: replica theory and Monte Carlo of learning."""


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one clear error line to stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def input_errors_exit_2(func):
    """Turn any DeepglassError raised by a command into one message on stderr and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except DeepglassError as exc:
            raise fail(str(exc), getattr(exc, "exit_code", 2)) from None

    return wrapper


def emit(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


@app.command()
def version() -> None:
    """Print the deepglass version."""
    from .. import __version__

    emit(__version__)
