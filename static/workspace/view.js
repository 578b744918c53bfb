// The view transform: screen = image * scale + (tx, ty).

export class View {
  constructor() { this.scale = 1; this.tx = 0; this.ty = 0; this.W = 1; this.H = 1; this.cw = 1; this.ch = 1; }
  toImage(sx, sy) { return [(sx - this.tx) / this.scale, (sy - this.ty) / this.scale]; }
  toScreen(x, y) { return [x * this.scale + this.tx, y * this.scale + this.ty]; }
  /** The whole image in view, within the part of the canvas not covered by the status bar
   * (insetBottom screen pixels at the bottom). */
  fit() {
    const pad = 16, ch = this.ch - (this.insetBottom || 0);
    this.scale = Math.min((this.cw - 2 * pad) / this.W, (ch - 2 * pad) / this.H);
    this.tx = (this.cw - this.W * this.scale) / 2;
    this.ty = (ch - this.H * this.scale) / 2;
  }
  oneToOne() { this.zoomAt(this.cw / 2, this.ch / 2, 1 / this.scale); }
  zoomAt(sx, sy, factor) {
    const next = Math.max(0.005, Math.min(64, this.scale * factor));
    const [ix, iy] = this.toImage(sx, sy);
    this.scale = next;
    this.tx = sx - ix * next;
    this.ty = sy - iy * next;
  }
  pan(dx, dy) { this.tx += dx; this.ty += dy; }
  /** The part of the image on screen, in image pixels. */
  visible() {
    const [x0, y0] = this.toImage(0, 0), [x1, y1] = this.toImage(this.cw, this.ch);
    return [x0, y0, x1, y1];
  }
}
