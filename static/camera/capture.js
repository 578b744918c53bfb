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
// A frame is queued when it is taken; `saved` settles once it is encoded and in the store (`id`
// null when the store refused it: full).
const queue = [];
const totals = { captured: 0, stored: 0, duplicates: 0, faces: 0, noFace: 0, refused: 0, discarded: 0, restored: 0 };
const serverCounts = {};
let store = null;
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
  discardButton.disabled = !queue.length;
}

// Queued at once (so the counts never miss a frame still being encoded), kept once encoded.
function takeFrame() {
  sequence += 1;
  const now = new Date();
  const frame = { name: `capture-${now.toISOString().replace(/[:.]/g, "-")}-${sequence}.jpg`,
    classId: classSelect.value, faces: facesBox.checked, capturedAt: now.toISOString() };
  frame.saved = grabFrame(video, canvas).then(async (blob) => {
    if (!blob) { // the video had no picture yet: nothing was taken
      frame.id = null;
      totals.captured -= 1;
      await drop([frame]);
      return;
    }
    frame.blob = blob;
    const { name, classId, faces, capturedAt } = frame;
    frame.id = await store.add({ blob, name, classId, faces, capturedAt }).catch(() => null);
  });
  queue.push(frame);
  totals.captured += 1;
  render();
  if (!retryTimer) frame.saved.then(() => send());
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
  if (batch.some((f) => !queue.includes(f))) return true; // discarded (or empty) meanwhile: batch again
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
  const response = await postForm(config.urls.capture, form);
  if (response.status === 0 || response.status >= 500 || response.status === 429) {
    // Stalled or overloaded: keep the frames (those not discarded meanwhile), try again later (at most every 5 s).
    if (queue.length) retryLater();
    return false;
  }
  stalled = false;
  retryDelay = 500;
  await drop(batch);
  // Discarded while on their way: the server has them all the same.
  totals.discarded -= batch.filter((f) => f.discarded).length;
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
  const count = queue.length;
  if (!count) return;
  const sure = await confirmLoss({
    title: `Discard ${plural(count, "queued frame")}?`,
    text: `${plural(count, "frame")} captured here never reached the server. They are deleted from this ` +
      "device and will not be sent.",
    button: "Discard",
  });
  if (!sure) return;
  const frames = queue.splice(0);
  for (const frame of frames) frame.discarded = true;
  totals.discarded += frames.length;
  stalled = false;
  render();
  await Promise.all(frames.map((f) => f.saved));
  await drop(frames);
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
