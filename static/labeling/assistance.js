// The project page's "Time saved so far" (GET /api/projects/{id}/time-saved/, computed from the action
// log: mlassist/selectors_effort.py) and the model in service. Both follow the model's events: a new
// version, or proposals judged elsewhere, update the card, the counts and the stats without a reload.
import { api } from "./api.js";
import { refreshStats } from "./project_stats.js";
import { servingText, watchModel } from "../mlassist/model_events.js";

const card = document.getElementById("assistance");

/** 754.2 -> "12 min 34 s"; negative amounts keep their sign. */
export function duration(seconds) {
  const sign = seconds < 0 ? "−" : "";
  let s = Math.round(Math.abs(seconds));
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  const parts = h ? [`${h} h`, `${m} min`] : m ? [`${m} min`, `${s} s`] : [`${s} s`];
  return sign + parts.join(" ");
}

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

async function showTimeSaved() {
  const res = await api("GET", card.dataset.url);
  if (!res.ok) return;
  const t = res.data;
  const value = document.getElementById("time-saved-value");
  value.textContent = duration(t.saved_seconds);
  value.dataset.seconds = String(t.saved_seconds);
  const judged = t.accepted + t.edited + t.rejected;
  document.getElementById("time-saved-detail").textContent = judged || t.drawn
    ? `${plural(t.accepted, "proposal")} accepted, ${t.edited} edited, ${t.rejected} rejected; ` +
      `${plural(t.drawn, "label")} drawn by hand` +
      (t.ratio != null ? ` · ${duration(t.assisted_seconds)} instead of ${duration(t.manual_seconds)} by hand (×${t.ratio.toFixed(2)})` : "")
    : "No proposal judged yet: accept, edit or reject the model's proposals and the time they saved shows here.";
  document.getElementById("time-saved-method").textContent = t.method;
  document.getElementById("time-saved-help").title = t.method;
}

function showServing(state) {
  const el = document.getElementById("model-serving");
  el.textContent = state.serving.length ? `In service: ${servingText(state.serving)}.` : "No model in service yet.";
  el.dataset.serving = state.serving.map((v) => `${v.kind}:${v.number}`).join(",");
}

showTimeSaved();
watchModel(card.dataset.project, (state, changes) => {
  showServing(state);
  if (!changes || !(changes.served.length || changes.proposals)) return; // not on every epoch of a run
  // Proposals came or went (a retrain, someone judging them): the counts and the saving move with them.
  refreshStats(card.dataset.statsUrl);
  showTimeSaved();
});
