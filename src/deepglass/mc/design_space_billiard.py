"""Row billiard: an exact collective move of the design-space sampler (MCParams.proposal = "billiard"), numpy
reference. docs/simulation.md ("Row billiard") gives the argument; this is the mechanics.

Condition on every weight except row i of layer p. Patterns are independent in the forward pass, so the set of
signs of h_i^{mu,p} that keep pattern mu inside the design space is fixed by the other weights: for the output
layer the label's sign with margin y h >= kappa; for a hidden layer at kappa > 0 the current sign with
s h >= kappa (the band |h| < kappa is forbidden, so the row cannot change the sign); for a hidden layer at
kappa = 0 the current sign, and the other one iff the forward cascade of flipping S_i^{mu,p} keeps every gap above
>= 0 on pattern mu (flip_cascades: all patterns at once, the same cascade as design_space.py's). Row i's
conditional region on its sphere |J| = sqrt(c) is therefore cut out by great-circle walls h_mu = s kappa; the
move is a billiard in it. With e = J / sqrt(c) (unit) and a unit tangent velocity v drawn uniformly
(c normals, J projected out), the row moves along the great circle e(t) = e cos t + v sin t for an angle
T = billiard_time * U (U uniform: a random length avoids periodic orbits); each field is
h_mu(t) = a_mu cos t + b_mu sin t (a = X e, b = X v, X the row's inputs on every pattern), so the next wall
crossing of every pattern is analytic. At a crossing of pattern mu's wall: pass through (flip the neuron) if the
other side is allowed, else reflect v specularly about the wall (its normal n = x_mu - (x_mu . e) e on the
tangent plane: v <- v - 2 (v . n)/(n . n) n). The velocity is discarded at the end; the row, its fields, its
slaved neurons and the cascaded upper layers of the patterns whose sign changed are written.

Every system of the batch moves its row i together (a while loop over events, each system's own events; systems
that have finished are masked). Random numbers per row: c normals (the velocity) and 1 uniform (the length).
"""
from __future__ import annotations

import numpy as np

TWO_PI = 2.0 * np.pi
GRAZE = 1e-12   # an exit of the wall just hit sooner than this is rounding of a grazing hit, not a new event


MAX_EVENTS_BASE, MAX_EVENTS_PER_PATTERN = 1000, 100


def max_events(M: int) -> int:
    """Events after which a trajectory is abandoned and the row left where it was. A legitimate one has ~alpha N
    (benchmarks/RESULTS.md: 30 at N = 80); a start outside the region (which the config refuses) would loop on
    zero-length steps. Exact all the same: the reverse trajectory has the same number of events, so the rule
    "stay if the count exceeds the cap" is symmetric and keeps detailed balance."""
    return MAX_EVENTS_BASE + MAX_EVENTS_PER_PATTERN * M


def billiard_sweep(ms, st, r: dict, variant: str = "exact") -> None:
    """One MC step: for each layer in turn, one billiard update of every row (a systematic scan).

    ms: the DesignSpaceMoves; r: the step's numbers, gauss (B, L, W, C) and time (B, L, W).
    variant: "exact"; "stop" (stops at the first wall) and "no-pass" (reflects at every wall) are deliberately
    wrong samplers for the tests' power checks."""
    if ms.billiard_stats is None or ms.billiard_stats.shape[0] != st.S.shape[0]:
        ms.billiard_stats = np.zeros((st.S.shape[0], ms.L, 3))
    for w in range(ms.L):
        n = ms.N if ms.uniform else ms.widths[w + 1]
        gram = None
        if ms.idx is None:   # dense: every row of the layer reads the same inputs; no move of this layer changes them
            x = st.S[:, w, :, :ms.N if ms.uniform else ms.widths[w]]
            gram = np.matmul(x, np.swapaxes(x, -1, -2))                  # (B, M, M), exact (sums of +-1)
        for i in range(n):
            billiard_row(ms, st, w, i, r["gauss"][:, w, i], r["time"][:, w, i], variant, gram)


