// The annotation workspace: wires the store, view, renderer, tools, saver, history and panel,
// handles keys and pointer input, and moves between images without reloading the page.

import { api } from "../labeling/api.js";
import { History } from "./history.js";
import { Panel } from "./panel.js";
import { Renderer } from "./render.js";
import { Saver } from "./saver.js";
import { renderHelp } from "./shortcuts.js";
import { Store } from "./store.js";
import { View } from "./view.js";
import { installEdits } from "./edits.js";
import { ImageAdjust } from "./adjust.js";
import { copySelection, pasteClipboard, toggleLock } from "./clipboard.js";
import { ReviewPanel } from "./review.js";
import { showQueueReason } from "./queue_note.js";
import { followModel } from "./live_proposals.js";
import { BoxTool } from "./tools/box.js";
import { BoxMaskTool } from "./tools/boxmask.js";
import { MaskTool } from "./tools/mask.js";
import { PolygonTool } from "./tools/polygon.js";
import { ScissorsTool } from "./tools/scissors.js";
import { SelectTool } from "./tools/select.js";
import { convertSelection, mergeSelection, splitSelection, subtractSelection } from "./tools/shapeops.js";
import { SuperpixelTool } from "./tools/superpixel.js";
import { WandTool } from "./tools/wand.js";

const config = JSON.parse(document.getElementById("ws-config").textContent);
const $ = (id) => document.getElementById(id);
const canvas = $("ws-canvas");
const body = document.body;

const ws = {
  config, project: config.project, classes: config.classes, kinds: new Set(config.project.kinds),
  store: new Store(), view: new View(), history: new History(),
  image: null, W: 1, H: 1,
  selection: new Set(), selectionRevision: 0, hiddenRevision: 0, classRevision: 0,
  // True when the selection was picked by the person (click, list, Tab, Ctrl+A); false when a
  // drawing tool selected the shape it just made. Only a picked selection is relabelled by a class key.
  explicitSelection: false,
  selectedVertex: null, activeMask: null,
  activeClass: config.classes[0]?.id ?? null,
  opacity: 0.3, radius: 12, tool: null, tools: {},
  request: () => ws.renderer.request(),
};
const classById = new Map(ws.classes.map((c) => [c.id, c]));
ws.colorOf = (id) => classById.get(id)?.color || "#888888";
ws.nameOf = (id) => classById.get(id)?.name || `class ${id}`;
ws.isDrawn = (a) => a.kind !== "tag" && a.state !== "rejected" && !a.hidden;
ws.renderer = new Renderer(canvas, ws);
const panel = new Panel(ws);
ws.panel = panel;

// ---- saving ------------------------------------------------------------------------------
const saveEl = $("ws-save");
const conflicts = [];
const saver = new Saver({
  store: ws.store,
  onState: (state, text) => { body.dataset.saveState = state; saveEl.textContent = text || ""; },
  onConflict: (cid, current, gone) => { conflicts.push({ cid, current, gone }); showConflict(); },
  onRejected: (cid, detail) => { toast(`Not saved: ${detail}`); afterChange(); },
  onSaved: () => { panel.changed(); ws.request(); },
});
ws.saver = saver;

function showConflict() {
  const c = conflicts[0], dialog = $("ws-conflict");
  if (!c) { dialog.hidden = true; return; }
  const ann = ws.store.get(c.cid);
  const what = ann ? `${ann.kind} “${ws.nameOf(ann.label_class)}”` : "An object you deleted";
  $("ws-conflict-text").textContent = c.gone
    ? `${what} was deleted by someone else. Reload to drop it, or keep yours to save it again.`
    : `${what} was changed by someone else (now version ${c.current.version}) after you loaded it. Reload to see their version, or keep yours and overwrite theirs.`;
  dialog.hidden = false;
}
function resolveConflict(choice) {
  const c = conflicts.shift();
  if (c) saver.resolve(c.cid, choice);
  afterChange();
  showConflict();
}

let toastTimer = null;
function toast(text) {
  const el = $("ws-toast");
  el.textContent = text; el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 6000);
}
ws.toast = toast;

// Leaving the page (link, reload, closing the tab) must not lose the last shape: what is still
// waiting for the debounce is sent at once with keepalive requests, which outlive the page. The page
// still asks when that cannot be enough: an undecided conflict, or a server that refused the last
// writes (failing saves are retrying), where leaving would lose them.
window.addEventListener("beforeunload", (e) => {
  saver.flushOnExit();
  if (saver.conflicts.size || saver.failures) { e.preventDefault(); e.returnValue = ""; }
});
window.addEventListener("pagehide", () => saver.flushOnExit());

