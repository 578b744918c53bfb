// The Capture page's frames that the server does not have yet, kept in IndexedDB (each frame a
// Blob with its class, face mode, file name and capture time) until the server answers for them:
// a reload, a crash or a closed tab loses none, and the next Capture page of the same project,
// opened by the same person in this browser, sends them. Where IndexedDB cannot be opened (some
// private windows, storage blocked) the queue lives in the tab only, and the page says so.

const DB_NAME = "annotator-camera";
const STORE = "capture-queue";

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// A write counts once its transaction has committed, not when its request succeeded.
function committed(transaction) {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error || new Error("IndexedDB transaction aborted"));
  });
}

function openDatabase() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      const store = request.result.createObjectStore(STORE, { keyPath: "id", autoIncrement: true });
      store.createIndex("owner", "owner");
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error("IndexedDB is blocked by another tab"));
  });
}

// Frames are { blob, name, classId, faces, capturedAt }; stored ones get an `id`.
class StoredQueue {
  constructor(db, owner) {
    this.db = db;
    this.owner = owner;
    this.persistent = true;
  }

  // This owner's frames, oldest first.
  async load() {
    const store = this.db.transaction(STORE, "readonly").objectStore(STORE);
    const frames = await done(store.index("owner").getAll(this.owner));
    return frames.sort((a, b) => a.id - b.id);
  }

  async add(frame) {
    const transaction = this.db.transaction(STORE, "readwrite");
    const id = await done(transaction.objectStore(STORE).add({ ...frame, owner: this.owner }));
    await committed(transaction);
    return id;
  }

  // The ids of `ids` still queued (another tab of the same page may have sent some meanwhile).
  async present(ids) {
    const store = this.db.transaction(STORE, "readonly").objectStore(STORE);
    const keys = await Promise.all(ids.map((id) => done(store.getKey(id))));
    return new Set(keys.filter((key) => key !== undefined));
  }

  async remove(ids) {
    const transaction = this.db.transaction(STORE, "readwrite");
    const store = transaction.objectStore(STORE);
    for (const id of ids) store.delete(id);
    await committed(transaction);
  }

  async clear() {
    const transaction = this.db.transaction(STORE, "readwrite");
    const index = transaction.objectStore(STORE).index("owner");
    const keys = await done(index.getAllKeys(this.owner));
    for (const key of keys) transaction.objectStore(STORE).delete(key);
    await committed(transaction);
  }
}

class MemoryQueue {
  constructor() {
    this.persistent = false;
    this.ids = new Set();
    this.next = 1;
  }

  async load() { return []; }
  async add() { const id = this.next++; this.ids.add(id); return id; }
  async present(ids) { return new Set(ids.filter((id) => this.ids.has(id))); }
  async remove(ids) { for (const id of ids) this.ids.delete(id); }
  async clear() { this.ids.clear(); }
}

// `owner` keeps one person's frames of one project apart from any other's in the same browser.
export async function openFrameQueue(owner) {
  try {
    return new StoredQueue(await openDatabase(), owner);
  } catch {
    return new MemoryQueue();
  }
}

// Run `work` while no other tab of the same owner runs its own (one sender at a time, so two tabs
// opened on the same queue do not both send a frame). Without the Web Locks API, it just runs.
export function exclusively(owner, work) {
  if (!navigator.locks) return work();
  return navigator.locks.request(`annotator-capture-${owner}`, work);
}
