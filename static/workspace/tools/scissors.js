// Intelligent scissors (live wire): click points around an object; between the last point and the
// cursor the outline follows the strongest edges (the cheapest path on a cost that is low where
// the image's gradient is high). Click to fix a piece; Enter, or a click on the first point,
// closes the outline into a polygon (a mask in a project without polygons); Backspace drops the
// last piece; Esc cancels.
//
// In the browser, on the pixels on screen: a click runs one Dijkstra from the new point over a
// window of the visible region (the set-up); each mouse move then only walks the stored
// predecessors back from the cursor, which is why a move costs well under a frame.

import { roundPoint } from "../geometry.js";
import { bitmapFromPolygon, simplifyRing } from "./maskops.js";
import { visiblePixels } from "./pixels.js";

const WINDOW = 320; // region pixels each side of the last point that the wire may use
const CLOSE_PX = 8;

/** Cost of stepping onto each pixel: low on strong edges. The gradient is taken on each colour
 * channel (Sobel) and summed, because objects often differ from their background in hue more than
 * in brightness (a red disc on green grass can be nearly invisible in grey). */
export function costMap(r) {
  const { w, h, rgba } = r, mag = new Float32Array(w * h), cost = new Float32Array(w * h);
  const W4 = 4 * w;
  let max = 1;
  for (let y = 1; y < h - 1; y++) for (let x = 1; x < w - 1; x++) {
    const p = 4 * (y * w + x);
    let sum = 0;
    for (let c = 0; c < 3; c++) {
      const q = p + c;
      const gx = rgba[q - W4 + 4] + 2 * rgba[q + 4] + rgba[q + W4 + 4] - rgba[q - W4 - 4] - 2 * rgba[q - 4] - rgba[q + W4 - 4];
      const gy = rgba[q + W4 - 4] + 2 * rgba[q + W4] + rgba[q + W4 + 4] - rgba[q - W4 - 4] - 2 * rgba[q - W4] - rgba[q - W4 + 4];
      sum += gx * gx + gy * gy;
    }
    const m = Math.sqrt(sum);
    mag[y * w + x] = m; if (m > max) max = m;
  }
  // A small floor keeps paths short across flat areas.
  for (let i = 0; i < w * h; i++) cost[i] = 1 - mag[i] / max + 0.03;
  return cost;
}

class Heap {
  constructor(n) { this.keys = new Float64Array(n); this.vals = new Int32Array(n); this.size = 0; }
  push(k, v) {
    if (this.size === this.keys.length) {
      const keys = new Float64Array(this.size * 2), vals = new Int32Array(this.size * 2);
      keys.set(this.keys); vals.set(this.vals); this.keys = keys; this.vals = vals;
    }
    let i = this.size++;
    const K = this.keys, V = this.vals;
    while (i > 0) { const p = (i - 1) >> 1; if (K[p] <= k) break; K[i] = K[p]; V[i] = V[p]; i = p; }
    K[i] = k; V[i] = v;
  }
  pop() {
    const K = this.keys, V = this.vals, top = V[0], k = K[--this.size], v = V[this.size];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= this.size) break;
      if (c + 1 < this.size && K[c + 1] < K[c]) c++;
      if (K[c] >= k) break;
      K[i] = K[c]; V[i] = V[c]; i = c;
    }
    K[i] = k; V[i] = v;
    return top;
  }
}

/** Shortest paths from (ax, ay) within a window of the region: the predecessors of every pixel. */
export function wireFrom(r, cost, ax, ay) {
  const x0 = Math.max(0, ax - WINDOW), y0 = Math.max(0, ay - WINDOW);
  const x1 = Math.min(r.w, ax + WINDOW + 1), y1 = Math.min(r.h, ay + WINDOW + 1);
  const ww = x1 - x0, wh = y1 - y0, n = ww * wh;
  const dist = new Float32Array(n).fill(Infinity), prev = new Int32Array(n).fill(-1), done = new Uint8Array(n);
  const heap = new Heap(4 * n + 16), start = (ay - y0) * ww + (ax - x0);
  dist[start] = 0; heap.push(0, start);
  const DX = [1, -1, 0, 0, 1, 1, -1, -1], DY = [0, 0, 1, -1, 1, -1, 1, -1], LEN = [1, 1, 1, 1, Math.SQRT2, Math.SQRT2, Math.SQRT2, Math.SQRT2];
  while (heap.size) {
    const i = heap.pop();
    if (done[i]) continue;
    done[i] = 1;
    const x = i % ww, y = (i - x) / ww, d = dist[i];
    for (let k = 0; k < 8; k++) {
      const nx = x + DX[k], ny = y + DY[k];
      if (nx < 0 || ny < 0 || nx >= ww || ny >= wh) continue;
      const j = ny * ww + nx;
      if (done[j]) continue;
      const nd = d + cost[(ny + y0) * r.w + nx + x0] * LEN[k];
      if (nd < dist[j]) { dist[j] = nd; prev[j] = i; heap.push(nd, j); }
    }
  }
  return { x0, y0, ww, wh, prev, ax, ay };
}

export class ScissorsTool {
  constructor(ws) {
    this.ws = ws; this.name = "scissors";
    this.region = null; this.cost = null; this.wire = null;
    this.anchors = []; this.pieces = []; this.live = null; this.hover = null;
    this.moveTimes = []; this.setupTimes = []; // ms, read by the benchmark
  }
  get busy() { return this.anchors.length > 0; }

