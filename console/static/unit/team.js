// Who else is on the job, and what dispatchers write in its log. The team comes whole (`update` with `team`,
// or `team` in `current`); a team resent late must not undo a newer one, so only a higher seq applies. Notes
// come with the assignment (those written before) and one by one (`update` with `note`) as they are added.
import { state, clock } from "./store.js";

const $ = (id) => document.getElementById(id);
const ON_THE_WAY = new Set(["assigned", "acknowledged", "en_route"]);
const WORDS = { assigned: "sent, not yet acknowledged", acknowledged: "acknowledged", en_route: "en route",
  on_scene: "on scene", transporting: "transporting", at_hospital: "at hospital" };

// The job's team from a message, if it is newer than the one the job shows.
export function teamOf(job, message) {
  if (!Array.isArray(message.team) || (message.seq ?? 0) < (job.teamSeq ?? 0)) return {};
  return { team: message.team, teamSeq: message.seq ?? 0 };
}

// A note added to the job, once: a note in the brief may come again as an update when it was added just then.
export function withNote(job, note) {
  const notes = job.notes || [];
  const same = (n) => n.text === note.text && n.from === note.from && Math.abs((n.at || 0) - (note.at || 0)) < 60_000;
  return notes.some(same) ? notes : [...notes, note];
}

function item(text, className) {
  const li = document.createElement("li");
  li.textContent = text;
  if (className) li.className = className;
  return li;
}

export function renderTeam(job) {
  const others = (job.team || []).filter((m) => m.unit_id !== state.unitId);
  $("job-team").replaceChildren(...others.map((m) => {
    const due = ON_THE_WAY.has(m.status) && m.due_ms ? `, due about ${clock(m.due_ms)}` : "";
    return item(`${m.call_sign}: ${WORDS[m.status] || String(m.status).replace(/_/g, " ")}${due}`);
  }));
  $("job-team-block").hidden = !others.length;
  const notes = job.notes || [];
  $("job-notes").replaceChildren(...notes.map((n) => item(`${clock(n.at)} ${n.from || "Dispatch"}: ${n.text}`)));
  $("job-notes-block").hidden = !notes.length;
}
