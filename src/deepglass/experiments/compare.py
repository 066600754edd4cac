"""Theory vs simulation: dense-limit replica profiles beside Monte Carlo profiles at several N,
extrapolated to N -> infinity by a weighted fit a + b/N (docs/experiments.md "Theory vs simulation",
docs/theory.md "Comparing with simulation").

Teacher-student: planted greedy MC (starts at the teacher, samples the design space) against the
Bayes-optimal chain theory, and against the *frozen-representation* theory: at kappa = 0 greedy MC never
accepts a neuron flip from a solution, so the hidden states stay the teacher's and every row of weights
is an independent Gibbs-learning perceptron at the same load (Q_l = R_Gibbs(alpha) for every layer).
Random data: learning MC with R >= 2 replicas copied at t_w, replica overlaps against the RS/RSB chain.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import xarray as xr

from ..errors import ConfigError
from .config import SEED_LIMIT, RunConfig, child_seed, parse_config
from .resources import check_run_fits
from .store import write_dataset

COMPARE_FILE = "compare.nc"
COMPARE_SCENARIOS = ("teacher-student", "random")
PROTOCOL_OF = {"teacher-student": "planted", "random": "learning"}
ANSATZES = ("rs", "krsb", "frsb")
BACKENDS = ("auto", "numpy", "numba")
# simulation observable -> the theory profile it estimates
THEORY_OF = {"teacher_Q": "Q", "teacher_q": "q", "test_overlap": "m_test", "Q_replica": "Q", "q_replica": "q"}
OBSERVABLES = {"teacher-student": ("teacher_Q", "teacher_q", "test_overlap"), "random": ("Q_replica", "q_replica")}


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


@dataclass(frozen=True)
class CompareConfig:
    """One theory-vs-simulation comparison. Invalid values raise ConfigError(field, value, allowed)."""

    scenario: str = "teacher-student"
    L: int = 4
    alpha: float = 2.0
    kappa: float = 0.0
    N_values: tuple[int, ...] = (16, 32, 64)
    n_samples: int = 4
    t_max: int = 300
    R: int = 0
    seed: int = 0
    protocol: str | None = None  # None: planted for teacher-student, learning for random data
    ansatz: str = "rs"
    steps: int = 1
    backend: str = "auto"
    M_test: int = 1000
    per_decade: int = 8
    waiting_time: int = 0

    def __post_init__(self):
        if self.scenario not in COMPARE_SCENARIOS:
            raise ConfigError("scenario", self.scenario, f"one of {', '.join(COMPARE_SCENARIOS)}")
        if not _is_int(self.L) or self.L < 1:
            raise ConfigError("L", self.L, "an integer L >= 1 (weight layers)")
        if not isinstance(self.alpha, (int, float)) or not np.isfinite(self.alpha) or self.alpha <= 0:
            raise ConfigError("alpha", self.alpha, "a finite real number > 0 (load M / N)")
        if not isinstance(self.kappa, (int, float)) or not np.isfinite(self.kappa):
            raise ConfigError("kappa", self.kappa, "a finite real number")
        if self.scenario == "teacher-student" and self.kappa != 0:
            raise ConfigError("kappa", self.kappa, "0 for teacher-student (the Bayes-optimal theory needs it)")
        given = tuple(self.N_values) if isinstance(self.N_values, (list, tuple)) else ()
        values = tuple(int(n) for n in given if _is_int(n))
        if len(values) != len(given) or len(values) < 2 or len(set(values)) != len(values) or min(values) < 2:
            raise ConfigError("N_values", self.N_values,
                              "at least two distinct integers N >= 2 (the fit a + b/N needs two; three give an error bar)")
        object.__setattr__(self, "N_values", tuple(sorted(values)))
        if not _is_int(self.n_samples) or self.n_samples < 2:
            raise ConfigError("n_samples", self.n_samples, "an integer >= 2 (standard errors need two samples)")
        if not _is_int(self.t_max) or self.t_max < 1:
            raise ConfigError("t_max", self.t_max, "an integer >= 1 (MC steps)")
        if not _is_int(self.R) or self.R < 0:
            raise ConfigError("R", self.R, "an integer >= 0 (guest replicas)")
        if self.scenario == "random" and self.R < 2:
            raise ConfigError("R", self.R, "an integer >= 2 for random data (replica overlaps are the observable)")
        if not _is_int(self.seed) or not 0 <= self.seed < SEED_LIMIT:
            raise ConfigError("seed", self.seed, "an integer 0 <= seed < 2**63")
        wanted = PROTOCOL_OF[self.scenario]
        if self.protocol is None:
            object.__setattr__(self, "protocol", wanted)
        elif self.protocol != wanted:
            raise ConfigError("protocol", self.protocol,
                              f"{wanted} for {self.scenario} data (planted needs a teacher; learning from a random "
                              "start gives gauge-dependent teacher overlaps)")
        if self.ansatz not in ANSATZES:
            raise ConfigError("ansatz", self.ansatz, f"one of {', '.join(ANSATZES)}")
        if self.scenario == "teacher-student" and self.ansatz != "rs":
            raise ConfigError("ansatz", self.ansatz, "rs for teacher-student (RS is exact on the Nishimori line)")
        if not _is_int(self.steps) or self.steps < 1:
            raise ConfigError("steps", self.steps, "an integer k >= 1 (k-RSB steps)")
        if self.backend not in BACKENDS:
            raise ConfigError("backend", self.backend, f"one of {', '.join(BACKENDS)}")
        if not _is_int(self.M_test) or self.M_test < 1:
            raise ConfigError("M_test", self.M_test, "an integer >= 1 (fresh test inputs)")
        if not _is_int(self.per_decade) or not 1 <= self.per_decade <= 1000:
            raise ConfigError("per_decade", self.per_decade, "an integer 1 <= per_decade <= 1000")
        if not _is_int(self.waiting_time) or not 0 <= self.waiting_time < self.t_max:
            raise ConfigError("waiting_time", self.waiting_time, f"an integer 0 <= t_w < t_max = {self.t_max}")
        for N in self.N_values:  # every per-N run config must validate (c, M, ...) and fit in memory
            check_run_fits(self.run_config(N))

    # ------------------------------------------------------------------ derived
    def to_dict(self) -> dict:
        out = asdict(self)
        out["N_values"] = list(self.N_values)
        return out

    def seed_for(self, N: int) -> int:
        """The run seed at width N: derived from the one recorded seed, keyed by N (adding an N changes no other run)."""
        return child_seed(self.seed, N)

    def run_config(self, N: int) -> RunConfig:
        return parse_config({
            "seed": self.seed_for(N),
            "network": {"N": int(N), "L": self.L, "kappa": float(self.kappa)},
            "data": {"scenario": self.scenario, "alpha": float(self.alpha),
                     "M_test": self.M_test if self.scenario == "teacher-student" else 0},
            "mc": {"backend": self.backend},
            "run": {"protocol": self.protocol, "t_max": self.t_max, "n_samples": self.n_samples,
                    "per_decade": self.per_decade},
            "replicas": {"R": self.R, "waiting_times": [self.waiting_time]},
        })

    @property
    def observables(self) -> tuple[str, ...]:
        return OBSERVABLES[self.scenario]


# ---------------------------------------------------------------------- theory

def frozen_representation_theory(L: int, alpha: float) -> xr.Dataset:
    """What greedy planted MC at kappa = 0 samples in the dense limit: hidden states frozen at the teacher's,
    each row a Gibbs-learning perceptron at load alpha. Q_l = R_Gibbs(alpha) (the L = 1 Nishimori solution),
    q_l = 1, m_l from the fresh-input recursion."""
    from ..theory import ChainProblem, fresh_input_overlaps, solve

    R = float(solve(ChainProblem("teacher-student", 1, float(alpha)), "rs")["Q"].sel(layer=1))
    Q = np.full(L, R)
    m = fresh_input_overlaps(Q)
    layer = np.arange(L + 1)
    return xr.Dataset({"Q": ("layer", np.concatenate([[np.nan], Q])), "q": ("layer", np.ones(L + 1)),
                       "m_test": ("layer", m)}, coords={"layer": layer},
                      attrs={"R_gibbs": R, "eps_g": float((1 - m[-1]) / 2)})


def chain_theory(config: CompareConfig) -> xr.Dataset:
    """The dense-limit chain solution (Bayes-optimal for teacher-student, RS/RSB for random data)."""
    from ..theory import ChainProblem, solve

    problem = ChainProblem(config.scenario, config.L, float(config.alpha), kappa=float(config.kappa))
    return solve(problem, config.ansatz, steps=config.steps)


# ---------------------------------------------------------------------- extrapolation in 1/N

class InverseNFit(NamedTuple):
    """y(N) = intercept + slope / N by weighted least squares; errors from the fit covariance (not rescaled)."""

    intercept: float
    intercept_err: float
    slope: float
    slope_err: float
    chi2: float
    dof: int


SIGMA_FLOOR = 1e-12  # a point with zero spread (e.g. q_l = 1 exactly in every sample) is weighted as exact


def fit_inverse_n(N, y, sigma) -> InverseNFit:
    """Weighted least squares of y = a + b/N with weights 1/sigma^2.

    Needs two finite points (then dof = 0 and chi2/dof is undefined); with three or more, chi2/dof says
    whether a + b/N describes the data within their errors. NaN values are skipped.
    """
    x = 1.0 / np.asarray(N, dtype=float)
    y = np.asarray(y, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    keep = np.isfinite(y) & np.isfinite(sigma)
    if keep.sum() < 2:
        return InverseNFit(np.nan, np.nan, np.nan, np.nan, np.nan, 0)
    x, y, sigma = x[keep], y[keep], np.maximum(sigma[keep], SIGMA_FLOOR)
    design = np.stack([np.ones_like(x), x], axis=1) / sigma[:, None]
    coef, *_ = np.linalg.lstsq(design, y / sigma, rcond=None)
    r_inv = np.linalg.inv(np.linalg.qr(design, mode="r"))  # cov = (D^T D)^-1 = R^-1 R^-T, stable for tiny sigma
    cov = r_inv @ r_inv.T
    chi2 = float(np.sum(((y - coef[0] - coef[1] * x) / sigma) ** 2))
    return InverseNFit(float(coef[0]), float(np.sqrt(cov[0, 0])), float(coef[1]), float(np.sqrt(cov[1, 1])),
                       chi2, int(len(x) - 2))


# ---------------------------------------------------------------------- simulation profiles

def final_profiles(run: xr.Dataset, observables, waiting_time: int = 0) -> dict[str, xr.DataArray]:
    """Per-sample profiles (sample, layer) at the last measured time; replica overlaps averaged over pairs."""
    last = run.isel(time=-1)
    out = {}
    for name in observables:
        var = last[name]
        if "tw" in var.dims:
            var = var.sel(tw=waiting_time)
        if "pair" in var.dims:
            var = var.mean("pair")
        out[name] = var.transpose("sample", "layer")
    return out


def _mean_sem(var: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error over samples (axis 0), NaN where a layer has no (or one) finite value."""
    values = var.values
    n = np.sum(np.isfinite(values), axis=0)
    with warnings.catch_warnings():  # all-NaN layers (Q at layer 0) are expected
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(values, axis=0)
        sem = np.nanstd(values, axis=0, ddof=1) / np.sqrt(n)
    return mean, np.where(n > 1, sem, np.nan)


