"""Accurate Gaussian integrals of the Parisi recursion: graded Gauss-Legendre panels, mode-centred windows.

Why: on a uniform field grid the gap bottom log H((kappa - h)/sqrt(1 - c_max)) (scale sqrt(1 - c_max) at
h = kappa) and the Ising bottom log 2cosh at variance eps (kink of width 1, tilt exp(m |h|) moving the
mass to |h| ~ m eps) cannot both be resolved and covered. Here (docs/theory.md, section R2a):

* every phi_i lives on one base grid of Gauss-Legendre panels (``q_grid`` nodes each), graded
  geometrically away from the kink point (kappa for gaps, 0 for spins): width max(w_min, g d) at distance
  d, w_min = sqrt(1 - c_max) (gap) or 1/2 (spins), so that polynomial interpolation on a panel converges
  like (distance to the nearest complex singularity / half-width)^-q_grid;
* each Gaussian integral phi_{i-1}(x) = (1/m) log int dh G_Delta(h - x) exp(m phi_i(h)) is done at the
  points where its integrand lives: the local maxima of L(h) = -(h - x)^2/2Delta + m phi_i(h) (from the
  sign changes of L' on the nodes, then bisection), a window of +-10 local widths around each (widened
  until L has dropped by 46, i.e. e^-46 relative), cut at the panel edges (kinks are panel edges) and
  into pieces no longer than ``piece`` local widths, ``q_piece`` Gauss-Legendre points per piece;
  phi_i at the points: the exact bottom function at the last level, barycentric interpolation on the
  panel above it;
* the Parisi measures flow forward as masses on the nodes: the tilted weights of each point are
  deposited onto the nodes of its panel with the interpolation weights (the transpose of the
  interpolation), so E_P[g] is exact for g polynomial on each panel.

The kernels are compiled with numba when it is installed; without it the same Python runs (slowly).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .parisi import LevelGradients

try:
    from numba import njit
except ImportError:  # pragma: no cover - same code, interpreted
    def njit(*args, **kwargs):
        if args and callable(args[0]):
            return args[0]
        return lambda f: f

NODES, ISING, GAP, ABS = 0, 1, 2, 3  # how phi_i is known at a point: interpolation, or an exact bottom
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_DROP = 46.0  # integrand windows end where L is e^-46 below its maximum
_MAX_MODES = 16


@dataclass(frozen=True)
class QuadratureOptions:
    """Resolution of the accurate recursion (defaults: ~1e-12 relative, measured in tests/test_parisi_quadrature.py)."""

    q_grid: int = 12  # Gauss-Legendre nodes per base panel (interpolation order)
    growth: float = 0.4  # panel width / distance to the kink point
    w_min_factor: float = 1.0  # smallest panel: w_min_factor * sqrt(1 - c_max) (gap) or / 2 (spins)
    q_piece: int = 10  # Gauss-Legendre points per integration piece
    piece: float = 1.5  # piece length / local width of the integrand
    extent: float = 11.0  # field range: +- extent standard deviations (+ tilt, + kappa)

    def coarse(self) -> "QuadratureOptions":
        """A cheaper rule of the same graded design (~3x faster; ~1e-8 in the free entropy, measured in
        docs/theory.md R2a): the first stage of a solve, never the reported one."""
        return QuadratureOptions(q_grid=max(6, self.q_grid - 2), growth=1.5 * self.growth,
                                 w_min_factor=self.w_min_factor, q_piece=8, piece=2.5, extent=self.extent)

    def refined(self) -> "QuadratureOptions":
        """A clearly finer evaluation, used as the error estimate of a result."""
        return QuadratureOptions(q_grid=self.q_grid + 6, growth=0.7 * self.growth, w_min_factor=0.6 * self.w_min_factor,
                                 q_piece=self.q_piece + 6, piece=0.6 * self.piece, extent=self.extent + 2.0)


# -------------------------------------------------------------------------------- special functions


@njit(cache=True)
def _log_H_and_mills_inv(u):
    """(log H(u), phi(u)/H(u)) with H the Gaussian tail, accurate to rounding for every real u."""
    if u < -1.0:
        t = 0.5 * math.erfc(-u / math.sqrt(2.0))  # 1 - H(u), small: log1p keeps it relative
        logh = math.log1p(-t)
        return logh, math.exp(-0.5 * u * u - _LOG_SQRT_2PI - logh)
    if u < 5.0:
        hh = 0.5 * math.erfc(u / math.sqrt(2.0))
        logh = math.log(hh)
        return logh, math.exp(-0.5 * u * u - _LOG_SQRT_2PI - logh)
    # continued fraction of the Mills ratio H/phi = 1/(u + 1/(u + 2/(u + 3/(u + ...))))
    n = 12 + int(600.0 / (u * u))
    t = u
    for k in range(n, 0, -1):
        t = u + k / t
    return -0.5 * u * u - _LOG_SQRT_2PI - math.log(t), t


@njit(cache=True)
def _bottom(kind, h, kappa, s):
    """(f(h), f'(h)) for the exact bottom functions."""
    if kind == ISING:
        a = abs(h)
        return a + math.log1p(math.exp(-2.0 * a)), math.tanh(h)
    if kind == GAP:
        lh, r = _log_H_and_mills_inv((kappa - h) / s)
        return lh, r / s
    a = abs(h)  # ABS
    return a, (1.0 if h > 0 else (-1.0 if h < 0 else 0.0))


# -------------------------------------------------------------------------------- panels


@lru_cache(maxsize=32)
def gauss_legendre(q: int):
    """Nodes in [-1, 1], weights, and barycentric weights of the nodes (second form)."""
    t, w = np.polynomial.legendre.leggauss(q)
    diff = t[:, None] - t[None, :]
    np.fill_diagonal(diff, 1.0)
    bary = 1.0 / np.prod(diff, axis=1)
    return t, w, bary / np.max(np.abs(bary))


@dataclass(frozen=True)
class PanelGrid:
    edges: np.ndarray  # (P + 1,) increasing
    nodes: np.ndarray  # (P * q,) increasing, Gauss-Legendre nodes of each panel
    q: int

    @property
    def lo(self) -> float:
        return float(self.edges[0])

    @property
    def hi(self) -> float:
        return float(self.edges[-1])


def graded_grid(kink: float, w_min: float, growth: float, lo: float, hi: float, q: int) -> PanelGrid:
    """Panels on [lo, hi] with an edge at ``kink``, widths max(w_min, growth * distance to the kink)."""
    kink = min(max(kink, lo), hi)

    def side(length):
        out, d = [0.0], 0.0
        while d < length:
            d = d + max(w_min, growth * d)
            out.append(min(d, length))
        if len(out) > 2 and out[-1] - out[-2] < 0.3 * (out[-2] - out[-3]):  # no sliver at the end
            out.pop(-2)
        return np.array(out)

    right = kink + side(hi - kink) if hi > kink else np.array([kink])
    left = kink - side(kink - lo)[::-1] if kink > lo else np.array([kink])
    edges = np.concatenate([left[:-1], right])
    t, _, _ = gauss_legendre(q)
    mid, half = 0.5 * (edges[1:] + edges[:-1]), 0.5 * np.diff(edges)
    nodes = (mid[:, None] + half[:, None] * t[None, :]).ravel()
    return PanelGrid(edges, nodes, q)


# -------------------------------------------------------------------------------- one Gaussian step


@njit(cache=True)
def _panel_of(edges, y):
    p = np.searchsorted(edges, y, side="right") - 1
    return min(max(p, 0), edges.size - 2)


@njit(cache=True)
def _interp_weights(edges, nodes, bary, q, p, y, out):
    """Barycentric Lagrange weights of the q nodes of panel p at y (into out)."""
    base = p * q
    total = 0.0
    for k in range(q):
        d = y - nodes[base + k]
        if d == 0.0:
            for kk in range(q):
                out[kk] = 0.0
            out[k] = 1.0
            return
        out[k] = bary[k] / d
        total += out[k]
    for k in range(q):
        out[k] /= total


@njit(cache=True)
def _value_at(kind, edges, nodes, bary, q, phi, slope, kappa, s, y, lw):
    """(phi(y), phi'(y), panel) from the exact bottom or by interpolation (weights left in lw)."""
    p = _panel_of(edges, y)
    if kind != NODES:
        f, d = _bottom(kind, y, kappa, s)
        return f, d, p
    _interp_weights(edges, nodes, bary, q, p, y, lw)
    f = 0.0
    d = 0.0
    base = p * q
    for k in range(q):
        f += lw[k] * phi[base + k]
        d += lw[k] * slope[base + k]
    return f, d, p


@njit(cache=True)
def _find_modes(x, kind, edges, nodes, bary, q, phi, slope, kappa, s, var, m, lw, modes, lmode):
    """Local maxima of L(h) = -(h - x)^2 / 2 var + m phi(h) on [lo, hi] (the _MAX_MODES highest)."""
    n = nodes.size
    sd = math.sqrt(var)
    count = 0
    # L' on the points edge_lo, nodes..., edge_hi: a maximum where it turns from + to - (bisection
    # between the two points), or at an end of the range where L' points out of it
    dprev = 0.0
    pprev = edges[0]
    for k in range(n + 2):
        if k == 0 or k == n + 1:
            pk = edges[0] if k == 0 else edges[-1]
            f, d, p = _value_at(kind, edges, nodes, bary, q, phi, slope, kappa, s, pk, lw)
            dk = -(pk - x) / var + m * d
        else:
            pk = nodes[k - 1]
            dk = -(pk - x) / var + m * slope[k - 1]
        h = np.nan
        if k == 0:
            if dk <= 0.0:
                h = pk
        elif k == n + 1 and dk > 0.0:
            h = pk
        elif dprev > 0.0 and dk <= 0.0:
            a, b = pprev, pk
            for _ in range(80):  # bisection on L'
                c = 0.5 * (a + b)
                f, d, p = _value_at(kind, edges, nodes, bary, q, phi, slope, kappa, s, c, lw)
                if -(c - x) / var + m * d > 0.0:
                    a = c
                else:
                    b = c
                if b - a <= 1e-4 * min(sd, pk - pprev) + 1e-15 * abs(c):
                    break  # the maximum only centres a window of +-10 widths: 1e-4 of a node gap is plenty
            h = 0.5 * (a + b)
        dprev, pprev = dk, pk
        if h != h:  # nan: no maximum here
            continue
        f, d, p = _value_at(kind, edges, nodes, bary, q, phi, slope, kappa, s, h, lw)
        lh = -0.5 * (h - x) ** 2 / var + m * f
        if count < _MAX_MODES:
            modes[count] = h
            lmode[count] = lh
            count += 1
        else:
            worst = 0
            for i in range(count):
                if lmode[i] < lmode[worst]:
                    worst = i
            if lh > lmode[worst]:
                modes[worst] = h
                lmode[worst] = lh
    # where the moments E[phi], E[phi'^2] get their mass: huge |phi| or phi'^2 in a tail of tiny weight
    # (e.g. below kappa = -10) can outweigh the bulk; that node is kept as an extra centre (lmode = +inf)
    best, kbest = -np.inf, 0
    for k in range(n):
        lk = -0.5 * (nodes[k] - x) ** 2 / var + m * phi[k] + math.log(max(slope[k] ** 2, abs(phi[k]), 1e-300))
        if lk > best:
            best, kbest = lk, k
    if count == _MAX_MODES:
        count -= 1
    modes[count] = nodes[kbest]
    lmode[count] = np.inf
    count += 1
    return count


@njit(cache=True)
def _windows(x, kind, edges, nodes, bary, q, phi, slope, kappa, s, var, m, lw, modes, lmode, count, wa, wb, ww):
    """Merged integration windows [wa, wb] with local widths ww around the modes that matter."""
    sd = math.sqrt(var)
    lo, hi = edges[0], edges[-1]
    top = -np.inf
    for i in range(count):
        if lmode[i] < np.inf:
            top = max(top, lmode[i])
    ra = np.empty(count)
    rb = np.empty(count)
    rw = np.empty(count)
    nw = 0
    for i in range(count):
        if lmode[i] < top - _DROP:
            continue
        h = modes[i]
        f, d, p = _value_at(kind, edges, nodes, bary, q, phi, slope, kappa, s, h, lw)
        moment = lmode[i] == np.inf
        if moment:
            covered = False  # a node inside a mode's window: that window already holds its mass
            for k in range(nw):
                if ra[k] <= h <= rb[k]:
                    covered = True
            if covered:
                continue
            w = min(sd, edges[p + 1] - edges[p])
            l_ref = -0.5 * (h - x) ** 2 / var + m * f + math.log(max(d * d, abs(f), 1e-300))
            ends = np.empty(2)
            for side in range(2):
                r = 1.0
                e = 0.0
                for _ in range(60):
                    e = h - r * w if side == 0 else h + r * w
                    if e <= lo or e >= hi or r * w > 40.0 * sd:  # beyond 40 sd the Gaussian is e^-800
                        break
                    f2, d2, p2 = _value_at(kind, edges, nodes, bary, q, phi, slope, kappa, s, e, lw)
                    if -0.5 * (e - x) ** 2 / var + m * f2 + math.log(max(d2 * d2, abs(f2), 1e-300)) < l_ref - _DROP:
                        break
                    r *= 1.5
                ends[side] = min(max(e, lo), hi)
            ra[nw], rb[nw], rw[nw] = ends[0], ends[1], w
            modes[nw], lmode[nw] = h, w
            nw += 1
            continue
        dd = 1e-4 * min(sd, edges[p + 1] - edges[p])
        f1, d1, p1 = _value_at(kind, edges, nodes, bary, q, phi, slope, kappa, s, min(h + dd, hi), lw)
        f0, d0, p0 = _value_at(kind, edges, nodes, bary, q, phi, slope, kappa, s, max(h - dd, lo), lw)
        span = min(h + dd, hi) - max(h - dd, lo)  # 0 only if dd is below the rounding of h
        curv = 1.0 / var - (m * (d1 - d0) / span if span > 0.0 else 0.0)
        w = min(sd, 1.0 / math.sqrt(curv)) if curv > 0.0 else sd
        w = max(w, 1e-7 * sd)
        ends = np.empty(2)
        for side in range(2):
            r = 10.0
            e = 0.0
            for _ in range(60):
                e = h - r * w if side == 0 else h + r * w
                if e <= lo or e >= hi:
                    break
                f, d, p = _value_at(kind, edges, nodes, bary, q, phi, slope, kappa, s, e, lw)
                if -0.5 * (e - x) ** 2 / var + m * f < lmode[i] - _DROP:
                    break
                r *= 1.5
            ends[side] = min(max(e, lo), hi)
        ra[nw], rb[nw], rw[nw] = ends[0], ends[1], w
        modes[nw], lmode[nw] = h, w  # kept modes (and their widths) move to the front
        nw += 1
    order = np.argsort(ra[:nw])
    out = 0
    for t in range(nw):
        i = order[t]
        if out > 0 and ra[i] <= wb[out - 1]:
            wb[out - 1] = max(wb[out - 1], rb[i])
            ww[out - 1] = min(ww[out - 1], rw[i])
        else:
            wa[out], wb[out], ww[out] = ra[i], rb[i], rw[i]
            out += 1
    return out, nw


@njit(cache=True)
def _pieces(wa, wb, ww, nw, modes, n_modes, edges, sd, piece, pa, pb, fill):
    """Integration pieces of the windows: cut at panel edges and modes, length piece * local scale,
    the scale growing from the window's width at a mode like half the distance to it (capped at sd)."""
    count = 0
    for i in range(nw):
        h, b = wa[i], wb[i]
        while h < b:
            k_edge = np.searchsorted(edges, h, side="right")  # first panel edge strictly above h
            e = b if k_edge >= edges.size else min(b, edges[k_edge])
            tiny = 1e-14 * (abs(h) + sd)
            dist = np.inf
            for k in range(n_modes):
                dist = min(dist, abs(modes[k] - h))
                if h + tiny < modes[k] < e:
                    e = modes[k]
            scale = min(sd, max(ww[i], dist / 3.0))
            e = min(e, h + piece * scale)
            if e <= h:  # cannot happen (e > h by construction); guards the loop
                e = b
            if fill:
                pa[count], pb[count] = h, e
            count += 1
            h = e
    return count


@njit(cache=True)
def _gauss_step(xs, kind, edges, nodes, bary, q, phi, slope, kappa, s, var, m, gl_t, gl_w, piece, want_T):
    """For each output x: phi_out = (1/m) log int G_var(h - x) e^{m phi(h)} dh (m = 0: the plain mean),
    and the tilted means of phi, phi', phi'^2; T[j, k]: the tilted weights deposited on the nodes."""
    n_out, n = xs.size, nodes.size
    phi_out = np.empty(n_out)
    mean_phi = np.empty(n_out)
    mean_slope = np.empty(n_out)
    mean_slope2 = np.empty(n_out)
    T = np.zeros((n_out if want_T else 1, n if want_T else 1))
    lw = np.empty(q)
    sd = math.sqrt(var)
    modes = np.empty(_MAX_MODES)
    lmode = np.empty(_MAX_MODES)
    wa = np.empty(_MAX_MODES)
    wb = np.empty(_MAX_MODES)
    ww = np.empty(_MAX_MODES)
    qp = gl_t.size
    for j in range(n_out):
        x = xs[j]
        count = _find_modes(x, kind, edges, nodes, bary, q, phi, slope, kappa, s, var, m, lw, modes, lmode)
        nw, n_kept = _windows(x, kind, edges, nodes, bary, q, phi, slope, kappa, s, var, m, lw, modes, lmode,
                              count, wa, wb, ww)
        npc = _pieces(wa, wb, ww, nw, modes, n_kept, edges, sd, piece, wa, wa, False)
        if npc > 100000:  # a window cut into this many pieces is a mode-search failure: refuse, do not allocate
            raise ValueError("parisi_quadrature: an integration window needs more than 1e5 pieces")
        pa = np.empty(npc)
        pb = np.empty(npc)
        _pieces(wa, wb, ww, nw, modes, n_kept, edges, sd, piece, pa, pb, True)
        npts = npc * qp
        ys = np.empty(npts)
        lg = np.empty(npts)
        fs = np.empty(npts)
        ds = np.empty(npts)
        ps = np.empty(npts, dtype=np.int64)
        t_ = 0
        for c in range(npc):
            ln = pb[c] - pa[c]
            mid = 0.5 * (pa[c] + pb[c])
            p = _panel_of(edges, mid)
            for g in range(qp):
                y = mid + 0.5 * ln * gl_t[g]
                f, d, pp = _value_at(kind, edges, nodes, bary, q, phi, slope, kappa, s, y, lw)
                ys[t_], ps[t_], fs[t_], ds[t_] = y, p, f, d
                lg[t_] = math.log(0.5 * ln * gl_w[g]) - 0.5 * (y - x) ** 2 / var - math.log(sd) - _LOG_SQRT_2PI
                t_ += 1
        pis = np.empty(npts)
        s0 = 0.0  # Gaussian mass inside the windows
        for t in range(npts):
            s0 += math.exp(lg[t])
        if m > 0.0:
            big, arg = -np.inf, 0
            for t in range(npts):
                if lg[t] + m * fs[t] > big:
                    big, arg = lg[t] + m * fs[t], t
            tot = 0.0
            for t in range(npts):
                pis[t] = math.exp(lg[t] + m * fs[t] - big)
                tot += pis[t]
            fmin, fmax = np.inf, -np.inf
            for t in range(npts):
                if pis[t] > 1e-30 * tot:
                    fmin, fmax = min(fmin, fs[t]), max(fmax, fs[t])
            if m * (fmax - fmin) < 1.0 and s0 > 0.5:
                # weak tilt: the windows hold the Gaussian (normalised); around ref = E_G[phi],
                # phi_out = ref + log1p(E_G[expm1(m (phi - ref))]) / m is exact to rounding relative to the
                # spread of phi, also as m -> 0 or phi -> 0 (the log-sum-exp form loses eps / m)
                ref = 0.0
                for t in range(npts):
                    ref += math.exp(lg[t]) * fs[t]
                ref /= s0
                e1 = 0.0
                for t in range(npts):
                    e1 += math.exp(lg[t]) * math.expm1(m * (fs[t] - ref))
                phi_out[j] = ref + math.log1p(e1 / s0) / m
            else:
                phi_out[j] = (big + math.log(tot)) / m
            for t in range(npts):
                pis[t] /= tot
        else:
            for t in range(npts):
                pis[t] = math.exp(lg[t]) / s0
        a0, a1, a2 = 0.0, 0.0, 0.0
        for t in range(npts):
            pi = pis[t]
            a0 += pi * fs[t]
            a1 += pi * ds[t]
            a2 += pi * ds[t] * ds[t]
            if want_T:
                _interp_weights(edges, nodes, bary, q, ps[t], ys[t], lw)
                base = ps[t] * q
                for k in range(q):
                    T[j, base + k] += pi * lw[k]
        mean_phi[j], mean_slope[j], mean_slope2[j] = a0, a1, a2
        if m <= 0.0:
            phi_out[j] = a0
    return phi_out, mean_phi, mean_slope, mean_slope2, T


# -------------------------------------------------------------------------------- the recursion


@dataclass
class AccurateRecursion(LevelGradients):
    """Output of :func:`accurate_recursion` (same meaning as parisi.RecursionResult).

    value: Phi; sq_slope[i] = E_{P_i}[phi_i'^2]; mean_value[i] = E_{P_i}[phi_i]; phi, slope: per level on
    ``grid.nodes`` (diagnostics, tests).
    """

    value: float
    sq_slope: np.ndarray
    mean_value: np.ndarray
    grid: PanelGrid | None
    phi: list
    slope: list


@njit(cache=True)
def _bottom_many(kind, h, kappa, s):
    """_bottom on an array (a Python loop over the nodes was ~10% of a chain solve)."""
    f = np.empty(h.size)
    d = np.empty(h.size)
    for k in range(h.size):
        f[k], d[k] = _bottom(kind, h[k], kappa, s)
    return f, d


@dataclass(frozen=True)
class Bottom:
    """The bottom function phi_K: 'ising' log 2cosh h, 'abs' |h|, 'gap' log H((kappa - h)/s)."""

    kind: str
    kappa: float = 0.0
    s: float = 1.0

    @property
    def code(self) -> int:
        return {"ising": ISING, "gap": GAP, "abs": ABS}[self.kind]

    @property
    def kink(self) -> float:
        return self.kappa if self.kind == "gap" else 0.0

    def __call__(self, h):
        h = np.ascontiguousarray(np.atleast_1d(np.asarray(h, dtype=float)))
        return _bottom_many(self.code, h, float(self.kappa), float(self.s))


def grid_for(bottom: Bottom, variances: np.ndarray, breakpoints: np.ndarray, opts: QuadratureOptions) -> PanelGrid:
    """The base grid of a recursion: graded at the kink, covering the fields and their tilt."""
    a = np.maximum.accumulate(np.maximum(np.asarray(variances, dtype=float), 0.0))
    sd = float(np.sqrt(a[-1]))
    R = opts.extent
    if bottom.kind == "gap":
        w_min = opts.w_min_factor * min(bottom.s, 1.0)
        lo = min(-R * sd, bottom.kappa - R * sd) - 1.0
        hi = max(R * sd, bottom.kappa + R * sd) + 1.0
    else:
        tilt = float(np.sum(np.asarray(breakpoints, dtype=float) * np.diff(a))) if a.size > 1 else 0.0
        w_min = 0.5 * opts.w_min_factor
        hi = R * sd + tilt + 16.0
        lo = -hi
    return graded_grid(bottom.kink, w_min, opts.growth, lo, hi, opts.q_grid)


def _at_point(kind, grid, bary, phi, slope, bottom, y):
    """(phi(y), phi'(y), deposition weights on the nodes) at one point."""
    lw = np.empty(grid.q)
    f, d, p = _value_at(kind, grid.edges, grid.nodes, bary, grid.q, phi, slope, bottom.kappa, bottom.s, y, lw)
    dep = np.zeros(grid.nodes.size)
    _interp_weights(grid.edges, grid.nodes, bary, grid.q, p, y, lw)
    dep[p * grid.q:(p + 1) * grid.q] = lw
    return f, d, dep


def accurate_recursion(variances, breakpoints, bottom: Bottom, opts: QuadratureOptions = QuadratureOptions(),
                       grid: PanelGrid | None = None) -> AccurateRecursion:
    """The Parisi recursion (parisi.py conventions) with every Gaussian integral done accurately.

    variances: cumulative a_0 <= ... <= a_K; breakpoints m_1..m_K (any m >= 0; m > 1 allowed).
    """
    a = np.maximum.accumulate(np.maximum(np.asarray(variances, dtype=float), 0.0))
    m = np.asarray(breakpoints, dtype=float)
    K = m.size
    if a[-1] <= 0.0:  # no field at all: h = 0
        f, d = bottom(0.0)
        return AccurateRecursion(float(f[0]), np.full(K + 1, d[0] ** 2), np.full(K + 1, f[0]), None, [], [])
    grid = grid or grid_for(bottom, a, m, opts)
    _, _, bary = gauss_legendre(grid.q)
    gl_t, gl_w, _ = gauss_legendre(opts.q_piece)
    x = grid.nodes
    jumps = np.diff(a)
    phi, slope = [None] * (K + 1), [None] * (K + 1)
    phi[K], slope[K] = bottom(x)
    steps = [None] * (K + 1)  # per level i >= 1: (mean_phi, mean_slope2, T)
    # a jump below 1e-14 of the bottom's own scale (s^2 for the gap, 1 for spins) changes phi by less
    # than 1e-14 relative (heat kernel: D/2 (phi'' + m phi'^2)): no step (it is rounding of equal levels)
    negligible = 1e-14 * (min(bottom.s, 1.0) ** 2 if bottom.kind == "gap" else 1.0)
    for i in range(K, 0, -1):
        kind = bottom.code if i == K else NODES
        if jumps[i - 1] <= negligible:
            phi[i - 1], slope[i - 1] = phi[i].copy(), slope[i].copy()
            steps[i] = (phi[i].copy(), slope[i] ** 2, None)
            continue
        out, mphi, mslope, mslope2, T = _gauss_step(x, kind, grid.edges, x, bary, grid.q, phi[i], slope[i],
                                                    bottom.kappa, bottom.s, float(jumps[i - 1]), float(m[i - 1]),
                                                    gl_t, gl_w, opts.piece, i < K)
        phi[i - 1], slope[i - 1] = out, mslope
        steps[i] = (mphi, mslope2, T if i < K else None)
    kind0 = bottom.code if K == 0 else NODES
    # the root variance obeys the same rule: a lowest level that an iteration drives geometrically to 0
    # (1e-22, 1e-44, ... in the liquid-side layers of a chain) would otherwise reach the range where the
    # mode search cannot resolve the root Gaussian (sd below ~1e-26: 80 bisections of a node gap), and
    # the window around the unresolved centre was cut into up to 1e11 pieces (the bench's MemoryError)
    if a[0] > negligible:
        out, mphi, mslope, mslope2, T0 = _gauss_step(np.zeros(1), kind0, grid.edges, x, bary, grid.q, phi[0],
                                                     slope[0], bottom.kappa, bottom.s, float(a[0]), 0.0, gl_t,
                                                     gl_w, opts.piece, K > 0)
        value, sq0, mu = float(mphi[0]), float(mslope2[0]), T0[0]
    else:
        value, d0, mu = _at_point(kind0, grid, bary, phi[0], slope[0], bottom, 0.0)
        value, sq0 = float(value), float(d0) ** 2
    sq = np.empty(K + 1)
    mean = np.empty(K + 1)
    sq[0], mean[0] = sq0, value
    for i in range(1, K + 1):
        mphi, mslope2, T = steps[i]
        sq[i] = float(mu @ mslope2)
        mean[i] = float(mu @ mphi)
        if i < K:
            mu = mu if T is None else mu @ T
    return AccurateRecursion(value, sq, mean, grid, phi, slope)
