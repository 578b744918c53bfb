// Mask brush and eraser. Each instance is its own annotation: the brush paints into the active
// instance (the selected mask) or starts a new one; N starts a new one. The radius is in screen
// pixels, so the brush feels the same at any zoom.

import { copyBitmap, emptyBitmap, grown, paintDisc, trimmed } from "../rle.js";
import { snapshot } from "../store.js";

// The end of a painting stroke, shared by every tool that paints a mask bitmap (brush, eraser,
// superpixel brush): one undo step; an instance painted empty is deleted (or never saved).
export function strokeCommit(ws, s) {
  if (!s) return;
  const ann = ws.store.get(s.cid), bitmap = trimmed(s.bitmap);
  if (!bitmap.w) {
    if (!s.before) { ws.store.remove(s.cid); ws.select([]); ws.request(); return; }
    ws.activeMask = null;
    ws.commit([{ cid: s.cid, before: s.before, after: null }]);
    return;
  }
  ws.commit([{ cid: s.cid, before: s.before, after: { ...snapshot(ann), geometry: { bitmap } } }]);
}

// A stroke given up (Escape, tool change): the instance goes back to how it was before it.
export function strokeCancel(ws, s) {
  if (!s) return;
  if (!s.before) ws.store.remove(s.cid); else ws.store.apply(s.cid, s.before);
  ws.request();
}

export class MaskTool {
  constructor(ws, erase) { this.ws = ws; this.erase = erase; this.name = erase ? "eraser" : "brush"; this.stroke = null; this.hover = null; }

  down(e, p) {
    const ws = this.ws;
    let target = ws.activeMask != null ? ws.store.get(ws.activeMask) : null;
    if (target && (target.kind !== "mask" || !ws.isDrawn(target) || target.locked)) target = null; // locked: a new mask
    if (this.erase && !target) target = ws.store.hit(p.x, p.y, (a) => a.kind === "mask" && ws.isDrawn(a) && !a.locked);
    if (this.erase && !target) return;
    let isNew = false;
    if (!target) {
      target = ws.store.insert({ id: null, version: null, hidden: false, kind: "mask", label_class: ws.activeClass,
        geometry: { bitmap: emptyBitmap() }, state: "accepted", origin: "human", score: null, iscrowd: false });
      isNew = true;
    }
    ws.activeMask = target.cid;
    ws.select([target.cid]);
    this.stroke = { cid: target.cid, before: isNew ? null : snapshot(target), bitmap: copyBitmap(target.geometry.bitmap), last: null };
    this.paint(p);
  }

  paint(p) {
    const s = this.stroke, ws = this.ws, r = ws.radius / ws.view.scale;
    const from = s.last || p, steps = Math.max(1, Math.ceil(Math.hypot(p.x - from.x, p.y - from.y) / Math.max(0.5, r / 2)));
    for (let i = 1; i <= steps; i++) {
      const x = from.x + ((p.x - from.x) * i) / steps, y = from.y + ((p.y - from.y) * i) / steps;
      if (!this.erase) s.bitmap = grown(s.bitmap, Math.floor(x - r - 1), Math.floor(y - r - 1), Math.ceil(x + r + 1), Math.ceil(y + r + 1), ws.W, ws.H);
      paintDisc(s.bitmap, x, y, r, this.erase ? 0 : 1);
    }
    s.last = p;
    ws.store.setGeometry(s.cid, { bitmap: s.bitmap });
    ws.request();
  }

  move(e, p) { this.hover = p; if (this.stroke) this.paint(p); else this.ws.request(); }

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

  drawOverlay(ctx, view) {
    if (!this.hover) return;
    ctx.beginPath();
    ctx.arc(this.hover.sx, this.hover.sy, this.ws.radius, 0, Math.PI * 2);
    ctx.lineWidth = 1.5; ctx.strokeStyle = this.erase ? "#fff" : this.ws.colorOf(this.ws.activeClass);
    ctx.setLineDash(this.erase ? [3, 3] : []);
    ctx.stroke(); ctx.setLineDash([]);
  }
}
