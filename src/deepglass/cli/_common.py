"""Shared CLI plumbing: one Typer app, and the rule that input errors exit with status 2."""
from __future__ import annotations

import errno
import functools
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

try:  # recent typer vendors its own copy of click: its exceptions are the ones raised
    from typer import _click as click
except ImportError:  # pragma: no cover - typer using the click package
    import click

from ..errors import ConfigError, DeepglassError


def _help_flag_without_pydantic() -> None:
    """typer 0.29 coerces the unset --help flag (None) of every command through a pydantic TypeAdapter, which
    imports pydantic (0.3-0.7 s) on every invocation, `deepglass version` included. None needs no coercion:
    give each help option typer's own pass-through coercion up front. Other typer versions: left as they are."""
    try:
        from typer._click.core import Command
        from typer._coercion import PassThroughRuntimeParam
    except ImportError:  # pragma: no cover - a typer without this machinery
        return
    original = Command.get_help_option

    def get_help_option(self, ctx):
        option = original(self, ctx)
        if option is not None and getattr(option, "_runtime_param", False) is None:
            option._runtime_param = PassThroughRuntimeParam(annotation=bool,
                                                            parameter_info=option.type_descriptor.parameter_info)
        return option

    Command.get_help_option = get_help_option


_help_flag_without_pydantic()


class _OneLineErrors(TyperGroup):
    """The root group: the CLI framework's own usage errors (unknown option, bad integer, missing argument)
    become one line on stderr and exit status 2, like every other input error, instead of a boxed panel."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            hint = f" (see `{exc.ctx.command_path} --help`)" if getattr(exc, "ctx", None) is not None else ""
            err_console.print(f"[bold red]error:[/] {escape(exc.format_message())}{escape(hint)}",
                              highlight=False, soft_wrap=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            err_console.print("[bold red]error:[/] aborted", highlight=False)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="deepglass",
    cls=_OneLineErrors,
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
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)  # "[network]" is text
    return typer.Exit(code)


def input_errors_exit_2(func):
    """Turn any DeepglassError raised by a command into one message on stderr and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except DeepglassError as exc:
            raise fail(str(exc), getattr(exc, "exit_code", 2)) from None
        except OSError as exc:  # the disk, not the code: full, read-only, permissions, a file where a folder goes
            raise fail(os_error_message(exc), 2) from None

    return wrapper


def os_error_message(exc: OSError) -> str:
    """'cannot write runs/x/run.nc: No space left on device (ENOSPC); nothing was half-written' and the like."""
    where = f" {exc.filename}" if exc.filename else ""
    name = errno.errorcode.get(exc.errno, "") if exc.errno else ""
    reason = (exc.strerror or str(exc)) + (f" ({name})" if name else "")
    writing = exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EISDIR,
                            errno.ENOTDIR, errno.EEXIST)
    return (f"cannot {'write' if writing else 'read or write'}{where}: {reason}; every result file is replaced "
            "atomically, so none is half-written")


def _nearest_existing(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not path.exists():
        path = path.parent
    return path


def _check_writable_folder(folder: Path, flag: str, given: Path) -> None:
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        raise ConfigError(flag, str(given), f"a path whose parents are directories ({existing} is a file)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(flag, str(given), f"a location this user may write ({existing} is read-only)")


def check_output_dir(path: Path, flag: str = "--out") -> Path:
    """An output directory: an existing writable directory, or one that can be created. Writes nothing."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(flag, str(path), "a directory (created if missing); it exists and is not a directory")
    _check_writable_folder(path, flag, path)
    return path


def check_output_file(path: Path, flag: str = "--out") -> Path:
    """An output file: not a directory, in an existing writable directory. Writes nothing."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(flag, str(path), "a file path, not a directory")
    if not path.parent.exists():
        raise ConfigError(flag, str(path), "a file in an existing directory")
    _check_writable_folder(path.parent, flag, path)
    return path


def emit(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


@app.command()
def version() -> None:
    """Print the deepglass version."""
    from .. import __version__

    emit(__version__)


def check_format(fmt: str, out: Optional[Path], formats: tuple, netcdf_out: str, out_is_file: bool) -> None:
    """The --format / --out rule every command shares: fmt one of formats; netcdf needs --out (netcdf_out says
    what it must be); a given --out is checked writable before any work (a file or a folder)."""
    if fmt not in formats:
        raise ConfigError("--format", fmt, f"one of {', '.join(formats)}")
    if fmt == "netcdf" and out is None:
        raise ConfigError("--out", None, netcdf_out)
    if out is not None:
        (check_output_file if out_is_file else check_output_dir)(out)
