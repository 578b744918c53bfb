// Follow one background job until it ends: calls onUpdate(job) after each poll and resolves with the
// finished job (succeeded or failed). Used by the export, import and URL import screens.
import { api } from "./api.js";

export function jobLabel(job) {
  if (job.state === "queued") return "Waiting for a worker…";
  if (job.state === "running") return job.detail || "Running…";
  if (job.state === "failed") return `Failed: ${job.error || "no reason was recorded"}`;
  return job.detail || "Done";
}

export async function followJob(id, onUpdate, intervalMs = 700) {
  for (;;) {
    const response = await api("GET", `/api/jobs/${id}/`);
    if (!response.ok) throw new Error(response.data?.detail ?? `The server answered ${response.status}.`);
    await onUpdate(response.data);
    if (response.data.state === "succeeded" || response.data.state === "failed") return response.data;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export function humanSize(bytes) {
  if (bytes == null || Number.isNaN(bytes)) return "";
  const units = ["bytes", "KB", "MB", "GB"];
  let n = bytes;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return i === 0 ? `${n} byte${n === 1 ? "" : "s"}` : `${n.toFixed(1)} ${units[i]}`;
}

/** The API's error body as lines: "field: detail" for each error, else the detail. */
export function errorLines(data, status) {
  const errors = data?.errors ?? [];
  if (errors.length) return errors.map((e) => (e.field ? `${e.field}: ${e.detail}` : e.detail));
  return [data?.detail ?? `The server answered ${status}.`];
}
