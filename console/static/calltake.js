// The call-taker's form, beyond locating the call (app.js): the incident type, searched by name or code or left
// to the narrative (the server types a call without a type_code by its keywords, and is asked which type that
// will be while the narrative is typed), and a started call is never thrown away or taken half-way by a key:
// Enter only moves on (the fields in the order a caller is asked: where, the number, the name, what happened,
// then the type it makes and its key questions), Ctrl+Enter takes the call, and leaving a started call (Esc,
// Cancel, N) asks first, "No" being the default.
import { state, $, esc, api } from "./common.js";
import { showQuestions, nextQuestion, questionsStarted } from "./questions.js";

const FIELDS = ["call-location", "call-number", "call-name", "call-narrative", "call-type"];
const NOT_LISTED = "Pick a type from the list, or leave the field empty to type the call by its narrative.";
let chosen = null;  // the incident type picked by the call-taker; null: the narrative's
let matches = [], active = -1;
let fromNarrative = null, asked = 0, classifyTimer = null;
let hooks = { close: () => {}, changed: () => {} };

export function typeCode() { return chosen?.code ?? null; }

export function callStarted() {
  return Boolean(chosen || state.pinned || FIELDS.some((id) => $(id).value.trim()) || questionsStarted());
}

export async function loadTypes() {
  if (!state.types.length) state.types = await api("/api/incident-types");
}

export function resetType() {
  chosen = null; fromNarrative = null; asked++;
  $("call-type").value = ""; $("call-type").setCustomValidity("");
  closeList(); showPlan();
}

// ---- the type: a combobox filtered by name and code --------------------------------------------------------
const label = (t) => `${t.name} (${t.code})`;
const sends = (plan) => Object.entries(plan).map(([k, n]) => `${n} ${k}`).join(", ") || "nobody";

function showPlan() {
  const plan = $("call-plan");
  if (chosen) plan.textContent = `P${chosen.priority} · sends: ${sends(chosen.plan)}`;
  else if (fromNarrative) {
    plan.textContent = `From the narrative: ${fromNarrative.name} (${fromNarrative.type_code}), P${fromNarrative.priority}`
      + ` · sends: ${sends(fromNarrative.plan)}`
      + (fromNarrative.matched.length ? ` · words: ${fromNarrative.matched.join(", ")}` : "");
  } else plan.textContent = "From the narrative: the type follows from what the caller says.";
  showQuestions(chosen || state.types.find((t) => t.code === fromNarrative?.type_code));
}

function openList(query) {
  const q = query.trim().toLowerCase();
  // By code or by its name in any language the types file gives ("Kaatuminen", "Fall", "Sturz").
  matches = state.types.filter((t) => !q || t.code.toLowerCase().includes(q)
    || [t.name, ...Object.values(t.names || {})].some((n) => n.toLowerCase().includes(q)));
  active = -1;
  $("call-type-list").innerHTML = matches.length ? matches.map((t, i) => `<li id="call-type-opt-${i}" role="option"
      aria-selected="false" data-index="${i}">${esc(t.name)} <span class="muted">${esc(t.code)} · P${t.priority}</span></li>`).join("")
    : '<li class="muted" aria-disabled="true">no type by that name or code</li>';
  $("call-type-list").hidden = false;
  $("call-type").setAttribute("aria-expanded", "true");
  $("call-type").removeAttribute("aria-activedescendant");
}

function closeList() {
  $("call-type-list").hidden = true;
  $("call-type").setAttribute("aria-expanded", "false");
  $("call-type").removeAttribute("aria-activedescendant");
  active = -1;
}

function highlight(index) {
  active = (index + matches.length) % matches.length;
  for (const li of $("call-type-list").querySelectorAll("[role=option]")) {
    li.setAttribute("aria-selected", String(Number(li.dataset.index) === active));
  }
  const li = $(`call-type-opt-${active}`);
  $("call-type").setAttribute("aria-activedescendant", li.id);
  li.scrollIntoView({ block: "nearest" });
}

function pick(type) {
  chosen = type;
  $("call-type").value = type ? label(type) : "";
  $("call-type").setCustomValidity("");
  closeList(); showPlan(); hooks.changed();
}

function typed() {
  const text = $("call-type").value.trim(), lower = text.toLowerCase();
  // A code or a name typed out in full is that type, as if picked from the list.
  chosen = state.types.find((t) => [t.code, t.name, label(t)].some((s) => s.toLowerCase() === lower)) || null;
  $("call-type").setCustomValidity(text && !chosen ? NOT_LISTED : "");
  if (text) openList(text); else closeList();
  showPlan(); hooks.changed();
}

