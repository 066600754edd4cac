"""Atomic file writes shared by every result writer (run store, theory CLI)."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _file_mode() -> int:
    """The mode a plainly created file gets (0666 minus the umask); mkstemp would leave 0600."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _file_mode()


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike):
    """Yield a temporary path next to FINAL; on success fsync it and ``os.replace`` it over FINAL.

    A reader (or a crash) only ever sees the complete old file or the complete new one, and a failed
    write leaves no temporary file behind.
    """
    final = Path(final)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb") as fh:  # make the bytes durable before the rename makes them visible
            os.fsync(fh.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, final)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
