"""MCParams and measurement_times reject bad values with a ConfigError naming the field."""
import numpy as np
import pytest

from deepglass.errors import ConfigError
from deepglass.mc import MCParams, measurement_times


@pytest.mark.parametrize("kw, field", [
    (dict(potential="quartic"), "potential"),
    (dict(acceptance="glauber"), "acceptance"),
    (dict(acceptance="metropolis"), "beta"),
    (dict(acceptance="metropolis", beta=0.0), "beta"),
    (dict(acceptance="metropolis", beta=-1.0), "beta"),
    (dict(acceptance="metropolis", beta=float("inf")), "beta"),
    (dict(acceptance="metropolis", beta=float("nan")), "beta"),
    (dict(beta=2.0), "beta"),
    (dict(delta=0.0), "delta"),
    (dict(delta=-0.1), "delta"),
    (dict(delta=10.5), "delta"),
    (dict(delta=float("nan")), "delta"),
    (dict(delta="big"), "delta"),
])
def test_bad_params_raise_config_error_naming_the_field(kw, field):
    with pytest.raises(ConfigError) as err:
        MCParams(**kw)
    assert err.value.field == field and field in str(err.value)


def test_good_params():
    MCParams(acceptance="metropolis", beta=3, delta=10)
    MCParams(potential="count", delta=1e-3)


def test_measurement_times_are_log_spaced_and_resolve_lags():
    t = measurement_times(1000, 4)
    assert t[0] == 1 and t[-1] == 1000 and np.all(np.diff(t) > 0)
    np.testing.assert_array_equal(t, [1, 2, 3, 6, 10, 18, 32, 56, 100, 178, 316, 562, 1000])
    t2 = measurement_times(1000, 4, waiting_times=[0, 100])
    assert {101, 102, 103, 106, 110, 200, 1000} <= set(t2.tolist())
    assert measurement_times(7, 2).tolist() == [1, 3, 7]


@pytest.mark.parametrize("args, field", [
    ((0, 4), "t_max"), ((10, 0), "per_decade"), ((10, 2, [5, 5]), "waiting_times"),
    ((10, 2, [10]), "waiting_times"), ((10, 2, [-1]), "waiting_times"), ((10.5, 2), "t_max"),
])
def test_bad_schedule_raises(args, field):
    with pytest.raises(ConfigError) as err:
        measurement_times(*args)
    assert err.value.field == field
