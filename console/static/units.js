// The unit board: one row per unit, updated in place (a row drawn anew every few seconds would take the
// keyboard's focus from its button), sortable by any column (a button in each header, aria-sort telling the
// order) and filtered by kind and status; each crew's unread messages, a button to write to it and, for a
// dispatcher, one to set the unit's status by hand.
import { state, $, fmt } from "./common.js";
import { openTalk, unreadOf } from "./talk.js";
import { select } from "./incident.js";
import { renderCrewsOn } from "./incident-units.js";
import { STATUSES, FREE, statusNodes, statusRank, openStatus, setupStatus } from "./unitstatus.js";

const rows = new Map();  // unit id → its <tr>
const sort = { key: "unit", dir: 1 };
const filter = { kind: "", status: "" };
const byText = (a, b) => String(a).localeCompare(String(b), undefined, { numeric: true, sensitivity: "base" });
const SORT_BY = {
  unit: (a, b) => byText(a.call_sign, b.call_sign),
  kind: (a, b) => byText(a.kind || "", b.kind || ""),
  status: (a, b) => statusRank(a.status) - statusRank(b.status),
  since: (a, b) => b.since - a.since,  // the shortest time in its status first
  incident: (a, b) => (a.incident_id ?? Infinity) - (b.incident_id ?? Infinity) || 0,
  crew: (a, b) => unreadOf(b.id) - unreadOf(a.id),
};
// The status filter's groups, then each status.
const GROUPS = { free: (s) => FREE.has(s), busy: (s) => !FREE.has(s) && s !== "out_of_service" };

function button(className, text, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = className;
  if (text) b.textContent = text;
  b.addEventListener("click", onClick);
  return b;
}

function row(unit) {
  let tr = rows.get(unit.id);
  if (tr) return tr;
  tr = document.createElement("tr");
  tr.dataset.unit = unit.id;
  for (let i = 0; i < 6; i += 1) tr.append(document.createElement("td"));
  const job = button("job", "", () => { const u = state.units.get(unit.id); if (u?.incident_id) select(u.incident_id); });
  const none = document.createElement("span");
  none.className = "muted none";
  none.textContent = "—";
  tr.cells[4].append(job, none);
  const talk = button("talk-open", "", () => openTalk(unit.id));
  talk.dataset.unit = unit.id;
  talk.dataset.needs = "dispatcher";  // writing to a crew is a dispatcher's (roles.js)
  const set = button("set-status quiet", "", (e) => openStatus(unit.id, e.currentTarget));
  set.dataset.needs = "dispatcher";
  tr.cells[5].append(talk, set);
  rows.set(unit.id, tr);
  return tr;
}

function setText(el, text) { if (el.textContent !== text) el.textContent = text; }

function incidentName(id) {
  const incident = state.incidents.get(id);
  return incident ? `#${id} ${incident.type_code}` : `#${id}`;
}

function fill(tr, u) {
  const [sign, kind, status, since, job, talk] = tr.cells;
  setText(sign, u.call_sign);
  setText(kind, u.kind || "");
  // A unit whose device has not answered is sent only when no other can go: the board says so beside its status.
  const said = `${u.status}${u.silent ? ":silent" : ""}`;
  if (status.dataset.status !== said) {
    status.replaceChildren(...statusNodes(u.status));
    if (u.silent) {
      const silent = document.createElement("span");
      silent.className = "not-answering";
      silent.title = "its device has not answered; the matcher sends it only when no other unit can go";
      silent.textContent = " · not answering";
      status.append(silent);
    }
    status.className = `status status-${u.status}`;
    status.dataset.status = said;
  }
  setText(since, fmt((Date.now() - u.since) / 1000));
  const [jobButton, none] = job.children;
  jobButton.hidden = u.incident_id == null;
  none.hidden = u.incident_id != null;
  if (u.incident_id != null) {
    const name = incidentName(u.incident_id);
    if (jobButton.dataset.name !== name) {
      jobButton.dataset.name = name;
      const whose = document.createElement("span");
      whose.className = "sr-only";
      whose.textContent = `show incident `;
      jobButton.replaceChildren(whose, name);
    }
  }
  const [talkButton, setButton] = talk.children;
  if (setButton.dataset.sign !== u.call_sign) {
    setButton.dataset.sign = u.call_sign;
    const hidden = document.createElement("span");
    hidden.className = "sr-only";
    hidden.textContent = ` of ${u.call_sign}`;
    setButton.replaceChildren("Set status", hidden);
  }
  const unread = unreadOf(u.id);
  tr.classList.toggle("unread", unread > 0);
  if (talkButton.dataset.unread === String(unread) && talkButton.dataset.sign === u.call_sign) return;
  // The name says whose crew and how many unread; the badge shows the count.
  const hidden = document.createElement("span");
  hidden.className = "sr-only";
  hidden.textContent = ` crew of ${u.call_sign}${unread ? `, ${unread} unread` : ""}`;
  talkButton.replaceChildren("Message", hidden);
  if (unread) {
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.setAttribute("aria-hidden", "true");
    badge.textContent = String(unread);
    talkButton.append(badge);
  }
  Object.assign(talkButton.dataset, { unread: String(unread), sign: u.call_sign });
}

