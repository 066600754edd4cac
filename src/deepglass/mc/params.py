"""Monte Carlo parameters (MODEL.md section 4): potential, acceptance rule, temperature, weight-move size.

The potential and the acceptance rule are small pluggable pieces: a potential maps gaps to costs
V(r) and an acceptance rule maps (dE, log proposal ratio, uniforms) to an accept mask.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from ..model import POTENTIALS, potential_function  # noqa: F401  (a model-level formula; re-exported here)

ACCEPTANCES = ("greedy", "metropolis")
"""Acceptance rules (`[mc] acceptance`): greedy (T = 0) or Metropolis at inverse temperature beta."""
SAMPLERS = ("local", "design-space")   # move sets: mc/engine.py (local), mc/design_space.py
PROPOSALS = ("row", "weight", "billiard")   # design-space weight proposals (billiard: mc/design_space_billiard.py)
BILLIARD_TIME = float(np.pi / 2)    # default billiard_time: see docs/simulation.md "Row billiard"


@dataclass(frozen=True)
class MCParams:
    """How the learning dynamics moves: cost V(r), acceptance rule, beta, weight-move size delta.

    exact_sphere: include the Hastings factor of the weight move (see docs/simulation.md) so that,
    with E fixed, rows are sampled from the exactly uniform measure on their sphere. Without it the
    move of MODEL.md is biased at order delta^2 (visible at small c and large delta).
    sampler: "local" (neuron flips and single-weight moves, the learning dynamics) or "design-space"
    (weight moves with the hidden neurons slaved to the forward pass, mc/design_space.py).
    proposal: the design-space weight move, "row" (J_i -> sqrt(c)(J_i + delta x)/|J_i + delta x|,
    symmetric) or "weight" (one weight as the local move, with its Hastings factor iff exact_sphere).
    tune_steps, target_acceptance: during MC steps 1..tune_steps the design-space move size of each system
    and weight layer adapts toward target_acceptance (mc/tuning.py), then it is frozen; 0 = delta throughout.
    pt_betas: the finite inverse temperatures (strictly decreasing) of the hot members of each system's
    parallel-tempering ladder over the output-layer cost (mc/tempering.py); () = no tempering.
    billiard_time: the longest trajectory (an angle on the row's sphere) of the "billiard" proposal, a reflective
    geodesic walk of one row in its conditional region (mc/design_space_billiard.py); the length is U times it.
    """

    potential: str = "soft"
    acceptance: str = "greedy"
    beta: float | None = None
    delta: float = 0.1
    exact_sphere: bool = True
    sampler: str = "local"
    proposal: str = "row"
    tune_steps: int = 0
    target_acceptance: float = 0.3
    pt_betas: tuple = ()
    billiard_time: float = BILLIARD_TIME

    def __post_init__(self):
        if self.potential not in POTENTIALS:
            raise ConfigError("potential", self.potential, f"one of {', '.join(POTENTIALS)}")
        if self.acceptance not in ACCEPTANCES:
            raise ConfigError("acceptance", self.acceptance, f"one of {', '.join(ACCEPTANCES)}")
        if self.acceptance == "metropolis":
            if (self.beta is None or isinstance(self.beta, bool) or not isinstance(self.beta, (int, float, np.number))
                    or not np.isfinite(self.beta) or self.beta <= 0):
                raise ConfigError("beta", self.beta, "a finite real number > 0 (required for metropolis acceptance)")
        elif self.beta is not None:
            raise ConfigError("beta", self.beta, "None for greedy acceptance (zero temperature)")
        if (isinstance(self.delta, bool) or not isinstance(self.delta, (int, float, np.number))
                or not np.isfinite(self.delta) or not 0 < self.delta <= 10):
            raise ConfigError("delta", self.delta, "a real number with 0 < delta <= 10 (weight move size)")
        if not isinstance(self.exact_sphere, (bool, np.bool_)):
            raise ConfigError("exact_sphere", self.exact_sphere, "true or false")
        if self.sampler not in SAMPLERS:
            raise ConfigError("sampler", self.sampler, f"one of {', '.join(SAMPLERS)}")
        if self.proposal not in PROPOSALS:
            raise ConfigError("proposal", self.proposal, f"one of {', '.join(PROPOSALS)}")
        if isinstance(self.tune_steps, bool) or not isinstance(self.tune_steps, (int, np.integer)) or self.tune_steps < 0:
            raise ConfigError("tune_steps", self.tune_steps, "an integer >= 0 (burn-in MC steps that tune delta)")
        if self.tune_steps > 0 and self.sampler != "design-space":
            raise ConfigError("tune_steps", self.tune_steps, "0 with sampler = local (tuning is for design-space moves)")
        betas = self.pt_betas
        if (not isinstance(betas, tuple) or any(isinstance(b, bool) or not isinstance(b, (int, float, np.number))
                                                or not np.isfinite(b) or b <= 0 for b in betas)
                or any(a <= b for a, b in zip(betas, betas[1:]))):
            raise ConfigError("pt_betas", betas, "a strictly decreasing list of finite inverse temperatures > 0")
        if betas and (self.sampler != "design-space" or self.acceptance != "greedy"):
            raise ConfigError("pt_betas", list(betas), "[] unless sampler = design-space with greedy acceptance "
                              "(the ladder's beta = infinity member)")
        if (isinstance(self.billiard_time, bool) or not isinstance(self.billiard_time, (int, float, np.number))
                or not 0 < self.billiard_time <= np.pi):
            raise ConfigError("billiard_time", self.billiard_time, "a real number with 0 < billiard_time <= pi")
        if self.proposal == "billiard":
            refuse = (("sampler", self.sampler, "design-space with proposal = billiard", self.sampler != "design-space"),
                      ("acceptance", self.acceptance, "greedy with proposal = billiard (the T = 0 sampler)",
                       self.acceptance != "greedy"),
                      ("pt_betas", list(betas), "[] with proposal = billiard (the T = 0 sampler)", bool(betas)),
                      ("tune_steps", self.tune_steps, "0 with proposal = billiard (it has no move size)",
                       self.tune_steps > 0))
            for name, value, allowed, bad in refuse:
                if bad:
                    raise ConfigError(name, value, allowed)
        if (isinstance(self.target_acceptance, bool) or not isinstance(self.target_acceptance, (int, float, np.number))
                or not 0 < self.target_acceptance < 1):
            raise ConfigError("target_acceptance", self.target_acceptance, "a real number with 0 < target < 1")


# --------------------------------------------------------------------------- acceptance rules

def accept(params: MCParams, dE: np.ndarray, uniform: np.ndarray | None, log_ratio: np.ndarray | None = None):
    """Accept mask of a batch of independent proposals.

    log_ratio is log q(x'->x)/q(x->x') (the Hastings factor), None for symmetric proposals.
    Metropolis-Hastings: accept iff u < exp(log_ratio - beta dE).
    Greedy (the beta -> infinity limit): never accept dE > 0; accept dE <= 0 with prob min(1, ratio).
    """
    if params.acceptance == "greedy":
        ok = dE <= 0.0
        if log_ratio is not None:
            ok &= np.log(uniform) < log_ratio
        return ok
    log_a = -params.beta * dE
    if log_ratio is not None:
        log_a = log_a + log_ratio
    # u in [0, 1): log(0) = -inf accepts; suppress the warning
    with np.errstate(divide="ignore"):
        return np.log(uniform) < log_a
