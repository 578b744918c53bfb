// Undo and redo. An entry is a list of {cid, before, after} snapshots (null: absent). Undo applies
// the befores; the saver then writes whatever differs from the server, so undo works across saves.

export class History {
  constructor() { this.undoStack = []; this.redoStack = []; }
  clear() { this.undoStack = []; this.redoStack = []; }
  push(changes) {
    if (!changes.length) return;
    this.undoStack.push(changes);
    if (this.undoStack.length > 500) this.undoStack.shift();
    this.redoStack = [];
  }
  /** The changes to apply to undo the last entry, or null. */
  undo() {
    const entry = this.undoStack.pop();
    if (!entry) return null;
    this.redoStack.push(entry);
    return entry.slice().reverse().map(({ cid, before }) => ({ cid, snap: before }));
  }
  redo() {
    const entry = this.redoStack.pop();
    if (!entry) return null;
    this.undoStack.push(entry);
    return entry.map(({ cid, after }) => ({ cid, snap: after }));
  }
}
