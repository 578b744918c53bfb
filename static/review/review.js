// The review grid: one class at a time, highest score first; select, then accept, reject or relabel.
import { api } from "../labeling/api.js";
import { drawCrop } from "./crops.js";
import { Selection } from "./selection.js";

const config = JSON.parse(document.getElementById("review-config").textContent);
const PAGE_SIZE = 60;
const COMMAND_KEYS = new Set(["a", "r", "c", "s", "n", "p"]);
const $ = (id) => document.getElementById(id);
const grid = $("review-grid");
const classes = new Map(config.classes.map((c) => [c.id, c]));

const state = {
  classId: config.defaultClass,
  show: "proposals",
  kind: "",
  tiles: [], // the current page, in grid order
  count: 0,
  pageUrls: [], // the first page and every `next` followed: a cursor per page
  pageIndex: 0,
  nextUrl: null,
  similar: null, // {anchor, results} while sorted by similarity
  busy: false,
};
const selection = new Selection();

const urlFor = (template, id) => template.replace("/0/", `/${id}/`);

function filterParams() {
  const params = new URLSearchParams({ label_class: state.classId });
  if (state.show === "human") {
    params.set("state", "accepted");
    params.set("origin", "human");
  } else {
    params.set("state", "proposed");
  }
  if (state.kind) params.set("kind", state.kind);
  return params;
}

// Does an annotation still belong in the grid after a change?
function stillShown(a) {
  const wanted = state.show === "human" ? a.state === "accepted" && a.origin === "human" : a.state === "proposed";
  return wanted && a.label_class === state.classId && (!state.kind || a.kind === state.kind);
}

