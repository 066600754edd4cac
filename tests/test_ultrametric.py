"""Ultrametricity from simulation (deepglass.experiments.ultrametric, plots.ultrametric, `deepglass ultrametric`)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.cluster import hierarchy
from typer.testing import CliRunner

from deepglass import observables as obs
from deepglass import run_simulation
from deepglass.cli import app
from deepglass.errors import ConfigError
from deepglass.experiments.ultrametric import (dendrogram_from_overlaps, replica_dendrogram, triangle_statistics,
                                               ultrametricity)
from deepglass.plots.ultrametric import plot_ultrametric

EDGES = np.linspace(0, 1, 21)


def tree_overlaps() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """8 replicas on a 3-level tree: 2 clusters of 2 sub-clusters of 2; q = 0.1 / 0.4 / 0.8 at the branchings."""
    R = 8
    cluster, sub = np.arange(R) // 4, np.arange(R) // 2
    q = np.where(sub[:, None] == sub[None, :], 0.8, np.where(cluster[:, None] == cluster[None, :], 0.4, 0.1))
    np.fill_diagonal(q, 1.0)
    return q, cluster, sub


def pairs_of(q: np.ndarray) -> np.ndarray:
    return np.array([q[a, b] for a, b in obs.replica_pairs(len(q))])


def test_tree_overlaps_are_ultrametric_and_the_dendrogram_recovers_the_tree():
    q, cluster, sub = tree_overlaps()
    assert np.array_equal(obs.overlap_matrix(pairs_of(q), 8), q)
    tri = obs.overlap_triangles(pairs_of(q)[:, None], 8)          # (56 triangles, 1 layer, 3)
    st = triangle_statistics(tri, 1e-9, EDGES)
    assert st["fraction_ultrametric"][0] == 1.0
    assert st["violation"][0] == 0.0
    assert st["ks_statistic"][0] > 0.5  # q_mid - q_min is always 0, q_max - q_mid mostly not
    tree = dendrogram_from_overlaps(q)
    assert tree.cophenetic == pytest.approx(1.0, abs=1e-12)
    for k, labels in ((2, cluster), (4, sub)):
        found = hierarchy.fcluster(tree.linkage, k, criterion="maxclust")
        assert len(set(zip(found, labels))) == k  # a bijection between found and true clusters
    assert np.allclose(sorted(tree.linkage[:, 2]), [0.2] * 4 + [0.6] * 2 + [0.9])  # merge heights 1 - q


def test_random_overlaps_are_clearly_not_ultrametric():
    rng = np.random.default_rng(3)
    R = 8
    q = np.ones((R, R))
    iu = np.triu_indices(R, 1)
    q[iu] = rng.uniform(0.0, 0.8, iu[0].size)
    q.T[iu] = q[iu]
    tri = obs.overlap_triangles(pairs_of(q)[:, None], R)
    st = triangle_statistics(tri, 0.02, EDGES)
    assert st["fraction_ultrametric"][0] < 0.25   # exchangeable sides: P(q_mid - q_min <= 0.02) ~ 0.05
    assert 0.3 < st["violation"][0] < 0.7         # about 1/2
    assert dendrogram_from_overlaps(q).cophenetic < 0.95


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ultra")
    cfg = {"seed": 11, "network": {"N": 8, "L": 4}, "data": {"scenario": "random", "alpha": 1.0},
           "mc": {"backend": "numpy"},  # no JIT compile for a tiny run
           "run": {"protocol": "learning", "t_max": 30, "n_samples": 2}, "replicas": {"R": 3, "waiting_times": [0]}}
    ds = run_simulation(cfg, out)
    return out, ds


def test_real_run_shapes_and_bounds(run):
    _, ds = run
    u = ultrametricity(ds)
    assert list(u["layer"].values) == [1, 2, 3]
    assert list(u["n_triangles"].values) == [2, 2, 2]          # 2 samples x 1 triangle
    for name in ("fraction_ultrametric", "fraction_equilateral"):
        assert np.all((u[name].values >= 0) & (u[name].values <= 1))
    assert np.all(u["fraction_equilateral"] <= u["fraction_ultrametric"])
    assert u.attrs["tol"] == pytest.approx(2 / np.sqrt(8 * 8))   # z / sqrt(N M), M = alpha N = 8
    assert list(u["region"].values) == ["boundary", "centre"]
    assert list(u.attrs["boundary_layers"]) == [1, 3] and list(u.attrs["centre_layers"]) == [2]
    assert u["hist_low"].sum("bin").values == pytest.approx(1.0)
    # the stored sorted triangles agree with the ones built from the pair overlaps
    built = obs.overlap_triangles(ds["q_replica"].isel(time=-1, tw=0).transpose("sample", "pair", "layer").values, 3)
    stored = ds["q_triangle"].isel(time=-1, tw=0).transpose("sample", "triangle", "layer", "side").values
    assert np.array_equal(built, stored)
    w = ultrametricity(ds, var="Q_replica")
    assert w.attrs["tol"] == pytest.approx(2 / 8)               # z / sqrt(N c)
    tree = replica_dendrogram(ds, 2, sample=1)
    assert tree.linkage.shape == (2, 4)


def test_errors_name_the_field(run):
    _, ds = run
    two = ds.drop_vars(["q_triangle", "triangle", "triangle_a", "triangle_b", "triangle_c"]).isel(pair=[0])
    with pytest.raises(ConfigError) as err:
        ultrametricity(two)
    assert err.value.field == "replicas.R"
    for kwargs, field in (({"tw": 5}, "tw"), ({"time": 10**6}, "time"), ({"var": "energy"}, "var"), ({"z": 0.0}, "z")):
        with pytest.raises(ConfigError) as err:
            ultrametricity(ds, **kwargs)
        assert err.value.field == field
    with pytest.raises(ConfigError) as err:
        replica_dendrogram(ds, 9)
    assert err.value.field == "layer"


def test_plot_ultrametric_writes_figures(run, tmp_path):
    _, ds = run
    stats = ultrametricity(ds)
    layers = sorted({stats.attrs["boundary_layers"][0], stats.attrs["centre_layers"][0]})
    paths = plot_ultrametric(stats, tmp_path, trees={l: replica_dendrogram(ds, l) for l in layers})
    assert [p.name for p in paths] == ["ultrametric_triangles.png", "ultrametric_dendrograms.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)
    only = plot_ultrametric(stats, tmp_path / "stats")
    assert len(only) == 1 and only[0].stat().st_size > 10_000


def test_cli(run, tmp_path):
    out, _ = run
    runner = CliRunner()
    result = runner.invoke(app, ["ultrametric", str(out), "--out", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert sorted(summary["layers"]) == ["1", "2", "3"] and set(summary["regions"]) == {"boundary", "centre"}
    assert (tmp_path / "ultrametric_dendrograms.png").stat().st_size > 0
    assert runner.invoke(app, ["ultrametric", str(out), "--layer", "9", "--out", str(tmp_path / "x")]).exit_code == 2
    bad = runner.invoke(app, ["ultrametric", str(tmp_path / "nothing")])
    assert bad.exit_code == 2 and "nothing" in bad.output
    result = runner.invoke(app, ["ultrametric", str(out), "--z", "-1", "--out", str(tmp_path / "y")])
    assert result.exit_code == 2 and "z" in result.output
