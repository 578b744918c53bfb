// The MAIA page: the four stages of a run with their progress, polled while something runs.
// Stage 2 and 4 happen in the review grid (linked on the class the proposals are in).
import { api } from "../labeling/api.js";

const root = document.getElementById("maia");
const $ = (id) => document.getElementById(id);
const RUNNING = new Set(["queued", "running"]);
let timer = null;

function showStage(stage) {
  const item = root.querySelector(`li[data-stage="${stage.stage}"]`);
  item.dataset.state = stage.state;
  item.querySelector("progress").value = stage.progress;
  item.querySelector(".stage-state").textContent = stage.state;
}

const counted = (c) => `${c.proposed} to review, ${c.accepted} accepted, ${c.rejected} rejected`;

function reviewLink(link, classId) {
  link.href = `${root.dataset.review}${classId ? `?class=${classId}` : ""}`;
  link.hidden = false;
}

function show(state) {
  for (const stage of state.stages) showStage(stage);
  const byStage = Object.fromEntries(state.stages.map((s) => [s.stage, s]));
  const classId = state.object_class;
  const selection = root.querySelector('li[data-stage="selection"]');
  if (byStage.selection.state === "open") {
    selection.querySelector(".stage-counts").textContent = `Training proposals: ${counted(state.proposals)}.`;
    reviewLink($("maia-pick"), classId);
  }
  const train = $("maia-train");
  if (train) train.disabled = byStage.selection.state !== "open" || RUNNING.has(byStage.detector.state);
  const candidates = root.querySelector('li[data-stage="candidates"]');
  if (byStage.candidates.state !== "waiting") {
    candidates.querySelector(".stage-counts").textContent = `Candidates: ${counted(state.candidates)}.`;
    reviewLink($("maia-review"), classId);
  }
  const start = $("maia-start");
  if (start) start.disabled = RUNNING.has(byStage.novelty.state);
  const busy = RUNNING.has(byStage.novelty.state) || RUNNING.has(byStage.detector.state);
  clearTimeout(timer);
  if (busy) timer = setTimeout(refresh, 1500);
}

async function refresh() {
  const response = await api("GET", root.dataset.state);
  if (response.ok) show(response.data);
}

async function post(url, body) {
  $("maia-error").textContent = "";
  const response = await api("POST", url, body);
  if (!response.ok) {
    const data = response.data || {};
    $("maia-error").textContent = data.errors?.[0]?.detail || data.detail || `Refused (${response.status})`;
    return;
  }
  show(response.data);
}

$("maia-start")?.addEventListener("click", () => post(root.dataset.state, { method: $("maia-method").value }));
$("maia-train")?.addEventListener("click", () => post(root.dataset.detector));
refresh();
