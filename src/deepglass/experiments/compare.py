"""Theory vs simulation in the same ensemble: the dense-limit replica profiles beside Monte Carlo of the
design space (MODEL.md sections 4, 5, 7; docs/experiments.md "Theory vs simulation", docs/theory.md
"Comparing with simulation").

The MC is the exact T = 0 sampler of the design space (``sampler = "design-space"``: hidden neurons slaved
to the forward pass, the theory's measure); ``sampler = "local"`` keeps the learning dynamics (which, at
kappa >= 0, never moves a hidden neuron from a solution and so samples only the teacher's internal
representations: not the theory's ensemble, kept for comparison with the original study's codes).
Regime where the tree theory claims exactness: sparse networks at fixed c (``c_values``) with N growing,
extrapolated N -> infinity at fixed c by a weighted fit a + b/N, then c -> infinity by A + B/c. With no
``c_values`` the networks are dense (c = N) and the extrapolation also measures the loop corrections.

Teacher-student: planted (the student starts at the teacher, an equilibrium sample) against the
Bayes-optimal RS chain. Random data: learning from a random start, R >= 2 guests copied from the host at
t_w (once it is a solution), replica overlaps against RS, or k-RSB where RS is unstable (``ansatz = "auto"``).
Every (c, N) point carries an equilibrium verdict (teacher-student: the Nishimori identity per layer and the
relaxation times, experiments.summary.equilibrium_verdict; random data: host solved at t_w and the replica
overlaps on their plateau). Points that are not shown to be equilibrated are excluded from every fit and
marked in tables and figures.
"""
from __future__ import annotations

import functools
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
from ..mc.variables import with_dims
from .store import write_dataset
from .summary import FALSE_ALARM, second_half, time_average, verdict_threshold
from .variables import COMPARE_VARIABLES

COMPARE_FILE = "compare.nc"
COMPARE_SCENARIOS = ("teacher-student", "random")
PROTOCOL_OF = {"teacher-student": "planted", "random": "learning"}
ANSATZES = ("auto", "rs", "krsb", "frsb")
BACKENDS = ("auto", "numpy", "numba")
SAMPLERS = ("design-space", "local")
PROPOSALS = ("billiard", "row", "weight")
DENSE = 0   # the c coordinate of dense networks (c = N at every N)
# simulation observable -> the theory profile it estimates
THEORY_OF = {"teacher_Q": "Q", "teacher_q": "q", "test_overlap": "m_test", "Q_replica": "Q", "q_replica": "q",
             "teacher_Q_gauge": "Q", "teacher_q_gauge": "q", "teacher_q2": "q2"}
# the gauge-fixed overlaps (observables.fix_gauge) are the finite-N estimators of the theory's symmetry-broken
# Q_l, q_l (the plain ones average to ~0 once the chain visits the teacher's gauge images); both are kept
# teacher_q2 (observables.squared_neuron_overlap) estimates q_l^2 with no sign gauge and an O(1/c) null: the
# hidden-layer test of sparse networks, where the gauge-fixed |q| carries a ~sqrt(2/(pi M)) bias at M = alpha c
OBSERVABLES = {"teacher-student": ("teacher_Q", "teacher_q", "test_overlap", "teacher_Q_gauge", "teacher_q_gauge",
                                   "teacher_q2"),
               "random": ("Q_replica", "q_replica")}
# verdict codes of a (c, N) point
EQUILIBRATED, NOT_EQUILIBRATED, UNDECIDED, NOT_RUN = 1, 0, -1, -2
VERDICT_NAMES = {EQUILIBRATED: "equilibrated", NOT_EQUILIBRATED: "NOT equilibrated", UNDECIDED: "undecided",
                 NOT_RUN: "not run (N < c)"}


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _int_tuple(field: str, given, allowed: str, minimum: int, at_least: int) -> tuple[int, ...]:
    seq = tuple(given) if isinstance(given, (list, tuple)) else None
    values = tuple(int(n) for n in seq if _is_int(n)) if seq is not None else ()
    if (seq is None or len(values) != len(seq) or len(values) < at_least or len(set(values)) != len(values)
            or (values and min(values) < minimum)):
        raise ConfigError(field, given, allowed)
    return tuple(sorted(values))


