// A move-up order: go and wait at a standby post, so that the area the unit covers is not left empty. Shown
// like an assignment but marked as a move-up (no incident, no acknowledgement to give beyond the message's),
// with its route; it lasts until the crew says it is at the post, or an assignment replaces it.
import { state, set } from "./store.js";
import { directions, routeWords } from "./assignment.js";

const $ = (id) => document.getElementById(id);
const REASONS = { coverage: "to cover the area left empty" };

export function renderStandby() {
  const order = state.standby;
  $("standby").hidden = !order || Boolean(state.job);
  if (!order || state.job) return;
  $("standby-post").textContent = order.post;
  const why = REASONS[order.reason] || String(order.reason || "").replace(/_/g, " ");
  $("standby-reason").textContent = why ? `Why: ${why}.` : "";
  $("standby-route").textContent = routeWords(order.route) || (order.route === null ? "No road route: use the map." : "");
  directions(order, "standby", order.post);
}

export function startStandby() {
  $("standby-done").addEventListener("click", () => set({
    standby: null, notice: { kind: "info", text: `At standby post ${state.standby?.post ?? ""}.` } }));
}
