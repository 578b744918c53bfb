// Boxes and masks of the box and mask heads in service, drawn over the live video. The server
// answers in frame pixels (the 320x240 frame the page sent, which is the whole video stretched);
// the SVG's viewBox is the video's own size and keeps its aspect ratio as the <video> does
// (object-fit: contain), so both line up whatever the camera's shape.

const SVG = "http://www.w3.org/2000/svg";

function node(name, attributes) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  return element;
}

export function createOverlay(svg, video, frameSize, classes) {
  const colours = new Map(classes.map((c) => [c.id, c.color || "#ffcc00"]));

  function draw(boxes, masks) {
    const width = video.videoWidth || frameSize.width;
    const height = video.videoHeight || frameSize.height;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    const sx = width / frameSize.width;
    const sy = height / frameSize.height;
    const shapes = [];
    for (const mask of masks) {
      const colour = colours.get(mask.label_class) || "#ffcc00";
      for (const polygon of mask.polygons) {
        const points = [];
        for (let i = 0; i + 1 < polygon.length; i += 2) points.push(`${polygon[i] * sx},${polygon[i + 1] * sy}`);
        shapes.push(node("polygon", { class: "live-mask", points: points.join(" "), stroke: colour, fill: colour,
          "data-class": mask.label_class }));
      }
    }
    for (const box of boxes) {
      const colour = colours.get(box.label_class) || "#ffcc00";
      const group = node("g", { class: "live-box", "data-class": box.label_class });
      const rect = { x: box.x * sx, y: box.y * sy, width: box.w * sx, height: box.h * sy, stroke: colour };
      group.append(node("rect", rect));
      const caption = node("text", { x: box.x * sx + 3, y: Math.max(box.y * sy - 4, 12), fill: colour });
      caption.textContent = `${box.name} ${box.score.toFixed(2)}`;
      group.append(caption);
      shapes.push(group);
    }
    svg.replaceChildren(...shapes);
    // What is drawn, for people using a screen reader and for the browser tests.
    svg.dataset.boxes = boxes.length;
    svg.dataset.masks = masks.length;
    svg.setAttribute("aria-label", `${boxes.length} boxes and ${masks.length} masks drawn`);
  }

  return { draw, clear: () => draw([], []) };
}
