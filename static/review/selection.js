// Selection over an ordered list of ids: click, shift-click ranges, ctrl/cmd toggles, a focused item.

export class Selection {
  constructor() {
    this.order = [];
    this.selected = new Set();
    this.anchor = null;
    this.focus = null;
  }

  reset(ids) {
    this.order = ids.slice();
    this.selected = new Set([...this.selected].filter((id) => ids.includes(id)));
    if (!ids.includes(this.anchor)) this.anchor = null;
    if (!ids.includes(this.focus)) this.focus = ids[0] ?? null;
  }

  // Plain click: only this one. Shift: the range from the anchor. Toggle (ctrl/cmd, Space): add or remove.
  click(id, { range = false, toggle = false } = {}) {
    if (range && this.anchor != null) {
      const [a, b] = [this.order.indexOf(this.anchor), this.order.indexOf(id)].sort((x, y) => x - y);
      const span = this.order.slice(a, b + 1);
      this.selected = toggle ? new Set([...this.selected, ...span]) : new Set(span);
    } else if (toggle) {
      if (this.selected.has(id)) this.selected.delete(id);
      else this.selected.add(id);
      this.anchor = id;
    } else {
      this.selected = new Set([id]);
      this.anchor = id;
    }
    this.focus = id;
  }

  // Move the focus by `step` places; with `extend` the selection follows as a range from the anchor.
  move(step, { extend = false } = {}) {
    if (!this.order.length) return;
    const at = Math.max(0, this.order.indexOf(this.focus));
    const next = this.order[Math.min(this.order.length - 1, Math.max(0, at + step))];
    if (extend) {
      if (this.anchor == null) this.anchor = this.focus ?? next;
      this.click(next, { range: true });
    } else {
      this.focus = next;
    }
  }

  clear() {
    this.selected.clear();
  }

  // The selection in grid order; the focused item when nothing is selected.
  targets() {
    const chosen = this.order.filter((id) => this.selected.has(id));
    return chosen.length ? chosen : this.focus != null ? [this.focus] : [];
  }
}
