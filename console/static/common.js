// What every part of the console shares: its state, the API with the dispatcher's token, and small formatters.
export const state = { token: sessionStorage.getItem("dispatch-token"), queue: [], units: new Map(), selected: null,
  incidents: new Map(), markers: new Map(), unitMarkers: new Map(), types: [], recs: null, ws: null, retry: 0 };
export const $ = (id) => document.getElementById(id);
export const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

// A refusal keeps the server's own words (problem JSON's detail, else its title) for whoever shows it.
export class Refused extends Error {
  constructor(status, body) { super(body?.detail || body?.title || `${status}`); this.status = status; }
}

export async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { "Authorization": `Bearer ${state.token}`,
    "Content-Type": "application/json", ...(options.headers || {}) } });
  if (response.status === 401) { signOut("Your token is not valid (any more)."); throw new Error("401"); }
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) throw new Refused(response.status, body);
  return body;
}

export function signOut(message) {
  sessionStorage.removeItem("dispatch-token");
  state.token = null;
  if (state.ws) state.ws.close();
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
  $("app").hidden = true; $("login").hidden = false; $("login-error").textContent = message || "";
}

export function fmt(s) {
  s = Math.floor(s);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}`
    : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// Hours and minutes on the 24-hour clock a dispatch floor keeps, whatever the browser's locale.
export function hhmm(ms) {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

// The alerts panel (alerts.js): alertLine(text, {unit, incident}) names them by call sign and "#id type".
export { alertLine } from "./alerts.js";
