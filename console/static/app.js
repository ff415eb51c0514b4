// The dispatcher console: the queue, the map, the incident, its recommendations, the units, live.
// Everything comes from this service (REST for state, /ws/console for changes); no request leaves it.
// Modules by view: common.js (state, API), units.js (the unit board), talk.js (words with the crews), history.js
// (the caller's and the place's history in the call form, and how a suspected duplicate reads).
import { state, $, esc, api, signOut, fmt, alertLine } from "./common.js";
import { renderUnits, renderCrewsOn } from "./units.js";
import { setupCallForm, loadTypes, resetType, typeCode, leaveCall } from "./calltake.js";
import { duplicateText, flagList, showHistory, clearHistory } from "./history.js";
import { startTalk, crewWrote, dispatchWrote, notAcknowledged, delivered, openTalkFromKeyboard, onUnreadChange } from "./talk.js";

const PRIORITY_COLOR = { 1: "#d7263d", 2: "#f46036", 3: "#2e86ab", 4: "#6c757d" };
const STATUS_COLOR = { available: "#51cf66", returning: "#8ce99a", dispatched: "#f2a900", acknowledged: "#f2a900",
  en_route: "#74c0fc", on_scene: "#ff8787", transporting: "#da77f2", at_hospital: "#da77f2",
  out_of_service: "#6c757d" };
// Seconds from call to dispatch before a waiting incident turns amber, then red (priority 1: NFPA's 60 s).
const TARGET_S = { 1: 60, 2: 90, 3: 180, 4: 600 };


// ---- map ---------------------------------------------------------------------------------------------
let map;
async function drawMap() {
  map = L.map("map", { zoomControl: true, attributionControl: true, preferCanvas: true }).setView([47.14, 9.53], 12);
  const layers = await api("/api/map");
  map.attributionControl.setPrefix(false).addAttribution(esc(layers.attribution));
  L.geoJSON(layers.municipalities, { style: { color: "#495057", weight: 1, fill: false, dashArray: "4 4" },
    onEachFeature: (f, l) => l.bindTooltip(esc(f.properties.name), { sticky: true }) }).addTo(map);
  const weight = { motorway: 3, trunk: 3, primary: 2.5, secondary: 2, tertiary: 1.6 };
  L.geoJSON(layers.roads, { style: (f) => ({ color: weight[f.properties.h] ? "#adb5bd" : "#5c6670",
    weight: weight[f.properties.h] || 1, opacity: 0.8 }), interactive: false }).addTo(map);
  L.geoJSON(layers.stations, { pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 4, color: "#ced4da",
    weight: 1, fillOpacity: 0.3 }).bindTooltip(esc(f.properties.name)) }).addTo(map);
  const bounds = L.geoJSON(layers.municipalities).getBounds();
  if (bounds.isValid()) map.fitBounds(bounds);
}

function incidentMarker(incident) {
  if (incident.lat == null) return;
  let marker = state.markers.get(incident.id);
  const style = { radius: 8, color: "#fff", weight: 1, fillColor: PRIORITY_COLOR[incident.priority], fillOpacity: 0.9 };
  if (!marker) {
    marker = L.circleMarker([incident.lat, incident.lon], style).addTo(map).on("click", () => select(incident.id));
    state.markers.set(incident.id, marker);
  } else { marker.setStyle(style); marker.setLatLng([incident.lat, incident.lon]); }
  marker.bindTooltip(`P${incident.priority} ${esc(incident.type_code)} · ${esc(incident.address_label)}`);
}

// The route of each unit on its way to an incident, as the router has it.
const MOVING = new Set(["dispatched", "acknowledged", "en_route"]);
const routeLines = new Map();
async function drawRoute(unitId) {
  routeLines.get(unitId)?.remove();
  routeLines.delete(unitId);
  const unit = state.units.get(unitId);
  if (!unit || !MOVING.has(unit.status)) return;
  const found = await api(`/api/units/${unitId}/route`).catch(() => null);
  if (!found?.route) return;
  routeLines.set(unitId, L.polyline(found.route.coords, { color: "#74c0fc", weight: 3, opacity: 0.8, dashArray: "6 4" })
    .bindTooltip(`${esc(unit.call_sign)} → #${found.incident_id}, ${Math.round(found.route.seconds / 60)} min`).addTo(map));
}

