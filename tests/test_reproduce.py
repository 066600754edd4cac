"""deepglass reproduce: the plan, the panel cache, the HTML report and the CLI (scale "tiny" keeps it fast)."""
from __future__ import annotations

import base64
import dataclasses
import shutil
import struct
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from deepglass import __version__
from deepglass.cli import app
from deepglass.errors import ConfigError
from deepglass.experiments.reproduce import (PANEL_KEYS, data_file, make_plan, parse_panels, reproduce,
                                             PANELS_BY_KEY)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SEED = 5


class ReportParser(HTMLParser):
    """Collects the <img> sources of every <section id="panel-KEY">."""

    def __init__(self):
        super().__init__()
        self.section: str | None = None
        self.images: dict[str, list[str]] = {}
        self.all_images: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and attrs.get("id", "").startswith("panel-"):
            self.section = attrs["id"][len("panel-"):]
            self.images.setdefault(self.section, [])
        if tag == "img":
            self.all_images.append(attrs.get("src", ""))
            if self.section is not None:
                self.images[self.section].append(attrs.get("src", ""))

    def handle_endtag(self, tag):
        if tag == "section":
            self.section = None


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk of a PNG (raises if the bytes are not a PNG)."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce") / "out"
    return reproduce(out, "tiny", seed=SEED)


def parse_report(path: Path) -> ReportParser:
    parser = ReportParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


# ---------------------------------------------------------------------- the report

def test_every_image_is_an_embedded_valid_png(tiny):
    parser = parse_report(tiny.report)
    assert parser.all_images, "the report has no images"
    for src in parser.all_images:
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix), src[:40]
        data = base64.b64decode(src[len(prefix):], validate=True)
        width, height = png_size(data)
        assert width > 100 and height > 100


def test_every_panel_has_a_figure_in_the_report(tiny):
    parser = parse_report(tiny.report)
    assert sorted(parser.images) == sorted(PANEL_KEYS)
    for key in PANEL_KEYS:
        assert parser.images[key], f"panel {key} has no figure"
    # the embedded images are exactly the figure files, byte for byte
    embedded = sorted(base64.b64decode(s.split(",", 1)[1]) for s in parser.all_images)
    assert embedded == sorted(f.read_bytes() for f in tiny.figures)


def test_figure_directory_holds_every_figure(tiny):
    on_disk = {p.name for p in (tiny.out / "figures").iterdir()}
    assert on_disk == {f.name for f in tiny.figures}
    for f in tiny.figures:
        png_size(f.read_bytes())
    assert not list(tiny.out.rglob("*.tmp")), "a temporary file was left behind"


def test_report_states_version_seed_parameters_and_numbers(tiny):
    text = tiny.report.read_text(encoding="utf-8")
    assert f"deepglass {__version__}" in text
    assert f"seed <b>{SEED}</b>" in text
    for result in tiny.panels:
        assert result.caption and result.numbers
        assert f'id="panel-{result.panel.key}"' in text
    assert "xi" in text and "alpha_g(1)" in text


# ---------------------------------------------------------------------- what the panels show

