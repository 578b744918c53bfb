// A confirmation dialog that says what will be lost; resolves true only when the user confirms.
// With `typeToConfirm`, the button stays disabled until that text is typed (deleting a project).
export function confirmLoss({ title, text, button = "Delete", typeToConfirm = null }) {
  const dialog = document.getElementById("confirm");
  const ok = document.getElementById("confirm-ok");
  const typed = document.getElementById("confirm-type");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  ok.textContent = button;
  document.getElementById("confirm-type-label").hidden = !typeToConfirm;
  typed.value = "";
  ok.disabled = Boolean(typeToConfirm);
  typed.oninput = () => { ok.disabled = typed.value.trim() !== typeToConfirm; };
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

export function plural(n, word, many = `${word}s`) {
  return `${n} ${n === 1 ? word : many}`;
}
