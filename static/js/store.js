// What the phone keeps in IndexedDB (the captures of the capture page, the actions of the
// agenda: outbox.js's queue) and the UUIDs that are their idempotency keys.

// One object store of one database, keyed by `uuid`; `mine(user)` lists a rep's items,
// oldest first (a phone may hold the items of a rep who signed out).
export function objectStore(database, name) {
  let opened = null;
  function open() {
    opened = opened || new Promise((resolve, reject) => {
      const request = indexedDB.open(database, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(name, { keyPath: "uuid" });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    return opened;
  }
  async function run(mode, work) {
    const db = await open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(name, mode);
      const result = work(tx.objectStore(name));
      tx.oncomplete = () => resolve(result.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  }
  return {
    put: (item) => run("readwrite", (s) => s.put(item)),
    remove: (uuid) => run("readwrite", (s) => s.delete(uuid)),
    get: (uuid) => run("readonly", (s) => s.get(uuid)),
    mine: (user) => run("readonly", (s) => s.getAll())
      .then((items) => items.filter((item) => item.user === user)
        .sort((a, b) => a.queued_at.localeCompare(b.queued_at))),
  };
}

export function newUuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

