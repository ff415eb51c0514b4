// Every press of the crew (a status, a message) is kept in IndexedDB, with `at`, the moment of the press, until
// the dispatch centre answers it: it survives a reload and a socket that dies before the answer (a dead zone, a
// tunnel). Sent in order, one at a time, and again after the next welcome, with the same id, when its answer
// did not come: the server answers a resent id as the first time and does nothing else (docs/protocol.md,
// "Device messages"), so each press reaches the dispatch centre exactly once.
import { state, set, subscribe } from "./store.js";
import { send, isOpen } from "./socket.js";

const STORE = "outbox";
const AGAIN = new Set(["retry", "rate_limited", "service_unavailable"]); // not done: kept, and sent again later
let db = null;
let inFlight = null;    // the id sent on this socket and not answered yet
const prompt = new Set(); // ids pressed while the link was up and nothing waited: sent at once, `at` left out
let holdUntil = 0, holds = 0, timer = null; // after `retry`: wait a little, longer each time
let flushing = false, again = false;

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

const all = () => run("readonly", (store) => store.getAll()); // oldest first (the keys count up)

// The queue as the screen shows it, what waits (the one on its way is "Sending…"): its label and press time.
export async function refresh() { set({ queued: (await all()).filter((e) => e.message.id !== inFlight) }); }

// Kept first, then sent in its turn. "sent": it goes now; "queued": it waits for the link. `label` is what the
// screen calls it while it waits.
export async function submit(message, label) {
  const now = isOpen() && inFlight == null && !state.queued.length;
  await run("readwrite", (store) => store.add({ message: { ...message, at: Date.now() }, label, unit: state.unitId }));
  if (now) prompt.add(message.id); // its moment is now: a device clock set wrong does not get it refused
  await refresh();
  flush();
  return isOpen() ? "sent" : "queued";
}

// Called with each kept message just before it goes (status.js and talk.js await its answer).
const beforeSend = [];
export function onFlush(fn) { beforeSend.push(fn); }

export async function flush() {
  if (flushing) { again = true; return; }
  flushing = true;
  try {
    do {
      again = false;
      if (inFlight != null || !isOpen() || Date.now() < holdUntil) break;
      const [entry] = await all();
      if (!entry || inFlight != null || !isOpen()) break;
      // Pressed for another unit (signed out since, another token now): this socket cannot send it as that unit.
      if (entry.unit != null && state.unitId != null && entry.unit !== state.unitId) {
        await run("readwrite", (store) => store.delete(entry.key));
        again = true;
        continue;
      }
      for (const fn of beforeSend) fn(entry.message);
      const { at: _at, ...now } = entry.message;
      if (send(prompt.delete(now.id) ? now : entry.message)) inFlight = now.id;
    } while (again);
  } finally {
    flushing = false;
    await refresh();
  }
}

// The answer (`ok` or `error`) to one of ours: done with, or refused for good, it leaves the queue; not done
// (`retry`, `rate_limited`) it stays and goes again shortly. Returns the entry answered, if it was one of ours.
export async function settle(answer) {
  if (answer.re == null) return null;
  const entry = (await all()).find((e) => e.message.id === answer.re);
  if (entry && answer.type === "error" && AGAIN.has(answer.code)) {
    holds += 1;
    holdUntil = Date.now() + Math.min(30_000, 1000 * 2 ** holds);
    clearTimeout(timer);
    timer = setTimeout(flush, holdUntil - Date.now());
  } else if (entry) {
    holds = 0;
    await run("readwrite", (store) => store.delete(entry.key));
  }
  // Free for the next only now: a flush meanwhile would have found this one still kept, and sent it again.
  if (inFlight === answer.re) inFlight = null;
  await flush();
  return entry || null;
}

// A new socket (welcome): what was on its way on the last one got no answer; it goes again, first.
export function resume() {
  inFlight = null;
  holdUntil = 0;
  return flush();
}

// The socket went: the press on its way may never have arrived. It waits again (and says so) for the next welcome.
let wasOpen = false;
subscribe((s) => {
  const up = s.conn === "connected";
  if (wasOpen && !up && inFlight != null) {
    const lost = inFlight;
    inFlight = null;
    refresh().then(() => {
      const entry = state.queued.find((e) => e.message.id === lost);
      if (entry && state.notice?.kind !== "error" && state.notice?.kind !== "cancel") {
        set({ notice: { kind: "info", about: lost, text: `“${entry.label}” is waiting to send: the connection dropped before the dispatch centre answered. It goes again when the connection is back.` } });
      }
    });
  }
  wasOpen = up;
});