@dataclass(frozen=True)
class CompareConfig:
    """One theory-vs-simulation comparison. Invalid values raise ConfigError(field, value, allowed)."""

    scenario: str = "teacher-student"
    L: int = 2
    alpha: float = 3.0
    kappa: float = 0.0
    N_values: tuple[int, ...] = (8, 12, 16)
    c_values: tuple[int, ...] = ()    # () = dense networks (c = N); else sparse, c inputs per perceptron
    n_samples: int = 8
    t_max: int = 2000
    R: int = 2
    seed: int = 0
    protocol: str | None = None  # None: planted for teacher-student, learning for random data
    ansatz: str = "auto"         # teacher-student: rs (exact on the Nishimori line); random: rs, or krsb if unstable
    steps: int = 1
    backend: str = "auto"
    M_test: int = 1000
    per_decade: int = 8
    waiting_time: int = 0
    sampler: str = "design-space"
    # design-space proposal: None = billiard where it applies (planted, kappa >= 0: L = 1 mixes in ~3 steps at every N,
    # L >= 2 ~10x fewer steps than rows; benchmarks/RESULTS.md), else row
    proposal: str | None = None
    delta: float = 0.2

    def __post_init__(self):
        if self.scenario not in COMPARE_SCENARIOS:
            raise ConfigError("scenario", self.scenario, f"one of {', '.join(COMPARE_SCENARIOS)}")
        if not _is_int(self.L) or self.L < 1:
            raise ConfigError("L", self.L, "an integer L >= 1 (weight layers)")
        if not isinstance(self.alpha, (int, float)) or not np.isfinite(self.alpha) or self.alpha <= 0:
            raise ConfigError("alpha", self.alpha, "a finite real number > 0 (load M / c)")
        if not isinstance(self.kappa, (int, float)) or not np.isfinite(self.kappa):
            raise ConfigError("kappa", self.kappa, "a finite real number")
        if self.scenario == "teacher-student" and self.kappa != 0:
            raise ConfigError("kappa", self.kappa, "0 for teacher-student (the Bayes-optimal theory needs it)")
        object.__setattr__(self, "N_values", _int_tuple(
            "N_values", self.N_values,
            "at least two distinct integers N >= 2 (the fit a + b/N needs two; three give chi2/dof)", 2, 2))
        object.__setattr__(self, "c_values", _int_tuple(
            "c_values", self.c_values, "distinct integers c >= 2 (empty: dense, c = N)", 2, 0))
        for c in self.c_values:
            if sum(N >= c for N in self.N_values) < 2:
                raise ConfigError("c_values", list(self.c_values),
                                  f"values c with at least two N_values >= c (c = {c} has fewer)")
        if not _is_int(self.n_samples) or self.n_samples < 2:
            raise ConfigError("n_samples", self.n_samples, "an integer >= 2 (standard errors need two samples)")
        if not _is_int(self.t_max) or self.t_max < 1:
            raise ConfigError("t_max", self.t_max, "an integer >= 1 (MC steps)")
        if not _is_int(self.R) or self.R < 2:
            raise ConfigError("R", self.R, "an integer >= 2 (guest replicas: the equilibrium verdict and the random-data "
                                           "overlaps need two)")
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
        if self.scenario == "teacher-student" and self.ansatz not in ("auto", "rs"):
            raise ConfigError("ansatz", self.ansatz, "auto or rs for teacher-student (RS is exact on the Nishimori line)")
        if not _is_int(self.steps) or not 1 <= self.steps <= 6:
            raise ConfigError("steps", self.steps, "an integer 1 <= k <= 6 (k-RSB steps)")
        if self.backend not in BACKENDS:
            raise ConfigError("backend", self.backend, f"one of {', '.join(BACKENDS)}")
        if not _is_int(self.M_test) or self.M_test < 1:
            raise ConfigError("M_test", self.M_test, "an integer >= 1 (fresh test inputs)")
        if not _is_int(self.per_decade) or not 1 <= self.per_decade <= 1000:
            raise ConfigError("per_decade", self.per_decade, "an integer 1 <= per_decade <= 1000")
        if not _is_int(self.waiting_time) or not 0 <= self.waiting_time < self.t_max:
            raise ConfigError("waiting_time", self.waiting_time, f"an integer 0 <= t_w < t_max = {self.t_max}")
        if self.sampler not in SAMPLERS:
            raise ConfigError("sampler", self.sampler, f"one of {', '.join(SAMPLERS)} (design-space: the theory's measure)")
        if self.proposal is None:
            object.__setattr__(self, "proposal", "billiard" if self.sampler == "design-space" and self.kappa >= 0
                               and self.protocol == "planted" else "row")
        if self.proposal not in PROPOSALS:
            raise ConfigError("proposal", self.proposal, f"one of {', '.join(PROPOSALS)}")
        if self.proposal == "billiard" and (self.sampler != "design-space" or self.kappa < 0
                                            or self.protocol != "planted"):
            raise ConfigError("proposal", self.proposal, "row or weight unless sampler = design-space, kappa >= 0 and "
                                                         "planted (teacher-student: the billiard moves inside the design "
                                                         "space)")
        if (isinstance(self.delta, bool) or not isinstance(self.delta, (int, float)) or not np.isfinite(self.delta)
                or not 0 < self.delta <= 10):
            raise ConfigError("delta", self.delta, "a real number with 0 < delta <= 10 (weight move size)")
        for c, N in self.points:  # every per-point run config must validate (c, M, ...) and fit in memory
            check_run_fits(self.run_config(N, c))

    # ------------------------------------------------------------------ derived
    def to_dict(self) -> dict:
        out = asdict(self)
        out["N_values"], out["c_values"] = list(self.N_values), list(self.c_values)
        return out

    @property
    def sparse(self) -> bool:
        return bool(self.c_values)

    @property
    def c_coords(self) -> tuple[int, ...]:
        """The c coordinate of the results: the c values, or (DENSE,) for dense networks."""
        return self.c_values or (DENSE,)

    @property
    def points(self) -> list[tuple[int, int]]:
        """(c, N) of every run (c = DENSE for dense networks), N >= c."""
        return [(c, N) for c in self.c_coords for N in self.N_values if c == DENSE or N >= c]

    def seed_for(self, N: int, c: int = DENSE) -> int:
        """The run seed at (c, N): derived from the one recorded seed, keyed by N (and c), so adding a point
        changes no other run."""
        return child_seed(self.seed, N) if c == DENSE else child_seed(child_seed(self.seed, 1_000_000 + c), N)

    def run_dir(self, N: int, c: int = DENSE) -> str:
        return f"N{N}" if c == DENSE else f"c{c}_N{N}"

    def run_config(self, N: int, c: int = DENSE) -> RunConfig:
        network = {"N": int(N), "L": self.L, "kappa": float(self.kappa)}
        if c != DENSE:
            network["c"] = int(c)
        return parse_config({
            "seed": self.seed_for(N, c),
            "network": network,
            "data": {"scenario": self.scenario, "alpha": float(self.alpha),
                     "M_test": self.M_test if self.scenario == "teacher-student" else 0},
            "mc": {"backend": self.backend, "sampler": self.sampler, "delta": float(self.delta),
                   **({"proposal": self.proposal} if self.sampler == "design-space" else {})},
            "run": {"protocol": self.protocol, "t_max": self.t_max, "n_samples": self.n_samples,
                    "per_decade": self.per_decade},
            "replicas": {"R": self.R, "waiting_times": [self.waiting_time]},
        })

    @property
    def observables(self) -> tuple[str, ...]:
        return OBSERVABLES[self.scenario]


