// Upload images and zips to the API with a progress bar; list refused files with their reasons.
// Files may be chosen or dropped on the drop zone. Nothing reloads the page: stored images are added
// to the grid and the counts refreshed, so the refused files' reasons stay on screen.
import { csrfToken } from "./api.js";
import { refreshStats } from "./project_stats.js";

const form = document.getElementById("upload-form");

function send(url, files, onProgress) {
  return new Promise((resolve, reject) => {
    const body = new FormData();
    for (const file of files) body.append("files", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let data = {};
      try { data = JSON.parse(xhr.responseText); } catch { data = { detail: xhr.statusText }; }
      resolve({ status: xhr.status, data });
    };
    xhr.onerror = () => reject(new Error("The connection failed; nothing was sent."));
    xhr.send(body);
  });
}

function tile(image) {
  const li = document.createElement("li");
  li.className = `tile status-${image.status}`;
  li.dataset.image = image.id;
  const img = document.createElement("img");
  img.loading = "lazy";
  img.src = image.thumbnail_url;
  img.alt = image.file_name;
  const link = document.createElement("a");
  link.className = "annotate";
  link.href = form.dataset.workspaceUrl.replace(/\/0\/annotate\/$/, `/${image.id}/annotate/`);
  link.textContent = "Annotate";
  const name = Object.assign(document.createElement("span"), { className: "name", title: image.file_name, textContent: image.file_name });
  const size = Object.assign(document.createElement("span"), { className: "size", textContent: `${image.width}×${image.height}` });
  const badge = Object.assign(document.createElement("span"), { className: "badge", textContent: image.status.replace("_", " ") });
  const pick = Object.assign(document.createElement("label"), { className: "check pick" });
  pick.append(Object.assign(document.createElement("input"), { type: "checkbox", value: image.id }), " select");
  li.append(img, link, name, size, badge, pick);  // uploads are for managers, who may select to delete
  return li;
}

async function refresh(created) {
  const grid = document.getElementById("image-grid");
  if (grid && created.length) {
    grid.querySelector("li.muted")?.remove();
    grid.append(...created.map(tile));
  }
  await refreshStats(form.dataset.statsUrl);
}

if (form) {
  const input = document.getElementById("upload-files");
  const drop = document.getElementById("upload-drop");
  const bar = document.getElementById("upload-progress");
  const status = document.getElementById("upload-status");
  const errors = document.getElementById("upload-errors");

  async function upload(files) {
    if (!files.length) { status.textContent = "Choose files first."; return; }
    errors.replaceChildren();
    bar.hidden = false;
    bar.value = 0;
    status.textContent = "Uploading…";
    try {
      const { status: code, data } = await send(form.dataset.url, files, (p) => {
        bar.value = p;
        if (p >= 1) status.textContent = "Checking images…";
      });
      const created = data.created ?? [];
      for (const e of data.errors ?? []) {
        const li = document.createElement("li");
        li.textContent = `${e.file}: ${e.detail}`;
        errors.append(li);
      }
      if (code >= 400 && !data.errors?.length) {
        const li = document.createElement("li");
        li.textContent = data.detail ?? `The server answered ${code}.`;
        errors.append(li);
      }
      const refused = data.errors?.length ?? 0;
      status.textContent = `${created.length} image${created.length === 1 ? "" : "s"} stored, ${refused} refused.`;
      await refresh(created);
      input.value = "";
    } catch (err) {
      status.textContent = err.message;
    } finally {
      bar.value = 1;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    upload(input.files);
  });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    upload(e.dataTransfer.files);
  });
  // Disabled in the page until here: a click before this module ran would submit the form natively.
  form.querySelector("button[data-needs-script]").disabled = false;
}
