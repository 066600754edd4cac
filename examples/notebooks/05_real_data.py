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
# # 5. Real data: the 8x8 digits, unequal layer widths, accuracy and the layer profile
#
# MODEL.md section 3 (extension): the inputs are binarised images (pixel $> $ threshold $\to +1$, else $-1$) of
# width $N_0$, the outputs a $\pm 1$ code of the class of width $N_L$, and the hidden layers keep width $N$. Each
# layer then has its own fan-in $c_l$ ($c_1 = N_0$ when fully connected), its own normalisation $1/\sqrt{c_l}$ in
# the gap $r_i^{\mu,l} = S_i^{\mu,l}\frac{1}{\sqrt{c_l}}\sum_j J_{ij}^l S_j^{\mu,l-1}$, and its own load
# $\alpha_l = M/c_l$. The data set: scikit-learn's 8x8 digits (`[data] source = "digits"`, shipped inside
# scikit-learn, no download), classes 0 versus 1 (docs/real_data.md).
#
# **What the theory does not cover.** The replica theory assumes equal widths and unstructured data; it is not
# applied here. What it suggests qualitatively: the profile is set by the loads $\alpha_l$, freezing starts at the
# boundary layers, a deep network keeps a liquid centre. Real data are studied by simulation: test accuracy and
# the replica overlaps of each layer (which layers are solid, which liquid).

# %% tags=["parameters"]
# Parameters. DEEPGLASS_NOTEBOOK_SMALL=1 (set by `execute.py --small` and the tests) switches to small sizes;
# DEEPGLASS_NOTEBOOK_OUT is where a notebook may write files (default: ./_work/<notebook>, gitignored).
import os
from pathlib import Path

SMALL = os.environ.get("DEEPGLASS_NOTEBOOK_SMALL") == "1"
WORK = Path(os.environ.get("DEEPGLASS_NOTEBOOK_OUT") or "_work/05_real_data")
BACKEND = "numba"   # the compiled CPU engine; "auto" picks JAX when it sees a GPU (importing JAX to find out)

N = 12 if SMALL else 40            # hidden width
L = 3 if SMALL else 6
M = 40 if SMALL else 100           # training images
M_TEST = 100 if SMALL else 150     # held-out test images
T_MAX = 300 if SMALL else 2000
TUNE_STEPS = 100 if SMALL else 300
T_W = 150 if SMALL else 1000       # guests copied from the host here
N_SAMPLES = 2
SEED = 2026

# %%
import numpy as np
import matplotlib.pyplot as plt
import deepglass
from deepglass.experiments import parse_config
from deepglass.experiments.layer_profile import layer_profile, RULE
from deepglass.datasets import load_source, binarise

# %% [markdown]
# ## The data: binarised digits

# %%
source = load_source("digits")
images, labels = source.train.images, source.train.labels
pick = [np.flatnonzero(labels == k)[:4] for k in (0, 1)]
fig, axes = plt.subplots(2, 8, figsize=(10, 2.8))
for row, k in enumerate((0, 1)):
    for j, i in enumerate(pick[k]):
        axes[row, 2 * j].imshow(images[i], cmap="gray_r")
        axes[row, 2 * j + 1].imshow(binarise(images[i:i + 1], source.train.scale, 0.5).reshape(8, 8), cmap="gray_r")
for ax in axes.ravel():
    ax.set_xticks([]), ax.set_yticks([])
axes[0, 0].set_title("raw", fontsize=8)
axes[0, 1].set_title("threshold 0.5", fontsize=8)
plt.tight_layout()
plt.show()
print(f"{images.shape[0]} images of {images.shape[1]}x{images.shape[2]} pixels; classes 0 and 1: "
      f"{int(np.sum(labels == 0))} + {int(np.sum(labels == 1))} images")

# %% [markdown]
# ## The config and the layer widths
#
# The run: the design-space sampler (row moves replaced by single-weight moves with their Hastings factor,
# `proposal = "weight"`, which suit the wide first layer), learning from a random start: greedy descent to a
# solution ($E = 0$), after which the sampler moves inside the design space, the hidden neurons slaved to the
# forward pass. Move sizes adapt during the first `tune_steps` and then freeze. Two guests are copied at $t_w$.

# %%
config = parse_config({
    "seed": SEED,
    "network": {"N": N, "L": L},
    "data": {"scenario": "dataset", "source": "digits", "classes": [0, 1], "threshold": 0.5, "coding": "one-hot",
             "M": M, "M_test": M_TEST},
    "mc": {"sampler": "design-space", "proposal": "weight", "potential": "count", "acceptance": "greedy",
           "tune_steps": TUNE_STEPS, "backend": BACKEND},
    "run": {"protocol": "learning", "hidden_start": "forward", "t_max": T_MAX, "per_decade": 8,
            "n_samples": N_SAMPLES},
    "replicas": {"R": 2, "waiting_times": [T_W]},
})
spec = config.spec()
print("widths N_0 .. N_L:      ", spec.widths)
print("fan-in c_l, l = 1..L:   ", spec.fan_in)
print("loads alpha_l = M / c_l:", tuple(round(a, 3) for a in spec.loads(M)))
assert spec.widths[0] == 64 and spec.widths[-1] == 2, "64 pixels in, one-hot code of 2 classes out"

