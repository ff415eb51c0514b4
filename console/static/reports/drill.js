// The incidents behind a figure: a group, or a target's late ones, longest first, each with the stages of its
// response (call processing, the first unit's turnout and its travel against the drive time predicted when it
// was sent), so "why was it late" is read off the row; any incident opens its whole timeline.
import { $, api, appendRows, cell, duration, query, state, table, words } from "./api.js";

const PAGE = 50;
let current = null;
let shown = 0;

function reasons(item) {
  const out = [];
  const first = item.units.find((u) => u.call_sign === item.first_unit);
  if (item.processing != null && item.processing > 90) out.push(`call processing ${duration(item.processing)}`);
  if (first?.turnout != null && first.turnout > 90) out.push(`turnout ${duration(first.turnout)}`);
  if (first?.travel != null && first.eta_s && first.travel > first.eta_s * 1.25 + 30) {
    out.push(`travel ${duration(first.travel)} against ${duration(first.eta_s)} predicted`);
  } else if (first?.travel != null && first.travel > 600) out.push(`long drive (${duration(first.travel)})`);
  if (item.units.some((u) => u.diverted)) out.push("a unit was diverted to another call");
  if (item.response == null && item.status !== "closed") out.push("no unit on scene yet");
  if (item.processing == null && item.response == null) out.push("no unit sent");
  return out.join("; ") || "–";
}

function row(item, interval) {
  const id = cell("button", `#${item.id}`, "link");
  id.type = "button";
  id.setAttribute("aria-label", `Timeline of incident ${item.id}`);
  id.addEventListener("click", () => openTimeline(item.id));
  const first = item.units.find((u) => u.call_sign === item.first_unit);
  const stages = first
    ? `${first.call_sign}${first.station ? ` (${first.station})` : ""}: turnout ${duration(first.turnout)}, travel ${duration(first.travel)}${first.eta_s ? ` (predicted ${duration(first.eta_s)})` : ""}`
    : "–";
  const late = item.late == null ? "" : item.late ? "late" : "in time";
  return [id, new Date(item.received_at).toLocaleString("en-GB", { dateStyle: "short", timeStyle: "short" }),
    `P${item.priority} ${item.type_name}`, item.address || item.municipality || "unknown",
    duration(item[interval]), duration(item.processing), stages, cell("span", late, item.late ? "verdict missed" : ""), reasons(item)];
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
  const rows = answer.items.map((item) => row(item, q.interval));
  if (!shown) {
    $("drill-body").replaceChildren(table(null, ["Incident", "Received", "Type", "Where", words(q.interval), "Processing",
      "First unit on scene", "Target", "What took long"], rows));
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
  $("drill-title").textContent = q.title || "Incidents";
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
  field(dl, "Where", incident.location?.label || incident.address_label || "unknown");
  field(dl, "Narrative", incident.narrative);
  field(dl, "Disposition", incident.disposition && words(incident.disposition));
  const list = document.createElement("ol");
  list.className = "timeline";
  for (const e of incident.events || []) {
    const li = document.createElement("li");
    const at = document.createElement("time");
    at.dateTime = e.at;
    at.textContent = new Date(e.at).toLocaleTimeString("en-GB");
    li.append(at, ` ${e.text || `${words(e.kind)} (${e.actor})`}`);
    list.append(li);
  }
  if (!list.children.length) list.append(cell("li", "Nothing recorded.", "muted"));
  $("timeline-body").replaceChildren(dl, cell("h3", "Timeline"), list);
}

export function setupDrill() {
  $("drill-more").addEventListener("click", () => page());
}
