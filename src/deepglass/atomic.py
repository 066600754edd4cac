"""Atomic file writes shared by every result writer (run store, theory CLI), and the one-writer lock of a directory."""
from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import tempfile
import time
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


# ---------------------------------------------------------------------- temporaries of interrupted writes

def is_temporary(name: str) -> bool:
    """Whether a file name is one of atomic_path's temporaries (``.<final name>.<random>.tmp``)."""
    return name.startswith(".") and name.endswith(".tmp")


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporaries a killed write left in FOLDER (call it holding FOLDER's lock: no writer is active).

    atomic_path removes its temporary on every exit a process survives; only kill -9 or a power cut leaves one.
    """
    folder = Path(folder)
    removed = []
    if folder.is_dir():
        for path in folder.iterdir():
            if is_temporary(path.name) and path.is_file():
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


# ---------------------------------------------------------------------- one writer per directory

LOCK_FILE = ".deepglass.lock"
_held: dict[Path, list] = {}  # directory -> [open lock file, depth]: re-entrant within one process


def _holder(lock: Path) -> str:
    """'pid 123 on host h since 2026-01-01 12:00:00 UTC (deepglass simulate ...)' from a lock file."""
    try:
        info = json.loads(lock.read_text())
        return (f"pid {info['pid']} on host {info['host']} since {info['since']}"
                + (f" ({info['command']})" if info.get("command") else ""))
    except (OSError, ValueError, KeyError, TypeError):
        return "another process (its lock file names no holder)"


@contextlib.contextmanager
def directory_lock(folder: str | os.PathLike, what: str = "--out"):
    """Hold FOLDER for this process only: a second deepglass process that asks for it gets DirectoryBusyError.

    The lock is an ``fcntl.flock`` on ``FOLDER/.deepglass.lock``, which names the holder (pid, host, time,
    command). The kernel releases a flock when its process dies (kill -9 included), so a lock left by a dead
    process is taken over without any pid guessing. The folder is created if missing, and removed again on
    exit if it is still empty (bad input found after locking leaves nothing behind). Re-entrant in a process.
    """
    folder = Path(folder).absolute()
    if folder in _held:
        _held[folder][1] += 1
        try:
            yield folder
        finally:
            _held[folder][1] -= 1
        return
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_FILE
    fh = _acquire(lock, what, folder)
    _held[folder] = [fh, 1]
    try:
        yield folder
    finally:
        del _held[folder]
        try:
            lock.unlink(missing_ok=True)  # before unlocking: a waiter that opened this inode sees it vanish
        finally:
            fh.close()
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only succeeds when empty


def _acquire(lock: Path, what: str, folder: Path):
    import fcntl

    from .errors import DirectoryBusyError

    while True:
        fh = open(lock, "a+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise DirectoryBusyError(f"{what} {folder} is in use by {_holder(lock)}: wait for it to finish, "
                                     "or choose another directory") from None
        try:  # the holder may have removed the file between our open and our flock: lock the current one
            same = os.fstat(fh.fileno()).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        fh.close()
    fh.seek(0)
    fh.truncate()
    fh.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                         "since": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                         "command": " ".join(Path(a).name if i == 0 else a for i, a in enumerate(sys.argv))[:200]}))
    fh.flush()
    return fh
