// Masks as shapes: boolean operations, parts, polygon ↔ mask, and the magic wand's flood fill.
// Pure functions on bitmaps ({x0, y0, w, h, data}: a crop of the image, 1 = inside) in image
// pixels; nothing here touches the page.

import { emptyBitmap, trimmed } from "../rle.js";

/** The union of two bitmaps of one image. */
export function union(a, b) {
  if (!a.w) return { ...b, data: b.data.slice() };
  if (!b.w) return { ...a, data: a.data.slice() };
  const x0 = Math.min(a.x0, b.x0), y0 = Math.min(a.y0, b.y0);
  const x1 = Math.max(a.x0 + a.w, b.x0 + b.w), y1 = Math.max(a.y0 + a.h, b.y0 + b.h);
  const w = x1 - x0, h = y1 - y0, data = new Uint8Array(w * h);
  for (const s of [a, b]) {
    for (let y = 0; y < s.h; y++) {
      const row = (y + s.y0 - y0) * w + (s.x0 - x0);
      for (let x = 0; x < s.w; x++) if (s.data[y * s.w + x]) data[row + x] = 1;
    }
  }
  return { x0, y0, w, h, data };
}

/** a without b, trimmed (empty when nothing is left). */
export function subtract(a, b) {
  const out = { ...a, data: a.data.slice() };
  const x0 = Math.max(a.x0, b.x0), y0 = Math.max(a.y0, b.y0);
  const x1 = Math.min(a.x0 + a.w, b.x0 + b.w), y1 = Math.min(a.y0 + a.h, b.y0 + b.h);
  for (let y = y0; y < y1; y++)
    for (let x = x0; x < x1; x++)
      if (b.data[(y - b.y0) * b.w + (x - b.x0)]) out.data[(y - a.y0) * a.w + (x - a.x0)] = 0;
  return trimmed(out);
}

/** The 8-connected parts of a bitmap, largest first, each trimmed to itself. */
export function parts(b) {
  const { w, h, data } = b, label = new Int32Array(w * h), stack = new Int32Array(w * h);
  const found = [];
  let next = 0;
  for (let start = 0; start < w * h; start++) {
    if (!data[start] || label[start]) continue;
    next++;
    let top = 0, x0 = w, y0 = h, x1 = -1, y1 = -1, area = 0;
    stack[top++] = start; label[start] = next;
    while (top) {
      const i = stack[--top], x = i % w, y = (i - x) / w;
      area++;
      if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= w) continue;
          const j = ny * w + nx;
          if (data[j] && !label[j]) { label[j] = next; stack[top++] = j; }
        }
      }
    }
    found.push({ id: next, x0, y0, x1, y1, area });
  }
  return found.sort((a, c) => c.area - a.area).map((p) => {
    const pw = p.x1 - p.x0 + 1, ph = p.y1 - p.y0 + 1, out = new Uint8Array(pw * ph);
    for (let y = 0; y < ph; y++) for (let x = 0; x < pw; x++) if (label[(y + p.y0) * w + x + p.x0] === p.id) out[y * pw + x] = 1;
    return { x0: b.x0 + p.x0, y0: b.y0 + p.y0, w: pw, h: ph, data: out };
  });
}

/** A polygon rasterised as pycocotools does for masks: the pixels whose centres are inside (even-odd). */
export function bitmapFromPolygon(points, W, H) {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const [x, y] of points) { minX = Math.min(minX, x); minY = Math.min(minY, y); maxX = Math.max(maxX, x); maxY = Math.max(maxY, y); }
  const x0 = Math.max(0, Math.floor(minX)), y0 = Math.max(0, Math.floor(minY));
  const x1 = Math.min(W, Math.ceil(maxX)), y1 = Math.min(H, Math.ceil(maxY));
  if (x1 <= x0 || y1 <= y0) return emptyBitmap();
  const w = x1 - x0, h = y1 - y0, data = new Uint8Array(w * h), xs = [];
  for (let y = y0; y < y1; y++) {
    const cy = y + 0.5;
    xs.length = 0;
    for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
      const [ax, ay] = points[j], [bx, by] = points[i];
      if ((ay > cy) !== (by > cy)) xs.push(ax + ((cy - ay) * (bx - ax)) / (by - ay));
    }
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      // Pixel x is inside when its centre x + 0.5 lies in [xs[k], xs[k + 1]).
      const from = Math.max(x0, Math.ceil(xs[k] - 0.5)), to = Math.min(x1, Math.ceil(xs[k + 1] - 0.5));
      for (let x = from; x < to; x++) data[(y - y0) * w + (x - x0)] = 1;
    }
  }
  return trimmed({ x0, y0, w, h, data });
}

