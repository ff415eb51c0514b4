// The console's own keys (N J K A O M / X, docs/console.md), and what keeps words from becoming them. Words typed
// where no field takes them (the focus on a list item or a button, a field that has just gone: a call taken, a
// dialog closed) must never assign a unit, write a note or a message, or acknowledge an alert:
// - a key counts only when pressed on its own: no other printable key in the second before it, typed anywhere
//   (in a field, in a dialog, on the page). A run of the same walk (J J K, X X) goes on without that pause;
// - A, O, M and X, whose work reaches a crew or is kept, wait a moment before acting: any key typed in that
//   moment (the rest of a word: "assign", "on my way") means they were a word's letter, and they do nothing.
//   A that does nothing for that says so in the incident's status line;
// - a click or a touch is a deliberate move to the console: typing before it no longer counts.
// After J, K or A the keyboard is on the selected incident in its list (queue.js focusSelected), never lost.
import { state, $ } from "./common.js";
import { move, focusSelected } from "./queue.js";
import { assignTop, focusNote } from "./incident.js";
import { openCall } from "./callform.js";
import { openTalkFromKeyboard } from "./talk.js";
import { openFind } from "./search.js";
import { may } from "./roles.js";
import { alertForKey, acknowledge } from "./alerts.js";

const TYPING_MS = 1000;  // a key counts after this long without another printable key
// A, O, M, X act after this long with no key after them: longer than the pause between two letters of a slow
// typist (a word typed at 20 words a minute has about 600 ms between its letters).
const QUIET_MS = 700;
let typedAt = -Infinity; // the last printable key, anywhere
let walk = "";           // the run of keys that acted since the last pause: "jk" or "x"; "" when none
let waiting = null;      // a key waiting for its quiet moment: {key, timer}

const WALKS = { j: "jk", k: "jk", x: "x" };
// What each key does, if the role may (a key whose work the server would refuse does nothing; its control is
// hidden too). `quiet`: it waits for QUIET_MS with no key after it. `pick`: what it acts on, chosen as it is
// pressed (what the dispatcher saw), given to `run`.
const KEYS = {
  n: { may: "floor", run: () => openCall() },
  j: { run: async () => { await move(1); focusSelected(); } },
  k: { run: async () => { await move(-1); focusSelected(); } },
  a: { may: "dispatcher", quiet: true, run: async () => { await assignTop(); focusSelected(); } },
  o: { may: "floor", quiet: true, run: () => focusNote() },
  m: { may: "dispatcher", quiet: true, run: () => openTalkFromKeyboard() },
  "/": { run: () => openFind() },
  x: { quiet: true, pick: () => alertForKey(), run: (li) => acknowledge(li) },
};

function drop(why) {
  if (!waiting) return;
  clearTimeout(waiting.timer);
  if (why && waiting.key === "a" && $("incident-result")) $("incident-result").textContent = why;
  waiting = null;
}

// Space on a button or a list item presses it: not typing.
function printable(e) {
  return e.key.length === 1 && !(e.key === " " && e.target.closest?.("button, [role=option], summary, a"));
}

function onKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  // Typing: a printable key anywhere, or Enter and Backspace in a text field (Enter on a button presses it).
  const field = e.target.closest?.("input, textarea, [contenteditable]");
  const typed = printable(e), typing = typed || (field && (e.key === "Enter" || e.key === "Backspace"));
  if (typing) drop("Not assigned: keys were typed right after A. Press A on its own to assign.");
  if (field || e.target.closest?.("select, dialog") || $("app").hidden || !typed) {
    // A token typed at sign-in is not the console's typing.
    if (typing && !e.target.closest?.("#login")) { typedAt = e.timeStamp; walk = ""; }
    return;
  }
  const key = e.key.toLowerCase();
  const alone = e.timeStamp - typedAt >= TYPING_MS || (walk && walk === WALKS[key]);
  typedAt = e.timeStamp;
  const command = KEYS[key];
  if (!alone || !command || (command.may && !may(command.may))) { walk = ""; return; }
  walk = WALKS[key] || "";
  if (key !== "j" && key !== "k") e.preventDefault();  // N's, O's, /'s letter is not typed into what they open
  if (!command.quiet) { command.run(); return; }
  const incident = state.selected, dialogs = document.querySelectorAll("dialog[open]").length;
  const picked = command.pick?.();
  waiting = { key, timer: setTimeout(() => {
    waiting = null;
    // Still the incident the key was pressed on, and no dialog opened meanwhile.
    if (state.selected !== incident || document.querySelectorAll("dialog[open]").length > dialogs) return;
    command.run(picked);
  }, QUIET_MS) };
}

export function setupKeys() {
  document.addEventListener("pointerdown", () => { typedAt = -Infinity; walk = ""; }, { capture: true });
  document.addEventListener("keydown", onKey);
}
