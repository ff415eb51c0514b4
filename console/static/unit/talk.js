// Words both ways: a dispatcher's `message` shown large with who sent it (socket.js has acknowledged it), and
// the crew's own text or quick replies to the dispatchers, sent as `message` (kept in the queue while offline).
import { state, set, nextId, clock } from "./store.js";
import { submit, onFlush } from "./queue.js";

export const QUICK = ["On our way", "Need police", "Need another unit", "Delayed by traffic"];
const $ = (id) => document.getElementById(id);

// messages.js hands over each dispatcher's message once. They queue, oldest first: several arriving together
// (a resume after the link was down) are each shown until the crew marks it seen, none hidden by the next. Each
// keeps when the dispatcher sent it (the server's `sent_at`), not when it reached the device: words written
// before a stretch offline may be out of date, and the crew must see that they are.
export function received(m) {
  set({ inbox: [...state.inbox, { id: m.id, text: m.text, from: m.from || "Dispatch", at: m.sent_at ?? Date.now() }] });
  navigator.vibrate?.([200, 100, 200]);
}

// The crew's messages awaiting their answer, by id: what they said.
const unanswered = new Map();
onFlush((message) => { if (message.type === "message") unanswered.set(message.id, message.text); });

export async function write(text) {
  const words = String(text).trim().slice(0, 1000);
  if (!words) return;
  const id = nextId("message");
  unanswered.set(id, words);
  const how = await submit({ type: "message", text: words, id }, `Message: ${words}`);
  set({ notice: { kind: "info", about: id, text: how === "sent" ? `Sending to dispatch: “${words}”…`
    : `“${words}” is waiting to send: it goes when the connection is back.` } });
}

const AGAIN = new Set(["retry", "rate_limited", "service_unavailable"]);
// The answer to one of the crew's messages; false when it answers something else. Said on screen in place of
// what the screen says of that message (a press since then keeps its own words there), or when it is a refusal.
export function replied(answer) {
  const words = unanswered.get(answer.re);
  if (words == null) return false;
  unanswered.delete(answer.re);
  const final = answer.type === "error" && !AGAIN.has(answer.code);
  if (!final && state.notice?.about !== answer.re) return true;
  const text = answer.type === "ok" ? `Sent to dispatch: “${words}”.`
    : AGAIN.has(answer.code) ? `The dispatch centre could not take “${words}” just now: it is sent again in a moment.`
      : `“${words}” was not sent: ${answer.message || answer.code}`;
  set({ notice: { kind: final ? "error" : "info", about: answer.re, text } });
  return true;
}

const OLD_MS = 3 * 60_000;  // a message older than this when shown says how old it is
function age(at) {
  const minutes = Math.floor((Date.now() - at) / 60_000);
  if (Date.now() - at < OLD_MS) return "";
  return minutes < 120 ? ` (${minutes} min ago)` : ` (${Math.floor(minutes / 60)} h ago)`;
}

export function renderTalk() {
  const [inbox] = state.inbox, more = state.inbox.length;
  $("inbox").hidden = !inbox;
  if (inbox) {
    $("inbox-from").textContent = `From ${inbox.from} · sent ${clock(inbox.at)}${age(inbox.at)}${more > 1 ? ` · message 1 of ${more}` : ""}`;
    $("inbox-text").textContent = inbox.text;
  }
  const queued = state.queued || [];
  $("outbox").hidden = !queued.length;
  $("outbox").replaceChildren(...queued.map((entry) => {
    const line = document.createElement("p");
    line.textContent = `Waiting to send: ${entry.label} (pressed ${clock(entry.message.at)})`;
    return line;
  }));
}

export function startTalk() {
  $("quick").replaceChildren(...QUICK.map((words) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = words;
    button.addEventListener("click", () => write(words));
    return button;
  }));
  $("talk-form").addEventListener("submit", (event) => {
    event.preventDefault();
    write($("talk-text").value);
    $("talk-text").value = "";
  });
  $("inbox-seen").addEventListener("click", () => set({ inbox: state.inbox.slice(1) }));
  $("talk").addEventListener("toggle", () => { if ($("talk").open) loadLog(); });
}

// The conversation as the service keeps it (GET /api/units/{id}/messages): a message marked seen can be read
// again. Read when the panel opens; offline, said so.
async function loadLog() {
  const say = (text) => { $("talk-log-state").hidden = !text; $("talk-log-state").textContent = text; };
  if (state.unitId == null) return;
  try {
    const response = await fetch(`/api/units/${state.unitId}/messages?limit=20`,
      { headers: { Authorization: `Bearer ${state.token}` }, signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(String(response.status));
    const { messages } = await response.json();
    $("talk-log").replaceChildren(...messages.reverse().map((m) => {
      const li = document.createElement("li");
      const who = m.direction === "to_crew" ? (m.from || "Dispatch") : "Us";
      li.textContent = `${clock(Date.parse(m.at))} ${who}: ${m.text}`;
      li.className = m.direction;
      return li;
    }));
    $("talk-log").hidden = !messages.length;
    say(messages.length ? "" : "No messages yet today.");
  } catch {
    say("The earlier messages cannot be loaded now (no connection).");
  }
}