function typeKeys(e) {
  const open = !$("call-type-list").hidden;
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    e.preventDefault();
    if (!open) openList(chosen ? "" : $("call-type").value);
    if (matches.length) highlight(active < 0 && e.key === "ArrowUp" ? -1 : active + (e.key === "ArrowDown" ? 1 : -1));
  } else if (e.key === "Enter" && open) {
    e.preventDefault(); e.stopPropagation();  // picking from the list is never the form's Enter
    if (active >= 0) pick(matches[active]); else if (matches.length === 1) pick(matches[0]); else closeList();
  } else if (e.key === "Escape" && open) {
    e.preventDefault(); e.stopPropagation();  // closes the list, not the call
    closeList();
  }
}

// ---- the narrative's type, as the server will pick it ------------------------------------------------------
async function classify() {
  const narrative = $("call-narrative").value.trim(), ticket = ++asked;
  const found = narrative ? await api("/api/calls/classify", { method: "POST", body: JSON.stringify({ narrative }) })
    .catch(() => null) : null;
  if (ticket !== asked) return;  // a later keystroke asked again: only its answer counts
  fromNarrative = found;
  showPlan();
}

// ---- never lose a started call -----------------------------------------------------------------------------
function ask() {
  const dialog = $("discard-dialog"), back = document.activeElement;
  return new Promise((resolve) => {
    const done = (yes) => {
      $("discard-yes").onclick = $("discard-no").onclick = dialog.oncancel = null;
      dialog.close();
      if (!yes) back?.focus();
      resolve(yes);
    };
    $("discard-yes").onclick = () => done(true);
    $("discard-no").onclick = () => done(false);
    dialog.oncancel = (e) => { e.preventDefault(); done(false); };  // Esc here is "No"
    dialog.showModal();
    $("discard-no").focus();  // the default: Enter or Space keeps the call
  });
}

export async function leaveCall() {
  if (!$("call-dialog").open) return true;
  if (callStarted() && !(await ask())) return false;
  hooks.close();
  // Focus left in the closed form would keep the console's keys (N, J, K) from working.
  if ($("call-dialog").contains(document.activeElement)) document.activeElement.blur();
  return true;
}

// What a call needs before it is taken: a place (typed or pinned), and a type (picked, or the narrative's).
function missing() {
  if (!$("call-location").value.trim() && !state.pinned) return ["call-location", "Where is it? A location is needed (or drag the pin)."];
  if (!chosen && !$("call-narrative").value.trim()) return ["call-narrative", "What happened? A narrative or a type is needed."];
  if (!$("call-form").checkValidity()) return ["call-type", NOT_LISTED];
  return null;
}

function takeCall() {
  const gap = missing();
  if (!gap) { $("call-form").requestSubmit($("call-submit")); return; }
  $("call-warning").textContent = gap[1];
  $(gap[0]).focus();
}

function formKeys(e) {
  // Esc closes what is open first: the type list (wherever the key came from), then a second Esc asks to leave.
  if (e.key === "Escape") { e.preventDefault(); if ($("call-type-list").hidden) leaveCall(); else closeList(); return; }
  if (e.key !== "Enter" || e.isComposing) return;
  if (e.ctrlKey || e.metaKey) { e.preventDefault(); takeCall(); return; }  // the one key that takes the call
  if (e.target.id === "call-narrative" && e.shiftKey) return;  // a new line in the narrative
  if (!["INPUT", "TEXTAREA"].includes(e.target.tagName)) return;  // Enter on a button presses it
  e.preventDefault();  // the browser's implicit submission would press the form's first button
  if (e.target.dataset.question !== undefined) { nextQuestion(e.target); return; }
  const next = FIELDS[FIELDS.indexOf(e.target.id) + 1];
  if (next) { $(next).focus(); return; }
  // From the type on to its first key question, if it has any.
  $("call-questions").querySelector("input")?.focus();
}

export function setupCallForm({ close, changed }) {
  hooks = { close, changed };
  $("call-type").addEventListener("input", typed);
  $("call-type").addEventListener("keydown", typeKeys);
  $("call-type").addEventListener("blur", closeList);
  $("call-type-list").addEventListener("mousedown", (e) => e.preventDefault());  // the field keeps the focus
  $("call-type-list").addEventListener("click", (e) => {
    const li = e.target.closest("[role=option]");
    if (li) pick(matches[Number(li.dataset.index)]);
  });
  $("call-narrative").addEventListener("input", () => { clearTimeout(classifyTimer); classifyTimer = setTimeout(classify, 300); });
  $("call-dialog").addEventListener("keydown", formKeys);
  $("call-cancel").addEventListener("click", leaveCall);
  window.addEventListener("beforeunload", (e) => { if ($("call-dialog").open && callStarted()) e.preventDefault(); });
}