// ---- edits: commit, undo, classes, selection (edits.js) ---------------------------------------
ws.cancelTool = () => cancelTool();
installEdits(ws);
const afterChange = ws.afterChange;


// ---- tools -----------------------------------------------------------------------------------
ws.tools = {
  select: new SelectTool(ws), box: new BoxTool(ws), polygon: new PolygonTool(ws),
  brush: new MaskTool(ws, false), eraser: new MaskTool(ws, true),
  smartbox: new BoxMaskTool(ws), wand: new WandTool(ws), superpixel: new SuperpixelTool(ws),
  scissors: new ScissorsTool(ws),
  tag: { name: "tag", down() {}, move() {}, up() {} },
  pan: { name: "pan", down() {}, move() {}, up() {} },
};
function cancelTool() { ws.tool?.cancel?.(); }
ws.setTool = (name) => {
  if (!ws.tools[name]) return;
  if (!document.querySelector(`button[data-tool="${name}"]`)) return; // the project does not use this kind
  cancelTool();
  ws.tool = ws.tools[name];
  body.dataset.wsTool = name;
  for (const b of document.querySelectorAll("button[data-tool]")) b.setAttribute("aria-pressed", String(b.dataset.tool === name));
  ws.request();
};

// ---- pointer input ---------------------------------------------------------------------------
let panning = null, spaceHeld = false;
function pointOf(e) {
  const r = canvas.getBoundingClientRect(), sx = e.clientX - r.left, sy = e.clientY - r.top;
  const [x, y] = ws.view.toImage(sx, sy);
  return { x, y, sx, sy };
}
canvas.addEventListener("pointerdown", (e) => {
  canvas.focus();
  const p = pointOf(e);
  if (e.button === 1 || (e.button === 0 && (spaceHeld || ws.tool.name === "pan"))) {
    e.preventDefault();
    panning = p; canvas.classList.add("panning");
    canvas.setPointerCapture(e.pointerId);
    return;
  }
  if (e.button !== 0 || !ws.image) return;
  canvas.setPointerCapture(e.pointerId);
  ws.tool.down(e, p);
});
canvas.addEventListener("pointermove", (e) => {
  const p = pointOf(e);
  $("ws-cursor").textContent = ws.image ? `${Math.round(p.x)}, ${Math.round(p.y)}` : "";
  if (panning) { ws.panBy(p.sx - panning.sx, p.sy - panning.sy); panning = p; return; }
  ws.tool.move(e, p);
});
const pointerEnd = (e) => {
  if (panning) { panning = null; canvas.classList.remove("panning"); return; }
  ws.tool.up(e, pointOf(e));
};
canvas.addEventListener("pointerup", pointerEnd);
canvas.addEventListener("pointercancel", () => { panning = null; cancelTool(); });
canvas.addEventListener("pointerleave", () => ws.tool.leave?.());
canvas.addEventListener("auxclick", (e) => e.preventDefault());
canvas.addEventListener("contextmenu", (e) => e.preventDefault());
canvas.addEventListener("wheel", (e) => {
  e.preventDefault();
  const p = pointOf(e);
  zoomAt(p.sx, p.sy, Math.exp(-e.deltaY * 0.0015));
}, { passive: false });

function zoomAt(sx, sy, factor) { ws.view.zoomAt(sx, sy, factor); ws.renderer.viewChanged(); showZoom(); }
function showZoom() { $("ws-zoom").textContent = `${Math.round(ws.view.scale * 100)}%`; }
// The status bar lies over the canvas' bottom edge: Fit keeps the image above it.
function fit() { ws.view.insetBottom = $("ws-status").offsetHeight; ws.view.fit(); ws.renderer.viewChanged(); showZoom(); }

