// Superpixel brush: paint with whole superpixels (SLIC, computed by the server once per visible
// region) instead of a round brush. Drag adds the superpixels under the pointer to the active mask
// (or starts a new one, as the brush does); Alt+drag removes them. Zooming or panning asks for
// the new region's superpixels on the next move.

import { api } from "../../labeling/api.js";
import { copyBitmap, emptyBitmap, grown } from "../rle.js";
import { snapshot } from "../store.js";
import { strokeCancel, strokeCommit } from "./mask.js";

export class SuperpixelTool {
  constructor(ws) {
    this.ws = ws; this.name = "superpixel";
    this.grid = null; this.grids = new Map(); this.loading = null; this.stroke = null; this.hover = null; this.hoverLabel = -1;
  }

  regionKey() {
    const ws = this.ws, [vx0, vy0, vx1, vy1] = ws.view.visible();
    const x0 = Math.max(0, Math.floor(vx0)), y0 = Math.max(0, Math.floor(vy0));
    const x1 = Math.min(ws.W, Math.ceil(vx1)), y1 = Math.min(ws.H, Math.ceil(vy1));
    if (x1 <= x0 || y1 <= y0) return null;
    return { key: `${ws.image.id}|${x0},${y0},${x1},${y1}`, x0, y0, x1, y1 };
  }

  /** The current region's superpixels, or null while they load (the request starts here). */
  gridNow() {
    const ws = this.ws;
    if (!ws.image) return null;
    const r = this.regionKey();
    if (!r) return null;
    if (this.grid?.key === r.key || (this.grid && this.stroke)) return this.grid; // keep one grid for a whole stroke
    if (this.grids.has(r.key)) { this.grid = this.grids.get(r.key); return this.grid; } // a view seen before
    if (this.loading?.key === r.key) return null;
    const image = ws.image;
    document.body.dataset.superpixels = "loading";
    const loading = this.loading = { key: r.key };
    api("POST", `/api/images/${image.id}/smart/superpixels/`, { region: { x: r.x0, y: r.y0, w: r.x1 - r.x0, h: r.y1 - r.y0 } }).then((res) => {
      if (this.loading !== loading || ws.image !== image) return;
      this.loading = null;
      if (!res.ok) { ws.toast(`Superpixels: ${res.data?.detail || `error ${res.status}`}`); document.body.dataset.superpixels = "error"; return; }
      this.grid = buildGrid(r.key, res.data);
      this.grids.set(r.key, this.grid);
      if (this.grids.size > 8) this.grids.delete(this.grids.keys().next().value);
      document.body.dataset.superpixels = "ready";
      ws.request();
    });
    return null;
  }

  labelAt(g, x, y) {
    if (x < g.x0 || y < g.y0 || x >= g.x1 || y >= g.y1) return -1;
    const r = Math.floor(((y - g.y0) * g.rows) / (g.y1 - g.y0)), c = Math.floor(((x - g.x0) * g.cols) / (g.x1 - g.x0));
    return g.labels[r * g.cols + c];
  }

  down(e, p) {
    const ws = this.ws, g = this.gridNow();
    if (!g) { ws.toast("Superpixels are loading…"); return; }
    const erase = e.altKey;
    let target = ws.activeMask != null ? ws.store.get(ws.activeMask) : null;
    if (target && (target.kind !== "mask" || !ws.isDrawn(target))) target = null;
    if (erase && !target) target = ws.store.hit(p.x, p.y, (a) => a.kind === "mask" && ws.isDrawn(a));
    if (erase && !target) return;
    let isNew = false;
    if (!target) {
      target = ws.store.insert({ id: null, version: null, hidden: false, kind: "mask", label_class: ws.activeClass,
        geometry: { bitmap: emptyBitmap() }, state: "accepted", origin: "human", score: null, iscrowd: false });
      isNew = true;
    }
    ws.activeMask = target.cid;
    ws.select([target.cid]);
    this.stroke = { cid: target.cid, before: isNew ? null : snapshot(target), bitmap: copyBitmap(target.geometry.bitmap), erase, done: new Set(), last: p };
    this.paintAt(g, p);
  }

