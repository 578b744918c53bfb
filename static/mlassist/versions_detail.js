// The model page's per-version details: the proposal threshold (automatic, the project's, or a
// manager's override, which a manager sets or clears here) and the validation behind the version
// (how many images it was scored on, and what it was compared with before it was put in service).
import { api } from "../labeling/api.js";

const SOURCE = {
  override: "set by a manager",
  project: "the project's threshold",
  automatic: "automatic",
  default: "default",
};

function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text != null) node.textContent = text;
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

const fixed = (x) => (typeof x === "number" ? x.toFixed(2) : "–");

export function thresholdText(v) {
  const m = v.metrics;
  let text = `${fixed(v.threshold)} ${SOURCE[v.threshold_source] ?? v.threshold_source}`;
  if (v.threshold_source !== "automatic" && typeof m.threshold === "number") text += ` (automatic ${fixed(m.threshold)})`;
  if (typeof m.precision_at_threshold === "number") {
    text += `; at ${fixed(m.threshold)} on validation: precision ${fixed(m.precision_at_threshold)}, recall ${fixed(m.recall_at_threshold)}`;
  }
  return text;
}

/** The threshold cell; for a manager, a number to override it and a way back to automatic. */
export function thresholdCell(v, { canManage, url, onChange }) {
  const td = el("td", null, { "data-role": "threshold" });
  td.append(el("span", thresholdText(v), { class: "threshold-text" }));
  if (!canManage || v.metrics.source === "external") return td;
  // novalidate: the server says what is wrong (its 400 names the range), in the row, not a browser bubble.
  const form = el("form", null, { class: "threshold-form", novalidate: "" });
  const input = el("input", null, { type: "number", min: "0.01", max: "0.99", step: "0.01", name: "threshold",
    value: fixed(v.threshold), "aria-label": `Proposal threshold of ${v.kind} v${v.number}` });
  const set = el("button", "Set", { type: "submit", class: "secondary" });
  const error = el("span", null, { class: "error threshold-error", role: "alert" });
  const send = async (threshold) => {
    set.disabled = true;
    const response = await api("PATCH", url, { threshold });
    set.disabled = false;
    if (!response.ok) {
      error.textContent = response.data?.errors?.[0]?.detail ?? response.data?.detail ?? `Refused (${response.status})`;
      return;
    }
    onChange();
  };
  form.addEventListener("submit", (e) => { e.preventDefault(); send(Number(input.value)); });
  form.append(input, set);
  if (v.threshold_source === "override") {
    const automatic = el("button", "Automatic", { type: "button", class: "secondary", title: "Back to the threshold chosen from validation" });
    automatic.addEventListener("click", () => send(null));
    form.append(automatic);
  }
  form.append(error);
  td.append(form);
  return td;
}

export function validationText(v) {
  const m = v.metrics;
  if (m.source === "external") return "an external model's predictions (not validated here)";
  const parts = [m.n_val != null ? `scored on ${m.n_val} held-out image${m.n_val === 1 ? "" : "s"}` : "no validation recorded"];
  const c = m.compared_with;
  if (c && c.n) {
    const kept = c.p_old_better < 0.05;
    parts.push(`compared with v${c.version} on the ${c.n} both held out: ${fixed(c.new)} vs ${fixed(c.old)} per image, ` +
      `sign test p = ${c.p_old_better.toFixed(3)} → ${kept ? `not put in service (v${c.version} significantly better)` : "put in service (no significant difference against it)"}`);
  } else {
    parts.push("no comparison (no serving version on the same classes and backbone): put in service");
  }
  return parts.join("; ");
}

export function validationCell(v) {
  return el("td", validationText(v), { "data-role": "validation", class: "muted" });
}
