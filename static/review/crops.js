// Tiles' pictures: a crop of the image around the object, drawn into a small canvas, with its outline.
// Each image file is fetched and decoded once, then reused for every annotation on it.

const CACHE_LIMIT = 300;
const cache = new Map();

export function loadImage(url) {
  if (cache.has(url)) {
    const hit = cache.get(url);
    cache.delete(url); // most recently used goes last
    cache.set(url, hit);
    return hit;
  }
  const loading = new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error(`could not load ${url}`));
    img.src = url;
  });
  cache.set(url, loading);
  loading.catch(() => cache.delete(url));
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value);
  return loading;
}

// The region of the image to show: the object's box with a margin, shaped like the canvas.
export function cropRegion(bbox, imageWidth, imageHeight, aspect) {
  const [x, y, w, h] = bbox;
  const margin = 0.25;
  let cw = Math.max(w * (1 + 2 * margin), 24);
  let ch = Math.max(h * (1 + 2 * margin), 24);
  if (cw / ch > aspect) ch = cw / aspect;
  else cw = ch * aspect;
  cw = Math.min(cw, imageWidth);
  ch = Math.min(ch, imageHeight);
  const cx = x + w / 2;
  const cy = y + h / 2;
  const sx = Math.min(Math.max(0, cx - cw / 2), imageWidth - cw);
  const sy = Math.min(Math.max(0, cy - ch / 2), imageHeight - ch);
  return { sx, sy, sw: cw, sh: ch };
}

export async function drawCrop(canvas, url, tile, color) {
  const img = await loadImage(url);
  const ctx = canvas.getContext("2d");
  // Geometry is in the image's pixels as stored; the decoded file may differ only by a scale.
  const kx = img.naturalWidth / tile.image_width;
  const ky = img.naturalHeight / tile.image_height;
  const region = cropRegion(tile.bbox, tile.image_width, tile.image_height, canvas.width / canvas.height);
  const scale = Math.min(canvas.width / region.sw, canvas.height / region.sh);
  const ox = (canvas.width - region.sw * scale) / 2;
  const oy = (canvas.height - region.sh * scale) / 2;
  ctx.fillStyle = "#222";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(img, region.sx * kx, region.sy * ky, region.sw * kx, region.sh * ky, ox, oy, region.sw * scale, region.sh * scale);
  const px = (v) => ox + (v - region.sx) * scale;
  const py = (v) => oy + (v - region.sy) * scale;
  ctx.strokeStyle = color;
  ctx.lineWidth = 2;
  if (tile.kind === "box") {
    const [x, y, w, h] = tile.bbox;
    ctx.strokeRect(px(x), py(y), w * scale, h * scale);
  } else {
    for (const flat of tile.outline) {
      ctx.beginPath();
      for (let i = 0; i < flat.length; i += 2) ctx[i ? "lineTo" : "moveTo"](px(flat[i]), py(flat[i + 1]));
      ctx.closePath();
      ctx.stroke();
    }
  }
}
