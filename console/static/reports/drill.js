// The incidents behind a figure: a group, or a target's late ones, longest first, each with the stages of its
// response (call processing, the first unit's turnout and its travel against the drive time predicted when it
// was sent), so "why was it late" is read off the row; any incident opens its whole timeline.
import { $, api, appendRows, cell, duration, query, state, table, when, words } from "./api.js";

const PAGE = 50;
let current = null;
let shown = 0;

// The seconds of the report's target an interval of this incident (or of its unit) is held to, if one applies.
function targetFor(interval, item, unit = null, first = false) {
  const applies = (t) => t.interval === interval && (!t.priorities || t.priorities.includes(item.priority))
    && (!t.capabilities || (unit && t.capabilities.includes(unit.slot))) && (!t.first_unit || first);
  const seconds = (state.report?.targets || []).filter(applies).map((t) => t.seconds);
  return seconds.length ? Math.min(...seconds) : null;
}

const over = (name, value, target) => `${name} ${duration(value)} (target ${duration(target)})`;

// What made the response long, stage by stage, against the targets that apply (else plain thresholds).
function reasons(item, judged = null) {
  const out = [];
  const first = judged || item.units.find((u) => u.call_sign === item.first_unit);
  const isFirst = first?.call_sign === item.first_unit;
  const processing = targetFor("processing", item) ?? 90;
  if (item.processing != null && item.processing > processing) out.push(over("call processing", item.processing, processing));
  if (first?.turnout != null) {
    const turnout = targetFor("turnout", item, first) ?? 120;
    if (first.turnout > turnout) out.push(over(`${first.call_sign}'s turnout`, first.turnout, turnout));
  }
  if (first?.travel != null) {
    const travel = targetFor("travel", item, first, isFirst);
    const slower = first.eta_s && first.travel > first.eta_s * 1.25 + 30;
    if (slower) out.push(`${first.call_sign}'s drive ${duration(first.travel)}, slower than the ${duration(first.eta_s)} predicted`);
    else if (travel != null && first.travel > travel) {
      out.push(`${over(`${first.call_sign}'s drive`, first.travel, travel)}${first.eta_s ? `: predicted ${duration(first.eta_s)} when sent, the nearest free unit was that far` : ""}`);
    }
  }
  if (item.units.some((u) => u.diverted)) out.push("a unit was diverted to another call");
  if (item.response == null && item.status !== "closed") out.push("no unit on scene yet");
  if (item.processing == null && item.response == null) out.push("no unit sent");
  return out.join("; ") || "–";
}

// Late against the query's target, else (for the response) against the response target of its priority.
function lateness(item, q, unit) {
  if (item.late != null) return item.late;
  if (UNIT_LEVEL.has(q.interval)) {
    const target = unit && targetFor(q.interval, item, unit, unit.call_sign === item.first_unit);
    return target == null || unit[q.interval] == null ? null : unit[q.interval] > target;
  }
  const value = item[q.interval];
  const target = value == null ? null : targetFor(q.interval, item);
  return target == null ? null : value > target;
}

const UNIT_LEVEL = new Set(["turnout", "travel"]);

// The unit a list is about: for a unit target, its longest eligible unit (an ambulance for the ambulance's
// travel); for a unit interval, the unit with the longest of it; else the first on scene.
function judgedUnit(item, q) {
  const target = q.target && (state.report?.targets || []).find((t) => t.key === q.target);
  const interval = target && UNIT_LEVEL.has(target.interval) ? target.interval : UNIT_LEVEL.has(q.interval) ? q.interval : null;
  if (!interval) return item.units.find((u) => u.call_sign === item.first_unit) || null;
  const eligible = item.units.filter((u) => u[interval] != null && (!target?.capabilities || target.capabilities.includes(u.slot))
    && (!target?.first_unit || u.call_sign === item.first_unit));
  return eligible.sort((a, b) => b[interval] - a[interval])[0] || null;
}

function row(item, q) {
  const interval = q.interval;
  const id = cell("button", `#${item.id}`, "link");
  id.type = "button";
  id.setAttribute("aria-label", `Timeline of incident ${item.id}`);
  id.addEventListener("click", () => openTimeline(item.id));
  const unit = judgedUnit(item, q);
  const stages = unit
    ? `${unit.call_sign}${unit.station ? ` (${unit.station})` : ""}${unit.call_sign === item.first_unit ? ", first on scene" : ""}: turnout ${duration(unit.turnout)}, travel ${duration(unit.travel)}${unit.eta_s ? ` (predicted ${duration(unit.eta_s)})` : ""}`
    : "–";
  const value = UNIT_LEVEL.has(interval) ? unit?.[interval] : item[interval];
  const isLate = lateness(item, q, unit);
  const late = isLate == null ? "" : isLate ? "late" : "in time";
  return [id, when(item.received_at), `P${item.priority} ${item.type_name || item.type_code}`, item.address || item.municipality || "unknown",
    duration(value), duration(item.processing), stages, cell("span", late, isLate ? "verdict missed" : ""), reasons(item, unit)];
}

async function page() {
  const q = current;
  const params = query({ interval: q.interval, limit: PAGE, offset: shown });
  if (q.by === "none" || q.key == null) { params.set("group_by", "none"); } else { params.set("group_by", q.by); params.set("key", q.key); }
  if (q.target) params.set("target", q.target);
  if (q.late) params.set("late", "true");
  $("drill-said").textContent = "Reading…";
  let answer;
  try {
    answer = await api(`/api/reports/incidents?${params}`);
  } catch (error) {
    if (q === current) $("drill-said").textContent = `Not read: ${error.message}`;
    return;
  }
  if (q !== current) return;
  const rows = answer.items.map((item) => row(item, q));
  if (!shown) {
    $("drill-body").replaceChildren(table(null, ["Incident", "Received", "Type", "Where", words(q.interval), "Processing",
      "Unit: turnout, travel", "Target", "What took long"], rows));
  } else {
    appendRows($("drill-body").querySelector("tbody"), rows);
  }
  shown += answer.items.length;
  $("drill-said").textContent = answer.count ? `${answer.count} incident${answer.count === 1 ? "" : "s"}, longest ${words(q.interval)} first; showing ${shown}.` : "No incident.";
  $("drill-more").hidden = shown >= answer.count;
}

export function openDrill(q) {
  current = q;
  shown = 0;
  $("drill").hidden = false;
  $("drill-title").textContent = `${q.title || "Incidents"}${state.period?.priority ? ` (priority ${state.period.priority} only)` : ""}`;
  $("drill-body").replaceChildren();
  $("drill").scrollIntoView({ block: "start" });
  $("drill").focus();
  return page();
}

export function closeDrill() {
  current = null;
  $("drill").hidden = true;
}

function field(dl, term, value) {
  if (value == null || value === "") return;
  dl.append(cell("dt", term), cell("dd", value));
}

export async function openTimeline(id) {
  const dialog = $("timeline");
  $("timeline-title").textContent = `Incident #${id}`;
  $("timeline-body").replaceChildren(cell("p", "Reading…", "muted"));
  $("timeline-console").href = `/console/#incident=${id}`;
  if (!dialog.open) dialog.showModal();
  let incident;
  try {
    incident = await api(`/api/incidents/${id}`);
  } catch (error) {
    $("timeline-body").replaceChildren(cell("p", `Not read: ${error.message}`, "error"));
    return;
  }
  $("timeline-title").textContent = `#${incident.id} P${incident.priority} ${incident.type_name} · ${words(incident.status)}`;
  const dl = document.createElement("dl");
  field(dl, "Received", incident.received_at && `${when(incident.received_at)} (${state.tz})`);
  field(dl, "Where", incident.location?.label || incident.location?.municipality || "unknown");
  field(dl, "Narrative", incident.narrative);
  field(dl, "Disposition", incident.disposition && words(incident.disposition));
  const list = document.createElement("ol");
  list.className = "timeline";
  for (const e of incident.events || []) {
    const li = document.createElement("li");
    const at = document.createElement("time");
    at.dateTime = e.at;
    at.textContent = new Date(e.at).toLocaleString("en-GB", { timeZone: state.tz, dateStyle: "short", timeStyle: "medium" });
    li.append(at, ` ${e.text || `${words(e.kind)} (${e.actor})`}`);
    list.append(li);
  }
  if (!list.children.length) list.append(cell("li", "Nothing recorded.", "muted"));
  $("timeline-body").replaceChildren(dl, cell("h3", "Timeline"), list);
}

export function setupDrill() {
  $("drill-more").addEventListener("click", () => page());
}