function unitMarker(unit) {
  if (unit.lat == null) return;
  let marker = state.unitMarkers.get(unit.id);
  const style = { radius: 5, color: "#000", weight: 1, fillColor: STATUS_COLOR[unit.status] || "#fff", fillOpacity: 1 };
  if (!marker) { marker = L.circleMarker([unit.lat, unit.lon], style).addTo(map); state.unitMarkers.set(unit.id, marker); }
  else { marker.setLatLng([unit.lat, unit.lon]); marker.setStyle(style); }
  marker.bindTooltip(`${esc(unit.call_sign)} · ${esc(unit.status)}`);
}

// ---- queue ----------------------------------------------------------------------------------------------
async function loadQueue() {
  const [queue, open] = await Promise.all([api("/api/queue"), api("/api/incidents")]);
  state.queue = queue.items.filter((i) => i.status === "pending" || i.status === "unconfirmed");
  const openIds = new Set(open.map((i) => i.id));
  for (const [id, marker] of state.markers) {  // closed or cancelled: off the map
    if (!openIds.has(id)) { marker.remove(); state.markers.delete(id); state.incidents.delete(id); }
  }
  for (const item of open) {
    if (item.needs_location && !state.incidents.has(item.id)) alertLine(`incident ${item.id}: needs location`);
    state.incidents.set(item.id, item); incidentMarker(item);
  }
  state.active = open.filter((i) => !state.queue.some((q) => q.id === i.id));
  renderQueue();
}

function age(receivedAt) { return Math.max(0, (Date.now() - Date.parse(receivedAt)) / 1000); }

