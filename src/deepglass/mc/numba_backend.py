"""Optional numba backend: the same two sub-steps as numpy_backend.py, compiled, plus a fused MC step.

It consumes the same random numbers and applies the same state updates with the same floating-point
formulas; only the order of summation in dE differs (rounding level), so for a given seed the two
backends follow the same trajectory except at exact rounding ties (tests/test_mc_engine.py checks it).
The NumPy backend remains the reference definition.

Speed (benchmarks/RESULTS.md): ``fused_step`` runs a whole MC step of every system in one compiled call,
systems in parallel (numba.prange; serial when B == 1 or one thread), each system's schedule of
sub-steps run in order inside, so no Python runs per move or per sub-step. The kernels are generated
once per (potential, acceptance rule, Hastings factor, parallel) so V(r) is a branch-free min/max that
vectorises along the contiguous neuron axis; only the sums giving dE are reassociated (fastmath
'reassoc'), which changes dE at rounding level and nothing else.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from .params import MCParams

_KERNELS: dict = {}
_REDUCE = {"reassoc", "nsz"}  # may reorder the dE sums (vectorised reductions); never contracts or approximates


def _potential(pot: str):
    """V(r) of params.potential_function, as a scalar compiled function without branches."""
    if pot == "soft":
        @numba.njit(inline="always")
        def V(r, kappa):
            d = min(r - kappa, 0.0)
            return d * d
    elif pot == "hinge":
        @numba.njit(inline="always")
        def V(r, kappa):
            return max(kappa - r, 0.0)
    else:
        @numba.njit(inline="always")
        def V(r, kappa):
            return 1.0 if r < kappa else 0.0
    return V


def kernels(pot: str, greedy: bool, exact_sphere: bool, parallel: bool):
    """Compiled (neuron_substep, weight_substep, fused_step) for one potential and acceptance rule."""
    key = (pot, greedy, exact_sphere, parallel)
    if key not in _KERNELS:
        _KERNELS[key] = _make_kernels(pot, greedy, exact_sphere, parallel)
    return _KERNELS[key]


def _make_kernels(pot: str, greedy: bool, exact_sphere: bool, parallel: bool):
    V = _potential(pot)
    need_uw = exact_sphere or not greedy

    @numba.njit(inline="always")
    def accept(dE, u, log_ratio, use_ratio, beta):
        """params.accept for one proposal (u unused by greedy moves without a Hastings factor)."""
        if greedy:
            if dE > 0.0:
                return False
            return (not use_ratio) or math.log(u) < log_ratio
        log_a = -beta * dE
        if use_ratio:
            log_a = log_a + log_ratio
        if u == 0.0:
            return True
        return math.log(u) < log_a

    @numba.njit(inline="always")
    def flip_cost(s_next, h_next, w_row, f, kappa):
        """Change of sum_k V over the gaps of the next layer when h_next += f * w_row (k contiguous)."""
        acc = 0.0
        for k in range(s_next.shape[0]):
            sk = s_next[k]
            ro = sk * h_next[k]
            rn = sk * (w_row[k] * f) + ro
            acc += V(rn, kappa) - V(ro, kappa)
        return acc

    @numba.njit(fastmath=_REDUCE)
    def neuron_system(S, h, Wt, b, layers, choice, uniform, counts, inv_sqrt_c, kappa, beta):
        """One neuron sub-step of system b: choice[a, m] is the proposed neuron of layer layers[a], pattern m."""
        nl, M = choice.shape
        N = S.shape[-1]
        for a in range(nl):
            l = layers[a]
            for m in range(M):
                i = choice[a, m]
                s = S[b, l, m, i]
                r_own = s * h[b, l, m, i]
                f = (-2.0 * inv_sqrt_c) * s
                # terms with J = 0 (sparse) add exactly 0, so every k is summed: no branch in the loop
                dE = V(-r_own, kappa) - V(r_own, kappa)
                dE += flip_cost(S[b, l + 1, m], h[b, l + 1, m], Wt[b, l, i], f, kappa)
                u = 0.5 if greedy else uniform[a, m]
                if accept(dE, u, 0.0, False, beta):
                    S[b, l, m, i] = -s
                    hn = h[b, l + 1, m]
                    w_row = Wt[b, l, i]
                    for k in range(N):
                        hn[k] += w_row[k] * f
                    counts[b, l] += 1

    @numba.njit(inline="always")
    def move_cost(s_out, h_out, x, scale, dE, h_new, kappa):
        """h_new = (x + h) scale and dE[k] += V(s h_new) - V(s h) over the rows k of one pattern (vectorises)."""
        for k in range(s_out.shape[0]):
            so = s_out[k]
            ho = h_out[k]
            hn = (x[k] + ho) * scale[k]
            h_new[k] = hn
            dE[k] += V(so * hn, kappa) - V(so * ho, kappa)

    @numba.njit(inline="always")
    def gather_coef(s_in, column, coef, x):
        """x[k] = S_in[column[k]] * coef[k] (exact: S = +-1); a separate scalar pass keeps move_cost gather-free."""
        for k in range(x.shape[0]):
            x[k] = s_in[numba.uint64(column[k])] * coef[k]   # unsigned: no negative-index wraparound

    @numba.njit
    def weight_system(S, h, Wt, b, column, gauss, uniform, counts, c, delta, inv_sqrt_c, kappa, beta,
                      a, bb, scale, coef, dE, gain, x, ok, h_new):
        """One weight sub-step of system b: row k of layer l moves its weight column[l, k]; scratch a..ok (N,)."""
        L, N = column.shape
        M = S.shape[2]
        s_norm = math.sqrt(1.0 + delta * delta)
        for l in range(L):
            col = column[l]
            for k in range(N):
                a[k] = Wt[b, l, col[k], k]
            for k in range(N):
                bb[k] = (a[k] + delta * gauss[l, k]) / s_norm
                # |row|^2 = c is an invariant (rows are renormalised every 64 steps by simulate.py)
                rest2 = c - a[k] * a[k] if c > 1.0 else 0.0
                scale[k] = math.sqrt(c / (rest2 + bb[k] * bb[k]))
                coef[k] = (bb[k] - a[k]) * inv_sqrt_c
                dE[k] = 0.0
            # new field of row k on pattern m: (S_in[m, j_k] coef_k + h) scale_k, the numpy formula
            for m in range(M):
                gather_coef(S[b, l, m], col, coef, x)
                move_cost(S[b, l + 1, m], h[b, l + 1, m], x, scale, dE, h_new[m], kappa)
            n_ok = 0
            for k in range(N):
                ok[k] = False
                if greedy and dE[k] > 0.0:   # rejected whatever the Hastings factor: skip its logs
                    gain[k] = 1.0
                    continue
                log_ratio = 0.0
                if exact_sphere and c > 1.0:
                    sc2 = scale[k] * scale[k]
                    rev = s_norm * a[k] * scale[k] - scale[k] * bb[k]
                    dg = delta * gauss[l, k]
                    log_ratio = 0.5 * (c + 1) * math.log(sc2) - (rev * rev - dg * dg) / (2 * delta * delta)
                u = uniform[l, k] if need_uw else 0.5
                ok[k] = accept(dE[k], u, log_ratio, exact_sphere, beta)
                gain[k] = scale[k] if ok[k] else 1.0
                n_ok += ok[k]
            if n_ok == 0:
                continue
            for m in range(M):
                h_out, hn = h[b, l + 1, m], h_new[m]
                for k in range(N):
                    h_out[k] = hn[k] if ok[k] else h_out[k]
            for k in range(N):
                if ok[k]:
                    Wt[b, l, col[k], k] = bb[k]
                    counts[b, l + 1] += 1
            for jj in range(N):   # rescale the accepted rows (columns of Wt): contiguous in k
                w_line = Wt[b, l, jj]
                for k in range(N):
                    w_line[k] *= gain[k]

    @numba.njit
    def neuron_substep(S, h, Wt, layers, choice, uniform, counts, inv_sqrt_c, kappa, beta):
        for b in range(S.shape[0]):
            neuron_system(S, h, Wt, b, layers, choice[b], uniform[b if not greedy else 0], counts,
                          inv_sqrt_c, kappa, beta)

    @numba.njit
    def weight_substep(S, h, Wt, column, gauss, uniform, counts, c, delta, inv_sqrt_c, kappa, beta):
        N = S.shape[-1]
        sc = np.empty((8, N))
        hnew = np.empty((S.shape[2], N))
        ok = np.empty(N, dtype=np.bool_)
        for b in range(S.shape[0]):
            weight_system(S, h, Wt, b, column[b], gauss[b], uniform[b if need_uw else 0], counts, c, delta, inv_sqrt_c, kappa, beta,
                          sc[0], sc[1], sc[2], sc[3], sc[4], sc[5], sc[6], ok,
                          hnew)

    @numba.njit(parallel=parallel)
    def fused_step(S, h, Wt, n_par, layers0, choice0, u0, layers1, choice1, u1, column, gauss, uw, weight_after,
                   counts_neuron, counts_weight, s_begin, s_end, c, delta, inv_sqrt_c, kappa, beta):
        """Neuron rounds s_begin..s_end-1 of the MC step of every system, with the weight sub-steps
        scheduled after them (weight_after[w] == s), exactly in Engine.step's order; systems in parallel."""
        B, N = S.shape[0], S.shape[-1]
        n_w = weight_after.shape[0]
        w_begin = 0
        while w_begin < n_w and weight_after[w_begin] < s_begin:
            w_begin += 1
        for b in numba.prange(B):
            sc = np.empty((8, N))
            hnew = np.empty((S.shape[2], N))
            ok = np.empty(N, dtype=np.bool_)
            w = w_begin
            for s in range(s_begin, s_end):
                # (a rule that needs no uniforms gets dummies of shape (1, 1, ...): index 0)
                if n_par > 0:
                    neuron_system(S, h, Wt, b, layers0, choice0[s, b], u0[s, b] if not greedy else u0[0, 0],
                                  counts_neuron, inv_sqrt_c, kappa, beta)
                if n_par > 1:
                    neuron_system(S, h, Wt, b, layers1, choice1[s, b], u1[s, b] if not greedy else u1[0, 0],
                                  counts_neuron, inv_sqrt_c, kappa, beta)
                while w < n_w and weight_after[w] == s:
                    uw_wb = uw[w, b] if need_uw else uw[0, 0]
                    weight_system(S, h, Wt, b, column[w, b], gauss[w, b], uw_wb, counts_weight, c, delta,
                                  inv_sqrt_c, kappa, beta, sc[0], sc[1], sc[2], sc[3], sc[4], sc[5], sc[6], ok,
                          hnew)
                    w += 1

    return neuron_substep, weight_substep, fused_step