// ---- keys -----------------------------------------------------------------------------------
const ACTIONS = {
  undo: () => ws.undo(), redo: () => ws.redo(), fit, "one-to-one": () => { ws.view.oneToOne(); ws.renderer.viewChanged(); showZoom(); },
  help: () => toggleHelp(), prev: () => step(-1), next: () => step(1), skip: () => skip(), done: () => markDone(),
  "new-mask": () => newMask(), "accept-all": () => ws.acceptAll(),
  "accept-above": () => ws.acceptAll(Number($("ws-threshold").value || 0)),
  "done-close": () => { $("ws-done").hidden = true; },
  copy: () => copySelection(ws), paste: () => pasteClipboard(ws), lock: () => toggleLock(ws),
  "conflict-reload": () => resolveConflict("theirs"), "conflict-mine": () => resolveConflict("mine"),
  convert: () => convertSelection(ws, Number($("ws-simplify")?.value ?? 1)),
  merge: () => mergeSelection(ws), subtract: () => subtractSelection(ws), split: () => splitSelection(ws),
};
function newMask() {
  ws.activeMask = null;
  ws.select([]);
  if (ws.tool.name !== "brush") ws.setTool("brush");
  toast("The next stroke starts a new mask.");
}
function toggleHelp(show) {
  const el = $("ws-help");
  if (!el.dataset.filled) { renderHelp($("ws-help-body")); el.dataset.filled = "1"; }
  el.hidden = show === undefined ? !el.hidden : !show;
}
function setRadius(r) { ws.radius = Math.max(1, Math.min(500, Math.round(r))); const i = $("ws-radius"); if (i) i.value = ws.radius; ws.request(); }
function setOpacity(o) { ws.opacity = Math.max(0, Math.min(1, Math.round(o * 20) / 20)); $("ws-opacity").value = ws.opacity; ws.request(); }

document.addEventListener("click", (e) => {
  const b = e.target.closest("[data-tool], [data-action]");
  if (!b || !b.closest(".ws, .ws-dialog")) return;
  if (b.dataset.tool) ws.setTool(b.dataset.tool);
  else ACTIONS[b.dataset.action]?.();
  if (!b.closest(".ws-dialog")) canvas.focus();
});
$("ws-opacity").addEventListener("input", (e) => setOpacity(Number(e.target.value)));
$("ws-radius")?.addEventListener("input", (e) => setRadius(Number(e.target.value)));
$("ws-tolerance")?.addEventListener("input", (e) => ws.tools.wand.setTolerance(Number(e.target.value)));

const TOOL_KEYS = { v: "select", b: "box", p: "polygon", m: "brush", e: "eraser", t: "tag", g: "smartbox", w: "wand", u: "superpixel", i: "scissors" };
document.addEventListener("keydown", (e) => {
  const typing = e.target.closest?.("input, textarea, select") && e.target.type !== "range" && e.target.type !== "checkbox";
  if (typing) { if (e.key === "Escape") e.target.blur(); return; }
  if (!$("ws-help").hidden) { if (e.key === "Escape" || e.key === "?") { toggleHelp(false); e.preventDefault(); } return; }
  if (!$("ws-conflict").hidden) return; // decide first
  if (e.key === " ") { spaceHeld = true; e.preventDefault(); return; }
  const ctrl = e.ctrlKey || e.metaKey, letter = e.code.startsWith("Key") ? e.code.slice(3).toLowerCase() : null;
  if (ctrl && letter === "z") { e.preventDefault(); e.shiftKey ? ws.redo() : ws.undo(); return; }
  if (ctrl && letter === "y") { e.preventDefault(); ws.redo(); return; }
  if (ctrl && letter === "a") { e.preventDefault(); ws.select([...ws.store.all()].filter(ws.isDrawn).map((a) => a.cid), { explicit: true }); return; }
  if (ctrl && letter === "c" && !e.shiftKey) { e.preventDefault(); copySelection(ws); return; }
  if (ctrl && letter === "v" && !e.shiftKey) { e.preventDefault(); pasteClipboard(ws); return; }
  if (ctrl) return;
  if (ws.tool.key?.(e)) { e.preventDefault(); return; }
  const handled = handleKey(e, letter);
  if (handled !== false) e.preventDefault();
});
document.addEventListener("keyup", (e) => { if (e.key === " ") { spaceHeld = false; e.preventDefault(); } });

