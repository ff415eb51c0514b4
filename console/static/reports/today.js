// Today so far, kept fresh while the page is open: calls, priority-1 response against its target, units committed.
import { $, api, cell, duration, percent, when } from "./api.js";

function tile(title, value, detail, kind = "") {
  const div = cell("div", null, `tile ${kind}`);
  div.append(cell("h3", title), cell("p", value, "value"), cell("p", detail, "detail"));
  return div;
}

export async function showToday() {
  let now;
  try {
    now = await api("/api/reports/today");
  } catch (error) {
    if (error.status !== 401) $("today-body").replaceChildren(cell("p", `Not read: ${error.message}`, "error"));
    throw error;
  }
  const p1 = now.p1;
  const shares = p1.responses ? `${p1.met} of ${p1.responses} within ${duration(p1.target_s)} (${percent(p1.met / p1.responses)})` : "no priority-1 response yet";
  const byPriority = Object.entries(now.by_priority || {}).map(([p, n]) => `P${p} ${n}`).join(" · ") || "none";
  $("today-body").replaceChildren(
    tile("Calls", String(now.calls), `${now.open} open · ${byPriority}${now.exercise ? ` · and ${now.exercise} exercise calls, counted nowhere` : ""}`),
    tile("Priority 1: call to first unit on scene", p1.responses ? `median ${duration(p1.p50)}` : "–",
      `90th percentile ${duration(p1.p90)} · ${shares}`, p1.responses && p1.met / p1.responses < 0.9 ? "warn" : ""),
    tile("Priority 1 still waiting for a unit", String(p1.waiting), p1.waiting ? "no unit on scene yet" : "none", p1.waiting ? "alarm" : ""),
    tile("Units committed now", `${now.units.committed} of ${now.units.total}`,
      `${now.units.on_exercise ? `${now.units.on_exercise} of them on exercises · ` : ""}${now.units.available} available · ${now.units.out_of_service} out of service`),
  );
  $("today-asof").textContent = `as of ${when(now.as_of, { date: false })}, refreshed every 30 s`;
  return now;
}
