// Propose from a box: where a box head is in service its proposals are on the image, so a box
// drawn roughly over one of them takes the model's box instead (the proposal is accepted, in the
// active class). Alt while drawing keeps the box as drawn.

const MIN_IOU = 0.5;

function iou(a, b) {
  const ix = Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  const inter = ix * iy, union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

/** The proposed box that overlaps `box` most (IoU ≥ 0.5), or null. */
export function nearestProposal(ws, box) {
  let best = null, bestIou = MIN_IOU;
  for (const a of ws.store.all()) {
    if (a.kind !== "box" || a.state !== "proposed" || a.hidden) continue;
    const v = iou(box, a.geometry);
    if (v >= bestIou) { best = a; bestIou = v; }
  }
  return best && { ann: best, iou: bestIou };
}
