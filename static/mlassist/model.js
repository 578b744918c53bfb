// The model page: training progress (polled), failures of the model's background work, versions with
// their held-out score and size, rollback ("Put in service") and a learning curve per head. Why the
// next image and the suspicious labels are rendered by the server.
import { api } from "../labeling/api.js";
import { drawCurve, metricText } from "./curve.js";
import { watchModel } from "./model_events.js";
import { showReadiness } from "./readiness.js";
import { thresholdCell, validationCell } from "./versions_detail.js";

const root = document.getElementById("training");
const problems = document.getElementById("model-problems");
const canManage = root.dataset.canManage === "1";
const canTrain = root.dataset.canTrain === "1";
const JOB_NAMES = { features: "Reading images with the model", propose: "Proposing labels" };
let timer = null;

function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text != null) node.textContent = text;
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function showRun(run) {
  const bar = document.getElementById("train-progress");
  const status = document.getElementById("train-status");
  if (!run) return;
  bar.value = run.state === "succeeded" ? 1 : run.progress;
  const loss = run.loss != null ? `, loss ${run.loss.toFixed(3)}` : "";
  const epoch = run.epochs ? ` epoch ${run.epoch}/${run.epochs}` : "";
  status.textContent = {
    queued: "Waiting for a worker…",
    running: `${run.stage || "starting"}${epoch}${loss}`,
    succeeded: `Trained ${new Date(run.finished_at).toLocaleString()}. ${run.detail || ""}`,
    failed: `Failed: ${run.error}`,
  }[run.state];
  status.dataset.state = run.state;
}

// The newest job of each model kind and the newest run: a failure stays listed until a later one
// of the same kind succeeds, with its message (which says how to fix it) and the way to try again.
function showProblems(latestJobs, run) {
  const items = [];
  for (const job of latestJobs) {
    if (!job || job.state !== "failed") continue;
    const li = el("li", null, { "data-kind": job.kind, class: "failed" });
    li.append(el("strong", `${JOB_NAMES[job.kind] ?? job.kind} failed: `));
    const error = el("span", job.error || "no reason was recorded", { class: "error" });
    li.append(error);
    if (job.can_retry) {
      const retry = el("button", "Retry", { type: "button" });
      retry.addEventListener("click", async () => {
        retry.disabled = true;
        const response = await api("POST", `/api/jobs/${job.id}/retry/`);
        if (!response.ok) {
          error.textContent = response.data?.detail ?? `Retry refused (${response.status})`;
          retry.disabled = false;
          return;
        }
        refresh();
      });
      li.append(" ", retry);
    }
    items.push(li);
  }
  if (run && run.state === "failed") {
    const li = el("li", null, { "data-kind": "training", class: "failed" });
    li.append(el("strong", "Training failed: "), el("span", run.error || "no reason was recorded", { class: "error" }));
    li.append(" ", el("span", canTrain ? "Fix the cause, then press “Train now”." : "A reviewer or manager can train again.", { class: "muted" }));
    items.push(li);
  }
  problems.querySelector("ul").replaceChildren(...items);
  problems.hidden = items.length === 0;
  const status = document.getElementById("train-status");
  if (!run && items.length) {
    status.textContent = "No training yet: the model's background work failed (see Problems above).";
    status.dataset.state = "blocked";
  }
}

function showVersions(versions) {
  const body = document.querySelector("#versions tbody");
  body.replaceChildren(...versions.map((v) => {
    const tr = el("tr", null, { "data-kind": v.kind, "data-version": v.number });
    for (const text of [v.kind, `v${v.number}`, v.labels_used, metricText(v), new Date(v.created_at).toLocaleString(),
      v.in_service ? "✓ in service" : ""]) {
      tr.append(el("td", text));
    }
    tr.append(thresholdCell(v, { canManage, url: `${root.dataset.versions}${v.id}/threshold/`, onChange: refresh }),
      validationCell(v));
    const action = el("td");
    if (v.serving_problem) {
      // Trained on another backbone: it cannot propose; a retrain ("Train now") makes one that can.
      action.append(el("span", v.serving_problem, { class: "error", "data-role": "serving-problem" }));
    } else if (canManage && !v.in_service && !v.metrics.files_removed) {
      const button = el("button", "Put in service", { type: "button", class: "secondary" });
      const error = el("span", null, { class: "field-error", role: "alert" });
      button.addEventListener("click", async () => {
        button.disabled = true;
        const response = await api("POST", `${root.dataset.versions}${v.id}/promote/`);
        if (!response.ok) {
          error.textContent = response.data?.detail ?? `Refused (${response.status})`;
          button.disabled = false;
          return;
        }
        window.location.reload(); // the downloads and the queue's margins follow the version in service
      });
      action.append(button, error);
    } else if (v.metrics.files_removed) {
      action.append(el("span", "file removed (retention)", { class: "muted" }));
    }
    tr.append(action);
    return tr;
  }));
  drawCurve(document.getElementById("curve"), versions);
}

async function refresh() {
  clearTimeout(timer);
  const [runs, versions, features, propose, readiness] = await Promise.all([
    api("GET", root.dataset.runs), api("GET", root.dataset.versions),
    api("GET", `${problems.dataset.jobs}?kind=features&page_size=1`),
    api("GET", `${problems.dataset.jobs}?kind=propose&page_size=1`),
    api("GET", root.dataset.readiness),
  ]);
  if (readiness.ok) showReadiness(document.getElementById("readiness"), readiness.data);
  const run = runs.ok ? runs.data[0] : undefined;
  if (run) showRun(run);
  showProblems([features, propose].map((r) => (r.ok ? r.data.results[0] : undefined)), run);
  if (versions.ok) showVersions(versions.data);
  const busy = runs.ok && runs.data.some((r) => r.state === "queued" || r.state === "running");
  // A run's epochs and loss are polled while it runs; otherwise the model's events say when to look
  // again (a new version, new proposals), and a slow poll covers a page whose event stream is refused.
  timer = setTimeout(refresh, busy ? 1000 : 30000);
}

document.getElementById("train-now")?.addEventListener("click", async () => {
  const response = await api("POST", root.dataset.train);
  if (response.ok) showRun(response.data);
});
refresh();
watchModel(root.dataset.project, (state, changes) => {
  if (changes && (changes.version || changes.served.length || changes.proposals || changes.runState)) refresh();
});
