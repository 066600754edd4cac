"""Execute the tutorial notebooks: `python examples/notebooks/execute.py OUTDIR [--small] [--only NAME]`.

Each `NN_name.py` here is a jupytext percent-format notebook (kept in git without outputs). This converts it
with jupytext, runs it top to bottom with nbclient in a python3 kernel of *this* interpreter, and writes
`OUTDIR/NN_name.ipynb` atomically (a temporary file, then a rename: a failed run leaves no partial notebook).
`--small` sets DEEPGLASS_NOTEBOOK_SMALL=1, the one switch every notebook's parameters cell reads to shrink its
sizes to seconds. Each notebook writes its run files under DEEPGLASS_NOTEBOOK_OUT, a fresh temporary directory per
execution (removed afterwards), never into the source tree nor OUTDIR. A failing cell stops the run; the exit status is 1
and the message names the notebook and the cell. Used by `make docs` and by tests/test_notebooks.py.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CELL_TIMEOUT = 1200          # seconds per cell: the full-size k-RSB / full-RSB and MC cells take minutes
SMALL_ENV = "DEEPGLASS_NOTEBOOK_SMALL"
OUT_ENV = "DEEPGLASS_NOTEBOOK_OUT"
ANSI = re.compile(r"\x1b\[[0-9;]*m")   # the kernel colours its tracebacks


class NotebookError(RuntimeError):
    """A notebook failed: names the notebook, the cell (index and first line) and the error."""


def notebooks(only: str | None = None) -> list[Path]:
    """The notebooks in run order (NN_name.py); ``only`` selects one by name (`02_simulation` or `02`)."""
    found = sorted(p for p in HERE.glob("[0-9][0-9]_*.py"))
    if only is None:
        return found
    chosen = [p for p in found if p.stem == only or p.stem.split("_", 1)[0] == only]
    if not chosen:
        print(f"error: invalid --only = {only!r}: one of {', '.join(p.stem for p in found)}", file=sys.stderr)
        raise SystemExit(2)
    return chosen


def _kernel_manager():
    """A kernel manager whose python3 kernel is this interpreter (not whatever `python3` kernelspec is installed)."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import KernelManager

    class ThisInterpreter(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                              display_name=f"Python 3 ({sys.executable})", language="python",
                              resource_dir=str(HERE))

    return KernelManager(kernel_name="python3", kernel_spec_manager=ThisInterpreter())


def kernel_env(small: bool, work: Path) -> dict:
    """The kernel's environment: the size switch, its work directory, inline figures, and this process's deepglass."""
    env = dict(os.environ)
    env[SMALL_ENV] = "1" if small else "0"
    env[OUT_ENV] = str(work)
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"   # `make test` exports Agg: no figures then
    try:   # the kernel imports the same deepglass sources as this process (a worktree's src/, say)
        import deepglass
        src = str(Path(deepglass.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join([src] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    except ImportError:
        pass
    return env


def _cell_label(nb, index: int) -> str:
    source = nb.cells[index].source.strip().splitlines()
    return f"cell {index} ({source[0][:70] if source else 'empty'})"


def execute_notebook(source: Path, outdir: Path, *, small: bool = False, work: Path | None = None,
                     timeout: int = CELL_TIMEOUT) -> Path:
    """Run one jupytext notebook and write OUTDIR/<stem>.ipynb atomically; NotebookError if a cell fails."""
    import jupytext
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    if work is None:   # a private directory per execution: parallel runs never share run files
        with tempfile.TemporaryDirectory(prefix=f"deepglass-{source.stem}-") as tmp:
            return execute_notebook(source, outdir, small=small, work=Path(tmp), timeout=timeout)
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", km=_kernel_manager(),
                            resources={"metadata": {"path": str(work)}})
    started = time.perf_counter()
    try:
        client.execute(env=kernel_env(small, work))
    except (CellExecutionError, CellTimeoutError) as exc:
        index = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code" and
                      any(o.get("output_type") == "error" for o in c.get("outputs", []))), None)
        where = _cell_label(nb, index) if index is not None else "a cell (timed out)" if isinstance(
            exc, CellTimeoutError) else "a cell"
        lines = [line for line in ANSI.sub("", str(exc)).strip().splitlines() if line.strip()]
        raise NotebookError(f"notebook {source.name} failed at {where}: {lines[-1] if lines else exc}") from None
    nb.metadata["deepglass"] = {"small": small, "seconds": round(time.perf_counter() - started, 1)}
    target = outdir / f"{source.stem}.ipynb"
    fd, tmp = tempfile.mkstemp(dir=outdir, prefix=f".{source.stem}.", suffix=".ipynb.tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            nbformat.write(nb, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path, help="where NN_name.ipynb (executed, with outputs) are written")
    parser.add_argument("--small", action="store_true", help=f"small sizes ({SMALL_ENV}=1): seconds per notebook")
    parser.add_argument("--only", help="run one notebook (its name, e.g. 02_simulation, or its number, 02)")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT, help="seconds per cell")
    args = parser.parse_args(argv)
    for source in notebooks(args.only):
        started = time.perf_counter()
        try:
            target = execute_notebook(source, args.outdir, small=args.small, timeout=args.timeout)
        except NotebookError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"{target}  ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