# ---------------------------------------------------------------------- theory

def chain_theory(config: CompareConfig) -> xr.Dataset:
    """The dense-limit chain solution: Bayes-optimal RS for teacher-student; for random data RS, and with
    ansatz "auto" k-RSB (config.steps) when the RS solution is unstable (replicon_chain < 0)."""
    return _chain_theory(config.scenario, config.L, float(config.alpha), float(config.kappa), config.ansatz,
                         config.steps).copy(deep=True)


@functools.lru_cache(maxsize=64)
def _chain_theory(scenario: str, L: int, alpha: float, kappa: float, ansatz: str, steps: int) -> xr.Dataset:
    """chain_theory's solve, remembered per process (a rerun of the same comparison, or the reproduce panel's
    loads, solves each chain once)."""
    from ..theory import ChainProblem, solve

    problem = ChainProblem(scenario, L, alpha, kappa=kappa)
    if ansatz in ("auto", "rs") or scenario == "teacher-student":
        rs = solve(problem, "rs")
        replicon = float(rs.attrs.get("replicon_chain", np.nan))
        if ansatz == "rs" or scenario == "teacher-student" or not replicon < 0:
            return rs.assign_attrs(ansatz_used="rs", rs_replicon_chain=replicon)
        return solve(problem, "krsb", steps=steps).assign_attrs(ansatz_used=f"{steps}rsb", rs_replicon_chain=replicon)
    out = solve(problem, ansatz, steps=steps)
    return out.assign_attrs(ansatz_used=ansatz if ansatz == "frsb" else f"{steps}rsb")


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

