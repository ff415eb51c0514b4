// The selected incident's panel: what is known of it, the units on it (incident-units.js), the units to send
// (incident-recs.js), correcting its place (relocate.js), notes, priority, cancel and close (incident-actions.js),
// and its log. The panel's frame is drawn once per incident, its parts filled in place as changes come, so a
// field being typed in or a focused button survives a live update. A closed or cancelled incident is shown
// read-only, and nothing is asked that only an open one answers (no recommendations: the server says 409).
import { state, $, esc, api, hhmm } from "./common.js";
import { loadTypes } from "./calltake.js";
import { duplicateText, flagList } from "./history.js";
import { renderQueue } from "./queue.js";
import { shareSelection } from "./popout.js";
import { centreOn } from "./map.js";
import { renderCrewsOn, onStoodDown, onCrews } from "./incident-units.js";
import { recsHtml, assignTop, assignOne, addUnitHtml, addUnit, fillUnitChoices, onAssigned, onRecs } from "./incident-recs.js";
import { actionsHtml, bindActions, timelineHtml, onChanged, focusNote, closeIncident } from "./incident-actions.js";
import { bindRelocate, showPin, dropPin, onRelocated } from "./relocate.js";

export { assignTop, focusNote };
const OPEN = new Set(["unconfirmed", "pending", "dispatched", "en_route", "on_scene"]);
const DISPATCHABLE = new Set(["pending", "dispatched", "en_route", "on_scene"]);
let frame = "";   // "id|mode" of the frame drawn
let recsShown = "";
let asked = 0;    // the latest select(): an older answer arriving later is dropped

export async function select(id) {
  const mine = ++asked;
  state.selected = id;
  shareSelection(id);  // the console's other windows (popout.js)
  renderQueue();
  // Recommendations only once the incident is known to be open now: what the queue or the panel last knew may
  // be a moment old (just closed), and the server would answer 409, which the browser logs as an error.
  const [incident] = await Promise.all([api(`/api/incidents/${id}`), loadTypes()]);
  const recs = DISPATCHABLE.has(incident.status)
    ? await api(`/api/incidents/${id}/recommendations`).catch(() => null) : null;
  if (mine !== asked) return incident;
  state.incident = incident;
  state.recs = recs;
  centreOn(incident);
  draw(incident, recs);
  return incident;
}

const reload = () => (state.selected ? select(state.selected) : null);
onStoodDown(reload); onAssigned(reload); onChanged(reload); onRelocated(reload); onCrews(hintClose);
onRecs((recs) => { fillRecs(recs); fillUnitChoices(); });

// Units were sent and every one has cleared, yet the incident is still open: closing it is what is left to do.
const SENT = new Set(["dispatched", "en_route", "on_scene"]);
function hintClose(working) {
  const hint = $("incident-hint");
  if (!hint || !state.incident) return;
  const done = working === 0 && SENT.has(state.incident.status);
  if (hint.hidden === !done) return;
  hint.hidden = !done;
  hint.querySelector("strong").textContent = `All units have cleared — close #${state.incident.id}?`;
}

// Laid out for a 1366×768 screen's panel (about 440 px high): the actions in one row under the title, the facts
// compact, the units on it and the recommendations' Assign next; long lists scroll in boxes of their own, and the
// log comes last.
function drawFrame(incident, mode) {
  const open = mode !== "closed";
  const dispatchable = mode === "dispatchable";
  $("detail").innerHTML = `<h2 id="incident-title"></h2>
    ${open ? actionsHtml(incident) : ""}
    <p id="incident-result" class="result" role="status"></p>
    <p id="incident-hint" class="warning close-hint" hidden><strong></strong>
      <button type="button" id="close-hint" data-needs="dispatcher">Close…</button></p>
    <dl id="incident-facts" class="facts"></dl>
    <h2 class="sub">Units on it</h2><ul id="detail-units" class="recs on-it" data-readonly="${open ? "no" : "yes"}"></ul>
    ${dispatchable ? `<h2 class="sub">Recommended</h2><div id="incident-recs"></div>${addUnitHtml()}` : ""}
    ${open ? "" : '<p id="incident-readonly" class="muted">Closed: read only.</p>'}
    <details id="timeline-box" open><summary><h2 class="sub">Timeline <small class="muted">newest first</small></h2></summary>
    <ol id="timeline" class="timeline" tabindex="0" aria-label="Timeline, newest first"></ol></details>`;
  recsShown = "";
  if (dispatchable) {
    $("incident-recs").addEventListener("click", (e) => {
      const one = e.target.closest("button.assign-one");
      if (one) assignOne(Number(one.dataset.unit), Number(one.dataset.from) || null);
      else if (e.target.closest("#assign")) assignTop();
    });
    $("add-unit").addEventListener("submit", addUnit);
    $("add-unit-sign").addEventListener("focus", fillUnitChoices);
  }
  if (open) { bindRelocate(); bindActions(); $("close-hint").addEventListener("click", closeIncident); }
}

