// Pure geometry helpers, all in image pixels.

export function bboxOf(kind, g) {
  if (kind === "box") return [g.x, g.y, g.x + g.w, g.y + g.h];
  if (kind === "polygon") {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const [x, y] of g.points) {
      if (x < x0) x0 = x; if (x > x1) x1 = x;
      if (y < y0) y0 = y; if (y > y1) y1 = y;
    }
    return [x0, y0, x1, y1];
  }
  if (kind === "mask") { const b = g.bitmap; return [b.x0, b.y0, b.x0 + b.w, b.y0 + b.h]; }
  return null;
}

export function pointInPolygon(points, x, y) {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [xi, yi] = points[i], [xj, yj] = points[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export function distToSegment(px, py, ax, ay, bx, by) {
  const dx = bx - ax, dy = by - ay;
  const len = dx * dx + dy * dy;
  let t = len ? ((px - ax) * dx + (py - ay) * dy) / len : 0;
  t = Math.max(0, Math.min(1, t));
  const x = ax + t * dx, y = ay + t * dy;
  return Math.hypot(px - x, py - y);
}

export function containsPoint(ann, x, y) {
  const g = ann.geometry;
  if (ann.kind === "box") return x >= g.x && x <= g.x + g.w && y >= g.y && y <= g.y + g.h;
  if (ann.kind === "polygon") return pointInPolygon(g.points, x, y);
  if (ann.kind === "mask") {
    const b = g.bitmap, cx = Math.floor(x) - b.x0, cy = Math.floor(y) - b.y0;
    return cx >= 0 && cy >= 0 && cx < b.w && cy < b.h && b.data[cy * b.w + cx] === 1;
  }
  return false;
}

export function polygonArea(points) {
  let s = 0;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) s += points[j][0] * points[i][1] - points[i][0] * points[j][1];
  return Math.abs(s) / 2;
}

export const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));
const round2 = (v) => Math.round(v * 100) / 100;

/** Move a box, polygon or mask by (dx, dy), kept inside the image. */
export function translate(kind, g, dx, dy, W, H) {
  const [x0, y0, x1, y1] = bboxOf(kind, g);
  dx = clamp(dx, -x0, W - x1);
  dy = clamp(dy, -y0, H - y1);
  if (kind === "box") return { x: round2(g.x + dx), y: round2(g.y + dy), w: g.w, h: g.h };
  if (kind === "polygon") return { points: g.points.map(([x, y]) => [round2(x + dx), round2(y + dy)]) };
  // A mask moves by whole pixels: its bitmap is shifted, not resampled (the data is shared, never mutated).
  if (kind === "mask") return { bitmap: { ...g.bitmap, x0: g.bitmap.x0 + Math.round(dx), y0: g.bitmap.y0 + Math.round(dy) } };
  return g;
}

export function normBox(ax, ay, bx, by, W, H) {
  ax = clamp(ax, 0, W); bx = clamp(bx, 0, W); ay = clamp(ay, 0, H); by = clamp(by, 0, H);
  return { x: round2(Math.min(ax, bx)), y: round2(Math.min(ay, by)), w: round2(Math.abs(bx - ax)), h: round2(Math.abs(by - ay)) };
}

export const roundPoint = (x, y, W, H) => [round2(clamp(x, 0, W)), round2(clamp(y, 0, H))];
