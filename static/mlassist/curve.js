// The learning curve: each head's held-out score by labels used, with axes, ticks, a point and its
// value per version (so a one-version series still shows), and a legend naming the metric.
const NS = "http://www.w3.org/2000/svg";
export const METRIC = { classifier: "f1_macro", detector: "map50", segmenter: "map50" };
export const METRIC_NAMES = { f1_macro: "macro F1", map50: "mAP@0.5", accuracy: "accuracy" };
const HEAD_NAMES = { classifier: "tags", detector: "boxes", segmenter: "masks" };
const COLOURS = { classifier: "#2f6fec", detector: "#e6194b", segmenter: "#3cb44b" };
const BOX = { left: 48, right: 620, top: 16, bottom: 236 };

// The score a version is judged by, or null when it has none (versions from before macro F1).
export function score(v) {
  const value = v.metrics[METRIC[v.kind]];
  return typeof value === "number" && value >= 0 ? value : null;
}

// "macro F1 0.812 (n=24)". Older tag versions have accuracy only: it is shown under its own name.
export function metricText(v) {
  const n = v.metrics.n_val != null ? ` (n=${v.metrics.n_val})` : "";
  const value = score(v);
  if (value != null) return `${METRIC_NAMES[METRIC[v.kind]]} ${value.toFixed(3)}${n}`;
  if (v.metrics[METRIC[v.kind]] === -1) return `no held-out labels${n}`;
  if (typeof v.metrics.accuracy === "number") return `accuracy ${v.metrics.accuracy.toFixed(3)}${n} (no F1 recorded)`;
  return "–";
}

function node(tag, attrs = {}, text = null) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  if (text != null) n.textContent = text;
  return n;
}

function niceStep(max) {
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
}

export function drawCurve(svg, versions) {
  svg.replaceChildren();
  const series = Object.keys(METRIC).map((kind) => ({
    kind,
    points: versions.filter((v) => v.kind === kind && score(v) != null).sort((a, b) => a.number - b.number),
  })).filter((s) => s.points.length);
  const maxLabels = Math.max(1, ...series.flatMap((s) => s.points.map((v) => v.labels_used)));
  const step = niceStep(maxLabels);
  const xMax = Math.ceil(maxLabels / step) * step;
  const x = (n) => BOX.left + ((BOX.right - BOX.left) * n) / xMax;
  const y = (m) => BOX.bottom - (BOX.bottom - BOX.top) * Math.max(0, Math.min(1, m));

  const axes = node("g", { class: "axes", stroke: "currentColor", "stroke-opacity": "0.5", fill: "none" });
  axes.append(node("path", { d: `M${BOX.left} ${BOX.top} V${BOX.bottom} H${BOX.right}` }));
  svg.append(axes);
  const ticks = node("g", { class: "ticks", fill: "currentColor", "font-size": "11" });
  for (let t = 0; t <= 1.0001; t += 0.25) {
    ticks.append(node("line", { x1: BOX.left - 4, x2: BOX.right, y1: y(t), y2: y(t), stroke: "currentColor",
      "stroke-opacity": t === 0 ? "0.5" : "0.12" }));
    ticks.append(node("text", { x: BOX.left - 8, y: y(t) + 4, "text-anchor": "end", "data-tick": "y" }, t.toFixed(2)));
  }
  for (let n = 0; n <= xMax; n += step) {
    ticks.append(node("line", { x1: x(n), x2: x(n), y1: BOX.bottom, y2: BOX.bottom + 4, stroke: "currentColor" }));
    ticks.append(node("text", { x: x(n), y: BOX.bottom + 16, "text-anchor": "middle", "data-tick": "x" }, String(n)));
  }
  ticks.append(node("text", { x: (BOX.left + BOX.right) / 2, y: BOX.bottom + 34, "text-anchor": "middle",
    class: "axis-title" }, "accepted labels used for training"));
  ticks.append(node("text", { x: 12, y: (BOX.top + BOX.bottom) / 2, "text-anchor": "middle", class: "axis-title",
    transform: `rotate(-90 12 ${(BOX.top + BOX.bottom) / 2})` }, "held-out score"));
  svg.append(ticks);

  if (!series.length) {
    svg.append(node("text", { x: (BOX.left + BOX.right) / 2, y: (BOX.top + BOX.bottom) / 2, "text-anchor": "middle",
      fill: "currentColor", class: "empty" }, "No scored version yet: train to see the curve."));
    return;
  }
  const legend = node("g", { class: "legend", "font-size": "12" });
  series.forEach(({ kind, points }, i) => {
    const colour = COLOURS[kind];
    const group = node("g", { "data-kind": kind });
    group.append(node("polyline", {
      points: points.map((v) => `${x(v.labels_used)},${y(score(v))}`).join(" "),
      fill: "none", stroke: colour, "stroke-width": "2", "data-kind": kind,
    }));
    for (const v of points) {
      group.append(node("circle", { cx: x(v.labels_used), cy: y(score(v)), r: "4", fill: colour, "data-version": v.number }));
      group.append(node("text", { x: x(v.labels_used), y: y(score(v)) - 8, "text-anchor": "middle", fill: colour,
        "font-size": "11", class: "value" }, score(v).toFixed(2)));
    }
    svg.append(group);
    const ly = BOX.top + 4 + i * 16;
    legend.append(node("rect", { x: BOX.right - 170, y: ly - 8, width: 12, height: 4, fill: colour }));
    legend.append(node("text", { x: BOX.right - 152, y: ly - 2, fill: "currentColor", "data-kind": kind },
      `${HEAD_NAMES[kind]}: ${METRIC_NAMES[METRIC[kind]]}`));
  });
  svg.append(legend);
}
