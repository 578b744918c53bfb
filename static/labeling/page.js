// Behaviour every page shares, kept out of the HTML: the Content-Security-Policy allows no inline
// script or style attribute. Colours come as data-color and are set through the CSSOM (allowed);
// <select data-autosubmit> submits its form when changed.

/** Give each [data-color] element under root its colour as the --c custom property. */
export function paintColors(root = document) {
  for (const el of root.querySelectorAll("[data-color]")) el.style.setProperty("--c", el.dataset.color);
}

paintColors();
document.addEventListener("change", (e) => {
  const select = e.target.closest("select[data-autosubmit]");
  if (select && select.form) select.form.requestSubmit();
});
