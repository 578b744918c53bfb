// Background work of a project (features, exports, imports, proposals) as live progress bars.
import { api } from "./api.js";

const box = document.getElementById("jobs");
const NAMES = { features: "Reading images with the model", coco_export: "COCO export", coco_import: "COCO import",
  propose: "Proposing", import_urls: "Downloading images" };

async function poll() {
  const response = await api("GET", `${box.dataset.url}?state__in=queued,running&page_size=20`);
  const jobs = response.ok ? response.data.results : [];
  box.hidden = jobs.length === 0;
  box.querySelector("ul").replaceChildren(...jobs.map((job) => {
    const li = document.createElement("li");
    li.dataset.job = job.id;
    const label = document.createElement("span");
    label.textContent = `${NAMES[job.kind] ?? job.kind}: ${job.state === "queued" ? "waiting for a worker" : job.detail}`;
    const bar = document.createElement("progress");
    bar.max = 1;
    bar.value = job.progress;
    li.append(label, bar);
    return li;
  }));
  setTimeout(poll, jobs.length ? 1500 : 6000);
}

if (box) poll();
