// Project settings: edit the project (PATCH), delete images by status or id, delete the project.
// Each destructive action first asks the API what it would lose and says so in a dialog.
import { api } from "./api.js";
import { confirmLoss, plural } from "./confirm.js";
import { errorLines } from "./job_poll.js";

const form = document.getElementById("settings-form");
const statusLine = document.getElementById("settings-status");

function fill(ul, lines) {
  ul.replaceChildren(...lines.map((line) => Object.assign(document.createElement("li"), { textContent: line })));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  for (const span of form.querySelectorAll("[data-error-for]")) span.textContent = "";
  const data = new FormData(form);
  const body = {
    name: data.get("name"),
    description: data.get("description"),
    queue_order: data.get("queue_order"),
    retrain_every: Number(data.get("retrain_every")),
    proposal_threshold: Number(data.get("proposal_threshold")),
  };
  statusLine.textContent = "Saving…";
  const answer = await api("PATCH", form.dataset.url, body);
  if (answer.ok) {
    statusLine.textContent = "Saved.";
    document.getElementById("project-title").textContent = answer.data.name;
    return;
  }
  statusLine.textContent = "Not saved; see the fields marked.";
  for (const error of answer.data?.errors ?? []) {
    const span = form.querySelector(`[data-error-for="${CSS.escape(error.field)}"]`);
    if (span) span.textContent = error.detail;
    else statusLine.textContent = error.detail;
  }
  if (!answer.data?.errors?.length) statusLine.textContent = answer.data?.detail ?? `The server answered ${answer.status}.`;
});

// Delete images ----------------------------------------------------------------------------------
const imagesBox = document.getElementById("delete-images");
const imagesForm = document.getElementById("delete-images-form");
const imagesStatus = document.getElementById("delete-images-status");
const imagesErrors = document.getElementById("delete-images-errors");

imagesForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  imagesErrors.replaceChildren();
  const data = new FormData(imagesForm);
  const statuses = data.getAll("status");
  const idsText = String(data.get("ids") ?? "").trim();
  const ids = idsText ? idsText.split(/[\s,]+/).filter(Boolean) : [];
  if (ids.some((x) => !/^\d+$/.test(x))) { fill(imagesErrors, ["ids: give image ids (numbers) separated by commas."]); return; }
  if (!statuses.length && !ids.length) { fill(imagesErrors, ["Choose a status or give image ids."]); return; }
  const query = new URLSearchParams();
  if (ids.length) query.set("ids", ids.join(","));
  else for (const s of statuses) query.append("status", s);
  const summary = await api("GET", `${imagesBox.dataset.url}?${query}`);
  if (!summary.ok) { fill(imagesErrors, errorLines(summary.data, summary.status)); return; }
  if (!summary.data.images) { imagesStatus.textContent = "No image matches; nothing to delete."; return; }
  const what = ids.length ? "the chosen images" : `every image that is ${statuses.map((s) => s.replace("_", " ")).join(" or ")}`;
  const sure = await confirmLoss({
    title: `Delete ${plural(summary.data.images, "image")}?`,
    text: `This deletes ${what}: ${plural(summary.data.images, "image")} and ${plural(summary.data.annotations, "annotation")} ` +
      "(labels and proposals) on them, for good. Their files are removed too.",
    button: `Delete ${plural(summary.data.images, "image")}`,
  });
  if (!sure) { imagesStatus.textContent = "Nothing was deleted."; return; }
  const done = await api("POST", imagesBox.dataset.url, ids.length ? { ids: ids.map(Number) } : { status: statuses });
  if (!done.ok) { fill(imagesErrors, errorLines(done.data, done.status)); imagesStatus.textContent = "Nothing was deleted."; return; }
  imagesStatus.textContent = `Deleted ${plural(done.data.images, "image")} and ${plural(done.data.annotations, "annotation")}.`;
  imagesForm.reset();
});

// Delete the project -----------------------------------------------------------------------------
const projectBox = document.getElementById("delete-project");
document.getElementById("delete-project-button").addEventListener("click", async () => {
  const name = document.getElementById("project-name").content.textContent;
  const sure = await confirmLoss({
    title: `Delete the project ${name}?`,
    text: projectBox.querySelector("p").textContent.replace(/\s+/g, " ").trim() + " This cannot be undone.",
    button: "Delete the project",
    typeToConfirm: name,
  });
  if (!sure) return;
  const done = await api("DELETE", projectBox.dataset.url);
  if (!done.ok) { fill(document.getElementById("delete-project-errors"), errorLines(done.data, done.status)); return; }
  window.location.assign(projectBox.dataset.after);
});

// The buttons above work only through this module: they stay disabled until it has bound them, so a
// click while the page is still loading cannot submit the form as a plain page request.
for (const button of document.querySelectorAll("[data-needs-script]")) button.disabled = false;