// The facts, compact: what is empty is left out, the premise's history and duplicates only when there are some.
// Every call after the first, each caller with what they said: a second caller may know what the first did not.
function laterCalls(calls) {
  const later = (calls || []).slice(1);
  if (!later.length) return "";
  return `<dt>Further calls</dt><dd><ul class="calls">${later.map((c) => `<li>${esc(hhmm(Date.parse(c.received_at)))}
    ${esc([c.caller_name, c.caller_number].filter(Boolean).join(" ") || c.channel)}${c.narrative ? `: ${esc(c.narrative)}` : ""}</li>`).join("")}</ul></dd>`;
}

function factsHtml(incident) {
  const h = incident.history || {};
  const where = incident.location || {};
  const caller = [incident.caller?.caller_name, incident.caller?.callback_number].filter(Boolean).join(" ");
  const premise = h.premise_incidents || h.repeat_address || h.flags?.length;
  const duplicates = (incident.duplicates || []).map((d) => esc(duplicateText(d))).join("<br>");
  return `<dt>Where</dt><dd id="incident-where">${esc(where.label || "unknown")}${where.needs_location ? ' <span class="flag">⚑ needs location</span>' : ""}</dd>
    ${caller ? `<dt>Caller</dt><dd>${esc(caller)}</dd>` : ""}
    ${incident.narrative ? `<dt>Narrative</dt><dd class="narrative">${esc(incident.narrative)}</dd>` : ""}
    ${incident.answers?.length ? `<dt>Answers</dt><dd><ul class="answers">${incident.answers.map((a) =>
      `<li>${esc(a.question)} <strong>${esc(a.answer)}</strong></li>`).join("")}</ul></dd>` : ""}
    ${laterCalls(incident.calls)}
    ${incident.disposition ? `<dt>Disposition</dt><dd>${esc(incident.disposition.replace(/_/g, " "))}</dd>` : ""}
    ${premise ? `<dt>Premise</dt><dd>${h.premise_incidents || 0} incidents in ${h.history_months} months${h.repeat_address ? ' <span class="flag">⚑ repeat address</span>' : ""}
      ${flagList(h.flags)}</dd>` : ""}
    ${duplicates ? `<dt>Duplicates</dt><dd>${duplicates}</dd>` : ""}`;
}

// Drawn again only when it changed; the button that had the keyboard gets it back.
function fillRecs(recs) {
  const box = $("incident-recs");
  if (!box) return;
  const html = recsHtml(recs);
  if (html === recsShown) return;
  const focused = document.activeElement?.closest?.("#incident-recs button");
  const again = focused && (focused.id ? `#${focused.id}` : `button.assign-one[data-unit="${focused.dataset.unit}"]`);
  box.innerHTML = html;
  recsShown = html;
  if (again) (box.querySelector(again) || box.querySelector("button"))?.focus();
}

function draw(incident, recs) {
  const mode = !OPEN.has(incident.status) ? "closed" : DISPATCHABLE.has(incident.status) ? "dispatchable" : "open";
  if (frame !== `${incident.id}|${mode}`) { drawFrame(incident, mode); frame = `${incident.id}|${mode}`; }
  $("incident-title").innerHTML = `${incident.exercise ? '<span class="exercise-badge">EXERCISE</span> ' : ""}P${incident.priority} ${esc(incident.type_name)} <small>#${incident.id} · ${esc(incident.status.replace(/_/g, " "))}</small>`;
  $("incident-facts").innerHTML = factsHtml(incident);
  const priorityNow = $("reprioritise")?.querySelector(".sr-only");  // the row is kept: its words follow
  if (priorityNow) priorityNow.textContent = `now P${incident.priority}`;
  fillRecs(recs);
  $("timeline").innerHTML = timelineHtml(incident.events);
  $("detail-units").dataset.drawn = "";
  renderCrewsOn();
  fillUnitChoices();
  showPin(incident, mode !== "closed" && document.body.dataset.role !== "commander");
}

// Nothing selected any more (signed out, or the panel cleared by another view).
export function clearSelection() {
  state.selected = null; state.incident = null; state.recs = null; frame = "";
  dropPin();
  $("detail").innerHTML = '<p class="muted">Select an incident.</p>';
}
