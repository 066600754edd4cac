"""Real-data sources (deepglass.datasets): IDX and npz readers on files written here, the digits source,
binarisation, output codes, the dataset scenario's config and a tiny end-to-end run."""
from __future__ import annotations

import gzip
import struct
import sys

import numpy as np
import pytest

from deepglass import datasets as D
from deepglass.errors import ConfigError
from deepglass.experiments.config import example_config, parse_config


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file written from the format's definition (independently of the reader)."""
    code = {np.dtype(np.uint8): 0x08, np.dtype(np.int32): 0x0C}[array.dtype]
    head = bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return head + array.astype(array.dtype.newbyteorder(">")).tobytes()


def images(n, rng, side=4):
    return rng.integers(0, 256, size=(n, side, side), dtype=np.uint8)


def write_idx_dir(folder, rng, gz=True, n_train=30, n_test=20, side=4):
    folder.mkdir(exist_ok=True)
    arrays = {"train-images-idx3-ubyte": images(n_train, rng, side),
              "train-labels-idx1-ubyte": (np.arange(n_train) % 3).astype(np.uint8),
              "t10k-images-idx3-ubyte": images(n_test, rng, side),
              "t10k-labels-idx1-ubyte": (np.arange(n_test) % 3).astype(np.uint8)}
    for name, a in arrays.items():
        raw = idx_bytes(a)
        (folder / (name + (".gz" if gz else ""))).write_bytes(gzip.compress(raw) if gz else raw)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_idx_reader_round_trips(tmp_path, gz):
    rng = np.random.default_rng(0)
    arrays = write_idx_dir(tmp_path / "mnist", rng, gz=gz)
    src = D.load_source(str(tmp_path / "mnist"))
    np.testing.assert_array_equal(src.train.images, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(src.test.labels, arrays["t10k-labels-idx1-ubyte"])
    assert src.train.scale == 255.0
    a = np.arange(6, dtype=np.int32).reshape(2, 3) - 3
    (tmp_path / "x.idx").write_bytes(idx_bytes(a))
    np.testing.assert_array_equal(D.read_idx(tmp_path / "x.idx"), a)


@pytest.mark.parametrize("damage, words", [
    (lambda raw: raw[:-5], "truncated"),
    (lambda raw: raw[:6], "truncated header"),
    (lambda raw: b"\x12\x34" + raw[2:], "magic number"),
    (lambda raw: raw + b"\x00", "trailing bytes"),
    (lambda raw: b"", "empty file"),
    (lambda raw: gzip.compress(raw)[:-8], "gzip"),
])
def test_damaged_idx_files_name_the_file(tmp_path, damage, words):
    raw = idx_bytes(images(5, np.random.default_rng(1)))
    path = tmp_path / "bad-images-idx3-ubyte"
    path.write_bytes(damage(raw))
    with pytest.raises(ConfigError) as err:
        D.read_idx(path)
    assert str(path) in str(err.value) and words in str(err.value) and err.value.field == "data.source"


def test_idx_directory_missing_file_and_mismatched_labels(tmp_path):
    rng = np.random.default_rng(2)
    write_idx_dir(tmp_path / "m", rng, gz=False)
    (tmp_path / "m" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(ConfigError, match="t10k-labels-idx1-ubyte.*not found"):
        D.read_idx_directory(tmp_path / "m")
    (tmp_path / "m" / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(ConfigError, match="20 labels"):
        D.read_idx_directory(tmp_path / "m")


def test_npz_reader_and_its_errors(tmp_path):
    rng = np.random.default_rng(3)
    good = tmp_path / "d.npz"
    np.savez(good, images=images(12, rng).astype(np.float64) / 16, labels=np.arange(12) % 2, pixel_scale=16.0)
    src = D.read_npz(good)
    assert src.test is None and src.train.scale == 16.0 and src.train.images.shape == (12, 4, 4)
    np.savez(tmp_path / "nolabels.npz", images=images(3, rng))
    np.savez(tmp_path / "badlabels.npz", images=images(3, rng), labels=np.zeros(4, int))
    np.savez(tmp_path / "halftest.npz", images=images(3, rng), labels=np.zeros(3, int), test_images=images(2, rng))
    (tmp_path / "text.npz").write_text("not a zip")
    (tmp_path / "cut.npz").write_bytes(good.read_bytes()[:100])
    for name, words in [("nolabels", "images and labels"), ("badlabels", "matching"), ("halftest", "or neither"),
                        ("text", "readable .npz"), ("cut", "readable .npz"), ("missing", "not found")]:
        with pytest.raises(ConfigError, match=words) as err:
            D.read_npz(tmp_path / f"{name}.npz")
        assert f"{name}.npz" in str(err.value)


def test_digits_source():
    try:
        import sklearn  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match="needs scikit-learn"):
            D.read_digits()
        pytest.skip("scikit-learn is not installed: the digits source refuses with a clear error (checked)")
    src = D.read_digits()
    assert src.train.images.shape == (1797, 8, 8) and src.train.scale == 16.0 and src.test is None
    assert np.bincount(src.train.labels).tolist()[:2] == [178, 182]


def test_digits_source_without_sklearn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ConfigError, match="needs scikit-learn"):
        D.read_digits()


def test_binarise_pool_and_codes():
    x = np.array([[[0, 16], [8, 9]]], dtype=float)               # one 2x2 image, scale 16
    np.testing.assert_array_equal(D.binarise(x, 16.0, 0.5), [[-1, 1, -1, 1]])
    np.testing.assert_array_equal(D.binarise(x, 16.0, 0.5, pool=2), [[1]])   # mean 33/64 > 0.5
    with pytest.raises(ConfigError, match="divisor"):
        D.binarise(x, 16.0, 0.5, pool=3)
    for K, coding, width in [(2, "one-hot", 2), (3, "one-hot", 3), (2, "binary", 1), (5, "binary", 3)]:
        assert D.code_width(K, coding) == width
        code = D.encode(np.arange(K), K, coding)
        assert code.shape == (K, width) and set(np.unique(code)) <= {-1, 1}
        np.testing.assert_array_equal(D.decode(code.astype(float), K, coding), np.arange(K))
    np.testing.assert_array_equal(D.encode(np.array([0, 1]), 2, "one-hot"), [[1, -1], [-1, 1]])
    assert D.decode(np.array([[1.0, 1.0, 1.0]]), 5, "binary")[0] == -1   # 7 > K - 1: no class


def test_draws_are_disjoint_reproducible_and_of_the_chosen_classes(tmp_path):
    rng = np.random.default_rng(4)
    imgs = np.arange(40 * 4, dtype=np.float64).reshape(40, 2, 2)    # every image distinct: identify them
    labels = np.arange(40) % 4
    np.savez(tmp_path / "d.npz", images=imgs, labels=labels)
    src = D.load_source(str(tmp_path / "d.npz"))
    draw = lambda s: D.draw_dataset(src, [3, 1], 12, 8, 0.0, 1, "one-hot", np.random.default_rng(s),
                                    np.random.default_rng(s + 1))
    a, b = draw(5), draw(5)
    np.testing.assert_array_equal(a.inputs, b.inputs)
    assert a.inputs.shape == (12, 4) and a.outputs.shape == (12, 2) and a.test_inputs.shape == (8, 4)
    # class 3 is position 0: one-hot (+1, -1)
    assert set(a.train_labels) <= {0, 1} and np.all(a.outputs[:, 0] == np.where(a.train_labels == 0, 1, -1))
    with pytest.raises(ConfigError, match="M \\+ M_test <= 20"):
        D.check_request(src, "d.npz", [3, 1], 15, 8)
    with pytest.raises(ConfigError, match="missing \\[7\\]"):
        D.check_request(src, "d.npz", [3, 7], 2, 2)
    # raw images (before binarising) identify the draw: training and test images are disjoint
    order = np.random.default_rng(5).permutation(20)
    pool = np.flatnonzero(np.isin(labels, [3, 1]))
    train = set(pool[order[:12]].tolist())
    rest = pool[order[12:]]
    test = set(rest[np.random.default_rng(6).permutation(rest.size)[:8]].tolist())
    assert not train & test and len(test) == 8


def dataset_config(source, **data):
    return {"seed": 3, "network": {"N": 5, "L": 3},
            "data": {"scenario": "dataset", "source": str(source), "M": 10, "M_test": 6, **data},
            "mc": {"backend": "numpy"}, "run": {"t_max": 4, "n_samples": 2, "per_decade": 2},
            "replicas": {"R": 2, "waiting_times": [1]}}


def test_dataset_config_widths_and_errors(tmp_path):
    rng = np.random.default_rng(5)
    write_idx_dir(tmp_path / "m", rng, side=4)
    cfg = parse_config(dataset_config(tmp_path / "m", classes=[0, 2]))
    assert cfg.spec().widths == (16, 5, 5, 2) and cfg.n_patterns == 10
    assert parse_config(dataset_config(tmp_path / "m", pool=2, coding="binary")).spec().widths == (4, 5, 5, 1)
    bad = [({"source": str(tmp_path / "nowhere")}, "data.source"), ({"M": 21}, "data.M"),
           ({"M_test": 15}, "data.M_test"), ({"classes": [0, 5]}, "data.classes"), ({"classes": [1, 1]}, "data.classes"),
           ({"pool": 3}, "data.pool")]
    for change, field in bad:
        with pytest.raises(ConfigError) as err:
            parse_config({**dataset_config(tmp_path / "m"), "data": {**dataset_config(tmp_path / "m")["data"], **change}})
        assert err.value.field == field, (change, err.value)
    for section, change, field in [("network", {"N_in": 17}, "network.N_in"),  ("mc", {"backend": "jax"}, "mc.backend"),
                                   ("run", {"protocol": "planted", "t_max": 4}, "run.protocol")]:
        base = dataset_config(tmp_path / "m")
        with pytest.raises(ConfigError) as err:
            parse_config({**base, section: {**base[section], **change}})
        assert err.value.field == field
    base = dataset_config(tmp_path / "m")   # the design-space sampler takes the data set's unequal widths
    assert parse_config({**base, "mc": {**base["mc"], "sampler": "design-space"}}).mc.sampler == "design-space"
    with pytest.raises(ConfigError) as err:
        parse_config({"data": {"M": 5}})
    assert err.value.field == "data.M"


def test_example_dataset_config_round_trips():
    import tomllib
    cfg = example_config("dataset")
    assert cfg.data.source == "digits" and cfg.data.classes == [0, 1]
    assert parse_config(tomllib.loads(cfg.to_toml()), check_data=False) == cfg


def test_tiny_dataset_run_measures_accuracy_and_its_profile(tmp_path):
    from deepglass.experiments.runner import run_simulation
    from deepglass.experiments.layer_profile import layer_profile

    rng = np.random.default_rng(6)
    write_idx_dir(tmp_path / "m", rng, side=4)
    run = run_simulation(dataset_config(tmp_path / "m"), tmp_path / "run")
    acc = run["test_accuracy"].values
    assert acc.shape == (2, run.sizes["time"]) and np.all((0 <= acc) & (acc <= 1))
    assert np.all(np.isin(np.round(acc * 6), np.arange(7)))          # k of the 6 test images
    prof = layer_profile(run)
    assert list(prof["q_state"].values) == ["data"] + [("solid" if q > np.exp(-1) else "liquid")
                                                       for q in prof["q_mean"].values[1:3]] + ["data"]
    assert prof.attrs["M"] == 10
    import json
    from typer.testing import CliRunner
    from deepglass.cli import app
    result = CliRunner().invoke(app, ["profile", str(tmp_path / "run"), "--format", "json", "--figure",
                                      str(tmp_path / "p.png")])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)[0]
    assert shown["layers"]["q_state"] == list(prof["q_state"].values) and shown["layers"]["Q_mean"][0] is None
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_dataset_file_exits_2_and_writes_nothing(tmp_path):
    from typer.testing import CliRunner
    import tomli_w
    from deepglass.cli import app

    cfg = dataset_config(tmp_path / "absent.npz")
    (tmp_path / "c.toml").write_text(tomli_w.dumps(cfg))
    result = CliRunner().invoke(app, ["simulate", str(tmp_path / "c.toml"), "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 2 and "data.source" in result.output and "absent.npz" in result.output
    assert not (tmp_path / "out").exists()


def test_memory_estimate_of_a_dataset_run_counts_its_M_and_padded_width(tmp_path):
    from deepglass.experiments.resources import check_run_fits, run_bytes
    write_idx_dir(tmp_path / "m", np.random.default_rng(7), side=4)      # N_in = 16 > N = 5: arrays 16 wide
    cfg = parse_config(dataset_config(tmp_path / "m"))
    assert check_run_fits(cfg, available=10**12) == run_bytes(16, 3, 16, 10, 2, 2, 0)
    with pytest.raises(ConfigError, match="fits in memory"):
        check_run_fits(cfg, available=1000)