def equilibrium_profiles(run: xr.Dataset, observables, waiting_time: int = 0) -> dict[str, xr.DataArray]:
    """Per-sample profiles (sample, layer): each sample's time average over the measurements in the second half
    of its run after the waiting time, t >= t_w + (T - t_w)/2 (replica overlaps also averaged over pairs).

    At equilibrium every such measurement samples the same measure, so the average has the last snapshot's mean
    and a smaller spread over samples; the standard error over samples (independent data sets) stays the honest
    error whatever the correlation between the averaged times. Only equilibrated points enter the fits, and the
    equilibrium verdict is computed over the same second half."""
    late = second_half(run, waiting_time)
    out = {}
    for name in observables:
        if name not in late and name.endswith("_gauge"):   # a run stored before gauge fixing existed: NaN
            var = late[name[: -len("_gauge")]] * np.nan
        else:
            var = late[name]
        if "tw" in var.dims:
            var = var.sel(tw=waiting_time)
        if "pair" in var.dims:
            var = var.mean("pair")
        out[name] = time_average(var).transpose("sample", "layer")
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


def replica_plateau_check(run: xr.Dataset, waiting_time: int) -> dict:
    """The equilibrium verdict of a random-data run (no Nishimori identity there): every host solved at the
    waiting time (the guests are copies of a solution) and at the end, and the guests' overlaps Q_l, q_l on
    their plateau: per sample the change between the lag (T - t_w)/2 and T is within ``summary.verdict_threshold``
    standard errors (over samples; family-wise false alarm 1%) in every layer. A weaker test than Nishimori's (a slow drift can pass it); says so."""
    times = run["time"].values
    T = int(times[-1])
    half = waiting_time + (T - waiting_time) / 2
    mid = int(times[np.argmin(np.abs(times - half))])
    solved_tw = bool((run["violations"].sel(time=times[times >= max(waiting_time, 1)][0]) == 0).all()) \
        if waiting_time > 0 else False
    solved_end = bool((run["violations"].isel(time=-1) == 0).all())
    L = run.sizes["layer"] - 1
    threshold = verdict_threshold(run.sizes["sample"], 2 * L - 1)   # one test per Q_l and hidden q_l
    out = {"t": T, "t_mid": mid, "t_w": waiting_time, "solved_at_tw": solved_tw, "solved_at_end": solved_end,
           "threshold": threshold, "false_alarm": FALSE_ALARM}
    ok = solved_tw and solved_end and mid > waiting_time and mid < T
    for name in ("Q_replica", "q_replica"):
        late = run[name].sel(time=T, tw=waiting_time).mean("pair")
        early = run[name].sel(time=mid, tw=waiting_time).mean("pair")
        d = (late - early).dropna("layer", how="all")
        d = d.sel(layer=[l for l in d["layer"].values if np.isfinite(d.sel(layer=l)).all()
                         and np.any(d.sel(layer=l) != 0)])
        if d.sizes["layer"] == 0:
            continue
        diff = d.mean("sample").values
        err = d.std("sample", ddof=1).values / np.sqrt(d.sizes["sample"])
        ok = ok and bool(np.all(np.abs(diff) <= threshold * err))
        out[name] = {"layers": [int(l) for l in d["layer"].values], "drift": diff.tolist(), "error": err.tolist()}
    out["equilibrated"] = ok
    if not solved_tw:
        out["reason"] = (f"not every host had solved the data at t_w = {waiting_time} (greedy descent from a random "
                         "start can stall): the guests are not copies of a solution: NOT equilibrated (use a later "
                         "waiting time or a lower load)")
    elif not solved_end:
        out["reason"] = "a host left or never reached the design space: NOT equilibrated"
    else:
        out["reason"] = (f"replica overlaps on their plateau within {threshold:.2f} errors (a stationarity test, weaker than "
                         "Nishimori's)" if ok else "replica overlaps still drift: NOT equilibrated")
    return out


