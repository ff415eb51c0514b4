// Words between the floor and the crews. A dispatcher writes to a unit's crew (POST /api/units/{id}/messages;
// the device acknowledges it, and consoles hear `unit.message.delivered`, or a `not_acknowledged` alert when it
// never does); crews write back (`unit.message`). One log per unit: the service keeps the conversation, read
// back (GET /api/units/{id}/messages) each time a unit's log is opened, and live events merged into it by id
// (a dispatcher's message by its outbox id, a crew's by its number in the conversation), never twice.
import { state, $, api, hhmm, Refused } from "./common.js";

export const QUICK = ["Call dispatch", "Return to station", "Hold position", "Confirm your status", "Stand by"];
// A crew's message whose device time is older than its arrival by more than this was written offline: said so.
const OFFLINE_MS = 60_000;
// A shift's worth per unit; older lines go, so that a console left open for days stays light.
const KEEP = 300;
const HISTORY = 100;  // messages read back when a log opens (the newest)
const talks = new Map();  // unit id → { entries: [...], unread: n, unreadSince: ms, loading, loadError }
let shown = null;         // the unit whose log the dialog shows
let opener = null;        // where the keyboard was before the dialog, to go back there on close
const listeners = [];

const sign = (unitId) => state.units.get(unitId)?.call_sign ?? `unit ${unitId}`;
function talk(unitId) {
  if (!talks.has(unitId)) talks.set(unitId, { entries: [], unread: 0, unreadSince: 0 });
  return talks.get(unitId);
}
function add(log, entry) { log.entries.push(entry); if (log.entries.length > KEEP) log.entries.shift(); }
const sameMessage = (a, b) => a.kind === b.kind && (a.kind === "crew" ? a.entry === b.entry : a.id === b.id);
const deliveredState = (ms) => `delivered ${hhmm(ms)}`;
export const unreadOf = (unitId) => talks.get(unitId)?.unread || 0;
export function onUnreadChange(fn) { listeners.push(fn); }
const isOpen = () => $("talk-dialog").open;

function changed(unitId) {
  for (const fn of listeners) fn();
  const total = [...talks.values()].reduce((n, t) => n + t.unread, 0);
  $("talk-unread").hidden = !total;
  $("talk-unread").textContent = `✉ ${total} new message${total === 1 ? "" : "s"}`;
  if (isOpen()) { fillUnits(); if (unitId === shown) renderLog(); }
}

// ---- what the socket brings -------------------------------------------------------------------------------
const offline = (arrived, at) => (at != null && arrived - at > OFFLINE_MS ? at : null);

export function crewWrote(m) {
  const arrived = m.sent_at ?? Date.now();
  const log = talk(m.unit_id);
  if (m.id != null && log.entries.some((e) => e.kind === "crew" && e.entry === m.id)) return;  // read back already
  add(log, { kind: "crew", entry: m.id, text: m.text, at: arrived, offlineAt: offline(arrived, m.at) });
  if (!(isOpen() && shown === m.unit_id && document.hasFocus())) {
    if (!log.unread) log.unreadSince = arrived;
    log.unread += 1;
  }
  $("talk-announce").textContent = `Message from ${sign(m.unit_id)}: ${m.text}`;
  changed(m.unit_id);
}

// A dispatcher's message, from this console's answer or any console's `unit.message.sent`: one entry by its id.
function dispatched(unitId, fields) {
  const log = talk(unitId);
  const entry = log.entries.find((e) => e.id === fields.id);
  if (entry) Object.assign(entry, { from: fields.from, text: fields.text });
  else add(log, { kind: "dispatch", state: "sent", ...fields, at: fields.at ?? Date.now() });
  changed(unitId);
}
export function dispatchWrote(m) { dispatched(m.unit_id, { id: m.id, text: m.text, from: m.from, at: m.sent_at }); }

export function notAcknowledged(m) {
  const entry = talks.get(m.unit_id)?.entries.find((e) => e.kind === "dispatch" && e.id === m.message_id);
  if (!entry || entry.deliveredAt) return;
  entry.state = "not acknowledged: the crew may not have it";
  changed(m.unit_id);
}

// The crew's device acknowledged a dispatcher's message (`unit.message.delivered`).
export function delivered(m) {
  const entry = talks.get(m.unit_id)?.entries.find((e) => e.kind === "dispatch" && e.id === m.id);
  if (!entry) return;  // not in this console's log: read back with its mark when the log opens
  entry.deliveredAt = m.delivered_at ?? Date.now();
  entry.state = deliveredState(entry.deliveredAt);
  changed(m.unit_id);
}

// ---- the conversation as the service keeps it ---------------------------------------------------------------
function fromHistory(m) {
  const at = Date.parse(m.at);
  if (m.direction === "from_crew") {
    return { kind: "crew", entry: m.id, text: m.text, at,
      offlineAt: offline(at, m.device_at ? Date.parse(m.device_at) : null) };
  }
  const deliveredAt = m.delivered_at ? Date.parse(m.delivered_at) : null;
  return { kind: "dispatch", id: m.message_id, from: m.from, text: m.text, at, deliveredAt,
    state: deliveredAt ? deliveredState(deliveredAt) : "sent" };
}

