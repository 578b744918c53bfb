// The image's pixels as the workspace shows them: the visible part, at screen resolution (at
// most the image's own), read from the renderer's already-decoded levels. The wand and the
// scissors work on these, so their cost follows the canvas' size, not the image's.

/** RGBA of the visible region, or null; `previous` is returned when the view has not changed. */
export function visiblePixels(ws, previous) {
  const view = ws.view, levels = ws.renderer.levels;
  if (!levels.length || !ws.image) return null;
  const [vx0, vy0, vx1, vy1] = view.visible();
  const x0 = Math.max(0, Math.floor(vx0)), y0 = Math.max(0, Math.floor(vy0));
  const x1 = Math.min(ws.W, Math.ceil(vx1)), y1 = Math.min(ws.H, Math.ceil(vy1));
  if (x1 <= x0 || y1 <= y0) return null;
  const res = Math.min(1, view.scale);
  const key = `${ws.image.id}|${x0},${y0},${x1},${y1}|${res}|${levels.length}`;
  if (previous?.key === key) return previous;
  const t0 = performance.now();
  let level = levels[0];
  for (const l of levels) if (res * l.f <= 1.01) level = l; // the coarsest level still as sharp
  const w = Math.max(1, Math.round((x1 - x0) * res)), h = Math.max(1, Math.round((y1 - y0) * res));
  const canvas = new OffscreenCanvas(w, h), ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.imageSmoothingEnabled = res < 1;
  ctx.drawImage(level.src, x0 / level.f, y0 / level.f, (x1 - x0) / level.f, (y1 - y0) / level.f, 0, 0, w, h);
  const rgba = ctx.getImageData(0, 0, w, h).data;
  return { key, x0, y0, x1, y1, w, h, sx: w / (x1 - x0), sy: h / (y1 - y0), rgba, ms: performance.now() - t0 };
}
