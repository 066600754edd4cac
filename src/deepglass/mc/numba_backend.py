"""Optional numba backend: the same two sub-steps as numpy_backend.py, compiled, plus a fused MC step.

It consumes the same random numbers and applies the same state updates with the same floating-point
formulas, and takes every accept decision as numpy does, so for a given seed the two backends follow
the same trajectory bit for bit (tests/test_mc_engine.py, tests/test_mc_numba_fast.py).
The NumPy backend remains the reference definition.

Speed (benchmarks/RESULTS.md): ``fused_step`` runs a whole MC step of every system in one compiled call,
systems in parallel (numba.prange; serial when B == 1 or numba has one thread), each system's schedule
of sub-steps run in order inside, so no Python runs per move or per sub-step. The gap loops run along
the contiguous neuron axis with the potential chosen outside the loop (branch-free min/max: they
vectorise). A weight move's dE is summed over patterns in numpy's order (it vectorises over rows); a
flip's dE uses vectorised sums in any order and is recomputed in numpy's pairwise order when the
decision is within rounding of a tie. So decisions equal the reference's, ties included (only
math.log vs np.log could differ in the last bit). Kernels are cached on disk (first use compiles
them, ~20 s). OpenMP workers wait passively (see below).
"""
from __future__ import annotations

import math
import os

# numba's OpenMP threads busy-wait between parallel regions by default; on a shared machine the spinning
# workers steal the cores from the real work (10-20x slowdowns measured under load). Passive waiting unless
# the user chose otherwise; read by the OpenMP runtime when numba first launches its threads.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import numba  # noqa: E402
import numpy as np  # noqa: E402

from .params import MCParams

_POT = {"soft": 0, "hinge": 1, "count": 2}
_REASSOC = {"reassoc", "nsz"}   # vectorised sums in any order; never contracts or approximates
_TIE = 1e-10   # a sum of n <= 10^5 terms in any order errs by < (n - 1) 1.1e-16 sum|terms| ~ 1.1e-11 sum|terms|


# --------------------------------------------------------------------------- V(r), one per potential
@numba.njit(inline="always")
def _v_soft(r, kappa):
    d = min(r - kappa, 0.0)
    return d * d


@numba.njit(inline="always")
def _v_hinge(r, kappa):
    return max(kappa - r, 0.0)


@numba.njit(inline="always")
def _v_count(r, kappa):
    return 1.0 if r < kappa else 0.0


def _gap_loops(V):
    """The two inner loops over the contiguous neuron axis k for one potential V."""

    @numba.njit(inline="always")
    def flip_sums_fast(s_next, h_next, w_row, f, kappa, n):
        """(sum_k V(s (h + f w)), sum_k V(s h)) over the next layer's n gaps; inlined into _neuron_system, whose
        fastmath 'reassoc' lets these sums vectorise (any summation order)."""
        sn = 0.0
        so = 0.0
        for k in range(n):
            sk = s_next[k]
            ro = sk * h_next[k]
            rn = sk * (w_row[k] * f) + ro
            sn += V(rn, kappa)
            so += V(ro, kappa)
        return sn, so

    @numba.njit(inline="always")
    def flip_costs(s_next, h_next, w_row, f, kappa, v_new, v_old, n):
        """V(s (h + f w)) and V(s h) for the next layer's n gaps (the numpy formulas; J = 0 terms are equal)."""
        for k in range(n):
            sk = s_next[k]
            ro = sk * h_next[k]
            rn = sk * (w_row[k] * f) + ro
            v_new[k] = V(rn, kappa)
            v_old[k] = V(ro, kappa)

    @numba.njit(inline="always")
    def move_costs(s_out, h_out, x, scale, e_new, e_old, h_new, kappa, n):
        """h_new[k] = (x[k] + h[k]) scale[k] (the numpy formula); e_new[k] += V(s h_new), e_old[k] += V(s h), for the
        n rows of the layer (explicit bound, not a slice: the loop stays on the contiguous row, as fast as before)."""
        for k in range(n):
            so = s_out[k]
            ho = h_out[k]
            hn = (x[k] + ho) * scale[k]
            h_new[k] = hn
            e_new[k] += V(so * hn, kappa)
            e_old[k] += V(so * ho, kappa)

    return flip_sums_fast, flip_costs, move_costs


_fast_soft, _flips_soft, _moves_soft = _gap_loops(_v_soft)
_fast_hinge, _flips_hinge, _moves_hinge = _gap_loops(_v_hinge)
_fast_count, _flips_count, _moves_count = _gap_loops(_v_count)


