// Select and edit: click to select (Shift adds), drag to move; box handles resize; polygon
// vertices drag, a click on an edge inserts a vertex, Alt-click deletes one. Empty space pans.

import { boxHandles } from "../render.js";
import { distToSegment, normBox, roundPoint, translate } from "../geometry.js";
import { snapshot } from "../store.js";

const HANDLE_PX = 7, EDGE_PX = 5;

export class SelectTool {
  constructor(ws) { this.ws = ws; this.name = "select"; this.drag = null; }

  down(e, p) {
    const ws = this.ws, view = ws.view, one = ws.selection.size === 1 ? ws.store.get([...ws.selection][0]) : null;
    if (one && ws.isDrawn(one) && one.kind === "polygon" && !one.locked) {
      const pts = one.geometry.points;
      const i = pts.findIndex(([x, y]) => { const [sx, sy] = view.toScreen(x, y); return Math.hypot(sx - p.sx, sy - p.sy) <= HANDLE_PX; });
      if (i >= 0) {
        if (e.altKey) { ws.deleteVertex(one, i); return; }
        ws.selectedVertex = i;
        this.drag = { type: "vertex", cid: one.cid, index: i, orig: one.geometry, start: p, moved: false };
        ws.request();
        return;
      }
      for (let j = 0; j < pts.length; j++) {
        const [ax, ay] = view.toScreen(...pts[j]), [bx, by] = view.toScreen(...pts[(j + 1) % pts.length]);
        if (distToSegment(p.sx, p.sy, ax, ay, bx, by) <= EDGE_PX) {
          const points = pts.slice(), orig = one.geometry;
          points.splice(j + 1, 0, roundPoint(p.x, p.y, ws.W, ws.H));
          ws.store.setGeometry(one.cid, { points });
          ws.selectedVertex = j + 1;
          this.drag = { type: "vertex", cid: one.cid, index: j + 1, orig, start: p, moved: true };
          ws.request();
          return;
        }
      }
    }
    if (one && ws.isDrawn(one) && one.kind === "box" && !one.locked) {
      const h = boxHandles(one.geometry).findIndex(([x, y]) => { const [sx, sy] = view.toScreen(x, y); return Math.hypot(sx - p.sx, sy - p.sy) <= HANDLE_PX; });
      if (h >= 0) { this.drag = { type: "resize", cid: one.cid, handle: h, orig: one.geometry, start: p, moved: false }; return; }
    }
    const hit = ws.store.hit(p.x, p.y, (a) => ws.isDrawn(a));
    ws.selectedVertex = null;
    if (!hit) {
      if (!e.shiftKey) ws.select([]);
      this.drag = { type: "pan", last: p };
      return;
    }
    if (e.shiftKey) { ws.toggleSelect(hit.cid); return; }
    if (!ws.selection.has(hit.cid)) ws.select([hit.cid], { explicit: true });
    else ws.explicitSelection = true; // clicked: picked by the person now, even if a tool selected it
    const origs = new Map();
    // Masks move whole too; a locked shape stays where it is.
    for (const cid of ws.selection) { const a = ws.store.get(cid); if (a && !a.locked && a.kind !== "tag") origs.set(cid, a.geometry); }
    this.drag = { type: "move", origs, start: p, moved: false };
  }

  move(e, p) {
    const d = this.drag, ws = this.ws;
    if (!d) return;
    if (d.type === "pan") { ws.panBy(p.sx - d.last.sx, p.sy - d.last.sy); d.last = p; return; }
    if (!d.moved && Math.hypot(p.sx - d.start.sx, p.sy - d.start.sy) < 3) return;
    d.moved = true;
    const dx = p.x - d.start.x, dy = p.y - d.start.y;
    if (d.type === "move") {
      for (const [cid, g] of d.origs) ws.store.setGeometry(cid, translate(ws.store.get(cid).kind, g, dx, dy, ws.W, ws.H));
    } else if (d.type === "vertex") {
      const points = ws.store.get(d.cid).geometry.points.slice();
      points[d.index] = roundPoint(p.x, p.y, ws.W, ws.H);
      ws.store.setGeometry(d.cid, { points });
    } else if (d.type === "resize") {
      const g = d.orig, h = d.handle;
      let x0 = g.x, y0 = g.y, x1 = g.x + g.w, y1 = g.y + g.h;
      if ([0, 6, 7].includes(h)) x0 += dx;
      if ([2, 3, 4].includes(h)) x1 += dx;
      if ([0, 1, 2].includes(h)) y0 += dy;
      if ([4, 5, 6].includes(h)) y1 += dy;
      const box = normBox(x0, y0, x1, y1, ws.W, ws.H);
      if (box.w > 0 && box.h > 0) ws.store.setGeometry(d.cid, box);
    }
    ws.request();
  }

  up() {
    const d = this.drag, ws = this.ws;
    this.drag = null;
    if (!d || !d.moved || d.type === "pan") return;
    const origs = d.type === "move" ? d.origs : new Map([[d.cid, d.orig]]);
    const changes = [];
    for (const [cid, orig] of origs) {
      const ann = ws.store.get(cid);
      const before = { ...snapshot(ann), geometry: orig };
      if (before.geometry === ann.geometry) continue;
      changes.push({ cid, before, after: { ...snapshot(ann) } });
    }
    ws.commit(changes);
  }

  cancel() {
    const d = this.drag;
    this.drag = null;
    if (!d || d.type === "pan") return;
    const origs = d.type === "move" ? d.origs : new Map([[d.cid, d.orig]]);
    for (const [cid, g] of origs) this.ws.store.setGeometry(cid, g);
    this.ws.request();
  }
}