function handleKey(e, letter) {
  const k = e.key;
  if (k === "?") return toggleHelp();
  if (/^[1-9]$/.test(k) || (!letter && classByHotkey(k))) {
    const c = classByHotkey(k);
    if (!c) return false;
    if (ws.tool.name === "tag") ws.toggleTag(c.id); else ws.chooseClass(c.id);
    return;
  }
  if (letter === "a" && e.altKey) return ws.acceptAll(Number($("ws-threshold").value || 0));
  if (letter === "a" && e.shiftKey) return ws.acceptAll();
  if (letter === "a") return ws.setState([...ws.selection], "accepted");
  if (letter === "r") return ws.setState([...ws.selection], "rejected");
  if (letter === "h" && e.shiftKey) return ws.toggleHidden([...ws.store.all()].filter((a) => a.hidden).map((a) => a.cid));
  if (letter === "h") return ws.toggleHidden([...ws.selection]);
  if (letter === "n") return newMask();
  if (letter === "l" && !e.shiftKey && !e.altKey) return toggleLock(ws);
  if (letter === "c" && !e.shiftKey && !e.altKey) return ACTIONS.convert();
  if (letter === "j" && !e.shiftKey && !e.altKey) return ACTIONS.merge();
  if (letter === "x" && !e.shiftKey && !e.altKey) return ACTIONS.subtract();
  if (letter === "k" && !e.shiftKey && !e.altKey) return ACTIONS.split();
  if (letter === "f" || k === "0") return fit();
  if (letter === "o") return ACTIONS["one-to-one"]();
  if (letter === "s") return skip();
  if (letter === "d") return markDone();
  if (letter && TOOL_KEYS[letter] && !e.shiftKey && !e.altKey) return ws.setTool(TOOL_KEYS[letter]);
  if (k === "Escape") { cancelTool(); ws.selectedVertex = null; return ws.select([]); }
  if (k === "Delete" || k === "Backspace") return ws.deleteSelection();
  if (k === "Tab") return cycle(e.shiftKey ? -1 : 1);
  if (k === "+" || k === "=") return zoomAt(ws.view.cw / 2, ws.view.ch / 2, 1.25);
  if (k === "-" || k === "_") return zoomAt(ws.view.cw / 2, ws.view.ch / 2, 0.8);
  if (k === "[") return setRadius(ws.radius / 1.25);
  if (k === "]") return setRadius(ws.radius * 1.25);
  if (k === "{") return setOpacity(ws.opacity - 0.1);
  if (k === "}") return setOpacity(ws.opacity + 0.1);
  if (k === ",") return step(-1);
  if (k === ".") return step(1);
  if (letter) { const c = classByHotkey(k); if (c) { ws.tool.name === "tag" ? ws.toggleTag(c.id) : ws.chooseClass(c.id); return; } }
  return false;
}
function classByHotkey(k) { return ws.classes.find((c) => c.hotkey && c.hotkey.toLowerCase() === k.toLowerCase()); }
function cycle(dir) {
  const list = [...ws.store.all()].filter(ws.isDrawn);
  if (!list.length) return;
  const cur = list.findIndex((a) => ws.selection.has(a.cid));
  const next = list[(cur + dir + list.length) % list.length];
  ws.select([next.cid], { explicit: true }); ws.focusOn(next.cid);
}

// ---- images ---------------------------------------------------------------------------------
let loadToken = 0;
const skipped = new Set();
const workspaceUrl = (id) => `/projects/${ws.project.id}/images/${id}/annotate/`;

async function leaveOk() {
  if (!saver.pending) return true;
  await saver.flushNow();
  return !saver.pending || confirm("Some changes are not saved yet. Leave this image anyway?");
}

