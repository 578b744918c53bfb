// Managers select images in the project page's grid and delete them, after a dialog that says how
// many images and annotations go. Deleted tiles leave the grid and the counts are refreshed.
import { api } from "./api.js";
import { confirmLoss, plural } from "./confirm.js";
import { errorLines } from "./job_poll.js";
import { refreshStats } from "./project_stats.js";

const grid = document.getElementById("image-grid");
const bar = document.getElementById("selection");
const count = document.getElementById("selection-count");
const errors = document.getElementById("selection-errors");
const statsUrl = document.getElementById("upload-form")?.dataset.statsUrl;

function picked() {
  return [...grid.querySelectorAll(".pick input:checked")].map((box) => Number(box.value));
}

function update() {
  const ids = picked();
  bar.hidden = ids.length === 0;
  count.textContent = `${plural(ids.length, "image")} selected`;
  for (const tile of grid.querySelectorAll("li.tile")) {
    tile.classList.toggle("picked", Boolean(tile.querySelector(".pick input:checked")));
  }
}

grid.addEventListener("change", (event) => {
  if (event.target.closest(".pick")) update();
});

document.getElementById("clear-selection").addEventListener("click", () => {
  for (const box of grid.querySelectorAll(".pick input:checked")) box.checked = false;
  errors.textContent = "";
  update();
});

document.getElementById("delete-selected").addEventListener("click", async () => {
  errors.textContent = "";
  const ids = picked();
  if (!ids.length) return;
  const summary = await api("GET", `${bar.dataset.url}?ids=${ids.join(",")}`);
  if (!summary.ok) { errors.textContent = errorLines(summary.data, summary.status).join(" "); return; }
  const sure = await confirmLoss({
    title: `Delete ${plural(summary.data.images, "image")}?`,
    text: `This deletes the selected ${plural(summary.data.images, "image")} and the ` +
      `${plural(summary.data.annotations, "annotation")} (labels and proposals) on them, for good.`,
    button: `Delete ${plural(summary.data.images, "image")}`,
  });
  if (!sure) return;
  const done = await api("POST", bar.dataset.url, { ids });
  if (!done.ok) { errors.textContent = errorLines(done.data, done.status).join(" "); return; }
  for (const id of ids) grid.querySelector(`li.tile[data-image="${id}"]`)?.remove();
  update();
  count.textContent = `Deleted ${plural(done.data.images, "image")} and ${plural(done.data.annotations, "annotation")}.`;
  bar.hidden = false;
  if (statsUrl) await refreshStats(statsUrl);
});