# ---------------------------------------------------------------------- the experiment

ProgressCallback = Callable[[int, object], None]


def run_compare(config: CompareConfig, out: str | Path, *, on_progress: ProgressCallback | None = None,
                overwrite: bool = False) -> xr.Dataset:
    """Run (or resume / reuse) the MC at each N into ``out/runs/N<N>``, solve the theory, fit a + b/N.

    ``on_progress(N, event)`` is called with every engine Event of the run at width N. ``overwrite``: rerun
    every N afresh, replacing whatever its run directory holds. Returns the Dataset that is also written
    atomically to ``out/compare.nc``. Holds ``out`` (a second compare into it is refused, naming this one).
    """
    from ..atomic import directory_lock, remove_stale_temporaries

    if not isinstance(config, CompareConfig):
        raise ConfigError("config", type(config).__name__, "a CompareConfig")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError("out", str(out), "a directory (created if missing)")
    theory = chain_theory(config)  # before any MC: a theory that does not converge stops here, nothing written
    frozen = frozen_representation_theory(config.L, config.alpha) if config.scenario == "teacher-student" else None
    with directory_lock(out):
        remove_stale_temporaries(out)  # of a compare.nc write that was killed
        return _run_and_assemble(config, out, theory, frozen, on_progress, overwrite)


