// What a dispatcher does to the incident itself: a note (key O), a new priority, cancelling it, closing it with a
// disposition; and its log, newest first, as the service words it (`text`), else by kind and who.
import { state, $, esc, api, hhmm, Refused } from "./common.js";
import { ask } from "./ask.js";
import { loadQueue } from "./queue.js";
import { unitsOn } from "./incident-units.js";

// CloseIn's dispositions, as the server accepts them.
export const DISPOSITIONS = [["treated", "Treated on scene"], ["transported", "Transported"], ["resolved", "Resolved"],
  ["no_action", "No action needed"], ["false_alarm", "False alarm"], ["referred", "Referred"],
  ["unfounded", "Unfounded"], ["gone_on_arrival", "Gone on arrival"], ["other", "Other"]];
let changed = () => {};
export function onChanged(fn) { changed = fn; }
const say = (text) => { $("incident-result").textContent = text; };

// One compact row of buttons near the top, each opening a small dialog (ask.js); Move… is relocate.js's.
export function actionsHtml(incident) {
  const p = incident.priority;
  return `<div class="act-row" role="group" aria-label="Act on incident #${incident.id}">
      <button type="button" id="add-note" data-needs="floor">Note… <span class="sr-only">(O)</span></button>
      <button type="button" id="reprioritise" data-needs="dispatcher">Priority… <span class="sr-only">now P${p}</span></button>
      <button type="button" id="move-incident" data-needs="floor">Move…</button>
      <button type="button" id="cancel-incident" class="quiet" data-needs="dispatcher">Cancel…</button>
      <button type="button" id="close-incident" data-needs="dispatcher">Close…</button></div>`;
}

export function bindActions() {
  $("add-note")?.addEventListener("click", addNote);
  $("reprioritise")?.addEventListener("click", reprioritise);
  $("cancel-incident")?.addEventListener("click", cancel);
  $("close-incident")?.addEventListener("click", closeIncident);
}

export function focusNote() { if ($("add-note")) addNote(); }

async function act(path, body, done) {
  const id = state.selected;
  try {
    await api(`/api/incidents/${id}/${path}`, { method: "POST", body: JSON.stringify(body) });
    say(done);
    await Promise.all([changed(), loadQueue()]);
    return true;
  } catch (error) {
    // A first close that the server wants confirmed goes back to the asker; any other refusal is said here.
    if (path === "close" && !body.confirm && error instanceof Refused && error.status === 409) throw error;
    say(`Refused: ${error.message}`);
    return false;
  }
}

async function addNote() {
  const answer = await ask({ title: `Note on #${state.selected}`, ok: "Add note",
    fields: [{ name: "text", id: "note-text", label: "Note", required: true, maxlength: 4000 }] });
  if (answer) await act("notes", { text: answer.text }, "Note added.");
}

async function reprioritise() {
  const now = state.incident?.priority;
  const answer = await ask({ title: `Priority of #${state.selected}`, ok: "Set priority",
    fields: [{ name: "priority", label: "Priority", value: String(now),
      options: [1, 2, 3, 4].map((n) => [String(n), `P${n}${n === now ? " (now)" : ""}`]) },
    { name: "reason", label: "Reason", required: true, maxlength: 500 }] });
  if (!answer) return;
  await act("priority", { priority: Number(answer.priority), reason: answer.reason }, `Now P${answer.priority}.`);
}

// Closing or cancelling frees every unit still on the incident: the question names them first.
function standsDown(id) {
  const on = unitsOn(id);
  return on.length ? `This stands down ${on.map((u) => `${u.call_sign} (${u.status.replace(/_/g, " ")})`).join(", ")}. ` : "";
}

async function cancel() {
  const answer = await ask({ title: `Cancel incident #${state.selected}?`, ok: "Cancel incident", no: "Keep it",
    danger: true, text: `${standsDown(state.selected)}It leaves the queue.`,
    fields: [{ name: "reason", label: "Reason", required: true, maxlength: 500 }] });
  if (!answer) return;
  await act("cancel", { reason: answer.reason }, `Incident #${state.selected} cancelled.`);
}

export async function closeIncident() {
  const id = state.selected;
  const answer = await ask({ title: `Close incident #${id}`, ok: "Close incident", no: "Keep it open",
    text: standsDown(id), fields: [{ name: "disposition", label: "Disposition", options: DISPOSITIONS, value: "resolved" },
      { name: "note", label: "Note", long: true, maxlength: 2000 }] });
  if (!answer) return;
  const body = { disposition: answer.disposition, ...(answer.note ? { note: answer.note } : {}) };
  try {
    await act("close", body, `Incident #${id} closed.`);
  } catch (error) {
    // "treated" or "transported" where no unit reached the scene: the server asks to be sure.
    const sure = await ask({ title: "Close it anyway?", text: error.message, ok: "Yes, close it", danger: true });
    if (!sure) { say("Not closed."); return; }
    await act("close", { ...body, confirm: true }, `Incident #${id} closed.`);
  }
}

// ---- the log ------------------------------------------------------------------------------------------------
const clock = (at) => hhmm(Date.parse(at), { seconds: true });

function eventText(e) {
  if (e.text) return e.text;
  const p = e.payload || {};
  const said = p.text || p.reason || p.note || p.disposition || "";
  return `${e.kind.replace(/_/g, " ")} · ${e.actor}${said ? ` · ${said}` : ""}`;
}

export function timelineHtml(events) {
  const newest = [...(events || [])].sort((a, b) => Date.parse(b.at) - Date.parse(a.at) || b.id - a.id);
  if (!newest.length) return '<li class="muted">Nothing logged yet.</li>';
  return newest.map((e) => `<li data-kind="${esc(e.kind)}"><time datetime="${esc(e.at)}">${clock(e.at)}</time> ${esc(eventText(e))}</li>`).join("");
}
