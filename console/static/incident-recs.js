// Sending units: the matcher's pick for each slot of the plan and the next best behind it (ranked, each with its
// ETA and why it was not the pick), any of them sent with its own Assign button; "Assign recommended" (key A)
// sends the picks together. Any other unit is added by its call sign; a unit busy on another incident is taken
// from it (divert) only once the dispatcher has confirmed, told which incident it leaves.
import { state, $, esc, api, distance } from "./common.js";
import { ask } from "./ask.js";
import { loadQueue } from "./queue.js";

const FREE = new Set(["available", "returning"]);
// The server's divert rule (dispatch/matching/dispatching.py, manual_decision): a unit on its way to other work
// may be taken from it, and only from work of priority 3 or less urgent (MatchRules.divert_from_priority); one on
// scene, transporting, at hospital or out of service may not.
const DIVERTIBLE = new Set(["dispatched", "acknowledged", "en_route"]);
const DIVERT_FROM_PRIORITY = 3;
let afterAssign = () => {};
export function onAssigned(fn) { afterAssign = fn; }
let redraw = () => {};
export function onRecs(fn) { redraw = fn; }

// The selected incident's recommendations asked again and drawn: what the panel shows is what the server said a
// moment ago, and a unit in it may have been sent elsewhere, or have changed status, since. Null when none.
export async function refreshRecs() {
  const id = state.selected;
  if (!id || state.recs?.incident_id !== id) return null;
  const recs = await api(`/api/incidents/${id}/recommendations`).catch(() => null);
  if (state.selected !== id) return null;
  state.recs = recs;
  redraw(recs);
  return recs;
}

// Whether a unit's change may alter the recommendations shown: a unit in them changed, or one came free (it may
// be the better pick now).
export function recsConcern(unitId, status) {
  const recs = state.recs;
  if (!recs || recs.incident_id !== state.selected) return false;
  return FREE.has(status) || [...recs.picks, ...recs.alternatives].some((u) => u.unit_id === unitId);
}
const pickKey = (recs) => (recs?.picks || []).map((p) => `${p.unit_id}:${p.diverted_from ?? ""}`).join(",");

const minutes = (s) => (s == null ? "" : ` · ${(s / 60).toFixed(1)} min`);
const metres = (m) => (m == null ? "" : ` · ${distance(m)}`);
const say = (text) => { $("incident-result").textContent = text; };

function row(unit, capability, pick) {
  const leaves = unit.diverted_from != null ? ` · leaves #${unit.diverted_from}` : "";
  return `<li class="${pick ? "pick" : "alternative"}" data-unit="${unit.unit_id}">
    <span><strong>${esc(unit.call_sign)}</strong>${pick ? ' <span class="tag">pick</span>' : ""}${minutes(unit.eta_s)}${metres(unit.distance_m)}${esc(leaves)}
      <br><small class="muted">${esc(unit.reason || "")}</small></span>
    <button type="button" class="assign-one" data-needs="dispatcher" data-unit="${unit.unit_id}"
      data-from="${unit.diverted_from ?? ""}">${unit.diverted_from != null ? "Divert" : "Assign"}<span class="sr-only"> ${esc(unit.call_sign)} as ${esc(capability)}</span></button></li>`;
}

// The recommendations' list, slot by slot: the picks first, then the alternatives, best first.
export function recsHtml(recs) {
  if (!recs) return '<p class="muted">Nothing to dispatch.</p>';
  if (!recs.picks.length && !recs.alternatives.length && !recs.unfilled.length) {
    return '<p class="muted">Nothing more to send: every slot of the plan has a unit.</p>';
  }
  const slots = [...new Set([...recs.picks.map((p) => p.capability), ...recs.alternatives.map((a) => a.capability)])];
  const groups = slots.map((capability) => {
    const picks = recs.picks.filter((p) => p.capability === capability);
    const others = recs.alternatives.filter((a) => a.capability === capability);
    return `<li class="slot"><h3>${esc(capability)}</h3><ul class="recs">${picks.map((p) => row(p, capability, true)).join("")}
      ${others.map((a) => row(a, capability, false)).join("")}</ul></li>`;
  }).join("");
  const unfilled = recs.unfilled.length
    ? `<p class="warning">No unit for ${recs.unfilled.map((s) => `${s.count} ${esc(s.capability)}`).join(", ")}</p>` : "";
  // The button first, so that it is in sight however long the list: the list scrolls in its own box.
  return `<p class="recs-top">${recs.picks.length ? '<button id="assign" type="button" data-needs="dispatcher">Assign recommended (A)</button>' : ""}
    <small class="muted">${esc(recs.policy)}, ${esc(recs.mode)}</small></p>${unfilled}
    <ul class="slots" tabindex="0" aria-label="Recommended units, by slot">${groups}</ul>`;
}

