// The commander's reports: sign in, pick a period and a grouping, and every section reads its figures from the
// report API. The period and grouping live in the address (#from=…&to=…&by=…), so a view can be bookmarked,
// sent, and gone back to. Sections: today.js (live), figures.js (targets, intervals, chart), drill.js (the
// incidents behind a figure, their timelines), workload.js (units and stations), feedback.js (callers).
import { $, api, download, query, Refused, signOut, state } from "./api.js";
import { periodWords, presetOf, presetPeriod } from "./period.js";
import { setupFigures, showReport } from "./figures.js";
import { closeDrill, setupDrill } from "./drill.js";
import { showToday } from "./today.js";
import { showWorkload } from "./workload.js";
import { showSatisfaction } from "./feedback.js";

const ROLES = new Set(["commander", "admin"]);
const TODAY_EVERY_MS = 30_000;
let todayText = new Date().toISOString().slice(0, 10);  // until the service says its own calendar's date
let asked = 0;
let addressProblem = "";  // said once, with the next figures: why the address's view was not shown

function working(text, kind = "") {
  $("working").textContent = text;
  $("working").className = `working ${kind}`;
}

// Picks a choice if the select has it; says whether it had.
function choose(id, value) {
  const known = [...$(id).options].some((o) => o.value === value);
  if (known) $(id).value = value;
  return known;
}

// The view the address names; false (and a word why) when it names none or no dates.
function fromAddress() {
  const p = new URLSearchParams(location.hash.slice(1));
  if (!p.has("from") && !p.has("to")) return false;
  const valid = (d) => /^\d{4}-\d{2}-\d{2}$/.test(d || "") && !Number.isNaN(Date.parse(d));
  if (!valid(p.get("from")) || !valid(p.get("to"))) {
    addressProblem = `The address's period (${p.get("from") || "no start"} to ${p.get("to") || "no end"}) is not two dates, so the last 7 days are shown.`;
    return false;
  }
  $("from").value = p.get("from");
  $("to").value = p.get("to");
  const unknown = [];
  if (p.get("by") && !choose("group-by", p.get("by"))) unknown.push(`grouping "${p.get("by")}"`);
  if (p.get("priority") && !choose("priority", p.get("priority"))) unknown.push(`priority "${p.get("priority")}"`);
  else if (!p.get("priority")) $("priority").value = "";
  if (unknown.length) addressProblem = `The address's ${unknown.join(" and ")} is not one of the choices, so the form's is shown.`;
  $("interval").dataset.wanted = p.get("interval") || "response";  // taken when the report's intervals are listed
  $("preset").value = presetOf($("from").value, $("to").value, todayText);
  return true;
}

function toAddress() {
  const p = new URLSearchParams({ from: $("from").value, to: $("to").value, by: $("group-by").value });
  if ($("priority").value) p.set("priority", $("priority").value);
  const interval = $("interval").dataset.wanted || $("interval").value;
  if (interval && interval !== "response") p.set("interval", interval);
  if (location.hash.slice(1) === p.toString()) return;
  if (location.hash) history.pushState(null, "", `#${p}`);
  else history.replaceState(null, "", `#${p}`);  // the first view: Back leaves the page, not to a bare /reports/
}
window.addEventListener("report-interval", toAddress);

async function load() {
  const from = $("from").value, to = $("to").value, by = $("group-by").value;
  const stale = (text) => { working(text, "error"); document.body.classList.add("stale"); };
  if (!from || !to) { stale("Give both dates of the period. The figures below are still the last period's."); return; }
  if (to < from) { stale(`The period ends (${to}) before it starts (${from}). The figures below are still the last period's.`); return; }
  toAddress();  // a period refused above never reaches the address
  const mine = ++asked;
  const priority = $("priority").value;
  state.period = { from, to, by, priority };
  closeDrill();
  const started = performance.now();
  working(`Working on ${periodWords(from, to)}… a long period takes a few seconds.`, "busy");
  document.body.setAttribute("aria-busy", "true");
  showSatisfaction(from, to);
  try {
    const report = await api(`/api/reports/response-times?${query()}`);
    if (mine !== asked) return;
    state.tz = report.time_zone;
    document.body.classList.remove("stale");
    showReport(report);
    const said = `${periodWords(from, to)}, by ${$("group-by").selectedOptions[0].text.toLowerCase()}${priority ? `, priority ${priority} only` : ""}`;
    working(`${addressProblem ? `${addressProblem} ` : ""}${said}: read in ${((performance.now() - started) / 1000).toFixed(1)} s.`, addressProblem ? "error" : "");
    addressProblem = "";
    $("print-said").textContent = `${said} (${report.time_zone}). Printed ${new Date().toLocaleString("en-GB", { timeZone: report.time_zone, dateStyle: "medium", timeStyle: "short" })}.`;
  } catch (error) {
    if (mine !== asked || error.status === 401) return;
    working(error instanceof Refused && error.status !== 500 ? `Not shown: ${error.message}` : "The service did not answer: try again.", "error");
  } finally {
    if (mine === asked) document.body.removeAttribute("aria-busy");
  }
  // Units and stations after the figures: over a long period both are seconds of the database's two cores.
  if (mine === asked) showWorkload(from, to);
}

async function today() {
  try {
    const now = await showToday();
    if (now?.since) todayText = now.since.slice(0, 10);
  } catch { /* today.js says so in its panel */ }
}

async function start() {
  const me = await api("/api/me");
  if (!ROLES.has(me.role)) {
    signOut(`These reports are for commanders; ${me.username} signs in as ${me.role.replace("_", " ")}. The console is at /console/.`);
    return;
  }
  $("who").textContent = `${me.username} (${me.role})`;
  state.tz = me.time_zone;  // the centre's clock, before any report read (today's panel is drawn first)
  $("login").hidden = true;
  $("app").hidden = false;
  await today();
  setInterval(today, TODAY_EVERY_MS);
  if (!fromAddress()) {
    [$("from").value, $("to").value] = presetPeriod("7d", todayText);
    $("preset").value = "7d";
  }
  await load();
}

$("preset").addEventListener("change", () => {
  const period = presetPeriod($("preset").value, todayText);
  if (!period) { $("from").focus(); return; }
  [$("from").value, $("to").value] = period;
  load();
});
for (const id of ["from", "to"]) $(id).addEventListener("change", () => { $("preset").value = presetOf($("from").value, $("to").value, todayText); });
for (const id of ["group-by", "priority"]) $(id).addEventListener("change", () => load());
$("controls").addEventListener("submit", (e) => { e.preventDefault(); load(); });
window.addEventListener("popstate", () => { if (fromAddress()) load(); });

$("get-csv").addEventListener("click", () => download(`/api/reports/response-times?${query({ format: "csv" })}`, "response-times.csv")
  .catch((e) => working(`No CSV: ${e.message}`, "error")));
$("get-html").addEventListener("click", () => download(`/api/reports/report.html?${new URLSearchParams({ from: state.period.from, to: state.period.to })}`, "response-times.html")
  .catch((e) => working(`No HTML report: ${e.message}`, "error")));
$("print").addEventListener("click", () => window.print());
$("sign-out").addEventListener("click", () => signOut());
$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  state.token = $("token").value.trim();
  sessionStorage.setItem("dispatch-token", state.token);
  try { await start(); } catch (error) { if (error.status !== 401) $("login-error").textContent = error.message; }
});

setupFigures();
setupDrill();
if (state.token) start().catch(() => signOut()); else $("login").hidden = false;
