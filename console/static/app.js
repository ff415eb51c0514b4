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
import { assignTop, focusNote, select } from "./incident.js";
import { connect } from "./live.js";
import { openCall, setupCall } from "./callform.js";
import { startTalk, openTalkFromKeyboard, onUnreadChange } from "./talk.js";
import { openFind, setupFind } from "./search.js";
import { setRole, may } from "./roles.js";
import { acknowledgeNewest } from "./alerts.js";

async function loadUnits() {
  for (const unit of await api("/api/units")) {
    state.units.set(unit.id, { ...unit, since: Date.parse(unit.status_changed_at) || Date.now() });
    unitMarker(unit);
    if (MOVING.has(unit.status)) drawRoute(unit.id);
  }
  renderUnits();
}

// Letters typed into a field that has just gone (a call taken, a dialog closed) are someone still typing: they
// must not become console keys (a new call, a note, an assignment). A console key counts only after a pause of a
// second in typing (typing that goes on where the field was included) or a click; keys pressed on the console
// alone (J J J) are not held up.
const TYPING_MS = 1000;
let typedAt = -Infinity;
// A click or a touch is a deliberate move to the console: typing is over.
document.addEventListener("pointerdown", () => { typedAt = -Infinity; }, { capture: true });
document.addEventListener("keydown", (e) => {
  const typingKey = e.key.length === 1 || e.key === "Enter" || e.key === "Backspace";
  if (e.target.closest("input, textarea, [contenteditable]")) {
    if (typingKey && !e.target.closest("#login")) typedAt = e.timeStamp;  // a token typed is not the console's
    return;
  }
  if ($("app").hidden || e.target.closest("select, dialog") || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.timeStamp - typedAt < TYPING_MS) { if (typingKey) typedAt = e.timeStamp; return; }
  // A key whose work the role may not do does nothing (its control is hidden too): no request the server refuses.
  if ((e.key === "n" || e.key === "N") && may("floor")) { e.preventDefault(); openCall(); }
  else if (e.key === "j") move(1);
  else if (e.key === "k") move(-1);
  else if ((e.key === "a" || e.key === "A") && may("dispatcher")) assignTop();
  else if ((e.key === "o" || e.key === "O") && may("floor")) { e.preventDefault(); focusNote(); }
  else if ((e.key === "m" || e.key === "M") && may("dispatcher")) { e.preventDefault(); openTalkFromKeyboard(); }
  else if (e.key === "/") { e.preventDefault(); openFind(); }
  else if (e.key === "x" || e.key === "X") { e.preventDefault(); acknowledgeNewest(); }
});

async function start() {
  const me = await api("/api/me");
  $("who").textContent = `${me.username} (${me.role})`;
  state.tz = me.time_zone;  // the centre's clock on every time the console shows
  state.distanceUnit = me.distance_unit;
  setRole(me.role);
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
setupCall();
setupUnits();
setupQueue();
setupFind();
startTalk();
onUnreadChange(renderUnits);
if (state.token) start().catch(() => signOut()); else $("login").hidden = false;
