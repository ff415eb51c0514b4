// A unit's statuses as the board shows them (each with a shape as well as a colour, so that they are told apart
// without colour), and the dispatcher's dialog to set one by hand, with the reason the log keeps.
import { state, $, api } from "./common.js";

// In the order a job runs; the shape is the marker the board and the dialog show before the words.
export const STATUSES = [
  { value: "available", label: "available", mark: "●" },
  { value: "returning", label: "returning", mark: "◐" },
  { value: "dispatched", label: "dispatched", mark: "◆" },
  { value: "acknowledged", label: "acknowledged", mark: "◇" },
  { value: "en_route", label: "en route", mark: "▶" },
  { value: "on_scene", label: "on scene", mark: "■" },
  { value: "transporting", label: "transporting", mark: "✚" },
  { value: "at_hospital", label: "at hospital", mark: "⊕" },
  { value: "out_of_service", label: "out of service", mark: "✕" },
];
const BY_VALUE = new Map(STATUSES.map((s) => [s.value, s]));
export const statusOf = (value) => BY_VALUE.get(value) || { value, label: String(value).replace(/_/g, " "), mark: "?" };
export const statusRank = (value) => STATUSES.findIndex((s) => s.value === value);
export const FREE = new Set(["available", "returning"]);
// A unit in one of these is on no incident (dispatch/statuses.py OFF_INCIDENT_UNIT): the board clears its job.
export const OFF_INCIDENT = new Set([...FREE, "out_of_service"]);

// What a dispatcher may set by hand: a unit put out of service or back in service; on a job, also its crew's
// step recorded for it when the device is silent (a device reports those steps itself, with its assignment).
const IDLE = ["available", "returning", "out_of_service"];
const ON_JOB = ["en_route", "on_scene", "transporting", "at_hospital", ...IDLE];

let unitId = null;
let opener = null;  // the board's button, where the keyboard goes back to

/** The marker and words of a status, as DOM nodes (the marker is for the eye; the words are read out). */
export function statusNodes(value) {
  const s = statusOf(value);
  const mark = document.createElement("span");
  mark.className = "mark";
  mark.setAttribute("aria-hidden", "true");
  mark.textContent = s.mark;
  return [mark, ` ${s.label}`];
}

export function openStatus(id, from) {
  const unit = state.units.get(id);
  if (!unit) return;
  unitId = id;
  opener = from || document.activeElement;
  $("status-title").textContent = `Set status of ${unit.call_sign}`;
  $("status-now").replaceChildren("Now: ", ...statusNodes(unit.status));
  $("status-choices").replaceChildren(...(unit.incident_id == null ? IDLE : ON_JOB).map((value) => {
    const label = document.createElement("label");
    label.className = "choice";
    const radio = document.createElement("input");
    Object.assign(radio, { type: "radio", name: "status", value, checked: false });
    label.append(radio, ...statusNodes(value));
    return label;
  }));
  $("status-reason").value = "";
  $("status-error").textContent = "";
  $("status-dialog").showModal();
  $("status-choices").querySelector("input")?.focus();
}

function closeStatus() {
  if ($("status-dialog").open) $("status-dialog").close();
}

async function submit(event) {
  event.preventDefault();
  const chosen = $("status-form").querySelector("input[name=status]:checked")?.value;
  const reason = $("status-reason").value.trim();
  const unit = state.units.get(unitId);
  if (!chosen) { $("status-error").textContent = "Choose the new status."; return; }
  // As the service asks: a reason to take a unit out of service or off a job it has not reached; otherwise (back
  // in service, done at the scene) one may be given.
  const reached = ["on_scene", "transporting", "at_hospital"].includes(unit?.status);
  const needed = chosen === "out_of_service" || (IDLE.includes(chosen) && unit?.incident_id != null && !reached);
  if (!reason && needed) { $("status-error").textContent = "Give the reason (it is kept in the log)."; $("status-reason").focus(); return; }
  if (unit && chosen === unit.status) { $("status-error").textContent = `${unit.call_sign} is ${statusOf(chosen).label} already.`; return; }
  $("status-submit").disabled = true;
  try {
    const done = await api(`/api/units/${unitId}/status`, { method: "POST", body: JSON.stringify({ status: chosen, reason: reason || null }) });
    // The feed says the same a moment later; the board shows it now.
    const u = state.units.get(done.unit_id);
    if (u && u.status !== done.status) Object.assign(u, { status: done.status, incident_id: done.incident_id, since: Date.now() });
    closeStatus();
    onChange?.();
  } catch (error) {
    if (error.message !== "401") $("status-error").textContent = `Not set: ${error.message}`;
  } finally { $("status-submit").disabled = false; }
}

let onChange = null;
/** Wires the dialog once; `changed` redraws the board after a status was set. */
export function setupStatus(changed) {
  onChange = changed;
  $("status-form").addEventListener("submit", submit);
  $("status-cancel").addEventListener("click", closeStatus);
  // Esc (the dialog's own cancel) and the buttons all end here: the keyboard goes back to the row's button.
  $("status-dialog").addEventListener("close", () => { if (opener?.isConnected) opener.focus(); opener = null; });
}
