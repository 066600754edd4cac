"""Parallel tempering over the output-layer cost (mc/tempering.py): the exchange rule satisfies detailed
balance (exactly, and a chain on an enumerable ladder samples the product law), the beta = inf member stays
in the design space, hot members keep slaved, satisfied hidden layers, runs resume bit for bit, numpy = numba,
bad ladders refused with one line (exit 2)."""

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from deepglass.errors import ConfigError
from deepglass.experiments.config import parse_config
from deepglass.experiments.runner import execute, plan_run
from deepglass.mc import MCParams
from deepglass.mc.tempering import swap_accept, swap_pairs
from deepglass.model import forward, make_training_set, NetworkSpec
from deepglass.observables import all_gaps
from mc_helpers import interrupt_at_k_save, simulate_refuses
from test_mc_design_space import assert_invariants, run_to_end

U = (np.arange(200000) + 0.5) / 200000          # a fine grid of uniforms: the fraction accepted = the probability


def test_exchange_rule_satisfies_detailed_balance_exactly():
    E = np.array([0.0, 0.5, 1.0])
    for ba, bb in ((4.0, 1.0), (2.0, 1.5)):
        for x in E:
            for y in E:
                p_xy = swap_accept(ba, bb, x, y, U).mean()          # (x at ba, y at bb) -> (y at ba, x at bb)
                p_yx = swap_accept(ba, bb, y, x, U).mean()
                lhs = np.exp(-ba * x - bb * y) * p_xy
                rhs = np.exp(-ba * y - bb * x) * p_yx
                assert lhs == pytest.approx(rhs, rel=1e-3)   # grid error < 1e-4 relative here
    # beta = inf holds only E = 0 states: it takes the hot state iff that is in the design space
    assert swap_accept(np.inf, 3.0, 0.0, 0.0, U).all()
    assert not swap_accept(np.inf, 3.0, 0.0, 1e-9, U).any()


def test_chain_on_an_enumerable_ladder_samples_the_product_law():
    """Three members (beta = inf, 2, 0.5) each on states E = 0..3 with local Metropolis moves, plus exchanges
    with the even/odd schedule; 20000 independent chains from E = 3: their end states follow
    prod_k exp(-beta_k E_k) / Z (chi-square on the 16 joint states of the finite members)."""
    betas = np.array([np.inf, 2.0, 0.5])
    rng = np.random.default_rng(0)
    C = 20000
    x = np.full((C, 3), 3.0)
    x[:, 0] = 0.0                                                  # the beta = inf member starts at E = 0
    for t in range(1, 81):
        y = x + rng.choice((-1.0, 1.0), size=x.shape)
        with np.errstate(over="ignore", invalid="ignore"):
            ok = (y >= 0) & (y <= 3) & (rng.random(x.shape) < np.exp(-betas * (y - x)))
        ok[:, 0] &= y[:, 0] == 0.0
        x = np.where(ok, y, x)
        u = rng.random((C, 2))
        for k in swap_pairs(t, 2):
            sw = swap_accept(betas[k], betas[k + 1], x[:, k], x[:, k + 1], u[:, k])
            x[sw, k], x[sw, k + 1] = x[sw, k + 1], x[sw, k].copy()
    assert np.all(x[:, 0] == 0.0)                                  # the beta = inf member never leaves E = 0
    observed = np.bincount((4 * x[:, 1] + x[:, 2]).astype(int), minlength=16)
    e = np.arange(4)
    law = (np.exp(-2.0 * e)[:, None] * np.exp(-0.5 * e)[None, :]).ravel()
    assert stats.chisquare(observed, law / law.sum() * C).pvalue > 1e-3
    wrong = (np.exp(-1.5 * e)[:, None] * np.exp(-0.5 * e)[None, :]).ravel()   # power: beta_1 = 1.5 is rejected
    assert stats.chisquare(observed, wrong / wrong.sum() * C).pvalue < 1e-6


PT = MCParams(sampler="design-space", delta=0.3, pt_betas=(300.0, 100.0, 30.0))


@pytest.mark.slow
def test_ladders_keep_every_invariant():
    spec = NetworkSpec(N=8, L=3, c=5)
    data = make_training_set(spec, "teacher-student", 16, np.random.default_rng(1), (2,))
    last, ms = run_to_end(spec, data, PT, "numba", t_max=120, R=2, tws=(0, 30))
    assert_invariants(spec, data, last.checkpoint)                # the beta = inf members: the design space
    assert float(ms["swap_acceptance"].mean()) > 0.02             # exchanges happen
    tp = last.checkpoint.tempering
    idx = np.broadcast_to(data.idx[:, None, None], tp["J"].shape)
    inputs = np.broadcast_to(data.inputs[:, None, None], tp["S"][:, :, :, 0].shape)
    layers = forward(tp["J"], inputs, idx)
    for l in range(1, spec.L):                                    # hot members: hidden = forward pass,
        np.testing.assert_array_equal(tp["S"][:, :, :, l], layers[l])
    gaps = all_gaps(tp["J"], tp["S"], idx)                        # hidden gaps satisfied (hard constraints)
    assert np.all(gaps[..., : spec.L - 1, :, :] >= spec.kappa)
    assert np.any(gaps[..., spec.L - 1, :, :] < spec.kappa)      # while the output layer is soft at finite beta


TEMPERED = {"seed": 9, "network": {"N": 7, "L": 3, "c": 5}, "data": {"scenario": "teacher-student", "alpha": 2.0, "M_test": 0},
            "mc": {"sampler": "design-space", "delta": 0.3, "pt_betas": [200.0, 40.0], "tune_steps": 10, "backend": "numba"},
            "run": {"protocol": "planted", "t_max": 30, "per_decade": 1, "n_samples": 2, "checkpoint_every": 7},
            "replicas": {"R": 2, "waiting_times": [0, 9]}}


@pytest.mark.slow
def test_tempered_run_resumes_bit_identical_and_numpy_equals_numba(tmp_path):
    cfg = parse_config(TEMPERED)
    whole = execute(plan_run(cfg, tmp_path / "whole"))
    saves, partial = interrupt_at_k_save(cfg, tmp_path / "cut")
    assert saves == [7, 14] and partial.t_done == 14
    xr.testing.assert_identical(execute(plan_run(cfg, tmp_path / "cut")), whole)
    small = {**TEMPERED, "run": {**TEMPERED["run"], "t_max": 12}}
    a, b = (execute(plan_run(parse_config({**small, "mc": {**small["mc"], "backend": k}}), tmp_path / k))
            for k in ("numpy", "numba"))
    xr.testing.assert_identical(a.drop_attrs(), b.drop_attrs())


def test_bad_ladders_are_refused():
    with pytest.raises(ConfigError, match="mc.pt_betas"):
        parse_config({"mc": {"sampler": "design-space", "pt_betas": [1.0, 2.0]}})
    with pytest.raises(ConfigError, match="mc.pt_betas"):
        parse_config({"mc": {"pt_betas": [2.0]}})                 # local moves have no ladder
    with pytest.raises(ConfigError, match="pt_betas"):
        MCParams(sampler="design-space", pt_betas=(np.inf,))


@pytest.mark.slow
def test_cli_bad_ladder_exits_2_with_one_line(tmp_path):
    assert "mc.pt_betas" in simulate_refuses(tmp_path, '[mc]\nsampler = "design-space"\npt_betas = [3.0, 0.0]\n')
