// Edits of the open image's annotations: each change is one undoable step queued for saving;
// class choice, selection, hiding and proposals' states. Installed on the workspace object (ws).

import { snapshot } from "./store.js";

const newShape = (kind, geometry, label_class) => ({ kind, label_class, geometry, state: "accepted", origin: "human", score: null, iscrowd: false });

export function installEdits(ws) {
  ws.afterChange = afterChange;
  function afterChange() {
    for (const cid of [...ws.selection]) if (!ws.store.get(cid) || !ws.isDrawn(ws.store.get(cid))) ws.selection.delete(cid);
    if (ws.activeMask != null && !ws.store.get(ws.activeMask)) ws.activeMask = null;
    ws.selectionRevision++;
    ws.panel.changed();
    ws.request();
  }

  /** Apply a list of {cid, before, after} snapshots as one undoable edit and queue it for saving. */
  ws.commit = (changes) => {
    changes = changes.filter((c) => c.before !== c.after);
    if (!changes.length) return;
    for (const c of changes) { ws.store.apply(c.cid, c.after); ws.saver.markDirty(c.cid); }
    ws.history.push(changes);
    afterChange();
  };
  function applySnaps(list) {
    if (!list) return;
    for (const { cid, snap } of list) { ws.store.apply(cid, snap); ws.saver.markDirty(cid); }
    afterChange();
  }
  ws.undo = () => { ws.cancelTool(); applySnaps(ws.history.undo()); };
  ws.redo = () => { ws.cancelTool(); applySnaps(ws.history.redo()); };


  ws.createShape = (kind, geometry) => {
    if (ws.activeClass == null) { ws.toast("Add a label class to the project first."); return; }
    const cid = ws.store.nextCid++;
    ws.commit([{ cid, before: null, after: newShape(kind, geometry, ws.activeClass) }]);
    ws.select([cid]);
  };

  // The state after an edit (an edited proposal is accepted) is the server's rule
  // (labeling/rules.py state_after_change): the saver takes it from the PATCH answer.
  ws.change = (cids, patch) => {
    ws.commit(cids.map((cid) => ws.store.get(cid)).filter(Boolean).filter((a) => !a.locked || !("geometry" in patch)).map((a) => {
      const before = snapshot(a);
      return { cid: a.cid, before, after: { ...before, ...patch } };
    }));
  };

  ws.deleteVertex = (ann, i) => {
    if (ann.geometry.points.length <= 3) { ws.toast("A polygon needs at least 3 points."); return; }
    const points = ann.geometry.points.filter((_, j) => j !== i);
    ws.selectedVertex = null;
    ws.change([ann.cid], { geometry: { points } });
  };

  ws.deleteSelection = () => {
    if (ws.tool?.name === "select" && ws.selectedVertex != null && ws.selection.size === 1) {
      ws.deleteVertex(ws.store.get([...ws.selection][0]), ws.selectedVertex);
      return;
    }
    const all = [...ws.selection].map((cid) => ws.store.get(cid)).filter(Boolean);
    const locked = all.filter((a) => a.locked);
    if (locked.length) ws.toast(`${locked.length} locked shape${locked.length === 1 ? " is" : "s are"} kept; unlock with L first.`);
    // A proposal is rejected rather than deleted, so the model learns it was wrong.
    ws.commit(all.filter((a) => !a.locked).map((a) => ({
      cid: a.cid, before: snapshot(a), after: a.state === "proposed" ? { ...snapshot(a), state: "rejected" } : null,
    })));
  };

  ws.setState = (cids, state) => {
    const targets = cids.map((cid) => ws.store.get(cid)).filter((a) => a && a.state === "proposed");
    ws.commit(singleLabelSafe(targets, state).map((a) => ({ cid: a.cid, before: snapshot(a), after: { ...snapshot(a), state } })));
  };

  /** In a single-label project at most one tag may be accepted: accept only the best proposed tag, and only when none is. */
  function singleLabelSafe(targets, state) {
    if (state !== "accepted" || ws.project.multilabel) return targets;
    const tags = targets.filter((a) => a.kind === "tag").sort((a, b) => (b.score ?? 0) - (a.score ?? 0));
    const hasTag = [...ws.store.all()].some((a) => a.kind === "tag" && a.state === "accepted");
    const keep = hasTag ? [] : tags.slice(0, 1);
    return targets.filter((a) => a.kind !== "tag" || keep.includes(a));
  }

  ws.acceptAll = (minScore = null) => {
    const props = [...ws.store.all()].filter((a) => a.state === "proposed" && (minScore == null || (a.score ?? 0) >= minScore));
    ws.setState(props.map((a) => a.cid), "accepted");
    ws.toast(`${props.length} proposal${props.length === 1 ? "" : "s"} accepted.`);
  };

  ws.toggleTag = (classId) => {
    const tags = [...ws.store.all()].filter((a) => a.kind === "tag");
    const on = tags.find((a) => a.label_class === classId && a.state === "accepted");
    const changes = [];
    if (on) changes.push({ cid: on.cid, before: snapshot(on), after: null });
    else {
      if (!ws.project.multilabel) for (const t of tags.filter((a) => a.state === "accepted")) changes.push({ cid: t.cid, before: snapshot(t), after: null });
      const proposal = tags.find((a) => a.label_class === classId && a.state === "proposed");
      if (proposal) changes.push({ cid: proposal.cid, before: snapshot(proposal), after: { ...snapshot(proposal), state: "accepted" } });
      else changes.push({ cid: ws.store.nextCid++, before: null, after: newShape("tag", {}, classId) });
    }
    ws.commit(changes);
  };

  /** Pick the class for the NEXT shape (as CVAT and Label Studio do). Only shapes the person selected
   * themselves are relabelled; the shape a tool just drew keeps its class, and the next stroke or
   * shape starts anew in the class picked ("pick class, draw, pick next class, draw"). */
  ws.chooseClass = (classId) => {
    ws.activeClass = classId;
    ws.panel.renderClasses();
    if (ws.explicitSelection) {
      const cids = [...ws.selection].filter((cid) => ws.store.get(cid)?.label_class !== classId);
      if (cids.length) ws.change(cids, { label_class: classId });
    } else if (ws.selection.size && [...ws.selection].some((cid) => ws.store.get(cid)?.label_class !== classId)) {
      ws.activeMask = null;
      ws.select([]);
    }
    ws.request();
  };

  ws.select = (cids, { explicit = false } = {}) => {
    ws.explicitSelection = explicit && cids.length > 0;
    ws.selection = new Set(cids);
    ws.selectionRevision++;
    const masks = cids.map((c) => ws.store.get(c)).filter((a) => a?.kind === "mask");
    if (masks.length === 1) ws.activeMask = masks[0].cid;
    document.body.dataset.selected = String(ws.selection.size);
    ws.panel.syncSelection();
    ws.request();
  };
  ws.toggleSelect = (cid) => {
    const s = new Set(ws.selection);
    s.has(cid) ? s.delete(cid) : s.add(cid);
    ws.select([...s], { explicit: true });
  };
  ws.toggleHidden = (cids) => {
    for (const cid of cids) { const a = ws.store.get(cid); if (a) a.hidden = !a.hidden; }
    ws.hiddenRevision++;
    ws.store.revision++; // the list shows hidden rows dimmed
    afterChange();
  };
  ws.focusOn = (cid) => {
    const a = ws.store.get(cid), v = ws.view;
    if (!a?.bbox) return;
    const [sx0, sy0] = v.toScreen(a.bbox[0], a.bbox[1]), [sx1, sy1] = v.toScreen(a.bbox[2], a.bbox[3]);
    if (sx1 < 0 || sy1 < 0 || sx0 > v.cw || sy0 > v.ch) {
      v.pan(v.cw / 2 - (sx0 + sx1) / 2, v.ch / 2 - (sy0 + sy1) / 2);
      ws.renderer.viewChanged();
    }
  };
  ws.panBy = (dx, dy) => { ws.view.pan(dx, dy); ws.renderer.viewChanged(); };
}
