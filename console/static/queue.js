// The queue (incidents waiting for units, most urgent first) and the active incidents, with their ages.
import { state, $, esc, api, fmt, alertLine } from "./common.js";
import { incidentMarker, dropIncidentMarker } from "./map.js";
import { select } from "./incident.js";

// Seconds from call to dispatch before a waiting incident turns amber, then red (priority 1: NFPA's 60 s).
const TARGET_S = { 1: 60, 2: 90, 3: 180, 4: 600 };

export async function loadQueue() {
  const [queue, open] = await Promise.all([api("/api/queue"), api("/api/incidents")]);
  state.queue = queue.items.filter((i) => i.status === "pending" || i.status === "unconfirmed");
  const openIds = new Set(open.map((i) => i.id));
  for (const id of [...state.markers.keys()]) {  // closed or cancelled: off the map
    if (!openIds.has(id)) { dropIncidentMarker(id); state.incidents.delete(id); }
  }
  for (const item of open) {
    if (item.needs_location && !state.incidents.has(item.id)) alertLine("needs location", { incident: item.id });
    state.incidents.set(item.id, item); incidentMarker(item);
  }
  state.active = open.filter((i) => !state.queue.some((q) => q.id === i.id));
  renderQueue();
}

function age(receivedAt) { return Math.max(0, (Date.now() - Date.parse(receivedAt)) / 1000); }

export function renderQueue() {
  $("queue-count").textContent = `(${state.queue.length})`;
  $("active-count").textContent = `(${(state.active || []).length})`;
  $("active-list").innerHTML = (state.active || []).map((i) => `<li class="p${i.priority} ${i.id === state.selected ? "selected" : ""}" data-id="${i.id}">
      <span class="age" data-received="${esc(i.received_at)}" data-target="86400">${fmt(age(i.received_at))}</span>
      <strong>P${i.priority} ${esc(i.type_code)}</strong> #${i.id} · ${esc(i.status.replace(/_/g, " "))}
      · ${i.units.length} unit${i.units.length === 1 ? "" : "s"}${i.units_missing ? ` <span class="flag">⚑ ${i.units_missing} short</span>` : ""}<br>
      ${esc(i.address_label || "location?")}</li>`).join("");
  $("queue-list").innerHTML = state.queue.map((i) => {
    const seconds = age(i.received_at), target = TARGET_S[i.priority] || 300;
    const level = seconds >= target ? "red" : seconds >= target * 0.75 ? "amber" : "";
    return `<li class="p${i.priority} ${i.id === state.selected ? "selected" : ""}" data-id="${i.id}">
      <span class="age ${level}" data-received="${esc(i.received_at)}" data-target="${target}">${fmt(seconds)}</span>
      <strong>P${i.priority} ${esc(i.type_code)}</strong> #${i.id}${{ matcher: i.leased_by ? " · matching" : "", units: " · waiting for units", dispatcher: " · for a dispatcher" }[i.waiting_for] ?? ""}<br>
      ${esc(i.address_label || "location?")}${i.needs_location ? ' <span class="flag">⚑ needs location</span>' : ""}</li>`;
  }).join("");
}

export function tickAges() {
  for (const el of document.querySelectorAll(".age[data-received]")) {
    const seconds = age(el.dataset.received), target = Number(el.dataset.target);
    el.textContent = fmt(seconds);
    el.className = `age ${seconds >= target ? "red" : seconds >= target * 0.75 ? "amber" : ""}`;
  }
  $("clock").textContent = new Date().toLocaleTimeString();
}

export function move(step) {
  if (!state.queue.length) return;
  const at = state.queue.findIndex((i) => i.id === state.selected);
  const next = state.queue[Math.max(0, Math.min(state.queue.length - 1, at + step))] || state.queue[0];
  select(next.id);
}

export function setupQueue() {
  for (const list of ["queue-list", "active-list"]) {
    $(list).addEventListener("click", (e) => { const li = e.target.closest("li[data-id]"); if (li) select(Number(li.dataset.id)); });
  }
}
