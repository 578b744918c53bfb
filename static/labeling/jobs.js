// Background work of a project (features, exports, imports, proposals): live progress bars for the
// jobs that wait or run, and the recent failures with their reason and, where it makes sense, Retry.
import { api } from "./api.js";

const box = document.getElementById("jobs");
const NAMES = { features: "Reading images with the model", coco_export: "COCO export", coco_import: "COCO import",
  propose: "Proposing", import_urls: "Downloading images" };
const FAILED_WITHIN_MS = 24 * 3600 * 1000; // failures stay listed for a day
let timer = null;

function activeItem(job) {
  const li = document.createElement("li");
  li.dataset.job = job.id;
  const label = document.createElement("span");
  label.textContent = `${NAMES[job.kind] ?? job.kind}: ${job.state === "queued" ? "waiting for a worker" : job.detail}`;
  const bar = document.createElement("progress");
  bar.max = 1;
  bar.value = job.progress;
  li.append(label, bar);
  return li;
}

function failedItem(job) {
  const li = document.createElement("li");
  li.dataset.job = job.id;
  li.className = "failed";
  const label = document.createElement("span");
  const name = document.createElement("strong");
  name.textContent = `${NAMES[job.kind] ?? job.kind} failed: `;
  const error = document.createElement("span");
  error.className = "error";
  error.textContent = job.error || "no reason was recorded";
  label.append(name, error);
  li.append(label);
  if (job.can_retry) {
    const retry = document.createElement("button");
    retry.type = "button";
    retry.textContent = "Retry";
    retry.addEventListener("click", async () => {
      retry.disabled = true;
      const response = await api("POST", `/api/jobs/${job.id}/retry/`);
      if (!response.ok) {
        error.textContent = response.data?.detail ?? `Retry refused (${response.status})`;
        retry.disabled = false;
        return;
      }
      poll();
    });
    li.append(retry);
  }
  return li;
}

// Training runs are not jobs (mlassist.TrainingRun), but people wait for them here too: the newest
// run shows as a bar while it waits or runs, and as a failure (retried from the model page) when it failed.
function trainingItems(runs, since) {
  const run = runs.find((r) => r.state === "running") ?? runs[0];
  if (!run) return [[], []];
  if (run.state === "queued" || run.state === "running") {
    return [[activeItem({ id: `run-${run.id}`, kind: "Training the model", state: run.state, detail: run.detail,
      progress: run.progress })], []];
  }
  if (run.state !== "failed" || new Date(run.finished_at) < since) return [[], []];
  const li = failedItem({ id: `run-${run.id}`, kind: "Training", error: run.error, can_retry: false });
  const link = document.createElement("a");
  link.href = box.dataset.modelUrl;
  link.textContent = "Train again on the model page";
  li.append(link);
  return [[], [li]];
}

async function poll() {
  clearTimeout(timer);
  const since = new Date(Date.now() - FAILED_WITHIN_MS);
  const [active, failed, runs] = await Promise.all([
    api("GET", `${box.dataset.url}?state__in=queued,running&page_size=20`),
    api("GET", `${box.dataset.url}?state=failed&finished_at__gte=${encodeURIComponent(since.toISOString())}&page_size=10`),
    api("GET", box.dataset.runsUrl),
  ]);
  const [training, trainingFailed] = trainingItems(runs.ok ? runs.data : [], since);
  const running = [...(active.ok ? active.data.results.map(activeItem) : []), ...training];
  const failures = [...(failed.ok ? failed.data.results.map(failedItem) : []), ...trainingFailed];
  box.hidden = running.length === 0 && failures.length === 0;
  box.querySelector("ul.jobs:not(.jobs-failed)").replaceChildren(...running);
  box.querySelector("ul.jobs-failed").replaceChildren(...failures);
  timer = setTimeout(poll, running.length ? 1500 : 6000);
}

if (box) poll();
