// The unit board: one row per unit, updated in place (a row drawn anew every few seconds would take the
// keyboard's focus from its button), with each crew's unread messages and a button to write to it.
import { state, $, fmt } from "./common.js";
import { openTalk, unreadOf } from "./talk.js";
import { renderCrewsOn } from "./incident-units.js";

const rows = new Map();  // unit id → its <tr>

function row(unit) {
  let tr = rows.get(unit.id);
  if (tr) return tr;
  tr = document.createElement("tr");
  tr.dataset.unit = unit.id;
  for (let i = 0; i < 4; i += 1) tr.append(document.createElement("td"));
  const button = document.createElement("button");
  button.type = "button";
  button.className = "talk-open";
  button.dataset.unit = unit.id;
  button.dataset.needs = "dispatcher";  // writing to a crew is a dispatcher's (roles.js)
  button.addEventListener("click", () => openTalk(unit.id));
  tr.cells[3].append(button);
  rows.set(unit.id, tr);
  return tr;
}

function setText(el, text) { if (el.textContent !== text) el.textContent = text; }

function fill(tr, u) {
  const [sign, status, since, talk] = tr.cells;
  setText(sign, u.call_sign);
  setText(status, u.status.replace(/_/g, " "));
  status.className = `status-${u.status}`;
  setText(since, fmt((Date.now() - u.since) / 1000));
  const unread = unreadOf(u.id);
  const button = talk.firstChild;
  if (button.dataset.unread === String(unread) && button.dataset.sign === u.call_sign) return;
  // The name says whose crew and how many unread; the badge shows the count.
  const hidden = document.createElement("span");
  hidden.className = "sr-only";
  hidden.textContent = ` crew of ${u.call_sign}${unread ? `, ${unread} unread` : ""}`;
  button.replaceChildren("Message", hidden);
  if (unread) {
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.setAttribute("aria-hidden", "true");
    badge.textContent = String(unread);
    button.append(badge);
  }
  Object.assign(button.dataset, { unread: String(unread), sign: u.call_sign });
  tr.classList.toggle("unread", unread > 0);
}

export function renderUnits() {
  const body = $("unit-board").tBodies[0];
  for (const [id, tr] of rows) if (!state.units.has(id)) { tr.remove(); rows.delete(id); }
  let at = 0;
  for (const unit of state.units.values()) {
    const tr = row(unit);
    fill(tr, unit);
    // Moved only when out of place: a node taken out of the page loses the keyboard's focus.
    if (body.children[at] !== tr) body.insertBefore(tr, body.children[at] || null);
    at += 1;
  }
  renderCrewsOn();
}

// The crews on the incident shown in the detail: drawn by the incident's panel, told here of every change.
export { renderCrewsOn };
