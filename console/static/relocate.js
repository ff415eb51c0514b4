// Correcting where the incident is, deliberately: "Move…" asks for the new address (PATCH location_text, with
// the geocoder's suggestions) or arms the pin to be dragged on the map (PATCH lat and lon). The pin cannot be
// dragged by accident: only once armed, or with the map at street level; and a drop is confirmed against the
// address it lands on (the geocoder's reverse), No putting the pin back. The panel is read again after a move.
// With the map in a window of its own (popout.js), "Drag the pin" arms the pin there, the drop is confirmed there,
// and the main window's panel says what came of it.
import { state, $, api, distance } from "./common.js";
import { map } from "./map.js";
import { ask } from "./ask.js";
import { unitsOn } from "./incident-units.js";
import { outIn } from "./popout.js";

const STREET_ZOOM = 17;  // from here on a pin's drag is a few metres, not a town
let pin = null;
let armed = false;  // "Drag the pin" chosen for the pin shown now
let changed = () => {};
export function onRelocated(fn) { changed = fn; }
// Said in the panel; in the map's own window, in the main window's panel (this one's is not shown).
const say = (text) => {
  if (window.opener && !window.opener.closed && document.body.dataset.view === "map") {
    window.opener.postMessage({ type: "dispatch.said", text }, location.origin);
  } else if ($("incident-result")) $("incident-result").textContent = text;
};

// Between this console's own windows only (same origin, the opener and the map window it opened).
addEventListener("message", (event) => {
  if (event.origin !== location.origin) return;
  const { type, id, text } = event.data || {};
  if (type === "dispatch.arm" && event.source === window.opener && document.body.dataset.view === "map") armHere(id);
  else if (type === "dispatch.said" && event.source === outIn("map") && $("incident-result")) $("incident-result").textContent = text;
});

// In the map's own window: the pin of the incident armed, once the selection has reached this window.
async function armHere(id) {
  for (let tries = 0; tries < 40 && pin?.options.incidentId !== id; tries += 1) await new Promise((r) => setTimeout(r, 100));
  if (pin?.options.incidentId !== id) return;
  arm(true);
  map.panTo(pin.getLatLng());
  window.focus();
}

export function bindRelocate() {
  $("move-incident")?.addEventListener("click", move);
}

const suggest = async (q) => (q.length < 3 ? []
  : ((await api(`/api/geocode?q=${encodeURIComponent(q)}&limit=5`)).candidates || []).map((c) => c.label));

async function move() {
  const id = state.selected;
  const answer = await ask({ title: `Move incident #${id}`, ok: "Set location", extra: pin ? "Drag the pin" : "",
    text: `Now: ${state.incident?.location?.label || "unknown"}. Type the new address${pin ? ", or drag its pin on the map" : ""}.`,
    fields: [{ name: "place", id: "relocate-text", label: "New address or place", required: true, maxlength: 300, suggest }] });
  if (!answer || id !== state.selected) return;
  const away = outIn("map");
  if (answer.extra && away) {
    away.postMessage({ type: "dispatch.arm", id }, location.origin);
    away.focus();
    say(`Drag the pin of #${id} on the map in its own window; you will be asked to confirm there.`);
    return;
  }
  if (answer.extra) { arm(true); say(`Drag the pin of #${id} to its place on the map; you will be asked to confirm.`); return; }
  await correct({ location_text: answer.place });
}

async function correct(body) {
  const id = state.selected;
  try {
    await api(`/api/incidents/${id}`, { method: "PATCH", body: JSON.stringify(body) });
    const incident = await changed();
    const where = incident?.location;
    say(where ? `Location now ${where.label || "unknown"}${where.needs_location ? " (still needs checking)" : ""}.` : "Location corrected.");
    return true;
  } catch (error) { say(`Location refused: ${error.message}`); return false; }
}

// Draggable only when armed or at street level; the pin says which, to the pointer and to a screen reader.
function arm(on) {
  armed = on;
  if (!pin?.dragging) return;
  const may = armed || map.getZoom() >= STREET_ZOOM;
  if (may) pin.dragging.enable(); else pin.dragging.disable();
  pin.getElement()?.classList.toggle("armed", may);
  pin.getElement()?.setAttribute("title", `Incident #${pin.options.incidentId}${may ? ": drag to move it" : ": Move… to correct its place"}`);
}
const zoomed = () => arm(armed);

async function dropped(from) {
  const mine = pin, id = pin.options.incidentId;
  const at = pin.getLatLng();
  const lat = Number(at.lat.toFixed(6)), lon = Number(at.lng.toFixed(6));
  const place = await api(`/api/reverse?lat=${lat}&lon=${lon}`).catch(() => null);
  const label = place?.label || place?.municipality || `${lat}, ${lon}`;
  const metres = map.distance(from, at);
  const far = distance(metres);
  const working = unitsOn(id).length;
  const outside = place && !place.in_service_area ? " (outside the service area)" : "";
  const units = working ? ` It has ${working} unit${working > 1 ? "s" : ""} on it.` : "";
  const sure = await ask({ title: `Move incident #${id} here?`, ok: "Yes, move it", no: "No, put it back", safe: true,
    text: `${label}${outside}: ${far} from where it was.${units}` });
  if (mine !== pin || id !== state.selected) return;  // another incident selected meanwhile: this pin is gone
  arm(false);
  if (!sure) { pin.setLatLng(from); say(`Not moved: #${id} stays where it was.`); return; }
  await correct({ lat, lon });
}

// The selected incident's pin, movable where the role may correct it; gone when nothing open is selected.
export function showPin(incident, movable) {
  if (!map) return;
  const lat = incident?.location?.lat, lon = incident?.location?.lon;
  if (!movable || lat == null) { dropPin(); return; }
  if (pin && pin.options.incidentId === incident.id) { if (!pin.dragged) pin.setLatLng([lat, lon]); return; }
  dropPin();
  pin = L.marker([lat, lon], { draggable: false, autoPan: true, incidentId: incident.id, zIndexOffset: 1000,
    alt: `Incident #${incident.id}`,
    icon: L.divIcon({ className: "incident-pin", iconSize: [22, 22], iconAnchor: [11, 22], html: "" }) }).addTo(map);
  let from = null;
  pin.on("dragstart", () => { from = pin.getLatLng(); pin.dragged = true; });
  pin.on("dragend", () => dropped(from).finally(() => { if (pin) pin.dragged = false; }));
  map.on("zoomend", zoomed);
  arm(false);
}

export function dropPin() { map?.off("zoomend", zoomed); pin?.remove(); pin = null; armed = false; }
