// Operations on the selected shapes: mask ↔ polygon, and boolean operations on masks of one
// class (merge, subtract, split into parts). Each is one undoable change, saved like any edit.
// A model proposal that an operation replaces is rejected, as Delete does, never deleted.

import { bitmapArea } from "../rle.js";
import { snapshot } from "../store.js";
import { bitmapFromPolygon, parts, polygonsFromBitmap, subtract, union } from "./maskops.js";

const removed = (a) => ({ cid: a.cid, before: snapshot(a), after: a.state === "proposed" ? { ...snapshot(a), state: "rejected" } : null });
const created = (ws, kind, geometry, label_class) => ({ cid: ws.store.nextCid++, before: null,
  after: { kind, label_class, geometry, state: "accepted", origin: "human", score: null, iscrowd: false } });

function selected(ws) {
  return [...ws.selection].map((cid) => ws.store.get(cid)).filter((a) => a && ws.isDrawn(a));
}

/** The shape's pixels: a mask's bitmap, or a polygon or box rasterised as pycocotools would. */
function bitmapOf(ws, a) {
  if (a.kind === "mask") return a.geometry.bitmap;
  if (a.kind === "polygon") return bitmapFromPolygon(a.geometry.points, ws.W, ws.H);
  const g = a.geometry;
  return bitmapFromPolygon([[g.x, g.y], [g.x + g.w, g.y], [g.x + g.w, g.y + g.h], [g.x, g.y + g.h]], ws.W, ws.H);
}

function finish(ws, changes, message) {
  ws.commit(changes);
  ws.select(changes.filter((c) => c.before === null).map((c) => c.cid));
  if (message) ws.toast(message);
}

/** C: masks become polygons (one per part, outlines simplified within `tolerance` pixels); polygons become masks. */
export function convertSelection(ws, tolerance) {
  const shapes = selected(ws).filter((a) => a.kind === "mask" || a.kind === "polygon");
  if (!shapes.length) { ws.toast("Select a mask or a polygon to convert."); return; }
  const changes = [], notes = [];
  for (const a of shapes) {
    if (a.kind === "mask") {
      if (!ws.kinds.has("polygon")) { notes.push("this project has no polygons"); continue; }
      const polys = polygonsFromBitmap(a.geometry.bitmap, tolerance);
      if (!polys.length) continue;
      const back = polys.reduce((acc, pts) => union(acc, bitmapFromPolygon(pts, ws.W, ws.H)), { x0: 0, y0: 0, w: 0, h: 0, data: new Uint8Array(0) });
      if (tolerance <= 0 && bitmapArea(back) !== bitmapArea(a.geometry.bitmap)) notes.push("holes were filled (a polygon has none)");
      changes.push(removed(a), ...polys.map((points) => created(ws, "polygon", { points }, a.label_class)));
    } else {
      if (!ws.kinds.has("mask")) { notes.push("this project has no masks"); continue; }
      const bitmap = bitmapOf(ws, a);
      if (!bitmap.w) continue;
      changes.push(removed(a), created(ws, "mask", { bitmap }, a.label_class));
    }
  }
  if (!changes.length) { ws.toast(`Nothing to convert${notes.length ? `: ${notes[0]}` : ""}.`); return; }
  finish(ws, changes, notes.length ? `Converted; ${[...new Set(notes)].join("; ")}.` : null);
}

/** J: the selected masks (and polygons) of one class become one mask instance. */
export function mergeSelection(ws) {
  const shapes = selected(ws).filter((a) => a.kind === "mask" || a.kind === "polygon");
  if (shapes.length < 2) { ws.toast("Select two or more masks (or polygons) of one class to merge."); return; }
  if (new Set(shapes.map((a) => a.label_class)).size > 1) { ws.toast("Merge takes shapes of one class only."); return; }
  if (!ws.kinds.has("mask")) { ws.toast("This project has no masks."); return; }
  const first = shapes.find((a) => a.kind === "mask") || shapes[0];
  let bitmap = { x0: 0, y0: 0, w: 0, h: 0, data: new Uint8Array(0) };
  for (const a of shapes) bitmap = union(bitmap, bitmapOf(ws, a));
  const changes = shapes.filter((a) => a !== first).map(removed);
  if (first.kind === "mask") {
    changes.unshift({ cid: first.cid, before: snapshot(first), after: { ...snapshot(first), geometry: { bitmap } } });
    ws.commit(changes);
    ws.select([first.cid]);
  } else {
    changes.unshift(removed(first));
    finish(ws, [...changes, created(ws, "mask", { bitmap }, first.label_class)]);
  }
}

/** X: the shapes selected after the first are cut out of the first mask (they stay). */
export function subtractSelection(ws) {
  const shapes = selected(ws);
  const first = shapes[0];
  if (!first || first.kind !== "mask" || shapes.length < 2) { ws.toast("Select a mask, then Shift+click the shapes to cut out of it."); return; }
  let bitmap = first.geometry.bitmap;
  for (const a of shapes.slice(1)) if (a.kind !== "tag") bitmap = subtract(bitmap, bitmapOf(ws, a));
  if (!bitmap.w) { ws.toast("Nothing would be left of the mask; delete it instead."); return; }
  ws.commit([{ cid: first.cid, before: snapshot(first), after: { ...snapshot(first), geometry: { bitmap } } }]);
  ws.select([first.cid]);
}

/** K: each selected mask's separate parts become separate instances. */
export function splitSelection(ws) {
  const masks = selected(ws).filter((a) => a.kind === "mask");
  if (!masks.length) { ws.toast("Select a mask to split."); return; }
  const changes = [];
  for (const a of masks) {
    const ps = parts(a.geometry.bitmap);
    if (ps.length < 2) continue;
    changes.push({ cid: a.cid, before: snapshot(a), after: { ...snapshot(a), geometry: { bitmap: ps[0] } } });
    for (const p of ps.slice(1)) changes.push(created(ws, "mask", { bitmap: p }, a.label_class));
  }
  if (!changes.length) { ws.toast("The mask is in one piece."); return; }
  ws.commit(changes);
  ws.select(changes.map((c) => c.cid));
}
