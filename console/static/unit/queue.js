// What the crew pressed or wrote while the link was down: kept in IndexedDB (it survives a reload) with `at`,
// the moment of the press, and sent in order, each once, after the next welcome (docs/protocol.md, `at`).
import { state, set } from "./store.js";
import { send, isOpen } from "./socket.js";

const STORE = "outbox";
let db = null;
let flushing = false;

function open() {
  db ??= new Promise((resolve, reject) => {
    const request = indexedDB.open("unit-queue", 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "key", autoIncrement: true });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return db;
}

async function run(mode, work) {
  const tx = (await open()).transaction(STORE, mode);
  const request = work(tx.objectStore(STORE));
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve(request?.result);
    tx.onerror = () => reject(tx.error);
  });
}

const all = () => run("readonly", (store) => store.getAll());

// The queue as the screen shows it: what each entry is, and when it was pressed.
export async function refresh() { set({ queued: await all() }); }

// Sent now when the link is open and nothing waits before it; else kept, to go in its turn.
// `label` is what the screen calls it while it waits.
export async function submit(message, label) {
  if (isOpen() && !state.queued.length && !flushing) { send(message); return "sent"; }
  await run("readwrite", (store) => store.add({ message: { ...message, at: Date.now() }, label }));
  await refresh();
  if (isOpen()) flush();
  return "queued";
}

// Called with each queued message just before it goes (status.js awaits its answer).
const beforeSend = [];
export function onFlush(fn) { beforeSend.push(fn); }

export async function flush() {
  if (flushing) return;
  flushing = true;
  try {
    for (const entry of await all()) {
      if (!isOpen()) break;
      // Taken out before it goes: a second flush, or a reload, never sends it twice.
      await run("readwrite", (store) => store.delete(entry.key));
      if (!isOpen()) { await run("readwrite", (store) => store.put(entry)); break; }
      for (const fn of beforeSend) fn(entry.message);
      send(entry.message);
    }
  } finally {
    flushing = false;
    await refresh();
  }
}