// The newest of the unit's conversation, merged with what this console heard: an entry it has keeps its place
// and takes the service's delivery mark; the rest join in time order.
async function load(unitId) {
  const log = talk(unitId);
  log.loading = true;
  try {
    const page = await api(`/api/units/${unitId}/messages?limit=${HISTORY}`);
    for (const item of page.messages.map(fromHistory)) {
      const known = log.entries.find((e) => sameMessage(e, item));
      if (!known) log.entries.push(item);
      else if (item.deliveredAt && !known.deliveredAt) Object.assign(known, { deliveredAt: item.deliveredAt, state: item.state });
    }
    log.entries.sort((a, b) => a.at - b.at);
    log.entries.splice(0, Math.max(0, log.entries.length - KEEP));
    log.loadError = null;
  } catch (error) {
    if (error.message === "401") return;  // signed out: the login says why
    log.loadError = error instanceof Refused ? error.message : "no answer from the service";
  } finally {
    log.loading = false;
  }
  if (isOpen() && shown === unitId) renderLog();
}

// ---- the dialog ---------------------------------------------------------------------------------------------
function entryLine(e) {
  const li = document.createElement("li");
  li.className = e.kind;
  const meta = document.createElement("p");
  meta.className = "meta";
  const who = document.createElement("strong");
  who.textContent = e.kind === "crew" ? sign(shown) : e.from || "Dispatch";
  const when = [e.kind === "crew" ? "" : ` to ${sign(shown)}`, ` · ${hhmm(e.at)}`,
    e.offlineAt ? ` · written offline at ${hhmm(e.offlineAt)}` : "", e.state ? ` · ${e.state}` : ""].join("");
  meta.append(who, when);
  const text = document.createElement("p");
  text.className = "text";
  text.textContent = e.text;
  li.append(meta, text);
  return li;
}

function renderLog() {
  const list = $("talk-log");
  const log = talk(shown);
  list.setAttribute("aria-label", `Conversation with ${sign(shown)}`);
  list.setAttribute("aria-busy", String(Boolean(log.loading)));  // being read back: more lines to come
  const notes = [];
  const note = (text) => {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = text;
    notes.push(li);
  };
  if (log.loadError) note(`Earlier messages could not be read (${log.loadError}): only those since this console opened.`);
  if (!log.entries.length) note(log.loading ? "Reading the conversation…" : "No messages with this crew yet.");
  list.replaceChildren(...notes, ...log.entries.map(entryLine));
  list.scrollTop = list.scrollHeight;  // the newest in view
}

function fillUnits() {
  const select = $("talk-unit");
  select.replaceChildren(...[...state.units.values()].map((u) => {
    const n = unreadOf(u.id);
    return new Option(`${u.call_sign}${n ? ` (${n} new)` : ""}`, String(u.id), false, u.id === shown);
  }));
}

function result(text, kind = "") { $("talk-result").textContent = text; $("talk-result").className = kind; }

function show(unitId) {
  shown = unitId;
  talk(unitId).unread = 0;
  $("talk-title").textContent = `Message crew · ${sign(unitId)}`;
  load(unitId);  // marks the log as being read before it is drawn
  fillUnits();
  renderLog();
  changed(unitId);
}

export function openTalk(unitId) {
  if (!isOpen()) opener = document.activeElement;
  result("");
  $("talk-text").removeAttribute("aria-invalid");
  $("talk-dialog").show();  // not modal: the board and the map stay in reach
  show(unitId);
  $("talk-text").focus();
}

// The shortcut: the crew that has waited longest for a reading, else the one last talked to, else the first unit.
export function openTalkFromKeyboard() {
  const waiting = [...talks.entries()].filter(([, t]) => t.unread).sort(([, a], [, b]) => a.unreadSince - b.unreadSince);
  const unitId = waiting[0]?.[0] ?? (state.units.has(shown) ? shown : state.units.keys().next().value);
  if (unitId != null) openTalk(unitId);
}

export function closeTalk() {
  $("talk-dialog").close();
  if (opener?.isConnected) opener.focus();
  opener = null;
}

async function send(words) {
  const text = String(words).trim();
  const input = $("talk-text");
  if (!text) {
    input.setAttribute("aria-invalid", "true");
    result("Empty message: write something before sending.", "error");
    input.focus();
    return;
  }
  input.removeAttribute("aria-invalid");
  const unitId = shown;
  result(`Sending to ${sign(unitId)}…`);
  try {
    const sent = await api(`/api/units/${unitId}/messages`, { method: "POST", body: JSON.stringify({ text }) });
    dispatched(unitId, { id: sent.id, text: sent.text, from: sent.from });
    if (input.value.trim() === text) input.value = "";
    result(`Sent to ${sign(unitId)}.`, "ok");
  } catch (error) {
    if (error.message === "401") return;  // signed out: the login says why
    // Refused by the server, in its words; or no answer at all, which may mean it was not sent: try again.
    result(error instanceof Refused ? `Refused: ${error.message}`
      : "Not sent: no answer from the service (check the connection) — try again.", "error");
  }
}

export function startTalk() {
  $("talk-quick").replaceChildren(...QUICK.map((words) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = words;
    button.addEventListener("click", () => send(words));
    return button;
  }));
  $("talk-form").addEventListener("submit", (e) => { e.preventDefault(); send($("talk-text").value); });
  $("talk-unit").addEventListener("change", () => show(Number($("talk-unit").value)));
  $("talk-close").addEventListener("click", closeTalk);
  $("talk-dialog").addEventListener("keydown", (e) => { if (e.key === "Escape") { e.preventDefault(); closeTalk(); } });
  $("talk-unread").addEventListener("click", openTalkFromKeyboard);
  // Seen only when the dispatcher can see it: back in this window, the shown unit's messages are read.
  window.addEventListener("focus", () => { if (isOpen() && unreadOf(shown)) show(shown); });
}