function renderQueue() {
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
      <strong>P${i.priority} ${esc(i.type_code)}</strong> #${i.id}${i.leased_by ? " · matching" : ""}<br>
      ${esc(i.address_label || "location?")}${i.needs_location ? ' <span class="flag">⚑ needs location</span>' : ""}</li>`;
  }).join("");
}

function tickAges() {
  for (const el of document.querySelectorAll(".age[data-received]")) {
    const seconds = age(el.dataset.received), target = Number(el.dataset.target);
    el.textContent = fmt(seconds);
    el.className = `age ${seconds >= target ? "red" : seconds >= target * 0.75 ? "amber" : ""}`;
  }
  $("clock").textContent = new Date().toLocaleTimeString();
}

// ---- incident and recommendations --------------------------------------------------------------------------
async function select(id) {
  state.selected = id;
  renderQueue();
  const [incident, recs] = await Promise.all([api(`/api/incidents/${id}`),
    api(`/api/incidents/${id}/recommendations`).catch(() => null), loadTypes()]);
  state.recs = recs;
  const h = incident.history || {};
  $("detail").innerHTML = `<h2>P${incident.priority} ${esc(incident.type_name)} <small>#${incident.id} · ${esc(incident.status)}</small></h2>
    <dl><dt>Where</dt><dd>${esc(incident.location.label || "unknown")} ${incident.location.needs_location ? '<span class="flag">⚑ needs location</span>' : ""}</dd>
    <dt>Caller</dt><dd>${esc(incident.caller?.caller_name || "")} ${esc(incident.caller?.callback_number || "")}</dd>
    <dt>Narrative</dt><dd>${esc(incident.narrative || "")}</dd>
    <dt>Premise</dt><dd>${h.premise_incidents || 0} incidents in ${h.history_months} months${h.repeat_address ? ' <span class="flag">⚑ repeat address</span>' : ""}
      ${flagList(h.flags)}</dd>
    <dt>Duplicates</dt><dd>${(incident.duplicates || []).map((d) => esc(duplicateText(d))).join("<br>") || "none"}</dd></dl>
    <h2>Recommended ${recs ? `<small>(${esc(recs.policy)}, ${esc(recs.mode)})</small>` : ""}</h2>
    <ul class="recs">${recs ? recs.picks.map((p) => `<li><span>${esc(p.capability)}: <strong>${esc(p.call_sign)}</strong></span>
      <span>${esc(p.reason)}</span></li>`).join("") + (recs.unfilled.length ? `<li class="warning">No unit for ${recs.unfilled.map((s) => `${s.count} ${esc(s.capability)}`).join(", ")}</li>` : "")
      : '<li class="muted">nothing to dispatch</li>'}</ul>
    ${recs && recs.picks.length ? '<button id="assign">Assign recommended (A)</button>' : ""}
    <h2>Units on it</h2><ul id="detail-units" class="recs"></ul>
    <h2>Timeline</h2><ul class="timeline">${(incident.events || []).map((e) => `<li>${new Date(e.at).toLocaleTimeString()} ${esc(e.kind)} ${esc(e.actor)}</li>`).join("")}</ul>`;
  $("assign")?.addEventListener("click", assignTop);
  renderCrewsOn();
}

async function assignTop() {
  if (!state.selected || !state.recs || !state.recs.picks.length) return;
  try {
    await api(`/api/incidents/${state.selected}/assign`, { method: "POST",
      body: JSON.stringify({ unit_ids: state.recs.picks.map((p) => p.unit_id) }) });
    await Promise.all([loadQueue(), select(state.selected)]);
  } catch (error) { alertLine(`assign failed: ${error.message}`); }
}

// ---- units ------------------------------------------------------------------------------------------------
async function loadUnits() {
  for (const unit of await api("/api/units")) {
    state.units.set(unit.id, { ...unit, since: Date.parse(unit.status_changed_at) || Date.now() });
    unitMarker(unit);
    if (MOVING.has(unit.status)) drawRoute(unit.id);
  }
  renderUnits();
}


// ---- live ------------------------------------------------------------------------------------------------
function connect() {
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/console`;
  const ws = new WebSocket(url, ["dispatch.v1", `bearer.${state.token}`]);
  state.ws = ws;
  $("conn").dataset.state = "connecting"; $("conn").textContent = "connecting…";
  ws.onopen = () => { state.retry = 0; $("conn").dataset.state = "live"; $("conn").textContent = "live"; };
  ws.onclose = () => {
    $("conn").dataset.state = "down"; $("conn").textContent = "reconnecting…";
    if (!state.token) return;
    const delay = Math.min(10000, 500 * 2 ** state.retry++);
    setTimeout(connect, delay);
  };
  ws.onmessage = (event) => onMessage(JSON.parse(event.data));
}

// A snapshot is the whole picture (on connect, and again when the server's own link to Redis was cut and
// changes were missed): it replaces the units and the queue, never adds to them.
function applySnapshot(m) {
  const units = new Map();
  for (const u of m.units) {
    const old = state.units.get(u.id);
    units.set(u.id, { ...old, ...u, since: old && old.status === u.status ? old.since : Date.now() });
  }
  for (const [id, marker] of state.unitMarkers) {
    if (!units.has(id)) { marker.remove(); state.unitMarkers.delete(id); }
  }
  for (const [id, line] of routeLines) { if (!units.has(id)) { line.remove(); routeLines.delete(id); } }
  const previous = state.units;
  state.units = units;
  for (const u of units.values()) {
    unitMarker(u);
    const old = previous.get(u.id);  // a route is asked for again only when the unit's work changed
    if (!old || old.status !== u.status || old.incident_id !== u.incident_id) drawRoute(u.id);
  }
  renderUnits();
  soon(loadQueue);  // the queue's details (type, address, age) come from the API, which replaces it too
}

let refresh = null;
function soon(fn) { clearTimeout(refresh); refresh = setTimeout(fn, 150); }  // many changes, one reload