function say(text, isError = false) {
  const status = $("review-status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

// ---- loading ----

async function loadPage(url) {
  const response = await api("GET", url);
  if (!response.ok) return say(response.data?.detail || `Could not load (${response.status}).`, true);
  state.tiles = response.data.results;
  state.count = response.data.count;
  state.nextUrl = response.data.next;
  render();
}

function restart() {
  state.similar = null;
  state.pageUrls = [`${config.urls.list}?${filterParams()}&page_size=${PAGE_SIZE}`];
  state.pageIndex = 0;
  selection.clear();
  return loadPage(state.pageUrls[0]);
}

function showSimilarPage() {
  const start = state.pageIndex * PAGE_SIZE;
  state.tiles = state.similar.results.slice(start, start + PAGE_SIZE);
  state.nextUrl = start + PAGE_SIZE < state.similar.results.length ? "similar" : null;
  render();
}

async function page(step) {
  if (state.busy) return;
  if (step > 0 && !state.nextUrl) return;
  if (step < 0 && state.pageIndex === 0) return;
  selection.clear();
  if (state.similar) {
    state.pageIndex += step;
    return showSimilarPage();
  }
  if (step > 0) state.pageUrls[state.pageIndex + 1] = state.nextUrl;
  state.pageIndex += step;
  await loadPage(state.pageUrls[state.pageIndex]);
}

async function sortBySimilarity() {
  const anchor = selection.focus;
  if (anchor == null) return say("Focus a tile first (click it or move with the arrows).", true);
  const params = filterParams();
  params.set("limit", "200");
  const response = await api("GET", `${urlFor(config.urls.similar, anchor)}?${params}`);
  if (!response.ok) return say(response.data?.detail || `Could not sort (${response.status}).`, true);
  state.similar = response.data;
  state.pageIndex = 0;
  selection.clear();
  say(`Sorted by similarity to annotation ${anchor} (image-level features).`);
  showSimilarPage();
}

// ---- acting on the selection ----

async function act(body, verb) {
  const ids = selection.targets();
  if (!ids.length || state.busy) return;
  state.busy = true;
  // Each id goes with the version this page showed: a tile someone changed meanwhile is not overwritten.
  const shown = new Map(state.tiles.map((t) => [t.id, t]));
  const versions = ids.map((id) => shown.get(id).version);
  const response = await api("POST", config.urls.bulk, { ids, versions, ...body });
  state.busy = false;
  if (response.status === 409 && Array.isArray(response.data?.current)) {
    merge(new Map(response.data.current.map((a) => [a.id, a])));
    render();
    return say(`${response.data.detail} The tiles now show the current labels; check them and try again.`, true);
  }
  if (!response.ok) return say(response.data?.detail || `Could not ${verb} (${response.status}).`, true);
  const before = new Map(state.tiles.map((t) => [t.id, t]));
  const updated = new Map(response.data.map((a) => [a.id, a]));
  for (const a of response.data) countChange(before.get(a.id), a);
  const lastIndex = Math.max(...ids.map((id) => state.tiles.findIndex((t) => t.id === id)));
  const after = state.tiles.slice(lastIndex + 1).find((t) => !updated.has(t.id) || stillShown(updated.get(t.id)));
  const gone = new Set(response.data.filter((a) => !stillShown(a)).map((a) => a.id));
  merge(updated);
  state.tiles = state.tiles.filter((t) => !gone.has(t.id));
  if (state.similar) state.similar.results = state.similar.results.filter((t) => !gone.has(t.id));
  state.count -= gone.size;
  selection.clear();
  if (after) selection.focus = after.id;
  say(`${ids.length} ${verb}.`);
  if (!state.tiles.length && !state.similar && state.nextUrl) {
    await loadPage(state.pageUrls[state.pageIndex]); // this page's cursor now yields the tiles that follow
  } else {
    render();
  }
}

// Take the server's rows (new versions, states, classes) into the tiles, here and in the similarity list.
function merge(rows) {
  const take = (t) => (rows.has(t.id) ? { ...t, ...rows.get(t.id) } : t);
  state.tiles = state.tiles.map(take);
  if (state.similar) state.similar.results = state.similar.results.map(take);
}

// Keep the per-class proposal counts in the class menu right.
function countChange(old, now) {
  if (!old) return;
  if (old.state === "proposed") classes.get(old.label_class).proposed -= 1;
  if (now.state === "proposed") classes.get(now.label_class).proposed += 1;
}

function relabel(classId) {
  const target = classes.get(Number(classId));
  if (target) act({ label_class: target.id }, `relabelled ${target.name}`);
}

// ---- drawing ----

function renderClassMenus() {
  const menu = $("review-class");
  menu.replaceChildren(...config.classes.map((c) => {
    const option = new Option(`${c.name} (${c.proposed} proposed)`, c.id);
    option.selected = c.id === state.classId;
    return option;
  }));
  const relabelMenu = $("review-relabel");
  relabelMenu.replaceChildren(new Option("…", ""), ...config.classes.map((c) =>
    new Option(c.hotkey ? `${c.name} (${c.hotkey})` : c.name, c.id)));
}

function tileElement(tile) {
  const cls = classes.get(tile.label_class);
  const li = document.createElement("li");
  li.className = "review-tile";
  li.setAttribute("role", "option");
  li.dataset.id = tile.id;
  li.dataset.score = tile.score ?? "";
  li.dataset.kind = tile.kind;
  li.style.setProperty("--c", cls?.color || "#888");
  if (tile.kind === "tag") {
    const img = document.createElement("img");
    img.alt = `image ${tile.image}`;
    img.loading = "lazy";
    img.src = urlFor(config.urls.thumbnail, tile.image);
    li.append(img);
  } else {
    const canvas = document.createElement("canvas");
    canvas.width = 192;
    canvas.height = 144;
    drawCrop(canvas, urlFor(config.urls.file, tile.image), tile, cls?.color || "#ff0").then(
      () => { li.dataset.drawn = "1"; },
      () => { li.dataset.drawn = "failed"; },
    );
    li.append(canvas);
  }
  const caption = document.createElement("div");
  caption.className = "caption";
  const name = document.createElement("span");
  name.className = "class-name";
  name.textContent = cls?.name ?? `class ${tile.label_class}`;
  const score = document.createElement("span");
  score.className = "score";
  score.textContent = tile.similarity != null ? `${fmt(tile.score)} · sim ${tile.similarity.toFixed(2)}` : fmt(tile.score);
  caption.append(name, score);
  // Which image, what kind, whose: enough to judge a crop, and a way to see it in context.
  const about = document.createElement("div");
  about.className = "about";
  const file = document.createElement("span");
  file.className = "file-name";
  file.textContent = tile.image_file_name ?? `image ${tile.image}`;
  file.title = file.textContent;
  const who = document.createElement("span");
  who.className = "kind-author";
  who.textContent = `${tile.kind} · ${tile.created_by || (tile.origin === "model" ? "model" : "—")}`;
  const open = document.createElement("a");
  open.className = "open";
  open.textContent = "Open";
  open.title = "Open this image in the workspace at this object";
  open.href = `${config.urls.workspace.replace("/images/0/", `/images/${tile.image}/`)}?annotation=${tile.id}`;
  about.append(file, who, open);
  li.append(caption, about);
  return li;
}

const fmt = (score) => (score == null ? "–" : score.toFixed(2));

function render() {
  selection.reset(state.tiles.map((t) => t.id));
  grid.replaceChildren(...state.tiles.map(tileElement));
  paintSelection();
  renderClassMenus();
  const cls = classes.get(state.classId);
  const what = state.show === "human" ? "people's labels" : "proposals";
  $("review-count").textContent = state.similar
    ? `${state.similar.results.length} ${what} by similarity`
    : `${state.count} ${what} of ${cls?.name ?? "?"}`;
  $("review-count").dataset.count = state.similar ? state.similar.results.length : state.count;
  const pages = state.similar ? Math.max(1, Math.ceil(state.similar.results.length / PAGE_SIZE)) : Math.max(1, Math.ceil(state.count / PAGE_SIZE));
  $("review-page").textContent = `page ${state.pageIndex + 1} of ${pages}`;
  $("review-prev").disabled = state.pageIndex === 0;
  $("review-next").disabled = !state.nextUrl;
  $("review-score-order").hidden = !state.similar;
  $("review-empty").hidden = state.tiles.length > 0;
  $("review-accept").disabled = state.show === "human";
}

function paintSelection() {
  for (const li of grid.children) {
    const id = Number(li.dataset.id);
    li.setAttribute("aria-selected", selection.selected.has(id) ? "true" : "false");
    li.classList.toggle("focused", id === selection.focus);
  }
  const focused = grid.querySelector(".review-tile.focused");
  focused?.scrollIntoView({ block: "nearest" });
}

function columns() {
  const tiles = [...grid.children];
  if (!tiles.length) return 1;
  const top = tiles[0].offsetTop;
  const n = tiles.findIndex((li) => li.offsetTop !== top);
  return n === -1 ? tiles.length : n;
}

// ---- input ----

grid.addEventListener("click", (event) => {
  if (event.target.closest("a.open")) return; // follows the link to the workspace; selects nothing
  const li = event.target.closest(".review-tile");
  if (!li) return;
  selection.click(Number(li.dataset.id), { range: event.shiftKey, toggle: event.ctrlKey || event.metaKey });
  paintSelection();
  grid.focus({ preventScroll: true });
});

document.addEventListener("keydown", (event) => {
  if (event.target.closest("input, select, textarea")) return;
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  const key = event.key;
  const lower = key.length === 1 ? key.toLowerCase() : key;
  const moves = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns(), ArrowDown: columns() };
  if (key in moves) {
    selection.move(moves[key], { extend: event.shiftKey });
  } else if (key === " ") {
    if (selection.focus != null) selection.click(selection.focus, { toggle: true });
  } else if (key === "Escape") {
    selection.clear();
  } else if (lower === "a") {
    if (state.show !== "human") act({ state: "accepted" }, "accepted");
  } else if (lower === "r") {
    act({ state: "rejected" }, "rejected");
  } else if (lower === "c") {
    $("review-relabel").focus();
  } else if (lower === "s") {
    sortBySimilarity();
  } else if (key === "PageDown" || lower === "n") {
    page(1);
  } else if (key === "PageUp" || lower === "p") {
    page(-1);
  } else {
    const target = config.classes.find((c) => c.hotkey && c.hotkey.toLowerCase() === lower && !COMMAND_KEYS.has(lower));
    if (!target) return;
    relabel(target.id);
  }
  event.preventDefault();
  paintSelection();
});

$("review-class").addEventListener("change", (event) => {
  state.classId = Number(event.target.value);
  restart();
});
$("review-show").addEventListener("change", (event) => {
  state.show = event.target.value;
  restart();
});
$("review-kind").addEventListener("change", (event) => {
  state.kind = event.target.value;
  restart();
});
$("review-relabel").addEventListener("change", (event) => {
  const value = event.target.value;
  event.target.value = "";
  grid.focus({ preventScroll: true });
  if (value) relabel(value);
});
$("review-accept").addEventListener("click", () => act({ state: "accepted" }, "accepted"));
$("review-reject").addEventListener("click", () => act({ state: "rejected" }, "rejected"));
$("review-similar").addEventListener("click", sortBySimilarity);
$("review-score-order").addEventListener("click", () => { say(""); restart(); });
$("review-next").addEventListener("click", () => page(1));
$("review-prev").addEventListener("click", () => page(-1));

restart().then(() => {
  document.body.dataset.reviewReady = "1";
});
