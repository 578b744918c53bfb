// The project page's counts, refreshed from the API after uploads and deletes (no page reload, so
// reports on the page stay). Imported by upload.js and grid_select.js, never loaded by a tag itself.
import { api } from "./api.js";

export async function refreshStats(url) {
  const stats = await api("GET", url);
  if (!stats.ok) return;
  const set = (key, n) => {
    const el = document.querySelector(`[data-stat="${key}"]`);
    if (el) el.textContent = n;
  };
  set("images", stats.data.images);
  const word = document.querySelector('[data-word-for="images"]');
  if (word) word.textContent = stats.data.images === 1 ? "image" : "images";
  for (const [status, n] of Object.entries(stats.data.by_status)) set(status, n);
  set("accepted", stats.data.by_state.accepted);
  set("proposed", stats.data.by_state.proposed);
  const progress = document.querySelector("#stats progress");
  if (progress) progress.value = stats.data.progress;
}
