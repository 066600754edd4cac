"""The RS blocks' Gaussian integrals against adaptive quadrature (scipy.integrate.quad) at tight tolerance.

The references integrate in other variables (z for the neuron block, u for the gap block), with other
special-function formulas (erfcx for the Mills ratio, an asymptotic series beyond u = 100), over the whole
physical range including the corners: eps up to 1e6, 1 - c down to 1e-10, kappa from -10 to 10.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from deepglass.theory.blocks_rs import gap_terms, spin_entropy, spin_overlap, spin_replicon_susceptibility
from deepglass.theory.quadrature import tail_terms
from quad_reference import mills_reference, gap_reference, neuron_reference

REL = 1e-10

# ---------------------------------------------------------------- neuron block


EPS_GRID = [1e-6, 1e-2, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 1e3, 1e4, 1e5, 1e6]


@pytest.mark.parametrize("nishimori", [False, True])
@pytest.mark.parametrize("eps", EPS_GRID)
def test_neuron_block_matches_adaptive_quadrature(eps, nishimori):
    one_minus_q = neuron_reference(eps, nishimori, "one_minus_q")
    q = float(spin_overlap(np.array([eps]), nishimori)[0])
    # q to REL relative; 1 - q (the frozen layers' distance to 1) to REL relative where it is representable
    assert q == pytest.approx(1.0 - one_minus_q, rel=REL, abs=1e-15)
    assert 1.0 - q == pytest.approx(one_minus_q, rel=1e-8, abs=3e-16)
    log2cosh = neuron_reference(eps, nishimori, "log2cosh")
    got = float(spin_entropy(np.array([0.0]), np.array([eps]), np.array([0.0]), nishimori)[0])
    shift = -0.5 * eps if nishimori else -0.5 * eps  # the q = 0 Legendre terms: -eps/2 in both limits
    assert got - shift == pytest.approx(log2cosh, rel=REL)
    sech4 = neuron_reference(eps, nishimori, "sech4")
    assert float(spin_replicon_susceptibility(np.array([eps]), nishimori)[0]) == pytest.approx(sech4, rel=1e-9,
                                                                                               abs=1e-17)


def test_neuron_block_known_values():
    """q(0) = 0; eps -> 0: q ~ eps (random) and the Nishimori q = eps too; large eps: 1 - q ~ sqrt(2/(pi eps)) *
    int sech^2 / 2 = 2/sqrt(2 pi eps) (random), Gaussian tail e^{-eps/2} order (Nishimori)."""
    assert spin_overlap(np.array([0.0]), False)[0] == 0.0
    assert spin_overlap(np.array([0.0]), True)[0] == 0.0
    for nish in (False, True):
        assert spin_overlap(np.array([1e-8]), nish)[0] == pytest.approx(1e-8, rel=1e-6)
    eps = 1e6
    assert 1 - spin_overlap(np.array([eps]), False)[0] == pytest.approx(2 / np.sqrt(2 * np.pi * eps), rel=1e-5)
    assert 1 - spin_overlap(np.array([100.0]), True)[0] < 1e-20


C_GRID = [0.0, 1e-6, 0.1, 0.5, 0.9, 0.99, 1 - 1e-4, 1 - 1e-6, 1 - 1e-8, 1 - 1e-10]


@pytest.mark.parametrize("kappa", [-10.0, -2.0, 0.0, 1.0, 4.0, 10.0])
@pytest.mark.parametrize("c", C_GRID)
def test_gap_block_random_matches_adaptive_quadrature(c, kappa):
    ref = gap_reference(c, kappa, False)
    got = [float(v[0]) for v in gap_terms(np.array([c]), kappa, False)]
    for name, r, g in zip(("s_gap", "chat", "lam"), ref, got):
        # relative REL; values that are themselves deep Gaussian tails (kappa = -10) to 1e-25 absolute
        assert g == pytest.approx(r, rel=REL, abs=1e-25), name


@pytest.mark.parametrize("c", C_GRID)
def test_gap_block_nishimori_matches_adaptive_quadrature(c):
    ref = gap_reference(c, 0.0, True)
    got = [float(v[0]) for v in gap_terms(np.array([c]), 0.0, True)]
    for name, r, g in zip(("s_gap", "chat", "lam"), ref, got):
        assert g == pytest.approx(r, rel=REL), name


def test_gap_block_vectorised_equals_scalar():
    """One call over a batch of very different c (the panel count follows the smallest window) equals
    the calls one by one."""
    c = np.array([0.0, 0.3, 0.99, 1 - 1e-10, 0.7])
    batch = gap_terms(c, 0.5, False)
    for k, ck in enumerate(c):
        single = gap_terms(np.array([ck]), 0.5, False)
        for b, s in zip(batch, single):
            assert b[k] == pytest.approx(s[0], rel=1e-12)


def test_tail_terms_against_erfcx_and_asymptotics():
    """log H, g = phi/H and g' of the compiled kernel against scipy (log_ndtr, erfcx) and the asymptotic
    series, on both sides of the switch to the continued fraction at u = 4."""
    for u in np.concatenate([np.linspace(-37.0, 30.0, 671), [50.0, 1e2, 1e3, 1e5, 1e6]]):
        log_h, g, gp = tail_terms(float(u))
        g_ref, gp_ref = mills_reference(float(u))
        assert log_h == pytest.approx(float(special.log_ndtr(-u)), rel=1e-12, abs=1e-300)
        assert g == pytest.approx(g_ref, rel=1e-12, abs=1e-300)  # 2e-13 seen near phi's underflow (u = -36)
        # g' = g (g - u): the reference's own cancellation below u = 100 is ~eps u^2
        assert gp == pytest.approx(gp_ref, rel=max(1e-13, 1e-15 * u * u) if u < 100 else 1e-13, abs=1e-300)
