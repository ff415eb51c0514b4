// What each server message does to the store (docs/protocol.md, "Server messages"). Each is acted on once by
// its id; socket.js has acknowledged it already, but for an assignment, which waits for the crew's button.
import { state, set, firstTime } from "./store.js";
import { answered } from "./status.js";
import { resume, settle } from "./queue.js";
import { received, replied } from "./talk.js";
import { teamOf, withNote } from "./team.js";
import { chime } from "./alert.js";

const REASONS = { not_acknowledged: "not acknowledged in time" };
const reasonText = (reason) => REASONS[reason] || String(reason || "no reason given").replace(/_/g, " ");

function jobOf(fields, message, status) {
  const job = { ...fields, status, receivedAt: Date.now(), ackOf: status === "assigned" ? message.id : null,
    acked: status === "assigned" ? null : message.id, correctionSeq: 0, team: [], teamSeq: 0, notes: fields.notes || [] };
  return { ...job, ...teamOf(job, { team: fields.team, seq: message.seq }) };
}

function relocated(job, m) {
  const where = [job.address, job.municipality].filter(Boolean).join(", ") || "a point on the map";
  const how = m.route ? "the route below is to the new place" : "no road route: use the map";
  set({ notice: { kind: "moved", text: `Location changed for incident #${job.incident_id}: now ${where}; ${how}.` } });
  chime();
}

const handlers = {
  welcome(m) {
    set({ unitId: m.unit_id, ackDeadline: m.ack_deadline_s ?? 10, ...(m.call_sign ? { name: m.call_sign } : {}),
      ...(m.status ? { unitStatus: m.status } : {}) });
    resume(); // what the crew pressed or wrote and got no answer to, in order, now that the link is back
  },
  // An assignment replaces a move-up order: the unit goes to the incident, not to the post.
  assignment(m) { set({ job: jobOf(m, m, "assigned"), standby: null, notice: null }); },
  current(m) {
    const had = state.job;
    const job = m.assignment ? jobOf(m.assignment, m, m.assignment.status) : null;
    // A job whose end the crew pressed (returning) is not withdrawn: it is over, as the server says.
    const notice = had && !had.ended && !job ? { kind: "cancel", text: "Your assignment was withdrawn: the dispatch centre shows none for this unit." } : state.notice;
    set({ job, notice, ...(job ? { standby: null } : {}) });
  },
  update(m) {
    const job = state.job;
    if (!job || job.incident_id !== m.incident_id) return;
    if (m.team) { set({ job: { ...job, ...teamOf(job, m) } }); return; }
    if (m.note) {
      set({ job: { ...job, notes: withNote(job, m.note) },
        notice: { kind: "info", text: `New note from ${m.note.from || "dispatch"}: ${m.note.text}` } });
      return;
    }
    if (m.changed) {
      // A resent correction can arrive after a newer one: only a higher seq applies, with its place and route.
      if ((m.seq ?? 0) <= job.correctionSeq) return;
      const typed = m.changed.location_text;  // a place the map could not find is still the place to go
      const place = m.location ? { location: m.location, address: m.address, municipality: m.municipality }
        : typed ? { address: typed, municipality: "" } : {};
      const route = "route" in m ? { route: m.route } : {};
      set({ job: { ...job, ...m.changed, ...place, ...route, correctionSeq: m.seq ?? 0 } });
      // A crew driving to the old place must notice the new one at once, as it would a stand-down.
      if (place.address !== undefined || m.location) relocated(state.job, m);
      else if (m.changed.priority) {
        set({ notice: { kind: "info", text: `Priority changed: now P${m.changed.priority}` } });
      }
      return;
    }
    if (m.route && (m.assignment_id == null || m.assignment_id === job.assignment_id)) set({ job: { ...job, route: m.route } });
  },
  cancel(m) {
    const job = state.job;
    const ours = job && (m.assignment_id != null ? m.assignment_id === job.assignment_id : m.incident_id === job.incident_id);
    set({ job: ours ? null : job, notice: { kind: "cancel", text: `Stood down from incident #${m.incident_id}: ${reasonText(m.reason)}.` } });
    if (ours) chime(); // a crew on blue lights must notice it is no longer wanted there
  },
  message(m) { received(m); chime(); },
  // Someone else changed the unit's status (dispatch, or the service after an unacknowledged assignment); a
  // resent one must not undo a newer one.
  unit_status(m) {
    if ((m.seq ?? 0) < state.unitStatusSeq) return;
    const words = String(m.status).replace(/_/g, " ");
    set({ unitStatus: m.status, unitStatusSeq: m.seq ?? 0,
      notice: { kind: m.status === "out_of_service" ? "error" : "info", text: `This unit was set ${words}: ${reasonText(m.reason)}.` } });
    chime();
  },
  move(m) {
    const order = { post_id: m.post_id, post: m.post, location: m.location, reason: m.reason, route: m.route };
    set({ standby: order, notice: { kind: "info", text: `Move-up order: go to standby at ${m.post}.` } });
  },
};

export function handle(message) {
  if (message.type === "ok" || message.type === "error") {
    settle(message); // out of the queue once answered (queue.js)
    if (!replied(message)) answered(message);
    return;
  }
  const handler = handlers[message.type];
  if (!handler) return;
  if (message.id != null && message.type !== "welcome" && !firstTime(message.id)) return;
  handler(message);
}
