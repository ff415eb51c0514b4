// The live feed (/ws/console): a snapshot on connect, then every change as it happens.
import { state, $, alertLine } from "./common.js";
import { feedAlert, incidentCreated, incidentServed } from "./alerts.js";
import { renderUnits } from "./units.js";
import { unitMarker, moveUnit, drawRoute, dropUnitsNotIn, MOVING } from "./map.js";
import { loadQueue } from "./queue.js";
import { select } from "./incident.js";
import { crewWrote, dispatchWrote, notAcknowledged, delivered } from "./talk.js";
import { OFF_INCIDENT } from "./unitstatus.js";
import { recsConcern, refreshRecs } from "./incident-recs.js";
import { forgetEtas } from "./incident-units.js";

export function connect() {
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
  dropUnitsNotIn(units);
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

const moved = new Map();  // unit id → its latest position not yet drawn
let moving = 0;
function moveUnits() {
  moving = 0;
  for (const [id, [lat, lon]] of moved) {
    const u = state.units.get(id);
    if (u && (u.lat !== lat || u.lon !== lon)) { u.lat = lat; u.lon = lon; moveUnit(u); }
  }
  moved.clear();
}

let refresh = null;
function soon(fn) { clearTimeout(refresh); refresh = setTimeout(fn, 150); }  // many changes, one reload
let recsAgain = null;  // the recommendations shown, asked again once a burst of unit changes is over
function recsFollow(m, status) {
  if (!recsConcern(m.unit_id, status)) return;
  clearTimeout(recsAgain);
  recsAgain = setTimeout(refreshRecs, 300);
}

// An incident that waits for units no one can send: said with what it lacks, and heard when it is a priority 1.
function waits(m) {
  if (m.complete || !m.missing?.length) return;
  const urgent = state.incidents.get(m.incident_id)?.priority === 1;
  alertLine(`no unit free for ${m.missing.join(", ")}`, { incident: m.incident_id, kind: "Waiting for units",
    level: urgent ? "urgent" : "warn", tone: urgent ? "escalation" : undefined });
}

const OVER = new Set(["incident.dispatched", "incident.cancelled", "incident.merged", "incident.closed"]);

function onMessage(m) {
  switch (m.type) {
    case "ping": state.ws.send(JSON.stringify({ type: "pong" })); break;
    case "snapshot": applySnapshot(m); break;
    case "positions":  // kept until the next frame: messages that arrive between two frames move markers once
      for (const [id, lat, lon] of m.units) moved.set(id, [lat, lon]);
      if (!moving) moving = requestAnimationFrame(moveUnits);
      break;
    case "unit.status": {
      // The message's incident is the one the change concerns: the one it leaves when the unit comes off it
      // (free again, or out of service), which the server's board then no longer holds for it.
      const u = state.units.get(m.unit_id);
      if (!u) break;
      const incident = OFF_INCIDENT.has(m.status) ? null : (m.incident_id ?? u.incident_id ?? null);
      if (u.status !== m.status) u.since = Date.now();
      Object.assign(u, { status: m.status, incident_id: incident });
      unitMarker(u); renderUnits(); drawRoute(u.id);
      recsFollow(m, m.status);
      break;
    }
    case "unit.reach": {  // its device stopped answering, or was heard from again
      const u = state.units.get(m.unit_id);
      if (u) { u.silent = m.silent; renderUnits(); }
      break;
    }
    case "unit.assigned": {
      incidentServed(m.incident_id, "dispatched");
      const u = state.units.get(m.unit_id);
      if (u) { Object.assign(u, { status: "dispatched", incident_id: m.incident_id, since: Date.now() }); unitMarker(u); renderUnits(); drawRoute(u.id); }
      if (m.incident_id !== state.selected) recsFollow(m, "dispatched");  // the selected one is drawn again whole
      break;
    }
    case "incident.created":
      incidentCreated(m);
      soon(loadQueue);
      break;
    case "alert": {
      feedAlert(m);
      if (m.kind === "not_acknowledged") notAcknowledged(m);
      break;
    }
    case "unit.message": crewWrote(m); break;
    case "unit.message.sent": dispatchWrote(m); break;
    case "unit.message.delivered": delivered(m); break;
    case "incident.recommended": waits(m); soon(loadQueue); break;
    case "incident.updated":  // a corrected place moves the drive there: its units' routes and ETAs follow
      for (const u of state.units.values()) if (u.incident_id === m.incident_id && MOVING.has(u.status)) drawRoute(u.id);
      forgetEtas(m.incident_id);
      soon(loadQueue);
      if (m.incident_id === state.selected) select(state.selected);
      break;
    default:
      if (OVER.has(m.type)) incidentServed(m.incident_id, m.type.slice("incident.".length));
      if (m.type.startsWith("incident.")) {
        soon(loadQueue);
        if (m.incident_id === state.selected) select(state.selected);
      }
  }
}