async function openImage(id, { push = true, focusAnnotation = null, reason = null } = {}) {
  if (ws.image && !(await leaveOk())) return;
  const token = ++loadToken;
  body.dataset.ready = "0";
  const t0 = performance.now();
  const pre = window.__wsPrefetch; // started by prefetch.js before these modules loaded
  window.__wsPrefetch = null;
  const [img, rows] = await Promise.all(pre?.imageId === id ? pre.answers
    : [api("GET", `/api/images/${id}/`), api("GET", `/api/images/${id}/annotations/`)]);
  if (token !== loadToken) return;
  if (!img.ok || !rows.ok) { toast(`Could not open image ${id}: ${img.data?.detail || rows.data?.detail || "error"}`); return; }
  const image = img.data;
  ws.image = image; ws.W = image.width; ws.H = image.height;
  ws.view.W = image.width; ws.view.H = image.height;
  ws.store.reset(image, rows.data);
  saver.store = ws.store;
  saver.reset(image);
  for (const a of ws.store.all()) saver.known(a);
  ws.history.clear();
  ws.selection = new Set(); ws.selectedVertex = null; ws.activeMask = null;
  cancelTool();
  fit();
  ws.renderer.clearImage();
  const el = new Image();
  el.src = image.url;
  el.decode().then(() => {
    if (token !== loadToken) return;
    window.__workspaceImageReady = performance.now();
    ws.renderer.setImage(el);
  }).catch(() => toast("The image file could not be shown."));
  if (push) history.pushState({ imageId: id }, "", workspaceUrl(id));
  document.title = `${image.file_name} · ${ws.project.name} · Annotator`;
  $("ws-file-name").textContent = image.file_name;
  ws.refreshImageInfo();
  showQueueReason(reason);
  body.dataset.imageId = String(id);
  body.dataset.imageStatus = image.status;
  panel.revision = -1; panel.rebuild();
  reviewPanel.imageOpened(image);
  // Opened from a review tile (?annotation=id): that object selected and in view.
  const wanted = focusAnnotation != null ? ws.store.findByServerId(focusAnnotation) : null;
  if (wanted) { ws.select([wanted.cid], { explicit: true }); ws.focusOn(wanted.cid); }
  ws.onFrame = () => {
    ws.onFrame = null;
    window.__workspaceReady = performance.now();
    window.__workspaceLoadMs = window.__workspaceReady - t0;
    performance.mark("workspace-ready");
    body.dataset.ready = "1";
  };
  ws.request();
}

ws.refreshImageInfo = () => {
  const image = ws.image, idx = config.imageIds.indexOf(image.id);
  $("ws-image-info").textContent = `${image.width}×${image.height} · ${image.status.replace("_", " ")}` + (idx >= 0 ? ` · ${idx + 1} of ${config.imageIds.length}` : "");
};

function step(dir) {
  const ids = config.imageIds, i = ids.indexOf(ws.image?.id);
  const next = ids[i + dir];
  if (next === undefined) { toast(dir < 0 ? "This is the first image." : "This is the last image."); return; }
  openImage(next);
}

async function fromQueue(extraSkip) {
  const skip = [...skipped, ...(extraSkip || [])].join(",");
  const res = await api("GET", `/api/projects/${ws.project.id}/next-image/${skip ? `?skip=${skip}` : ""}`);
  if (res.status === 204) {
    if (skipped.size) toast(`No other image is waiting; you skipped ${skipped.size === 1 ? "1 image" : `${skipped.size} images`}.`);
    else allDone();
    return;
  }
  if (!res.ok) { toast(res.data?.detail || "Could not get the next image."); return; }
  openImage(res.data.id, { reason: res.data.reason });
}

/** The end of the queue: say so plainly, with the way on, instead of leaving the last image open. */
function allDone() {
  body.dataset.queue = "empty";
  $("ws-done").hidden = false;
  $("ws-done-back").focus();
}

function skip() { if (ws.image) { skipped.add(ws.image.id); fromQueue(); } }

async function markDone() {
  if (!ws.image || !(await leaveOk())) return;
  const res = await api("PATCH", `/api/images/${ws.image.id}/`, { status: "done" });
  if (!res.ok) { toast(res.data?.detail || "Could not mark the image done."); return; }
  body.dataset.imageStatus = "done";
  toast(`${ws.image.file_name} marked done.`);
  fromQueue([ws.image.id]);
}

window.addEventListener("popstate", (e) => { if (e.state?.imageId) openImage(e.state.imageId, { push: false }); });

// For tests and the benchmark: where an image point is on the page.
window.__ws = {
  toPage(x, y) { const r = canvas.getBoundingClientRect(), [sx, sy] = ws.view.toScreen(x, y); return [r.left + sx, r.top + sy]; },
  frameTimes: () => ws.renderer.frameTimes,
  ws,
};

// ---- start ----------------------------------------------------------------------------------
const reviewPanel = new ReviewPanel(ws);
ws.adjust = new ImageAdjust(ws);
followModel(ws);
panel.renderClasses();
setOpacity(ws.opacity);
ws.setTool("select");
new ResizeObserver(() => { ws.renderer.resize(); if (ws.image) fit(); }).observe($("ws-stage"));
ws.renderer.resize();
history.replaceState({ imageId: config.imageId }, "", location.href);
const focusParam = Number(new URLSearchParams(location.search).get("annotation"));
openImage(config.imageId, { push: false, reason: config.queueReason,
  focusAnnotation: Number.isInteger(focusParam) && focusParam > 0 ? focusParam : null });