  paintAt(g, p) {
    const s = this.stroke, ws = this.ws;
    const from = s.last, steps = Math.max(1, Math.ceil(Math.hypot(p.x - from.x, p.y - from.y) * ws.view.scale / 3));
    for (let i = 1; i <= steps; i++) {
      const k = this.labelAt(g, from.x + ((p.x - from.x) * i) / steps, from.y + ((p.y - from.y) * i) / steps);
      if (k < 0 || s.done.has(k)) continue;
      s.done.add(k);
      s.bitmap = paintLabel(g, k, s.bitmap, s.erase ? 0 : 1, ws.W, ws.H);
    }
    s.last = p;
    ws.store.setGeometry(s.cid, { bitmap: s.bitmap });
    ws.request();
  }

  move(e, p) {
    this.hover = p;
    const g = this.gridNow();
    if (!g) return;
    if (this.stroke) { this.paintAt(g, p); return; }
    const k = this.labelAt(g, p.x, p.y);
    if (k !== this.hoverLabel) { this.hoverLabel = k; this.ws.request(); }
  }

  up() {
    const s = this.stroke;
    this.stroke = null;
    strokeCommit(this.ws, s);
  }

  cancel() {
    const s = this.stroke;
    this.stroke = null;
    strokeCancel(this.ws, s);
  }

  leave() { this.hover = null; this.hoverLabel = -1; this.ws.request(); }

  drawOverlay(ctx, view) {
    const g = this.grid;
    if (!g || g.key !== this.regionKey()?.key || this.hoverLabel < 0 || this.stroke) return;
    const canvas = outlineCanvas(g, this.hoverLabel);
    const b = g.boxes[this.hoverLabel];
    const [sx, sy] = view.toScreen(g.x0 + (b[1] * (g.x1 - g.x0)) / g.cols, g.y0 + (b[0] * (g.y1 - g.y0)) / g.rows);
    ctx.save();
    ctx.globalAlpha = 0.5; ctx.imageSmoothingEnabled = false;
    ctx.drawImage(canvas, sx, sy, (canvas.width * (g.x1 - g.x0) * view.scale) / g.cols, (canvas.height * (g.y1 - g.y0) * view.scale) / g.rows);
    ctx.restore();
  }
}

function buildGrid(key, data) {
  const bytes = Uint8Array.from(atob(data.labels), (c) => c.charCodeAt(0));
  const labels = new Uint16Array(bytes.buffer);
  const boxes = Array.from({ length: data.count }, () => [Infinity, Infinity, -1, -1]); // r0, c0, r1, c1
  for (let r = 0; r < data.rows; r++) for (let c = 0; c < data.cols; c++) {
    const b = boxes[labels[r * data.cols + c]];
    if (r < b[0]) b[0] = r; if (c < b[1]) b[1] = c; if (r > b[2]) b[2] = r; if (c > b[3]) b[3] = c;
  }
  return { key, ...data, labels, boxes };
}

/** Set (value 1) or clear (0) the image pixels of superpixel k in a copy-on-grow bitmap. */
function paintLabel(g, k, bitmap, value, W, H) {
  const [r0, c0, r1, c1] = g.boxes[k], hh = g.y1 - g.y0, ww = g.x1 - g.x0;
  const X0 = g.x0 + Math.ceil((c0 * ww) / g.cols), X1 = g.x0 + Math.ceil(((c1 + 1) * ww) / g.cols);
  const Y0 = g.y0 + Math.ceil((r0 * hh) / g.rows), Y1 = g.y0 + Math.ceil(((r1 + 1) * hh) / g.rows);
  let b = bitmap;
  if (value) b = grown(b, X0, Y0, X1, Y1, W, H);
  const ys = Math.max(Y0, b.y0), ye = Math.min(Y1, b.y0 + b.h), xs = Math.max(X0, b.x0), xe = Math.min(X1, b.x0 + b.w);
  for (let y = ys; y < ye; y++) {
    const row = Math.floor(((y - g.y0) * g.rows) / hh) * g.cols;
    for (let x = xs; x < xe; x++) {
      if (g.labels[row + Math.floor(((x - g.x0) * g.cols) / ww)] === k) b.data[(y - b.y0) * b.w + (x - b.x0)] = value;
    }
  }
  return b;
}

function outlineCanvas(g, k) {
  const [r0, c0, r1, c1] = g.boxes[k], w = c1 - c0 + 1, h = r1 - r0 + 1;
  const canvas = new OffscreenCanvas(w, h), img = new ImageData(w, h), px = new Uint32Array(img.data.buffer);
  for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) if (g.labels[(r + r0) * g.cols + c + c0] === k) px[r * w + c] = 0xd0ffffff;
  canvas.getContext("2d").putImageData(img, 0, 0);
  return canvas;
}
