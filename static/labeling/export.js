// Export screen: start a COCO / zip / CSV export as a job, follow its progress bar, then offer the
// file and add it to the list of last exports (with its size, read from the download's headers).
import { api } from "./api.js";
import { errorLines, followJob, humanSize, jobLabel } from "./job_poll.js";

const form = document.getElementById("export-form");
const box = document.getElementById("export-job");
const statusLine = document.getElementById("export-status");
const bar = document.getElementById("export-progress");
const link = document.getElementById("export-download");
const errors = document.getElementById("export-errors");
const button = form.querySelector("button[type=submit]");

function query() {
  const data = new FormData(form);
  const states = data.getAll("states");
  const params = new URLSearchParams({ output: data.get("output"), mask_format: data.get("mask_format"), job: "true" });
  if (states.length) params.set("states", states.join(","));
  return { params, states };
}

async function addRow(job, params) {
  const head = await fetch(job.result_url, { method: "HEAD", credentials: "same-origin" });
  const size = Number(head.headers.get("Content-Length"));
  const name = job.result?.file ?? "export";
  const tbody = document.querySelector("#exports tbody");
  tbody.querySelector("tr.none")?.remove();
  const row = document.createElement("tr");
  row.dataset.job = job.id;
  const cells = [new Date(job.finished_at).toISOString().slice(0, 16).replace("T", " "),
    `${params.get("output")} · ${(params.get("states") ?? "accepted").replaceAll(",", ", ")}` +
      (params.get("output") === "tags_csv" ? "" : ` · ${params.get("mask_format")}`), humanSize(size)];
  for (const text of cells) {
    const td = document.createElement("td");
    td.textContent = text;
    row.append(td);
  }
  const td = document.createElement("td");
  const a = document.createElement("a");
  a.href = job.result_url;
  a.download = "";
  a.textContent = name;
  td.append(a);
  row.append(td);
  tbody.prepend(row);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  errors.replaceChildren();
  const { params, states } = query();
  if (!states.length) {
    const li = document.createElement("li");
    li.textContent = "Which labels: choose at least one.";
    errors.append(li);
    return;
  }
  button.disabled = true;
  link.hidden = true;
  box.hidden = false;
  bar.value = 0;
  statusLine.textContent = "Starting…";
  try {
    const started = await api("GET", `${form.dataset.url}?${params}`);
    if (!started.ok) {
      box.hidden = true;
      for (const line of errorLines(started.data, started.status)) {
        const li = document.createElement("li");
        li.textContent = line;
        errors.append(li);
      }
      return;
    }
    const job = await followJob(started.data.id, (j) => {
      bar.value = j.progress;
      statusLine.textContent = jobLabel(j);
    });
    if (job.state === "succeeded") {
      statusLine.textContent = "Export ready.";
      link.href = job.result_url;
      link.textContent = `Download ${job.result?.file ?? "the export"}`;
      link.hidden = false;
      await addRow(job, params);
    } else {
      statusLine.classList.add("error");
    }
  } catch (err) {
    statusLine.textContent = err.message;
  } finally {
    button.disabled = false;
  }
});

// The buttons above work only through this module: they stay disabled until it has bound them, so a
// click while the page is still loading cannot submit the form as a plain page request.
for (const button of document.querySelectorAll("[data-needs-script]")) button.disabled = false;