# %%
run = deepglass.run_simulation(config, WORK / "digits", overwrite=True)
t = run.time.values
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
axes[0].semilogx(t, run.violations.mean("sample"), "k-")
axes[0].set(xlabel="MC steps t", ylabel="violated gaps (host, mean over samples)", title="learning: descent to E = 0")
for name, style in (("train_accuracy", "--"), ("test_accuracy", "-")):
    axes[1].semilogx(t, run[name].mean("sample"), style, label=name.replace("_", " "))
axes[1].axhline(0.5, color="grey", lw=0.5)
axes[1].set(xlabel="MC steps t", ylabel="accuracy", ylim=(0.4, 1.02), title="accuracy (class = argmax of the output fields)")
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %%
acc = run.test_accuracy.isel(time=-1)
print(f"final: violated gaps per sample {float(run.violations.isel(time=-1).mean()):g}, train accuracy "
      f"{float(run.train_accuracy.isel(time=-1).mean()):.3f}, test accuracy {float(acc.mean()):.3f} "
      f"+- {float(acc.std(ddof=1) / np.sqrt(acc.size)):.3f} (over {acc.size} samples)")
assert np.all((run.test_accuracy.values >= 0) & (run.test_accuracy.values <= 1))
if int(run.violations.isel(time=-1).max()) == 0:
    assert float(run.train_accuracy.isel(time=-1).min()) == 1.0, "at E = 0 every training image is classified right"

# %% [markdown]
# ## The layer profile: solid or liquid?
#
# `layer_profile(run)` (the `deepglass profile DIR` command) takes the guest-guest overlaps $q_l$ (hidden neurons)
# and $Q_l$ (weights) at the last time, averaged over samples and guest pairs, and calls a layer **solid** iff the
# overlap still exceeds $1/e$, else **liquid**. `decay` is the overlap at the last time over the overlap a decade
# earlier in $t - t_w$: 1 on a plateau, below 1 while it still decays (then the verdict depends on the run's
# length).

# %%
profile = layer_profile(run)
print("rule:", RULE)
print(profile.to_dataframe().round(3).to_string())

# %%
fig, ax = plt.subplots(figsize=(6, 3.8))
lay = profile.layer.values
ax.errorbar(lay[1:L], profile.q_mean[1:L], profile.q_sem[1:L], fmt="o-", capsize=3, label=r"neurons $q_l$")
ax.errorbar(lay[1:], profile.Q_mean[1:], profile.Q_sem[1:], fmt="s-", capsize=3, label=r"weights $Q_l$")
ax.axhline(np.exp(-1), color="k", ls=":", label="1/e: solid above, liquid below")
ax.set(xlabel="layer l", ylabel="guest-guest overlap at the last time", ylim=(-0.2, 1.05),
       title=f"digits 0/1, M = {M}, N = {N}, L = {L}: test accuracy {profile.attrs['test_accuracy']:.2f}")
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()
assert np.all(np.abs(profile.Q_mean.values[1:]) <= 1) and np.all(np.abs(profile.q_mean.values[1:L]) <= 1)

# %% [markdown]
# What this does and does not show (docs/real_data.md "The design-space sampler on the digits"). At full size
# (widths 64, 40 x 5, 2; M = 100) the design-space sampler stays at $E = 0$ once it gets there, reaches a test
# accuracy of about 0.90 (greedy *local* learning, which never moves a hidden neuron at $E = 0$, stays near
# 0.70), and the hidden layers come out "liquid" (guest-guest overlaps near 0). Two cautions before reading that
# as the liquid centre of the theory: (i) equilibrium is not verified (random or real data have no Nishimori
# test; the overlaps may still be decaying, see `decay`), and (ii) replica overlaps are blind to the gauge images
# (a hidden neuron flipped together with its row and outgoing column is the same network), so $q_l \approx 0$
# can also mean that the guests sit in different gauge images of similar networks. At the small size of the
# tests (N = 12, L = 3, 300 steps) only the mechanics are shown.
#
# Command line: `deepglass config example --scenario dataset > digits.toml`,
# `deepglass simulate examples/digits_M100.toml --out runs/digits_M100` (greedy local learning, ~6 min),
# `deepglass profile runs/digits_M100 --figure profile.png`.
