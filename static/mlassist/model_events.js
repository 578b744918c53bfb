// Model events for open pages (the project page, the workspace, the model page): one EventSource on
// /api/projects/{id}/model-events/ (mlassist/events.py). The server ends each stream after at most 20 s
// and the browser reconnects by itself with the last token (Last-Event-ID), so nothing is missed in
// between. The first event is the state as the page opened (changes: null); every later one is a
// change, handed to the page with what changed: a version put in service, a run's progress, new proposals.

/** Call onChange(state, changes) with the project's model state, then on every change of it.
 * changes: null the first time, then {served: [{id, kind, number}] newly in service, proposals, version,
 * runState (a run queued, started or ended), run (any change of the run, its progress too): bool}.
 * Returns a stop function. */
export function watchModel(projectId, onChange) {
  let last = null;
  const source = new EventSource(`/api/projects/${projectId}/model-events/`);
  source.addEventListener("model", (event) => {
    const state = JSON.parse(event.data);
    const before = last;
    last = state;
    document.body.dataset.modelToken = state.token; // for tests: the page has seen this state
    if (!before) { onChange(state, null); return; }
    const was = new Set(before.serving.map((v) => v.id));
    const changes = {
      served: state.serving.filter((v) => !was.has(v.id)),
      proposals: state.newest_proposal !== before.newest_proposal,
      version: state.latest_version !== before.latest_version, // a new version, served or not
      runState: state.run?.id !== before.run?.id || state.run?.state !== before.run?.state,
      run: JSON.stringify(state.run) !== JSON.stringify(before.run), // progress included: often
    };
    onChange(state, changes);
  });
  // A permanent refusal (403/404, signed out) closes the source; a dropped connection reconnects.
  const stop = () => source.close();
  window.addEventListener("pagehide", stop);
  return stop;
}

export const HEAD_NAMES = { classifier: "tags", detector: "boxes", segmenter: "masks" };

/** "tags v3, boxes v2" */
export function servingText(serving) {
  return serving.map((v) => `${HEAD_NAMES[v.kind] ?? v.kind} v${v.number}`).join(", ");
}
