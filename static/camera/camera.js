// The camera shared by the Capture and Live pages: start it, list cameras, explain failures, grab frames.

import { csrfToken } from "../labeling/api.js";

export const config = JSON.parse(document.getElementById("camera-config").textContent);

const messageBox = document.getElementById("camera-message");

export function showMessage(text) {
  messageBox.textContent = text;
  messageBox.hidden = !text;
}

// What to do, for each way getUserMedia fails (DOMException names).
export function cameraErrorMessage(error) {
  const name = error && error.name;
  if (name === "NotAllowedError" || name === "PermissionDeniedError" || name === "SecurityError") {
    return "Camera access was denied. Allow the camera for this site (the camera icon in the address bar, " +
      "or the browser's site settings), then reload the page.";
  }
  if (name === "NotFoundError" || name === "DevicesNotFoundError" || name === "OverconstrainedError") {
    return "No camera was found. Connect a camera (or pick another one above), then reload the page.";
  }
  if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") {
    return "The camera could not be started: another application may be using it. Close it, then reload the page.";
  }
  return `The camera could not be started (${name || error}). Reload the page to try again.`;
}

// getUserMedia exists only on secure origins (HTTPS, or http://localhost).
export function insecureOriginMessage() {
  if (window.isSecureContext && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) return "";
  if (!window.isSecureContext) {
    return `The camera only works on a secure page, and ${location.origin} is not one. Open this site over ` +
      "HTTPS, or as http://localhost on the computer the camera is plugged into (see the README: " +
      "“Using the camera from another machine”).";
  }
  return "This browser cannot use a camera (no navigator.mediaDevices.getUserMedia). Use a current Chrome, " +
    "Edge, Firefox or Safari.";
}

let stream = null;

export async function startCamera(video, deviceId, size = { width: 640, height: 480 }) {
  const insecure = insecureOriginMessage();
  if (insecure) {
    showMessage(insecure);
    return false;
  }
  if (stream) stream.getTracks().forEach((t) => t.stop());
  const constraints = { audio: false, video: { ...size, ...(deviceId ? { deviceId: { exact: deviceId } } : {}) } };
  try {
    stream = await navigator.mediaDevices.getUserMedia(constraints);
  } catch (error) {
    stream = null;
    showMessage(cameraErrorMessage(error));
    return false;
  }
  video.srcObject = stream;
  await video.play().catch(() => {});
  if (!video.videoWidth) await new Promise((resolve) => video.addEventListener("loadeddata", resolve, { once: true }));
  showMessage("");
  return true;
}

// Fill the camera <select> once permission is granted (labels are empty before), and restart on change.
export async function wireDevicePicker(select, video, size) {
  const devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput");
  const current = stream && stream.getVideoTracks()[0] && stream.getVideoTracks()[0].getSettings().deviceId;
  select.replaceChildren(...devices.map((d, i) => {
    const option = new Option(d.label || `Camera ${i + 1}`, d.deviceId);
    option.selected = d.deviceId === current;
    return option;
  }));
  select.addEventListener("change", () => startCamera(video, select.value, size));
}

// One frame as a JPEG blob, scaled to width x height (the video's own size when left out).
export function grabFrame(video, canvas, width, height, quality = 0.9) {
  canvas.width = width || video.videoWidth;
  canvas.height = height || video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
}

// POST a FormData; network failures come back as { status: 0 } instead of throwing.
export async function postForm(url, form) {
  try {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin", body: form,
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    });
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = { detail: text.slice(0, 200) }; }
    return { status: response.status, ok: response.ok, data };
  } catch (error) {
    return { status: 0, ok: false, data: { detail: String(error) } };
  }
}

// Keys typed into a form field are the field's, not shortcuts.
export function isTyping(event) {
  const el = event.target;
  return el instanceof HTMLElement && (el.isContentEditable || /^(INPUT|TEXTAREA)$/.test(el.tagName) &&
    !["checkbox", "radio", "button"].includes(el.type));
}
