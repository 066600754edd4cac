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
# # 1. The replica theory of a deep perceptron chain
#
# A feed-forward network of $L$ weight layers, $N$ Ising neurons per layer ($S_i^{\mu,l} = \pm 1$) and
# spherical weights ($\sum_j (J_{ij}^l)^2 = c$) must reproduce $M = \alpha c$ input/output pairs: every gap
# $r_i^{\mu,l} = S_i^{\mu,l} \frac{1}{\sqrt c}\sum_j J_{ij}^l S_j^{\mu,l-1} \ge \kappa$. The *design space* is the
# set of all weights and hidden states that do so. In the tree (dense-limit) approximation of MODEL.md section 5
# its replicated free entropy per $Nc$ is
#
# $$ s = \sum_{l=1}^{L} s_J(Q^l) + \alpha \sum_{l=1}^{L-1} s_S(q^l) + \alpha \sum_{l=1}^{L} s_{\rm gap}(q^{l-1}\circ Q^l \circ q^l), $$
#
# with $Q^l$ the weight overlaps, $q^l$ the neuron overlaps and $q^0 = q^L = 1$ (all replicas share the data).
# This notebook solves it with the public API `deepglass.theory`:
#
# 1. replica-symmetric (RS) profiles $Q_l, q_l$ at several loads $\alpha$;
# 2. the glass transitions $\alpha_g(l)$ (layer $l$ leaves the liquid $q_l = Q_l = 0$) and how they grow with $l$;
# 3. the Parisi functions $q(x, l)$ from $k$-step and full replica symmetry breaking.
#
# Derivations: `docs/theory.md` (sections 1-7 for RS, R1-R9 for RSB).

# %% tags=["parameters"]
# Parameters. DEEPGLASS_NOTEBOOK_SMALL=1 (set by `execute.py --small` and the tests) switches to small sizes;
# DEEPGLASS_NOTEBOOK_OUT is where a notebook may write files (default: ./_work/<notebook>, gitignored).
import os
from pathlib import Path

SMALL = os.environ.get("DEEPGLASS_NOTEBOOK_SMALL") == "1"
WORK = Path(os.environ.get("DEEPGLASS_NOTEBOOK_OUT") or "_work/01_replica_theory")

L_PROFILE = 6 if SMALL else 10                       # depth of the chain whose profiles we draw
ALPHAS = [1.0, 3.0, 10.0, 30.0] if SMALL else [1.0, 3.0, 10.0, 30.0, 100.0, 300.0]
L_TRANSITIONS = 12 if SMALL else 20                  # the fronts do not depend on L until they meet
ALPHA_MAX = 400.0 if SMALL else 12000.0              # scan of alpha_g(l) up to this load
RSB = [("krsb", 1)] if SMALL else [("krsb", 1), ("krsb", 2), ("frsb", None)]
L_RSB, ALPHA_RSB = 2, 3.0                            # RS is unstable there (docs/theory.md R8)

# %%
import numpy as np
import matplotlib.pyplot as plt
from deepglass.theory import ChainProblem, solve, solve_curve, find_transitions, liquid_threshold

# %% [markdown]
# ## 1. RS profiles at several loads
#
# With replica symmetry every overlap matrix has one off-diagonal value, and the saddle point of $s$ is a chain of
# coupled scalar equations (docs/theory.md section 2): for random data ($n \to 0$)
#
# $$ \frac{Q_l}{(1-Q_l)^2} = \alpha\, \hat c(c_l)\, q_{l-1} q_l, \qquad q_l = \mathbb E_z \tanh^2\!\big(\sqrt{\epsilon_l}\, z\big), \qquad c_l = q_{l-1} Q_l q_l . $$
#
# `solve_curve` solves the chain at each load, warm-started from the previous one, and returns an xarray Dataset
# with dimensions `alpha` and `layer` (variables `Q`: weight layers 1..L, NaN at layer 0; `q`: neuron layers 0..L).

# %%
curve = solve_curve(ChainProblem("random", L=L_PROFILE, alpha=ALPHAS[0]), ALPHAS, "rs")
print(curve[["Q", "q"]].round(4).to_dataframe().unstack("layer").to_string(max_cols=30))

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
for a in ALPHAS:
    sol = curve.sel(alpha=a)
    axes[0].plot(sol.layer[1:], sol.Q[1:], "o-", label=rf"$\alpha$ = {a:g}")
    axes[1].plot(sol.layer, sol.q, "o-", label=rf"$\alpha$ = {a:g}")
axes[0].set(xlabel="weight layer l", ylabel=r"$Q_l$", title=f"weights, random data, L = {L_PROFILE}")
axes[1].set(xlabel="neuron layer l", ylabel=r"$q_l$", title="neurons ($q_0 = q_L = 1$: the data)")
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# The layers next to the input and the output freeze first; the centre stays liquid ($q_l = Q_l = 0$ exactly: the
# liquid is a fixed point, and the solver keeps it only where it is linearly stable). The profiles are symmetric
# under $l \to L - l$: a property of the tree approximation, not of the network. Sanity checks on what was printed:

# %%
assert np.all((curve.Q.values[:, 1:] >= 0) & (curve.Q.values[:, 1:] < 1)), "Q_l must lie in [0, 1)"
assert np.all((curve.q.values >= 0) & (curve.q.values <= 1)), "q_l must lie in [0, 1]"
assert np.allclose(curve.Q.values[:, 1:], curve.Q.values[:, :0:-1]), "tree theory: left-right symmetric"
assert np.all(np.diff(curve.Q.sel(layer=1).values) > 0), "Q_1 grows with the load"
for a in ALPHAS:
    sol = curve.sel(alpha=a)
    print(f"alpha = {a:6g}: free entropy per N c = {float(sol.free_entropy):9.4f}, "
          f"replicon_chain = {float(sol.replicon_chain):7.3f} ({'RS stable' if sol.replicon_chain > 0 else 'RS unstable'})")

# %% [markdown]
# Below the first transition every layer is liquid and the free entropy is exactly
# $\alpha[(L-1)\log 2 + L \log H(\kappa)]$ ($= -\alpha \log 2$ at $\kappa = 0$); above it the chain replicon
# (`replicon_chain`, $1 - $ spectral radius of the replicon operator) turns negative: the frozen boundary layers
# need replica symmetry breaking, the liquid centre does not (docs/theory.md section 6).

# %%
liquid = curve.sel(alpha=ALPHAS[0])
print("alpha = 1 free entropy:", float(liquid.free_entropy), " exact liquid value:", -ALPHAS[0] * np.log(2))
assert abs(float(liquid.free_entropy) + ALPHAS[0] * np.log(2)) < 1e-8

# %% [markdown]
# ## 2. The transitions $\alpha_g(l)$ and their growth with depth
#
# Linearising the saddle point around the liquid gives a non-negative operator whose spectral radius crosses 1 at
# the transition (docs/theory.md section 4). With $m^2 = 2/\pi$ at $\kappa = 0$: the boundary pairs leave at
# $\alpha_g(1) = 1/m^4 = \pi^2/4$, and layer $l$ leaves once $\alpha\, m^4 q_{l-1}(\alpha)^2 = 1$.
# `find_transitions` scans $\alpha$ with warm starts and root-finds each crossing.

# %%
tr = find_transitions(ChainProblem("random", L=L_TRANSITIONS, alpha=1.0), alpha_max=ALPHA_MAX)
growth = tr.as_dict()
# the left front, strictly left of the centre where the two fronts meet (the right front mirrors it)
layers = np.array(growth["fit_power"]["layers"])
a_g = tr.alpha_g_weights[layers - 1]
found = np.isfinite(a_g)
for l, a in zip(layers, a_g):
    print(f"alpha_g({l}) = {a:10.4f}")
print("pi^2/4 =", np.pi**2 / 4, "; liquid_threshold(L, kappa=0) =", liquid_threshold(L_TRANSITIONS, 0.0))
fe, fp = growth["fit"], growth["fit_power"]
print(f"exponential log alpha_g = a + l/xi:    xi = {growth['xi']:.3f}, a = {fe['a']:.3f}, rms = {fe['rms']:.3f}, R^2 = {fe['r2']:.4f}")
print(f"power law   log alpha_g = a + b log l: b = {fp['b']:.3f}, a = {fp['a']:.3f}, rms = {fp['rms']:.3f}, R^2 = {fp['r2']:.4f}")
print("local lengths xi_l = 1/(log alpha_g(l+1) - log alpha_g(l)):",
      [None if x is None else round(x, 3) for x in growth["xi_local"]])

# %%
assert abs(a_g[0] - np.pi**2 / 4) < 1e-6, "alpha_g(1) = pi^2/4 exactly (kappa = 0)"
assert np.all(np.diff(a_g[found]) > 0), "the front moves inward: alpha_g(l) increases with l"
assert found.sum() >= 3

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
l_fit = layers
axes[0].semilogy(layers[found], a_g[found], "ko", label=r"$\alpha_g(l)$")
axes[0].semilogy(l_fit, np.exp(growth["fit"]["a"] + l_fit / growth["xi"]), "--", label=rf"exp(l/$\xi$), $\xi$ = {growth['xi']:.2f}")
axes[0].semilogy(l_fit, np.exp(growth["fit_power"]["a"]) * l_fit ** growth["fit_power"]["b"], ":",
                 label=rf"power law $l^{{{growth['fit_power']['b']:.2f}}}$")
axes[0].set(xlabel="layer l", ylabel=r"$\alpha_g(l)$", title=f"random data, L = {L_TRANSITIONS}")
axes[0].legend(fontsize=8)
axes[1].loglog(layers[found], a_g[found], "ko")
axes[1].loglog(l_fit, np.exp(growth["fit_power"]["a"]) * l_fit ** growth["fit_power"]["b"], ":", color="tab:orange")
axes[1].set(xlabel="layer l (log)", ylabel=r"$\alpha_g(l)$", title="the same on log-log axes")
plt.tight_layout()
plt.show()

