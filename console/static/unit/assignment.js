// The assignment card: while unacknowledged it takes the whole screen with its alert and the deadline
// counting down; then it stays as the job the status buttons are about.
import { state } from "./store.js";
import { alerting } from "./alert.js";
import { renderTeam } from "./team.js";

const $ = (id) => document.getElementById(id);
let focusedFor = null; // the assignment whose alert has had the focus put on Acknowledge

const telOf = (number) => `tel:${String(number).replace(/[^\d+]/g, "")}`;

function text(id, value) { $(id).textContent = value ?? ""; $(id).hidden = !value; }

export function renderJob() {
  const job = state.job;
  $("job").hidden = !job;
  $("idle").hidden = Boolean(job);
  document.body.dataset.job = job ? (job.ackOf ? "new" : "working") : "none";
  alerting(Boolean(job?.ackOf));
  if (!job) return;
  $("job").className = `job p${job.priority}${job.exercise ? " exercise" : ""}`;
  // A drill must never be taken for a real call: the banner heads the card, the alert's screen included.
  $("job-exercise").hidden = !job.exercise;
  $("job-priority").textContent = `P${job.priority}`;
  // Every assignment and `current` names its type (dispatch.push.messages.brief_of): the type table is the
  // floor's to read, not the device's.
  $("job-type").textContent = job.incident_type_name || job.incident_type || "Incident";
  $("job-number").textContent = `#${job.incident_id}${job.slot ? ` · as ${job.slot}` : ""}`;
  $("job-flags").replaceChildren(...(job.premise_flags || []).map((flag) => {
    const li = document.createElement("li");
    li.textContent = `⚠ ${String(flag.category || "").replace(/_/g, " ")}: ${flag.description}`;
    return li;
  }));
  $("job-flags").hidden = !(job.premise_flags || []).length;
  $("job-address").textContent = job.address || (job.location?.needs_location ? "Location not yet confirmed" : "No address");
  text("job-municipality", job.municipality);
  text("job-narrative", job.narrative);
  // What the caller answered to the type's key questions ("Is anyone trapped?" "Yes, one").
  $("job-answers").replaceChildren(...(job.answers || []).map((a) => {
    const li = document.createElement("li"), answer = document.createElement("strong");
    answer.textContent = a.answer;
    li.append(`${a.question} `, answer);
    return li;
  }));
  $("job-answers").hidden = !(job.answers || []).length;
  $("job-callback-line").hidden = !job.callback;
  $("job-caller").textContent = job.caller_name ? ` ${job.caller_name}` : "";
  if (job.callback) { $("job-callback").href = telOf(job.callback); $("job-callback").textContent = job.callback; }
  text("job-route", routeWords(job.route, job.eta_s));
  directions(job, "job", job.address || "Incident");
  renderTeam(job);
  $("ack").hidden = !job.ackOf;
  // A new alert puts the keyboard on Acknowledge: one key, not a search through the page, in its 10 s.
  if (job.ackOf && focusedFor !== job.ackOf) { focusedFor = job.ackOf; $("ack").focus(); }
  tick();
}

// In the centre's units (/api/me): "350 m", "1.2 km"; or "900 ft", "1.2 mi".
const distance = (m) => {
  if (state.distanceUnit === "mi") {
    const feet = m / 0.3048;
    return feet < 528 ? `${Math.round(feet / 10) * 10} ft` : `${(m / 1609.344).toFixed(1)} mi`;
  }
  return m >= 1000 ? `${(m / 1000).toFixed(1)} km` : `${Math.round(m / 10) * 10} m`;
};

// A route's length and time in words, else the matcher's estimate.
export function routeWords(route, etaS) {
  return route ? `${Math.round(route.meters / 100) / 10} km · ${Math.ceil(route.seconds / 60)} min by road`
    : etaS ? `about ${Math.ceil(etaS / 60)} min away` : "";
}

// Turn by turn from the route's steps, and the device's own navigation app (a geo: link) as a fallback; for
// the job (`job-…` elements) or a move-up order (`standby-…`).
export function directions(target, prefix, label) {
  const steps = target.route?.steps || [];
  $(`${prefix}-steps`).replaceChildren(...steps.map((step) => {
    const li = document.createElement("li");
    li.textContent = step.meters >= 1 ? `${step.instruction} (${distance(step.meters)})` : step.instruction;
    return li;
  }));
  $(`${prefix}-steps-count`).textContent = `${steps.length} steps`;
  $(`${prefix}-directions`).hidden = !steps.length;
  const at = target.location, link = $(`${prefix}-navigate`);
  link.hidden = at?.lat == null;
  if (at?.lat != null) link.href = `geo:${at.lat},${at.lon}?q=${at.lat},${at.lon}(${encodeURIComponent(label)})`;
}

// The acknowledgement deadline (`ack_deadline_s` of welcome), counted from when the assignment came.
export function tick() {
  const job = state.job;
  if (!job?.ackOf) return;
  const left = Math.ceil(state.ackDeadline - (Date.now() - job.receivedAt) / 1000);
  $("ack-countdown").textContent = left > 0 ? `${left} s left` : "late: acknowledge now";
  $("ack").classList.toggle("late", left <= 0);
}
