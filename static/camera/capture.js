// Capture: hold Space (or the button) to take frames at the chosen rate into the chosen class.
// Every frame is first kept on this device (frame_queue.js: IndexedDB) and leaves the queue only
// once the server has answered for it, in batches; when the network stalls the frames stay queued
// (and counted) and are sent when it comes back, after a reload or in the next visit too. Sending a
// frame twice is safe: the server knows it by its sha256 and counts it as a duplicate (or, when its
// image was stored without its tag, tags it), so a frame is never stored twice.

import { confirmLoss, plural } from "../labeling/confirm.js";
import { config, grabFrame, isTyping, postForm, showMessage, startCamera, wireDevicePicker } from "./camera.js";
import { exclusively, openFrameQueue } from "./frame_queue.js";

const BATCH = 10; // frames per request
const video = document.getElementById("camera-video");
const canvas = document.createElement("canvas");
const classSelect = document.getElementById("capture-class");
const rateInput = document.getElementById("capture-rate");
const facesBox = document.getElementById("capture-faces");
const holdButton = document.getElementById("capture-hold");
const queueLine = document.getElementById("capture-queue");
const discardButton = document.getElementById("capture-discard");
const countItems = new Map([...document.querySelectorAll("#capture-counts li")].map((li) => [li.dataset.class, li]));
const hotkeys = new Map(config.classes.filter((c) => c.hotkey).map((c) => [c.hotkey.toLowerCase(), c]));
const owner = queueLine.dataset.owner; // this person's frames of this project

// Frames not yet answered for, oldest first: { blob, name, classId, faces, capturedAt, saved, id }.
// `saved` settles once the frame is in the store (`id` null when the store refused it: full).
const queue = [];
const totals = { captured: 0, stored: 0, duplicates: 0, faces: 0, noFace: 0, refused: 0, discarded: 0, restored: 0 };
const serverCounts = {};
let store = null;
let inFlight = new Set(); // the batch being sent
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
  const kept = store && store.persistent ? "kept on this device" : "in this tab only: closing it loses them";
  const parts = [`Captured ${totals.captured}`, `stored ${totals.stored}`, `${queue.length} queued (${kept})`];
  if (totals.restored) parts.push(`${plural(totals.restored, "frame")} kept from an earlier visit`);
  if (totals.duplicates) parts.push(`duplicates ${totals.duplicates}`);
  if (facesBox.checked || totals.faces || totals.noFace) parts.push(`faces ${totals.faces}`, `frames without a face ${totals.noFace}`);
  if (totals.refused) parts.push(`refused ${totals.refused}`);
  if (totals.discarded) parts.push(`discarded ${totals.discarded}`);
  const unsaved = queue.filter((f) => f.id === null).length;
  queueLine.textContent = parts.join(" · ") +
    (stalled ? ` — the network stalled: ${plural(queue.length, "frame")} wait and will be sent` : "") +
    (unsaved ? ` — ${plural(unsaved, "frame")} could not be kept on this device (storage full): keep this tab open` : "");
  discardButton.disabled = !queue.some((f) => !inFlight.has(f));
}

function enqueue(frame) {
  const entry = { ...frame };
  entry.saved = store.add(frame).then((id) => { entry.id = id; }, () => { entry.id = null; });
  queue.push(entry);
  return entry;
}

async function takeFrame() {
  const blob = await grabFrame(video, canvas);
  if (!blob) return;
  sequence += 1;
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  enqueue({ blob, name: `capture-${stamp}-${sequence}.jpg`, classId: classSelect.value, faces: facesBox.checked,
    capturedAt: new Date().toISOString() });
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

// Take frames out of the queue (and the store) once they are answered for, or discarded.
async function drop(frames) {
  const gone = new Set(frames);
  for (let i = queue.length - 1; i >= 0; i -= 1) if (gone.has(queue[i])) queue.splice(i, 1);
  await store.remove(frames.map((f) => f.id).filter((id) => id != null)).catch(() => {});
}

function retryLater() {
  stalled = true;
  if (retryTimer) return;
  retryTimer = setTimeout(() => { retryTimer = null; send(); }, retryDelay);
  retryDelay = Math.min(5000, retryDelay * 2);
}

// One batch: frames of the same class and mode, oldest first. Returns whether to go on at once.
async function sendBatch() {
  const first = queue[0];
  const batch = [];
  for (const frame of queue) {
    if (batch.length === BATCH || frame.classId !== first.classId || frame.faces !== first.faces) break;
    batch.push(frame);
  }
  await Promise.all(batch.map((f) => f.saved));
  // Another tab of this page (same person, same project) may have sent some of them meanwhile.
  const present = await store.present(batch.map((f) => f.id).filter((id) => id != null));
  const sentElsewhere = batch.filter((f) => f.id != null && !present.has(f.id));
  if (sentElsewhere.length) {
    await drop(sentElsewhere);
    return true;
  }
  const form = new FormData();
  form.append("label_class", first.classId);
  form.append("faces", first.faces ? "true" : "false");
  for (const frame of batch) form.append("frames", frame.blob, frame.name);
  inFlight = new Set(batch);
  const response = await postForm(config.urls.capture, form);
  inFlight = new Set();
  if (response.status === 0 || response.status >= 500 || response.status === 429) {
    // Stalled or overloaded: keep the frames (unless discarded meanwhile), try again later (at most every 5 s).
    const discarded = batch.filter((f) => f.discarded);
    totals.discarded += discarded.length;
    await drop(discarded);
    retryLater();
    return false;
  }
  stalled = false;
  retryDelay = 500;
  await drop(batch);
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
  return true;
}

async function send() {
  if (sending || !queue.length || !store) return;
  sending = true;
  let goOn = false;
  try {
    goOn = await exclusively(owner, sendBatch);
  } finally {
    sending = false;
    render();
  }
  if (goOn && queue.length) send();
}

async function discard() {
  const waiting = queue.filter((f) => !inFlight.has(f));
  if (!waiting.length) return;
  const sure = await confirmLoss({
    title: `Discard ${plural(waiting.length, "queued frame")}?`,
    text: `${plural(waiting.length, "frame")} captured here never reached the server. They are deleted from this ` +
      "device and will not be sent.",
    button: "Discard",
  });
  if (!sure) return;
  for (const frame of queue) frame.discarded = true; // the batch in flight too, should it fail
  const now = queue.filter((f) => !inFlight.has(f));
  await Promise.all(now.map((f) => f.saved));
  totals.discarded += now.length;
  await drop(now);
  if (!queue.length) stalled = false;
  render();
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
window.addEventListener("online", () => send());
// Only frames the store could not keep are lost with the tab.
window.addEventListener("beforeunload", (event) => {
  if (store && queue.some((f) => f.id === null || !store.persistent)) event.preventDefault();
});
classSelect.addEventListener("change", render);
facesBox.addEventListener("change", render);
discardButton.addEventListener("click", discard);

store = await openFrameQueue(owner);
for (const frame of await store.load()) {
  queue.push({ ...frame, saved: Promise.resolve() });
  totals.restored += 1;
}
await loadCounts();
send();
if (await startCamera(video, "")) {
  holdButton.disabled = false;
  await wireDevicePicker(document.getElementById("camera-device"), video);
}