def point_verdict(run: xr.Dataset, config: CompareConfig) -> dict:
    """The equilibrium verdict of one (c, N) run: the stored Nishimori verdict (teacher-student) or the
    plateau test (random data)."""
    from .summary import stored_nishimori

    if config.scenario == "teacher-student":
        verdict = stored_nishimori(run)
        return verdict if verdict is not None else {"equilibrated": None, "reason": "no verdict"}
    return replica_plateau_check(run, config.waiting_time)


def _verdict_code(verdict: dict) -> int:
    value = verdict.get("equilibrated")
    return UNDECIDED if value is None else (EQUILIBRATED if value else NOT_EQUILIBRATED)


# ---------------------------------------------------------------------- the experiment

ProgressCallback = Callable[[int, object], None]


def run_compare(config: CompareConfig, out: str | Path, *, on_progress: ProgressCallback | None = None,
                overwrite: bool = False) -> xr.Dataset:
    """Run (or resume / reuse) the MC at each (c, N) into ``out/runs/<N..|c.._N..>``, solve the theory, fit.

    Every point gets an equilibrium verdict; the a + b/N fits use the equilibrated points only
    (docs/experiments.md). Holds ``out`` (a second compare into it is refused, naming this one).

    Parameters
    ----------
    config : CompareConfig
        Scenario, depth L, load alpha, widths N (and fan-ins c), MC length, samples, sampler, theory ansatz.
    out : str or path
        Output directory: ``out/compare.nc`` and one run directory per point under ``out/runs``.
    on_progress : callable, optional
        ``on_progress(N, event)`` with every engine Event of the run at width N.
    overwrite : bool
        Rerun every point afresh, replacing whatever its run directory holds.

    Returns
    -------
    xarray.Dataset
        The comparison, also written atomically to ``out/compare.nc``: dims ``observable``, ``c``, ``N``,
        ``layer``; variables ``theory``, ``sim_mean``, ``sim_sem``, ``equilibrated``, the fits ``extrap*`` and
        ``final``: each with dims and meaning on the docs' "Dataset variables" page (``COMPARE_VARIABLES``).
    """
    from ..atomic import directory_lock, remove_stale_temporaries

    if not isinstance(config, CompareConfig):
        raise ConfigError("config", type(config).__name__, "a CompareConfig")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError("out", str(out), "a directory (created if missing)")
    theory = chain_theory(config)  # before any MC: a theory that does not converge stops here, nothing written
    with directory_lock(out):
        remove_stale_temporaries(out)  # of a compare.nc write that was killed
        return _run_and_assemble(config, out, theory, on_progress, overwrite)


def _run_and_assemble(config, out, theory, on_progress, overwrite) -> xr.Dataset:
    from .runner import run_simulation

    obs_names = list(config.observables)
    L, Ns, cs = config.L, list(config.N_values), list(config.c_coords)
    shape = (len(cs), len(Ns))
    mean = np.full((len(obs_names), *shape, L + 1), np.nan)
    sem = np.full_like(mean, np.nan)
    nish = np.full((2, *shape, L + 1), np.nan)        # (difference, error) of Q per layer (Nishimori / drift)
    nish_q = np.full((2, *shape, L + 1), np.nan)      # the same for q
    tau = np.full((*shape, L + 1), np.nan)
    verdict = np.full(shape, NOT_RUN, dtype=np.int8)
    reasons = np.full(shape, VERDICT_NAMES[NOT_RUN], dtype=object)
    t_final = np.zeros(shape, dtype=int)
    for (c, N) in config.points:
        i, k = cs.index(c), Ns.index(N)
        callback = None if on_progress is None else (lambda event, N=N: on_progress(N, event))
        run = run_simulation(config.run_config(N, c), out / "runs" / config.run_dir(N, c), on_event=callback,
                             overwrite=overwrite)
        t_final[i, k] = int(run["time"].values[-1])
        for o, (name, var) in enumerate(equilibrium_profiles(run, obs_names, config.waiting_time).items()):
            mean[o, i, k], sem[o, i, k] = _mean_sem(var)
        v = point_verdict(run, config)
        verdict[i, k], reasons[i, k] = _verdict_code(v), str(v.get("reason", ""))
        for target, key in ((nish, "Q"), (nish_q, "q"), (nish, "Q_replica"), (nish_q, "q_replica")):
            part = v.get(key)
            if isinstance(part, dict):
                d = part.get("difference", part.get("drift"))
                for l, dl, el in zip(part["layers"], d, part["error"]):
                    target[:, i, k, l] = (np.nan if dl is None else dl, np.nan if el is None else el)
        for l, t in enumerate(v.get("relaxation_time_Q") or [], start=1):
            tau[i, k, l] = np.nan if t is None else t

    ds = _assemble(config, theory, obs_names, mean, sem, t_final, verdict, reasons, nish, nish_q, tau)
    write_dataset(ds, out / COMPARE_FILE)
    return ds


