// Listed before main.js and importing nothing, this runs while main.js' thirty modules still
// load: the open image and its annotations, which the first paint waits for, are on the way
// meanwhile. main.js takes these answers for the image it opens first.

const config = JSON.parse(document.getElementById("ws-config").textContent);

async function get(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  const text = await response.text();
  return { status: response.status, ok: response.ok, data: text ? JSON.parse(text) : null };
}

const answers = [get(`/api/images/${config.imageId}/`), get(`/api/images/${config.imageId}/annotations/`)];
answers.forEach((p) => p.catch(() => {})); // a failure is reported where the answer is used
window.__wsPrefetch = { imageId: config.imageId, answers };
