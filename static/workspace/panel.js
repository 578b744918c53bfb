// The side panel: classes, tags, proposals count and the list of objects, kept in step with the
// canvas selection. The object list holds every object but is virtualised: rows have one height,
// the list scrolls on its own, and only the rows in view (and a few around) are in the document,
// so 5,000 objects cost what 40 do. It is rebuilt only when annotations change.

import { paintColors } from "../labeling/page.js";

const ROW_PX = 26; // .ws-objects li's fixed height (workspace.css)
const OVERSCAN = 15; // rows kept above and below the visible ones, so a quick scroll shows no gap
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

export class Panel {
  constructor(ws) {
    this.ws = ws;
    this.classesEl = document.getElementById("ws-classes");
    this.tagsEl = document.getElementById("ws-tags");
    this.objectsEl = document.getElementById("ws-objects");
    this.scrollEl = document.getElementById("ws-objects-scroll"); // the list's own scrolling box
    this.rows = new Map(); // cid -> its <li>, for the rows in the document now
    this.objects = []; this.index = new Map(); // every listed object, and cid -> its position
    this.window = null; // [first, end) of the rows in the document
    this.revision = -1; this.timer = null;
    this.scrollEl.addEventListener("scroll", () => {
      if (this.scrollFrame) return;
      this.scrollFrame = requestAnimationFrame(() => { this.scrollFrame = null; this.renderWindow(); });
    });
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
    const counts = new Map();
    for (const a of objects) { const n = (counts.get(a.label_class) || 0) + 1; counts.set(a.label_class, n); a.instance = n; }
    this.objects = objects;
    this.index = new Map(objects.map((a, k) => [a.cid, k]));
    this.window = null;
    this.renderWindow();
    this.syncSelection();
  }

  /** Put the rows in view into the list; the padding above and below stands for the others. */
  renderWindow() {
    const el = this.objectsEl, box = this.scrollEl, n = this.objects.length;
    const shown = Math.ceil(Math.max(box.clientHeight, window.innerHeight / 2) / ROW_PX); // the box may be growing to its max-height
    const first = Math.max(0, Math.floor(box.scrollTop / ROW_PX) - OVERSCAN);
    const end = Math.min(n, first + shown + 2 * OVERSCAN);
    if (this.window && this.window[0] === first && this.window[1] === end) return;
    this.window = [first, end];
    el.style.paddingTop = `${first * ROW_PX}px`;
    el.style.paddingBottom = `${(n - end) * ROW_PX}px`;
    el.innerHTML = this.objects.slice(first, end).map((a) => this.rowHtml(a)).join("");
    paintColors(el);
    this.rows = new Map();
    for (const li of el.children) this.rows.set(Number(li.dataset.cid), li);
    for (const cid of this.ws.selection) this.rows.get(cid)?.classList.add("selected");
  }

  rowHtml(a) {
    const ws = this.ws, p = a.state === "proposed";
    return `<li data-cid="${a.cid}" data-id="${a.id ?? ""}" data-kind="${a.kind}" data-state="${a.state}" data-locked="${a.locked ? "1" : "0"}" class="${p ? "proposed" : ""} ${a.hidden ? "hidden-shape" : ""}">` +
      `<span class="swatch" data-color="${esc(ws.colorOf(a.label_class))}"></span>${esc(a.kind)} · ${esc(ws.nameOf(a.label_class))} ${a.instance}` +
      `${p ? ` <em class="tag-proposed">proposed</em>` : ""}${a.locked ? ` <span class="lock" title="Locked (L)">locked</span>` : ""}` +
      `${p ? `<span class="score">${a.score != null ? a.score.toFixed(2) : ""}</span><button type="button" data-act="accept" title="Accept (A)">✓</button><button type="button" data-act="reject" title="Reject (R)">✗</button>` : ""}` +
      `<button type="button" data-act="hide" title="Hide / show (H)">${a.hidden ? "show" : "hide"}</button></li>`;
  }

  /** Scroll the list so the row of `cid` is in view (the list scrolls, not the panel). */
  reveal(cid) {
    const k = this.index.get(cid), box = this.scrollEl;
    if (k === undefined) return;
    const top = k * ROW_PX, height = box.clientHeight;
    if (top < box.scrollTop) box.scrollTop = top;
    else if (top + ROW_PX > box.scrollTop + height) box.scrollTop = top + ROW_PX - height;
    this.renderWindow();
  }

  syncSelection() {
    const sel = this.ws.selection;
    for (const li of this.objectsEl.querySelectorAll("li.selected")) if (!sel.has(Number(li.dataset.cid))) li.classList.remove("selected");
    for (const cid of sel) this.rows.get(cid)?.classList.add("selected");
    if (sel.size === 1) this.reveal(sel.values().next().value);
  }
}
