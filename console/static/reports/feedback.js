// What callers said: mean satisfaction and answers over the period (by day, by month for long periods), and their
// comments, complaints flagged and first when asked.
import { $, api, cell, state, table, when } from "./api.js";
import { openTimeline } from "./drill.js";

let asked = 0;
let chart = null;

function drawSeries(groups, by) {
  const Chart = window.Chart;
  const canvas = cell("canvas");
  canvas.id = "satisfaction-chart";
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", `Mean satisfaction (1 to 5) and answers by ${by}; the comments are listed below.`);
  const box = cell("div", null, "chart-box small");
  box.append(canvas);
  if (!Chart) return box;
  if (chart) chart.destroy();
  chart = new Chart(canvas, {
    data: {
      labels: groups.map((g) => g.key),
      datasets: [
        { type: "line", label: "Mean satisfaction (1–5)", data: groups.map((g) => g.feedback.satisfaction_mean), borderColor: "#1c5d99", yAxisID: "score", spanGaps: true },
        { type: "bar", label: "Answers", data: groups.map((g) => g.feedback.answered), backgroundColor: "#9ec5e8", yAxisID: "count" },
        { type: "bar", label: "Complaints", data: groups.map((g) => g.feedback.complaints), backgroundColor: "#b3261e", yAxisID: "count" },
      ],
    },
    options: { animation: false, maintainAspectRatio: false, scales: {
      score: { position: "left", min: 1, max: 5, title: { display: true, text: "satisfaction" } },
      count: { position: "right", min: 0, ticks: { precision: 0 }, grid: { drawOnChartArea: false }, title: { display: true, text: "answers" } } } },
  });
  return box;
}

function comments(answers) {
  const rows = answers.map((a) => {
    const id = cell("button", `#${a.incident_id}`, "link");
    id.type = "button";
    id.addEventListener("click", () => openTimeline(a.incident_id));
    return [id, when(a.answered_at), `P${a.priority} ${a.type_code}`, a.municipality || "–",
      `${a.satisfaction} of 5`, a.complaint ? cell("strong", "complaint", "verdict missed") : "", a.comment || ""];
  });
  return table("Comments and complaints, complaints first, then newest", ["Incident", "Answered", "Type", "Municipality", "Satisfaction", "Complaint", "Comment"], rows);
}

export async function showSatisfaction(from, to) {
  const mine = ++asked;
  $("satisfaction-body").replaceChildren(cell("p", "Reading…", "muted"));
  const long = (new Date(to) - new Date(from)) / 86_400_000 > 62;
  const by = long ? "month" : "day";
  let series, answers;
  try {
    [series, answers] = await Promise.all([
      api(`/api/reports/feedback/series?${new URLSearchParams({ from, to, by })}`),
      api(`/api/reports/feedback?${new URLSearchParams({ from, to, limit: 200 })}`),
    ]);
  } catch (error) {
    if (mine === asked && error.status !== 401) $("satisfaction-body").replaceChildren(cell("p", `Not read: ${error.message}`, "error"));
    return;
  }
  if (mine !== asked || !state.period) return;
  const f = series.overall;
  const said = cell("p", f.answered
    ? `${f.answered} of ${f.offered} callers asked answered; mean satisfaction ${f.satisfaction_mean} of 5; ${f.complaints} complaint${f.complaints === 1 ? "" : "s"}.`
    : `${f.offered} callers were asked; none answered in this period.`);
  // The words callers wrote, complaints first; answers with a score alone are in the counts above.
  const written = answers.filter((a) => a.comment || a.complaint)
    .sort((a, b) => (b.complaint - a.complaint) || (b.answered_at > a.answered_at ? 1 : -1));
  if (state.period.priority) said.append(" All priorities: the priority filter is for the figures above.");
  const hint = cell("p", "Swipe the table sideways for the comments.", "scroll-hint");
  $("satisfaction-body").replaceChildren(said, drawSeries(series.groups, by), hint,
    written.length ? comments(written) : cell("p", "No caller wrote a comment or a complaint in this period.", "muted"));
}
