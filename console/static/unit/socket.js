// The link to /ws/unit (docs/protocol.md): the token as a subprotocol, `hello` with the last seq first,
// every numbered message acknowledged, a reconnect that backs off. Messages go to the handler main.js gives.
import { state, set, sawSeq } from "./store.js";

const PROTOCOL = 1; // docs/protocol.md; a server of another version refuses the socket (4005)
let ws = null;
// Replaced by another device (4009) or refused as out of date (4005): only the crew's reload reconnects, never
// the network coming back, or two devices of one unit would take it from each other in turn.
let parked = false;
let handler = () => {};
let attempt = 0;
let timer = null;
// An assignment's ack waits for the crew's button: on the server that ack is what acknowledges it.
const waitsForCrew = (m) => m.type === "assignment" || (m.type === "current" && m.assignment?.status === "assigned");

export function onMessage(fn) { handler = fn; }

export function send(message) {
  if (!ws || ws.readyState !== WebSocket.OPEN) return false;
  ws.send(JSON.stringify(message));
  return true;
}

export const isOpen = () => ws?.readyState === WebSocket.OPEN;

export function ack(id) { return send({ type: "ack", of: id }); }

export function connect() {
  clearTimeout(timer);
  parked = false; // a sign-in or a reload: the crew chose this device
  if (!state.token) return;
  // No network: nothing to try until the browser says it is back (the "online" event below).
  if (navigator.onLine === false) { set({ conn: "offline" }); return; }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/unit`, [`dispatch.v${PROTOCOL}`, `bearer.${state.token}`]);
  ws = socket;
  socket.onopen = () => {
    socket.send(JSON.stringify({ type: "hello", last_seq: state.lastSeq, protocol: PROTOCOL }));
  };
  socket.onmessage = (event) => {
    let message;
    try { message = JSON.parse(event.data); } catch { return; }
    if (message.type === "welcome") { attempt = 0; set({ conn: "connected" }); }
    if (message.type === "ping") { send({ type: "pong" }); return; }
    if (message.seq != null) {
      sawSeq(message.seq);
      if (!waitsForCrew(message) || state.job?.acked === message.id) ack(message.id);
    }
    handler(message);
  };
  socket.onclose = (event) => {
    if (ws !== socket) return;
    ws = null;
    if (!state.token) { set({ conn: "offline" }); return; }
    // 4009: a newer socket of this unit took over (another tab or device); do not fight it.
    if (event.code === 4009) { parked = true; set({ conn: "replaced", notice: { kind: "error",
      text: "This unit signed in on another device. Reload to take it back." } }); return; }
    // 4005: this app speaks another version than the service; only a reload (the new app) helps.
    if (event.code === 4005) { parked = true; set({ conn: "offline", notice: { kind: "error",
      text: "This app is out of date for the dispatch centre. Reload the page to update it." } }); return; }
    attempt += 1;
    set({ conn: navigator.onLine === false || attempt > 3 ? "offline" : "reconnecting" });
    timer = setTimeout(connect, Math.min(30_000, 1000 * 2 ** Math.min(attempt, 5)));
  };
}

export function disconnect() {
  clearTimeout(timer);
  const socket = ws;
  ws = null;
  socket?.close();
  set({ conn: "offline" });
}

addEventListener("online", () => { if (state.token && !ws && !parked) { attempt = 0; connect(); } });
// The network went: the socket may not notice for a while; presses from now on wait in the queue.
addEventListener("offline", () => { const socket = ws; if (socket) { ws = null; socket.close(); set({ conn: "offline" }); } });
