// The period a commander picks: presets in the report's own calendar (today's date as the service says it, so a
// browser in another time zone asks for the same days), or two dates of their own; both dates included.
const iso = (d) => d.toISOString().slice(0, 10);
const day = (text) => new Date(`${text}T00:00:00Z`);
const plus = (d, n) => new Date(d.getTime() + n * 86_400_000);

export function presetPeriod(preset, todayText) {
  const today = day(todayText);
  const first = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1));
  switch (preset) {
    case "today": return [iso(today), iso(today)];
    case "yesterday": return [iso(plus(today, -1)), iso(plus(today, -1))];
    case "7d": return [iso(plus(today, -6)), iso(today)];
    case "month": return [iso(first), iso(today)];
    case "last-month": return [iso(new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() - 1, 1))), iso(plus(first, -1))];
    case "12m": return [iso(new Date(Date.UTC(today.getUTCFullYear() - 1, today.getUTCMonth(), today.getUTCDate() + 1))), iso(today)];
    case "year": return [`${today.getUTCFullYear() - 1}-01-01`, `${today.getUTCFullYear() - 1}-12-31`];
    default: return null;
  }
}

// Which preset two dates are, if any (a link or the back button brings dates, the select follows).
export function presetOf(from, to, todayText) {
  for (const name of ["today", "yesterday", "7d", "month", "last-month", "12m", "year"]) {
    const [a, b] = presetPeriod(name, todayText);
    if (a === from && b === to) return name;
  }
  return "custom";
}

export function periodWords(from, to) {
  return from === to ? from : `${from} to ${to}`;
}
