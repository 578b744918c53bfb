// The side panel: classes, tags, proposals count and the list of objects, kept in step with the
// canvas selection. The object list is rebuilt only when annotations change, and capped.

import { paintColors } from "../labeling/page.js";

const MAX_ROWS = 1000;
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

export class Panel {
  constructor(ws) {
    this.ws = ws;
    this.classesEl = document.getElementById("ws-classes");
    this.tagsEl = document.getElementById("ws-tags");
    this.objectsEl = document.getElementById("ws-objects");
    this.rows = new Map();
    this.revision = -1; this.timer = null;
    this.classesEl.addEventListener("click", (e) => {
      const li = e.target.closest("li[data-class]");
      if (li) ws.chooseClass(Number(li.dataset.class));
    });
    this.tagsEl?.addEventListener("change", (e) => {
      const input = e.target.closest("input[data-tag]");
      if (input) ws.toggleTag(Number(input.dataset.tag));
    });
    this.objectsEl.addEventListener("click", (e) => {
      const li = e.target.closest("li[data-cid]");
      if (!li) return;
      const cid = Number(li.dataset.cid), act = e.target.closest("button")?.dataset.act;
      if (act === "hide") ws.toggleHidden([cid]);
      else if (act === "accept") ws.setState([cid], "accepted");
      else if (act === "reject") ws.setState([cid], "rejected");
      else if (e.shiftKey) ws.toggleSelect(cid);
      else { ws.select([cid], { explicit: true }); ws.focusOn(cid); }
    });
  }

  renderClasses() {
    const ws = this.ws;
    this.classesEl.innerHTML = ws.classes.map((c) =>
      `<li data-class="${c.id}" class="${c.id === ws.activeClass ? "active" : ""}"><span class="swatch" data-color="${esc(c.color)}"></span>${esc(c.name)}<kbd>${esc(c.hotkey || "")}</kbd></li>`
    ).join("");
    paintColors(this.classesEl);
  }

  /** Rebuild lists soon (once per burst of changes). */
  changed() {
    if (this.timer) return;
    this.timer = setTimeout(() => { this.timer = null; this.rebuild(); }, 30);
  }

  rebuild() {
    const ws = this.ws, store = ws.store;
    if (store.revision === this.revision) return this.syncSelection();
    this.revision = store.revision;
    const tags = [], objects = [];
    let proposals = 0;
    for (const a of store.all()) {
      if (a.state === "proposed") proposals++;
      if (a.kind === "tag") tags.push(a);
      else if (a.state !== "rejected") objects.push(a);
    }
    if (this.tagsEl) {
      this.tagsEl.innerHTML = ws.classes.map((c) => {
        const on = tags.find((t) => t.label_class === c.id && t.state === "accepted");
        const prop = tags.find((t) => t.label_class === c.id && t.state === "proposed");
        return `<li data-tag-class="${c.id}" class="${on ? "on" : ""}"><label><input type="checkbox" data-tag="${c.id}" ${on ? "checked" : ""}>` +
          `<span class="swatch" data-color="${esc(c.color)}"></span>${esc(c.name)}` +
          `${prop ? ` <em class="muted">proposed ${prop.score != null ? prop.score.toFixed(2) : ""}</em>` : ""}<kbd>${esc(c.hotkey || "")}</kbd></label></li>`;
      }).join("");
      paintColors(this.tagsEl);
    }
    document.getElementById("ws-proposal-count").textContent = `${proposals} waiting`;
    document.getElementById("ws-object-count").textContent = `(${objects.length})`;
    this.rows = new Map();
    const html = [];
    const counts = new Map();
    for (const a of objects) { const n = (counts.get(a.label_class) || 0) + 1; counts.set(a.label_class, n); a.instance = n; }
    objects.slice(0, MAX_ROWS).forEach((a) => {
      const p = a.state === "proposed";
      html.push(`<li data-cid="${a.cid}" data-id="${a.id ?? ""}" data-kind="${a.kind}" data-state="${a.state}" data-locked="${a.locked ? "1" : "0"}" class="${p ? "proposed" : ""} ${a.hidden ? "hidden-shape" : ""}">` +
        `<span class="swatch" data-color="${esc(ws.colorOf(a.label_class))}"></span>${esc(a.kind)} · ${esc(ws.nameOf(a.label_class))} ${a.instance}` +
        `${p ? ` <em class="tag-proposed">proposed</em>` : ""}${a.locked ? ` <span class="lock" title="Locked (L)">locked</span>` : ""}` +
        `${p ? `<span class="score">${a.score != null ? a.score.toFixed(2) : ""}</span><button type="button" data-act="accept" title="Accept (A)">✓</button><button type="button" data-act="reject" title="Reject (R)">✗</button>` : ""}` +
        `<button type="button" data-act="hide" title="Hide / show (H)">${a.hidden ? "show" : "hide"}</button></li>`);
    });
    if (objects.length > MAX_ROWS) html.push(`<li class="muted">… and ${objects.length - MAX_ROWS} more</li>`);
    this.objectsEl.innerHTML = html.join("");
    paintColors(this.objectsEl);
    for (const li of this.objectsEl.children) if (li.dataset.cid) this.rows.set(Number(li.dataset.cid), li);
    this.syncSelection();
  }

  syncSelection() {
    const sel = this.ws.selection;
    for (const li of this.objectsEl.querySelectorAll("li.selected")) if (!sel.has(Number(li.dataset.cid))) li.classList.remove("selected");
    let first = null;
    for (const cid of sel) { const li = this.rows.get(cid); if (li) { li.classList.add("selected"); first = first || li; } }
    if (first && sel.size === 1) first.scrollIntoView({ block: "nearest" });
  }
}
