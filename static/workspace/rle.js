// Masks: a bitmap cropped to where it is painted, and COCO RLE (column-major runs, background first).

export function emptyBitmap() { return { x0: 0, y0: 0, w: 0, h: 0, data: new Uint8Array(0) }; }

/** Decode a COCO compressed counts string into run lengths (pycocotools' rleFrString). */
export function countsFromString(s) {
  const counts = [];
  let p = 0;
  while (p < s.length) {
    let x = 0, k = 0, more = 1, c;
    while (more) {
      c = s.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = c & 0x20;
      p++; k++;
      if (!more && (c & 0x10)) x |= -1 << (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

/** An RLE (compressed or not) of an H×W image into a bitmap cropped to its bounding box. */
export function bitmapFromRle(rle) {
  const [H] = rle.size;
  const counts = typeof rle.counts === "string" ? countsFromString(rle.counts) : rle.counts;
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1, i = 0;
  for (let r = 0; r < counts.length; r++) {
    const n = counts[r];
    if (r % 2 === 1 && n > 0) {
      const cs = Math.floor(i / H), ce = Math.floor((i + n - 1) / H);
      x0 = Math.min(x0, cs); x1 = Math.max(x1, ce);
      if (cs === ce) { y0 = Math.min(y0, i % H); y1 = Math.max(y1, (i + n - 1) % H); }
      else { y0 = 0; y1 = H - 1; }
    }
    i += n;
  }
  if (x1 < 0) return emptyBitmap();
  const w = x1 - x0 + 1, h = y1 - y0 + 1, data = new Uint8Array(w * h);
  i = 0;
  for (let r = 0; r < counts.length; r++) {
    const n = counts[r];
    if (r % 2 === 1) for (let j = i; j < i + n; j++) data[(j % H - y0) * w + (Math.floor(j / H) - x0)] = 1;
    i += n;
  }
  return { x0, y0, w, h, data };
}

/** Uncompressed COCO RLE of a bitmap on an H×W image (the server compresses it). */
export function rleFromBitmap(b, H, W) {
  const counts = [];
  let value = 0, run = 0;
  const push = (v, n) => {
    if (v === value) { run += n; return; }
    counts.push(run); value = v; run = n;
  };
  const xEnd = b.x0 + b.w;
  if (b.x0 > 0) run += b.x0 * H;
  for (let x = b.x0; x < xEnd; x++) {
    if (b.y0 > 0) push(0, b.y0);
    for (let y = 0; y < b.h; y++) push(b.data[y * b.w + (x - b.x0)], 1);
    if (H - b.y0 - b.h > 0) push(0, H - b.y0 - b.h);
  }
  if (W - xEnd > 0) push(0, (W - xEnd) * H);
  counts.push(run);
  return { size: [H, W], counts };
}

export function bitmapArea(b) { let n = 0; for (let i = 0; i < b.data.length; i++) n += b.data[i]; return n; }

/** A copy grown to include the rectangle [x0, x1) × [y0, y1), clipped to the image. */
export function grown(b, x0, y0, x1, y1, W, H) {
  if (b.w && x0 >= b.x0 && y0 >= b.y0 && x1 <= b.x0 + b.w && y1 <= b.y0 + b.h) return b;
  const nx0 = Math.max(0, Math.min(x0, b.w ? b.x0 : x0)), ny0 = Math.max(0, Math.min(y0, b.h ? b.y0 : y0));
  const nx1 = Math.min(W, Math.max(x1, b.w ? b.x0 + b.w : x1)), ny1 = Math.min(H, Math.max(y1, b.h ? b.y0 + b.h : y1));
  const w = nx1 - nx0, h = ny1 - ny0, data = new Uint8Array(w * h);
  for (let y = 0; y < b.h; y++) data.set(b.data.subarray(y * b.w, (y + 1) * b.w), (y + b.y0 - ny0) * w + (b.x0 - nx0));
  return { x0: nx0, y0: ny0, w, h, data };
}

/** Paint (value 1) or erase (value 0) a disc, in place; grow first when painting. */
export function paintDisc(b, cx, cy, r, value) {
  const x0 = Math.max(b.x0, Math.floor(cx - r)), x1 = Math.min(b.x0 + b.w, Math.ceil(cx + r) + 1);
  const y0 = Math.max(b.y0, Math.floor(cy - r)), y1 = Math.min(b.y0 + b.h, Math.ceil(cy + r) + 1);
  const r2 = r * r;
  for (let y = y0; y < y1; y++) {
    const dy = y + 0.5 - cy;
    for (let x = x0; x < x1; x++) {
      const dx = x + 0.5 - cx;
      if (dx * dx + dy * dy <= r2) b.data[(y - b.y0) * b.w + (x - b.x0)] = value;
    }
  }
}

/** The bitmap cropped to its painted pixels (an empty bitmap when none). */
export function trimmed(b) {
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  for (let y = 0; y < b.h; y++) for (let x = 0; x < b.w; x++) if (b.data[y * b.w + x]) {
    if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
  }
  if (x1 < 0) return emptyBitmap();
  const w = x1 - x0 + 1, h = y1 - y0 + 1, data = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) data.set(b.data.subarray((y + y0) * b.w + x0, (y + y0) * b.w + x0 + w), y * w);
  return { x0: b.x0 + x0, y0: b.y0 + y0, w, h, data };
}

export function copyBitmap(b) { return { ...b, data: b.data.slice() }; }
