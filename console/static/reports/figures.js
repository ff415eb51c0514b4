// The period's figures: compliance with each target (by its name and source), and for one interval at a time the
// median and 90th percentile of each group, as a chart with the targets drawn in and as a table. Any group, and
// any target's late incidents, open the incidents behind them (drill.js).
import { $, cell, duration, percent, state, table } from "./api.js";
import { openDrill } from "./drill.js";

const WEEKDAYS = ["", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const FEW = 30;  // under 30 samples the 90th percentile rests on the 3 longest or fewer
const TAIL = 5;  // a 90th percentile this many times the typical median flattens the medians on a linear scale
let chart = null;
let chosenScale = null;  // the commander's own choice, kept across reports once made

export function keyLabel(by, key) {
  if (key == null) return "all";
  if (by === "priority") return `P${key}`;
  if (by === "weekday") return WEEKDAYS[Number(key)] || key;
  if (by === "hour") return `${key.padStart(2, "0")}:00–${key.padStart(2, "0")}:59`;
  return key;
}

const goal = (t) => `≤ ${duration(t.seconds)} for ${percent(t.goal ?? t.fraction)}`;

function lateButton(c, key, by) {
  const late = c.count - c.met;
  if (!c.count) return "no samples";
  const text = `${percent(c.fraction, c.goal)} of ${c.count}`;
  if (!late) return `${text}, none late`;
  const b = cell("button", `${text}, ${late} late`, `link ${c.ok ? "" : "missed"}`);
  b.type = "button";
  b.addEventListener("click", () => openDrill({ by, key, interval: c.interval, target: c.target, late: true,
    title: `${c.name}${key == null ? "" : `, ${keyLabel(by, key)}`}: the ${late} late` }));
  return b;
}

function verdict(c) {
  const v = cell("span", c.ok == null ? "no samples" : c.ok ? "met" : "missed", `verdict ${c.ok == null ? "none" : c.ok ? "met" : "missed"}`);
  return v;
}

function showCompliance(report) {
  const sources = new Map(report.targets.map((t) => [t.key, t.source]));
  const rows = report.overall.compliance.map((c) => {
    const name = document.createElement("div");
    name.append(cell("strong", c.name), cell("div", sources.get(c.target), "source"));
    return [name, goal(c), lateButton(c, null, "none"), verdict(c)];
  });
  $("compliance-body").replaceChildren(table(null, ["Target and source", "Goal", "Achieved", "Verdict"], rows));
}

function fillIntervals(report) {
  const select = $("interval");
  const chosen = select.dataset.wanted || select.value || "response";
  delete select.dataset.wanted;
  select.replaceChildren(...Object.entries(report.intervals).map(([value, title]) => new Option(title, value, false, value === chosen)));
}

function note(by, key, stats) {
  if (!stats.count) return "no samples";
  if (stats.count === 1) return "1 sample: it is every percentile";
  if (stats.count < FEW) {
    const top = Math.ceil(stats.count / 10);
    return `only ${stats.count} samples: the 90th percentile is set by the ${top === 1 ? "longest one" : `${top} longest`}`;
  }
  if (stats.p90 != null && stats.p50 && stats.p90 > TAIL * stats.p50) return "a few long waits: the 90th percentile is far above the median";
  return "";
}

// Ticks at times people say (30 s, 1, 2, 5, 10 min…), not at 200 s or 13:20 min.
const NICE = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400];
function niceTicks(axis) {
  if (axis.type === "logarithmic") {
    axis.ticks = NICE.filter((v) => v >= axis.min && v <= axis.max).map((value) => ({ value }));
    return;
  }
  const step = NICE.find((v) => axis.max / v <= 8) || NICE.at(-1);
  axis.ticks = Array.from({ length: Math.floor(axis.max / step) + 1 }, (_, i) => ({ value: i * step }));
}

