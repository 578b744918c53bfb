// What each head still needs before it trains (GET /api/projects/{id}/training-readiness/), shown
// where training is started: below the minimum a run trains nothing for that head.
const HEADS = { classifier: "Tags", detector: "Boxes", segmenter: "Masks" };

export function showReadiness(table, rows) {
  table.hidden = !rows.length;
  table.querySelector("tbody").replaceChildren(...rows.map((r) => {
    const tr = document.createElement("tr");
    tr.dataset.head = r.head;
    tr.dataset.ready = r.ready ? "1" : "0";
    const cells = [HEADS[r.head] ?? r.head, `${r.labelled_images} of ${r.min_images}`,
      `${r.classes} (at least ${r.min_classes})`, r.ready ? "ready to train" : r.problem];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    return tr;
  }));
}
