// The queue (incidents waiting for units, most urgent first) and the active incidents, with their ages.
import { state, $, esc, api, fmt, hhmm, alertLine } from "./common.js";
import { incidentMarker, dropIncidentMarker } from "./map.js";
import { select } from "./incident.js";
import { alerted, resolve } from "./alerts.js";

// Seconds from call to dispatch before a waiting incident turns amber, then red (priority 1: NFPA's 60 s).
const TARGET_S = { 1: 60, 2: 90, 3: 180, 4: 600 };


export async function loadQueue() {
  const [queue, open] = await Promise.all([api("/api/queue"), api("/api/incidents")]);
  // The queue is the service's: every incident waiting for units, those with some units on it but short too
  // (its count is the queue's), each with what the open list knows of its units.
  const byId = new Map(open.map((i) => [i.id, i]));
  state.queue = queue.items.map((q) => ({ ...byId.get(q.id), ...q }));
  const openIds = new Set(open.map((i) => i.id));
  for (const id of [...state.markers.keys()]) {  // closed or cancelled: off the map
    if (!openIds.has(id)) { dropIncidentMarker(id); state.incidents.delete(id); }
  }
  for (const item of open) {
    // Said once per incident (alerts.js), and folded once the place is confirmed.
    if (item.needs_location) alertLine("needs location", { incident: item.id, cause: `location:${item.id}`, floor: true });
    else if (alerted(`location:${item.id}`)) resolve(`location:${item.id}`, "location confirmed");
    state.incidents.set(item.id, item); incidentMarker(item);
  }
  state.active = open.filter((i) => !state.queue.some((q) => q.id === i.id));
  renderQueue();
}

function age(receivedAt) { return Math.max(0, (Date.now() - Date.parse(receivedAt)) / 1000); }

// Each list is a listbox for the keyboard: one Tab stop (the selected incident, else the first), arrows move
// within it, Enter or Space selects. Drawn anew on every change, so the focus is put back where it was.
// The incident in words, and its age in a column of its own beside them: never run together ("#1187 0:04").
function item(i, level, text) {
  const selected = i.id === state.selected;
  return `<li role="option" aria-selected="${selected}" tabindex="-1" class="p${i.priority} ${selected ? "selected" : ""}"
      data-id="${i.id}"><span class="what">${text}</span> ${level}</li>`;
}

// An exercise incident (a drill, simulated traffic) says so first, before its priority: never taken for a real call.
const exercise = (i) => (i.exercise ? '<span class="exercise-badge">EXERCISE</span> ' : "");

let drawnSelected = null;
const lists = () => [$("queue-list"), $("active-list")];
// The incident's item, in whichever list it is now.
const itemOf = (id) => (id == null ? null
  : lists().map((list) => list.querySelector(`li[data-id="${id}"]`)).find(Boolean) || null);

function draw(list, items, label) {
  list.innerHTML = items.join("");
  if (items.length) list.setAttribute("role", "listbox"); else list.removeAttribute("role");  // no empty listbox
  list.setAttribute("aria-label", label);
  const stop = list.querySelector(`li[data-id="${state.selected}"]`) || list.firstElementChild;
  if (stop) stop.tabIndex = 0;
}

// The keyboard on `li`: the one Tab stop of its list.
function focusItem(li) {
  for (const other of li.parentElement.children) other.tabIndex = -1;
  li.tabIndex = 0;
  li.focus();
}

/** After J, K or A: the keyboard on the selected incident's item, wherever it is now (an incident assigned goes
 * from the queue to the active list), so that the focus and the panel show the same incident. */
export function focusSelected() {
  const li = itemOf(state.selected);
  if (li) focusItem(li);
}

