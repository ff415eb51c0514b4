// The alerts: each names its units by call sign and its incident by "#id type", is announced (a live region) and,
// when it needs a dispatcher now (a new priority-1 call, an assignment not acknowledged, an escalation), heard:
// a tone made by WebAudio, no sound file. Each is acknowledged by its button or X (the newest first); the header
// counts those not yet acknowledged. The list scrolls in its own bounded panel, never pushing the board away.
// Nothing here runs at load but the wiring of its own buttons: common.js re-exports alertLine from this module,
// so common.js's bindings are read only when an alert comes.
import { state, api, hhmm } from "./common.js";

const byId = (id) => document.getElementById(id);
const KEEP = 200;  // alerts kept in the list; the oldest acknowledged go first
// A pop-out window (?view=map|board) shows no alerts and sounds none: the main window does.
const POPPED = new URLSearchParams(location.search).has("view");
const MUTED = "dispatch-alerts-muted";
// What each alert kind from the service (dispatch/push) is called, how urgent it is and which tone it sounds.
const KINDS = {
  ack_late: { label: "Not acknowledged yet", level: "warn", tone: "late" },
  not_acknowledged: { label: "Not acknowledged", level: "urgent", tone: "late" },
  escalation: { label: "Escalation", level: "urgent", tone: "escalation" },
  sent_not_answering: { label: "Sent, not answering", level: "urgent", tone: "escalation" },
};
const MARKS = { urgent: "‼", warn: "!", info: "i" };  // the level told by a shape, not only a colour

// ---- the tones -------------------------------------------------------------------------------------------------
// [frequency Hz, start s, length s]: two-tone for a priority-1 call, a low double beat for an escalation.
const TONES = {
  p1: [[960, 0, 0.16], [720, 0.2, 0.16], [960, 0.4, 0.16], [720, 0.6, 0.16]],
  escalation: [[440, 0, 0.28], [440, 0.38, 0.28]],
  late: [[760, 0, 0.18], [760, 0.26, 0.18]],
};
let audio = null;
const lastTone = new Map();  // tone → when it last sounded: a flood sounds once a second, not fifty times

function context() {
  const Audio = window.AudioContext || window.webkitAudioContext;
  if (!Audio) return null;
  audio ||= new Audio();
  if (audio.state === "suspended") audio.resume().catch(() => {});
  return audio;
}

function sound(name) {
  if (!name || POPPED || localStorage.getItem(MUTED) === "yes") return;
  const now = Date.now();
  if (now - (lastTone.get(name) || 0) < 1000) return;
  lastTone.set(name, now);
  const ctx = context();
  if (!ctx) return;
  const t = ctx.currentTime;
  for (const [hz, at, length] of TONES[name]) {
    const osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.type = "square";
    osc.frequency.value = hz;
    gain.gain.setValueAtTime(0.0001, t + at);
    gain.gain.exponentialRampToValueAtTime(0.15, t + at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + at + length);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t + at);
    osc.stop(t + at + length + 0.02);
  }
}

// ---- names -----------------------------------------------------------------------------------------------------
const typeNames = new Map();  // incident id → its type's name, once asked

function unitName(id) {
  return state.units.get(id)?.call_sign || "a unit not on the board";
}

// Kept as promises: alerts about one incident, asked one after the other, are shown in that order.
async function incidentName(id) {
  if (!typeNames.has(id)) {
    const code = state.incidents.get(id)?.type_code;
    const known = code && state.types.find((t) => t.code === code)?.name;
    typeNames.set(id, known ? Promise.resolve(known)
      : api(`/api/incidents/${id}`).then((i) => i.type_name).catch(() => code || ""));
  }
  return `#${id} ${await typeNames.get(id)}`.trim();
}

// ---- the list --------------------------------------------------------------------------------------------------
function unacked() { return byId("alert-list").querySelectorAll("li.alert:not(.acked)"); }

function count() {
  const n = unacked().length;
  const button = byId("alert-count");
  button.textContent = `${n} alert${n === 1 ? "" : "s"}`;
  button.dataset.count = String(n);
  button.setAttribute("aria-label", `${n} unacknowledged alert${n === 1 ? "" : "s"}: go to the newest`);
  byId("alert-unacked").textContent = n ? `(${n} new)` : "";
}

