// Autosave: every change is written in the background, batched after a short pause: one request
// (POST /api/images/{id}/annotations/batch/, one transaction) carries the deletes, updates and
// creates of the pause. Each write carries the version it is based on; a 409 names the stale items,
// handed to the page as conflicts to resolve, and the rest is sent again; a refused batch (400/403)
// is sent again item by item so the good ones are kept and the bad one named; a network or server
// failure stays dirty and is retried with backoff.

import { api, csrfToken } from "../labeling/api.js";
import { snapshot, fromServer } from "./store.js";
import { rleFromBitmap } from "./rle.js";

const DEBOUNCE_MS = 500;

export class Saver {
  constructor({ store, onState, onConflict, onRejected, onSaved }) {
    this.store = store;
    this.onState = onState; this.onConflict = onConflict; this.onRejected = onRejected; this.onSaved = onSaved || (() => {});
    this.reset(null);
  }

  reset(image) {
    this.image = image;
    this.server = new Map(); // cid -> {id, version, snap}: what the server is known to hold
    this.dirty = new Set();
    this.conflicts = new Map(); // cid -> {current, gone}
    this.failures = 0;
    clearTimeout(this.timer); this.timer = null;
    this.flushing = null;
    this.setState("saved", "All changes saved");
  }

  /** Record what was loaded from the server. */
  known(ann) { this.server.set(ann.cid, { id: ann.id, version: ann.version, snap: snapshot(ann) }); }

  markDirty(cid) {
    this.dirty.add(cid);
    if (!this.flushing) this.schedule(DEBOUNCE_MS);
    this.updateState();
  }