export function renderQueue() {
  const moved = state.selected !== drawnSelected;
  drawnSelected = state.selected;
  // The focus stays on its incident, whichever list it is in now, or follows the selection when it moved; an
  // item gone (closed) gives it to the selected one, else to the list's first.
  const had = lists().find((list) => list.contains(document.activeElement));
  const focused = had ? document.activeElement.dataset.id : null;
  $("queue-count").textContent = `(${state.queue.length})`;
  $("active-count").textContent = `(${(state.active || []).length})`;
  draw($("active-list"), (state.active || []).map((i) => item(i,
    `<span class="age" data-received="${esc(i.received_at)}" data-target="86400">${fmt(age(i.received_at))}</span>`,
    `${exercise(i)}<strong>P${i.priority} ${esc(i.type_code)}</strong> #${i.id} · ${esc(i.status.replace(/_/g, " "))}
      · ${i.units.length} unit${i.units.length === 1 ? "" : "s"}${i.units_missing ? ` <span class="flag">⚑ ${i.units_missing} short</span>` : ""}<br>
      ${esc(i.address_label || "location?")}`)), "Active incidents");
  draw($("queue-list"), state.queue.map((i) => {
    const seconds = age(i.received_at), target = TARGET_S[i.priority] || 300;
    const level = seconds >= target ? "red" : seconds >= target * 0.75 ? "amber" : "";
    return item(i, `<span class="age ${level}" data-received="${esc(i.received_at)}" data-target="${target}">${fmt(seconds)}</span>`,
      `${exercise(i)}<strong>P${i.priority} ${esc(i.type_code)}</strong> #${i.id}${{ matcher: i.leased_by ? " · matching" : "", units: " · waiting for units", dispatcher: " · for a dispatcher" }[i.waiting_for] ?? ""}${i.units?.length ? ` · ${i.units.length} on it` : ""}${i.units_missing ? ` <span class="flag">⚑ ${i.units_missing} short</span>` : ""}<br>
      ${esc(i.address_label || "location?")}${i.needs_location ? ' <span class="flag">⚑ needs location</span>' : ""}`);
  }), "Pending queue");
  if (!had) return;
  const to = (moved && itemOf(state.selected)) || itemOf(focused) || itemOf(state.selected) || had.firstElementChild
    || lists().map((list) => list.firstElementChild).find(Boolean);
  if (to) focusItem(to);
}

export function tickAges() {
  for (const el of document.querySelectorAll(".age[data-received]")) {
    const seconds = age(el.dataset.received), target = Number(el.dataset.target);
    el.textContent = fmt(seconds);
    el.className = `age ${seconds >= target ? "red" : seconds >= target * 0.75 ? "amber" : ""}`;
  }
  $("clock").textContent = hhmm(Date.now(), { seconds: true });
}

// J and K walk the queue: the calls waiting, most urgent first. From an incident not in it (an active one, one
// found), J goes to the queue's first and K to its last; with nothing waiting they walk the active incidents.
export function move(step) {
  const list = state.queue.length ? state.queue : (state.active || []);
  if (!list.length) return null;
  const at = list.findIndex((i) => i.id === state.selected);
  const next = at < 0 ? list[step > 0 ? 0 : list.length - 1] : list[Math.max(0, Math.min(list.length - 1, at + step))];
  return next.id === state.selected ? null : select(next.id);
}

function keys(e) {
  const li = e.target.closest("li[data-id]");
  if (!li) return;
  if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(Number(li.dataset.id)); return; }
  const items = [...e.currentTarget.children];
  const to = { ArrowDown: items.indexOf(li) + 1, ArrowUp: items.indexOf(li) - 1, Home: 0, End: items.length - 1 }[e.key];
  if (to === undefined || !items[to]) return;
  e.preventDefault();
  li.tabIndex = -1; items[to].tabIndex = 0; items[to].focus();
}

export function setupQueue() {
  for (const list of ["queue-list", "active-list"]) {
    $(list).addEventListener("click", (e) => { const li = e.target.closest("li[data-id]"); if (li) select(Number(li.dataset.id)); });
    $(list).addEventListener("keydown", keys);
  }
}
