// The members page for managers: change a member's role or remove them in place, through the API,
// with the refusal (for example "A project keeps at least one manager.") beside that member's row.
import { api } from "./api.js";

const table = document.getElementById("members");

function rowParts(row) {
  return { error: row.querySelector(".row-error"), note: row.querySelector(".row-note"), name: row.dataset.member };
}

function say(row, error, note = "") {
  const parts = rowParts(row);
  parts.error.textContent = error;
  parts.note.textContent = note;
}

function reason(response) {
  return response.data?.errors?.[0]?.detail ?? response.data?.detail ?? `Refused (${response.status}).`;
}

for (const row of table.querySelectorAll("tbody tr[data-id]")) {
  const url = `${table.dataset.api}${row.dataset.id}/`;
  const select = row.querySelector("select[name=role]");
  select?.addEventListener("change", async () => {
    say(row, "");
    select.disabled = true;
    const response = await api("PATCH", url, { role: select.value });
    select.disabled = false;
    if (!response.ok) {
      select.value = select.dataset.was;
      say(row, reason(response));
      return;
    }
    select.dataset.was = response.data.role;
    if (row.dataset.member === table.dataset.me && response.data.role !== "manager") {
      window.location.reload(); // no longer a manager: the page shows what the new role may do
      return;
    }
    say(row, "", `now ${response.data.role}`);
  });
  row.querySelector("form.remove-member")?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { name } = rowParts(row);
    if (!window.confirm(`Remove ${name} from this project? Their labels stay; they lose access to the project.`)) return;
    say(row, "");
    const response = await api("DELETE", url);
    if (!response.ok && response.status !== 404) {
      say(row, reason(response));
      return;
    }
    if (name === table.dataset.me) {
      window.location.assign("/");
      return;
    }
    row.remove();
  });
}
