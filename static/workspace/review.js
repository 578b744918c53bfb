// The workspace's review and history sections. A reviewer (or manager) marks the open image
// reviewed or sends it back with a comment; whoever opens a sent-back image sees that comment on
// top of the panel. History lists the audit trail (who, when, before → after) of the selected
// object or of the whole image, from the server's append-only events.

import { api } from "../labeling/api.js";

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
const when = (iso) => new Date(iso).toLocaleString([], { dateStyle: "short", timeStyle: "short" });

export class ReviewPanel {
  constructor(ws) {
    this.ws = ws;
    this.image = null;
    $("ws-review-reviewed")?.addEventListener("click", () => this.judge("reviewed"));
    $("ws-review-send")?.addEventListener("click", () => this.judge("sent_back"));
    $("ws-history-object").addEventListener("click", () => this.objectHistory());
    $("ws-history-image").addEventListener("click", () => this.imageHistory());
  }

  async imageOpened(image) {
    this.image = image;
    $("ws-history-list").innerHTML = "";
    $("ws-history-title").textContent = "";
    const note = $("ws-review-note");
    note.hidden = true;
    const res = await api("GET", `/api/images/${image.id}/review/`);
    if (this.image !== image || !res.ok) return;
    const open = res.data.find((n) => n.verdict === "sent_back" && !n.resolved);
    if (open) {
      note.hidden = false;
      $("ws-review-note-head").textContent = `Sent back by ${open.author || "a reviewer"} on ${when(open.created_at)}:`;
      $("ws-review-note-text").textContent = open.text;
    }
    const last = res.data[0];
    $("ws-review-last").textContent = last ? `Last verdict: ${last.verdict === "reviewed" ? "reviewed" : "sent back"} by ${last.author || "—"}, ${when(last.created_at)}` : "";
  }

  async judge(verdict) {
    const ws = this.ws, image = this.image;
    if (!image || !(await ws.saver.flushNow())) { ws.toast("Save or resolve the open changes first."); return; }
    const text = $("ws-review-text").value;
    const res = await api("POST", `/api/images/${image.id}/review/`, { verdict, text });
    const err = $("ws-review-error");
    if (!res.ok) {
      err.textContent = res.data?.errors?.[0]?.detail || res.data?.detail || "The verdict was not saved.";
      err.hidden = false;
      return;
    }
    err.hidden = true;
    $("ws-review-text").value = "";
    image.status = res.data.image_status;
    document.body.dataset.imageStatus = image.status;
    ws.refreshImageInfo?.();
    ws.toast(verdict === "reviewed" ? `${image.file_name} marked reviewed.` : `${image.file_name} sent back with your comment.`);
    this.imageOpened(image);
  }

  async objectHistory() {
    const ws = this.ws, sel = [...ws.selection].map((cid) => ws.store.get(cid)).filter(Boolean);
    if (sel.length !== 1) { ws.toast("Select one object to see its history."); return; }
    const ann = sel[0];
    if (ann.id == null) { ws.toast("This object is not saved yet: it has no history."); return; }
    const res = await api("GET", `/api/annotations/${ann.id}/events/`);
    if (!res.ok) { ws.toast(res.data?.detail || "Could not read the history."); return; }
    this.show(`History of ${ann.kind} “${ws.nameOf(ann.label_class)}” ${ann.instance || ""}`, res.data.slice().reverse());
  }

  async imageHistory() {
    const image = this.image;
    if (!image) return;
    const res = await api("GET", `/api/images/${image.id}/events/`);
    if (!res.ok) { this.ws.toast(res.data?.detail || "Could not read the history."); return; }
    this.show(`History of ${image.file_name}`, res.data);
  }

  show(title, events) {
    $("ws-history-title").textContent = title;
    $("ws-history-list").innerHTML = events.length
      ? events.map((e) => `<li data-action="${esc(e.action)}"><span class="who">${esc(e.actor || "someone (account deleted)")}</span> ` +
        `<time datetime="${esc(e.at)}">${esc(when(e.at))}</time><div class="what">${esc(this.describe(e))}</div></li>`).join("")
      : `<li class="muted">No changes recorded.</li>`;
  }

  /** One line saying what changed: before → after, in words. */
  describe(e) {
    const ws = this.ws, b = e.before || {}, a = e.after || {};
    const shape = (x) => `${x.kind || "object"} “${ws.nameOf(x.label_class)}”`;
    if (e.action === "create") return `created ${shape(a)} (${a.state || "accepted"})`;
    if (e.action === "delete") return `deleted ${shape(b)}`;
    const parts = [];
    if (b.label_class !== a.label_class) parts.push(`class ${ws.nameOf(b.label_class)} → ${ws.nameOf(a.label_class)}`);
    if (b.state !== a.state) parts.push(`state ${b.state} → ${a.state}`);
    if (JSON.stringify(b.geometry) !== JSON.stringify(a.geometry)) parts.push("shape changed");
    if (b.iscrowd !== a.iscrowd) parts.push(`crowd ${b.iscrowd ? "yes" : "no"} → ${a.iscrowd ? "yes" : "no"}`);
    return `${e.action === "state" ? "state changed" : "changed"} ${shape(b)}: ${parts.join(", ") || "no visible change"}`;
  }
}