def theory_of(theory: xr.Dataset, observable: str) -> np.ndarray:
    """The theory profile (layer,) a simulation observable estimates (THEORY_OF; "q2" is q_l squared)."""
    name = THEORY_OF[observable]
    return np.asarray(theory["q"].values, float) ** 2 if name == "q2" else np.asarray(theory[name].values, float)


def _fit_arrays(x, mean, sem, use):
    """fit_inverse_n along axis -2 of (..., x, layer) arrays, using only points where ``use`` (..., x)."""
    lead = mean.shape[:-2]
    n_layer = mean.shape[-1]
    keys = ("intercept", "intercept_err", "slope", "slope_err", "chi2", "dof")
    out = {k: np.full((*lead, n_layer), np.nan) for k in keys}
    out["n_points"] = np.zeros((*lead, n_layer), dtype=int)
    for idx in np.ndindex(*lead):
        keep = use[idx[len(lead) - use.ndim + 1:]] if use.ndim > 1 else use
        for l in range(n_layer):
            y = np.where(keep, mean[idx][:, l], np.nan)
            fit = fit_inverse_n(x, y, sem[idx][:, l])
            for key in keys:
                out[key][idx + (l,)] = getattr(fit, key)
            out["n_points"][idx + (l,)] = int(np.sum(np.isfinite(y) & np.isfinite(sem[idx][:, l])))
    with np.errstate(invalid="ignore", divide="ignore"):
        out["chi2_dof"] = np.where(out["dof"] > 0, out["chi2"] / np.where(out["dof"] > 0, out["dof"], 1), np.nan)
    return out


