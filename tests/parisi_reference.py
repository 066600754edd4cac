"""Independent references for the Parisi recursion: adaptive scipy.integrate quadrature, nested per level.

Each Gaussian step (1/m) log E_z exp(m f(x + sigma z)) is integrated in log space: the maximum L* of
L(z) = m f(x + sigma z) - z^2/2 is located on a dense z grid (refined by a bounded scalar search), then
quad_vec integrates exp(L - L*) (times 1, f, f', f'^2) between the points where L has dropped by 60, split
at the kinks of f and at the maximum. Nothing here shares code with deepglass.theory.parisi_quadrature.
"""
import numpy as np
from scipy import integrate, optimize, special


def quad_components(g, edges, epsrel):
    """int g over [edges[0], edges[-1]] (vector g), relative accuracy per component: a rough pass gives
    each component's magnitude, the accurate adaptive pass (quad_vec) integrates the rescaled vector."""
    def run(fun, tol):
        return np.sum([integrate.quad_vec(fun, lo, hi, epsabs=0.0, epsrel=tol, norm="max", limit=2000)[0]
                       for lo, hi in zip(edges[:-1], edges[1:]) if hi > lo], axis=0)
    scale = np.abs(run(g, 1e-3))
    scale = np.where(scale > 0, scale, 1.0)
    return run(lambda z: g(z) / scale, epsrel) * scale


def _graded_points(centres, a, b, smallest):
    """Break points accumulating geometrically at each centre (kinks, the maximum), inside (a, b)."""
    pts = set()
    for c in centres:
        if not a <= c <= b:
            continue
        pts.add(c)
        for side, length in ((-1, c - a), (1, b - c)):
            if length > smallest:
                pts.update(c + side * np.geomspace(smallest, length, 30)[:-1])
    return sorted(p for p in pts if a < p < b)


LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


def gap_bottom(kappa, s):
    """log H((kappa - h)/s) and its slope, via erfcx above the kink (no cancellation in the deep tail)."""
    def f(h):
        u = (kappa - np.asarray(h, float)) / s
        up = np.maximum(u, 0.0)
        ex = special.erfcx(up / np.sqrt(2))
        lh = np.where(u > 0, np.log(0.5 * ex) - 0.5 * up * up, special.log_ndtr(-u))
        slope_pos = np.sqrt(2 / np.pi) / ex
        slope_neg = np.exp(-0.5 * u * u - LOG_SQRT_2PI - special.log_ndtr(-np.minimum(u, 0.0)))
        return lh, np.where(u > 0, slope_pos, slope_neg) / s
    return f


def ising_bottom(h):
    h = np.asarray(h, float)
    return np.logaddexp(h, -h), np.tanh(h)


def tilted(f, x, var, m, kinks=(), span=45.0):
    """(phi_out, E_w[f], E_w[f'], E_w[f'^2]) for the tilted Gaussian step of variance var from x."""
    sd = np.sqrt(var)

    def L(z):
        return m * f(x + sd * z)[0] - 0.5 * z * z

    zs = np.linspace(-span, span, 20001)
    vals = L(zs)
    k = int(np.argmax(vals))
    zstar, top = zs[k], vals[k]
    if 0 < k < zs.size - 1:
        r = optimize.minimize_scalar(lambda z: -L(np.array([z]))[0], bounds=(zs[k - 1], zs[k + 1]),
                                     method="bounded", options={"xatol": 1e-13 * (1 + abs(zs[k]))})
        if -r.fun > top:
            zstar, top = float(r.x), float(-r.fun)
    keep = np.append(zs[vals > top - 60.0], zstar)
    dz = zs[1] - zs[0]
    a, b = max(keep.min() - dz, zs[0]), min(keep.max() + dz, zs[-1])
    pts = _graded_points([(kk - x) / sd for kk in kinks] + [zstar], a, b, 1e-10 * (b - a))

    def g(z):
        v, d = f(np.array([x + sd * z]))
        w = np.exp(m * v[0] - 0.5 * z * z - top)
        return np.array([w, w * v[0], w * d[0], w * d[0] ** 2])

    norm, ef, ed, ed2 = quad_components(g, [a] + pts + [b], 1e-14)
    out = (top + np.log(norm) - LOG_SQRT_2PI) / m if m > 0 else ef / norm
    return out, ef / norm, ed / norm, ed2 / norm


def gaussian_mean(g, var, kinks=(), epsrel=1e-13):
    """E_{h ~ N(0, var)} g(h) (g vector valued) by quad_vec, split at the kinks."""
    sd = np.sqrt(var)
    edges = [-40.0] + sorted(k / sd for k in kinks if -40 < k / sd < 40) + [40.0]
    return quad_components(lambda z: g(sd * z) * np.exp(-0.5 * z * z - LOG_SQRT_2PI), edges, epsrel)


def rs(f, a, kinks=()):
    """RS: value E f, sq_slope E f'^2 at h ~ N(0, a)."""
    v = gaussian_mean(lambda h: np.array([f(np.array([h]))[0][0], f(np.array([h]))[1][0] ** 2]), a, kinks)
    return v[0], np.array([v[1]]), np.array([v[0]])


def one_rsb(f, a0, a1, m, kinks=(), span=lambda h: 45.0):
    """1RSB value, sq_slope[0..1] and mean_value[0..1]: nested adaptive quadrature (outer h0 ~ N(0, a0))."""
    def inner(h0):
        out, ef, ed, ed2 = tilted(f, h0, a1 - a0, m, kinks, span(h0))
        return np.array([out, ed * ed, ef, ed2])

    value, sq0, mv1, sq1 = gaussian_mean(inner, a0, kinks, epsrel=1e-12)
    return value, np.array([sq0, sq1]), np.array([value, mv1])
