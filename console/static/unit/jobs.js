// The crew's own recent jobs (today's and yesterday's, GET /api/units/{id}/jobs) and, for one of them, what the
// service still lets the device read of it (GET /api/incidents/{id}: the unit's jobs of today only). Plain words,
// no codes; a failed load says so and offers to try again rather than wait forever.
import { state, subscribe, clock } from "./store.js";

const $ = (id) => document.getElementById(id);
const TIMEOUT_MS = 10_000; // a request the network swallowed ends here, with words, not an endless wait
const HOW_ENDED = { cleared: "Finished", cancelled: "Stood down", assigned: "Not yet acknowledged",
  acknowledged: "In progress", en_route: "In progress", on_scene: "In progress" };
const TIMES = [["assigned_at", "Sent to this unit"], ["acknowledged_at", "Acknowledged"], ["en_route_at", "En route"],
  ["on_scene_at", "On scene"], ["cleared_at", "Finished"], ["cancelled_at", "Stood down"]];

let jobs = [];
let loading = 0; // the newest request's number: an older answer arriving late is dropped

class LoadError extends Error {
  constructor(status) { super(String(status)); this.status = status; }
}

async function get(path) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
  try {
    const response = await fetch(path, { headers: { Authorization: `Bearer ${state.token}` }, signal: abort.signal });
    if (!response.ok) throw new LoadError(response.status);
    return await response.json();
  } catch (error) {
    throw error instanceof LoadError ? error : new LoadError(0); // 0: no answer (offline, or too slow)
  } finally {
    clearTimeout(timer);
  }
}

function failure(status, what) {
  if (status === 0) return `Cannot load ${what} now: no connection to the dispatch centre. Try again when the header says connected.`;
  if (status === 401) return "This device's sign-in is no longer accepted: sign out and sign in again.";
  if (status === 403) return what === "your recent jobs"
    ? "This device may not see that unit's jobs: a crew sees only its own unit's jobs."
    : "The details of this job cannot be opened on the device: a crew can open only the jobs its unit was sent to today or yesterday. The dispatch centre holds the full record.";
  if (status === 404) return `The dispatch centre has no record of ${what}.`;
  return `Cannot load ${what} now: the dispatch centre did not answer properly. Try again in a moment.`;
}

// Worth trying again: no answer, the service busy or failing. A refusal (401, 403, 404) stays one.
const passing = (status) => status === 0 || status === 429 || status >= 500;


function when(iso) {
  const at = new Date(iso), today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  const day = at.toDateString() === today.toDateString() ? "Today"
    : at.toDateString() === yesterday.toDateString() ? "Yesterday" : at.toLocaleDateString();
  return `${day} ${clock(iso)}`;
}

function ended(job) {
  const how = HOW_ENDED[job.status] || "Ended";
  const words = job.disposition ? `${how} (${job.disposition.replace(/_/g, " ")})` : how;
  return job.incident_status === "cancelled" && job.status === "cancelled" ? "Call cancelled" : words;
}

const line = (className, text) => Object.assign(document.createElement("span"), { className, textContent: text });
// The geocoder's label often ends with the municipality already: it is not said twice.
function place(job) {
  const label = job.address_label || "No address", town = job.municipality;
  return town && !label.includes(town) ? `${label}, ${town}` : label;
}

function say(text, kind = "") {
  $("jobs-state").textContent = text;
  $("jobs-state").className = `jobs-state ${kind}`;
  $("jobs-state").hidden = !text;
  $("jobs-retry").hidden = kind !== "error"; // only what may pass on a second try offers one
}

function renderList() {
  $("jobs-detail").hidden = true;
  $("jobs-list").hidden = false;
  $("jobs-list").replaceChildren(...jobs.map((job) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "jobs-item";
    button.dataset.incident = job.incident_id;
    button.append(line("jobs-type", job.type_name), line("jobs-where", place(job)),
      line("jobs-when", `${when(job.assigned_at)} · ${ended(job)} · #${job.incident_id}`));
    button.addEventListener("click", () => openJob(job));
    const item = document.createElement("li");
    item.append(button);
    return item;
  }));
}

