"""The shared model definition: spec validation, spherical rows, fields, forward pass, scenarios."""
import numpy as np
import pytest

from deepglass import ConfigError, NetworkSpec, forward, gap, make_training_set, random_weights
from deepglass.model import draw_connectivity, local_field


@pytest.mark.parametrize("kw, field", [
    (dict(N=0, L=3), "N"), (dict(N=5, L=0), "L"), (dict(N=5, L=2, c=6), "c"),
    (dict(N=5, L=2, c=0), "c"), (dict(N=5, L=2, kappa=float("nan")), "kappa"),
])
def test_spec_rejects_bad_values(kw, field):
    with pytest.raises(ConfigError) as err:
        NetworkSpec(**kw)
    assert err.value.field == field and field in str(err.value)


def test_rows_have_norm_c_and_sparse_inputs_are_distinct():
    rng = np.random.default_rng(0)
    spec = NetworkSpec(N=12, L=3, c=5)
    J = random_weights(spec, rng, (2,))
    np.testing.assert_allclose((J ** 2).sum(-1), 5.0, rtol=1e-12)
    idx = draw_connectivity(spec, rng, (2,))
    assert idx.shape == (2, 3, 12, 5)
    assert all(len(set(row)) == 5 for row in idx.reshape(-1, 5))


def test_sparse_field_equals_dense_field_with_zeroed_weights():
    rng = np.random.default_rng(1)
    spec = NetworkSpec(N=9, L=1, c=4)
    J = random_weights(spec, rng)[0]
    idx = draw_connectivity(spec, rng)[0]
    S = np.where(rng.random((7, 9)) < 0.5, -1, 1).astype(np.int8)
    dense = np.zeros((9, 9))
    for i in range(9):
        dense[i, idx[i]] = J[i]
    np.testing.assert_allclose(local_field(J, S, idx) * 2, S @ dense.T, rtol=1e-12)  # 1/sqrt(4) = 1/2


@pytest.mark.parametrize("scenario", ["teacher-student", "hidden-manifold"])
def test_teacher_reproduces_its_own_data(scenario):
    rng = np.random.default_rng(2)
    spec = NetworkSpec(N=10, L=4)
    data = make_training_set(spec, scenario, 15, rng, batch=(3,), D=3 if scenario == "hidden-manifold" else None)
    layers = forward(data.teacher.J, data.inputs, data.idx)
    np.testing.assert_array_equal(layers[-1], data.outputs)
    for l in range(1, spec.L + 1):
        assert np.all(gap(data.teacher.J[:, l - 1], layers[l - 1], layers[l]) >= 0)


def test_unknown_scenario_and_bad_dimension():
    spec = NetworkSpec(N=4, L=2)
    with pytest.raises(ConfigError, match="scenario"):
        make_training_set(spec, "spin-glass", 3, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="D"):
        make_training_set(spec, "hidden-manifold", 3, np.random.default_rng(0), D=9)
