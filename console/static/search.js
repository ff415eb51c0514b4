// Find: incidents open and closed, by words (address, caller's number or name, type, narrative, #number) and
// filters (open or closed, priority, type, when received), newest first, a page at a time
// (GET /api/incidents/search). Any result opens here, read-only: what was known of it, how it ended, its whole
// timeline; and can be shown on the console (the incident's panel, read-only once closed, and the map).
import { state, $, esc, api, hhmm, ymd, Refused } from "./common.js";
import { loadTypes } from "./calltake.js";
import { select } from "./incident.js";

const PAGE = 50;
const TYPING_MS = 300;  // a pause in typing searches; Enter searches at once
let opener = null;      // where the keyboard was before Find opened, to go back there on close
let asked = 0;          // the newest search: an older answer arriving late is dropped
let cursor = null;      // next_cursor of the page shown last
let typing = null;
const found = new Map();  // id → search item, for the detail's units and the open/closed test

// A date and time on the floor's 24-hour clock, whatever the browser's locale.
function when(iso) {
  if (!iso) return "";
  return `${ymd(Date.parse(iso))} ${hhmm(Date.parse(iso))}`;
}
const words = (s) => String(s ?? "").replace(/_/g, " ");
const isOpen = (item) => !["closed", "cancelled"].includes(item.status);

function said(text, kind = "") { $("find-said").textContent = text; $("find-said").className = kind; }

function params(next) {
  const p = new URLSearchParams({ status: $("find-status").value, limit: String(PAGE) });
  const q = $("find-q").value.trim();
  if (q) p.set("q", q);
  for (const [field, name] of [["find-priority", "priority"], ["find-type", "type"], ["find-from", "from"], ["find-to", "to"]]) {
    if ($(field).value) p.set(name, $(field).value);
  }
  if (next) p.set("cursor", next);
  return p;
}

function itemNode(item) {
  const li = document.createElement("li");
  li.className = `p${item.priority}${isOpen(item) ? "" : " ended"}`;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "find-item";
  button.dataset.id = item.id;
  const ended = item.closed_at ? ` · ${words(item.disposition || item.status)} ${when(item.closed_at)}` : "";
  const caller = [item.caller_name, item.caller_number].filter(Boolean).join(" ");
  button.innerHTML = `<span class="find-head"><strong>#${item.id} P${item.priority} ${esc(item.type_code)}</strong>
    ${esc(item.type_name)} · <span class="find-state">${esc(words(item.status))}</span></span>
    <span>${esc(item.address_label || "location unknown")}</span>
    <span class="find-meta">${esc(when(item.received_at))}${esc(ended)}${caller ? ` · ${esc(caller)}` : ""}${
      item.units.length ? ` · ${esc(item.units.join(", "))}` : ""}</span>`;
  li.append(button);
  return li;
}

async function search(more = false) {
  clearTimeout(typing);
  const mine = ++asked;
  said(more ? "Reading more…" : "Searching…");
  let page;
  try {
    page = await api(`/api/incidents/search?${params(more ? cursor : null)}`);
  } catch (error) {
    if (mine !== asked || error.message === "401") return;
    said(error instanceof Refused ? `Not searched: ${error.message}` : "No answer from the service: try again.", "error");
    return;
  }
  if (mine !== asked) return;
  // A search that lands while the keyboard walks the results keeps it on the same incident, if still found.
  const focused = document.activeElement?.closest?.("#find-results .find-item")?.dataset.id;
  if (!more) { found.clear(); $("find-results").replaceChildren(); }
  for (const item of page.items) found.set(item.id, item);
  $("find-results").append(...page.items.map(itemNode));
  if (focused) $("find-results").querySelector(`.find-item[data-id="${focused}"]`)?.focus();
  cursor = page.next_cursor;
  $("find-more").hidden = !cursor;
  const n = found.size;
  said(n ? `${n}${cursor ? "+" : ""} incident${n === 1 ? "" : "s"} found.` : "No incident found.");
}

// ---- one incident, read-only ----------------------------------------------------------------------------
function field(dl, term, value) {
  if (value == null || value === "") return;
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.textContent = value;
  dl.append(dt, dd);
}

