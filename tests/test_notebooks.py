"""Every tutorial notebook (examples/notebooks/NN_name.py) runs top to bottom at small size.

Each notebook is its own test (pytest-xdist spreads them over workers), executed by the same function as
`examples/notebooks/execute.py --small` (jupytext -> nbclient, a python3 kernel of this interpreter). Each
execution gets its own temporary work directory, and the sweep notebook's Dask LocalCluster binds a random free
port, so parallel executions share nothing. The notebooks hold their own physical sanity checks (overlaps in
[-1, 1], alpha_g(1) = pi^2/4, alpha_g(l) increasing, RSB lowering the n -> 0 free entropy, E = 0 for planted
design-space runs, the equilibrium verdict of a too-short run saying so); a failing one fails here, naming the
notebook and the cell.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("jupytext")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
nbformat = pytest.importorskip("nbformat")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "examples" / "notebooks"


def _execute_module():
    spec = importlib.util.spec_from_file_location("deepglass_notebooks_execute", NOTEBOOKS / "execute.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXECUTE = _execute_module()


@pytest.mark.parametrize("source", EXECUTE.notebooks(), ids=lambda p: p.stem)
def test_notebook_runs_at_small_size(source, tmp_path):
    target = EXECUTE.execute_notebook(source, tmp_path / "out", small=True, work=tmp_path / "work")
    nb = nbformat.read(target, as_version=4)
    assert nb.metadata["deepglass"]["small"] is True
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), "every code cell ran"
    figures = sum("image/png" in o.get("data", {}) for c in code for o in c.get("outputs", []))
    assert figures >= 1, "the notebook draws its figures inline"
    assert not any(p.name.endswith(".tmp") for p in target.parent.iterdir()), "atomic write left a temporary file"


def test_notebook_list_and_failure_report(tmp_path):
    """All five notebooks are found, and a failing cell is reported with the notebook and cell named."""
    assert [p.stem[:2] for p in EXECUTE.notebooks()] == ["01", "02", "03", "04", "05"]
    bad = tmp_path / "99_broken.py"
    bad.write_text("# %% [markdown]\n# a broken notebook\n\n# %%\nx = 1\n\n# %%\nraise ValueError('boom')\n")
    with pytest.raises(EXECUTE.NotebookError, match=r"99_broken\.py failed at cell 2 \(raise ValueError.*boom"):
        EXECUTE.execute_notebook(bad, tmp_path / "out", small=True)
    assert not (tmp_path / "out" / "99_broken.ipynb").exists(), "nothing written for a failed notebook"
