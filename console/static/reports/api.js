// The reports' API: the commander's token (kept for the tab, shared with the console), answers as JSON, refusals
// with the server's own words; and the formatters every section shares.
export const $ = (id) => document.getElementById(id);
export const state = { token: sessionStorage.getItem("dispatch-token"), period: null, report: null, tz: undefined };

export class Refused extends Error {
  constructor(status, body) { super(body?.detail || body?.title || `${status}`); this.status = status; }
}

export async function api(path, { raw = false } = {}) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${state.token}` } });
  if (response.status === 401) { signOut("Your token is not valid (any more)."); throw new Refused(401, null); }
  if (!response.ok) {
    const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
    throw new Refused(response.status, body);
  }
  return raw ? response : response.json();
}

// The chosen period and grouping as the report API's query.
export function query(extra = {}) {
  const { from, to, by, priority } = state.period;
  return new URLSearchParams({ from, to, group_by: by, ...(priority ? { priority } : {}), ...extra });
}

export function signOut(message = "") {
  sessionStorage.removeItem("dispatch-token");
  state.token = null;
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
}

// A duration as people read it: "45 s", "6:30 min", "2 h 05 min".
export function duration(seconds) {
  if (seconds == null) return "–";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")} min`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor(s / 60) % 60).padStart(2, "0")} min`;
}

// A share, cut (not rounded) to a tenth of a percent: 89.96 % must not read as the 90 % goal it missed.
// A share to a tenth of a percent, rounded; but never rounded up onto the goal it missed (89.96 % of a 90 % goal
// reads 89.9 %, not a met-looking 90 %).
export function percent(f, goal = null) {
  if (f == null) return "–";
  let tenths = Math.round(f * 1000) / 10;
  if (goal != null && f < goal && tenths >= goal * 100) tenths = Math.floor(f * 1000) / 10;
  return `${Number.isInteger(tenths) ? tenths : tenths.toFixed(1)} %`;
}

// A moment as the centre's clock and calendar say it (the report's time zone), whatever the browser's is.
export function when(iso, { date = true } = {}) {
  return new Date(iso).toLocaleString("en-GB", { timeZone: state.tz, ...(date ? { dateStyle: "medium" } : {}), timeStyle: "short" });
}
export const words = (s) => String(s ?? "").replaceAll("_", " ");

export function cell(tag, text, className) {
  const node = document.createElement(tag);
  if (text != null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

// A table from a head row and body rows of cells (strings or nodes).
export function table(caption, head, rows) {
  const t = document.createElement("table");
  if (caption) t.append(cell("caption", caption));
  const thead = t.createTHead().insertRow();
  for (const h of head) { const th = cell("th", h); th.scope = "col"; thead.append(th); }
  appendRows(t.createTBody(), rows);
  return t;
}

export function appendRows(body, rows) {
  for (const row of rows) {
    const tr = body.insertRow();
    row.forEach((value, i) => {
      const c = cell(i === 0 ? "th" : "td");
      if (i === 0) c.scope = "row";
      if (value instanceof Node) c.append(value); else c.textContent = value ?? "–";
      tr.append(c);
    });
  }
}

// Saves a response (CSV, HTML) as the file the server names.
export async function download(path, fallback) {
  const response = await api(path, { raw: true });
  const name = /filename="([^"]+)"/.exec(response.headers.get("content-disposition") || "")?.[1] || fallback;
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
