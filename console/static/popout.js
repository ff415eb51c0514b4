// Two monitors: the map or the unit board in a window of its own (/console/?view=map|board), live as the main
// one (the same modules, its own feed), signed in with the same token (Chromium copies sessionStorage to a window
// that window.open opened). The main window gives the freed space to the rest until that window is closed.
import { state, $ } from "./common.js";
import { map } from "./map.js";
import { select } from "./incident.js";

const VIEWS = { map: "Map", board: "Board" };
const asked = new URLSearchParams(location.search).get("view");
export const view = Object.hasOwn(VIEWS, asked) ? asked : null;  // this window shows only that view
const opened = {};  // view → the window showing it
let watch = null;

function isOut(which) { return Boolean(opened[which] && !opened[which].closed); }

// The main window's grid follows which views are out (CSS: body.map-out, body.board-out); Leaflet measures its
// box again whenever it changes size (ResizeObserver below).
function layout() {
  for (const which of Object.keys(VIEWS)) {
    const out = isOut(which);
    document.body.classList.toggle(`${which}-out`, out);
    const button = $(`pop-${which}`);
    button.setAttribute("aria-pressed", String(out));
    button.textContent = out ? `${VIEWS[which]} back in this window` : `${VIEWS[which]} in its own window`;
  }
  if (!Object.keys(VIEWS).some(isOut)) { clearInterval(watch); watch = null; }
}

function popOut(which) {
  if (isOut(which)) { opened[which].close(); layout(); return; }
  const win = window.open(`/console/?view=${which}`, `dispatch-${which}`, "popup,width=1280,height=800");
  if (!win) {
    $("pop-" + which).textContent = `${VIEWS[which]}: allow pop-ups to open it`;
    return;
  }
  opened[which] = win;
  layout();
  // Closed by its own window's frame: nothing tells the opener but `closed`.
  watch ||= setInterval(layout, 1000);
}

if (view) {
  document.body.dataset.view = view;
  document.title = `Dispatch ${view === "map" ? "map" : "unit board"}`;
  if (view === "board") $("units").setAttribute("role", "main");  // the map (<main>) is not in this window
} else {
  for (const which of Object.keys(VIEWS)) $(`pop-${which}`).addEventListener("click", () => popOut(which));
  // The views' windows go with the main one: left open, they would outlive the console they belong to.
  addEventListener("pagehide", () => { for (const which of Object.keys(VIEWS)) if (isOut(which)) opened[which].close(); });
}
new ResizeObserver(() => map?.invalidateSize()).observe($("map"));

// One selection across the windows: an incident chosen on the popped-out map or board opens in the main window's
// panel, and one chosen in the main window is centred on the popped-out map. Only between this console's own
// windows (the opener and those it opened), same origin.
let echo = null;  // the selection just received: not sent back where it came from
function peers() { return view ? [window.opener].filter((w) => w && !w.closed) : Object.keys(VIEWS).filter(isOut).map((w) => opened[w]); }

/** The window the view is out in (from the main window), or null. */
export function outIn(which) { return isOut(which) ? opened[which] : null; }

/** Called by select(): tells the other windows of this console. */
export function shareSelection(id) {
  if (id === echo) { echo = null; return; }
  for (const peer of peers()) peer.postMessage({ type: "dispatch.select", id }, location.origin);
}

addEventListener("message", (event) => {
  if (event.origin !== location.origin || event.data?.type !== "dispatch.select" || !peers().includes(event.source)) return;
  const id = event.data.id;
  if (id === state.selected) return;
  echo = id;
  select(id);
  const marker = state.markers.get(id);
  if (view === "map" && marker) map.panTo(marker.getLatLng());
});
