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

async function poll() {
  clearTimeout(timer);
  const since = new Date(Date.now() - FAILED_WITHIN_MS).toISOString();
  const [active, failed] = await Promise.all([
    api("GET", `${box.dataset.url}?state__in=queued,running&page_size=20`),
    api("GET", `${box.dataset.url}?state=failed&finished_at__gte=${encodeURIComponent(since)}&page_size=10`),
  ]);
  const running = active.ok ? active.data.results : [];
  const failures = failed.ok ? failed.data.results : [];
  box.hidden = running.length === 0 && failures.length === 0;
  box.querySelector("ul.jobs:not(.jobs-failed)").replaceChildren(...running.map(activeItem));
  box.querySelector("ul.jobs-failed").replaceChildren(...failures.map(failedItem));
  timer = setTimeout(poll, running.length ? 1500 : 6000);
}

if (box) poll();
