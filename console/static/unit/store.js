// The crew device's one state store: views subscribe, modules change it through set().
// What must survive a reload (the token, the last seq seen, the ids handled) lives in localStorage.
const KEEP_IDS = 200; // ids of handled messages remembered: far more than the outbox resends

const stored = (key, fallback) => {
  try { return JSON.parse(localStorage.getItem(key)) ?? fallback; } catch { return fallback; }
};

export const state = {
  token: localStorage.getItem("unit-token"),
  unitId: null, conn: "offline", ackDeadline: 10,
  // The centre's clock and units (/api/me, kept for a start offline): the times and distances the console shows.
  tz: localStorage.getItem("unit-tz") || undefined, distanceUnit: localStorage.getItem("unit-distance") || "km",
  unitStatus: null, unitStatusSeq: 0, // the unit's own status (welcome, our answered presses, `unit_status`)
  name: localStorage.getItem("unit-name") || "", // the call sign from the last welcome: shown offline too
  job: stored("unit-job", null), // the assignment shown: the message's fields, its `status`, `ackOf` while unacknowledged
  standby: stored("unit-standby", null), // a move-up order: { post_id, post, location, reason, route }
  notice: null,       // { kind: "cancel" | "error" | "info", text, about? }: `about`, the id of the press it speaks of
  gps: "waiting",     // waiting | on | refused | unavailable
  lastSeq: Number(localStorage.getItem("unit-last-seq") || 0),
  theme: localStorage.getItem("unit-theme") || "day",
  inbox: stored("unit-inbox", []), // the dispatcher's messages not yet marked seen, oldest first: { id, text, from, at }
  queued: [],         // what waits to be sent (queue.js): { key, message, label }
  pending: new Map(), // our message id -> what it asked (a status), until ok or error
};

const seen = new Set(stored("unit-seen", []));
const listeners = new Set();

export function set(patch) {
  Object.assign(state, patch);
  // The job survives a reload: its message was handled already and is not shown twice.
  if ("job" in patch) localStorage.setItem("unit-job", JSON.stringify(state.job));
  if ("standby" in patch) localStorage.setItem("unit-standby", JSON.stringify(state.standby));
  if (patch.name) localStorage.setItem("unit-name", patch.name);
  // So do the dispatcher's words not yet seen: acknowledged already, they would never come again.
  if ("inbox" in patch) localStorage.setItem("unit-inbox", JSON.stringify(state.inbox));
  for (const listener of listeners) listener(state);
}

export function subscribe(listener) { listeners.add(listener); listener(state); }

export function saveToken(token) {
  if (token) localStorage.setItem("unit-token", token); else localStorage.removeItem("unit-token");
  set({ token });
}

export function saveTheme(theme) { localStorage.setItem("unit-theme", theme); set({ theme }); }

// The highest seq seen goes into the next hello; a resent message can arrive after newer ones.
export function sawSeq(seq) {
  if (seq > state.lastSeq) { state.lastSeq = seq; localStorage.setItem("unit-last-seq", String(seq)); }
}

// True the first time an id is met: a message is acted on once, however often it is resent.
export function firstTime(id) {
  if (seen.has(id)) return false;
  seen.add(id);
  localStorage.setItem("unit-seen", JSON.stringify([...seen].slice(-KEEP_IDS)));
  return true;
}

export function forget() {
  for (const key of ["unit-token", "unit-last-seq", "unit-seen", "unit-job", "unit-name", "unit-standby", "unit-inbox"]) {
    localStorage.removeItem(key);
  }
  seen.clear();
  set({ token: null, lastSeq: 0, job: null, standby: null, inbox: [], notice: null, unitId: null, name: "" });
}

let counter = 0;
export const nextId = (prefix) => `${prefix}-${Date.now().toString(36)}-${++counter}`;

// A time of day as the crew reads it (hours and minutes, 24-hour), on the centre's clock, from epoch ms or an ISO
// string: the time a dispatcher says on the radio is the one the crew reads.
const clocks = new Map();
export const clock = (at) => {
  if (!clocks.has(state.tz)) {
    clocks.set(state.tz, new Intl.DateTimeFormat("en-GB", { timeZone: state.tz, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }));
  }
  return clocks.get(state.tz).format(new Date(at));
};

// The centre's settings from /api/me, kept for the next start (offline too).
export function setCentre(me) {
  if (me.time_zone) { localStorage.setItem("unit-tz", me.time_zone); state.tz = me.time_zone; }
  if (me.distance_unit) { localStorage.setItem("unit-distance", me.distance_unit); state.distanceUnit = me.distance_unit; }
}
