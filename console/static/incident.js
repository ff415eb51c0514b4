// The selected incident: what is known of it, the units recommended for it, the units on it, its log.
import { state, $, esc, api, alertLine } from "./common.js";
import { renderCrewsOn } from "./units.js";
import { loadTypes } from "./calltake.js";
import { duplicateText, flagList } from "./history.js";
import { loadQueue, renderQueue } from "./queue.js";
import { centreOn } from "./map.js";

export async function select(id) {
  state.selected = id;
  renderQueue();
  const [incident, recs] = await Promise.all([api(`/api/incidents/${id}`),
    api(`/api/incidents/${id}/recommendations`).catch(() => null), loadTypes()]);
  state.recs = recs;
  centreOn(incident);
  const h = incident.history || {};
  $("detail").innerHTML = `<h2>P${incident.priority} ${esc(incident.type_name)} <small>#${incident.id} · ${esc(incident.status)}</small></h2>
    <dl><dt>Where</dt><dd>${esc(incident.location.label || "unknown")} ${incident.location.needs_location ? '<span class="flag">⚑ needs location</span>' : ""}</dd>
    <dt>Caller</dt><dd>${esc(incident.caller?.caller_name || "")} ${esc(incident.caller?.callback_number || "")}</dd>
    <dt>Narrative</dt><dd>${esc(incident.narrative || "")}</dd>
    <dt>Premise</dt><dd>${h.premise_incidents || 0} incidents in ${h.history_months} months${h.repeat_address ? ' <span class="flag">⚑ repeat address</span>' : ""}
      ${flagList(h.flags)}</dd>
    <dt>Duplicates</dt><dd>${(incident.duplicates || []).map((d) => esc(duplicateText(d))).join("<br>") || "none"}</dd></dl>
    <h2>Recommended ${recs ? `<small>(${esc(recs.policy)}, ${esc(recs.mode)})</small>` : ""}</h2>
    <ul class="recs">${recs ? recs.picks.map((p) => `<li><span>${esc(p.capability)}: <strong>${esc(p.call_sign)}</strong></span>
      <span>${esc(p.reason)}</span></li>`).join("") + (recs.unfilled.length ? `<li class="warning">No unit for ${recs.unfilled.map((s) => `${s.count} ${esc(s.capability)}`).join(", ")}</li>` : "")
      : '<li class="muted">nothing to dispatch</li>'}</ul>
    ${recs && recs.picks.length ? '<button id="assign" data-needs="dispatcher">Assign recommended (A)</button>' : ""}
    <h2>Units on it</h2><ul id="detail-units" class="recs"></ul>
    <h2>Timeline</h2><ul class="timeline">${(incident.events || []).map((e) => `<li>${new Date(e.at).toLocaleTimeString()} ${esc(e.kind)} ${esc(e.actor)}</li>`).join("")}</ul>`;
  $("assign")?.addEventListener("click", assignTop);
  renderCrewsOn();
}

export async function assignTop() {
  if (!state.selected || !state.recs || !state.recs.picks.length) return;
  try {
    await api(`/api/incidents/${state.selected}/assign`, { method: "POST",
      body: JSON.stringify({ unit_ids: state.recs.picks.map((p) => p.unit_id) }) });
    await Promise.all([loadQueue(), select(state.selected)]);
  } catch (error) { alertLine(`assign failed: ${error.message}`); }
}
