// The model page: training progress (polled), versions with metrics, and a learning curve per head.
import { api } from "../labeling/api.js";

const root = document.getElementById("training");
const METRIC = { classifier: "accuracy", detector: "map50", segmenter: "map50" };
const COLOURS = { classifier: "#2f6fec", detector: "#e6194b", segmenter: "#3cb44b" };

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

function showVersions(versions) {
  const body = document.querySelector("#versions tbody");
  body.replaceChildren(...versions.map((v) => {
    const tr = document.createElement("tr");
    const metric = v.metrics[METRIC[v.kind]];
    for (const text of [v.kind, `v${v.number}`, v.labels_used, metric == null ? "–" : Number(metric).toFixed(3),
      new Date(v.created_at).toLocaleString(), v.in_service ? "✓" : ""]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    tr.dataset.kind = v.kind;
    return tr;
  }));
  drawCurve(versions);
}

function drawCurve(versions) {
  const svg = document.getElementById("curve");
  const ns = "http://www.w3.org/2000/svg";
  svg.replaceChildren();
  const maxLabels = Math.max(1, ...versions.map((v) => v.labels_used));
  const x = (n) => 40 + (540 * n) / maxLabels;
  const y = (m) => 210 - 190 * Math.max(0, Math.min(1, m));
  const axis = document.createElementNS(ns, "path");
  axis.setAttribute("d", "M40 20 V210 H580");
  axis.setAttribute("stroke", "#999");
  axis.setAttribute("fill", "none");
  svg.append(axis);
  for (const kind of Object.keys(METRIC)) {
    const points = versions.filter((v) => v.kind === kind && v.metrics[METRIC[kind]] >= 0)
      .sort((a, b) => a.number - b.number);
    if (!points.length) continue;
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points.map((v) => `${x(v.labels_used)},${y(v.metrics[METRIC[kind]])}`).join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", COLOURS[kind]);
    line.setAttribute("stroke-width", "2");
    line.dataset.kind = kind;
    const label = document.createElementNS(ns, "text");
    const last = points[points.length - 1];
    label.setAttribute("x", x(last.labels_used) - 60);
    label.setAttribute("y", y(last.metrics[METRIC[kind]]) - 6);
    label.setAttribute("fill", COLOURS[kind]);
    label.textContent = `${kind} ${METRIC[kind]}`;
    svg.append(line, label);
  }
}

async function refresh() {
  const [runs, versions] = await Promise.all([api("GET", root.dataset.runs), api("GET", root.dataset.versions)]);
  if (runs.ok) showRun(runs.data[0]);
  if (versions.ok) showVersions(versions.data);
  const busy = runs.ok && runs.data.some((r) => r.state === "queued" || r.state === "running");
  setTimeout(refresh, busy ? 1000 : 5000);
}

document.getElementById("train-now")?.addEventListener("click", async () => {
  const response = await api("POST", root.dataset.train);
  if (response.ok) showRun(response.data);
});
refresh();
