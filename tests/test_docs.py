"""The documentation checks (docs/check_api.py, docs/check_site.py): the API reference is complete today, and the
checks do fail on what they are meant to catch. The full site build is CI's `make docs`."""
from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


check_api = _load("check_api")
check_site = _load("check_site")


def test_every_public_name_has_an_entry_and_a_docstring():
    assert check_api.problems() == []


def test_public_api_covers_the_packages_all():
    import deepglass
    import deepglass.theory

    api = check_api.public_api()
    for name in set(deepglass.__all__) - {"__version__"}:
        assert f"deepglass.{name}" in api
    for name in deepglass.theory.__all__:
        assert f"deepglass.theory.{name}" in api
    assert api["deepglass.theory.solve"] == "deepglass.theory.dispatch.solve"      # lazy re-export resolved
    assert api["deepglass.mc.POTENTIALS"] == "deepglass.model.POTENTIALS"           # re-exported constant


def test_a_missing_entry_fails(tmp_path, monkeypatch):
    for page in (ROOT / "docs" / "api").glob("*.md"):
        text = page.read_text().replace("::: deepglass.theory.dispatch.solve\n", "")
        (tmp_path / page.name).write_text(text)
    monkeypatch.setattr(check_api, "API_DIR", tmp_path)
    assert any(line.startswith("deepglass.theory.solve: no API entry") for line in check_api.problems())


def test_docstring_parameters_must_match_the_signature():
    def documented(a, b):
        """Sum.

        Parameters
        ----------
        a : float
            First.
        c : float
            Not an argument.

        Returns
        -------
        float
        """
    problems = check_api.docstring_problems("f", documented)
    assert any("'b' is missing" in p for p in problems) and any("'c'" in p for p in problems)
    assert check_api.docstring_problems("f", lambda: None) == ["f: no docstring"]

    def prose(a):
        """Sum of a."""
    assert check_api.docstring_problems("f", prose) == []                       # prose is allowed ...
    assert "Returns" in check_api.docstring_problems("f", prose, numpy_style=True)[0]   # ... not for entry points


def test_registries_match_what_the_writers_write():
    from deepglass.experiments.variables import COMPARE_VARIABLES
    from deepglass.mc.variables import RUN_VARIABLES

    assert check_api.written_variable_names(ROOT / "src/deepglass/mc/measure.py") == set(RUN_VARIABLES)
    assert check_api.written_variable_names(ROOT / "src/deepglass/experiments/compare.py") == set(COMPARE_VARIABLES)


def test_an_unregistered_variable_cannot_be_written():
    from deepglass.mc.variables import with_dims

    assert with_dims({"energy": [[0.0]]})["energy"][0] == ("sample", "time")
    with pytest.raises(KeyError, match="no_such_variable"):
        with_dims({"no_such_variable": 1.0})


def test_site_check_flags_network_loads_and_bad_equations(tmp_path):
    (tmp_path / "index.html").write_text(
        '<script src="https://cdn.example.org/mathjax.js"></script><a href="https://example.org">fine</a>'
        '<span class="arithmatex">\\(\\frac{a\\)</span><div class="arithmatex">\\[\\sum_l q_l\\]</div>')
    assert check_site.offline_problems(tmp_path) == [
        "index.html: <script> loads https://cdn.example.org/mathjax.js from the network"]
    assert [tex for _, tex, _ in check_site.page_formulas(tmp_path)] == ["\\frac{a", "\\sum_l q_l"]
    if shutil.which("node") is None:
        pytest.skip("no node: the KaTeX check is skipped on this machine")
    bad, _ = check_site.formula_problems(tmp_path)
    assert len(bad) == 1 and "frac" in bad[0]