  schedule(ms) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.timer = null; this.flush(); }, ms);
  }

  get pending() { return this.dirty.size > 0 || !!this.flushing || this.conflicts.size > 0; }

  setState(state, text) {
    this.state = state;
    this.onState(state, text);
  }

  updateState() {
    if (this.conflicts.size) return this.setState("conflict", "Conflict: choose what to keep");
    if (this.failures) return; // the error text with its retry time stays until a write succeeds
    if (this.flushing) return this.setState("saving", "Saving…");
    if (this.dirty.size) return this.setState("pending", "Unsaved changes");
    this.setState("saved", "All changes saved");
  }

  /** Write now and wait until nothing is in flight; true when everything is saved. */
  async flushNow() {
    clearTimeout(this.timer); this.timer = null;
    if (this.flushing) await this.flushing;
    if (this.dirty.size && !this.conflicts.size) await this.flush();
    return !this.pending;
  }

  needs(cid) {
    const ann = this.store.get(cid), srv = this.server.get(cid);
    if (!ann) return srv ? "delete" : null;
    if (!srv) return "create";
    const s = srv.snap;
    return s.label_class !== ann.label_class || s.state !== ann.state || s.geometry !== ann.geometry || s.iscrowd !== ann.iscrowd ? "update" : null;
  }

  flush() {
    if (this.flushing) return this.flushing;
    this.flushing = this._flush().finally(() => {
      this.flushing = null;
      if (this.dirty.size && !this.timer) this.schedule(this.failures ? this.backoff() : 0);
      this.updateState();
    });
    this.updateState();
    return this.flushing;
  }

  backoff() { return Math.min(30000, 1000 * 2 ** (this.failures - 1)); }

  /** The page is going away: send every waiting change now, all at once, as keepalive requests
   * (they outlive the page; the debounce and the one-kind-after-another order would not). */
  flushOnExit() {
    clearTimeout(this.timer); this.timer = null;
    const cids = [...this.dirty].filter((cid) => !this.conflicts.has(cid));
    if (!cids.length || !this.image) return;
    for (const cid of cids) this.dirty.delete(cid);
    const image = this.image, sent = [];
    const retry = (list) => { for (const c of [].concat(list)) this.dirty.add(c); };
    const run = (list, p) => sent.push(p.then((ok) => { if (ok === false) retry(list); }, () => retry(list)));
    const by = this.sort(cids), batch = this.batchBody(by);
    // A keepalive request may carry at most 64 KiB: a larger batch goes as single writes.
    if (JSON.stringify(batch.body).length < 60000) run(cids, this.batch(by, image, true, batch));
    else {
      for (const cid of by.update) run(cid, this.update(cid, true));
      for (const cid of by.delete) run(cid, this.remove(cid, true));
      if (by.create.length) run(by.create, this.create(by.create, image, true));
    }
    // Should the page stay after all (a cancelled navigation), the answers are taken as usual.
    const before = this.flushing;
    this.flushing = Promise.all([before, ...sent]).finally(() => {
      this.flushing = null;
      if (this.dirty.size && !this.timer) this.schedule(0);
      this.updateState();
    });
  }

  /** api(), or for a page being left a keepalive fetch (same headers; its answer may never be read). */
  async call(method, url, body, keepalive) {
    if (!keepalive) return api(method, url, body);
    const response = await fetch(url, {
      method, credentials: "same-origin", keepalive: true,
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken(), ...(body !== undefined ? { "Content-Type": "application/json" } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    return { status: response.status, ok: response.ok, data: text ? JSON.parse(text) : null };
  }

  async _flush() {
    const cids = [...this.dirty].filter((cid) => !this.conflicts.has(cid));
    for (const cid of cids) this.dirty.delete(cid);
    const by = this.sort(cids);
    const image = this.image;
    let failed = false;
    if (by.delete.length || by.update.length || by.create.length) {
      try { failed = (await this.batch(by, image)) === false; } catch (err) { failed = true; }
      if (failed) for (const cid of cids) this.dirty.add(cid);
    }
    if (image !== this.image) return; // switched images meanwhile
    for (const cid of cids) if (!this.conflicts.has(cid) && this.needs(cid)) this.dirty.add(cid);
    if (failed) {
      this.failures++;
      this.setState("error", `Save failed; retrying in ${Math.round(this.backoff() / 1000)} s`);
    } else if (this.failures) { this.failures = 0; }
    if (!failed) this.onSaved();
  }

  /** The waiting cids by what the server must do with them. */
  sort(cids) {
    const by = { delete: [], update: [], create: [] };
    for (const cid of cids) { const need = this.needs(cid); if (need) by[need].push(cid); }
    return by;
  }

  /** The batch request for `by`, with what was sent of each (to compare with later edits). */
  batchBody(by) {
    const sent = new Map(), body = { delete: [], update: [], create: [] };
    for (const cid of by.delete) { const srv = this.server.get(cid); body.delete.push({ id: srv.id, version: srv.version }); }
    for (const cid of by.update) {
      const [snap, changes] = this.changes(cid);
      sent.set(cid, snap);
      body.update.push({ id: this.server.get(cid).id, ...changes });
    }
    for (const cid of by.create) {
      const ann = this.store.get(cid);
      sent.set(cid, snapshot(ann));
      body.create.push(this.createPayload(ann));
    }
    return { body, sent };
  }

  /** One request for the whole pause; false when it must be tried again later. Deletes go first on
   * the server: a single-label project refuses a new tag while the old one still exists. */
  async batch(by, image, keepalive = false, prepared = null) {
    const { body, sent } = prepared || this.batchBody(by);
    const res = await this.call("POST", `/api/images/${image.id}/annotations/batch/`, body, keepalive);
    if (res.status >= 500 || res.status === 0) return false;
    if (res.status === 409 && res.data?.conflicts) {
      // Nothing was written. The stale items wait for the person; the rest is sent again.
      for (const c of res.data.conflicts) {
        const [, kind, i] = /^(\w+)\[(\d+)\]$/.exec(c.path) || [];
        const cid = by[kind]?.[Number(i)];
        if (cid !== undefined) this.conflict(cid, c.current, c.current === null);
      }
      return true;
    }
    if (!res.ok) return this.oneByOne(by, image, keepalive);
    by.delete.forEach((cid) => this.server.delete(cid));
    res.data.updated.forEach((row, i) => this.stored(by.update[i], row, sent.get(by.update[i])));
    res.data.created.forEach((row, i) => {
      const cid = by.create[i], ann = this.store.get(cid);
      this.stored(cid, row, sent.get(cid));
      if (ann) ann.id = row.id;
    });
    return true;
  }

  /** A refused batch (a bad item, a state this person may not set) as single writes: the good ones
   * are kept and each refusal is shown for its own object. */
  async oneByOne(by, image, keepalive) {
    let ok = true;
    const run = async (p) => { if ((await p) === false) ok = false; };
    await Promise.all(by.delete.map((cid) => run(this.remove(cid, keepalive))));
    await Promise.all(by.update.map((cid) => run(this.update(cid, keepalive))));
    if (by.create.length) await run(this.create(by.create, image, keepalive));
    return ok;
  }

  stored(cid, row, sent) {
    this.server.set(cid, { id: row.id, version: row.version, snap: this.serverState(cid, sent, row) });
    const ann = this.store.get(cid);
    if (ann) ann.version = row.version;
  }

  createPayload(a) {
    return {
      kind: a.kind, label_class: a.label_class, ...this.body(a), state: a.state, iscrowd: !!a.iscrowd,
      ...(a.origin === "model" ? { origin: "model", score: a.score } : {}),
    };
  }

  /** [what is sent, the changes since what the server holds, with the version they are based on]. */
  changes(cid) {
    const ann = this.store.get(cid), srv = this.server.get(cid);
    const sent = snapshot(ann), changes = { version: srv.version };
    if (sent.label_class !== srv.snap.label_class) changes.label_class = sent.label_class;
    if (sent.state !== srv.snap.state) changes.state = sent.state;
    if (sent.iscrowd !== srv.snap.iscrowd) changes.iscrowd = sent.iscrowd;
    if (sent.geometry !== srv.snap.geometry) Object.assign(changes, this.body(ann));
    return [sent, changes];
  }

  body(ann) {
    const geometry = ann.kind === "mask" ? { rle: rleFromBitmap(ann.geometry.bitmap, this.store.H, this.store.W) } : ann.geometry;
    return { geometry };
  }

  async create(cids, image, keepalive = false) {
    const anns = cids.map((cid) => this.store.get(cid)).filter(Boolean);
    const sent = anns.map(snapshot);
    const payload = anns.map((a) => this.createPayload(a));
    const res = await this.call("POST", `/api/images/${image.id}/annotations/`, payload, keepalive);
    if (res.status >= 500 || res.status === 0) return false;
    if (res.status === 400 && anns.length > 1) {
      // One bad item refuses the whole batch: send them one by one to keep the good ones.
      for (const cid of cids) await this.create([cid], image, keepalive);
      return true;
    }
    if (!res.ok) { anns.forEach((a, i) => this.refused(a.cid, res.data, sent[i])); return true; }
    res.data.forEach((row, i) => {
      const ann = anns[i];
      this.server.set(ann.cid, { id: row.id, version: row.version, snap: this.serverState(ann.cid, sent[i], row) });
      if (this.store.get(ann.cid)) { ann.id = row.id; ann.version = row.version; }
    });
    return true;
  }

  async update(cid, keepalive = false) {
    const srv = this.server.get(cid), [sent, changes] = this.changes(cid);
    const res = await this.call("PATCH", `/api/annotations/${srv.id}/`, changes, keepalive);
    return this.answer(cid, res, sent, srv.id);
  }

  async remove(cid, keepalive = false) {
    const srv = this.server.get(cid);
    const res = await this.call("DELETE", `/api/annotations/${srv.id}/?version=${srv.version}`, undefined, keepalive);
    if (res.status === 204 || res.status === 404) {
      // 404: already gone, which is what was wanted. Re-created locally meanwhile (undo)? The next flush posts it.
      this.server.delete(cid);
      return true;
    }
    return this.answer(cid, res, null, srv.id);
  }

  answer(cid, res, sent, id) {
    if (res.status >= 500 || res.status === 0) return false;
    if (res.status === 409) { this.conflict(cid, res.data.current, false); return true; }
    if (res.status === 404) { this.conflict(cid, null, true); return true; }
    if (!res.ok) { this.refused(cid, res.data, sent); return true; }
    const row = res.data;
    this.server.set(cid, { id: row.id, version: row.version, snap: this.serverState(cid, sent, row) });
    const ann = this.store.get(cid);
    if (ann) ann.version = row.version;
    return true;
  }

  /** The state the server gave (labeling/rules.py decides, e.g. an edited proposal is accepted):
   * shown on the page at once, and what later writes compare against. */
  serverState(cid, sent, row) {
    if (!row.state || row.state === sent.state) return sent;
    const ann = this.store.get(cid);
    if (ann && ann.state === sent.state) { ann.state = row.state; this.store.revision++; }
    return { ...sent, state: row.state };
  }

  conflict(cid, current, gone) {
    this.conflicts.set(cid, { current, gone });
    this.updateState();
    this.onConflict(cid, current, gone);
  }

  /** Resolve a conflict: "theirs" takes the server's annotation, "mine" overwrites it knowingly. */
  resolve(cid, choice) {
    const c = this.conflicts.get(cid);
    if (!c) return;
    this.conflicts.delete(cid);
    if (choice === "theirs") {
      if (c.gone) { this.store.remove(cid); this.server.delete(cid); }
      else {
        const fresh = fromServer(c.current);
        const ann = this.store.get(cid) ? this.store.apply(cid, snapshot(fresh)) : this.store.insert({ ...fresh, cid });
        ann.id = fresh.id; ann.version = fresh.version;
        this.known(ann);
      }
    } else if (c.gone) {
      this.server.delete(cid);
      this.dirty.add(cid);
    } else {
      this.server.set(cid, { id: c.current.id, version: c.current.version, snap: snapshot(fromServer(c.current)) });
      this.dirty.add(cid);
    }
    this.updateState();
    if (this.dirty.size) this.schedule(0);
  }

  /** The server refused a write (400/403): show why and go back to what it holds. */
  refused(cid, data, sent) {
    const srv = this.server.get(cid);
    this.store.apply(cid, srv ? srv.snap : null);
    this.onRejected(cid, (data && data.detail) || "The server refused this change.");
  }
}
