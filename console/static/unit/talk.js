// Words both ways: a dispatcher's `message` shown large with who sent it (socket.js has acknowledged it), and
// the crew's own text or quick replies to the dispatchers, sent as `message` (kept in the queue while offline).
import { state, set, nextId } from "./store.js";
import { submit } from "./queue.js";

export const QUICK = ["On our way", "Need police", "Need another ambulance", "Delayed by traffic"];
const $ = (id) => document.getElementById(id);
const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

// messages.js hands over each dispatcher's message once. They queue, oldest first: several arriving together
// (a resume after the link was down) are each shown until the crew marks it seen, none hidden by the next.
export function received(m) {
  set({ inbox: [...state.inbox, { id: m.id, text: m.text, from: m.from || "Dispatch", at: Date.now() }] });
  navigator.vibrate?.([200, 100, 200]);
}

export async function write(text) {
  const words = String(text).trim().slice(0, 1000);
  if (!words) return;
  const how = await submit({ type: "message", text: words, id: nextId("message") }, `Message: ${words}`);
  set({ notice: { kind: "info", text: how === "sent" ? `Sent to dispatch: “${words}”.`
    : `“${words}” is waiting to send: it goes when the connection is back.` } });
}

export function renderTalk() {
  const [inbox] = state.inbox, more = state.inbox.length;
  $("inbox").hidden = !inbox;
  if (inbox) {
    $("inbox-from").textContent = `From ${inbox.from} · ${clock(inbox.at)}${more > 1 ? ` · message 1 of ${more}` : ""}`;
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
}
