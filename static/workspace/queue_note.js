// Why the queue chose the open image (the `reason` of /api/projects/{id}/next-image/): a small note
// under the image's details, e.g. "Chosen because the model is unsure: margin 0.07 (tags v3)." Shown
// only for an image that came from the queue; moving by Prev/Next or a link hides it.

export function showQueueReason(reason) {
  const note = document.getElementById("ws-queue-reason");
  if (!note) return;
  note.hidden = !reason;
  note.textContent = reason ? reason.detail : "";
  note.dataset.order = reason ? reason.order : "";
  note.title = reason && reason.margin != null
    ? "Margin: the gap between the model's two likeliest answers (0 is a coin toss, 1 is certain)."
    : "";
}