def flip_cascades(ms, st, p: int, i: int):
    """Flip neuron i of layer p on every pattern of every system, propagate, write nothing.

    Returns ok (B, M): the flipped pattern keeps every gap of layers p+1..L >= kappa, and the upper layers
    (h_up, S_up) (B, L-p, M, W) of the flipped state. Patterns are independent given J, so one pass serves all."""
    S, h, Wt = st.S, st.h, st.Wt
    B, M, W = S.shape[0], ms.M, S.shape[-1]
    h_up, S_up = h[:, p + 1:].copy(), S[:, p + 1:].copy()
    F = np.zeros((B, M, W), dtype=bool)
    F[:, :, i] = True
    ok = np.ones((B, M), dtype=bool)
    for q in range(p + 1, ms.L + 1):
        k = q - p - 1
        n, inv = (ms.N, ms.inv_sqrt_c) if ms.uniform else (ms.widths[q], ms.inv_sqrt_fan[q - 1])
        s_prev_old = S[:, q - 1]
        shift = np.where(F, (-2.0 * inv) * s_prev_old, 0.0)            # old sign of every flipping neuron
        h_up[:, k, :, :n] += np.matmul(shift, Wt[:, q - 1, :, :n])
        if q < ms.L:
            F = np.zeros((B, M, W), dtype=bool)
            F[:, :, :n] = (h_up[:, k, :, :n] >= 0.0) != (h[:, q, :, :n] >= 0.0)
            S_up[:, k] = np.where(F, -S[:, q], S[:, q])
        ok &= np.all(S_up[:, k, :, :n] * h_up[:, k, :, :n] >= ms.kappa, axis=-1)
    return ok, h_up, S_up


def _unit(x):
    return x / np.sqrt(np.sum(x * x, axis=-1, keepdims=True))


def _tangent_unit(v, e):
    """v with its component along the unit vector e removed, normalised (rows of (B, c))."""
    return _unit(v - np.sum(v * e, axis=-1, keepdims=True) * e)