def _run_and_assemble(config, out, theory, frozen, on_progress, overwrite) -> xr.Dataset:
    from .runner import run_simulation

    obs_names = list(config.observables)
    L, Ns = config.L, list(config.N_values)
    mean = np.full((len(obs_names), len(Ns), L + 1), np.nan)
    sem = np.full_like(mean, np.nan)
    t_final = np.zeros(len(Ns), dtype=int)
    for k, N in enumerate(Ns):
        callback = None if on_progress is None else (lambda event, N=N: on_progress(N, event))
        run = run_simulation(config.run_config(N), out / "runs" / f"N{N}", on_event=callback, overwrite=overwrite)
        t_final[k] = int(run["time"].values[-1])
        for o, (name, var) in enumerate(final_profiles(run, obs_names, config.waiting_time).items()):
            mean[o, k], sem[o, k] = _mean_sem(var)

    ds = _assemble(config, theory, frozen, obs_names, mean, sem, t_final)
    write_dataset(ds, out / COMPARE_FILE)
    return ds


def _assemble(config, theory, frozen, obs_names, mean, sem, t_final) -> xr.Dataset:
    L, Ns = config.L, list(config.N_values)
    layer = np.arange(L + 1)
    fits = [[fit_inverse_n(Ns, mean[o, :, l], sem[o, :, l]) for l in layer] for o in range(len(obs_names))]
    fit_array = lambda attr: (("observable", "layer"), np.array([[getattr(f, attr) for f in row] for row in fits],
                                                                dtype=float))
    with np.errstate(invalid="ignore", divide="ignore"):
        chi2_dof = np.array([[f.chi2 / f.dof if f.dof > 0 else np.nan for f in row] for row in fits])
    theory_profile = lambda src: np.stack([np.asarray(src[THEORY_OF[n]].values, float) for n in obs_names])
    data = {
        "theory_q": ("layer", np.asarray(theory["q"].values, float)),
        "theory_Q": ("layer", np.asarray(theory["Q"].values, float)),
        "theory": (("observable", "layer"), theory_profile(theory)),
        "sim_mean": (("observable", "N", "layer"), mean),
        "sim_sem": (("observable", "N", "layer"), sem),
        "sim_time": ("N", t_final),
        "extrap": fit_array("intercept"),
        "extrap_err": fit_array("intercept_err"),
        "extrap_slope": fit_array("slope"),
        "extrap_slope_err": fit_array("slope_err"),
        "extrap_chi2": fit_array("chi2"),
        "extrap_chi2_dof": (("observable", "layer"), chi2_dof),
    }
    attrs = {"compare_config": json.dumps(config.to_dict()), "scenario": config.scenario, "L": L,
             "alpha": float(config.alpha), "kappa": float(config.kappa), "t_max": config.t_max,
             "n_samples": config.n_samples, "protocol": config.protocol, "seed": config.seed,
             "run_seeds": json.dumps({str(N): config.seed_for(N) for N in Ns}),
             "ansatz": config.ansatz, "steps": config.steps if config.ansatz == "krsb" else 0,
             "extrap_dof": len(Ns) - 2, "theory_residual": float(theory.attrs.get("residual", np.nan))}
    if config.scenario == "teacher-student":
        data["theory_m"] = ("layer", np.asarray(theory["m_test"].values, float))
        data["theory_eps_g"] = ((), float(theory.attrs["eps_g"]))
        data["frozen_Q"] = ("layer", frozen["Q"].values)
        data["frozen_q"] = ("layer", frozen["q"].values)
        data["frozen_m"] = ("layer", frozen["m_test"].values)
        data["frozen_eps_g"] = ((), float(frozen.attrs["eps_g"]))
        data["theory_frozen"] = (("observable", "layer"), theory_profile(frozen))
        attrs["R_gibbs"] = float(frozen.attrs["R_gibbs"])
        g = obs_names.index("test_overlap")
        attrs["generalization_note"] = ("generalization overlap = test_overlap at layer L; eps_g = (1 - overlap)/2")
        data["sim_eps_g"] = ("N", (1.0 - mean[g, :, L]) / 2.0)
        data["extrap_eps_g"] = ((), (1.0 - fits[g][L].intercept) / 2.0)
        data["extrap_eps_g_err"] = ((), fits[g][L].intercept_err / 2.0)
    return xr.Dataset(data, coords={"observable": obs_names, "N": Ns, "layer": layer}, attrs=attrs)


def open_compare(path: str | Path) -> xr.Dataset:
    """A written comparison (directory or compare.nc) as an in-memory Dataset."""
    path = Path(path)
    file = path if path.suffix == ".nc" else path / COMPARE_FILE
    with xr.open_dataset(file, engine="h5netcdf") as ds:
        return ds.load()


__all__ = ["CompareConfig", "InverseNFit", "chain_theory", "final_profiles", "fit_inverse_n",
           "frozen_representation_theory", "open_compare", "run_compare"]