class NumbaBackend:
    """Compiled sub-steps and a fused whole step (systems in parallel over numba's threads)."""

    name = "numba"

    def __init__(self, params: MCParams, V, c: int, N: int, L: int, M: int, kappa: float = 0.0):
        self.params, self.c, self.N, self.L, self.M, self.kappa = params, c, N, L, M, float(kappa)
        self.inv_sqrt_c = 1.0 / np.sqrt(c)
        self.greedy = params.acceptance == "greedy"
        self.beta = float(params.beta) if params.beta is not None else 0.0
        self._dummy2 = np.zeros((1, 1, 1), dtype=np.float64)
        self._dummy3 = np.zeros((1, 1, 1, 1), dtype=np.float64)
        self._layers: dict = {}
        self._kind = (params.potential, self.greedy, bool(params.exact_sphere))

    def _k(self, parallel: bool):
        return kernels(*self._kind, parallel)

    def _lay(self, layers):
        return self._layers.setdefault(tuple(layers), np.asarray(layers, dtype=np.int64))

    def neuron_substep(self, S, h, Wt, layers, choice, uniform, counts):
        self._k(False)[0](S, h, Wt, self._lay(layers), choice, self._dummy2 if uniform is None else uniform, counts,
                          self.inv_sqrt_c, self.kappa, self.beta)

    def weight_substep(self, S, h, Wt, column, gauss, uniform, counts):
        self._k(False)[1](S, h, Wt, column, gauss, self._dummy2 if uniform is None else uniform, counts,
                          float(self.c), float(self.params.delta), self.inv_sqrt_c, self.kappa, self.beta)

    def fused_step(self, engine, S, h, Wt, draws, column, counts_neuron, counts_weight, rounds=None,
                   parallel=None):
        """The whole MC step of every system in one compiled call (same result as Engine.step's sub-step loop).

        rounds = (s_begin, s_end) runs only neuron rounds s_begin..s_end-1 and the weight sub-steps scheduled
        with them (the benchmark times a fraction of a step of large systems); parallel=None: threads when
        B > 1 and numba has more than one.
        """
        B = S.shape[0]
        if parallel is None:
            parallel = B > 1 and numba.get_num_threads() > 1
        s_begin, s_end = rounds if rounds is not None else (0, self.N)
        par = engine.parities
        args = []
        for p in range(2):
            if p < len(par):
                args += [self._lay(par[p]), draws[f"choice{p}"],
                         draws[f"u{p}"] if engine.need_neuron_uniform else self._dummy3]
            else:
                args += [self._lay((0,)), np.zeros((1, 1, 1, 1), dtype=np.int64), self._dummy3]
        uw = draws["uw"] if engine.need_weight_uniform else self._dummy3
        self._k(parallel)[2](S, h, Wt, len(par), *args, column, draws["gauss"], uw, engine.weight_after,
                             counts_neuron, counts_weight, s_begin, s_end, float(self.c), float(self.params.delta),
                             self.inv_sqrt_c, self.kappa, self.beta)