function onMessage(m) {
  switch (m.type) {
    case "ping": state.ws.send(JSON.stringify({ type: "pong" })); break;
    case "snapshot": applySnapshot(m); break;
    case "positions":
      for (const [id, lat, lon] of m.units) { const u = state.units.get(id); if (u) { u.lat = lat; u.lon = lon; unitMarker(u); } }
      break;
    case "unit.status": {
      const u = state.units.get(m.unit_id);
      if (u) { Object.assign(u, { status: m.status, incident_id: m.incident_id ?? null, since: Date.now() }); unitMarker(u); renderUnits(); drawRoute(u.id); }
      break;
    }
    case "unit.assigned": {
      const u = state.units.get(m.unit_id);
      if (u) { Object.assign(u, { status: "dispatched", incident_id: m.incident_id, since: Date.now() }); unitMarker(u); renderUnits(); drawRoute(u.id); }
      break;
    }
    case "incident.created":
      if (m.repeat_address) alertLine(`incident ${m.incident_id}: repeat address`);
      if (m.duplicates?.length) alertLine(`incident ${m.incident_id}: possible duplicate of #${m.duplicates.join(", #")}`);
      soon(loadQueue);
      break;
    case "alert": {
      const about = [m.unit_id != null ? state.units.get(m.unit_id)?.call_sign ?? `unit ${m.unit_id}` : null,
        m.incident_id != null ? `incident ${m.incident_id}` : null].filter(Boolean).join(", ");
      alertLine(`${m.kind.replace(/_/g, " ")}: ${m.detail}${about ? ` (${about})` : ""}`);
      if (m.kind === "not_acknowledged") notAcknowledged(m);
      break;
    }
    case "unit.message": crewWrote(m); break;
    case "unit.message.sent": dispatchWrote(m); break;
    case "unit.message.delivered": delivered(m); break;
    case "incident.recommended": if (!m.complete) alertLine(`incident ${m.incident_id} waits: not every unit it needs is free`); soon(loadQueue); break;
    default:
      if (m.type.startsWith("incident.")) {
        soon(loadQueue);
        if (m.incident_id === state.selected) select(state.selected);
      }
  }
}

// ---- the call-taker form ----------------------------------------------------------------------------------
let suggestTimer = null;
async function openCall() {
  // A new call over a started one: it is thrown away only if the call-taker says so.
  if ($("call-dialog").open && !(await leaveCall())) { $("call-location").focus(); return; }
  await loadTypes();
  $("call-form").reset(); resetType(); $("call-warning").textContent = ""; $("call-located").textContent = ""; clearHistory();
  state.pinned = null;
  // Not modal: the map stays usable, so the call-taker can drag the pin to where the caller is.
  $("call-dialog").show();
  $("call-location").focus();
}

function closeCall() {
  $("call-dialog").close();
  if (state.pin) { state.pin.remove(); state.pin = null; }
}

function callBody() {
  const body = { channel: "phone", location_text: $("call-location").value || null, type_code: typeCode(),
    caller_number: $("call-number").value || null, caller_name: $("call-name").value || null,
    narrative: $("call-narrative").value || null };
  if (state.pinned) { body.lat = state.pinned.lat; body.lon = state.pinned.lng; }
  return body;
}

