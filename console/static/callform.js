// The new-call form's life: opened by N, checked against history and duplicates as it is typed, located on the
// map with a pin the call-taker can drag, and taken (once, by its idempotency key).
import { state, $, esc, api, alertLine } from "./common.js";
import { setupCallForm, loadTypes, resetType, typeCode, leaveCall } from "./calltake.js";
import { duplicateText, showHistory, clearHistory } from "./history.js";
import { answered, clearQuestions } from "./questions.js";
import { map } from "./map.js";
import { loadQueue } from "./queue.js";
import { select } from "./incident.js";

let suggestTimer = null;
export async function openCall() {
  // A new call over a started one: it is thrown away only if the call-taker says so.
  if ($("call-dialog").open && !(await leaveCall())) { $("call-location").focus(); return; }
  await loadTypes();
  $("call-form").reset(); resetType(); $("call-warning").textContent = ""; $("call-located").textContent = ""; clearHistory();
  clearQuestions(); showDuplicates([]);
  state.pinned = null;
  // Not modal: the map stays usable, so the call-taker can drag the pin to where the caller is.
  $("call-dialog").show();
  $("call-location").focus();
}

function closeCall() {
  $("call-dialog").close();
  if (state.pin) { state.pin.remove(); state.pin = null; }
}

function callBody() {
  const body = { channel: "phone", location_text: $("call-location").value || null, type_code: typeCode(),
    caller_number: $("call-number").value || null, caller_name: $("call-name").value || null,
    narrative: $("call-narrative").value || null, exercise: $("call-exercise").checked };
  const answers = answered();
  if (answers.length) body.answers = answers;
  if (state.pinned) { body.lat = state.pinned.lat; body.lon = state.pinned.lng; }
  return body;
}

let checkTimer = null, checks = 0;
function checkSoon() { clearTimeout(checkTimer); checkTimer = setTimeout(checkCall, 300); }
// A number half typed is left out of the check (the service would refuse the whole check for it).
const PHONE = /^\+?[0-9][0-9 ()./-]{2,30}$/;
async function checkCall() {
  const placed = $("call-location").value.trim() || state.pinned, number = $("call-number").value.trim();
  if (!$("call-dialog").open || (!placed && !PHONE.test(number))) return;
  const body = { ...callBody(), caller_number: PHONE.test(number) ? number : null };
  delete body.answers;  // the check is about the place and the number
  const mine = ++checks;  // an answer overtaken by a later check is dropped, not shown over it
  const seen = await api("/api/calls/check", { method: "POST", body: JSON.stringify(body) }).catch(() => null);
  if (!seen || mine !== checks) return;
  const where = seen.location;
  showHistory(seen.history, { number: body.caller_number, located: where.lat != null });
  // The place's flags and its repeat calls are in the history below the form (hazards in red).
  $("call-warning").textContent = seen.duplicates.length
    ? `Possible duplicate of ${seen.duplicates.map(duplicateText).join(", ")}` : "";
  showDuplicates(seen.duplicates);
  if (!placed) return;
  $("call-located").textContent = where.label ? `→ ${where.label} (${where.match}, ${Math.round(where.confidence * 100)} %)`
    + (where.needs_location ? " — not sure: drag the pin" : "") : "not found: drag the pin to the place";
  if (where.lat != null && !state.pinned) {
    if (!state.pin) {
      state.pin = L.marker([where.lat, where.lon], { draggable: true, title: "Drag to the caller's place" }).addTo(map);
      state.pin.on("dragend", () => { state.pinned = state.pin.getLatLng(); checkSoon(); });
    } else state.pin.setLatLng([where.lat, where.lon]);
    map.panTo([where.lat, where.lon]);
  }
}
async function suggest() {
  const q = $("call-location").value.trim();
  if (q.length < 3) return;
  const found = await api(`/api/geocode?q=${encodeURIComponent(q)}&limit=5`).catch(() => null);
  if (!found) return;
  $("call-suggestions").innerHTML = (found.candidates || []).map((c) => `<option value="${esc(c.label)}">`).join("");
  $("call-located").textContent = found.label ? `→ ${found.label} (${Math.round(found.confidence * 100)} %)` : "not found yet";
}
// A suspected duplicate can be confirmed in one key (Alt+1, Alt+2…): the call then joins that incident, with what
// was typed for it, instead of making a new one.
let duplicates = [];
function showDuplicates(found) {
  duplicates = found.slice(0, 9);
  const list = $("call-duplicates");
  list.hidden = !duplicates.length;
  list.innerHTML = duplicates.map((d, i) => `<li><button type="button" data-attach="${d.id}">Attach to #${d.id}
    <kbd>Alt+${i + 1}</kbd></button> ${esc(duplicateText(d))}</li>`).join("");
}

let taking = false;
async function take(extra = {}) {
  if (taking) return;  // one call, one request, whatever is pressed twice
  taking = true;
  const body = { ...callBody(), ...extra };
  try {
    const made = await api("/api/calls", { method: "POST", body: JSON.stringify(body),
      headers: { "Idempotency-Key": crypto.randomUUID() } });
    if (made.attached_to) alertLine(`call attached to incident #${made.attached_to}`, { floor: true });
    else if (made.duplicates?.length) alertLine(`possible duplicate of #${made.duplicates.map((d) => d.id).join(", #")}`, { incident: made.id, floor: true, cause: `duplicate:${made.id}` });
    closeCall();
    await loadQueue();
    select(made.attached_to || made.id);
  } catch (error) { $("call-warning").textContent = error.message; }
  finally { taking = false; }
}

function submitCall(event) { event.preventDefault(); take(); }
const attach = (id) => take({ duplicate_of: id });

export function setupCall() {
  $("call-form").addEventListener("submit", submitCall);
  setupCallForm({ close: closeCall, changed: checkSoon });
  $("call-location").addEventListener("input", () => {
    clearTimeout(suggestTimer); suggestTimer = setTimeout(suggest, 200); state.pinned = null; checkSoon(); });
  $("call-number").addEventListener("input", checkSoon);
  $("call-duplicates").addEventListener("click", (e) => {
    const button = e.target.closest("[data-attach]");
    if (button) attach(Number(button.dataset.attach));
  });
  $("call-dialog").addEventListener("keydown", (e) => {
    const n = e.altKey && /^Digit[1-9]$/.test(e.code) ? Number(e.code.slice(5)) : 0;
    if (n && duplicates[n - 1]) { e.preventDefault(); attach(duplicates[n - 1].id); }
  });
}
