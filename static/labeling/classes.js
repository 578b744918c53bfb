// Classes screen for managers: rename, recolour and re-key a class in its row (PATCH), delete it
// with the reason shown beside it when refused, paste many names at once, merge two classes.
// Results that reload the page are kept in sessionStorage and shown once after the reload.
import { api } from "./api.js";
import { confirmLoss, plural } from "./confirm.js";
import { errorLines } from "./job_poll.js";

const table = document.getElementById("classes");
const flash = document.getElementById("classes-flash");
const FLASH_KEY = `classes-flash:${location.pathname}`;

function reloadWith(message) {
  sessionStorage.setItem(FLASH_KEY, message);
  window.location.reload();
}

const kept = sessionStorage.getItem(FLASH_KEY);
if (kept) {
  sessionStorage.removeItem(FLASH_KEY);
  flash.textContent = kept;
  flash.hidden = false;
}

function fill(ul, lines) {
  ul.replaceChildren(...lines.map((line) => Object.assign(document.createElement("li"), { textContent: line })));
}

for (const row of table.querySelectorAll("tbody tr[data-id]")) {
  const error = row.querySelector(".row-error");
  const url = `${table.dataset.url}${row.dataset.id}/`;
  row.querySelector("button.save").addEventListener("click", async () => {
    error.textContent = "";
    const body = {
      name: row.querySelector("input[name=name]").value,
      color: row.querySelector("input[name=color]").value,
      hotkey: row.querySelector("select[name=hotkey]").value,
    };
    const answer = await api("PATCH", url, body);
    if (!answer.ok) { error.textContent = (answer.data?.errors ?? []).map((e) => e.detail).join(" ") || answer.data?.detail; return; }
    row.dataset.class = answer.data.name;
    row.querySelector(".saved-name").textContent = answer.data.name;
    error.textContent = "";
    flash.hidden = false;
    flash.textContent = `Class ${JSON.stringify(answer.data.name)} saved.`;
  });
  row.querySelector("form.delete-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const answer = await api("DELETE", url);
    if (!answer.ok) {
      error.textContent = answer.data?.errors?.[0]?.detail ?? answer.data?.detail ?? `The server answered ${answer.status}.`;
      return;
    }
    reloadWith(`Class ${JSON.stringify(row.dataset.class)} deleted.`);
  });
}

const pasteForm = document.getElementById("paste-form");
pasteForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const errors = document.getElementById("paste-errors");
  errors.replaceChildren();
  const answer = await api("POST", pasteForm.dataset.url, { names: document.getElementById("paste-names").value });
  if (!answer.ok) { fill(errors, (answer.data?.errors ?? []).map((e) => e.detail).concat(answer.data?.errors?.length ? [] : [answer.data?.detail])); return; }
  reloadWith(`${plural(answer.data.length, "class", "classes")} added: ${answer.data.map((c) => c.name).join(", ")}.`);
});

const mergeForm = document.getElementById("merge-form");
mergeForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const errors = document.getElementById("merge-errors");
  errors.replaceChildren();
  const source = document.getElementById("merge-source").selectedOptions[0];
  const target = document.getElementById("merge-target").selectedOptions[0];
  if (!source || !target || source.value === target.value) { fill(errors, ["Choose two different classes."]); return; }
  const stats = await api("GET", table.dataset.url.replace(/classes\/$/, "stats/"));
  const counts = stats.ok ? stats.data.by_class.find((c) => String(c.id) === source.value) : null;
  const what = counts ? `${plural(counts.accepted, "label")} and ${plural(counts.proposed, "proposal")}` : "every label";
  const sure = await confirmLoss({
    title: `Merge ${source.textContent} into ${target.textContent}?`,
    text: `${what} of ${source.textContent} become ${target.textContent}, and the class ${source.textContent} is deleted. ` +
      `Tags of ${source.textContent} on images that ${target.textContent} already tags are dropped as duplicates.`,
    button: "Merge",
  });
  if (!sure) return;
  const answer = await api("POST", mergeForm.dataset.url, { source: Number(source.value), target: Number(target.value) });
  if (!answer.ok) { fill(errors, errorLines(answer.data, answer.status)); return; }
  const dropped = answer.data.dropped ? `; ${plural(answer.data.dropped, "duplicate tag")} dropped` : "";
  reloadWith(`Merged ${answer.data.source} into ${answer.data.target}: ${plural(answer.data.moved, "label")} moved${dropped}.`);
});

// The buttons above work only through this module: they stay disabled until it has bound them, so a
// click while the page is still loading cannot submit the form as a plain page request.
for (const button of document.querySelectorAll("[data-needs-script]")) button.disabled = false;
