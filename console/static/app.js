// The dispatcher console: the queue, the map, the incident, its recommendations, the units, live.
// Everything comes from this service (REST for state, /ws/console for changes); no request leaves it.
// Modules by view: common.js (state, API), map.js, queue.js, incident.js (the selected incident), units.js (the
// unit board), live.js (the feed), callform.js and calltake.js (the new-call form), history.js (the caller's and
// the place's history, and how a suspected duplicate reads), talk.js (words with the crews), search.js (Find,
// incidents open and closed), roles.js (what the signed-in role may do), keys.js (the console's keys).
import { state, $, api, signOut } from "./common.js";
import { renderUnits, setupUnits } from "./units.js";
import "./popout.js";
import { drawMap, unitMarker, drawRoute, MOVING } from "./map.js";
import { loadQueue, tickAges, setupQueue } from "./queue.js";
import { select } from "./incident.js";
import { connect } from "./live.js";
import { setupCall } from "./callform.js";
import { startTalk, onUnreadChange } from "./talk.js";
import { setupFind } from "./search.js";
import { setRole } from "./roles.js";
import { setupKeys } from "./keys.js";

async function loadUnits() {
  for (const unit of await api("/api/units")) {
    state.units.set(unit.id, { ...unit, since: Date.parse(unit.status_changed_at) || Date.now() });
    unitMarker(unit);
    if (MOVING.has(unit.status)) drawRoute(unit.id);
  }
  renderUnits();
}

async function start() {
  const me = await api("/api/me");
  $("who").textContent = `${me.username} (${me.role})`;
  state.tz = me.time_zone;  // the centre's clock on every time the console shows
  state.distanceUnit = me.distance_unit;
  setRole(me.role);
  // On a narrow screen the keys' reminder may be cut short: the whole of it, the role's keys, on hover.
  const keys = document.querySelector(".bar .keys");
  if (keys) {
    keys.title = [...keys.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE || getComputedStyle(n).display !== "none")
      .map((n) => n.textContent).join("").trim();
  }
  $("login").hidden = true; $("app").hidden = false;
  await drawMap();
  await Promise.all([loadQueue(), loadUnits()]);
  connect();
  setInterval(tickAges, 1000);
  setInterval(renderUnits, 5000);
  // A link from elsewhere (the reports' timelines) names an incident to open: /console/#incident=123.
  const linked = /^#incident=(\d{1,12})$/.exec(location.hash)?.[1];
  if (linked) select(Number(linked));
}

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  state.token = $("token").value.trim();
  sessionStorage.setItem("dispatch-token", state.token);
  try { await start(); } catch (error) { if (error.message !== "401") $("login-error").textContent = error.message; }
});
setupKeys();
setupCall();
setupUnits();
setupQueue();
setupFind();
startTalk();
onUnreadChange(renderUnits);
if (state.token) start().catch(() => signOut()); else $("login").hidden = false;
