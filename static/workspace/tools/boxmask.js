// Box → mask ("smart box"): drag a box around an object and the server returns its mask (GrabCut
// on the box's region). Then correct it: Shift+drag paints "this is the object", Alt+drag "this is
// not"; each stroke asks again with the box and every stroke so far, and replaces the mask (one
// undo step each). The same strokes correct any selected mask, a model proposal included (its
// bounding box stands for the box), and Enter turns a selected box into a mask.

import { api } from "../../labeling/api.js";
import { bitmapFromRle } from "../rle.js";
import { snapshot } from "../store.js";
import { normBox } from "../geometry.js";

export class BoxMaskTool {
  constructor(ws) {
    this.ws = ws; this.name = "smartbox";
    this.start = null; this.cur = null; this.stroke = null;
    this.session = null; // {cid, box, strokes, bitmap}: the mask being corrected
    this.busy = false;
  }

  setBusy(busy) { this.busy = busy; document.body.dataset.smartBusy = busy ? "1" : "0"; }

  /** The mask that strokes correct: the session's if still selected and unchanged, else the selected mask. */
  target() {
    const ws = this.ws, s = this.session;
    if (s && ws.selection.size === 1 && ws.selection.has(s.cid) && ws.store.get(s.cid)?.geometry.bitmap === s.bitmap) return s;
    if (ws.selection.size !== 1) return null;
    const a = ws.store.get([...ws.selection][0]);
    if (!a || a.kind !== "mask" || !ws.isDrawn(a) || !a.geometry.bitmap.w) return null;
    const b = a.geometry.bitmap;
    this.session = { cid: a.cid, box: { x: b.x0, y: b.y0, w: b.w, h: b.h }, strokes: [], bitmap: b };
    return this.session;
  }

  down(e, p) {
    const ws = this.ws;
    if (this.busy) { ws.toast("Still working on the last request…"); return; }
    if (e.shiftKey || e.altKey) {
      if (!this.target()) { ws.toast("Draw a box first, or select a mask to correct."); return; }
      const radius = Math.max(1, ws.radius / 2 / ws.view.scale);
      this.stroke = { label: e.shiftKey ? "fg" : "bg", points: [[p.x, p.y]], radius };
      ws.request();
      return;
    }
    this.start = p; this.cur = p;
  }

  move(e, p) {
    if (this.stroke) {
      const last = this.stroke.points[this.stroke.points.length - 1];
      const ws = this.ws;
      if (Math.hypot(p.x - last[0], p.y - last[1]) * ws.view.scale >= 3) {
        this.stroke.points.push([Math.max(0, Math.min(ws.W, p.x)), Math.max(0, Math.min(ws.H, p.y))]);
      }
      ws.request();
    } else if (this.start) { this.cur = p; this.ws.request(); }
  }

  up(e, p) {
    const ws = this.ws;
    if (this.stroke) {
      const stroke = this.stroke, s = this.session;
      this.stroke = null;
      s.strokes.push({ label: stroke.label, points: stroke.points.map(([x, y]) => [round2(x), round2(y)]), radius: round2(stroke.radius) });
      this.run(s, false);
      return;
    }
    const start = this.start;
    this.start = null;
    if (!start) return;
    const box = normBox(start.x, start.y, p.x, p.y, ws.W, ws.H);
    ws.request();
    if (box.w * ws.view.scale < 4 || box.h * ws.view.scale < 4) return;
    this.run({ cid: null, box, strokes: [], bitmap: null }, true);
  }

  /** Ask the server, then create the mask (new) or replace the session's mask (a correction). */
  async run(session, isNew, replacing = null) {
    const ws = this.ws, image = ws.image;
    this.setBusy(true);
    let res;
    try {
      res = await api("POST", `/api/images/${image.id}/smart/box-mask/`, { box: session.box, strokes: session.strokes });
    } catch {
      res = { ok: false, data: { detail: "The server could not be reached." } };
    } finally {
      this.setBusy(false);
    }
    if (ws.image !== image) return; // another image was opened meanwhile
    if (!res.ok) {
      const detail = res.data?.detail || `error ${res.status}`;
      document.body.dataset.smartError = detail;
      ws.toast(`Box → mask: ${detail}`);
      if (!isNew) session.strokes.pop();
      return;
    }
    document.body.dataset.smartError = "";
    if (!res.data.area) {
      ws.toast("No object found in the box: draw it a little larger, or paint on the object with Shift.");
      if (!isNew) session.strokes.pop();
      return;
    }
    const bitmap = bitmapFromRle(res.data.rle);
    if (isNew) {
      if (ws.activeClass == null) { ws.toast("Add a label class to the project first."); return; }
      const cid = ws.store.nextCid++;
      const changes = [{ cid, before: null, after: { kind: "mask", label_class: replacing?.label_class ?? ws.activeClass, geometry: { bitmap },
        state: "accepted", origin: "human", score: null, iscrowd: false } }];
      if (replacing) {
        // A box (a proposal too) turned into a mask: the box goes, as Delete would remove it.
        changes.unshift({ cid: replacing.cid, before: snapshot(replacing),
          after: replacing.state === "proposed" ? { ...snapshot(replacing), state: "rejected" } : null });
      }
      ws.commit(changes);
      ws.select([cid]);
      this.session = { ...session, cid, bitmap };
    } else {
      if (!ws.store.get(session.cid)) return;
      ws.change([session.cid], { geometry: { bitmap } });
      session.bitmap = bitmap;
    }
  }

  key(e) {
    const ws = this.ws;
    if (e.key === "Enter" && ws.selection.size === 1) {
      const a = ws.store.get([...ws.selection][0]);
      if (a?.kind === "box" && ws.isDrawn(a) && !this.busy) {
        this.run({ cid: null, box: { ...a.geometry }, strokes: [], bitmap: null }, true, a);
        return true;
      }
    }
    if (e.key === "Escape" && (this.start || this.stroke)) { this.cancel(); return true; }
    return false;
  }

  cancel() { this.start = null; this.stroke = null; this.ws.request(); }

  drawOverlay(ctx, view) {
    const ws = this.ws;
    if (this.start) {
      const [x0, y0] = view.toScreen(this.start.x, this.start.y), [x1, y1] = view.toScreen(this.cur.x, this.cur.y);
      ctx.setLineDash([5, 3]); ctx.lineWidth = 1.5; ctx.strokeStyle = ws.colorOf(ws.activeClass);
      ctx.strokeRect(Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0), Math.abs(y1 - y0));
      ctx.setLineDash([]);
    }
    const s = this.session && ws.selection.has(this.session.cid) ? this.session : null;
    const strokes = [...(s?.strokes || []), ...(this.stroke ? [this.stroke] : [])];
    ctx.save();
    ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.globalAlpha = 0.7;
    for (const st of strokes) {
      ctx.strokeStyle = st.label === "fg" ? "#43a047" : "#e53935";
      ctx.lineWidth = Math.max(2, 2 * st.radius * view.scale);
      ctx.beginPath();
      st.points.forEach(([x, y], i) => { const [sx, sy] = view.toScreen(x, y); i ? ctx.lineTo(sx, sy) : ctx.moveTo(sx, sy); });
      if (st.points.length === 1) { const [sx, sy] = view.toScreen(...st.points[0]); ctx.lineTo(sx + 0.1, sy); }
      ctx.stroke();
    }
    ctx.restore();
  }
}

const round2 = (v) => Math.round(v * 100) / 100;
