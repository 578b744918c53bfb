// Copy / paste of shapes (Ctrl+C / Ctrl+V), also onto another image, and locking shapes (L).
// The clipboard lives in this module: moving between images does not reload the page, so it
// survives "copy here, paste on the next image". A lock is the page's own guard against moving
// or deleting a finished shape by accident; it is not stored on the server.

import { translate } from "./geometry.js";

let clipboard = null; // {imageId, shapes: [{kind, label_class, geometry}]}
const PASTE_OFFSET = 10; // pasted onto the same image: shifted, so the copy is seen

export function copySelection(ws) {
  const shapes = [...ws.selection].map((cid) => ws.store.get(cid)).filter((a) => a && ws.isDrawn(a));
  if (!shapes.length) { ws.toast("Select the shapes to copy first (click, or Ctrl+A)."); return; }
  clipboard = { imageId: ws.image.id, shapes: shapes.map((a) => ({ kind: a.kind, label_class: a.label_class, geometry: a.geometry })) };
  const n = shapes.length;
  ws.toast(`${n} shape${n === 1 ? "" : "s"} copied. Ctrl+V pastes ${n === 1 ? "it" : "them"} here or on another image.`);
}

export function pasteClipboard(ws) {
  if (!clipboard) { ws.toast("Nothing copied yet: select shapes and press Ctrl+C."); return; }
  const off = clipboard.imageId === ws.image.id ? PASTE_OFFSET : 0;
  const changes = [];
  let outside = 0;
  for (const s of clipboard.shapes) {
    const b = bboxOfShape(s);
    // Another image may be smaller: a shape that does not fit is left out rather than cut.
    if (!b || b[2] > ws.W || b[3] > ws.H) { outside++; continue; }
    const geometry = translate(s.kind, s.geometry, off, off, ws.W, ws.H);
    changes.push({ cid: ws.store.nextCid++, before: null, after: {
      kind: s.kind, label_class: s.label_class, geometry, state: "accepted", origin: "human", score: null, iscrowd: false,
    } });
  }
  ws.commit(changes);
  ws.select(changes.map((c) => c.cid), { explicit: true });
  const n = changes.length;
  ws.toast(`${n} shape${n === 1 ? "" : "s"} pasted.` + (outside ? ` ${outside} left out: larger than this image.` : ""));
}

function bboxOfShape(s) {
  const g = s.geometry;
  if (s.kind === "box") return [g.x, g.y, g.x + g.w, g.y + g.h];
  if (s.kind === "polygon") return [Math.min(...g.points.map((p) => p[0])), Math.min(...g.points.map((p) => p[1])),
    Math.max(...g.points.map((p) => p[0])), Math.max(...g.points.map((p) => p[1]))];
  if (s.kind === "mask") return [g.bitmap.x0, g.bitmap.y0, g.bitmap.x0 + g.bitmap.w, g.bitmap.y0 + g.bitmap.h];
  return null;
}

export function toggleLock(ws) {
  const shapes = [...ws.selection].map((cid) => ws.store.get(cid)).filter(Boolean);
  if (!shapes.length) { ws.toast("Select a shape to lock or unlock (L)."); return; }
  const lock = shapes.some((a) => !a.locked);
  for (const a of shapes) a.locked = lock;
  ws.store.revision++; // the object list shows the lock
  ws.panel.changed();
  ws.request();
  ws.toast(lock ? "Locked: it cannot be moved, reshaped or deleted until unlocked (L)." : "Unlocked.");
}
