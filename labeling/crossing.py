"""Where a closed ring of points touches or crosses itself (numpy only).

Used by labeling.geometry to refuse polygons that are not simple rings.
"""

from __future__ import annotations

import functools

import numpy as np

_PAIR_BLOCK = 1 << 20  # candidate edge pairs tested per numpy step (bounded memory)


def cross(ox, oy, ax, ay, bx, by):
    """z of (a - o) × (b - o): positive when o, a, b turn counter-clockwise, 0 when on one line."""
    return (ax - ox) * (by - oy) - (ay - oy) * (bx - ox)


def find_crossing(pts: np.ndarray) -> tuple[int, int, tuple[float, float]] | None:
    """The first pair of edges (i, j) of a closed ring that touch or cross, with a point where.

    Edge k runs from point k to point k+1 (the last back to the first). Edges that share a
    vertex only count when they fold back over each other. A sweep over x pairs only the
    edges whose x ranges overlap, tested in vectorised blocks, so typical rings of thousands of
    points take milliseconds and the worst case stays bounded in memory.
    """
    n = len(pts)
    ring = np.concatenate((pts, pts[:2]))  # the ring with its first two points again: no np.roll
    ax, ay = pts[:, 0], pts[:, 1]
    bx, by = ring[1 : n + 1, 0], ring[1 : n + 1, 1]
    # Neighbours folding back: collinear and pointing in opposite directions.
    nx, ny = ring[2:, 0], ring[2:, 1]
    fold = (cross(ax, ay, bx, by, nx, ny) == 0) & ((bx - ax) * (nx - bx) + (by - ay) * (ny - by) < 0)
    if fold.any():
        k = int(np.flatnonzero(fold)[0])
        return k, (k + 1) % n, (float(bx[k]), float(by[k]))
    if n < 4:
        return None
    x0, x1 = np.minimum(ax, bx), np.maximum(ax, bx)
    y0, y1 = np.minimum(ay, by), np.maximum(ay, by)
    if n <= _SMALL:
        i, j = _pairs(n)
        return _first_hit(pts, ax, ay, bx, by, x0, x1, y0, y1, i, j)
    order = np.argsort(x0, kind="stable")
    sx0 = x0[order]
    # Sorted position p pairs with every later position q whose edge starts before p's ends.
    stop = np.searchsorted(sx0, x1[order], side="right")
    counts = np.maximum(stop - np.arange(1, n + 1), 0)
    ends = np.cumsum(counts)
    start = 0
    while start < n:
        # Take positions until about _PAIR_BLOCK pairs.
        base = ends[start - 1] if start else 0
        end = int(np.searchsorted(ends, base + _PAIR_BLOCK, side="right"))
        end = max(end, start + 1)
        ps = np.arange(start, min(end, n))
        c = counts[ps]
        total = int(c.sum())
        start = end
        if not total:
            continue
        p = np.repeat(ps, c)
        offsets = np.arange(total) - np.repeat(np.cumsum(c) - c, c)
        q = p + 1 + offsets
        i, j = order[p], order[q]
        hit = _first_hit(pts, ax, ay, bx, by, x0, x1, y0, y1, i, j)
        if hit is not None:
            return hit
    return None


_SMALL = 64  # rings up to this many edges test all their pairs at once: no sweep to set up


@functools.lru_cache(maxsize=_SMALL + 1)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of edges of an n-ring that are not neighbours."""
    i, j = np.triu_indices(n, 2)
    keep = ~((i == 0) & (j == n - 1))
    return i[keep], j[keep]


def _first_hit(pts, ax, ay, bx, by, x0, x1, y0, y1, i, j):
    """The first of the candidate edge pairs (i, j) that touch or cross, or None."""
    n = len(pts)
    # x ranges overlap for the sweep's pairs, not for all pairs: test both axes.
    keep = (y0[i] <= y1[j]) & (y0[j] <= y1[i]) & (x0[i] <= x1[j]) & (x0[j] <= x1[i])
    diff = np.abs(i - j)
    keep &= (diff != 1) & (diff != n - 1)  # neighbours: tested for folding back by the caller
    i, j = i[keep], j[keep]
    if not len(i):
        return None
    d1 = cross(ax[i], ay[i], bx[i], by[i], ax[j], ay[j])
    d2 = cross(ax[i], ay[i], bx[i], by[i], bx[j], by[j])
    d3 = cross(ax[j], ay[j], bx[j], by[j], ax[i], ay[i])
    d4 = cross(ax[j], ay[j], bx[j], by[j], bx[i], by[i])
    # The boxes overlap, so this also catches touching and collinear overlap.
    hit = (d1 * d2 <= 0) & (d3 * d4 <= 0)
    if not hit.any():
        return None
    k = np.flatnonzero(hit)
    first = k[np.lexsort((np.maximum(i[k], j[k]), np.minimum(i[k], j[k])))[0]]
    e, f = sorted((int(i[first]), int(j[first])))
    return e, f, _meeting_point(pts, e, f)


def _meeting_point(pts: np.ndarray, e: int, f: int) -> tuple[float, float]:
    n = len(pts)
    p, r = pts[e], pts[(e + 1) % n] - pts[e]
    q, s = pts[f], pts[(f + 1) % n] - pts[f]
    denom = r[0] * s[1] - r[1] * s[0]
    if denom == 0:  # collinear overlap: an end of one edge that lies on the other
        for v in (q, q + s, p, p + r):
            if 0 <= (v - p) @ r <= r @ r and 0 <= (v - q) @ s <= s @ s:
                return float(v[0]), float(v[1])
    t = ((q - p)[0] * s[1] - (q - p)[1] * s[0]) / denom
    return float(p[0] + t * r[0]), float(p[1] + t * r[1])