export function acknowledge(li, note = "acknowledged") {
  if (!li || li.classList.contains("acked")) return;
  const hadFocus = li.contains(document.activeElement);
  li.classList.add("acked");
  li.querySelector(".alert-ack")?.remove();
  const done = document.createElement("span");
  done.className = "alert-done";
  done.textContent = note;
  li.append(done);
  count();
  // The keyboard goes on to the next alert waiting, else to the header's count.
  if (hadFocus) (unacked()[0]?.querySelector(".alert-ack") || byId("alert-count")).focus();
}

function trim() {
  const list = byId("alert-list");
  while (list.children.length > KEEP) {
    const old = list.querySelector("li.alert.acked:last-child") || [...list.querySelectorAll("li.alert.acked")].pop();
    if (!old) break;  // every one still waits: none is dropped unseen
    old.remove();
  }
}

let shown = Promise.resolve();  // alerts shown one after the other, in the order they came

// Who gets which alert. A dispatcher (and an admin) and a commander, who watches the centre: every one. A
// call-taker does not dispatch: the alerts a dispatcher acts on (a new priority-1 call waiting, no unit free, an
// assignment not acknowledged, an escalation; a repeat address or a suspected duplicate of another's call) are
// not theirs, and the service does not send them the feed's (dispatch/push/consoles.py). A call-taker gets what
// is about the calls themselves, `floor: true`: the outcome of the call they took (attached to an incident, a
// possible duplicate) and an incident that needs its location, which a call-taker corrects (Move…). No tone.
const everything = () => document.body.dataset.role !== "call_taker";

// An alert with a cause (`about.cause`, e.g. "location:1185") is said once for it, even by a console loaded again
// (the causes said are kept for the browser tab), and only while it is true: once the cause is over (`resolve`),
// one still waiting to be shown is dropped and one shown is folded with what ended it.
const SAID = "dispatch-alerts-said";
const said = new Set(JSON.parse(sessionStorage.getItem(SAID) || "[]"));
const over = new Set();        // causes over
const byCause = new Map();     // cause → its alert's <li>

/** Shows an alert at the top of the list. `about`: {unit, incident} ids, named by call sign and "#id type";
 * {level: "urgent" | "warn" | "info", kind: its heading, tone: a tone's name, cause: said once for it, floor: a
 * call-taker's too}. */
export function addAlert(text, about = {}) {
  if (!about.floor && !everything()) return Promise.resolve(null);
  const cause = about.cause;
  if (cause) {
    if (said.has(cause) || over.has(cause)) return Promise.resolve(null);
    said.add(cause);
    sessionStorage.setItem(SAID, JSON.stringify([...said].slice(-KEEP * 5)));
  }
  const done = shown.then(() => (cause && over.has(cause) ? null : show(text, about)));
  shown = done.catch(() => {});
  return done;
}

/** Whether an alert was said for this cause. */
export const alerted = (cause) => said.has(cause);

/** The cause of an alert is over (the call was dispatched, the location corrected): said, why. */
export function resolve(cause, why) {
  over.add(cause);
  acknowledge(byCause.get(cause), why);
  byCause.delete(cause);
}

async function show(text, about) {
  const names = [];
  if (about.unit != null) names.push(unitName(about.unit));
  if (about.incident != null) names.push(await incidentName(about.incident));
  // Its cause may have ended while the incident's name was being read: an alert no longer true is not shown.
  if (about.cause && over.has(about.cause)) return null;
  const level = about.level || "info";
  const line = `${names.length ? `${names.join(" · ")}: ` : ""}${text}`;
  const li = document.createElement("li");
  li.className = `alert ${level}`;
  if (about.incident != null) li.dataset.incident = about.incident;
  if (about.unit != null) li.dataset.unit = about.unit;
  if (about.cause) { li.dataset.cause = about.cause; byCause.set(about.cause, li); }
  const mark = document.createElement("span");
  mark.className = "mark";
  mark.setAttribute("aria-hidden", "true");
  mark.textContent = MARKS[level] || MARKS.info;
  const time = document.createElement("time");
  time.textContent = hhmm(Date.now(), { seconds: true });
  const kind = document.createElement("strong");
  kind.textContent = about.kind ? `${about.kind} ` : "";
  const words = document.createElement("span");
  words.className = "alert-text";
  words.textContent = line;
  const ack = document.createElement("button");
  ack.type = "button";
  ack.className = "alert-ack";
  const what = document.createElement("span");
  what.className = "sr-only";
  what.textContent = ` ${about.kind || "alert"}: ${line}`;
  ack.append("Acknowledge", what);
  ack.addEventListener("click", () => acknowledge(li));
  li.append(mark, " ", time, " ", kind, words, " ", ack);
  byId("alert-list").prepend(li);
  trim();
  count();
  const said = `${about.kind ? `${about.kind}: ` : ""}${line}`;
  byId(level === "urgent" ? "alert-urgent" : "alert-announce").textContent = said;
  sound(about.tone);
  return li;
}

