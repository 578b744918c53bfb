// Polygon: click points; Enter or a click on the first point closes; Backspace drops the last
// point; Esc cancels.

import { polygonArea, roundPoint } from "../geometry.js";

const CLOSE_PX = 8;

export class PolygonTool {
  constructor(ws) { this.ws = ws; this.name = "polygon"; this.points = []; this.hover = null; }
  get busy() { return this.points.length > 0; }

  down(e, p) {
    const ws = this.ws;
    if (this.points.length >= 3) {
      const [fx, fy] = ws.view.toScreen(...this.points[0]);
      if (Math.hypot(fx - p.sx, fy - p.sy) <= CLOSE_PX) { this.close(); return; }
    }
    this.points.push(roundPoint(p.x, p.y, ws.W, ws.H));
    ws.request();
  }
  move(e, p) { this.hover = p; if (this.points.length) this.ws.request(); }
  up() {}

  close() {
    const points = this.points;
    this.points = [];
    if (points.length >= 3 && polygonArea(points) > 0) this.ws.createShape("polygon", { points });
    this.ws.request();
  }

  key(e) {
    if (e.key === "Enter" && this.points.length) { this.close(); return true; }
    if (e.key === "Escape" && this.points.length) { this.cancel(); return true; }
    if (e.key === "Backspace" && this.points.length) { this.points.pop(); this.ws.request(); return true; }
    return false;
  }

  cancel() { this.points = []; this.ws.request(); }

  drawOverlay(ctx, view) {
    if (!this.points.length) return;
    ctx.strokeStyle = this.ws.colorOf(this.ws.activeClass); ctx.lineWidth = 1.5;
    ctx.beginPath();
    this.points.forEach(([x, y], i) => { const [sx, sy] = view.toScreen(x, y); i ? ctx.lineTo(sx, sy) : ctx.moveTo(sx, sy); });
    if (this.hover) ctx.lineTo(this.hover.sx, this.hover.sy);
    ctx.stroke();
    ctx.fillStyle = "#fff";
    this.points.forEach(([x, y], i) => { const [sx, sy] = view.toScreen(x, y); ctx.fillRect(sx - (i ? 3 : 5), sy - (i ? 3 : 5), i ? 6 : 10, i ? 6 : 10); });
  }
}
