// The open image follows the model (static/mlassist/model_events.js): when proposals arrive (a
// retrain, a propose job) the workspace fetches this image's annotations, shows the proposals it
// does not have yet and drops those the refresh replaced, without a reload. Only proposals nobody
// touched here change: anything being saved, in conflict or already judged stays as it is.
import { api } from "../labeling/api.js";
import { servingText, watchModel } from "../mlassist/model_events.js";
import { fromServer } from "./store.js";

const untouched = (ws, a) => a.origin === "model" && a.state === "proposed" && a.id != null &&
  !ws.saver.dirty.has(a.cid) && !ws.saver.conflicts.has(a.cid);

async function refreshProposals(ws) {
  const image = ws.image;
  const res = await api("GET", `/api/images/${image.id}/annotations/`);
  if (!res.ok || ws.image !== image) return; // another image was opened meanwhile
  const rows = res.data.filter((r) => r.origin === "model" && r.state === "proposed");
  const current = new Set(rows.map((r) => r.id));
  let changed = 0;
  for (const a of [...ws.store.all()]) {
    if (untouched(ws, a) && !current.has(a.id)) {
      ws.store.remove(a.cid);
      ws.saver.server.delete(a.cid);
      ws.selection.delete(a.cid);
      changed++;
    }
  }
  for (const row of rows) {
    if (ws.store.findByServerId(row.id)) continue;
    ws.saver.known(ws.store.insert(fromServer(row)));
    changed++;
  }
  if (!changed) return;
  ws.panel.changed();
  ws.request();
  document.body.dataset.proposalsRefreshed = String(Number(document.body.dataset.proposalsRefreshed || 0) + 1);
}

export function followModel(ws) {
  watchModel(ws.project.id, (state, changes) => {
    if (!changes) return;
    if (changes.served.length) ws.toast(`New model in service: ${servingText(changes.served)}.`);
    if (changes.proposals && ws.image) refreshProposals(ws);
  });
}
