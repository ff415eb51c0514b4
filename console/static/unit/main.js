// The crew's device: sign in with the unit's token, then the link, the job, the statuses, the position.
import { state, set, subscribe, saveToken, saveTheme, forget, setCentre } from "./store.js";
import { connect, disconnect, onMessage } from "./socket.js";
import { handle } from "./messages.js";
import { renderJob, tick } from "./assignment.js";
import { renderStatus, acknowledge, markStatus } from "./status.js";
import { confirmTap, renderUnitStatus } from "./guard.js";
import { startPosition } from "./position.js";
import { unlockAudio } from "./alert.js";
import { startMap, loadLayers, updateMap } from "./map.js";
import { renderTalk, startTalk } from "./talk.js";
import { refresh } from "./queue.js";
import { renderStandby, startStandby } from "./standby.js";
import { registerWorker, forgetHeld } from "./offline.js";
import { startJobs } from "./jobs.js";

const $ = (id) => document.getElementById(id);
const CONN = { connected: "connected", reconnecting: "reconnecting…", offline: "offline",
  replaced: "signed in on another device" };
const GPS = { waiting: "locating…", on: "GPS on", refused: "Location refused: the dispatch centre cannot see where this unit is. Everything else works.",
  unavailable: "No GPS fix: position is not being sent." };

async function api(path) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${state.token}` } });
  if (!response.ok) throw Object.assign(new Error(`${response.status}`), { status: response.status });
  return response.json();
}

function render(s) {
  document.documentElement.dataset.theme = s.theme;
  $("theme").textContent = s.theme === "night" ? "Day theme" : "Night theme";
  $("login").hidden = Boolean(s.token);
  $("app").hidden = !s.token;
  if (!s.token) return;
  $("unit-name").textContent = s.name || (s.unitId ? `Unit ${s.unitId}` : "Unit");
  $("conn").dataset.state = s.conn;
  $("conn").textContent = CONN[s.conn];
  $("gps").dataset.state = s.gps;
  $("gps").textContent = GPS[s.gps];
  $("notice").hidden = !s.notice;
  $("notice").className = `notice ${s.notice?.kind || ""}`;
  $("notice").textContent = s.notice?.text || "";
  renderJob();
  renderStandby();
  $("idle").hidden = Boolean(s.job || s.standby);
  renderTalk();
  // What a press is about: the job's incident (the status names its assignment), else the unit itself.
  $("statuses-for").textContent = s.job ? `Status for incident #${s.job.incident_id}: ${$("job-type").textContent}`
    : "Status of the unit (no job)";
  markStatus($("statuses"), s.job, s.unitStatus);
  renderUnitStatus();
  updateMap();
}

// The token goes, and with it what the service worker kept of its answers.
function signOut() { forget(); forgetHeld(); }

let mapStarted = false;
async function start() {
  set({ conn: "reconnecting" });
  unlockAudio();
  if (!mapStarted) { mapStarted = true; startMap($("map")); }
  loadLayers(api); // beside /api/me, not after it: on a slow or hanging link the map does not wait for it too
  try {
    const me = await api("/api/me");
    if (me.role !== "unit") { signOut(); $("login-error").textContent = "That token is not a unit's device token."; return; }
    setCentre(me);
    set({ name: state.name || me.username, unitId: me.unit_id }); // the call sign once a welcome gave it
  } catch (error) {
    if (error.status === 401 || error.status === 403) { signOut(); $("login-error").textContent = "That token was not accepted (wrong, revoked or expired)."; return; }
    // The service is unreachable: the socket keeps trying, and the job kept on the device stays shown.
  }
  connect();
  startPosition();
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  $("login-error").textContent = "";
  saveToken($("token").value.trim());
  $("token").value = "";
  start();
});
// Signing in again means typing the token: a slip must not sign the crew out.
confirmTap($("sign-out"), "Tap again to sign out", () => { disconnect(); signOut(); });
$("theme").addEventListener("click", () => saveTheme(state.theme === "night" ? "day" : "night"));
$("ack").addEventListener("click", acknowledge);

onMessage(handle);
startTalk();
startStandby();
startJobs();
refresh();
renderStatus($("statuses"), state.job?.status);
subscribe(render);
setInterval(tick, 500);
setInterval(renderTalk, 30_000); // a message shown for a while says its age as it grows
if (state.token) start();
registerWorker();