def billiard_row(ms, st, w: int, i: int, g: np.ndarray, U: np.ndarray, variant: str = "exact", gram=None) -> None:
    """The billiard update of row i of weight layer w (perceptron layer p = w + 1) of every system, in place.

    Between events the fields follow a, b <- a cos t + b sin t, b cos t - a sin t (O(M)); a reflection at wall k
    changes b by -coef (X x_k - a_k a), X x_k the k-th column of the inputs' Gram matrix (gram, dense) or
    computed (sparse): an event costs O(M + c), O(M c) for a sparse reflection. The row itself (e, v) is
    carried along, renormalised at each event, and the fields are recomputed from it at the end."""
    S, h, Wt = st.S, st.h, st.Wt
    B, L, kappa = S.shape[0], ms.L, ms.kappa
    p = w + 1
    c, inv_sqrt_c = (ms.c, ms.inv_sqrt_c) if ms.uniform else (ms.fan_in[w], ms.inv_sqrt_fan[w])
    bi = np.arange(B)
    sup = np.ascontiguousarray(ms.supports(st.system_sample, w)[:, i, :c])         # (B, c) the row's inputs
    X = np.take_along_axis(S[:, w], np.broadcast_to(sup[:, None, :], (B, ms.M, c)), -1)   # (B, M, c)
    J = Wt[bi[:, None], w, sup, i]                                                # (B, c)
    e = _unit(J)
    v = _tangent_unit(g[:, :c], e)
    s0 = S[:, p, :, i].copy()                 # the labels (output layer) or the current slaved signs
    s = s0.copy()
    passable = p < L and kappa == 0.0 and variant != "no-pass"
    if passable:
        flip_ok, h_up, S_up = flip_cascades(ms, st, p, i)
    T_left = ms.params.billiard_time * U
    a, b = np.einsum("bmc,bc->bm", X, e), np.einsum("bmc,bc->bm", X, v)
    active = T_left > 0.0
    last = np.zeros((B, ms.M), dtype=bool)   # the walls of the last event
    n_ref, n_pass = np.zeros(B), np.zeros(B)
    gaps = np.zeros(B)
    n_events, cap = 0, max_events(ms.M)
    capped = np.zeros(B, dtype=bool)
    while active.any():
        n_events += 1
        if n_events > cap:          # abandoned: these rows stay (max_events)
            capped |= active
            break
        # exit time of every pattern: s h(t) = R cos(t - phi) falls through kappa at t - phi = arccos(kappa / R)
        sa, sb = s * a, s * b
        R = np.hypot(sa, sb)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_exit = np.mod(np.arctan2(sb, sa) + np.arccos(np.clip(kappa / R, -1.0, 1.0)), TWO_PI)
        t_exit = np.where(R > kappa, t_exit, np.inf)
        t_exit[last & (t_exit < GRAZE)] = np.inf
        k = np.argmin(t_exit, axis=-1)
        t = t_exit[bi, k]
        hit = active & (t < T_left)
        dt = np.where(hit, t, np.where(active, T_left, 0.0))
        gaps += np.where(active, ms.M, 0)
        mv = np.flatnonzero(active)
        ct, sn = np.cos(dt[mv])[:, None], np.sin(dt[mv])[:, None]
        a_mv, b_mv = a[mv], b[mv]
        a[mv], b[mv] = a_mv * ct + b_mv * sn, b_mv * ct - a_mv * sn
        e_new = _unit(e[mv] * ct + v[mv] * sn)
        v[mv] = _tangent_unit(v[mv] * ct - e[mv] * sn, e_new)
        e[mv] = e_new
        T_left = T_left - dt
        if variant == "stop":       # wrong on purpose: the trajectory ends at its first wall
            hit[:] = False
        hb = np.flatnonzero(hit)
        if hb.size:
            kh = k[hb]
            # patterns with the same inputs on the row's support (up to sign) share a wall and cross it together
            # (common with sparse rows): one event, passable iff each of them is
            group = t_exit[hb] <= t[hb, None] + GRAZE
            if passable:
                ok = (s[hb] != s0[hb]) | flip_ok[hb]
                through = np.all(ok | ~group, axis=-1)
            else:
                through = np.zeros(hb.size, dtype=bool)
            s[hb[through]] = np.where(group[through], -s[hb[through]], s[hb[through]])
            n_pass[hb[through]] += 1
            rb, rk = hb[~through], kh[~through]
            if rb.size:
                x = X[rb, rk]                                                   # (n, c) the walls' patterns
                ak, bk = a[rb, rk][:, None], b[rb, rk][:, None]
                coef = 2.0 * bk / (c - ak * ak)      # n = x - a_k e: v . n = b_k, n . n = c - a_k^2
                v[rb] = _tangent_unit(v[rb] - coef * (x - ak * e[rb]), e[rb])
                G_k = gram[rb, :, rk] if gram is not None else np.einsum("bmc,bc->bm", X[rb], x)
                b[rb] = b[rb] - coef * (G_k - ak * a[rb])
                n_ref[rb] += 1
            last[hb] = group
        active = hit
    # write back; a final guard leaves the row unchanged where rounding put the end point on a wall's wrong side
    # (measure zero: the end time is continuous)
    J_new = np.sqrt(c) * e
    h_new = np.einsum("bmc,bc->bm", X, J_new) * inv_sqrt_c
    if p == L:
        good = np.all(s0 * h_new >= kappa, axis=-1)
    else:
        good = np.all((s * h_new >= kappa) & ((h_new >= 0.0) == (s > 0.0)), axis=-1)
    good &= ~capped
    gb = np.flatnonzero(good)
    Wt[gb[:, None], w, sup[gb], i] = J_new[gb]
    h[gb, p, :, i] = h_new[gb]
    if p < L:
        S[gb, p, :, i] = s[gb]
        cb, cm = np.nonzero((s != s0) & good[:, None])
        if cb.size:
            for q in range(p + 1, L):    # neurons the cascades flipped, per hidden layer (diagnostics)
                st.stats[:, q] += np.bincount(cb, (S_up[cb, q - p - 1, cm] != S[cb, q, cm]).sum(-1), B)
            st.stats[:, p] += np.bincount(cb, minlength=B)
            h[cb, p + 1:, cm] = h_up[cb, :, cm]
            S[cb, p + 1:, cm] = S_up[cb, :, cm]
    st.counts_weight[gb, p] += 1
    st.stats[:, 0] += gaps
    ms.billiard_stats[:, w, 0] += 1
    ms.billiard_stats[:, w, 1] += n_ref
    ms.billiard_stats[:, w, 2] += n_pass
