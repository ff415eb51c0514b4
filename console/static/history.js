// What the call-taker must know before taking a call, as soon as the number or the place is known: the earlier
// calls from this number (when, what, how it ended), the place's flags (hazards first, in red: a crew must never
// be sent blind into one), and the earlier incidents at the place; "none" said plainly, never a blank. All of it
// comes with the check the form already runs as the call-taker types (POST /api/calls/check: its `history`,
// which the service records as a read of the caller's or the place's history). Also how a suspected duplicate
// reads, the same in the form and in the incident's panel: "#152 Road collision · 40 m · 6 min ago".
import { state, $, esc, hhmm, ymd, distance as inUnits } from "./common.js";

export const typeName = (code) => state.types.find((t) => t.code === code)?.name || code;

export function distance(m) {
  return m == null ? null : inUnits(m);
}

export function ago(at, now = Date.now()) {
  const minutes = Math.floor((now - Date.parse(at)) / 60_000);
  if (!(minutes >= 1)) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours} h ago` : `${Math.floor(hours / 24)} days ago`;
}

// A duplicate found by the caller's number alone has no distance when either place is unknown: said so.
export const duplicateText = (d) =>
  [`#${d.id} ${typeName(d.type_code)}`, distance(d.distance_m) ?? "same number, place unknown", ago(d.received_at)].join(" · ");

const when = (at) => `${ymd(Date.parse(at))} ${hhmm(Date.parse(at))} (${ago(at)})`;
const outcome = (e) => esc(`${(e.status || "?").replace(/_/g, " ")}${e.disposition ? ` (${e.disposition})` : ""}`);
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

function callerPart(h) {
  if (!h.caller_calls) return '<h3>This number</h3><p class="none">No earlier calls from this number.</p>';
  return `<h3>This number: ${plural(h.caller_calls, "earlier call")}</h3><ul>${h.caller_last.map((c) =>
    `<li>${esc(when(c.received_at))} · ${esc(typeName(c.type_code))} · ${outcome(c)}${c.address_label ? ` · ${esc(c.address_label)}` : ""}</li>`).join("")}</ul>`;
}

// A place's flags, hazards first and in red (the call form and the incident's panel alike); "" when none.
export function flagList(flags) {
  const sorted = [...(flags || [])].sort((a, b) => (b.category === "hazard") - (a.category === "hazard"));
  return sorted.length ? `<ul class="flags">${sorted.map((f) => f.category === "hazard"
    ? `<li class="hazard"><strong>⚠ HAZARD:</strong> ${esc(f.description)}</li>`
    : `<li class="flag">⚑ ${esc(f.category.replace(/_/g, " "))}: ${esc(f.description)}</li>`).join("")}</ul>` : "";
}

function placePart(h) {
  const flags = flagList(h.flags) || '<p class="none">No flags at this place.</p>';
  const months = `the last ${plural(h.history_months, "month")}`;
  const incidents = h.premise_incidents
    ? `<p>${plural(h.premise_incidents, "incident")} here in ${months}${h.repeat_address ? ' <span class="flag">⚑ repeat address</span>' : ""}:</p>
      <ul>${h.premise_last.map((i) => `<li>${esc(when(i.received_at))} · #${i.id} ${esc(typeName(i.type_code))} · ${outcome(i)}</li>`).join("")}</ul>`
    : `<p class="none">No incidents at this place in ${months}.</p>`;
  return `<h3>This place</h3>${flags}${incidents}`;
}

// `number`: a number was looked up; `located`: the place was found (its history is then the place's).
export function showHistory(history, { number, located }) {
  const box = $("call-history");
  box.innerHTML = (number ? callerPart(history) : "") + (located ? placePart(history) : "");
  box.hidden = !box.innerHTML;
}

export function clearHistory() {
  $("call-history").innerHTML = "";
  $("call-history").hidden = true;
}
