# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2. Monte Carlo of the design space: a planted teacher-student run
#
# **The ensemble.** For $\kappa \ge 0$ every gap $r \ge \kappa \ge 0$ forces $S^l = \mathrm{sign}(h^l)$: the hidden
# neurons are slaved to the weights by the forward pass, and the theory's uniform measure over the design space
# is the uniform measure over the weights $J$ (each row on its sphere $|J_i|^2 = c$) whose forward pass reproduces
# every training output. The **design-space sampler** (`[mc] sampler = "design-space"`, MODEL.md section 4,
# docs/simulation.md) samples it exactly: it proposes a new row $J_i \to \sqrt c\,(J_i + \delta x)/|J_i + \delta x|$,
# recomputes the forward pass of the patterns it changes, and accepts iff every gap stays $\ge \kappa$.
#
# **Planted start.** With teacher-student data the teacher is itself a sample of that measure (the Bayes-optimal,
# or Nishimori, line), so a student started *at the teacher* starts in equilibrium. In equilibrium the
# student-teacher overlaps equal the student-student overlaps, layer by layer (the Nishimori identity):
#
# $$ \langle Q_l^{\rm st} \rangle = \langle Q_l^{ab} \rangle, \qquad \langle q_l^{\rm st} \rangle = \langle q_l^{ab} \rangle, $$
#
# with $Q_l^{ab} = \frac{1}{Nc}\sum_{ij} J_{ij}^{l,a} J_{ij}^{l,b}$ and $q_l^{ab} = \frac{1}{NM}\sum_{i\mu} S_i^{\mu,l,a} S_i^{\mu,l,b}$.
# The run below tests that identity (with guests copied from the host at $t_w = 0$), measures the relaxation and
# autocorrelation times, and compares with the replica theory ($N \to \infty$).

# %% tags=["parameters"]
# Parameters. DEEPGLASS_NOTEBOOK_SMALL=1 (set by `execute.py --small` and the tests) switches to small sizes;
# DEEPGLASS_NOTEBOOK_OUT is where a notebook may write files (default: ./_work/<notebook>, gitignored).
import os
from pathlib import Path

SMALL = os.environ.get("DEEPGLASS_NOTEBOOK_SMALL") == "1"
WORK = Path(os.environ.get("DEEPGLASS_NOTEBOOK_OUT") or "_work/02_simulation")
BACKEND = "numba"   # the compiled CPU engine; "auto" picks JAX when it sees a GPU (importing JAX to find out)

N, L, ALPHA = 6, 2, 2.0          # the demo's case: above the first crystalline transition pi^2/8 of L = 2
DELTA = 0.6                      # row-move size (acceptance ~0.3 at this M = 12)
N_SAMPLES = 8                    # independent data sets + teachers: the errors are taken over samples
T_MAX = 1000 if SMALL else 60000 # MC steps; the demo's 60000 pass the equilibrium verdict
TRACE_EVERY = 50 if SMALL else 300  # evenly spaced measurements for the autocorrelation times
SEED = 2024

# %%
import json

import numpy as np
import matplotlib.pyplot as plt
import deepglass
from deepglass.experiments import parse_config
from deepglass.experiments.summary import final_summary
from deepglass.theory import ChainProblem, solve

# %% [markdown]
# ## The config
#
# One run config (the same fields as a TOML file for `deepglass simulate`): a planted teacher-student run with
# the design-space sampler, 2 guest replicas copied from the host at $t_w = 0$, log-spaced measurements plus an
# evenly spaced trace for the autocorrelation times.

# %%
config = parse_config({
    "seed": SEED,
    "network": {"N": N, "L": L, "kappa": 0.0},
    "data": {"scenario": "teacher-student", "alpha": ALPHA, "M_test": 1000},
    "mc": {"sampler": "design-space", "acceptance": "greedy", "delta": DELTA, "backend": BACKEND},
    "run": {"protocol": "planted", "t_max": T_MAX, "per_decade": 10, "n_samples": N_SAMPLES,
            "trace_every": TRACE_EVERY},
    "replicas": {"R": 2, "waiting_times": [0]},
})
print(config.to_toml(comments=False))

# %% [markdown]
# `deepglass.run_simulation` is `deepglass simulate` from Python: it writes `run.nc` (an xarray Dataset, replaced
# atomically at every save) and returns the Dataset. Rerunning a completed run does nothing; `overwrite=True`
# replaces a run made with other parameters.

# %%
run = deepglass.run_simulation(config, WORK / "planted", overwrite=True)
print(run)

