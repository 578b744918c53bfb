// Upload images and zips to the API with a progress bar; list refused files with their reasons.
import { csrfToken } from "./api.js";

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

if (form) {
  const input = document.getElementById("upload-files");
  const bar = document.getElementById("upload-progress");
  const status = document.getElementById("upload-status");
  const errors = document.getElementById("upload-errors");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!input.files.length) { status.textContent = "Choose files first."; return; }
    errors.replaceChildren();
    bar.hidden = false;
    bar.value = 0;
    status.textContent = "Uploading…";
    try {
      const { status: code, data } = await send(form.dataset.url, input.files, (p) => {
        bar.value = p;
        if (p >= 1) status.textContent = "Checking images…";
      });
      const created = data.created?.length ?? 0;
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
      status.textContent = `${created} image${created === 1 ? "" : "s"} stored, ${data.errors?.length ?? 0} refused.`;
      if (created) setTimeout(() => window.location.reload(), errors.childElementCount ? 2500 : 600);
    } catch (err) {
      status.textContent = err.message;
    } finally {
      bar.value = 1;
    }
  });
}
