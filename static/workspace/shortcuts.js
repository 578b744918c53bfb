// Every shortcut, as shown by the ? overlay. The key handling in main.js follows this table.

export const SHORTCUTS = [
  ["Tools", [
    ["V", "Select and edit"], ["B", "Box"], ["P", "Polygon"], ["M", "Mask brush"], ["E", "Mask eraser"],
    ["T", "Tags (class keys toggle tags)"], ["Space (hold) / middle drag", "Pan"],
    ["G", "Smart box: drag a box, get the object's mask"], ["W", "Magic wand: click a region of similar colour"],
    ["U", "Superpixel brush: paint whole superpixels (Alt removes)"],
    ["I", "Intelligent scissors: click points, the outline follows edges"],
  ]],
  ["Classes", [
    ["1 – 9", "Class of the next shape; relabels the selection only when you picked it (click, list, Tab)"],
    ["1 – 9 in the Tags tool", "Toggle that tag on the image"],
  ]],
  ["Drawing", [
    ["Click, click, …", "Polygon points"], ["Enter / click first point", "Close the polygon"],
    ["Backspace", "Drop the last polygon point"], ["Esc", "Cancel drawing, or clear the selection"],
    ["Drag a vertex", "Move it"], ["Click an edge", "Insert a vertex"],
    ["Alt+click a vertex", "Delete it"], ["[ / ]", "Brush radius smaller / larger"], ["N", "New mask instance"],
  ]],
  ["Smart tools", [
    ["Shift+drag (smart box)", "Correct the mask: this is the object"], ["Alt+drag (smart box)", "Correct the mask: this is not"],
    ["Enter (smart box)", "Turn the selected box into a mask"],
    ["Box over a proposal", "Takes the model's box (Alt+drag keeps yours)"],
    ["Enter / click first point (scissors)", "Close the outline"], ["Backspace (scissors)", "Drop the last piece"],
    ["Shift+click / Alt+click (wand)", "Add the region to / cut it from the selected mask"],
    ["[ / ] (wand)", "Colour tolerance lower / higher"],
    ["C", "Convert the selection: mask → polygons, polygon → mask"], ["J", "Merge the selected shapes of one class into one mask"],
    ["X", "Cut the other selected shapes out of the first selected mask"], ["K", "Split a mask's separate parts into instances"],
  ]],
  ["Editing", [
    ["Ctrl+Z", "Undo"], ["Ctrl+Shift+Z / Ctrl+Y", "Redo"], ["Delete / Backspace", "Delete selection (or selected vertex)"],
    ["Tab / Shift+Tab", "Select next / previous object"], ["Ctrl+A", "Select all"],
    ["Ctrl+C / Ctrl+V", "Copy / paste shapes (also onto another image)"], ["L", "Lock / unlock the selection"],
    ["Drag a selected shape", "Move it (masks too)"],
    ["H", "Hide / show selection"], ["Shift+H", "Show all"], ["{ / }", "Fill opacity down / up"],
  ]],
  ["Proposals", [
    ["A", "Accept selected proposal(s)"], ["R", "Reject selected proposal(s)"],
    ["Shift+A", "Accept all on this image"], ["Alt+A", "Accept all scoring at least the threshold"],
  ]],
  ["View", [
    ["Wheel", "Zoom at the cursor"], ["+ / −", "Zoom in / out"], ["F or 0", "Fit to window"], ["O", "Actual size (1:1)"],
  ]],
  ["Images", [
    [", (comma)", "Previous image"], [". (period)", "Next image"], ["S", "Skip: next image from the queue"],
    ["D", "Mark done and go to the next image"], ["?", "This help"],
  ]],
];

export function renderHelp(container) {
  const esc = (s) => s.replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]);
  container.innerHTML = SHORTCUTS.map(([title, rows]) =>
    `<h3>${esc(title)}</h3><div class="ws-help-table">${rows.map(([k, what]) => `<div><kbd>${esc(k)}</kbd><span>${esc(what)}</span></div>`).join("")}</div>`
  ).join("");
}
