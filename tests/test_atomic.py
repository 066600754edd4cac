"""Atomic writes: a failed write leaves the old file intact and no temporary file behind."""
import os
import stat

import pytest

from deepglass.atomic import atomic_path


def test_success_replaces_and_failure_keeps_the_old_file(tmp_path):
    final = tmp_path / "result.txt"
    with atomic_path(final) as tmp:
        tmp.write_text("first")
    assert final.read_text() == "first"
    with pytest.raises(RuntimeError):
        with atomic_path(final) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert final.read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.txt"]


def test_written_file_gets_the_usual_permissions(tmp_path):
    """mkstemp creates 0600; a result file must be readable like any other file the user writes."""
    umask = os.umask(0o022)
    os.umask(umask)
    final = tmp_path / "result.txt"
    with atomic_path(final) as tmp:
        tmp.write_text("x")
    assert stat.S_IMODE(final.stat().st_mode) == 0o666 & ~umask
