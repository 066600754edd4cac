"""mkdocs hooks (mkdocs.yml `hooks:`): the pages generated at build time, from the files and code they describe.

* ``gallery.md``: every figure in docs/figures/, with the pages that show it;
* ``api/variables.md``: every Dataset variable of run.nc, open_sweep, compare.nc and solve with its dims and meaning,
  from the registries the writers use (deepglass.mc.variables, deepglass.experiments.variables, deepglass.theory.variables);
* ``notebooks.md`` and the nav entries of the executed notebooks in docs/notebooks/ (written by
  examples/notebooks/execute.py, `make docs`);
* ``api/config.md``: every field of a run config with its default, meaning and allowed range (pydantic schema);
* ``model.md``: the physics contract ../shared/spec/MODEL.md, when the checkout has it beside it.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
NOTEBOOKS = "notebooks"          # docs/notebooks/: generated, git-ignored
FIGURES = "figures"
FIGURE_SUFFIXES = (".png", ".svg", ".jpg")
MODEL_MD = ROOT.parent / "shared" / "spec" / "MODEL.md"


def notebook_title(path: Path) -> str:
    """The first markdown heading of a notebook, else its file name."""
    try:
        cells = json.loads(path.read_text())["cells"]
    except (OSError, ValueError, KeyError):
        return path.stem
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell.get("source", "")).splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip().replace("$", "")   # no math in the nav
    return path.stem


def notebook_paths() -> list[Path]:
    return sorted((DOCS / NOTEBOOKS).glob("*.ipynb"))


def on_config(config):
    """Add the executed notebooks (and MODEL.md when present) to the nav."""
    nav = config["nav"]
    for n, entry in enumerate(nav):
        if isinstance(entry, dict) and entry.get("Notebooks") == "notebooks.md":
            pages = [{"Overview": "notebooks.md"}]
            pages += [{notebook_title(p): f"{NOTEBOOKS}/{p.name}"} for p in notebook_paths()]
            nav[n] = {"Notebooks": pages}
    if MODEL_MD.is_file():
        nav.insert(1, {"Physics contract (MODEL.md)": "model.md"})
    return config


def notebooks_page() -> str:
    paths = notebook_paths()
    lines = ["# Notebooks", "",
             "Tutorial notebooks, executed by `make docs` (`examples/notebooks/execute.py docs/notebooks`) and "
             "shown here with their outputs. Their sources live in `examples/notebooks/` as jupytext percent "
             "files: open one in Jupyter (`jupytext --to ipynb` or the jupytext Jupyter extension) or run "
             "it as a script.", ""]
    if not paths:
        lines += ["!!! warning \"No executed notebook in this build\"",
                  "    docs/notebooks/ was empty when the site was built: run `make docs`.", ""]
    for p in paths:
        lines.append(f"* [{notebook_title(p)}]({NOTEBOOKS}/{p.name}) (`{p.stem}`)")
    return "\n".join(lines) + "\n"


def gallery_page() -> str:
    figures = sorted(p for folder in (DOCS / FIGURES, DOCS) for p in folder.glob("*") if p.suffix in FIGURE_SUFFIXES)
    pages = sorted(DOCS.glob("*.md"))
    lines = ["# Gallery", "",
             "Every figure in `docs/figures/` and `docs/` (figures of `deepglass reproduce` and of the studies "
             "in the documents), with the pages that discuss it. `deepglass reproduce --quick --out repro` draws "
             "the reproduce panels afresh, with `repro/report.html`.", ""]
    for fig in figures:
        title = fig.stem.replace("_", " ")
        rel = fig.relative_to(DOCS).as_posix()
        shown_in = [p for p in pages if f"]({rel})" in p.read_text()]
        lines += [f"## {title}", "", f"![{title}]({rel})", ""]
        if shown_in:
            lines += ["Discussed in " + ", ".join(f"[{p.stem}]({p.name})" for p in shown_in) + ".", ""]
    if not figures:
        lines += ["No figure in docs/figures/ yet.", ""]
    return "\n".join(lines)


def _cell(text) -> str:
    """Text for a Markdown table cell: a literal | would end the cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(registry: dict) -> list[str]:
    rows = ["| variable | dims | meaning |", "| --- | --- | --- |"]
    for name, (dims, meaning) in registry.items():   # Variable(dims, meaning) or a (dims, meaning) pair
        dims = ", ".join(dims) if dims else "(scalar)"
        rows.append(f"| `{name}` | {dims} | {_cell(meaning)} |")
    return rows


def _coords(coords: dict, header: str = "dimension") -> list[str]:
    rows = [f"| {header} | meaning |", "| --- | --- |"]
    rows += [f"| `{name}` | {_cell(meaning)} |" for name, meaning in coords.items()]
    return rows


