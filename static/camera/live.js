// Live labels: one 320x240 frame at a time goes to the server, which answers with the served
// classifier's top-3 and the version that answered, so a newly promoted version shows at once.
// Keep and Correct store the frame whose labels are on screen; with a box or mask head in service
// its boxes and masks are drawn over the video (overlay.js) and Keep stores them too.

import { config, grabFrame, isTyping, postForm, showMessage, startCamera, wireDevicePicker } from "./camera.js";
import { createOverlay } from "./overlay.js";

const SIZE = { width: 320, height: 240 };
const MAX_FPS = 15; // enough for labels that follow the camera; more would only load the server
const video = document.getElementById("camera-video");
const canvas = document.createElement("canvas");
const labelsList = document.getElementById("live-labels");
const versionLine = document.getElementById("live-version");
const speedLine = document.getElementById("live-speed");
const storedLine = document.getElementById("live-stored");
const keepButton = document.getElementById("live-keep");
const correctButton = document.getElementById("live-correct");
const correctSelect = document.getElementById("live-correct-class");
const noteLine = document.getElementById("live-note");
const overlay = createOverlay(document.getElementById("live-overlay"), video, SIZE, config.classes);
const hotkeys = new Map(config.classes.filter((c) => c.hotkey).map((c) => [c.hotkey.toLowerCase(), c]));

let shown = null; // { blob, version, labels, overlay, boxes, masks } on screen
let version = null;
const latencies = []; // frame grabbed -> labels shown, the last 50
let frames = 0;
let measured = 0;
let since = performance.now();

function renderLabels(labels) {
  labelsList.replaceChildren(...labels.map((label) => {
    const li = document.createElement("li");
    li.dataset.class = label.label_class ?? "";
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = label.name;
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = label.score.toFixed(2);
    li.append(name, score);
    return li;
  }));
}

function renderSpeed() {
  const now = performance.now();
  if (now - since < 1000) return;
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
  const fps = frames * 1000 / (now - since);
  speedLine.textContent = `${fps.toFixed(1)} frames/s · p95 ${Math.round(at(0.95))} ms`;
  // For bench/camera.py: the same figures, unrounded.
  Object.assign(speedLine.dataset, { fps: fps.toFixed(2), p50: at(0.5).toFixed(1), p95: at(0.95).toFixed(1) });
  frames = 0;
  since = now;
}

function setButtons() {
  const ready = Boolean(shown);
  if (keepButton) keepButton.disabled = !ready;
  if (correctButton) correctButton.disabled = !ready;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function loop() {
  let last = 0;
  for (;;) {
    // A hidden tab sends nothing; frames are spaced to at most MAX_FPS.
    while (document.hidden) await new Promise((resolve) => document.addEventListener("visibilitychange", resolve, { once: true }));
    const wait = last + 1000 / MAX_FPS - performance.now();
    if (wait > 0) await sleep(wait);
    const grabbed = performance.now();
    last = grabbed;
    const blob = await grabFrame(video, canvas, SIZE.width, SIZE.height, 0.85);
    const form = new FormData();
    form.append("frame", blob, "frame.jpg");
    const response = await postForm(config.urls.live, form);
    if (response.ok) {
      const data = response.data;
      if (versionKey(version) !== versionKey(data)) {
        versionLine.textContent = versionText(data);
        versionLine.dataset.version = data.version?.number ?? "";
      }
      version = { version: data.version, overlay: data.overlay };
      shown = { blob, version: data.version, labels: data.labels, overlay: data.overlay, boxes: data.boxes,
        masks: data.masks };
      renderLabels(data.labels);
      overlay.draw(data.boxes, data.masks);
      noteLine.hidden = !data.note;
      noteLine.textContent = data.note;
      showMessage("");
      latencies.push(performance.now() - grabbed);
      // The same time as a User Timing measure (bench/camera.py reads them; so does DevTools' Performance
      // panel), cleared now and then so that a page left open does not keep them all.
      performance.measure("live-frame", { start: grabbed });
      if (++measured % 1000 === 0) performance.clearMeasures("live-frame");
      if (latencies.length > 50) latencies.shift();
      frames += 1;
      renderSpeed();
      setButtons();
      continue;
    }
    // No model yet (404 says why), or the network stalled: say so, keep the video, try again soon.
    shown = null;
    setButtons();
    labelsList.replaceChildren();
    overlay.clear();
    versionLine.textContent = response.status === 404 ? "No model in service" : "Waiting for the server…";
    showMessage(response.data?.detail || "The server did not answer; trying again.");
    await sleep(2000);
  }
}

// "Model version 4 · boxes v2": the versions that answered, so a promotion shows at once.
function versionText(data) {
  const parts = data.version ? [`Model version ${data.version.number}`] : [];
  for (const v of data.overlay) parts.push(`${v.kind === "detector" ? "boxes" : "masks"} v${v.number}`);
  return parts.join(" · ") || "No model in service";
}

const versionKey = (data) => (data ? JSON.stringify([data.version?.id, data.overlay.map((v) => v.id)]) : "");

async function store(classId) {
  if (!shown) return;
  const { blob, version: used, labels, overlay: drawn, boxes, masks } = shown;
  const form = new FormData();
  form.append("frame", blob, "frame.jpg");
  if (used) form.append("model_version", used.id);
  if (classId) form.append("label_class", classId);
  // Keep stores what is drawn: the same versions' boxes and masks, computed again by the server.
  else for (const v of drawn) form.append("overlay_versions", v.id);
  const response = await postForm(config.urls.frames, form);
  if (response.ok) {
    const name = classId ? config.classes.find((c) => String(c.id) === String(classId))?.name : null;
    storedLine.textContent = classId
      ? `Stored as image ${response.data.image}, tagged “${name}”.`
      : `Kept as image ${response.data.image} with ${keptText(used, labels, boxes, masks)} as proposals.`;
    storedLine.dataset.image = response.data.image;
  } else {
    const errors = response.data?.errors?.map((e) => e.detail).join("; ");
    storedLine.textContent = `Not stored: ${errors || response.data?.detail || response.status}`;
  }
}

function keptText(used, labels, boxes, masks) {
  const parts = [];
  if (used) parts.push(`version ${used.number}'s labels ${labels.map((l) => l.name).join(", ")}`);
  if (boxes.length) parts.push(`${boxes.length} box${boxes.length === 1 ? "" : "es"}`);
  if (masks.length) parts.push(`${masks.length} mask${masks.length === 1 ? "" : "s"}`);
  return parts.join(" and ");
}

keepButton?.addEventListener("click", () => store(null));
correctButton?.addEventListener("click", () => store(correctSelect.value));
const correctKeys = Boolean(correctSelect); // a project without tags has no Correct
document.addEventListener("keydown", (event) => {
  if (isTyping(event) || event.ctrlKey || event.metaKey || event.altKey || event.repeat || !keepButton) return;
  const key = event.key.toLowerCase();
  if (key === "k") store(null);
  else if (key === "c" && correctKeys) store(correctSelect.value);
  else if (hotkeys.has(key) && correctKeys) {
    correctSelect.value = String(hotkeys.get(key).id);
    store(correctSelect.value);
  }
});

if (await startCamera(video, "", SIZE)) {
  await wireDevicePicker(document.getElementById("camera-device"), video, SIZE);
  loop();
}
