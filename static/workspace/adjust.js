// Brightness, contrast and gamma of the image on screen (not of the file): a canvas filter applied
// only when the image is drawn, so shapes keep their colours. Gamma is an SVG transfer function
// (#ws-gamma in the page) that the canvas filter refers to; CSS filters have no gamma.

const $ = (id) => document.getElementById(id);

export class ImageAdjust {
  constructor(ws) {
    this.ws = ws;
    this.brightness = 1; this.contrast = 1; this.gamma = 1;
    this.filter = "none";
    for (const [id, key] of [["ws-brightness", "brightness"], ["ws-contrast", "contrast"], ["ws-gamma-input", "gamma"]]) {
      $(id)?.addEventListener("input", (e) => this.set(key, Number(e.target.value)));
    }
    $("ws-adjust-reset")?.addEventListener("click", () => this.reset());
  }

  set(key, value) {
    this[key] = value;
    const exponent = String(1 / this.gamma);
    for (const f of document.querySelectorAll("#ws-gamma feFuncR, #ws-gamma feFuncG, #ws-gamma feFuncB")) f.setAttribute("exponent", exponent);
    const parts = [];
    if (this.brightness !== 1) parts.push(`brightness(${this.brightness})`);
    if (this.contrast !== 1) parts.push(`contrast(${this.contrast})`);
    if (this.gamma !== 1) parts.push("url(#ws-gamma)");
    this.filter = parts.length ? parts.join(" ") : "none";
    document.body.dataset.imageFilter = this.filter;
    this.ws.renderer.invalidateImage?.();
    this.ws.request();
  }

  reset() {
    for (const [id, key] of [["ws-brightness", "brightness"], ["ws-contrast", "contrast"], ["ws-gamma-input", "gamma"]]) {
      if ($(id)) $(id).value = "1";
      this[key] = 1;
    }
    this.set("gamma", 1);
  }
}
