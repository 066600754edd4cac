"""Run-config schema: every bad value is a ConfigError naming the dotted field and the allowed range."""
import tomllib

import pytest

from deepglass.errors import ConfigError
from deepglass.experiments.config import (
    RunConfig, apply_overrides, config_to_toml, example_config, load_config, parse_config, resolve_key,
)


@pytest.mark.parametrize("data, field, allowed_hint", [
    ({"network": {"N": 0}}, "network.N", ">= 1"),
    ({"network": {"N": 3.5}}, "network.N", "integer"),
    ({"network": {"N": True}}, "network.N", "integer"),
    ({"network": {"L": 0}}, "network.L", ">= 1"),
    ({"network": {"N": 5, "c": 6}}, "network.c", "c <= N = 5"),
    ({"network": {"c": 0}}, "network.c", "1 <= c"),
    ({"network": {"kappa": float("inf")}}, "network.kappa", "finite"),
    ({"data": {"alpha": 0}}, "data.alpha", "> 0"),
    ({"data": {"alpha": -1.5}}, "data.alpha", "> 0"),
    ({"data": {"alpha": float("nan")}}, "data.alpha", "> 0"),
    ({"data": {"scenario": "mnist"}}, "data.scenario", "random, teacher-student, hidden-manifold"),
    ({"data": {"scenario": "hidden-manifold"}}, "data.D", "1 <= D <= N"),
    ({"network": {"N": 10}, "data": {"scenario": "hidden-manifold", "D": 11}}, "data.D", "N = 10"),
    ({"data": {"M_test": -1}}, "data.M_test", ">= 0"),
    ({"mc": {"potential": "quartic"}}, "mc.potential", "soft, hinge, count"),
    ({"mc": {"acceptance": "metropolis"}}, "mc.beta", "metropolis"),
    ({"mc": {"acceptance": "metropolis", "beta": -2}}, "mc.beta", "> 0"),
    ({"mc": {"delta": 0}}, "mc.delta", "0 < delta <= 10"),
    ({"mc": {"delta": 11}}, "mc.delta", "0 < delta <= 10"),
    ({"data": {"scenario": "random"}, "run": {"protocol": "planted"}}, "run.protocol", "teacher"),
    ({"run": {"protocol": "annealing"}}, "run.protocol", "learning, planted"),
    ({"run": {"t_max": 0}}, "run.t_max", ">= 1"),
    ({"run": {"n_samples": 0}}, "run.n_samples", ">= 1"),
    ({"run": {"per_decade": 0}}, "run.per_decade", "per_decade"),
    ({"run": {"stop_when_solved": 1}}, "run.stop_when_solved", "true or false"),
    ({"replicas": {"R": -1}}, "replicas.R", ">= 0"),
    ({"replicas": {"waiting_times": [0, -3]}}, "replicas.waiting_times", "0 <= t_w"),
    ({"replicas": {"waiting_times": [5, 5]}}, "replicas.waiting_times", "distinct"),
    ({"replicas": {"R": 2, "waiting_times": [10]}, "run": {"t_max": 5}}, "replicas.waiting_times", "t_max = 5"),
    ({"replicas": {"R": 2, "waiting_times": [5]}, "run": {"t_max": 5}}, "replicas.waiting_times", "t_w < t_max = 5"),
    ({"seed": -1}, "seed", "0 <= seed"),
    ({"seed": 2**63}, "seed", "2**63"),
    ({"seed": "abc"}, "seed", "seed"),
    ({"network": {"M": 3}}, "network.M", "N, L, c, kappa"),
    ({"colour": "red"}, "colour", "network"),
    ({"network": 3}, "network", "table"),
])
def test_bad_values_name_the_field_and_the_allowed_range(data, field, allowed_hint):
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert err.value.field == field
    assert field in str(err.value) and allowed_hint in err.value.allowed


def test_defaults_are_valid_and_c_defaults_to_N():
    cfg = parse_config({})
    assert cfg.spec().c == cfg.network.N
    assert cfg.n_patterns == round(cfg.data.alpha * cfg.network.N)


