// Units and stations over the period: how much of the time each was committed to incidents (utilisation), how many
// jobs, how long out of service; and the busiest hours of the week, as a grid of incidents received.
import { $, api, cell, percent, state, table } from "./api.js";

const WEEKDAYS = ["", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
let asked = 0;

const hours = (s) => (s == null ? "–" : s < 3600 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);

function bar(fraction) {
  const wrap = cell("span", null, "share");
  const fill = cell("span", null, "share-fill");
  fill.style.width = `${Math.min(100, Math.round((fraction || 0) * 100))}%`;
  wrap.append(fill, cell("span", percent(fraction), "share-text"));
  return wrap;
}

function grid(cells) {
  const most = Math.max(1, ...cells.map((c) => c.incidents));
  const count = new Map(cells.map((c) => [`${c.weekday}/${c.hour}`, c.incidents]));
  const t = document.createElement("table");
  t.className = "heat";
  t.append(cell("caption", "Incidents received by day of the week and hour (local time); darker is busier"));
  const head = t.createTHead().insertRow();
  head.append(cell("td"));
  for (let h = 0; h < 24; h += 1) { const th = cell("th", String(h).padStart(2, "0")); th.scope = "col"; head.append(th); }
  const body = t.createTBody();
  for (let d = 1; d <= 7; d += 1) {
    const tr = body.insertRow();
    const th = cell("th", WEEKDAYS[d]);
    th.scope = "row";
    tr.append(th);
    for (let h = 0; h < 24; h += 1) {
      const n = count.get(`${d}/${h}`) || 0;
      const td = cell("td", String(n));
      const level = n / most;
      td.style.background = `rgba(28, 93, 153, ${(level * 0.9).toFixed(2)})`;
      if (level > 0.5) td.className = "dark";
      tr.append(td);
    }
  }
  return t;
}

export async function showWorkload(from, to) {
  const mine = ++asked;
  $("workload-body").replaceChildren(cell("p", "Reading…", "muted"));
  let answer;
  try {
    answer = await api(`/api/reports/units?${new URLSearchParams({ from, to })}`);
  } catch (error) {
    if (mine === asked && error.status !== 401) $("workload-body").replaceChildren(cell("p", `Not read: ${error.message}`, "error"));
    return;
  }
  if (mine !== asked) return;
  const stations = [...answer.stations].sort((a, b) => b.utilisation - a.utilisation).map((s) =>
    [s.station || "no station", String(s.units), String(s.assignments), hours(s.busy_s), bar(s.utilisation), hours(s.exercise_s), hours(s.out_of_service_s)]);
  const units = [...answer.units].sort((a, b) => b.utilisation - a.utilisation).map((u) =>
    [u.call_sign, u.kind, u.station || "–", String(u.assignments), hours(u.busy_s), bar(u.utilisation), hours(u.on_scene_s), hours(u.exercise_s), hours(u.out_of_service_s)]);
  const unitsBox = cell("details");
  unitsBox.append(cell("summary", `Every unit (${units.length}), busiest first`),
    table("Units", ["Unit", "Kind", "Station", "Jobs", "Committed", "Utilisation", "On scene", "Of it exercise", "Out of service"], units));
  $("workload-body").replaceChildren(
    cell("p", `All priorities${state.period?.priority ? " (the priority filter is for the figures above)" : ""}; exercises count as committed time, and are shown apart.`, "muted"),
    cell("p", "Swipe the tables sideways for every column.", "scroll-hint"),
    table("Stations, busiest first", ["Station", "Units", "Jobs", "Committed", "Utilisation", "Of it exercise", "Out of service"], stations),
    unitsBox,
    cell("h3", "Busiest hours"),
    cell("div", null, "table-scroll"),
  );
  $("workload-body").lastChild.append(grid(answer.hours));
}
