// The units on the selected incident, live from the board: each with its status, its ETA while it drives there
// (the router's time from where it is now, asked again when its status changes), a button to write to its crew
// and one to stand it down (with a reason; the incident goes back to the queue when none had arrived).
import { state, $, api, hhmm } from "./common.js";
import { openTalk, unreadOf } from "./talk.js";
import { ask } from "./ask.js";
import { MOVING } from "./map.js";

const WORKING = new Set([...MOVING, "on_scene", "transporting", "at_hospital"]);
const etas = new Map();  // unit id → { key: "incident:status", at: ms of arrival | null }
let crewsShown = "";     // what the list shows: drawn again only when it changes, so a focused button stays
let onChange = () => {};
let onCount = () => {};
// The panel hears how many units work on it, each time the list is looked at (a hint when none is left).
export function onCrews(fn) { onCount = fn; }

// The panel hears of a stand-down to reload itself (the incident's status and log changed).
export function onStoodDown(fn) { onChange = fn; }

export const unitsOn = (id) => [...state.units.values()].filter((u) => u.incident_id === id && WORKING.has(u.status));

async function askEta(unit) {
  const key = `${unit.incident_id}:${unit.status}`;
  if (etas.get(unit.id)?.key === key) return;
  etas.set(unit.id, { key, at: null });
  if (!MOVING.has(unit.status)) return;
  const found = await api(`/api/units/${unit.id}/route`).catch(() => null);
  if (etas.get(unit.id)?.key !== key || !found?.route) return;
  etas.set(unit.id, { key, at: Date.now() + found.route.seconds * 1000 });
  crewsShown = "";
  renderCrewsOn();
}

// The incident moved (its place corrected): each unit's ETA to it is asked for again.
export function forgetEtas(incidentId) {
  for (const u of state.units.values()) if (u.incident_id === incidentId) etas.delete(u.id);
  crewsShown = "";
  renderCrewsOn();
}

function etaText(unit) {
  const at = etas.get(unit.id)?.at;
  if (!MOVING.has(unit.status) || !at) return "";
  return ` · ETA ${hhmm(at)} (${Math.max(0, Math.round((at - Date.now()) / 60000))} min)`;
}

function button(text, hidden, cls, unitId, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = cls;
  b.dataset.unit = unitId;
  const whose = document.createElement("span");
  whose.className = "sr-only";
  whose.textContent = hidden;
  b.append(text, whose);
  b.addEventListener("click", onClick);
  return b;
}

export async function standDown(unitId) {
  const incidentId = state.selected;
  const sign = state.units.get(unitId)?.call_sign ?? `unit ${unitId}`;
  const answer = await ask({ title: `Stand down ${sign}`, text: `${sign} leaves incident #${incidentId}.`,
    fields: [{ name: "reason", label: "Reason", required: true, maxlength: 500 }], ok: "Stand down", danger: true });
  if (!answer) return;
  try {
    const done = await api(`/api/incidents/${incidentId}/units/${unitId}/stand-down`,
      { method: "POST", body: JSON.stringify({ reason: answer.reason }) });
    $("incident-result").textContent = `${sign} stood down${done.requeued ? "; the incident is queued again" : ""}.`;
    onChange();
  } catch (error) { $("incident-result").textContent = `Stand-down refused: ${error.message}`; }
}

export function renderCrewsOn() {
  const list = $("detail-units");
  if (!list) { crewsShown = ""; return; }
  const on = unitsOn(state.selected);
  onCount(on.length);
  for (const u of on) askEta(u);
  const readOnly = list.dataset.readonly === "yes";
  const drawn = `${state.selected}|${readOnly}|${on.map((u) => `${u.id}:${u.status}:${unreadOf(u.id)}:${etaText(u)}`).join(",")}`;
  if (drawn === crewsShown && list.dataset.drawn === "yes") return;
  crewsShown = drawn;
  list.dataset.drawn = "yes";
  if (!on.length) {
    const none = document.createElement("li");
    none.className = "muted";
    none.textContent = "No unit on it now.";  // none yet, or all of them cleared: true either way
    list.replaceChildren(none);
    return;
  }
  const focused = document.activeElement?.closest?.("#detail-units button");
  const again = focused && `${focused.className}|${focused.dataset.unit}`;
  list.replaceChildren(...on.map((u) => {
    const li = document.createElement("li");
    li.dataset.unit = u.id;
    const what = document.createElement("span");
    const unread = unreadOf(u.id);
    what.className = "on-unit";
    what.textContent = `${u.call_sign} · ${u.status.replace(/_/g, " ")}${etaText(u)}${unread ? ` · ${unread} unread` : ""}`;
    const tools = document.createElement("span");
    tools.className = "tools";
    const talk = button("Message crew", ` of ${u.call_sign}`, "talk-crew quiet", u.id, () => openTalk(u.id));
    talk.dataset.needs = "dispatcher";  // writing to a crew is a dispatcher's (roles.js)
    tools.append(talk);
    if (!readOnly) {
      const down = button("Stand down", ` ${u.call_sign}`, "stand-down quiet", u.id, () => standDown(u.id));
      down.dataset.needs = "dispatcher";
      tools.append(down);
    }
    li.append(what, tools);
    return li;
  }));
  if (again) list.querySelector(`button[data-unit="${again.split("|")[1]}"].${again.split("|")[0].split(" ")[0]}`)?.focus();
}
