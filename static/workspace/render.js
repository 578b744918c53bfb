// Canvas drawing. Geometry stays in image pixels and is drawn through the view transform. Shapes
// are batched into one Path2D per class and cached as a screen-sized layer; while the view moves
// the layer is reused (scaled and shifted) and redrawn sharp once it settles. Selecting does not
// touch the layer (the selection is drawn over it): with thousands of shapes, rebuilding it took
// longer than a click may. Only a shape being changed live (dragged, painted) is lifted out of it.
// Frames are drawn in requestAnimationFrame, only when something changed.

import { polygonArea } from "./geometry.js";

const SETTLE_MS = 140;

function signedArea(points) {
  let s = 0;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) s += points[j][0] * points[i][1] - points[i][0] * points[j][1];
  return s;
}

export function addShapePath(path, ann) {
  const g = ann.geometry;
  if (ann.kind === "box") path.rect(g.x, g.y, g.w, g.h);
  else if (ann.kind === "polygon") {
    // Same winding for all, so overlapping polygons of one class do not cancel under nonzero fill.
    const pts = signedArea(g.points) < 0 ? g.points.slice().reverse() : g.points;
    path.moveTo(pts[0][0], pts[0][1]);
    for (let i = 1; i < pts.length; i++) path.lineTo(pts[i][0], pts[i][1]);
    path.closePath();
  }
}

function maskCanvas(ann, color) {
  if (ann.cache && ann.cache.color === color && ann.cache.bitmap === ann.geometry.bitmap) return ann.cache.canvas;
  const b = ann.geometry.bitmap;
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, b.w); canvas.height = Math.max(1, b.h);
  if (b.w && b.h) {
    const img = new ImageData(b.w, b.h), px = new Uint32Array(img.data.buffer);
    const r = parseInt(color.slice(1, 3), 16), g = parseInt(color.slice(3, 5), 16), bl = parseInt(color.slice(5, 7), 16);
    const value = (255 << 24) | (bl << 16) | (g << 8) | r; // little-endian RGBA
    for (let i = 0; i < b.data.length; i++) if (b.data[i]) px[i] = value;
    canvas.getContext("2d").putImageData(img, 0, 0);
  }
  ann.cache = { color, bitmap: b, canvas };
  return canvas;
}

export class Renderer {
  constructor(canvas, ws) {
    this.canvas = canvas; this.ctx = canvas.getContext("2d");
    this.ws = ws;
    this.layer = document.createElement("canvas");
    this.layerKey = null; this.layerView = null;
    this.groupsKey = null; this.groups = [];
    this.levels = [];
    this.pending = false; this.settleTimer = null;
    this.frameTimes = []; // ms spent drawing each frame, read by the benchmark
    this.viewMovedAt = 0;
  }

  resize() {
    const r = this.canvas.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
    this.dpr = dpr;
    this.canvas.width = Math.round(r.width * dpr); this.canvas.height = Math.round(r.height * dpr);
    this.layer.width = this.canvas.width; this.layer.height = this.canvas.height;
    this.ws.view.cw = r.width; this.ws.view.ch = r.height;
    this.layerKey = null;
    this.request();
  }

  /** Build downscaled copies of a big image, so zoomed-out frames do not resample 50 megapixels. */
  async setImage(img) {
    const levels = [{ src: img, f: 1 }];
    this.levels = levels;
    let w = img.naturalWidth || img.width, h = img.naturalHeight || img.height, f = 1, src = img;
    while (w > 2048 || h > 2048) {
      w = Math.ceil(w / 2); h = Math.ceil(h / 2); f *= 2;
      try { src = await createImageBitmap(src, { resizeWidth: w, resizeHeight: h, resizeQuality: "medium" }); }
      catch { break; }
      if (this.levels !== levels) return;
      levels.push({ src, f });
    }
    this.request();
  }

  clearImage() { this.levels = []; }

