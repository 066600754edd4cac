"""Numba kernel of the row billiard (design_space_billiard.py is the reference): the same random numbers, the same
events and the same trajectory; the sums run sequentially here (numpy's einsum and BLAS order them otherwise), so
states agree to rounding (tested to 1e-12), not bit for bit. Polytope billiards do not amplify rounding
exponentially (flat walls), so the trajectories stay together. The flip cascade of a pattern is evaluated
lazily, the first time the trajectory reaches its wall, and cached for the row update.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from .design_space_billiard import GRAZE, MAX_EVENTS_BASE, MAX_EVENTS_PER_PATTERN, TWO_PI

HALF_PI = float(np.arccos(0.0))


def billiard_sweep_numba(ms, st, r: dict) -> None:
    """One MC step of every system (rows in scan order), in place."""
    B, L = st.S.shape[0], ms.L
    if ms.billiard_stats is None or ms.billiard_stats.shape[0] != B:
        ms.billiard_stats = np.zeros((B, L, 3))
    C, W = ms.C, ms.W
    sup = np.zeros((B, L, W, C), dtype=np.int64)
    for w in range(L):
        s_w = ms.supports(st.system_sample, w)
        sup[:, w, :s_w.shape[1], :s_w.shape[2]] = s_w
    widths = np.asarray(ms.widths if not ms.uniform else (ms.N,) * (L + 1), dtype=np.int64)
    fan_in = np.asarray(ms.fan_in if not ms.uniform else (ms.c,) * L, dtype=np.int64)
    inv = np.asarray(ms.inv_sqrt_fan if not ms.uniform else (ms.inv_sqrt_c,) * L, dtype=np.float64)
    _sweep(st.S, st.h, st.Wt, sup, ms.idx is None, widths, fan_in, inv, np.ascontiguousarray(r["gauss"]),
           np.ascontiguousarray(r["time"]), float(ms.params.billiard_time), float(ms.kappa),
           st.counts_weight, st.stats, ms.billiard_stats)


@njit(cache=True)
def _sweep(S, h, Wt, sup, dense, widths, fan_in, inv, gauss, time, T_max, kappa, counts_weight, stats, bstats):
    B, L, M = S.shape[0], Wt.shape[1], S.shape[2]
    for b in range(B):   # serial: the benchmarks compare CPU time per system with the row kernel's
        W = S.shape[3]
        C = sup.shape[3]
        X = np.empty((M, C))
        e = np.empty(C)
        v = np.empty(C)
        a = np.empty(M)
        bb = np.empty(M)
        t_exit = np.empty(M)
        s = np.empty(M)
        s0 = np.empty(M)
        last = np.zeros(M, dtype=np.bool_)
        group = np.zeros(M, dtype=np.bool_)
        ok = np.empty(M, dtype=np.int8)            # flip cascade of the pattern: -1 unknown, 0 refused, 1 allowed
        h_sc = np.empty((L, W))
        S_sc = np.empty((L, W))
        G = np.empty((M, M))
        G_k = np.empty(M)
        for w in range(L):
            p = w + 1
            c = fan_in[w]
            isc = inv[w]
            if dense:   # the inputs' Gram matrix, shared by the layer's rows (exact: sums of +-1)
                for m1 in range(M):
                    for m2 in range(M):
                        acc = 0.0
                        for k in range(widths[w]):
                            acc += S[b, w, m1, k] * S[b, w, m2, k]
                        G[m1, m2] = acc
            for i in range(widths[p]):
                _row(b, w, p, i, c, isc, S, h, Wt, sup, dense, G, G_k, widths, inv, gauss[b, w, i],
                     time[b, w, i] * T_max, kappa, X, e, v, a, bb, t_exit, s, s0, last, group, ok, h_sc, S_sc,
                     counts_weight, stats, bstats)


@njit(cache=True)
def _dot_rows(X, y, out, M, c):
    for m in range(M):
        acc = 0.0
        for k in range(c):
            acc += X[m, k] * y[k]
        out[m] = acc


@njit(cache=True)
def _normalise(x, c):
    n2 = 0.0
    for k in range(c):
        n2 += x[k] * x[k]
    n = math.sqrt(n2)
    for k in range(c):
        x[k] = x[k] / n


@njit(cache=True)
def _tangent(v, e, c):
    d = 0.0
    for k in range(c):
        d += v[k] * e[k]
    for k in range(c):
        v[k] = v[k] - d * e[k]
    _normalise(v, c)


@njit(cache=True)
def _cascade(b, p, i, mu, S, h, Wt, widths, inv, kappa, h_sc, S_sc, write):
    """Flip neuron i of layer p on pattern mu and propagate; True iff every gap above stays >= kappa.
    Scratch h_sc, S_sc (L, W) hold layers p+1..L of the pattern; with write, they are stored into h, S."""
    L = Wt.shape[1]
    for q in range(p + 1, L + 1):
        for j in range(widths[q]):
            h_sc[q - p - 1, j] = h[b, q, mu, j]
            S_sc[q - p - 1, j] = S[b, q, mu, j]
    good = True
    for q in range(p + 1, L + 1):
        k = q - p - 1
        n = widths[q]
        # flipped neurons of layer q - 1: i itself (q = p + 1), else those whose sign changed in the scratch
        for j in range(widths[q - 1]):
            if q == p + 1:
                flipped = j == i
            else:
                flipped = S_sc[k - 1, j] != S[b, q - 1, mu, j]
            if flipped:
                f = -2.0 * inv[q - 1] * S[b, q - 1, mu, j]
                for t in range(n):
                    h_sc[k, t] += f * Wt[b, q - 1, j, t]
        for t in range(n):
            if q < L and ((h_sc[k, t] >= 0.0) != (h[b, q, mu, t] >= 0.0)):
                S_sc[k, t] = -S[b, q, mu, t]
            if S_sc[k, t] * h_sc[k, t] < kappa:
                good = False
    if write:
        for q in range(p + 1, L + 1):
            for j in range(widths[q]):
                h[b, q, mu, j] = h_sc[q - p - 1, j]
                S[b, q, mu, j] = S_sc[q - p - 1, j]
    return good


@njit(cache=True)
def _row(b, w, p, i, c, isc, S, h, Wt, sup, dense, G, G_k, widths, inv, g, T_left, kappa, X, e, v, a, bb, t_exit, s, s0, last,
         group, ok, h_sc, S_sc, counts_weight, stats, bstats):
    L, M = Wt.shape[1], S.shape[2]
    for m in range(M):
        for k in range(c):
            X[m, k] = S[b, w, m, sup[b, w, i, k]]
        s0[m] = S[b, p, m, i]
        s[m] = s0[m]
        last[m] = False
        ok[m] = -1
    for k in range(c):
        e[k] = Wt[b, w, sup[b, w, i, k], i]
        v[k] = g[k]
    _normalise(e, c)
    _tangent(v, e, c)
    passable = p < L and kappa == 0.0
    _dot_rows(X, e, a, M, c)
    _dot_rows(X, v, bb, M, c)
    n_ref = 0.0
    n_pass = 0.0
    gaps = 0.0
    active = T_left > 0.0
    n_events, cap = 0, MAX_EVENTS_BASE + MAX_EVENTS_PER_PATTERN * M   # design_space_billiard.max_events: it stays
    capped = False
    while active:
        n_events += 1
        if n_events > cap:
            capped = True
            break
        t_min = np.inf
        k_min = 0
        cT, sT = math.cos(T_left), math.sin(T_left)
        for m in range(M):
            sa, sb = s[m] * a[m], s[m] * bb[m]
            if kappa == 0.0:
                # s h(t) = R cos(t - phi) rises again pi after it falls through 0, and T_left <= pi: it exits
                # before T_left iff s h(T_left) < 0 (the others cannot be the next event: skip their atan2).
                # arccos(0) = pi / 2: the numpy formula's value, without two transcendentals
                if sa * cT + sb * sT >= 0.0:
                    t_exit[m] = np.inf
                    continue
                t = (math.atan2(sb, sa) + HALF_PI) % TWO_PI if (sa != 0.0 or sb != 0.0) else np.inf
                if last[m] and t < GRAZE:
                    t = np.inf
                t_exit[m] = t
                if t < t_min:
                    t_min, k_min = t, m
                continue
            R = math.hypot(sa, sb)
            if R > kappa:
                t = (math.atan2(sb, sa) + math.acos(min(max(kappa / R, -1.0), 1.0))) % TWO_PI
            else:
                t = np.inf
            if last[m] and t < GRAZE:
                t = np.inf
            t_exit[m] = t
            if t < t_min:
                t_min, k_min = t, m
        gaps += M
        hit = t_min < T_left
        dt = t_min if hit else T_left
        ct, sn = math.cos(dt), math.sin(dt)
        for m in range(M):
            am = a[m]
            a[m] = am * ct + bb[m] * sn
            bb[m] = bb[m] * ct - am * sn
        for k in range(c):
            ek = e[k]
            e[k] = ek * ct + v[k] * sn
            v[k] = v[k] * ct - ek * sn
        _normalise(e, c)
        _tangent(v, e, c)
        T_left -= dt
        if not hit:
            break
        through = passable
        for m in range(M):
            group[m] = t_exit[m] <= t_min + GRAZE
            if group[m] and through and s[m] == s0[m]:
                if ok[m] < 0:
                    ok[m] = 1 if _cascade(b, p, i, m, S, h, Wt, widths, inv, kappa, h_sc, S_sc, False) else 0
                through = ok[m] == 1
        if through:
            for m in range(M):
                if group[m]:
                    s[m] = -s[m]
            n_pass += 1.0
        else:
            ak = a[k_min]
            coef = 2.0 * bb[k_min] / (c - ak * ak)    # n = x_k - a_k e: v . n = b_k, n . n = c - a_k^2
            for k in range(c):
                v[k] = v[k] - coef * (X[k_min, k] - ak * e[k])
            _tangent(v, e, c)
            if dense:
                for m in range(M):
                    G_k[m] = G[m, k_min]
            else:
                for m in range(M):
                    acc = 0.0
                    for k in range(c):
                        acc += X[m, k] * X[k_min, k]
                    G_k[m] = acc
            for m in range(M):
                bb[m] = bb[m] - coef * (G_k[m] - ak * a[m])
            n_ref += 1.0
        for m in range(M):
            last[m] = group[m]
    # write back, unless rounding put the end point on a wall's wrong side (measure zero)
    sq = math.sqrt(c)
    good = not capped
    for m in range(M):
        acc = 0.0
        for k in range(c):
            acc += X[m, k] * (sq * e[k])
        a[m] = acc * isc
        if s[m] * a[m] < kappa or (p < L and ((a[m] >= 0.0) != (s[m] > 0.0))):
            good = False
    if good:
        for k in range(c):
            Wt[b, w, sup[b, w, i, k], i] = sq * e[k]
        for m in range(M):
            h[b, p, m, i] = a[m]
            if p < L and s[m] != s0[m]:
                stats[b, p] += 1.0
                _cascade(b, p, i, m, S, h, Wt, widths, inv, kappa, h_sc, S_sc, False)
                for q in range(p + 1, L):     # neurons the cascade flips, per hidden layer (diagnostics)
                    for j in range(widths[q]):
                        if S_sc[q - p - 1, j] != S[b, q, m, j]:
                            stats[b, q] += 1.0
                _cascade(b, p, i, m, S, h, Wt, widths, inv, kappa, h_sc, S_sc, True)
                S[b, p, m, i] = s[m]
        counts_weight[b, p] += 1.0
    stats[b, 0] += gaps
    bstats[b, w, 0] += 1.0
    bstats[b, w, 1] += n_ref
    bstats[b, w, 2] += n_pass