  /** Region pixel of an image point, in the current region (re-read when the view changed). */
  ensure() {
    const r = visiblePixels(this.ws, this.region);
    if (!r) return null;
    if (r !== this.region) { this.region = r; this.cost = costMap(r); this.wire = null; }
    return r;
  }
  toRegion(r, x, y) {
    return [Math.max(0, Math.min(r.w - 1, Math.floor((x - r.x0) * r.sx))), Math.max(0, Math.min(r.h - 1, Math.floor((y - r.y0) * r.sy)))];
  }
  toImage(r, rx, ry) { return roundPoint(r.x0 + (rx + 0.5) / r.sx, r.y0 + (ry + 0.5) / r.sy, this.ws.W, this.ws.H); }

  startWire() {
    const r = this.ensure(), a = this.anchors[this.anchors.length - 1];
    if (!r || !a) return;
    const t0 = performance.now();
    const [ax, ay] = this.toRegion(r, a[0], a[1]);
    this.wire = wireFrom(r, this.cost, ax, ay);
    this.wire.key = r.key;
    this.setupTimes.push(performance.now() - t0);
  }

  /** The snapped path from the last point to (x, y) in image pixels (a straight line outside the window). */
  pathTo(x, y) {
    const r = this.ensure(), a = this.anchors[this.anchors.length - 1];
    if (!r || !a) return [];
    if (!this.wire || this.wire.key !== r.key) this.startWire();
    const wr = this.wire, [tx, ty] = this.toRegion(r, x, y);
    const lx = tx - wr.x0, ly = ty - wr.y0;
    if (lx < 0 || ly < 0 || lx >= wr.ww || ly >= wr.wh) return [a, roundPoint(x, y, this.ws.W, this.ws.H)];
    const out = [];
    for (let i = ly * wr.ww + lx, guard = 0; i >= 0 && guard < wr.ww * wr.wh; i = wr.prev[i], guard++) {
      const px = i % wr.ww, py = (i - px) / wr.ww;
      out.push(this.toImage(r, px + wr.x0, py + wr.y0));
    }
    out.reverse();
    out[0] = a;
    return out;
  }

  down(e, p) {
    const ws = this.ws;
    if (!ws.renderer.levels.length) { ws.toast("The image is still loading."); return; }
    if (this.anchors.length >= 3) {
      const [fx, fy] = ws.view.toScreen(...this.anchors[0]);
      if (Math.hypot(fx - p.sx, fy - p.sy) <= CLOSE_PX) { this.close(); return; }
    }
    const point = roundPoint(p.x, p.y, ws.W, ws.H);
    if (this.anchors.length) this.pieces.push(this.pathTo(point[0], point[1]));
    this.anchors.push(point);
    this.startWire();
    this.live = null;
    ws.request();
  }

  move(e, p) {
    this.hover = p;
    if (!this.anchors.length) return;
    const t0 = performance.now();
    this.live = this.pathTo(p.x, p.y);
    this.moveTimes.push(performance.now() - t0);
    if (this.moveTimes.length > 5000) this.moveTimes.splice(0, 2500);
    this.ws.request();
  }

  up() {}

  close() {
    const ws = this.ws;
    if (this.anchors.length < 2) { this.cancel(); return; }
    const pieces = [...this.pieces, this.pathTo(...this.anchors[0])];
    const ring = [];
    for (const piece of pieces) ring.push(...piece.slice(0, -1));
    const r = this.region, tol = r ? 0.7 / Math.min(r.sx, 1) : 0.7;
    const points = simplifyRing(ring, tol);
    this.cancel();
    if (points.length < 3) { ws.toast("The outline encloses nothing."); return; }
    if (ws.kinds.has("polygon")) ws.createShape("polygon", { points });
    else {
      const bitmap = bitmapFromPolygon(points, ws.W, ws.H);
      if (bitmap.w) ws.createShape("mask", { bitmap });
    }
  }

  key(e) {
    if (!this.anchors.length) return false;
    if (e.key === "Enter") { this.close(); return true; }
    if (e.key === "Escape") { this.cancel(); return true; }
    if (e.key === "Backspace") {
      this.anchors.pop(); this.pieces.pop();
      this.wire = null;
      if (this.anchors.length) this.startWire();
      this.live = this.hover && this.anchors.length ? this.pathTo(this.hover.x, this.hover.y) : null;
      this.ws.request();
      return true;
    }
    return false;
  }

  cancel() { this.anchors = []; this.pieces = []; this.live = null; this.wire = null; this.ws.request(); }

  drawOverlay(ctx, view) {
    if (!this.anchors.length) return;
    const ws = this.ws;
    ctx.save();
    ctx.strokeStyle = ws.colorOf(ws.activeClass); ctx.lineWidth = 2;
    ctx.beginPath();
    for (const piece of [...this.pieces, ...(this.live ? [this.live] : [])]) {
      piece.forEach(([x, y], i) => { const [sx, sy] = view.toScreen(x, y); i ? ctx.lineTo(sx, sy) : ctx.moveTo(sx, sy); });
    }
    ctx.stroke();
    ctx.fillStyle = "#fff";
    this.anchors.forEach(([x, y], i) => { const [sx, sy] = view.toScreen(x, y); ctx.fillRect(sx - (i ? 3 : 5), sy - (i ? 3 : 5), i ? 6 : 10, i ? 6 : 10); });
    ctx.restore();
  }
}