def variables_page() -> str:
    sys.path.insert(0, str(ROOT / "src"))
    from deepglass.experiments import variables as ev
    from deepglass.mc import variables as mv
    from deepglass.theory import variables as tv

    lines = ["# Dataset variables", "",
             "Every variable deepglass writes, with its dimensions and meaning. This page is generated from "
             "the registries the writers use ([`deepglass.mc.variables`](mc.md#the-run-variable-registry) and "
             "[`deepglass.experiments.variables`](experiments.md#variable-registries-deepglassexperimentsvariables)): a variable cannot be "
             "written without an entry, so the table is complete by construction.", "",
             "## Run: `run.nc`, `deepglass.open_run`", "",
             "One Dataset per run directory ([`open_run`][deepglass.experiments.store.open_run]). Attributes: "
             "`config_toml` / `config_json` (the full config, seed included), `seed`, `status` "
             "(`running` | `complete`), `t_done`, `n_patterns` (M), `deepglass_version`, `backend`, and, once "
             "complete, `nishimori_json` (the equilibrium verdict). Which variables are present depends on "
             "the run: teacher variables need a teacher scenario, `test_overlap` needs `data.M_test > 0`, "
             "guest variables `replicas.R >= 1`, pairs `R >= 2`, triangles `R >= 3`.", "",
             "### Dimensions", "", *_coords(mv.RUN_COORDS), "", "### Variables", "", *_table(mv.RUN_VARIABLES), "",
             "## Sweep: `deepglass.open_sweep`", "",
             "One Dataset over every finished point of a sweep store "
             "([`open_sweep`][deepglass.experiments.sweep_store.open_sweep]): the run variables at the last "
             "measured time, NaN-padded where points differ, and the RS theory when the sweep asks for it.", "",
             "### Dimensions", "", *_coords(ev.SWEEP_COORDS), "", "### Variables", "",
             *_table(ev.SWEEP_VARIABLES), "",
             "## Comparison: `compare.nc`, `open_compare`", "",
             "Theory beside simulation at several widths N (and fan-ins c) "
             "([`run_compare`][deepglass.experiments.compare.run_compare], "
             "[`open_compare`][deepglass.experiments.compare.open_compare]). Attributes: `compare_config`, "
             "`verdict_codes`, `final_note`, `run_seeds` and the parameters of the comparison.", "",
             "### Dimensions", "", *_coords(ev.COMPARE_COORDS), "", "### Variables", "",
             *_table(ev.COMPARE_VARIABLES), "",
             "## Theory solution: `solve`, `deepglass theory --format netcdf`", "",
             "What [`solve`][deepglass.theory.dispatch.solve] returns (and `deepglass theory --format netcdf` "
             "writes) for every ansatz: RS variables, RSB Parisi functions, k-RSB levels "
             "(registry `deepglass.theory.variables`, checked against small solutions by docs/check_api.py).", "",
             "### Dimensions", "", *_coords(tv.THEORY_COORDS), "", "### Variables", "",
             *_table(tv.THEORY_VARIABLES), "", "### Attributes", "", *_coords(tv.THEORY_ATTRS, "attribute"), ""]
    return "\n".join(lines)


def _config_rows(model, prefix: str = "") -> list[str]:
    from pydantic import BaseModel

    rows = []
    for name, info in model.model_fields.items():
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            rows += [f"| **`[{name}]`** | | | |"] + _config_rows(kind, f"{name}.")
            continue
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        default = "unset" if info.default is None else f"`{_cell(repr(info.default))}`"
        rows.append(f"| `{prefix}{name}` | {default} | {_cell(info.description or '')} | "
                    f"{_cell(extra.get('allowed', ''))} |")
    return rows


def config_page() -> str:
    """Every field of a run config (the TOML file of `deepglass simulate`), from the pydantic schema itself."""
    sys.path.insert(0, str(ROOT / "src"))
    from deepglass.experiments.config import RunConfig

    return "\n".join(["# Run config reference", "",
                      "Every field of the TOML file `deepglass simulate` runs (and `run_simulation` takes as a path, "
                      "dict or [`RunConfig`][deepglass.experiments.config.RunConfig]), generated from the config "
                      "schema: the meaning is the TOML comment of `deepglass config example`, the last column the "
                      "range a value must have (anything else stops with this text, exit status 2). "
                      "`--set section.field=value` (or the unambiguous leaf name) overrides one.", "",
                      "| field | default | meaning | allowed |", "| --- | --- | --- | --- |",
                      *_config_rows(RunConfig), ""])


def model_page() -> str:
    text = MODEL_MD.read_text()
    return ("!!! note \"The physics contract\"\n    This page is `shared/spec/MODEL.md`, the reference every "
            "module, test and document points to (docstrings cite its sections).\n\n" + text)


def on_files(files, config):
    generated = {"gallery.md": gallery_page(), "api/variables.md": variables_page(),
                 "api/config.md": config_page(), "notebooks.md": notebooks_page()}
    if MODEL_MD.is_file():
        generated["model.md"] = model_page()
    for uri, content in generated.items():
        files.append(File.generated(config, uri, content=content))
    return files