// Sends units; a diversion says so (the server refuses to take a busy unit without it). True once sent.
async function send(unitIds, divert = false) {
  const id = state.selected;
  let done;
  try {
    done = await api(`/api/incidents/${id}/assign`, { method: "POST", body: JSON.stringify({ unit_ids: unitIds, divert }) });
  } catch (error) { say(`Assign failed: ${error.message}`); refreshRecs(); return false; }  // the panel follows
  const signs = done.assigned.map((u) => state.units.get(u)?.call_sign ?? `unit ${u}`);
  say(`Assigned ${signs.join(", ") || "nothing"} to #${id}${done.units_missing ? `; ${done.units_missing} still missing` : ""}.`);
  Promise.all([loadQueue(), afterAssign()]).catch(() => {});  // the panel and the queue follow
  return true;
}

// A diversion is confirmed with what it trades: both incidents' priorities, how far the unit is from this one, and
// the nearest free unit of its kind that could go instead (from the recommendations). The keyboard starts on
// Cancel; taking a unit from more urgent work for less urgent work asks for a tick of its own.
async function divertOk(unitId, sign, from) {
  const id = state.selected;
  const recs = state.recs?.incident_id === id ? state.recs : null;
  const rows = recs ? [...recs.picks, ...recs.alternatives] : [];
  const mine = rows.find((r) => r.unit_id === unitId);
  const was = state.incidents.get(from)?.priority
    ?? await api(`/api/incidents/${from}`).then((i) => i.priority).catch(() => null);
  const now = state.incident?.id === id ? state.incident.priority : state.incidents.get(id)?.priority;
  const free = rows.filter((r) => r.diverted_from == null && r.unit_id !== unitId && r.eta_s != null
    && (!mine || r.capability === mine.capability)).sort((a, b) => a.eta_s - b.eta_s)[0];
  const p = (n) => (n == null ? "" : `P${n} `);
  const eta = mine?.eta_s != null ? `${(mine.eta_s / 60).toFixed(1)} min away` : "its drive time here not known";
  const instead = free ? `${free.call_sign} is free, ${(free.eta_s / 60).toFixed(1)} min away.` : "No free unit is recommended instead.";
  const worse = was != null && now != null && was < now;  // 1 is the most urgent
  const fields = worse ? [{ name: "sure", check: true, required: true,
    label: `Take ${sign} from more urgent work (${p(was)}#${from}) for ${p(now)}#${id}` }] : [];
  return Boolean(await ask({ title: worse ? `Divert ${sign} to less urgent work?` : `Divert ${sign}?`,
    ok: `Divert ${sign}`, danger: true, safe: true, fields,
    text: `${sign} leaves ${p(was)}#${from} for ${p(now)}#${id}, ${eta}. ${instead}` }));
}

