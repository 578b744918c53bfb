// The annotations of the open image, keyed by a client id (cid) that survives deletes and re-creates,
// with a grid index of bounding boxes for hit-testing.

import { bboxOf, containsPoint } from "./geometry.js";
import { bitmapFromRle } from "./rle.js";

const DATA_FIELDS = ["kind", "label_class", "geometry", "state", "origin", "score", "iscrowd"];

/** What undo keeps and the saver compares: the annotation without its server id and version. */
export function snapshot(ann) {
  if (!ann) return null;
  const out = {};
  for (const f of DATA_FIELDS) out[f] = ann[f];
  return out;
}

class Grid {
  constructor(W, H) {
    this.cell = Math.max(64, Math.ceil(Math.max(W, H) / 64));
    this.cols = Math.ceil(W / this.cell) + 1;
    this.cells = new Map();
  }
  *keys(b) {
    const c = this.cell;
    for (let gy = Math.floor(b[1] / c); gy <= Math.floor(b[3] / c); gy++)
      for (let gx = Math.floor(b[0] / c); gx <= Math.floor(b[2] / c); gx++) yield gy * this.cols + gx;
  }
  add(cid, b) { for (const k of this.keys(b)) { let s = this.cells.get(k); if (!s) this.cells.set(k, (s = new Set())); s.add(cid); } }
  remove(cid, b) { for (const k of this.keys(b)) this.cells.get(k)?.delete(cid); }
  at(x, y) { return this.cells.get(Math.floor(y / this.cell) * this.cols + Math.floor(x / this.cell)) || []; }
}

export class Store {
  constructor() {
    this.items = new Map();
    this.nextCid = 1;
    this.revision = 0; // bumped on every change: caches (paths, lists) compare it
    this.W = 1; this.H = 1;
    this.grid = new Grid(1, 1);
    this.lifted = new Set(); // shapes changed live, drawn apart from the cached layer (render.js)
  }

  reset(image, rows) {
    this.items = new Map();
    this.W = image.width; this.H = image.height;
    this.grid = new Grid(this.W, this.H);
    this.lifted = new Set();
    for (const row of rows) this.insert(fromServer(row));
    this.revision++;
  }

  get(cid) { return this.items.get(cid); }
  all() { return this.items.values(); }

  insert(ann) {
    if (!ann.cid) ann.cid = this.nextCid++;
    ann.bbox = bboxOf(ann.kind, ann.geometry);
    ann.cache = null;
    this.items.set(ann.cid, ann);
    if (ann.bbox) this.grid.add(ann.cid, ann.bbox);
    this.revision++;
    return ann;
  }

  remove(cid) {
    const ann = this.items.get(cid);
    if (!ann) return;
    if (ann.bbox) this.grid.remove(cid, ann.bbox);
    this.items.delete(cid);
    this.revision++;
  }

  /** Apply a snapshot (or null: gone) to cid, keeping its server identity. */
  apply(cid, snap) {
    const ann = this.items.get(cid);
    if (!snap) { this.remove(cid); return null; }
    if (!ann) return this.insert({ cid, id: null, version: null, hidden: false, ...snap });
    if (ann.bbox) this.grid.remove(cid, ann.bbox);
    Object.assign(ann, snap);
    ann.bbox = bboxOf(ann.kind, ann.geometry);
    ann.cache = null;
    if (ann.bbox) this.grid.add(cid, ann.bbox);
    this.revision++;
    return ann;
  }

  /** A live change during a drag: geometry only, no history. It bumps only liveRevision, so the
   * cached layer of the other shapes stays valid while one shape moves; the shape is lifted out of
   * that layer (once, at the first move). */
  setGeometry(cid, geometry) {
    const ann = this.items.get(cid);
    this.lifted.add(cid);
    if (ann.bbox) this.grid.remove(cid, ann.bbox);
    ann.geometry = geometry;
    ann.bbox = bboxOf(ann.kind, geometry);
    ann.cache = null;
    if (ann.bbox) this.grid.add(cid, ann.bbox);
    this.liveRevision = (this.liveRevision || 0) + 1;
  }

  /** The shape under (x, y): the smallest by bounding box, so small shapes inside big ones can be picked. */
  hit(x, y, visible) {
    let best = null, bestArea = Infinity;
    for (const cid of this.grid.at(x, y)) {
      const ann = this.items.get(cid);
      if (!ann || !visible(ann)) continue;
      const b = ann.bbox;
      if (x < b[0] || x > b[2] || y < b[1] || y > b[3] || !containsPoint(ann, x, y)) continue;
      const area = (b[2] - b[0]) * (b[3] - b[1]);
      if (area < bestArea) { best = ann; bestArea = area; }
    }
    return best;
  }

  findByServerId(id) { for (const a of this.items.values()) if (a.id === id) return a; return null; }
}

export function fromServer(row) {
  const geometry = row.kind === "mask" ? { bitmap: bitmapFromRle(row.geometry.rle) } : row.geometry;
  return {
    id: row.id, version: row.version, hidden: false,
    kind: row.kind, label_class: row.label_class, geometry, state: row.state, origin: row.origin,
    score: row.score, iscrowd: row.iscrowd,
  };
}
