// What every part of the console shares: its state, the API with the dispatcher's token, and small formatters.
export const state = { token: sessionStorage.getItem("dispatch-token"), tz: null, queue: [], units: new Map(), selected: null,
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

// A distance in the centre's units (/api/me): "350 m", "1.2 km"; or "900 ft", "1.2 mi" (feet up to a tenth of a mile).
export function distance(m, { round = 1 } = {}) {
  if (state.distanceUnit === "mi") {
    const feet = m / 0.3048;
    return feet < 528 ? `${Math.round(feet / (round * 10)) * round * 10} ft` : `${(m / 1609.344).toFixed(1)} mi`;
  }
  return m >= 1000 ? `${(m / 1000).toFixed(1)} km` : `${Math.round(m / round) * round} m`;
}

export function fmt(s) {
  s = Math.floor(s);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}`
    : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// The centre's clock: its time zone (from /api/me) and the 24-hour clock a dispatch floor keeps, whatever the
// browser's locale and zone. Until signed in, the browser's zone.
const clocks = new Map();
function clockFormat(options) {
  const key = `${state.tz}|${JSON.stringify(options)}`;
  if (!clocks.has(key)) {
    clocks.set(key, new Intl.DateTimeFormat("en-GB", { timeZone: state.tz || undefined, hourCycle: "h23", ...options }));
  }
  return clocks.get(key);
}

// Hours and minutes ("14:05"), with seconds when asked ("14:05:09").
export function hhmm(ms, { seconds = false } = {}) {
  return clockFormat({ hour: "2-digit", minute: "2-digit", ...(seconds ? { second: "2-digit" } : {}) }).format(new Date(ms));
}

// A date on the centre's calendar, "2026-12-06".
export function ymd(ms) {
  const parts = Object.fromEntries(clockFormat({ year: "numeric", month: "2-digit", day: "2-digit" })
    .formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}

// The alerts panel (alerts.js): alertLine(text, {unit, incident}) names them by call sign and "#id type".
export { alertLine } from "./alerts.js";