// Key A: the picks, or why there is nothing to send, in the panel's status line. The picks are asked for again
// first: when they are not the ones shown (a unit taken by another console, one freed nearer), nothing is sent
// and the dispatcher sees the new ones before pressing A again.
export async function assignTop() {
  const id = state.selected;
  if (!id || !$("incident-result")) return;
  const shown = state.recs?.incident_id === id ? state.recs : null;
  const recs = shown ? await refreshRecs() : null;
  if (state.selected !== id) return;
  if (!recs || recs.incident_id !== id) { say(`Nothing to send: #${id} is ${(state.incident?.status || "not open").replace(/_/g, " ")}.`); return; }
  if (pickKey(recs) !== pickKey(shown)) {
    const gone = shown.picks.filter((p) => !recs.picks.some((q) => q.unit_id === p.unit_id)).map((p) => p.call_sign);
    say(`The recommendation changed${gone.length ? ` (${gone.join(", ")} no longer recommended)` : ""}: nothing sent; check it and press A again.`);
    return;
  }
  if (!recs.picks.length) {
    say(recs.unfilled.length
      ? `Nothing to send: no unit free for ${recs.unfilled.map((s) => `${s.count} ${s.capability}`).join(", ")} of #${id}.`
      : `Nothing to send: every slot of #${id} is filled.`);
    return;
  }
  // A place the geocoder was not sure of is checked before crews drive there: a key alone does not send them.
  const where = state.incident?.id === id ? state.incident.location : null;
  if (where?.needs_location && !(await ask({ title: `The place of #${id} is not sure`, safe: true,
    text: `${where.label || "Unknown place"} needs checking. Send ${recs.picks.map((p) => p.call_sign).join(", ")} there anyway?`,
    ok: "Send anyway", no: "Cancel" }))) { say("Nothing sent: correct the place (Move…) or send anyway."); return; }
  const diverted = recs.picks.filter((p) => p.diverted_from != null);
  for (const p of diverted) if (!(await divertOk(p.unit_id, p.call_sign, p.diverted_from))) return;
  await send(recs.picks.map((p) => p.unit_id), diverted.length > 0);
}

export async function assignOne(unitId, from) {
  const sign = state.units.get(unitId)?.call_sign ?? `unit ${unitId}`;
  if (from && !(await divertOk(unitId, sign, from))) return;
  await send([unitId], Boolean(from));
}

// ---- adding any unit by its call sign ---------------------------------------------------------------------
export function addUnitHtml() {
  return `<form id="add-unit" class="row add-unit" data-needs="dispatcher" autocomplete="off">
    <label for="add-unit-sign">Add unit</label>
    <input id="add-unit-sign" list="add-unit-list" placeholder="call sign" aria-describedby="add-unit-hint">
    <datalist id="add-unit-list"></datalist><button type="submit">Add</button>
    <small id="add-unit-hint" class="muted"></small></form>`;
}

// Why a unit may not be sent here (null: it may, freely or diverted after a confirmation).
function refusal(u) {
  if (u.incident_id === state.selected && !FREE.has(u.status)) return "on it already";
  if (FREE.has(u.status)) return null;
  const where = u.incident_id != null ? ` on #${u.incident_id}` : "";
  if (!DIVERTIBLE.has(u.status)) return `${u.status.replace(/_/g, " ")}${where}`;
  const work = state.incidents.get(u.incident_id)?.priority;  // unknown: the server decides
  return work != null && work < DIVERT_FROM_PRIORITY ? `on P${work} work${where}` : null;
}

export function fillUnitChoices() {
  const list = $("add-unit-list");
  if (!list) return;
  const all = [...state.units.values()].sort((a, b) => (FREE.has(b.status) - FREE.has(a.status)) || a.call_sign.localeCompare(b.call_sign));
  const offered = all.filter((u) => !refusal(u));
  list.replaceChildren(...offered.map((u) => new Option(FREE.has(u.status) ? u.status
    : `${u.status.replace(/_/g, " ")} on #${u.incident_id}: divert`, u.call_sign)));
  const kept = all.filter((u) => refusal(u) && u.incident_id !== state.selected);
  const named = kept.slice(0, 3).map((u) => `${u.call_sign} (${refusal(u)})`).join(", ");
  $("add-unit-hint").textContent = `Free units, and busy ones on the way to P${DIVERT_FROM_PRIORITY}–4 work (diverted after a confirmation).`
    + (kept.length ? ` Not offered: ${named}${kept.length > 3 ? ` and ${kept.length - 3} more` : ""}; they cannot be taken.` : "");
}

export async function addUnit(e) {
  e.preventDefault();
  const input = $("add-unit-sign");
  const wanted = input.value.trim().toLowerCase();
  const unit = [...state.units.values()].find((u) => u.call_sign.toLowerCase() === wanted);
  if (!unit) { say(wanted ? `No unit called ${input.value.trim()}.` : "Type a unit's call sign."); input.focus(); return; }
  const why = refusal(unit);
  if (why) { say(`${unit.call_sign} cannot be sent: ${why}.`); input.focus(); return; }
  const busy = !FREE.has(unit.status) && unit.incident_id != null;
  if (busy && !(await divertOk(unit.id, unit.call_sign, unit.incident_id))) return;
  if (await send([unit.id], busy)) input.value = "";
}
