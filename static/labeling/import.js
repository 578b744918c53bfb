// Import screen: a COCO JSON (with an optional images zip) and a pasted list of URLs. Every refused
// element and line stays listed on the page with its reason; nothing reloads it.
import { api, csrfToken } from "./api.js";
import { errorLines, followJob, jobLabel } from "./job_poll.js";

function post(url, body, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let data = {};
      try { data = JSON.parse(xhr.responseText); } catch { data = { detail: xhr.statusText }; }
      resolve({ status: xhr.status, ok: xhr.status < 300, data });
    };
    xhr.onerror = () => reject(new Error("The connection failed; nothing was sent."));
    xhr.send(body);
  });
}

function list(ul, lines) {
  ul.replaceChildren(...lines.map((line) => {
    const li = document.createElement("li");
    li.textContent = line;
    return li;
  }));
}

function importSummary(result) {
  const created = result.classes_created?.length ? `; new classes: ${result.classes_created.join(", ")}` : "";
  return `Imported ${result.annotations} annotation${result.annotations === 1 ? "" : "s"} on ` +
    `${result.images} image${result.images === 1 ? "" : "s"}${created}.`;
}

// COCO ------------------------------------------------------------------------------------------
const cocoForm = document.getElementById("coco-form");
const cocoFile = document.getElementById("coco-file");
const cocoImages = document.getElementById("coco-images");
const cocoBar = document.getElementById("coco-progress");
const cocoStatus = document.getElementById("coco-status");
const cocoErrors = document.getElementById("coco-errors");
const drop = document.getElementById("coco-drop");

drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const files = [...e.dataTransfer.files];
  const isJson = (file) => /\.json$/i.test(file.name) || file.type === "application/json";
  const isZip = (file) => /\.zip$/i.test(file.name) || file.type.includes("zip");
  // A zip dropped without a JSON is our own export (COCO and images in one): it is the file itself.
  const alone = !files.some(isJson);
  for (const file of files) {
    const box = new DataTransfer();
    box.items.add(file);
    if (isJson(file) || (alone && isZip(file))) cocoFile.files = box.files;
    else if (isZip(file)) cocoImages.files = box.files;
  }
  cocoStatus.textContent = [cocoFile.files[0]?.name, cocoImages.files[0]?.name].filter(Boolean).join(" + ");
});

cocoForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  cocoErrors.replaceChildren();
  if (!cocoFile.files.length) { cocoStatus.textContent = "Choose the COCO JSON file (or our export zip) first."; return; }
  const body = new FormData();
  body.append("file", cocoFile.files[0]);
  if (cocoImages.files.length) body.append("images", cocoImages.files[0]);
  cocoBar.hidden = false;
  cocoBar.value = 0;
  cocoStatus.textContent = "Uploading…";
  try {
    const answer = await post(cocoForm.dataset.url, body, (p) => { cocoBar.value = p; });
    if (!answer.ok) {
      cocoStatus.textContent = "Refused; nothing was imported.";
      list(cocoErrors, errorLines(answer.data, answer.status));
      return;
    }
    if (answer.status === 201) {
      cocoBar.value = 1;
      cocoStatus.textContent = importSummary(answer.data);
      return;
    }
    const job = await followJob(answer.data.id, (j) => {
      cocoBar.value = j.progress;
      cocoStatus.textContent = jobLabel(j);
    });
    if (job.state === "succeeded") cocoStatus.textContent = importSummary(job.result);
    else {
      cocoStatus.textContent = "Refused; nothing was imported.";
      list(cocoErrors, [job.error || "The import failed."]);
    }
  } catch (err) {
    cocoStatus.textContent = err.message;
  }
});

// URLs ------------------------------------------------------------------------------------------
const urlForm = document.getElementById("url-form");
const urlBar = document.getElementById("url-progress");
const urlStatus = document.getElementById("url-status");
const urlErrors = document.getElementById("url-errors");
const urlCounts = document.getElementById("url-counts");
const report = document.getElementById("url-report");
const OUTCOME = { stored: "stored", duplicate: "already in the project", refused: "refused" };

async function showLines(jobId) {
  const rows = [];
  for (let page = 1; page; ) {
    const answer = await api("GET", `/api/jobs/${jobId}/url-lines/?page_size=1000&page=${page}`);
    if (!answer.ok) break;
    rows.push(...answer.data.results);
    page = answer.data.next ? page + 1 : 0;
  }
  report.replaceChildren(...rows.map((row) => {
    const li = document.createElement("li");
    li.value = row.line;
    li.dataset.line = row.line;
    li.className = `outcome-${row.outcome}`;
    const why = row.detail ? `: ${row.detail}` : "";
    li.textContent = `${row.url} — ${OUTCOME[row.outcome] ?? row.outcome}${why}`;
    return li;
  }));
  const counts = { stored: 0, duplicate: 0, refused: 0 };
  for (const row of rows) counts[row.outcome] += 1;
  urlCounts.hidden = false;
  urlCounts.textContent = `${counts.stored} stored, ${counts.duplicate} already in the project, ${counts.refused} refused`;
}

urlForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  urlErrors.replaceChildren();
  report.replaceChildren();
  urlCounts.hidden = true;
  const text = document.getElementById("url-list").value;
  if (!text.trim()) { urlStatus.textContent = "Paste one URL a line first."; return; }
  const body = new FormData();
  body.append("file", new Blob([text], { type: "text/plain" }), "urls.txt");
  urlBar.hidden = false;
  urlBar.value = 0;
  urlStatus.textContent = "Checking the list…";
  try {
    const answer = await post(urlForm.dataset.url, body, () => {});
    if (!answer.ok) {
      urlStatus.textContent = "Refused; nothing was downloaded.";
      list(urlErrors, errorLines(answer.data, answer.status));
      return;
    }
    let shown = 0;
    const job = await followJob(answer.data.id, async (j) => {
      urlBar.value = j.progress;
      urlStatus.textContent = jobLabel(j);
      if (Date.now() - shown > 1500) { shown = Date.now(); await showLines(j.id); }
    });
    await showLines(job.id);
    if (job.state === "failed") list(urlErrors, [job.error || "The import failed."]);
  } catch (err) {
    urlStatus.textContent = err.message;
  }
});

// The buttons above work only through this module: they stay disabled until it has bound them, so a
// click while the page is still loading cannot submit the form as a plain page request.
for (const button of document.querySelectorAll("[data-needs-script]")) button.disabled = false;