# %% [markdown]
# ## Overlaps over time
#
# The host is planted at the teacher, so $Q^{\rm st}_l(0) = 1$; it decays as the chain explores the design space.
# The guests are copies of the host at $t_w = 0$, so their mutual overlap also starts at 1. The fresh-input
# overlap of the output layer $m_L$ gives the generalization error $\epsilon_g = (1 - m_L)/2$.

# %%
t = run.time.values
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
for l in range(1, L + 1):
    st = run.teacher_Q.sel(layer=l)
    ss = run.Q_replica.sel(layer=l, tw=0).mean("pair")
    axes[0].semilogx(t, st.mean("sample"), label=f"$Q_{l}$ student-teacher")
    axes[0].semilogx(t, ss.mean("sample"), "--", label=f"$Q_{l}$ student-student")
for l in range(1, L):
    axes[1].semilogx(t, run.teacher_q.sel(layer=l).mean("sample"), label=f"$q_{l}$ student-teacher")
    axes[1].semilogx(t, run.q_replica.sel(layer=l, tw=0).mean("pair").mean("sample"), "--", label=f"$q_{l}$ student-student")
m_L = run.test_overlap.sel(layer=L)
axes[2].semilogx(t, ((1 - m_L) / 2).mean("sample"), "k-")
axes[0].set(xlabel="MC steps t", ylabel="weight overlap", title="weights")
axes[1].set(xlabel="MC steps t", ylabel="neuron overlap (training set)", title="hidden neurons")
axes[2].set(xlabel="MC steps t", ylabel=r"$\epsilon_g = (1 - m_L)/2$", title="generalization error (fresh inputs)")
for ax in axes[:2]:
    ax.axhline(0, color="grey", lw=0.5)
    ax.legend(fontsize=7)
plt.tight_layout()
plt.show()

# %% [markdown]
# Physical sanity checks: the planted host never leaves the design space (greedy acceptance keeps every gap
# $\ge 0$), overlaps are bounded by 1, the output neurons are the data ($q_L = 1$), and $\epsilon_g \in [0, 1/2]$
# up to sampling noise.

# %%
assert int(run.violations.max()) == 0 and float(run.energy.max()) == 0.0, "a planted design-space run stays at E = 0"
assert np.all(np.abs(run.teacher_Q.sel(layer=slice(1, L)).values) <= 1 + 1e-12)
assert np.all(run.teacher_q.sel(layer=L).values == 1.0), "the output layer is the data"
eps_g = float(((1 - m_L.isel(time=-1)) / 2).mean())
assert -0.05 <= eps_g <= 0.55
print(f"final eps_g = {eps_g:.3f}")

# %% [markdown]
# ## Is it equilibrated?
#
# `final_summary(run)` (what `deepglass info` prints) holds the equilibrium verdict (`nishimori`): per layer,
# student-teacher minus student-student overlap with its standard error over samples; the run is called
# equilibrated iff every layer agrees within the verdict threshold (a Student-t quantile, Bonferroni over the
# layers: an equilibrated run fails with probability 1%), no layer's moves are frozen (acceptance $\ge 1\%$), and the
# run lasted at least 10 relaxation times $\tau_l$ of $Q^{\rm st}_l(t)$ in every layer. The `autocorrelation`
# entry gives the integrated autocorrelation times of the evenly spaced trace (Sokal's window; *reliable* only
# when the series is $\ge 50\,\tau$ long).

# %%
summary = final_summary(run)
verdict, acf = summary["nishimori"], summary["autocorrelation"]
for name in ("Q", "q"):
    part = verdict[name]
    for l, st, ss, d, e in zip(part["layers"], part["student_teacher"], part["student_student"],
                               part["difference"], part["error"]):
        print(f"{name}_{l}: student-teacher {st:+.3f}  student-student {ss:+.3f}  difference {d:+.3f} +- {e:.3f}"
              f"  ({abs(d) / e:.1f} errors)")
print("weight-move acceptance per layer:", np.round(verdict["acceptance_weight"], 3))
print("relaxation times tau_Q (MC steps):", np.round(verdict["relaxation_time_Q"], 1), f"; run length t = {verdict['t']}")
print("autocorrelation times (MC steps):", {k: [None if x is None else round(x, 1) for x in acf[k]["tau"]] for k in ("Q", "q")},
      "reliable:", acf["reliable"])
print()
print("EQUILIBRATED" if verdict["equilibrated"] else "NOT EQUILIBRATED", "--", verdict["reason"])

