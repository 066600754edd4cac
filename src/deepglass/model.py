"""The network of MODEL.md section 2 and the data scenarios of section 3.

One definition of each formula that theory and simulation share: the network spec (N, L, c, kappa),
the load alpha = M / c, the sparse connectivity, the spherical normalisation, the local field and
gap, the forward pass and the three data scenarios.

Array conventions (leading batch axes ``...`` allowed everywhere):
  neurons  S[l]  : (..., M, N) int8 in {-1, +1}, l = 0..L
  weights  J     : (..., L, N, c) float64, row (l, i) holds the c weights of perceptron (l+1, i)
  inputs   idx   : (..., L, N, c) int, neuron of layer l read by slot k of perceptron (l+1, i);
                   None when fully connected (c = N, slot k reads neuron k).
Unequal widths (input N_0 = N_in, hidden N, output N_L = N_out; MODEL.md section 3, real data): layer l has
N_l neurons and its perceptrons read c_l = fan_in[l-1] neurons (dense: c_l = N_{l-1}; sparse: c for every layer).
The stacked arrays are then padded to W = max width with zeros: J (..., L, W, C) holds layer
l's weights in [..., l-1, :N_l, :c_l] (C = W when fully connected, else c), idx likewise, and per-layer lists of neurons keep their own widths.
Equal widths have W = N, C = c: exactly the arrays above.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np

from .errors import ConfigError

# Allowed values, listed once: the Literal types (config schema) and the tuples (checks, messages) are one list.
Scenario = Literal["random", "teacher-student", "hidden-manifold", "dataset"]
Potential = Literal["soft", "hinge", "count"]
SCENARIOS: tuple[str, ...] = get_args(Scenario)
"""The data scenarios of MODEL.md section 3 (`[data] scenario`)."""
POTENTIALS: tuple[str, ...] = get_args(Potential)
"""The potentials V(r) of the learning dynamics (MODEL.md section 4; `potential_function`)."""


@dataclass(frozen=True)
class NetworkSpec:
    """Layers 0..L of Ising neurons: input N_in, hidden N, output N_out wide (N_in, N_out None: N); each
    perceptron reads c neurons of the layer below (None: all of them, fully connected). MODEL.md section 2.

    Parameters
    ----------
    N : int
        Neurons per hidden layer (and per input / output layer unless N_in / N_out), N >= 1.
    L : int
        Weight layers, L >= 1: layer 0 is the input, layer L the output, 1..L-1 hidden.
    c : int, optional
        Fan-in of every perceptron, 1 <= c <= N (None or N: fully connected; c < N: c inputs drawn at random
        once per network).
    kappa : float
        Margin: a solution has every gap r >= kappa (0 by default).
    N_in : int, optional
        Input width N_0 (None: N).
    N_out : int, optional
        Output width N_L (None: N).
    """

    N: int
    L: int
    c: int | None = None  # None or N: fully connected
    kappa: float = 0.0
    N_in: int | None = None   # input width N_0 (None: N)
    N_out: int | None = None  # output width N_L (None: N)

    def __post_init__(self):
        if not isinstance(self.N, (int, np.integer)) or self.N < 1:
            raise ConfigError("N", self.N, "an integer >= 1 (neurons per layer)")
        if not isinstance(self.L, (int, np.integer)) or self.L < 1:
            raise ConfigError("L", self.L, "an integer >= 1 (number of weight layers)")
        for name in ("N_in", "N_out"):
            value = getattr(self, name)
            if value is None:
                object.__setattr__(self, name, int(self.N))
            elif not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(name, value, "an integer >= 1 (neurons of the input / output layer), or unset = N")
        object.__setattr__(self, "_sparse", self.c is not None and self.c != self.N)
        if self.c is None:
            object.__setattr__(self, "c", int(self.N))
        below = self.N if self.uniform or not self._sparse else min(self.widths[:-1])
        if not isinstance(self.c, (int, np.integer)) or not 1 <= self.c <= below:
            raise ConfigError("c", self.c, f"an integer with 1 <= c <= {below} "
                                           "(the narrowest layer below a perceptron), or unset for fully connected")
        if not np.isfinite(self.kappa):
            raise ConfigError("kappa", self.kappa, "a finite real number (gap threshold)")

    @property
    def uniform(self) -> bool:
        """Every layer N wide (the theory's network; the arrays of the module docstring, unpadded)."""
        return self.N_in == self.N and self.N_out == self.N

    @property
    def widths(self) -> tuple[int, ...]:
        """N_l for l = 0..L: (N_in, N, ..., N, N_out)."""
        return (int(self.N_in), *([int(self.N)] * (self.L - 1)), int(self.N_out))

    @property
    def fan_in(self) -> tuple[int, ...]:
        """c_l for l = 1..L: the width below (dense) or c (sparse)."""
        if self.uniform:
            return (int(self.c),) * self.L
        return tuple(int(self.c) if self._sparse else w for w in self.widths[:-1])

    @property
    def width_max(self) -> int:
        """W: the padded neuron axis of stacked arrays."""
        return max(self.widths)

    @property
    def slots(self) -> int:
        """C: the slot axis of stacked weights J (..., L, W, C): W when fully connected (slot k reads neuron k),
        else c. Equal widths: c."""
        return int(self.c) if self._sparse or self.uniform else self.width_max

    @property
    def dense(self) -> bool:
        return not self._sparse

    def loads(self, M: int) -> tuple[float, ...]:
        """alpha_l = M / c_l for l = 1..L."""
        return tuple(M / c for c in self.fan_in)

    def n_patterns(self, alpha: float) -> int:
        """M = round(alpha c), at least 1."""
        return max(1, int(round(alpha * self.c)))

    def load(self, M: int) -> float:
        """alpha = M / c."""
        return M / self.c

    @property
    def n_weights(self) -> int:
        if self.uniform:
            return self.L * self.N * self.c
        return sum(n * c for n, c in zip(self.widths[1:], self.fan_in))

    def n_hidden_neurons(self, M: int) -> int:
        return (self.L - 1) * self.N * M


def check_alpha(alpha: float, name: str = "alpha") -> float:
    """``alpha`` as a float if it is a finite load M / c > 0, else a ConfigError naming ``name``."""
    if not np.isfinite(alpha) or alpha <= 0:
        raise ConfigError(name, alpha, "a finite real number > 0 (load M / c)")
    return float(alpha)


# --------------------------------------------------------------------------- weights and fields

def draw_connectivity(spec: NetworkSpec, rng: np.random.Generator, batch: tuple[int, ...] = ()):
    """Random c-subsets of the layer below for every perceptron; None when fully connected."""
    if spec.dense:
        return None
    if spec.uniform:
        shape = (*batch, spec.L, spec.N)
        keys = rng.random((*shape, spec.N))
        return np.sort(np.argsort(keys, axis=-1)[..., : spec.c], axis=-1).astype(np.intp)
    idx = np.zeros((*batch, spec.L, spec.width_max, spec.c), dtype=np.intp)   # padded rows read neuron 0 (J = 0)
    for l in range(spec.L):
        keys = rng.random((*batch, spec.widths[l + 1], spec.widths[l]))
        idx[..., l, : spec.widths[l + 1], :] = np.sort(np.argsort(keys, axis=-1)[..., : spec.c], axis=-1)
    return idx


def normalise_rows(J: np.ndarray) -> np.ndarray:
    """Rescale every row to squared norm c (its length): the spherical constraint, exactly."""
    c = J.shape[-1]
    return J * np.sqrt(c / np.sum(J * J, axis=-1, keepdims=True))


def random_weights(spec: NetworkSpec, rng: np.random.Generator, batch: tuple[int, ...] = ()) -> np.ndarray:
    """Gaussian rows normalised to norm c: the uniform measure on each row's sphere (zero padding, unequal widths)."""
    if spec.uniform:
        return normalise_rows(rng.standard_normal((*batch, spec.L, spec.N, spec.c)))
    J = np.zeros((*batch, spec.L, spec.width_max, spec.slots))
    for l, (n, c) in enumerate(zip(spec.widths[1:], spec.fan_in)):
        J[..., l, :n, :c] = normalise_rows(rng.standard_normal((*batch, n, c)))
    return J


def layer_weights(J: np.ndarray, idx: np.ndarray | None, l: int, spec: NetworkSpec | None = None):
    """Weights (..., N_l, c_l) and connectivity of weight layer l (0-based: perceptrons of layer l+1), unpadded."""
    J_l, idx_l = J[..., l, :, :], None if idx is None else idx[..., l, :, :]
    if spec is None or spec.uniform:
        return J_l, idx_l
    n, c = spec.widths[l + 1], spec.fan_in[l]
    return J_l[..., :n, :c], None if idx_l is None else idx_l[..., :n, :c]


def random_spins(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Independent uniform Ising spins +-1 of the given shape (int8)."""
    return (2 * rng.integers(0, 2, size=shape, dtype=np.int8) - 1).astype(np.int8, copy=False)


def gather_inputs(S_prev: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
    """(..., M, N) neurons of layer l-1 -> (..., M, N, c) the inputs each perceptron reads (sparse only)."""
    if idx is None:
        raise ValueError("gather_inputs is for sparse networks")
    batch = S_prev.shape[:-2]
    Sf = S_prev.reshape(-1, *S_prev.shape[-2:])
    If = idx.reshape(-1, *idx.shape[-2:])
    out = np.stack([s[:, i] for s, i in zip(Sf, If)])
    return out.reshape(*batch, *out.shape[1:])


def local_field(J_l: np.ndarray, S_prev: np.ndarray, idx_l: np.ndarray | None = None) -> np.ndarray:
    """Local fields h_i^mu = (1/sqrt c) sum_k J_ik S^mu_{idx(i,k)} of one layer.

    Parameters
    ----------
    J_l : numpy.ndarray, shape (..., N, c)
        The layer's weights (row i: perceptron i).
    S_prev : numpy.ndarray, shape (..., M, N)
        Neurons of the layer below.
    idx_l : numpy.ndarray, shape (..., N, c), optional
        Which neurons each perceptron reads (None: dense, c = N).

    Returns
    -------
    numpy.ndarray, shape (..., M, N)
        The fields, float.
    """
    c = J_l.shape[-1]
    if idx_l is None:
        return np.matmul(S_prev.astype(J_l.dtype), np.swapaxes(J_l, -1, -2)) / np.sqrt(c)
    return np.einsum("...mnk,...nk->...mn", gather_inputs(S_prev, idx_l), J_l) / np.sqrt(c)


def gap(J_l: np.ndarray, S_prev: np.ndarray, S_l: np.ndarray, idx_l: np.ndarray | None = None) -> np.ndarray:
    """Gaps r_i^{mu,l} = S_i^{mu,l} h_i^{mu,l} of one layer (MODEL.md section 2): >= kappa in the design space.

    Parameters
    ----------
    J_l : numpy.ndarray, shape (..., N, c)
        The layer's weights.
    S_prev : numpy.ndarray, shape (..., M, N)
        Neurons of the layer below.
    S_l : numpy.ndarray, shape (..., M, N)
        Neurons of the layer (+-1).
    idx_l : numpy.ndarray, shape (..., N, c), optional
        Sparse connectivity (None: dense).

    Returns
    -------
    numpy.ndarray, shape (..., M, N)
        The gaps, float.
    """
    return S_l * local_field(J_l, S_prev, idx_l)


def sign(x: np.ndarray) -> np.ndarray:
    """Sign activation with sign(0) = +1, as int8."""
    return np.where(x >= 0, 1, -1).astype(np.int8)


def forward(J: np.ndarray, S0: np.ndarray, idx: np.ndarray | None = None,
            spec: NetworkSpec | None = None) -> list[np.ndarray]:
    """Forward pass S^l = sign(h^l) of a sign-activation network (sign(0) = +1).

    Parameters
    ----------
    J : numpy.ndarray, shape (..., L, N, c)
        Weights (padded (..., L, W, C) when the widths differ: pass ``spec``).
    S0 : numpy.ndarray, shape (..., M, N_0)
        Inputs (+-1).
    idx : numpy.ndarray, shape (..., L, N, c), optional
        Sparse connectivity (None: dense).
    spec : NetworkSpec, optional
        Needed for padded weights of unequal layer widths.

    Returns
    -------
    list of numpy.ndarray
        [S^0, S^1, ..., S^L], layer l of shape (..., M, N_l), int8 +-1.
    """
    return [sign(h) if l else h for l, h in enumerate(forward_fields(J, S0, idx, spec))]


def forward_fields(J: np.ndarray, S0: np.ndarray, idx: np.ndarray | None = None,
                   spec: NetworkSpec | None = None) -> list[np.ndarray]:
    """[S^0, h^1, ..., h^L]: the local fields of the forward pass (h^L: the output layer's, read out on real data)."""
    out = [np.asarray(S0, dtype=np.int8)]
    S_prev = out[0]
    for l in range(J.shape[-3]):
        J_l, idx_l = layer_weights(J, idx, l, spec)
        if spec is not None and not spec.uniform:
            S_prev = S_prev[..., : spec.widths[l]]
        out.append(local_field(J_l, S_prev, idx_l))
        S_prev = sign(out[-1])
    return out


def layer_gaps(J: np.ndarray, layers, idx: np.ndarray | None, spec: NetworkSpec) -> list[np.ndarray]:
    """Gaps r^{mu,l} for l = 1..L, each (..., M, N_l): J padded (..., L, W, C), layers[l] (..., M, >= N_l)."""
    out = []
    for l in range(spec.L):
        J_l, idx_l = layer_weights(J, idx, l, spec)
        out.append(gap(J_l, layers[l][..., : spec.widths[l]], layers[l + 1][..., : spec.widths[l + 1]], idx_l))
    return out


# --------------------------------------------------------------------------- data scenarios

@dataclass
class Teacher:
    """A network of the same architecture that labels the data."""

    J: np.ndarray  # (..., L, N, c)
    idx: np.ndarray | None


@dataclass
class TrainingSet:
    """M input/output pairs, plus the teacher and its hidden states where the scenario has one."""

    inputs: np.ndarray  # (..., M, N) int8, layer 0
    outputs: np.ndarray  # (..., M, N) int8, layer L
    idx: np.ndarray | None  # connectivity shared by teacher and student
    teacher: Teacher | None = None
    teacher_layers: list[np.ndarray] | None = None  # teacher's S^0..S^L on the training inputs
    manifold: np.ndarray | None = None  # hidden-manifold F, (..., N, D)
    extra: dict = field(default_factory=dict)


def sample_inputs(spec: NetworkSpec, M: int, rng: np.random.Generator, batch: tuple[int, ...] = (),
                  manifold: np.ndarray | None = None) -> np.ndarray:
    """Fresh inputs: uniform +-1, or sign(F z) with z ~ N(0, 1_D) on a hidden manifold F."""
    if manifold is None:
        return random_spins(rng, (*batch, M, spec.N_in))
    D = manifold.shape[-1]
    z = rng.standard_normal((*batch, M, D))
    return sign(np.matmul(z, np.swapaxes(manifold, -1, -2)))


def make_training_set(spec: NetworkSpec, scenario: str, M: int, rng: np.random.Generator,
                      batch: tuple[int, ...] = (), D: int | None = None) -> TrainingSet:
    """Draw one training set per batch element (independent samples of the disorder; MODEL.md section 3).

    Parameters
    ----------
    spec : NetworkSpec
        The architecture (teacher and student share it and its connectivity).
    scenario : {"random", "teacher-student", "hidden-manifold"}
        Random +-1 inputs and outputs; outputs of a random teacher; or teacher outputs on inputs
        sign(F z) of a hidden manifold F of dimension D (real data: `deepglass.datasets`).
    M : int
        Training pairs, M >= 1 (M = round(alpha c)).
    rng : numpy.random.Generator
        The data stream.
    batch : tuple of int
        Leading batch shape (e.g. (n_samples,)).
    D : int, optional
        Hidden-manifold dimension, 1 <= D <= N_0.

    Returns
    -------
    TrainingSet
        ``inputs`` (..., M, N_0) and ``outputs`` (..., M, N_L) int8, the connectivity ``idx``, and for the
        teacher scenarios the ``teacher`` and its layers ``teacher_layers`` on the training inputs.
    """
    if scenario not in SCENARIOS or scenario == "dataset":
        raise ConfigError("scenario", scenario, f"one of {', '.join(s for s in SCENARIOS if s != 'dataset')} "
                                                "(dataset: deepglass.datasets)")
    if not isinstance(M, (int, np.integer)) or M < 1:
        raise ConfigError("M", M, "an integer >= 1 (number of training patterns)")
    idx = draw_connectivity(spec, rng, batch)
    if scenario == "random":
        return TrainingSet(random_spins(rng, (*batch, M, spec.N_in)), random_spins(rng, (*batch, M, spec.N_out)), idx)
    manifold = None
    if scenario == "hidden-manifold":
        if D is None or not isinstance(D, (int, np.integer)) or not 1 <= D <= spec.N_in:
            raise ConfigError("D", D, f"an integer with 1 <= D <= N = {spec.N_in} (effective data dimension)")
        manifold = rng.standard_normal((*batch, spec.N_in, D))
    teacher = Teacher(random_weights(spec, rng, batch), idx)
    inputs = sample_inputs(spec, M, rng, batch, manifold)
    layers = forward(teacher.J, inputs, idx, spec)
    return TrainingSet(inputs, layers[-1], idx, teacher, layers, manifold)


# --------------------------------------------------------------------------- the potential V(r) of MODEL.md section 4

def potential_function(name: str, kappa: float, xp=np):
    """V(r) for an array of gaps r: soft (kappa-r)^2, hinge (kappa-r), count 1, each times theta(kappa - r).

    xp: the array module (numpy; jax.numpy for the JAX kernels, which need traceable functions).
    """
    kappa = float(kappa)
    if name == "soft":
        def V(r):
            d = xp.minimum(r - kappa, 0.0)
            return d * d
    elif name == "hinge":
        def V(r):
            return xp.maximum(kappa - r, 0.0)
    elif name == "count":
        def V(r):
            return (r < kappa).astype(r.dtype)
    else:
        raise ConfigError("potential", name, f"one of {', '.join(POTENTIALS)}")
    return V