function drawChart(report, interval, groups, targets) {
  const Chart = window.Chart;
  if (!Chart) return;
  const by = report.group_by;
  const labels = groups.map((g) => keyLabel(by, g.key));
  const p50 = groups.map((g) => g.intervals[interval].p50), p90 = groups.map((g) => g.intervals[interval].p90);
  const positive = [...p50, ...p90].filter((v) => v > 0);
  const typical = positive.length ? [...p50.filter((v) => v > 0)].sort((a, b) => a - b)[Math.floor(p50.filter((v) => v > 0).length / 2)] : 0;
  const tail = typical && Math.max(...positive) > TAIL * typical;
  const scale = chosenScale || (tail ? "logarithmic" : "linear");
  document.querySelector(`input[name=scale][value=${scale}]`).checked = true;
  if (tail && !chosenScale) {
    $("figures-note").textContent = "The longest waits are far above the typical ones, so the scale is logarithmic: the medians stay readable. Switch to linear above.";
  } else if (positive.length) $("figures-note").textContent = "";
  const datasets = [
    { type: "bar", label: "Median", data: p50, backgroundColor: "#1c5d99", order: 2 },
    { type: "bar", label: "90th percentile", data: p90, backgroundColor: "#d9822b", order: 2 },
    ...targets.map((t, i) => ({ type: "line", label: `Target: ${t.name}`, data: groups.map(() => t.seconds),
      borderColor: ["#b3261e", "#6a1b9a", "#1b5e20", "#37474f"][i % 4], borderDash: [6, 4], borderWidth: 2, pointRadius: 0, order: 1 })),
  ];
  const canvas = $("interval-chart");
  canvas.setAttribute("aria-label", `${report.intervals[interval]} by ${by}: median and 90th percentile per group; the same figures are in the table below.`);
  if (chart) chart.destroy();
  chart = new Chart(canvas, {
    data: { labels, datasets },
    options: {
      animation: false, maintainAspectRatio: false, responsive: true,
      scales: { y: { type: scale, min: scale === "linear" ? 0 : undefined, title: { display: true, text: "time" },
                     afterBuildTicks: niceTicks, ticks: { callback: (v) => duration(v) } } },
      plugins: {
        legend: { display: window.innerWidth > 700 },  // on a phone the table below says what the colours do
        tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${duration(c.raw)}` } },
      },
      onClick: (_, elements) => {
        const g = elements.length ? groups[elements[0].index] : null;
        if (g) openDrill({ by, key: g.key, interval, title: `${keyLabel(by, g.key)}: ${interval.replace("_", " ")}, longest first` });
      },
    },
  });
  document.body.dataset.chart = `${report.from}/${report.to}/${by}/${interval}`;
}

// The hours, weekdays, days and months a period has, all of them: one without samples is there, empty, so the
// axis runs on without a gap that reads as nothing missing.
function calendarKeys(by) {
  if (by === "hour") return Array.from({ length: 24 }, (_, h) => String(h));
  if (by === "weekday") return ["1", "2", "3", "4", "5", "6", "7"];
  if (by !== "day" && by !== "month") return null;
  const keys = [];
  const last = new Date(`${state.period.to}T00:00:00Z`);
  for (let d = new Date(`${state.period.from}T00:00:00Z`); d <= last && keys.length < 2000; d = new Date(d.getTime() + 86_400_000)) {
    const key = by === "day" ? d.toISOString().slice(0, 10) : d.toISOString().slice(0, 7);
    if (keys.at(-1) !== key) keys.push(key);
  }
  return keys;
}

function withEmpty(report) {
  const keys = calendarKeys(report.group_by);
  if (!keys) return report.groups;
  const have = new Map(report.groups.map((g) => [g.key, g]));
  const none = { count: 0, p50: null, p90: null, p95: null };
  const empty = (key) => ({ key, intervals: Object.fromEntries(Object.keys(report.intervals).map((i) => [i, none])),
    compliance: report.overall.compliance.map((c) => ({ ...c, count: 0, met: 0, fraction: null, ok: null })) });
  return keys.map((key) => have.get(key) || empty(key));
}

function drawGroups() {
  const report = state.report;
  if (!report) return;
  const interval = $("interval").value || "response";
  const by = report.group_by;
  // With one priority shown, only the targets that hold for it (a priority-1 chart without the 30-minute line).
  const only = report.priority;
  const holds = new Map(report.targets.map((t) => [t.key, !only || !t.priorities || t.priorities.includes(only)]));
  const targets = report.overall.compliance.filter((c) => c.interval === interval && holds.get(c.target));
  const groups = withEmpty(report);
  drawChart(report, interval, groups, targets);
  const head = [by === "none" ? "" : $("group-by").selectedOptions[0].text, "Samples", "Median", "90th percentile", "95th percentile",
    ...targets.map((t) => t.name), "Note"];
  const rows = [{ key: null, ...report.overall }, ...groups].map((g) => {
    const s = g.intervals[interval];
    let name = keyLabel(by, g.key);
    if (g.key != null) {
      name = cell("button", name, "link");
      name.type = "button";
      name.addEventListener("click", () => openDrill({ by, key: g.key, interval, title: `${keyLabel(by, g.key)}: ${interval.replace("_", " ")}, longest first` }));
    }
    const compliance = targets.map((t) => lateButton(g.compliance.find((c) => c.target === t.target), g.key, g.key == null ? "none" : by));
    return [name, String(s.count), duration(s.p50), duration(s.p90), duration(s.p95), ...compliance, note(by, g.key, s)];
  });
  $("groups-table").replaceChildren(table(`${report.intervals[interval]}, by ${by}`, head, rows));
}

export function showReport(report) {
  state.report = report;
  const none = !Object.values(report.overall.intervals).some((s) => s.count);
  $("figures-note").textContent = none ? "No incident was received in this period (or none of this priority): there is nothing to measure." : "";
  $("grouping-said").textContent = $("group-by").selectedOptions[0].text.toLowerCase();
  $("period-said").textContent = `${state.period.from} to ${state.period.to} (${report.time_zone})`;
  fillIntervals(report);
  showCompliance(report);
  drawGroups();
}

export function setupFigures() {
  $("interval").addEventListener("change", () => { drawGroups(); window.dispatchEvent(new Event("report-interval")); });
  for (const radio of document.querySelectorAll("input[name=scale]")) {
    radio.addEventListener("change", () => { chosenScale = radio.value; drawGroups(); });
  }
}