def test_patterns_from_alpha_use_c_not_N():
    cfg = parse_config({"network": {"N": 30, "c": 10}, "data": {"alpha": 2.55}})
    assert cfg.n_patterns == 26  # round(2.55 * 10) = round(25.5) -> 26 (the load is M / c)


def test_planted_is_allowed_with_both_teacher_scenarios():
    parse_config({"data": {"scenario": "teacher-student"}, "run": {"protocol": "planted"}})
    parse_config({"data": {"scenario": "hidden-manifold", "D": 3}, "run": {"protocol": "planted"}})


def test_waiting_times_are_sorted():
    assert parse_config({"replicas": {"waiting_times": [100, 0, 10]}}).replicas.waiting_times == [0, 10, 100]


@pytest.mark.parametrize("scenario", ["random", "teacher-student", "hidden-manifold"])
@pytest.mark.parametrize("comments", [True, False])
def test_example_toml_round_trips(scenario, comments):
    cfg = example_config(scenario)
    assert cfg.data.scenario == scenario
    text = config_to_toml(cfg, comments=comments)
    assert parse_config(tomllib.loads(text)) == cfg
    assert ("# neurons per layer" in text) == comments


def test_unset_fields_round_trip_as_unset():
    cfg = parse_config({"seed": None, "network": {"c": None}})
    assert parse_config(tomllib.loads(cfg.to_toml())) == cfg


def test_seed_is_drawn_once_and_kept():
    cfg = parse_config({})
    assert cfg.seed is None
    seeded = cfg.with_seed()
    assert isinstance(seeded.seed, int) and 0 <= seeded.seed < 2**63
    assert seeded.with_seed().seed == seeded.seed
    assert seeded.model_copy(update={"seed": None}) == cfg


def test_load_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[network\nN = 3\n")
    with pytest.raises(ConfigError, match="valid TOML"):
        load_config(bad)
    good = tmp_path / "good.toml"
    good.write_text(example_config("random").to_toml())
    assert load_config(good) == example_config("random")


def test_overrides_accept_dotted_paths_and_unique_leaves():
    cfg = apply_overrides(example_config(), ["N=40", "mc.beta=2", "acceptance=metropolis", "c=10",
                                             "waiting_times=[0, 10]", "stop_when_solved=true", "seed=null"])
    assert (cfg.network.N, cfg.network.c, cfg.mc.beta, cfg.mc.acceptance) == (40, 10, 2.0, "metropolis")
    assert cfg.replicas.waiting_times == [0, 10] and cfg.run.stop_when_solved is True and cfg.seed is None
    # bare strings need no quotes
    assert apply_overrides(example_config(), ["scenario=random", "protocol=learning"]).data.scenario == "random"
    assert resolve_key("network.kappa") == "network.kappa" and resolve_key("kappa") == "network.kappa"


@pytest.mark.parametrize("item, field, text", [
    ("colour=red", "--set", "colour"),
    ("network.colour=1", "--set", "network.colour"),
    ("N", "--set", "KEY=VALUE"),
    ("=3", "--set", "KEY=VALUE"),
    ("N=0", "network.N", ">= 1"),
    ("c=99", "network.c", "c <= N"),
    ("alpha=-1", "data.alpha", "> 0"),
])
def test_bad_overrides(item, field, text):
    with pytest.raises(ConfigError) as err:
        apply_overrides(example_config(), [item])
    assert err.value.field == field and text in str(err.value)


def test_models_are_strict_about_unknown_keys():
    assert set(RunConfig.model_fields) == {"seed", "network", "data", "mc", "run", "replicas"}


def test_engine_options_reach_the_engine_params():
    from deepglass.experiments.runner import mc_params

    cfg = parse_config({"mc": {"exact_sphere": False, "backend": "numpy"}})
    assert mc_params(cfg).exact_sphere is False and cfg.mc.backend == "numpy"
    with pytest.raises(ConfigError, match="backend"):
        parse_config({"mc": {"backend": "cuda"}})
