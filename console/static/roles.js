// What the signed-in role may do on this console, as the server allows it (dispatch/*/routes.py): a dispatcher
// everything (an admin has every role); a call-taker takes calls and writes notes (the floor's work) but neither
// assigns nor writes to crews; a commander watches. Controls carry data-needs="dispatcher" or "floor" and the CSS
// hides them for other roles; keys ask may() first, so that no key sends what the server would refuse (403).
const FLOOR = new Set(["call_taker", "dispatcher", "admin"]);
const DISPATCHER = new Set(["dispatcher", "admin"]);

export function setRole(role) {
  if (role) document.body.dataset.role = role; else delete document.body.dataset.role;
}

export function may(need) {
  const role = document.body.dataset.role;
  return need === "dispatcher" ? DISPATCHER.has(role) : need === "floor" ? FLOOR.has(role) : Boolean(role);
}
