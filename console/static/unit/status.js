// The crew's status buttons, in the order a crew works, and what the server said about each press.
import { state, set, nextId } from "./store.js";
import { ack } from "./socket.js";
import { lastFix } from "./position.js";
import { submit, onFlush } from "./queue.js";
import { confirmTap } from "./guard.js";

export const STATUSES = [
  ["acknowledged", "Acknowledged"], ["en_route", "En route"], ["on_scene", "On scene"],
  ["transporting", "Transporting"], ["at_hospital", "At hospital"], ["returning", "Returning"],
  ["available", "Available"], ["out_of_service", "Out of service"],
];
const LABEL = Object.fromEntries(STATUSES);
const ENDS_JOB = new Set(["available", "out_of_service"]);
// What a crew reports only about a job (the server refuses them without one).
const ABOUT_JOB = new Set(["acknowledged", "en_route", "on_scene", "transporting", "at_hospital"]);
// The crew's order: what comes next after each status of a job (docs/protocol.md, `status`).
const NEXT = { assigned: ["acknowledged"], acknowledged: ["en_route"], en_route: ["on_scene"],
  on_scene: ["transporting", "returning", "available"], transporting: ["at_hospital"],
  at_hospital: ["returning", "available"], returning: ["available"] };
// What ends the assignment on the server (the unit is off the incident): after such a press the job may stay on
// the screen (returning), but no later press names its assignment, which the server would refuse as ended.
const ENDS_ASSIGNMENT = new Set(["returning", ...ENDS_JOB]);

// The crew acknowledges an assignment with the ack of its message (docs/protocol.md, `ack`).
export function acknowledge() {
  const job = state.job;
  if (!job?.ackOf) return;
  if (!ack(job.ackOf)) { set({ notice: { kind: "error", text: "Not connected: the acknowledgement was not sent. Try again when the header says connected." } }); return; }
  set({ job: { ...job, status: "acknowledged", acked: job.ackOf, ackOf: null }, notice: null });
}

export async function report(status) {
  const job = state.job;
  if (status === "acknowledged" && job?.ackOf) { acknowledge(); return; }
  if (!job && ABOUT_JOB.has(status)) {
    set({ notice: { kind: "error", text: `“${LABEL[status]}” is about a job, and this unit has none now. Nothing was sent.` } });
    return;
  }
  const message = { type: "status", status, id: nextId("status") };
  if (job && !job.ended) message.assignment_id = job.assignment_id;
  // Marked at the press, not at the answer: a press queued offline after this one must not name it either.
  if (job && !job.ended && ENDS_ASSIGNMENT.has(status)) set({ job: { ...job, ended: message.id } });
  const fix = lastFix();
  if (fix) Object.assign(message, { lat: fix.lat, lon: fix.lon });
  state.pending.set(message.id, status);
  // Kept with its moment until answered: offline, it goes when the link is back (queue.js).
  const how = await submit(message, LABEL[status]);
  set({ notice: { kind: "info", text: how === "sent" ? `Sending “${LABEL[status]}”…`
    : `“${LABEL[status]}” is waiting to send: it goes, with the time it was pressed, when the connection is back.` } });
}

// A status sent from the queue after a reload still has its answer awaited.
onFlush((message) => { if (message.type === "status") state.pending.set(message.id, message.status); });

const REFUSAL = {
  conflict: (label) => `Refused: “${label}” is not the next status for this job, or the job is no longer this unit's. Nothing was recorded.`,
  bad_message: (label, why) => `The server could not take “${label}”: ${why}`,
  // Not done, and kept: the queue sends it again by itself (queue.js).
  retry: (label) => `The dispatch centre could not record “${label}” just now: it is sent again in a moment.`,
  rate_limited: (label) => `Too many presses at once: “${label}” is sent again in a moment.`,
};

// `ok` or `error` with `re`: the answer to one of our messages.
export function answered(message) {
  const status = state.pending.get(message.re);
  if (message.re != null) state.pending.delete(message.re);
  if (message.type === "ok") {
    if (!status) return;
    const job = state.job;
    set({ job: job && !ENDS_JOB.has(status) ? { ...job, status } : null, unitStatus: message.unit?.status ?? status,
      notice: { kind: "info", text: `“${LABEL[status]}” recorded.` } });
    return;
  }
  // The refused press was the one that would have ended the assignment: it is still the crew's, named again.
  if (message.re != null && state.job?.ended === message.re) set({ job: { ...state.job, ended: null } });
  const label = LABEL[status] || "that";
  // Stood down while the press waited (offline): the reason of the stand-down stays said.
  if (message.code === "conflict" && !state.job && state.notice?.kind === "cancel") {
    set({ notice: { kind: "cancel", text: `${state.notice.text} (“${label}” was not recorded.)` } });
    return;
  }
  const words = (REFUSAL[message.code] || ((l, why) => `“${l}” was refused: ${why}`))(label, message.message || message.code);
  set({ notice: { kind: "error", text: words } });
}

export function renderStatus(root, current) {
  root.replaceChildren(...STATUSES.map(([value, label]) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "status";
    button.dataset.status = value;
    button.textContent = label;
    button.setAttribute("aria-pressed", String(value === current));
    // Out of service drops the job and takes the unit off calls: a second tap confirms it.
    if (value === "out_of_service") confirmTap(button, "Tap again: out of service", () => report(value));
    else button.addEventListener("click", () => report(value));
    return button;
  }));
}

// The buttons: the status now (the job's, else the unit's) pressed, the next one(s) in the crew's order marked.
export function markStatus(root, job, unitStatus) {
  const now = job?.status ?? unitStatus;
  const next = new Set(job ? NEXT[job.status] || [] : unitStatus && unitStatus !== "available" ? ["available"] : []);
  for (const button of root.querySelectorAll(".status")) {
    button.setAttribute("aria-pressed", String(button.dataset.status === now));
    button.classList.toggle("next", next.has(button.dataset.status));
  }
}
