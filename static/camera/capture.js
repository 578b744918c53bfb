// Capture: hold Space (or the button) to take frames at the chosen rate into the chosen class.
// Frames wait in a queue and go in batches; when the network stalls they stay queued (and counted)
// and are sent when it comes back, so holding the key never loses a picture.

import { config, grabFrame, isTyping, postForm, showMessage, startCamera, wireDevicePicker } from "./camera.js";

const BATCH = 10; // frames per request
const video = document.getElementById("camera-video");
const canvas = document.createElement("canvas");
const classSelect = document.getElementById("capture-class");
const rateInput = document.getElementById("capture-rate");
const facesBox = document.getElementById("capture-faces");
const holdButton = document.getElementById("capture-hold");
const queueLine = document.getElementById("capture-queue");
const countItems = new Map([...document.querySelectorAll("#capture-counts li")].map((li) => [li.dataset.class, li]));
const hotkeys = new Map(config.classes.filter((c) => c.hotkey).map((c) => [c.hotkey.toLowerCase(), c]));

const queue = []; // { blob, name, classId, faces }
const totals = { captured: 0, stored: 0, duplicates: 0, faces: 0, noFace: 0, refused: 0 };
const serverCounts = {};
let holding = false;
let timer = null;
let sending = false;
let stalled = false;
let retryDelay = 500;
let retryTimer = null; // one pending retry at a time while the network is down
let sequence = 0;

for (const c of config.classes) {
  const swatch = countItems.get(String(c.id))?.querySelector(".swatch");
  if (swatch) swatch.style.background = c.color;
}

function render() {
  for (const [id, li] of countItems) {
    const pending = queue.filter((f) => String(f.classId) === id).length;
    li.querySelector(".count").textContent = `${serverCounts[id] ?? 0}${pending ? ` (+${pending} queued)` : ""}`;
    li.classList.toggle("selected", id === classSelect.value);
  }
  const parts = [`Captured ${totals.captured}`, `stored ${totals.stored}`, `queued ${queue.length}`];
  if (totals.duplicates) parts.push(`duplicates ${totals.duplicates}`);
  if (facesBox.checked || totals.faces || totals.noFace) parts.push(`faces ${totals.faces}`, `frames without a face ${totals.noFace}`);
  if (totals.refused) parts.push(`refused ${totals.refused}`);
  queueLine.textContent = parts.join(" · ") + (stalled ? ` — the network stalled: ${queue.length} frames wait and will be sent` : "");
}

async function takeFrame() {
  const blob = await grabFrame(video, canvas);
  if (!blob) return;
  sequence += 1;
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  queue.push({ blob, name: `capture-${stamp}-${sequence}.jpg`, classId: classSelect.value, faces: facesBox.checked });
  totals.captured += 1;
  render();
  if (!retryTimer) send();
}

function startHolding() {
  if (holding || holdButton.disabled) return;
  holding = true;
  holdButton.classList.add("active");
  const rate = Math.min(15, Math.max(1, Number(rateInput.value) || 5));
  takeFrame();
  timer = setInterval(takeFrame, 1000 / rate);
}

function stopHolding() {
  if (!holding) return;
  holding = false;
  holdButton.classList.remove("active");
  clearInterval(timer);
}

// One batch at a time: frames of the same class and mode, oldest first.
async function send() {
  if (sending || !queue.length) return;
  sending = true;
  const first = queue[0];
  const batch = [];
  for (const frame of queue) {
    if (batch.length === BATCH || frame.classId !== first.classId || frame.faces !== first.faces) break;
    batch.push(frame);
  }
  const form = new FormData();
  form.append("label_class", first.classId);
  form.append("faces", first.faces ? "true" : "false");
  for (const frame of batch) form.append("frames", frame.blob, frame.name);
  const response = await postForm(config.urls.capture, form);
  if (response.status === 0 || response.status >= 500 || response.status === 429) {
    // Stalled or overloaded: keep the frames, try again later (at most every 5 s).
    stalled = true;
    sending = false;
    render();
    if (!retryTimer) {
      retryTimer = setTimeout(() => { retryTimer = null; send(); }, retryDelay);
      retryDelay = Math.min(5000, retryDelay * 2);
    }
    return;
  }
  stalled = false;
  retryDelay = 500;
  queue.splice(0, batch.length);
  if (response.ok) {
    const data = response.data;
    totals.stored += data.stored;
    totals.duplicates += data.duplicates;
    totals.faces += data.faces;
    totals.noFace += data.no_face;
    totals.refused += data.errors.length;
    Object.assign(serverCounts, data.counts);
    if (data.errors.length) showMessage(`Refused: ${data.errors.map((e) => `${e.file}: ${e.detail}`).join("; ")}`);
  } else {
    // A 4xx is about the request (class deleted, not a member any more): retrying cannot help.
    totals.refused += batch.length;
    showMessage(response.data?.detail || `The server refused the frames (${response.status}).`);
  }
  sending = false;
  render();
  if (queue.length) send();
}

async function loadCounts() {
  try {
    const response = await fetch(config.urls.capture, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.ok) Object.assign(serverCounts, (await response.json()).counts);
  } catch { /* counts arrive with the first stored batch */ }
  render();
}

holdButton.addEventListener("pointerdown", (event) => { event.preventDefault(); startHolding(); });
for (const type of ["pointerup", "pointerleave", "pointercancel"]) holdButton.addEventListener(type, stopHolding);
document.addEventListener("keydown", (event) => {
  if (isTyping(event) || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.code === "Space") {
    event.preventDefault();
    if (!event.repeat) startHolding();
    return;
  }
  const cls = hotkeys.get(event.key.toLowerCase());
  if (cls) {
    classSelect.value = String(cls.id);
    render();
  }
});
document.addEventListener("keyup", (event) => { if (event.code === "Space") stopHolding(); });
window.addEventListener("blur", stopHolding);
window.addEventListener("online", send);
window.addEventListener("beforeunload", (event) => { if (queue.length) event.preventDefault(); });
classSelect.addEventListener("change", render);
facesBox.addEventListener("change", render);

loadCounts();
if (await startCamera(video, "")) {
  holdButton.disabled = false;
  await wireDevicePicker(document.getElementById("camera-device"), video);
}
