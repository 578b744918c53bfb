// Magic wand: hover to see the region a click would take (the connected pixels within the colour
// tolerance of the one under the cursor), click to make it a mask; Shift+click adds it to the
// selected mask, Alt+click cuts it out. [ and ] change the tolerance while the wand is active.
//
// It works on the pixels on screen: the visible part of the image, read once per view at the
// screen's resolution (at most the image's), so a move costs one flood fill of at most the canvas'
// pixels whatever the image size. Zoom out to take a region larger than the view.

import { copyBitmap, trimmed } from "../rle.js";
import { floodFill, subtract, union } from "./maskops.js";
import { visiblePixels } from "./pixels.js";

export class WandTool {
  constructor(ws) {
    this.ws = ws; this.name = "wand";
    this.tolerance = 32;
    this.region = null; this.preview = null; this.hover = null;
    this.moveTimes = []; this.setupTimes = []; // ms, read by the benchmark and the tests
  }

  setTolerance(t) {
    this.tolerance = Math.max(0, Math.min(255, Math.round(t)));
    const input = document.getElementById("ws-tolerance");
    if (input) input.value = this.tolerance;
    this.preview = null;
    if (this.hover) this.previewAt(this.hover);
  }

  /** The visible part of the image as RGBA at screen resolution (cached per view and image). */
  regionNow() {
    const r = visiblePixels(this.ws, this.region);
    if (r && r !== this.region) {
      this.region = { ...r, mask: new Uint8Array(r.w * r.h), stack: new Int32Array(2 * r.w * r.h + 8) };
      this.setupTimes.push(r.ms);
    }
    return r && this.region;
  }

  fillAt(p) {
    const r = this.regionNow();
    if (!r) return null;
    const rx = Math.floor((p.x - r.x0) * r.sx), ry = Math.floor((p.y - r.y0) * r.sy);
    const f = floodFill(r.rgba, r.w, r.h, rx, ry, this.tolerance, r.mask, r.stack);
    return f && { ...f, region: r };
  }

  previewAt(p) {
    const t0 = performance.now();
    const f = this.fillAt(p);
    if (!f) { this.preview = null; return; }
    // The overlay: the fill's bounding box tinted, drawn scaled into the view.
    const r = f.region, w = f.x1 - f.x0 + 1, h = f.y1 - f.y0 + 1;
    const img = new ImageData(w, h), px = new Uint32Array(img.data.buffer);
    const value = 0xb0ffd040; // ABGR: a bright cyan-green, mostly opaque
    for (let y = 0; y < h; y++) {
      const row = (y + f.y0) * r.w + f.x0;
      for (let x = 0; x < w; x++) if (f.mask[row + x]) px[y * w + x] = value;
    }
    const canvas = this.preview?.canvas?.width === w && this.preview.canvas.height === h ? this.preview.canvas : new OffscreenCanvas(w, h);
    canvas.getContext("2d").putImageData(img, 0, 0);
    this.preview = { canvas, x: r.x0 + f.x0 / r.sx, y: r.y0 + f.y0 / r.sy, w: w / r.sx, h: h / r.sy };
    this.moveTimes.push(performance.now() - t0);
    if (this.moveTimes.length > 5000) this.moveTimes.splice(0, 2500);
  }

  /** The fill at p as a bitmap in image pixels. */
  bitmapAt(p) {
    const f = this.fillAt(p);
    if (!f) return null;
    const r = f.region;
    const ix0 = Math.floor(r.x0 + f.x0 / r.sx), iy0 = Math.floor(r.y0 + f.y0 / r.sy);
    const ix1 = Math.min(this.ws.W, Math.ceil(r.x0 + (f.x1 + 1) / r.sx)), iy1 = Math.min(this.ws.H, Math.ceil(r.y0 + (f.y1 + 1) / r.sy));
    const w = ix1 - ix0, h = iy1 - iy0, data = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) {
      const ry = Math.min(r.h - 1, Math.floor((iy0 + y + 0.5 - r.y0) * r.sy)) * r.w;
      for (let x = 0; x < w; x++) data[y * w + x] = f.mask[ry + Math.min(r.w - 1, Math.floor((ix0 + x + 0.5 - r.x0) * r.sx))];
    }
    return trimmed({ x0: ix0, y0: iy0, w, h, data });
  }

  down(e, p) {
    const ws = this.ws;
    if (!ws.renderer.levels.length) { ws.toast("The image is still loading."); return; }
    const bitmap = this.bitmapAt(p);
    if (!bitmap?.w) return;
    let target = ws.activeMask != null ? ws.store.get(ws.activeMask) : null;
    if (target && (target.kind !== "mask" || !ws.isDrawn(target) || !ws.selection.has(target.cid))) target = null;
    if ((e.shiftKey || e.altKey) && target) {
      const old = target.geometry.bitmap;
      const next = e.altKey ? subtract(old, bitmap) : union(old, bitmap);
      if (!next.w) { ws.toast("That would leave the mask empty; delete it instead."); return; }
      ws.change([target.cid], { geometry: { bitmap: next } });
    } else if (e.altKey) {
      ws.toast("Select a mask to cut from first.");
    } else {
      ws.createShape("mask", { bitmap: copyBitmap(bitmap) });
    }
  }

  move(e, p) {
    this.hover = p;
    this.previewAt(p);
    this.ws.request();
  }

  up() {}
  cancel() { this.preview = null; this.ws.request(); }
  leave() { this.hover = null; this.preview = null; this.ws.request(); }

  key(e) {
    if (e.key === "[") { this.setTolerance(this.tolerance - 4); return true; }
    if (e.key === "]") { this.setTolerance(this.tolerance + 4); return true; }
    return false;
  }

  drawOverlay(ctx, view) {
    const pv = this.preview;
    if (!pv) return;
    const [sx, sy] = view.toScreen(pv.x, pv.y);
    ctx.save();
    ctx.globalAlpha = 0.45;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(pv.canvas, sx, sy, pv.w * view.scale, pv.h * view.scale);
    ctx.restore();
  }
}