# %% [markdown]
# How to read this. The Nishimori test is a *necessary* condition: two chains that relax slowly in the same way
# can agree early. That is why the verdict also asks for $t \ge 10\,\tau$. At the small size of this notebook
# ($T$ = 1000 steps) the identity holds within errors but the run is only a few relaxation times long, so the
# verdict is **not equilibrated** and its numbers are not equilibrium results. The full size (60000 steps, the
# demo of `make demo`) passes: measured $\tau_Q \approx 250$ steps per layer, and integrated autocorrelation
# times of the trace of 550-760 steps (the convention $1 + 2\sum_t \rho(t)$ counts about twice an exponential
# time), reliable there because the trace after burn-in is more than $50\,\tau$ long. At the small size the
# autocorrelation estimate is flagged unreliable. docs/simulation.md "Measured mixing" shows that for
# $N \ge 20$ no run on a laptop gets there: the sampler's relaxation time grows roughly linearly with $N$.

# %%
assert verdict["equilibrated"] in (True, False)
assert all(a >= 0.01 for a in verdict["acceptance_weight"]), "moves not frozen"
if SMALL:
    assert not verdict["equilibrated"], "1000 steps are < 10 relaxation times: the verdict must say so"

# %% [markdown]
# ## Against the replica theory
#
# On the Nishimori line RS is exact; the theory's student-teacher overlaps are $Q_l, q_l$ of the Bayes-optimal
# chain, and the fresh-input overlaps follow from the jointly Gaussian pre-activations (docs/theory.md section 7):
#
# $$ m_l = \tfrac{2}{\pi} \arcsin(Q_l\, m_{l-1}), \quad m_0 = 1, \qquad \epsilon_g = \frac{\arccos(Q_L m_{L-1})}{\pi}. $$

# %%
theory = solve(ChainProblem("teacher-student", L, ALPHA), "rs")
last = run.isel(time=-1)
def mean_sem(var):
    v = var.transpose("sample", "layer").values
    return v.mean(0), v.std(0, ddof=1) / np.sqrt(v.shape[0])

rows = [("Q_l (student-teacher)", last.teacher_Q, "Q"), ("Q_l gauge-fixed", last.teacher_Q_gauge, "Q"),
        ("q_l (student-teacher)", last.teacher_q, "q"), ("m_l (fresh inputs)", last.test_overlap, "m_test")]
print(f"{'':24s}" + "".join(f"   layer {l}       " for l in range(1, L + 1)))
for label, var, tname in rows:
    mean, sem = mean_sem(var)
    print(f"{label:24s}" + "".join(f"  {mean[l]:+.3f} +- {sem[l]:.3f} " for l in range(1, L + 1)))
    print(f"{'   theory N -> inf':24s}" + "".join(f"  {float(theory[tname].sel(layer=l)):+.3f}          " for l in range(1, L + 1)))
print(f"\neps_g: MC {eps_g:.3f} (N = {N}),  theory {theory.attrs['eps_g']:.3f} (N -> inf)")

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
ok = bool(verdict["equilibrated"])
style = dict(fmt="o", capsize=3) if ok else dict(fmt="x", color="grey")
for ax, (label, var, tname) in zip(axes, [rows[0], rows[2], rows[3]]):
    mean, sem = mean_sem(var)
    ax.plot(theory.layer, theory[tname], "k-", label="theory (N -> inf, RS Bayes-optimal)")
    ax.errorbar(var.layer, mean, yerr=np.nan_to_num(sem), label=f"MC N = {N}" + ("" if ok else " (NOT equilibrated)"), **style)
    ax.set(xlabel="layer l", ylabel=label, ylim=(-0.15, 1.05), xticks=list(range(L + 1)))
    ax.axhline(0, color="grey", lw=0.5)
axes[0].legend(fontsize=7)
plt.tight_layout()
plt.show()

# %% [markdown]
# What the comparison shows, plainly (docs/experiments.md "The demo"):
#
# * **Gauge images.** Flipping a hidden neuron together with its row and outgoing column leaves the design space
#   unchanged. At $N = 6$ the chain visits these images, so $Q_l, q_l$ average to $\approx 0$, while the theory's
#   crystal ($Q_l > 0$) is the symmetry-broken $N \to \infty$ state. The profiles cannot be compared at this $N$.
#   The gauge-fixed overlaps (maximised over signs and permutations, `observables.fix_gauge`) are biased upward by
#   $\sim\sqrt{\log N / N}$, as large as the signal here.
# * **The output overlap is gauge invariant**, and a 6-wide student generalizes far *better* than the
#   $N \to \infty$ theory ($\epsilon_g \approx 0.27$ against $0.49$ at full size): finite-width effects are large.
# * Taking $N$ up needs the sweep of notebook 3 and its $1/N$ extrapolation, with only equilibrated points.
#
# The same from the command line: `deepglass demo --out demo_out` (this run at full size, with figures), and
# `deepglass info DIR` for the verdict of any run.
