// Box: press at one corner, drag to the opposite one, release. A box drawn roughly over a model
// proposal takes the proposal instead (tools/snap.js); Alt keeps it as drawn.

import { normBox } from "../geometry.js";
import { snapshot } from "../store.js";
import { nearestProposal } from "./snap.js";

export class BoxTool {
  constructor(ws) { this.ws = ws; this.name = "box"; this.start = null; this.cur = null; }
  down(e, p) { this.start = p; this.cur = p; }
  move(e, p) { if (this.start) { this.cur = p; this.ws.request(); } }
  up(e, p) {
    const s = this.start, ws = this.ws;
    this.start = null;
    if (!s) return;
    const box = normBox(s.x, s.y, p.x, p.y, ws.W, ws.H);
    if (box.w * ws.view.scale >= 3 && box.h * ws.view.scale >= 3) {
      const near = e.altKey || ws.activeClass == null ? null : nearestProposal(ws, box);
      if (near) {
        const a = near.ann;
        ws.commit([{ cid: a.cid, before: snapshot(a), after: { ...snapshot(a), state: "accepted", label_class: ws.activeClass } }]);
        ws.select([a.cid]);
        ws.toast(`Took the model's box (overlap ${near.iou.toFixed(2)}). Alt while drawing keeps your own.`);
      } else ws.createShape("box", box);
    }
    ws.request();
  }
  cancel() { this.start = null; this.ws.request(); }
  drawOverlay(ctx, view) {
    if (!this.start) return;
    const [x0, y0] = view.toScreen(this.start.x, this.start.y), [x1, y1] = view.toScreen(this.cur.x, this.cur.y);
    ctx.setLineDash([5, 3]); ctx.lineWidth = 1.5; ctx.strokeStyle = this.ws.colorOf(this.ws.activeClass);
    ctx.strokeRect(Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0), Math.abs(y1 - y0));
    ctx.setLineDash([]);
  }
}