function detailNode(incident, item) {
  const section = [];
  const title = document.createElement("h3");
  title.id = "find-detail-title";
  title.tabIndex = -1;
  title.textContent = `#${incident.id} P${incident.priority} ${incident.type_name} · ${words(incident.status)}`;
  section.push(title);
  const dl = document.createElement("dl");
  field(dl, "Received", when(incident.received_at));
  field(dl, "Ended", item?.closed_at ? `${when(item.closed_at)}${incident.disposition ? `, ${words(incident.disposition)}` : ""}`
    : incident.disposition ? words(incident.disposition) : null);
  field(dl, "Where", incident.location?.label || "unknown");
  const caller = incident.caller || {};
  field(dl, "Caller", [caller.caller_name, caller.caller_number || caller.callback_number].filter(Boolean).join(" ") || null);
  field(dl, "Narrative", incident.narrative);
  field(dl, "Units", item?.units?.length ? item.units.join(", ") : "none sent");
  if (incident.duplicate_of) field(dl, "Duplicate of", `#${incident.duplicate_of}`);
  for (const a of incident.answers || []) field(dl, a.question, a.answer);
  section.push(dl);
  // On the console: the incident's panel (read-only for a closed one) and the map centred on it.
  const show = document.createElement("button");
  show.type = "button";
  show.id = "find-show";
  show.textContent = "Show on the console";
  show.addEventListener("click", () => { closeFind(false); select(incident.id); });
  section.push(show);
  const heading = document.createElement("h4");
  heading.textContent = "Timeline";
  const list = document.createElement("ol");
  list.className = "timeline";
  list.replaceChildren(...(incident.events || []).map((e) => {
    const li = document.createElement("li");
    const at = document.createElement("time");
    at.dateTime = e.at;
    at.textContent = when(e.at);
    li.append(at, ` ${e.text || `${words(e.kind)} (${e.actor})`}`);
    return li;
  }));
  if (!list.children.length) list.innerHTML = '<li class="muted">Nothing recorded.</li>';
  section.push(heading, list);
  return section;
}

let opened = 0;  // the last incident asked for: an older answer landing late must not replace it

async function openResult(id) {
  const pane = $("find-detail");
  const mine = ++opened;
  for (const b of document.querySelectorAll("#find-results .find-item")) b.setAttribute("aria-current", String(b.dataset.id === String(id)));
  pane.setAttribute("aria-busy", "true");
  pane.setAttribute("aria-label", `Incident #${id}`);
  // The last incident's panel goes at once: its "Show on the console" must not be pressed for this one.
  const reading = document.createElement("p");
  reading.className = "muted";
  reading.textContent = `Reading incident #${id}…`;
  pane.replaceChildren(reading);
  try {
    const incident = await api(`/api/incidents/${id}`);
    if (mine !== opened) return;
    pane.replaceChildren(...detailNode(incident, found.get(id)));
  } catch (error) {
    if (error.message === "401" || mine !== opened) return;
    const p = document.createElement("p");
    p.className = "error";
    p.textContent = `Incident #${id} could not be read: ${error instanceof Refused ? error.message : "no answer from the service"}.`;
    pane.replaceChildren(p);
  } finally {
    if (mine === opened) pane.removeAttribute("aria-busy");
  }
}

// ---- the dialog and its keys ----------------------------------------------------------------------------
export async function openFind() {
  const dialog = $("find-dialog");
  if (dialog.open) { $("find-q").focus(); return; }
  opener = document.activeElement;
  dialog.showModal();
  $("find-q").focus();
  $("find-q").select();
  if (!$("find-type").options.length || $("find-type").options.length === 1) fillTypes();
  if (!found.size) search();
}

export function closeFind(restore = true) {
  $("find-dialog").close();
  if (restore && opener?.isConnected) opener.focus();
  opener = null;
}

async function fillTypes() {
  await loadTypes().catch(() => null);
  const chosen = $("find-type").value;
  $("find-type").replaceChildren(new Option("Any", ""),
    ...[...state.types].sort((a, b) => a.code.localeCompare(b.code)).map((t) => new Option(`${t.code} · ${t.name}`, t.code, false, t.code === chosen)));
}

// Up and down walk the results, Home and End go to the ends; up from the first goes back to the words.
function walk(e) {
  const items = [...document.querySelectorAll("#find-results .find-item")];
  if (!items.length) return;
  const at = items.indexOf(document.activeElement);
  let next = null;
  if (e.key === "ArrowDown") next = at < 0 ? 0 : Math.min(items.length - 1, at + 1);
  else if (e.key === "ArrowUp") next = at <= 0 ? -1 : at - 1;
  else if (e.key === "Home" && at >= 0) next = 0;
  else if (e.key === "End" && at >= 0) next = items.length - 1;
  else return;
  e.preventDefault();
  if (next < 0) $("find-q").focus(); else items[next].focus();
}

export function setupFind() {
  $("find-open").addEventListener("click", openFind);
  $("find-form").addEventListener("submit", (e) => { e.preventDefault(); search(); });
  $("find-q").addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(search, TYPING_MS); });
  for (const id of ["find-status", "find-priority", "find-type", "find-from", "find-to"]) $(id).addEventListener("change", () => search());
  $("find-more").addEventListener("click", () => search(true));
  $("find-results").addEventListener("click", (e) => {
    const button = e.target.closest(".find-item");
    if (button) openResult(Number(button.dataset.id));
  });
  $("find-results").addEventListener("keydown", walk);
  $("find-q").addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") walk(e);
    // Esc closes Find at once (a search field's own Esc would only empty it first).
    else if (e.key === "Escape") { e.preventDefault(); closeFind(); }
  });
  $("find-close").addEventListener("click", () => closeFind());
  // Esc (the dialog's cancel) closes it as the button does, the keyboard going back where it was.
  $("find-dialog").addEventListener("cancel", (e) => { e.preventDefault(); closeFind(); });
}