/** The outer boundary of one 8-connected part, along pixel edges, as corner points (clockwise on screen). */
function traceOuter(b) {
  const { w, h, data } = b;
  const inside = (x, y) => x >= 0 && y >= 0 && x < w && y < h && data[y * w + x] === 1;
  let start = -1;
  for (let i = 0; i < w * h; i++) if (data[i]) { start = i; break; }
  if (start < 0) return [];
  const sx = start % w, sy = (start - sx) / w;
  const DX = [1, 0, -1, 0], DY = [0, 1, 0, -1];
  // For a walk with the part on its right: the two pixels ahead of corner (x, y) going in d.
  const aheadLeft = [(x, y) => inside(x, y - 1), (x, y) => inside(x, y), (x, y) => inside(x - 1, y), (x, y) => inside(x - 1, y - 1)];
  const aheadRight = [(x, y) => inside(x, y), (x, y) => inside(x - 1, y), (x, y) => inside(x - 1, y - 1), (x, y) => inside(x, y - 1)];
  const pts = [[sx, sy]];
  let x = sx + 1, y = sy, d = 0;
  for (let guard = 0; guard < 4 * (w + 1) * (h + 1) + 8; guard++) {
    let nd;
    if (aheadLeft[d](x, y)) nd = (d + 3) % 4; // a diagonal neighbour: turn into it (8-connected)
    else if (aheadRight[d](x, y)) nd = d;
    else nd = (d + 1) % 4;
    if (x === sx && y === sy && nd === 0) break;
    if (nd !== d) pts.push([x, y]);
    d = nd; x += DX[d]; y += DY[d];
  }
  return pts.map(([px, py]) => [px + b.x0, py + b.y0]);
}

function perpDist(p, a, b) {
  const dx = b[0] - a[0], dy = b[1] - a[1], len = Math.hypot(dx, dy);
  if (!len) return Math.hypot(p[0] - a[0], p[1] - a[1]);
  return Math.abs(dy * p[0] - dx * p[1] + b[0] * a[1] - b[1] * a[0]) / len;
}

/** Douglas–Peucker on an open chain (iterative, so long outlines do not overflow the stack). */
function simplifyChain(pts, tol) {
  const keep = new Uint8Array(pts.length);
  keep[0] = keep[pts.length - 1] = 1;
  const stack = [[0, pts.length - 1]];
  while (stack.length) {
    const [i, j] = stack.pop();
    let best = -1, far = tol;
    for (let k = i + 1; k < j; k++) { const dd = perpDist(pts[k], pts[i], pts[j]); if (dd > far) { far = dd; best = k; } }
    if (best >= 0) { keep[best] = 1; stack.push([i, best], [best, j]); }
  }
  return pts.filter((_, k) => keep[k]);
}

/** A closed ring simplified: split at the point farthest from the first, simplify both halves. */
export function simplifyRing(pts, tol) {
  if (pts.length <= 4 || tol <= 0) return pts;
  let far = 0, fi = 0;
  for (let k = 1; k < pts.length; k++) { const dd = Math.hypot(pts[k][0] - pts[0][0], pts[k][1] - pts[0][1]); if (dd > far) { far = dd; fi = k; } }
  const a = simplifyChain(pts.slice(0, fi + 1), tol), b = simplifyChain([...pts.slice(fi), pts[0]], tol);
  const out = [...a.slice(0, -1), ...b.slice(0, -1)];
  return out.length >= 3 ? out : pts;
}

/** Each part's outer outline as a polygon (holes cannot be polygons; they are filled). */
export function polygonsFromBitmap(b, tolerance) {
  return parts(b).map((p) => simplifyRing(traceOuter(p), tolerance)).filter((pts) => pts.length >= 3);
}

/**
 * The magic wand: the 4-connected region around (sx, sy) whose colours are within ``tol`` (per
 * channel, 0..255) of the seed's, on RGBA pixels of a w×h region. Returns a Uint8Array w×h and
 * the region's bounds, or null when the seed is outside.
 */
export function floodFill(rgba, w, h, sx, sy, tol, out = null, stack = null) {
  if (sx < 0 || sy < 0 || sx >= w || sy >= h) return null;
  const mask = out && out.length === w * h ? out.fill(0) : new Uint8Array(w * h);
  // Seeds of runs still to fill; at most two per pixel can wait at once.
  const todo = stack && stack.length >= 2 * w * h + 8 ? stack : new Int32Array(2 * w * h + 8);
  const s = (sy * w + sx) * 4, r0 = rgba[s], g0 = rgba[s + 1], b0 = rgba[s + 2];
  const ok = (i) => {
    const p = i * 4;
    return Math.abs(rgba[p] - r0) <= tol && Math.abs(rgba[p + 1] - g0) <= tol && Math.abs(rgba[p + 2] - b0) <= tol;
  };
  let top = 0, x0 = sx, y0 = sy, x1 = sx, y1 = sy;
  todo[top++] = sy * w + sx;
  while (top) {
    const i = todo[--top];
    if (mask[i]) continue;
    const y = (i / w) | 0, row = y * w;
    let l = i - row, r = l;
    while (l > 0 && !mask[row + l - 1] && ok(row + l - 1)) l--;
    while (r < w - 1 && !mask[row + r + 1] && ok(row + r + 1)) r++;
    mask.fill(1, row + l, row + r + 1);
    if (l < x0) x0 = l; if (r > x1) x1 = r; if (y < y0) y0 = y; if (y > y1) y1 = y;
    for (const ny of [y - 1, y + 1]) {
      if (ny < 0 || ny >= h) continue;
      const nrow = ny * w;
      let prev = false;
      for (let x = l; x <= r; x++) {
        const j = nrow + x, good = !mask[j] && ok(j);
        if (good && !prev) todo[top++] = j;
        prev = good;
      }
    }
  }
  return { mask, x0, y0, x1, y1 };
}