  viewChanged() {
    this.viewMovedAt = performance.now();
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => this.request(), SETTLE_MS);
    this.request();
  }

  request() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.draw(); });
  }

  draw() {
    const t0 = performance.now();
    const { ctx, ws } = this, view = ws.view, dpr = this.dpr || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#30343b";
    ctx.fillRect(0, 0, view.cw, view.ch);
    this.drawImage(ctx, view);
    this.drawLayer(ctx, view, t0);
    this.drawSelected(ctx, view);
    ws.tool?.drawOverlay?.(ctx, view);
    const dt = performance.now() - t0;
    this.frameTimes.push(dt);
    if (this.frameTimes.length > 2000) this.frameTimes.splice(0, 1000);
    ws.onFrame?.(dt);
  }

  drawImage(ctx, view) {
    if (!this.levels.length) return;
    let level = this.levels[0];
    for (const l of this.levels) if (view.scale * l.f <= 1.01) level = l; // coarsest level still sharp enough
    const [vx0, vy0, vx1, vy1] = view.visible();
    const x0 = Math.max(0, vx0), y0 = Math.max(0, vy0), x1 = Math.min(view.W, vx1), y1 = Math.min(view.H, vy1);
    if (x1 <= x0 || y1 <= y0) return;
    const f = level.f;
    ctx.imageSmoothingEnabled = view.scale < 2;
    const filter = this.ws.adjust?.filter || "none"; // brightness / contrast / gamma (adjust.js)
    if (filter !== "none") ctx.filter = filter;
    ctx.drawImage(level.src, x0 / f, y0 / f, (x1 - x0) / f, (y1 - y0) / f,
      x0 * view.scale + view.tx, y0 * view.scale + view.ty, (x1 - x0) * view.scale, (y1 - y0) * view.scale);
    if (filter !== "none") ctx.filter = "none";
  }

  /** One path per (class, proposed) for the visible shapes but the lifted ones, rebuilt when shapes change. */
  buildGroups() {
    const ws = this.ws, store = ws.store;
    // A lifted shape stays out of the layer while it is selected (drawSelected shows it); once
    // deselected it goes back in.
    for (const cid of store.lifted) if (!ws.selection.has(cid)) store.lifted.delete(cid);
    const lifted = store.lifted;
    const key = `${store.revision}|${ws.hiddenRevision}|${[...lifted].join(",")}`;
    if (key === this.groupsKey) return;
    const groups = new Map(), masks = [], labels = [], counts = new Map();
    for (const ann of store.all()) {
      if (ann.kind === "tag" || ann.state === "rejected") continue;
      // Instances of one class are told apart by number ("cat 2"), numbered as the object list does.
      const n = (counts.get(ann.label_class) || 0) + 1;
      counts.set(ann.label_class, n);
      ann.instance = n;
      if (!ws.isDrawn(ann) || lifted.has(ann.cid)) continue;
      labels.push(ann);
      if (ann.kind === "mask") { masks.push(ann); continue; }
      const proposed = ann.state === "proposed";
      const k = `${ann.label_class}|${proposed}`;
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { color: ws.colorOf(ann.label_class), proposed, path: new Path2D() }));
      addShapePath(g.path, ann);
    }
    this.groups = [...groups.values()]; this.masks = masks; this.labels = labels;
    this.groupsKey = key;
  }

  drawLayer(ctx, view, now) {
    this.buildGroups();
    const key = `${this.groupsKey}|${this.ws.opacity}|${this.ws.classRevision}`;
    const lv = this.layerView;
    const same = lv && lv.scale === view.scale && lv.tx === view.tx && lv.ty === view.ty;
    const moving = now - this.viewMovedAt < SETTLE_MS;
    if (key !== this.layerKey || (!same && !moving)) {
      this.renderLayer(view);
      this.layerKey = key; this.layerView = { scale: view.scale, tx: view.tx, ty: view.ty };
      ctx.drawImage(this.layer, 0, 0, view.cw, view.ch);
      return;
    }
    const s = view.scale / lv.scale;
    ctx.drawImage(this.layer, view.tx - lv.tx * s, view.ty - lv.ty * s, view.cw * s, view.ch * s);
  }

  renderLayer(view) {
    const ctx = this.layer.getContext("2d"), dpr = this.dpr || 1, ws = this.ws;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.layer.width, this.layer.height);
    ctx.setTransform(view.scale * dpr, 0, 0, view.scale * dpr, view.tx * dpr, view.ty * dpr);
    ctx.imageSmoothingEnabled = false;
    for (const ann of this.masks) {
      ctx.globalAlpha = Math.min(1, ws.opacity + 0.25);
      const b = ann.geometry.bitmap;
      if (b.w) ctx.drawImage(maskCanvas(ann, ws.colorOf(ann.label_class)), b.x0, b.y0);
      if (ann.state === "proposed" && b.w) { // a proposed mask: dashed frame, as proposed shapes are dashed
        ctx.globalAlpha = 1;
        ctx.setLineDash([6 / view.scale, 4 / view.scale]);
        ctx.lineWidth = 1.5 / view.scale; ctx.strokeStyle = ws.colorOf(ann.label_class);
        ctx.strokeRect(b.x0, b.y0, b.w, b.h);
        ctx.setLineDash([]);
      }
    }
    // One device pixel: Skia strokes such hairlines about 15 times faster than wider lines.
    ctx.lineWidth = 1 / (view.scale * dpr);
    ctx.lineJoin = "miter";
    for (const g of this.groups) {
      ctx.globalAlpha = ws.opacity;
      ctx.fillStyle = g.color;
      if (ws.opacity > 0) ctx.fill(g.path);
      ctx.globalAlpha = 1;
      ctx.strokeStyle = g.color;
      ctx.setLineDash(g.proposed ? [6 / view.scale, 4 / view.scale] : []);
      ctx.stroke(g.path);
    }
    ctx.setLineDash([]);
    ctx.globalAlpha = 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.drawnLabels = new Map(); // cid -> the text on screen, read by tests
    // Past a few hundred shapes the labels would hide the image; the object list still numbers them.
    if (this.labels.length && this.labels.length < 400) {
      ctx.font = "12px system-ui, sans-serif";
      for (const ann of this.labels) this.drawLabel(ctx, view, ann);
    }
  }

  /** "cat 2" for a label; a proposal is "? cat 2 0.87" on a light tag, so it cannot pass for a label. */
  drawLabel(ctx, view, ann) {
    const [x, y] = view.toScreen(ann.bbox[0], ann.bbox[1]);
    const proposed = ann.state === "proposed";
    const name = `${this.ws.nameOf(ann.label_class)} ${ann.instance || ""}`.trim();
    const text = proposed ? `? ${name} ${ann.score != null ? ann.score.toFixed(2) : ""}`.trim() : name;
    const w = ctx.measureText(text).width + 6;
    ctx.fillStyle = proposed ? "rgba(255,255,255,.85)" : "rgba(0,0,0,.6)";
    ctx.fillRect(x, y - 16, w, 16);
    ctx.fillStyle = proposed ? "#000" : "#fff";
    ctx.fillText(text, x + 3, y - 4);
    if (this.drawnLabels) this.drawnLabels.set(ann.cid, text);
  }

  drawSelected(ctx, view) {
    const ws = this.ws;
    for (const cid of ws.selection) {
      const ann = ws.store.get(cid);
      if (!ann || !ws.isDrawn(ann)) continue;
      const color = ws.colorOf(ann.label_class);
      ctx.save();
      ctx.setTransform(view.scale * this.dpr, 0, 0, view.scale * this.dpr, view.tx * this.dpr, view.ty * this.dpr);
      if (ann.kind === "mask") {
        const b = ann.geometry.bitmap;
        ctx.imageSmoothingEnabled = false;
        ctx.globalAlpha = Math.min(1, ws.opacity + 0.35);
        if (b.w) ctx.drawImage(maskCanvas(ann, color), b.x0, b.y0);
        ctx.globalAlpha = 1;
        ctx.setLineDash([4 / view.scale, 4 / view.scale]);
        ctx.strokeStyle = "#fff"; ctx.lineWidth = 1 / view.scale;
        ctx.strokeRect(b.x0, b.y0, b.w, b.h);
      } else {
        const path = new Path2D();
        addShapePath(path, ann);
        ctx.globalAlpha = Math.min(1, ws.opacity + 0.15);
        ctx.fillStyle = color; ctx.fill(path);
        ctx.globalAlpha = 1;
        ctx.setLineDash(ann.state === "proposed" ? [6 / view.scale, 4 / view.scale] : []);
        ctx.lineWidth = 2.5 / view.scale; ctx.strokeStyle = "#fff"; ctx.stroke(path);
        ctx.lineWidth = 1.5 / view.scale; ctx.strokeStyle = color; ctx.stroke(path);
      }
      ctx.restore();
      if (ws.selection.size === 1) this.drawHandles(ctx, view, ann);
      ctx.font = "12px system-ui, sans-serif"; this.drawLabel(ctx, view, ann);
    }
  }

  drawHandles(ctx, view, ann) {
    let pts = [];
    if (ann.kind === "box") pts = boxHandles(ann.geometry);
    else if (ann.kind === "polygon") pts = ann.geometry.points;
    ctx.lineWidth = 1;
    pts.forEach(([x, y], i) => {
      const [sx, sy] = view.toScreen(x, y);
      ctx.fillStyle = i === this.ws.selectedVertex ? "#ffeb3b" : "#fff";
      ctx.strokeStyle = "#000";
      ctx.fillRect(sx - 4, sy - 4, 8, 8); ctx.strokeRect(sx - 4, sy - 4, 8, 8);
    });
  }
}

/** The eight resize handles of a box, in the order resize() understands. */
export function boxHandles(g) {
  const { x, y, w, h } = g, mx = x + w / 2, my = y + h / 2;
  return [[x, y], [mx, y], [x + w, y], [x + w, my], [x + w, y + h], [mx, y + h], [x, y + h], [x, my]];
}

export { polygonArea };