def _assemble(config, theory, obs_names, mean, sem, t_final, verdict, reasons, nish, nish_q, tau) -> xr.Dataset:
    L, Ns, cs = config.L, list(config.N_values), list(config.c_coords)
    layer = np.arange(L + 1)
    O = len(obs_names)
    # N -> infinity at each c, equilibrated points only
    fits_N = [[None] * len(cs) for _ in range(O)]
    fN = {k: np.full((O, len(cs), L + 1), np.nan) for k in ("intercept", "intercept_err", "slope", "slope_err",
                                                             "chi2", "chi2_dof")}
    fN["n_points"] = np.zeros((O, len(cs), L + 1), dtype=int)
    for o in range(O):
        for i in range(len(cs)):
            res = _fit_arrays(np.asarray(Ns), mean[o, i][None], sem[o, i][None], verdict[i] == EQUILIBRATED)
            for key in fN:
                fN[key][o, i] = res[key][0]
    theory_profile = np.stack([theory_of(theory, n) for n in obs_names])
    data = {   # dims: experiments.variables.COMPARE_VARIABLES
        "theory_q": np.asarray(theory["q"].values, float),
        "theory_Q": np.asarray(theory["Q"].values, float),
        "theory": theory_profile,
        "sim_mean": mean,
        "sim_sem": sem,
        "sim_time": t_final,
        "equilibrated": verdict.astype(np.int8),
        "verdict_reason": reasons.astype(str),
        "nishimori_Q_diff": nish[0],
        "nishimori_Q_err": nish[1],
        "nishimori_q_diff": nish_q[0],
        "nishimori_q_err": nish_q[1],
        "relaxation_time_Q": tau,
        "extrap": fN["intercept"],
        "extrap_err": fN["intercept_err"],
        "extrap_slope": fN["slope"],
        "extrap_slope_err": fN["slope_err"],
        "extrap_chi2": fN["chi2"],
        "extrap_chi2_dof": fN["chi2_dof"],
        "extrap_n_points": fN["n_points"],
    }
    # then c -> infinity (sparse, two or more c): A + B/c through the N -> infinity values
    final, final_err = fN["intercept"][:, 0].copy(), fN["intercept_err"][:, 0].copy()
    if config.sparse and len(cs) >= 2:
        fc = {k: np.full((O, L + 1), np.nan) for k in ("intercept", "intercept_err", "slope", "chi2_dof")}
        for o in range(O):
            for l in layer:
                fit = fit_inverse_n(cs, fN["intercept"][o, :, l], fN["intercept_err"][o, :, l])
                fc["intercept"][o, l], fc["intercept_err"][o, l], fc["slope"][o, l] = \
                    fit.intercept, fit.intercept_err, fit.slope
                fc["chi2_dof"][o, l] = fit.chi2 / fit.dof if fit.dof > 0 else np.nan
        data |= {"extrap_c": fc["intercept"],
                 "extrap_c_err": fc["intercept_err"],
                 "extrap_c_slope": fc["slope"],
                 "extrap_c_chi2_dof": fc["chi2_dof"]}
        final, final_err = fc["intercept"], fc["intercept_err"]
    elif len(cs) > 1:
        final, final_err = np.full_like(final, np.nan), np.full_like(final, np.nan)
    data["final"] = final
    data["final_err"] = final_err
    n_eq = int(np.sum(verdict == EQUILIBRATED))
    attrs = {"compare_config": json.dumps(config.to_dict()), "scenario": config.scenario, "L": L,
             "alpha": float(config.alpha), "kappa": float(config.kappa), "t_max": config.t_max,
             "n_samples": config.n_samples, "protocol": config.protocol, "seed": config.seed,
             "sampler": config.sampler, "proposal": config.proposal, "delta": float(config.delta), "R": config.R,
             "sparse": int(config.sparse), "c_note": "c = 0 labels dense networks (c = N)",
             "run_seeds": json.dumps({config.run_dir(N, c): config.seed_for(N, c) for c, N in config.points}),
             "ansatz": str(theory.attrs.get("ansatz_used", config.ansatz)),
             "steps": config.steps if "rsb" in str(theory.attrs.get("ansatz_used", "")) else 0,
             "rs_replicon_chain": float(theory.attrs.get("rs_replicon_chain", np.nan)),
             "n_points": len(config.points), "n_equilibrated": n_eq,
             "verdict_codes": json.dumps({str(k): v for k, v in VERDICT_NAMES.items()}),
             "final_note": ("final = N -> inf extrapolation of the equilibrated points" +
                            (", then c -> inf (A + B/c)" if config.sparse and len(cs) >= 2 else "")),
             "theory_residual": float(theory.attrs.get("residual", np.nan))}
    if config.scenario == "teacher-student":
        g = obs_names.index("test_overlap")
        data["theory_m"] = np.asarray(theory["m_test"].values, float)
        data["theory_eps_g"] = float(theory.attrs["eps_g"])
        attrs["generalization_note"] = "generalization overlap = test_overlap at layer L; eps_g = (1 - overlap)/2"
        data["sim_eps_g"] = (1.0 - mean[g, :, :, L]) / 2.0
        data["sim_eps_g_sem"] = sem[g, :, :, L] / 2.0
        data["extrap_eps_g"] = (1.0 - fN["intercept"][g, :, L]) / 2.0
        data["extrap_eps_g_err"] = fN["intercept_err"][g, :, L] / 2.0
        data["final_eps_g"] = float((1.0 - final[g, L]) / 2.0)
        data["final_eps_g_err"] = float(final_err[g, L] / 2.0)
    return xr.Dataset(with_dims(data, COMPARE_VARIABLES, "compare"),
                      coords={"observable": obs_names, "c": cs, "N": Ns, "layer": layer}, attrs=attrs)


def open_compare(path: str | Path) -> xr.Dataset:
    """A written comparison (directory or compare.nc) as an in-memory Dataset.

    Parameters
    ----------
    path : str or path
        The ``out`` directory of `run_compare` (``deepglass compare --out``) or its ``compare.nc``.

    Returns
    -------
    xarray.Dataset
        As `run_compare` returns it.
    """
    path = Path(path)
    file = path if path.suffix == ".nc" else path / COMPARE_FILE
    with xr.open_dataset(file, engine="h5netcdf") as ds:
        return ds.load()


__all__ = ["CompareConfig", "InverseNFit", "chain_theory", "equilibrium_profiles", "fit_inverse_n", "open_compare",
           "point_verdict", "replica_plateau_check", "run_compare"]