/** The plain line other modules write (their words, the time added); kept for every caller. */
export function alertLine(text, about = {}) {
  addAlert(text, about);
}

/** An `alert` message of the live feed (dispatch/push: ack_late, not_acknowledged, escalation, …). */
export function feedAlert(m) {
  const known = KINDS[m.kind] || { label: String(m.kind).replace(/_/g, " "), level: "warn" };
  addAlert(m.detail || "", { unit: m.unit_id ?? undefined, incident: m.incident_id ?? undefined,
    kind: known.label, level: known.level, tone: known.tone });
}

/** `incident.created`: a priority-1 call is heard; a repeat address and a suspected duplicate are told. */
// A priority-1 call is said once it has waited this long undispatched: the matcher's automatic dispatch takes
// well under it, and a call it sent is no call waiting (the queue shows it at once all the same).
const P1_GRACE_MS = 1200;

export function incidentCreated(m) {
  // An unconfirmed report (SMS, public form) waits for a call-taker; it is alerted once confirmed and queued.
  if (m.repeat_address) addAlert("repeat address", { incident: m.incident_id });
  if (m.duplicates?.length) {  // said once, though the console that took the call says it too (callform.js)
    addAlert(`possible duplicate of #${m.duplicates.join(", #")}`, { incident: m.incident_id, cause: `duplicate:${m.incident_id}` });
  }
  if (m.priority === 1 && !m.unconfirmed && document.body.dataset.role !== "call_taker") {
    setTimeout(() => addAlert("new call waiting", { incident: m.incident_id, kind: "Priority 1", level: "urgent",
      tone: "p1", cause: `p1:${m.incident_id}` }), P1_GRACE_MS);
  }
}

/** The incident has units now, or is over: its priority-1 call no longer waits. */
export function incidentServed(id, why) { resolve(`p1:${id}`, why); }

function setMuted(muted) {
  localStorage.setItem(MUTED, muted ? "yes" : "no");
  byId("alert-mute").setAttribute("aria-pressed", String(muted));
}

// The sound is allowed once the dispatcher has touched the page (a browser's autoplay rule): the first key or
// click makes the audio context, so that the first priority-1 call is heard.
/** X, one of the console's keys (app.js): the newest alert not yet acknowledged. */
// Chosen when X is pressed, not when it acts: an alert that comes in the moment X waits (keys.js) is never
// acknowledged unseen. The alert the keyboard is on, else the newest then shown.
export function alertForKey() {
  const focused = document.activeElement?.closest?.("#alert-list li.alert:not(.acked)");
  return focused || unacked()[0] || null;
}

function unlock() { if (!POPPED) context(); }

function wire() {
  document.addEventListener("keydown", unlock, { once: true, capture: true });
  document.addEventListener("pointerdown", unlock, { once: true, capture: true });
  setMuted(localStorage.getItem(MUTED) === "yes");
  byId("alert-mute").addEventListener("click", () => setMuted(localStorage.getItem(MUTED) !== "yes"));
  byId("alert-ack-all").addEventListener("click", () => { for (const li of unacked()) acknowledge(li); });
  byId("alert-count").addEventListener("click", () => (unacked()[0]?.querySelector(".alert-ack") || byId("alert-list")).focus());
  count();
}
wire();