@numba.njit(fastmath=False)   # explicit: a callee inherits its caller's fastmath unless it sets its own
def _pairwise_leaf(a, lo, n):
    """numpy's pairwise_sum for n <= 128: 8 accumulators, combined as a tree, then the remainder in order."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = lo + 8
    end8 = lo + n - n % 8
    while i < end8:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < lo + n:
        res += a[i]
        i += 1
    return res


def _pairwise_level(inner):
    """One more level of numpy's recursion (n > 128: split at n/2 rounded down to a multiple of 8). Written
    as a chain of functions, not a recursive one: numba cannot reload recursive functions from its cache."""
    @numba.njit(fastmath=False)
    def pairwise(a, lo, n):
        if n <= 128:
            return _pairwise_leaf(a, lo, n)
        n2 = n // 2
        n2 -= n2 % 8
        return inner(a, lo, n2) + inner(a, lo + n2, n - n2)
    return pairwise


# sum(a[lo:lo + n]) in exactly numpy's order (add.reduce over a contiguous axis), for n < 128 * 2^12: so a
# flip's dE, hence every accept decision, equals the numpy reference's bit for bit, rounding ties included
_pairwise_sum = _pairwise_leaf
for _ in range(12):
    _pairwise_sum = _pairwise_level(_pairwise_sum)


@numba.njit(inline="always")
def _V(r, kappa, pot):
    if pot == 0:
        return _v_soft(r, kappa)
    if pot == 1:
        return _v_hinge(r, kappa)
    return _v_count(r, kappa)


@numba.njit(inline="always")
def _accept(dE, u, log_ratio, greedy, use_ratio, beta):
    """params.accept for one proposal."""
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


# --------------------------------------------------------------------------- one sub-step of one system
@numba.njit(fastmath=False)
def _flip_dE_exact(s_next, h_next, w_row, f, kappa, pot, v_flip, v_own, v_new, v_old, n):
    """A flip's dE summed in exactly numpy's order: (V(-r) - V(r)) + (V(new).sum(-1) - V(old).sum(-1)).

    Not fastmath, explicitly (numba callees inherit the caller's fastmath otherwise): used near a tie, where
    the vectorised sums of the caller could round differently."""
    if pot == 0:
        _flips_soft(s_next, h_next, w_row, f, kappa, v_new, v_old, n)
    elif pot == 1:
        _flips_hinge(s_next, h_next, w_row, f, kappa, v_new, v_old, n)
    else:
        _flips_count(s_next, h_next, w_row, f, kappa, v_new, v_old, n)
    return (v_flip - v_own) + (_pairwise_sum(v_new, 0, n) - _pairwise_sum(v_old, 0, n))


@numba.njit(cache=True, fastmath=_REASSOC)
def _neuron_system(S, h, Wt, b, layers, choice, uniform, counts, inv_sqrt_c, kappa, pot, greedy, beta, v_new, v_old,
                   widths):
    """Neuron sub-step of system b: choice[a, m] is the proposed neuron of layer layers[a], pattern m.

    v_new, v_old (N,): scratch for the next layer's costs after / before the flip (exact path near ties).
    inv_sqrt_c (L,): 1/sqrt(c_l) of weight layer l (perceptrons of layer l+1); widths (L+1,): N_l (the next
    layer's gaps are its first N_{l+1} neurons; the padding beyond is never read).
    fastmath 'reassoc' reorders the dE sums only (every other product here involves +-1, 2: exact in any order).
    """
    nl, M = choice.shape
    for a in range(nl):
        l = layers[a]
        N = widths[l + 1]
        for m in range(M):
            i = choice[a, m]
            s = S[b, l, m, i]
            r_own = s * h[b, l, m, i]
            f = (-2.0 * inv_sqrt_c[l]) * s
            s_next, h_next, w_row = S[b, l + 1, m], h[b, l + 1, m], Wt[b, l, i]
            v_flip, v_own = _V(-r_own, kappa, pot), _V(r_own, kappa, pot)
            if pot == 0:
                sn, so = _fast_soft(s_next, h_next, w_row, f, kappa, N)
            elif pot == 1:
                sn, so = _fast_hinge(s_next, h_next, w_row, f, kappa, N)
            else:
                sn, so = _fast_count(s_next, h_next, w_row, f, kappa, N)
            dE = (v_flip - v_own) + (sn - so)
            u = 0.5 if greedy else uniform[a, m]
            # the decision's margin: it can differ from numpy's only if rounding could flip its sign
            margin = dE if greedy else (beta * dE + math.log(u) if u > 0.0 else -1.0)
            if abs(margin) <= _TIE * (1.0 if greedy else beta) * (sn + so + v_flip + v_own):
                dE = _flip_dE_exact(s_next, h_next, w_row, f, kappa, pot, v_flip, v_own, v_new, v_old, N)
            if _accept(dE, u, 0.0, greedy, False, beta):
                S[b, l, m, i] = -s
                for k in range(N):
                    h_next[k] += w_row[k] * f
                counts[b, l] += 1


@numba.njit(cache=True)
def _weight_system(S, h, Wt, b, column, gauss, uniform, counts, c_l, delta, inv_sqrt_c_l, kappa, pot, greedy, beta,
                   exact_sphere, need_uw, norm2, scratch, ok, h_new, widths, sub):
    """Weight sub-step sub of system b: row k of layer l moves its weight column[l, k].

    norm2 (L, N): squared norms of system b's rows (_row_norms), kept up to date here. Scratch (9, N), (N,), (M, N).
    c_l, inv_sqrt_c_l (L,): fan-ins; widths (L+1,): layer l moves its N_{l+1} rows while sub < c_l.
    dE = sum_m V(new) - sum_m V(old), both summed over m in order: numpy's V(r).sum(-2), bit for bit.
    """
    L = column.shape[0]
    M = S.shape[2]
    s_norm = math.sqrt(1.0 + delta * delta)
    a, bb, scale, coef, dE, gain, x, e_old, taken = (scratch[0], scratch[1], scratch[2], scratch[3], scratch[4],
                                                    scratch[5], scratch[6], scratch[7], scratch[8])
    for l in range(L):
        c = c_l[l]
        if sub >= c:
            continue
        inv_sqrt_c = inv_sqrt_c_l[l]
        N = widths[l + 1]
        N_in = widths[l]
        col = column[l]
        for k in range(N):
            a[k] = Wt[b, l, col[k], k]
        for k in range(N):
            bb[k] = (a[k] + delta * gauss[l, k]) / s_norm
            rest2 = norm2[l, k] - a[k] * a[k]   # the row's actual norm, so norms never drift
            scale[k] = math.sqrt(c / (rest2 + bb[k] * bb[k]))
            coef[k] = (bb[k] - a[k]) * inv_sqrt_c
            dE[k] = 0.0   # the sum of V(new) until the loop below ends
            e_old[k] = 0.0
        for m in range(M):
            s_in = S[b, l, m]
            for k in range(N):   # a separate scalar gather keeps the gap loop below gather-free
                x[k] = s_in[numba.uint64(col[k])] * coef[k]   # exact (S = +-1); unsigned: no wraparound test
            if pot == 0:
                _moves_soft(S[b, l + 1, m], h[b, l + 1, m], x, scale, dE, e_old, h_new[m], kappa, N)
            elif pot == 1:
                _moves_hinge(S[b, l + 1, m], h[b, l + 1, m], x, scale, dE, e_old, h_new[m], kappa, N)
            else:
                _moves_count(S[b, l + 1, m], h[b, l + 1, m], x, scale, dE, e_old, h_new[m], kappa, N)
        for k in range(N):
            dE[k] -= e_old[k]
        n_ok = 0
        for k in range(N):
            ok[k] = False
            gain[k] = 1.0
            taken[k] = 0.0
            if greedy and dE[k] > 0.0:   # rejected whatever the Hastings factor: skip its logs
                continue
            log_ratio = 0.0
            if exact_sphere and c > 1.0:
                sc2 = scale[k] * scale[k]
                rev = s_norm * a[k] * scale[k] - scale[k] * bb[k]
                dg = delta * gauss[l, k]
                log_ratio = 0.5 * (c + 1) * math.log(sc2) - (rev * rev - dg * dg) / (2 * delta * delta)
            u = uniform[l, k] if need_uw else 0.5
            if _accept(dE[k], u, log_ratio, greedy, exact_sphere, beta):
                ok[k] = True
                gain[k] = scale[k]
                taken[k] = 1.0
                n_ok += 1
        if n_ok == 0:
            continue
        for m in range(M):   # h = h_new on accepted rows: arithmetic with 0/1 (exact), no unpredictable branch
            h_out, hn = h[b, l + 1, m], h_new[m]
            for k in range(N):
                h_out[k] = hn[k] * taken[k] + h_out[k] * (1.0 - taken[k])
        for k in range(N):
            if ok[k]:
                Wt[b, l, col[k], k] = bb[k]
                counts[b, l + 1] += 1
        norm2[l] = 0.0
        for jj in range(N_in):   # rescale the accepted rows (columns of Wt), contiguous in k, and sum their norms
            w_line = Wt[b, l, jj]
            for k in range(N):
                w_line[k] *= gain[k]
                norm2[l, k] += w_line[k] * w_line[k]


@numba.njit(cache=True)
def _row_norms(Wt, b, norm2, widths):
    """norm2[l, k] = sum_j Wt[b, l, j, k]^2, summed over j in order (the same sum _weight_system keeps)."""
    L = Wt.shape[1]
    norm2[:] = 0.0
    for l in range(L):
        for jj in range(widths[l]):
            w_line = Wt[b, l, jj]
            for k in range(widths[l + 1]):
                norm2[l, k] += w_line[k] * w_line[k]


@numba.njit(cache=True)
def _system_step(S, h, Wt, b, n_par, layers0, choice0, u0, layers1, choice1, u1, column, gauss, uw, weight_after,
                 counts_neuron, counts_weight, s_begin, s_end, c, delta, inv_sqrt_c, kappa, pot, greedy, beta,
                 exact_sphere, widths):
    """Neuron rounds s_begin..s_end-1 of system b's MC step with the weight sub-steps scheduled after them
    (weight_after[w] == s): exactly Engine.step's order. Random numbers system first, (B, n_sub, ...)
    (Engine.draw_systems); a rule that needs no uniforms gets dummies (index 0)."""
    N, M = S.shape[-1], S.shape[2]
    need_uw = exact_sphere or not greedy
    scratch = np.empty((9, N))
    ok = np.empty(N, dtype=np.bool_)
    h_new = np.empty((M, N))
    norm2 = np.empty((Wt.shape[1], N))
    _row_norms(Wt, b, norm2, widths)
    n_w = weight_after.shape[0]
    w = 0
    while w < n_w and weight_after[w] < s_begin:
        w += 1
    for s in range(s_begin, s_end):
        if n_par > 0:
            _neuron_system(S, h, Wt, b, layers0, choice0[b, s], u0[b, s] if not greedy else u0[0, 0],
                           counts_neuron, inv_sqrt_c, kappa, pot, greedy, beta, scratch[0], scratch[1], widths)
        if n_par > 1:
            _neuron_system(S, h, Wt, b, layers1, choice1[b, s], u1[b, s] if not greedy else u1[0, 0],
                           counts_neuron, inv_sqrt_c, kappa, pot, greedy, beta, scratch[0], scratch[1], widths)
        while w < n_w and weight_after[w] == s:
            _weight_system(S, h, Wt, b, column[b, w], gauss[b, w], uw[b, w] if need_uw else uw[0, 0],
                           counts_weight, c, delta, inv_sqrt_c, kappa, pot, greedy, beta, exact_sphere, need_uw,
                           norm2, scratch, ok, h_new, widths, w)
            w += 1


@numba.njit(cache=True)
def _fused_serial(S, h, Wt, *args):
    for b in range(S.shape[0]):
        _system_step(S, h, Wt, b, *args)


@numba.njit(cache=True, parallel=True)
def _fused_parallel(S, h, Wt, *args):
    for b in numba.prange(S.shape[0]):   # systems are independent: one per thread at a time
        _system_step(S, h, Wt, b, *args)


@numba.njit(cache=True)
def _neuron_substep(S, h, Wt, layers, choice, uniform, counts, inv_sqrt_c, kappa, pot, greedy, beta, widths):
    v = np.empty((2, S.shape[-1]))
    for b in range(S.shape[0]):
        _neuron_system(S, h, Wt, b, layers, choice[b], uniform[b] if not greedy else uniform[0], counts,
                       inv_sqrt_c, kappa, pot, greedy, beta, v[0], v[1], widths)


@numba.njit(cache=True)
def _weight_substep(S, h, Wt, column, gauss, uniform, counts, c, delta, inv_sqrt_c, kappa, pot, greedy, beta,
                    exact_sphere, widths, sub):
    N, M = S.shape[-1], S.shape[2]
    need_uw = exact_sphere or not greedy
    scratch = np.empty((9, N))
    ok = np.empty(N, dtype=np.bool_)
    h_new = np.empty((M, N))
    norm2 = np.empty((Wt.shape[1], N))
    for b in range(S.shape[0]):
        _row_norms(Wt, b, norm2, widths)
        _weight_system(S, h, Wt, b, column[b], gauss[b], uniform[b] if need_uw else uniform[0], counts, c, delta,
                       inv_sqrt_c, kappa, pot, greedy, beta, exact_sphere, need_uw, norm2, scratch, ok, h_new,
                       widths, sub)


class NumbaBackend:
    """Compiled sub-steps and a fused whole step (systems in parallel over numba's threads)."""

    name = "numba"
    draws_system_first = True   # fused_step takes Engine.draw_systems' (B, n_sub, ...) layout

    def __init__(self, params: MCParams, V, c: int, N: int, L: int, M: int, kappa: float = 0.0,
                 widths: tuple[int, ...] | None = None, fan_in: tuple[int, ...] | None = None):
        self.params, self.c, self.N, self.L, self.M, self.kappa = params, c, N, L, M, float(kappa)
        self.inv_sqrt_c = 1.0 / np.sqrt(c)
        # per-layer sizes (equal widths: every entry N, c; the same numbers as the scalars, the same results)
        self.widths = np.asarray(widths if widths is not None else (N,) * (L + 1), dtype=np.int64)
        self.c_l = np.asarray(fan_in if fan_in is not None else (c,) * L, dtype=np.float64)
        self.inv_sqrt_c_l = 1.0 / np.sqrt(self.c_l)
        self.pot = _POT[params.potential]
        self.greedy = params.acceptance == "greedy"
        self.beta = float(params.beta) if params.beta is not None else 0.0
        self.exact_sphere = bool(params.exact_sphere)
        self._dummy3 = np.zeros((1, 1, 1), dtype=np.float64)
        self._dummy4 = np.zeros((1, 1, 1, 1), dtype=np.float64)
        self._layers: dict = {}

    def _lay(self, layers):
        return self._layers.setdefault(tuple(layers), np.asarray(layers, dtype=np.int64))

    def neuron_substep(self, S, h, Wt, layers, choice, uniform, counts):
        _neuron_substep(S, h, Wt, self._lay(layers), choice, self._dummy3 if uniform is None else uniform, counts,
                        self.inv_sqrt_c_l, self.kappa, self.pot, self.greedy, self.beta, self.widths)

    def weight_substep(self, S, h, Wt, column, gauss, uniform, counts, sub: int = 0):
        _weight_substep(S, h, Wt, column, gauss, self._dummy3 if uniform is None else uniform, counts,
                        self.c_l, float(self.params.delta), self.inv_sqrt_c_l, self.kappa, self.pot, self.greedy,
                        self.beta, self.exact_sphere, self.widths, sub)

    def fused_step(self, engine, S, h, Wt, draws, column, counts_neuron, counts_weight, rounds=None,
                   parallel=None):
        """The whole MC step of every system in one compiled call (same result as Engine.step's sub-step loop).

        draws, column: system axis first, (B, n_sub, ...) (Engine.draw_systems, Engine.columns(system_first=True)).

        rounds = (s_begin, s_end) runs only neuron rounds s_begin..s_end-1 and the weight sub-steps scheduled
        with them (the benchmark times a fraction of a step of large systems); parallel=None: threads when
        B > 1 and numba has more than one.
        """
        if parallel is None:
            parallel = S.shape[0] > 1 and numba.get_num_threads() > 1
        s_begin, s_end = rounds if rounds is not None else (0, self.N)
        par = engine.parities
        args = []
        for p in range(2):
            if p < len(par):
                args += [self._lay(par[p]), draws[f"choice{p}"],
                         draws[f"u{p}"] if engine.need_neuron_uniform else self._dummy4]
            else:  # no second parity (L = 2): never read
                args += [self._lay((0,)), np.zeros((1, 1, 1, 1), dtype=draws["slot"].dtype), self._dummy4]
        uw = draws["uw"] if engine.need_weight_uniform else self._dummy4
        kernel = _fused_parallel if parallel else _fused_serial
        kernel(S, h, Wt, len(par), *args, column, draws["gauss"], uw, engine.weight_after, counts_neuron,
               counts_weight, s_begin, s_end, self.c_l, float(self.params.delta), self.inv_sqrt_c_l, self.kappa,
               self.pot, self.greedy, self.beta, self.exact_sphere, self.widths)