async function loadList() {
  const mine = ++loading;
  jobs = [];
  $("jobs-list").replaceChildren();
  $("jobs-detail").hidden = true;
  say("Loading your recent jobs…");
  if (state.unitId == null) { say(failure(0, "your recent jobs"), "error"); return; }
  try {
    const found = await get(`/api/units/${state.unitId}/jobs`);
    if (mine !== loading) return;
    jobs = found;
    say(jobs.length ? "" : "No jobs for this unit today or yesterday.");
  } catch (error) {
    if (mine === loading) say(failure(error.status, "your recent jobs"), passing(error.status) ? "error" : "refused");
    return;
  }
  renderList();
}

function row(list, label, value, { first = false } = {}) {
  if (!value) return;
  const term = document.createElement("dt"), detail = document.createElement("dd");
  term.textContent = label;
  detail.textContent = value;
  if (first) list.prepend(term, detail); else list.append(term, detail);
}

async function openJob(job) {
  const mine = ++loading;
  $("jobs-list").hidden = true;
  $("jobs-detail").hidden = false;
  $("jobs-detail").dataset.incident = job.incident_id;
  $("jobs-detail-title").textContent = job.type_name;
  $("jobs-detail-where").textContent = `${place(job)} · ${ended(job)}`;
  const times = $("jobs-detail-times");
  times.replaceChildren();
  for (const [key, label] of TIMES) row(times, label, job[key] && when(job[key]));
  for (const id of ["jobs-detail-narrative", "jobs-detail-flags"]) { $(id).replaceChildren(); $(id).hidden = true; }
  $("jobs-detail-notes-block").hidden = true;
  $("jobs-back").focus();
  say("Loading this job…");
  let incident;
  try {
    incident = await get(`/api/incidents/${job.incident_id}`);
  } catch (error) {
    if (mine === loading) say(failure(error.status, "this job"), passing(error.status) ? "error" : "refused");
    return;
  }
  if (mine !== loading) return;
  say("");
  $("jobs-detail-narrative").textContent = incident.narrative || "No notes from the call.";
  $("jobs-detail-narrative").hidden = false;
  $("jobs-detail-flags").replaceChildren(...incident.premise_flags.map((flag) => {
    const li = document.createElement("li");
    li.textContent = `⚠ ${flag.category.replace(/_/g, " ")}: ${flag.description}`;
    return li;
  }));
  $("jobs-detail-flags").hidden = !incident.premise_flags.length;
  const notes = incident.notes || [];
  $("jobs-detail-notes").replaceChildren(...notes.map((note) => {
    const li = document.createElement("li");
    li.textContent = `${when(new Date(note.at).toISOString())} ${note.from}: ${note.text}`;
    return li;
  }));
  $("jobs-detail-notes-block").hidden = !notes.length;
  row(times, "Call received", when(incident.received_at), { first: true }); // the times read in their order
  if (incident.disposition) row(times, "Outcome", incident.disposition.replace(/_/g, " "));
}

function show(open) {
  if (open && state.job?.ackOf) return; // an assignment waiting for its acknowledgement keeps the screen
  document.body.dataset.view = open ? "jobs" : "main";
  $("jobs").hidden = !open;
  $("jobs-open").setAttribute("aria-expanded", String(open));
  if (open) { loadList(); $("jobs-title").focus(); } else { loading += 1; }
}

function back() {
  if (!$("jobs-detail").hidden) { loading += 1; say(""); renderList(); $("jobs-title").focus(); return; }
  show(false);
  $("jobs-open").focus();
}

export function startJobs() {
  $("jobs-open").addEventListener("click", () => show($("jobs").hidden));
  $("jobs-back").addEventListener("click", back);
  $("jobs-retry").addEventListener("click", () => {
    const open = $("jobs-detail").hidden ? null : jobs.find((j) => String(j.incident_id) === $("jobs-detail").dataset.incident);
    if (open) openJob(open); else loadList();
  });
  // A new assignment takes the whole screen: the look back gives way to it at once.
  subscribe((s) => { if (s.job?.ackOf && !$("jobs").hidden) show(false); if (!s.token && !$("jobs").hidden) show(false); });
}