# %% [markdown]
# What it shows (docs/theory.md section 4.1): the fronts move inward, and $\alpha_g(l)$ grows *slower* than
# exponentially: the local length $\xi_l$ keeps growing, and a power law $\alpha_g \sim l^{b}$ with $b \approx 4$
# fits with half the rms residual of $\exp(l/\xi)$. So the frozen thickness grows faster than $\log\alpha$ in
# the RS tree theory. At full size the scan reaches $l = 9$ ($\alpha_g(8) = 7264$, $\alpha_g(9) = 11596$, the values of
# docs/theory.md section 4.1); the small version stops at $l = 4$.

# %% [markdown]
# ## 3. Replica symmetry breaking: $q(x, l)$
#
# Above $\alpha_g(1)$ the RS saddle is unstable. The $k$-RSB ansatz makes every overlap a Parisi step function
# $q(x, l)$, $x \in [0, 1]$, with $k+1$ levels shared breakpoints across layers; full RSB makes it continuous
# (the Parisi PDE, docs/theory.md R1-R5). The element-wise product of Parisi matrices is a Parisi matrix, so
# $c_l(x) = q_{l-1}(x)\, Q_l(x)\, q_l(x)$. We solve a chain where RS is unstable: $L = 2$, $\alpha = 3$.

# %%
problem = ChainProblem("random", L=L_RSB, alpha=ALPHA_RSB)
solutions = {"RS": solve(problem, "rs")}
for ansatz, steps in RSB:
    name = f"{steps}RSB" if ansatz == "krsb" else "full RSB"
    solutions[name] = solve(problem, ansatz, steps=steps) if steps else solve(problem, ansatz)
for name, sol in solutions.items():
    print(f"{name:9s} free entropy = {sol.attrs['free_entropy']:.7f}   q_1(EA) = {float(sol.q.sel(layer=1)):.4f}"
          f"   Q_1(EA) = {float(sol.Q.sel(layer=1)):.4f}")
print("RS replicon_chain =", round(solutions["RS"].attrs["replicon_chain"], 4), "(< 0: RS unstable)")

# %% [markdown]
# The RS replicon is negative, and each step of RSB changes the free entropy by less and less
# (for $n \to 0$ the saddle is a *minimum* in the overlaps, so $s$ decreases: docs/theory.md R8 has
# $-2.095231$ (RS), $-2.095978$ (1RSB), $-2.095994$ (2RSB), $-2.0959950$ (full RSB)).

# %%
names = list(solutions)
s = np.array([solutions[n].attrs["free_entropy"] for n in names])
assert solutions["RS"].attrs["replicon_chain"] < 0, "RS unstable at L = 2, alpha = 3"
assert np.all(np.diff(s) < 1e-9), "each RSB step lowers the n -> 0 free entropy"
for name in names[1:]:
    qx = solutions[name].q_x.sel(layer=1).values
    assert np.all((qx >= 0) & (qx <= 1)) and np.all(np.diff(qx) >= -1e-9), "q(x) is non-decreasing in [0, 1]"

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
for name in names[1:]:
    sol = solutions[name]
    axes[0].plot(sol.x, sol.q_x.sel(layer=1), label=name, drawstyle="steps-post" if "full" not in name else "default")
    axes[1].plot(sol.x, sol.Q_x.sel(layer=1), label=name, drawstyle="steps-post" if "full" not in name else "default")
axes[0].axhline(float(solutions["RS"].q.sel(layer=1)), color="k", ls=":", label="RS")
axes[1].axhline(float(solutions["RS"].Q.sel(layer=1)), color="k", ls=":", label="RS")
axes[0].set(xlabel="x", ylabel=r"$q(x, l=1)$", title=f"hidden neurons, L = {L_RSB}, alpha = {ALPHA_RSB:g}")
axes[1].set(xlabel="x", ylabel=r"$Q(x, l=1)$", title="first weight layer")
axes[0].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# The hierarchy: a fraction of pairs of solutions sit at a small overlap (the lower plateau), the rest inside
# one state (the Edwards-Anderson value, the top of $q(x)$). `solve(problem, "krsb", steps=k)` returns the levels
# (`q_levels`, `Q_levels`), the breakpoints and the functions on an $x$ grid (`q_x`, `Q_x`); `"frsb"` the
# continuous functions. Command-line equivalents:
#
# ```
# deepglass theory --scenario random --depth 10 --alpha 30 --ansatz rs --format json
# deepglass transitions --scenario random --depth 20 --alpha-max 30000 --format json
# deepglass theory --scenario random --depth 2 --alpha 3 --ansatz krsb --steps 2 --format json
# ```