def test_transition_panel_matches_the_exact_first_transition(tiny):
    ds = tiny.panels[PANEL_KEYS.index("i")].data
    a_g = ds["alpha_g"].values
    assert a_g[0] == pytest.approx(np.pi ** 2 / 4, rel=1e-8)  # exact alpha_g(1) at kappa = 0 (L >= 3)
    np.testing.assert_allclose(a_g, a_g[::-1], rtol=1e-8)     # left-right symmetry of the tree theory
    assert np.all(np.diff(a_g[: len(a_g) // 2]) > 0)             # freezing moves inward
    assert float(ds.attrs["xi"]) > 0


def test_parisi_functions_are_nondecreasing_and_boundaries_are_one(tiny):
    ds = tiny.panels[PANEL_KEYS.index("iii")].data
    L = int(ds.attrs["L"])
    for l in range(1, L):
        qx = ds["q_x"].sel(layer=l).values
        assert np.all(np.diff(qx) >= -1e-12)
    np.testing.assert_array_equal(ds["q_x"].sel(layer=0).values, 1.0)  # the data are shared by all replicas
    np.testing.assert_array_equal(ds["q_x"].sel(layer=L).values, 1.0)


def test_overlap_dynamics_panel_has_every_width_and_shared_data(tiny):
    ds = tiny.panels[PANEL_KEYS.index("iv")].data
    params = PANELS_BY_KEY["iv"].params["tiny"]
    assert [int(n) for n in ds["N"].values] == params["N_values"]
    L = params["L"]
    for N in params["N_values"]:
        q = ds["q"].sel(N=N).dropna("lag", how="all")
        np.testing.assert_array_equal(q.sel(layer=0).values, 1.0)   # inputs are the data
        np.testing.assert_array_equal(q.sel(layer=L).values, 1.0)   # outputs are the data
        assert np.all((q.values >= -1) & (q.values <= 1))


def test_overlap_dynamics_panel_holds_relaxation_times_per_layer(tiny):
    result = tiny.panels[PANEL_KEYS.index("iv")]
    ds = result.data
    assert "iv_relaxation_times.png" in {f.name for f in result.figures}
    for name in ("tau", "tau_int", "tau_decorrelation"):
        flag, value, bound = ds[f"{name}_flag"].values, ds[name].values, ds[f"{name}_bound"].values
        assert np.isfinite(value[flag == 0]).all() and np.isnan(value[flag > 0]).all()  # a bound is never a value
        assert np.isfinite(bound[flag > 0]).all()
    L = PANELS_BY_KEY["iv"].params["tiny"]["L"]
    assert (ds["tau_flag"].sel(kind="neurons", layer=[0, L]) == -1).all()  # the data layers do not relax


def test_generalization_panel_is_a_probability_and_theory_decreases(tiny):
    ds = tiny.panels[PANEL_KEYS.index("v")].data
    eps = ds["sim_eps_g"].values
    assert np.all((eps >= 0) & (eps <= 1))
    theory = ds["theory_eps_g_grid"].values                      # (depth, alpha_grid)
    assert np.all(np.diff(theory, axis=-1) <= 1e-12) and np.all(theory[:, 0] <= 0.5 + 1e-12)
    # every point carries a verdict; 20 steps of the tiny scale cannot equilibrate (none is shown as a result)
    assert set(np.unique(ds["equilibrated"].values)) <= {0, -1}


def test_triangle_panel_holds_the_statistics_of_the_widest_run(tiny):
    from deepglass import open_run
    from deepglass.experiments.reproduce import triangle_stats
    from deepglass.experiments.ultrametric import ultrametricity

    ds = tiny.panels[PANEL_KEYS.index("vi")].data
    widest = max(PANELS_BY_KEY["iv"].params["tiny"]["N_values"])
    run = open_run(next((tiny.out / "runs" / "iv").glob(f"*/N{widest}")))
    for var in ("q_replica", "Q_replica"):
        stats = triangle_stats(ds, var)
        direct = ultrametricity(run, var=var, bins=PANELS_BY_KEY["vi"].params["tiny"]["bins"])
        for name in ("fraction_ultrametric", "fraction_equilateral", "violation", "hist_low", "bin_edges"):
            np.testing.assert_array_equal(stats[name].values, direct[name].values)
        assert stats.attrs["boundary_layers"] == direct.attrs["boundary_layers"]
        assert stats.attrs["N"] == widest


# ---------------------------------------------------------------------- the cache

def test_rerun_reuses_every_cached_panel(tiny):
    files = [data_file(tiny.out, p.panel) for p in tiny.panels]
    before = {f: f.stat().st_mtime_ns for f in files}
    runs_before = {p: p.stat().st_mtime_ns for p in (tiny.out / "runs").rglob("run.nc")}
    again = reproduce(tiny.out, "tiny", seed=SEED)
    assert all(p.cached for p in again.panels)
    assert {f: f.stat().st_mtime_ns for f in files} == before
    assert {p: p.stat().st_mtime_ns for p in (tiny.out / "runs").rglob("run.nc")} == runs_before
    for old, new in zip(tiny.panels, again.panels):
        assert old.numbers == new.numbers


def test_corrupt_or_stale_cache_is_recomputed(tiny, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(tiny.out, out)
    file = data_file(out, PANELS_BY_KEY["i"])
    file.write_bytes(b"not a netcdf file")
    others = {p: p.stat().st_mtime_ns for p in (out / "data").iterdir() if p != file}
    result = reproduce(out, "tiny", seed=SEED)
    status = {p.panel.key: p.cached for p in result.panels}
    assert status == {key: key != "i" for key in PANEL_KEYS}
    with xr.open_dataset(file, engine="h5netcdf") as ds:
        assert ds["alpha_g"].values[0] == pytest.approx(np.pi ** 2 / 4, rel=1e-8)
    assert {p: p.stat().st_mtime_ns for p in others} == others
    # another seed makes the cached panel stale: computed again, tagged with the new seed
    stale = reproduce(out, "tiny", seed=SEED + 1, panels=["i"])
    assert not stale.panels[0].cached
    assert stale.panels[0].data.attrs["reproduce_seed"] == SEED + 1


def test_interrupted_reproduce_resumes_with_the_finished_panels(tmp_path, monkeypatch):
    out = tmp_path / "interrupted"
    panel = PANELS_BY_KEY["ii"]

    def interrupted(params, ctx):
        raise KeyboardInterrupt

    monkeypatch.setitem(PANELS_BY_KEY, "ii", dataclasses.replace(panel, compute=interrupted))
    with pytest.raises(KeyboardInterrupt):
        reproduce(out, "tiny", seed=SEED, panels=["i", "ii"])
    assert data_file(out, PANELS_BY_KEY["i"]).is_file()
    assert not data_file(out, panel).exists() and not (out / "report.html").exists()
    assert not list(out.rglob("*.tmp"))
    finished = data_file(out, PANELS_BY_KEY["i"]).stat().st_mtime_ns
    monkeypatch.setitem(PANELS_BY_KEY, "ii", panel)
    result = reproduce(out, "tiny", seed=SEED, panels=["i", "ii"])
    assert [p.cached for p in result.panels] == [True, False]
    assert data_file(out, PANELS_BY_KEY["i"]).stat().st_mtime_ns == finished
    assert sorted(parse_report(result.report).images) == ["i", "ii"]


def test_damaged_run_directory_is_started_afresh(tiny, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(tiny.out, out)
    data_file(out, PANELS_BY_KEY["iv"]).unlink()
    damaged = next((out / "runs" / "iv").glob("*/N8")) / "run.nc"
    damaged.write_bytes(b"garbage")
    result = reproduce(out, "tiny", seed=SEED, panels=["iv"])
    assert not result.panels[0].cached
    xr.testing.assert_identical(result.panels[0].data.drop_attrs(), tiny.panels[PANEL_KEYS.index("iv")].data.drop_attrs())


# ---------------------------------------------------------------------- the plan

def test_plan_parsing_and_estimates():
    assert parse_panels("iv, i") == ["i", "iv"]
    assert parse_panels(None) == list(PANEL_KEYS)
    with pytest.raises(ConfigError) as info:
        parse_panels("i,vii")
    assert info.value.field == "--panels"
    quick = make_plan("quick")
    assert [p.panel.key for p in quick] == list(PANEL_KEYS)
    assert all(p.estimate > 0 for p in quick)
    assert sum(p.estimate for p in quick) < 300       # sized for < 10 minutes on a loaded 2-core machine
    assert sum(p.estimate for p in make_plan("full")) > sum(p.estimate for p in quick)
    with pytest.raises(ConfigError):
        make_plan("huge")


def test_every_scale_builds_valid_run_configs(tmp_path):
    """The Monte Carlo panels' configs validate at every scale (a bad full-scale setting fails now, not after hours)."""
    from deepglass.experiments.reproduce import SCALES, Context, compare_configs, dynamics_config

    for scale in SCALES:
        ctx = Context(tmp_path, SEED, scale)
        iv = PANELS_BY_KEY["iv"].params[scale]
        configs = [dynamics_config(iv, ctx, N) for N in iv["N_values"]]
        assert len({c.seed for c in configs}) == 1 and configs[0].replicas.R >= 3  # (vi) needs triangles
        compare = compare_configs(PANELS_BY_KEY["v"].params[scale], ctx)
        assert len({c.seed for c in compare}) == len(compare)                    # one stream per (L, load)
        for c in compare:
            for N in c.N_values:
                assert c.run_config(N).run.protocol == "planted"
                assert c.run_config(N).mc.sampler == "design-space"
    assert not any(tmp_path.iterdir())


# ---------------------------------------------------------------------- CLI

runner = CliRunner()


@pytest.mark.parametrize("args, flag", [
    (["--panels", "i,vii"], "--panels"),
    (["--seed", "-3"], "--seed"),
    (["--scale", "huge"], "--scale"),
])
def test_bad_flags_exit_2_and_write_nothing(tmp_path, args, flag):
    out = tmp_path / "never"
    result = runner.invoke(app, ["reproduce", "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    assert flag in result.output
    assert not out.exists()


def test_out_that_is_a_file_exits_2(tmp_path):
    out = tmp_path / "file"
    out.write_text("x")
    result = runner.invoke(app, ["reproduce", "--out", str(out), "--quick", "--panels", "i"])
    assert result.exit_code == 2 and "--out" in result.output
    assert out.read_text() == "x"


def test_dry_run_prints_the_cost_and_writes_nothing(tmp_path):
    out = tmp_path / "dry"
    full = runner.invoke(app, ["reproduce", "--out", str(out), "--dry-run"])
    assert full.exit_code == 0, full.output
    assert "scale 'full'" in full.output and "total: ~" in full.output and " h " in full.output
    quick = runner.invoke(app, ["reproduce", "--out", str(out), "--quick", "--dry-run"])
    assert "scale 'quick'" in quick.output and "min" in quick.output
    assert not out.exists()


def test_cli_runs_selected_panels_and_lists_outputs(tmp_path):
    out = tmp_path / "cli"
    result = runner.invoke(app, ["reproduce", "--out", str(out), "--scale", "tiny", "--panels", "i,ii", "--seed", "9"])
    assert result.exit_code == 0, result.output
    assert f"report: {out / 'report.html'}" in result.output
    assert f"figure: {out / 'figures' / 'i_transitions.png'}" in result.output
    parser = parse_report(out / "report.html")
    assert sorted(parser.images) == ["i", "ii"]


@pytest.mark.slow
def test_quick_reproduce_end_to_end(tmp_path):
    out = tmp_path / "quick"
    result = runner.invoke(app, ["reproduce", "--out", str(out), "--quick"])
    assert result.exit_code == 0, result.output
    parser = parse_report(out / "report.html")
    assert sorted(parser.images) == sorted(PANEL_KEYS)
    for src in parser.all_images:
        png_size(base64.b64decode(src.split(",", 1)[1]))
