// The dispatcher console: the queue, the map, the incident, its recommendations, the units, live.
// Everything comes from this service (REST for state, /ws/console for changes); no request leaves it.
// Modules by view: common.js (state, API), map.js, queue.js, incident.js (the selected incident), units.js (the
// unit board), live.js (the feed), callform.js and calltake.js (the new-call form), history.js (the caller's and
// the place's history, and how a suspected duplicate reads), talk.js (words with the crews), search.js (Find,
// incidents open and closed), roles.js (what the signed-in role may do).
import { state, $, api, signOut } from "./common.js";
import { renderUnits, setupUnits } from "./units.js";
import "./popout.js";
import { drawMap, unitMarker, drawRoute, MOVING } from "./map.js";
import { loadQueue, tickAges, move, setupQueue } from "./queue.js";
import { assignTop, focusNote } from "./incident.js";
import { connect } from "./live.js";
import { openCall, setupCall } from "./callform.js";
import { startTalk, openTalkFromKeyboard, onUnreadChange } from "./talk.js";
import { openFind, setupFind } from "./search.js";
import { setRole, may } from "./roles.js";

async function loadUnits() {
  for (const unit of await api("/api/units")) {
    state.units.set(unit.id, { ...unit, since: Date.parse(unit.status_changed_at) || Date.now() });
    unitMarker(unit);
    if (MOVING.has(unit.status)) drawRoute(unit.id);
  }
  renderUnits();
}

document.addEventListener("keydown", (e) => {
  if ($("app").hidden || e.target.closest("input, textarea, select, dialog")) return;
  // A key whose work the role may not do does nothing (its control is hidden too): no request the server refuses.
  if ((e.key === "n" || e.key === "N") && may("floor")) { e.preventDefault(); openCall(); }
  else if (e.key === "j") move(1);
  else if (e.key === "k") move(-1);
  else if ((e.key === "a" || e.key === "A") && may("dispatcher")) assignTop();
  else if ((e.key === "o" || e.key === "O") && may("floor")) { e.preventDefault(); focusNote(); }
  else if ((e.key === "m" || e.key === "M") && may("dispatcher")) { e.preventDefault(); openTalkFromKeyboard(); }
  else if (e.key === "/") { e.preventDefault(); openFind(); }
});

async function start() {
  const me = await api("/api/me");
  $("who").textContent = `${me.username} (${me.role})`;
  setRole(me.role);
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
setupCall();
setupUnits();
setupQueue();
setupFind();
startTalk();
onUnreadChange(renderUnits);
if (state.token) start().catch(() => signOut()); else $("login").hidden = false;