let checkTimer = null, checks = 0;
function checkSoon() { clearTimeout(checkTimer); checkTimer = setTimeout(checkCall, 300); }
// A number half typed is left out of the check (the service would refuse the whole check for it).
const PHONE = /^\+?[0-9][0-9 ()./-]{2,30}$/;
async function checkCall() {
  const placed = $("call-location").value.trim() || state.pinned, number = $("call-number").value.trim();
  if (!$("call-dialog").open || (!placed && !PHONE.test(number))) return;
  const body = { ...callBody(), caller_number: PHONE.test(number) ? number : null };
  const mine = ++checks;  // an answer overtaken by a later check is dropped, not shown over it
  const seen = await api("/api/calls/check", { method: "POST", body: JSON.stringify(body) }).catch(() => null);
  if (!seen || mine !== checks) return;
  const where = seen.location;
  showHistory(seen.history, { number: body.caller_number, located: where.lat != null });
  // The place's flags and its repeat calls are in the history below the form (hazards in red).
  $("call-warning").textContent = seen.duplicates.length
    ? `Possible duplicate of ${seen.duplicates.map(duplicateText).join(", ")}` : "";
  if (!placed) return;
  $("call-located").textContent = where.label ? `→ ${where.label} (${where.match}, ${Math.round(where.confidence * 100)} %)`
    + (where.needs_location ? " — not sure: drag the pin" : "") : "not found: drag the pin to the place";
  if (where.lat != null && !state.pinned) {
    if (!state.pin) {
      state.pin = L.marker([where.lat, where.lon], { draggable: true, title: "Drag to the caller's place" }).addTo(map);
      state.pin.on("dragend", () => { state.pinned = state.pin.getLatLng(); checkSoon(); });
    } else state.pin.setLatLng([where.lat, where.lon]);
    map.panTo([where.lat, where.lon]);
  }
}
async function suggest() {
  const q = $("call-location").value.trim();
  if (q.length < 3) return;
  const found = await api(`/api/geocode?q=${encodeURIComponent(q)}&limit=5`).catch(() => null);
  if (!found) return;
  $("call-suggestions").innerHTML = (found.candidates || []).map((c) => `<option value="${esc(c.label)}">`).join("");
  $("call-located").textContent = found.label ? `→ ${found.label} (${Math.round(found.confidence * 100)} %)` : "not found yet";
}
async function submitCall(event) {
  event.preventDefault();
  const body = callBody();
  try {
    const made = await api("/api/calls", { method: "POST", body: JSON.stringify(body),
      headers: { "Idempotency-Key": crypto.randomUUID() } });
    if (made.duplicates?.length) alertLine(`incident ${made.id}: possible duplicate of #${made.duplicates.map((d) => d.id).join(", #")}`);
    closeCall();
    await loadQueue();
    select(made.id);
  } catch (error) { $("call-warning").textContent = error.message; }
}

// ---- keyboard ------------------------------------------------------------------------------------------------
function move(step) {
  if (!state.queue.length) return;
  const at = state.queue.findIndex((i) => i.id === state.selected);
  const next = state.queue[Math.max(0, Math.min(state.queue.length - 1, at + step))] || state.queue[0];
  select(next.id);
}
document.addEventListener("keydown", (e) => {
  if ($("app").hidden || e.target.closest("input, textarea, select, dialog")) return;
  if (e.key === "n" || e.key === "N") { e.preventDefault(); openCall(); }
  else if (e.key === "j") move(1);
  else if (e.key === "k") move(-1);
  else if (e.key === "a" || e.key === "A") assignTop();
  else if (e.key === "m" || e.key === "M") { e.preventDefault(); openTalkFromKeyboard(); }
});

// ---- start ---------------------------------------------------------------------------------------------------
async function start() {
  const me = await api("/api/me");
  $("who").textContent = `${me.username} (${me.role})`;
  $("login").hidden = true; $("app").hidden = false;
  await drawMap();
  await Promise.all([loadQueue(), loadUnits()]);
  connect();
  setInterval(tickAges, 1000);
  setInterval(renderUnits, 5000);
}

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  state.token = $("token").value.trim();
  sessionStorage.setItem("dispatch-token", state.token);
  try { await start(); } catch (error) { if (error.message !== "401") $("login-error").textContent = error.message; }
});
$("call-form").addEventListener("submit", submitCall);
startTalk();
onUnreadChange(renderUnits);
for (const list of ["queue-list", "active-list"]) {
  $(list).addEventListener("click", (e) => { const li = e.target.closest("li[data-id]"); if (li) select(Number(li.dataset.id)); });
}
setupCallForm({ close: closeCall, changed: checkSoon });
$("call-location").addEventListener("input", () => {
  clearTimeout(suggestTimer); suggestTimer = setTimeout(suggest, 200); state.pinned = null; checkSoon(); });
$("call-number").addEventListener("input", checkSoon);
if (state.token) start().catch(() => signOut()); else $("login").hidden = false;