function shown(u) {
  if (filter.kind && u.kind !== filter.kind) return false;
  if (!filter.status) return true;
  return GROUPS[filter.status] ? GROUPS[filter.status](u.status) : u.status === filter.status;
}

// The kind filter offers the kinds the units have; rebuilt only when they change, the choice kept.
function kindOptions() {
  const kinds = [...new Set([...state.units.values()].map((u) => u.kind).filter(Boolean))].sort(byText);
  const select = $("unit-kind");
  if (select.dataset.kinds === kinds.join(",")) return;
  select.dataset.kinds = kinds.join(",");
  const all = new Option("all kinds", "");
  select.replaceChildren(all, ...kinds.map((k) => new Option(k, k)));
  if (kinds.includes(filter.kind)) select.value = filter.kind; else filter.kind = "";
}

export function renderUnits() {
  const body = $("unit-board").tBodies[0];
  const focused = body.contains(document.activeElement) ? document.activeElement : null;
  for (const [id, tr] of rows) if (!state.units.has(id)) { tr.remove(); rows.delete(id); }
  kindOptions();
  const order = SORT_BY[sort.key];
  const units = [...state.units.values()].sort((a, b) => sort.dir * order(a, b) || byText(a.call_sign, b.call_sign));
  let at = 0, count = 0;
  for (const unit of units) {
    const tr = row(unit);
    fill(tr, unit);
    tr.hidden = !shown(unit);
    if (!tr.hidden) count += 1;
    // Moved only when out of place: a node taken out of the page loses the keyboard's focus.
    if (body.children[at] !== tr) body.insertBefore(tr, body.children[at] || null);
    at += 1;
  }
  // A row moved by a new order took its focused button's focus with it: given back.
  if (focused?.isConnected && document.activeElement !== focused) focused.focus({ preventScroll: true });
  setText($("unit-count"), count === units.length ? `(${count})` : `(${count} of ${units.length})`);
  renderCrewsOn();
}

function sortBy(key) {
  sort.dir = sort.key === key ? -sort.dir : 1;
  sort.key = key;
  for (const th of $("unit-board").tHead.rows[0].cells) {
    const mine = th.querySelector("button")?.dataset.sort === key;
    th.setAttribute("aria-sort", mine ? (sort.dir > 0 ? "ascending" : "descending") : "none");
  }
  renderUnits();
}

export function setupUnits() {
  for (const b of $("unit-board").tHead.querySelectorAll("button[data-sort]")) {
    b.addEventListener("click", () => sortBy(b.dataset.sort));
  }
  const status = $("unit-status");
  status.append(new Option("free (available, returning)", "free"), new Option("on a job", "busy"),
    ...STATUSES.map((s) => new Option(`${s.mark} ${s.label}`, s.value)));
  status.addEventListener("change", () => { filter.status = status.value; renderUnits(); });
  $("unit-kind").addEventListener("change", (e) => { filter.kind = e.target.value; renderUnits(); });
  setupStatus(renderUnits);
}

// The crews on the incident shown in the detail: drawn by the incident's panel, told here of every change.
export { renderCrewsOn };
