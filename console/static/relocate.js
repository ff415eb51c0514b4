// Correcting where the incident is: by address (a field with the geocoder's suggestions, PATCH location_text) or
// by dragging its pin on the map (PATCH lat and lon; the server names the place it lands on). Either way the
// panel is read again at once, so it shows the new address and the recommendations made from there.
import { state, $, esc, api } from "./common.js";
import { map } from "./map.js";

let pin = null;
let suggestTimer = null;
let changed = () => {};
export function onRelocated(fn) { changed = fn; }
const say = (text) => { $("incident-result").textContent = text; };

export function relocateHtml() {
  return `<form id="relocate" class="row" data-needs="floor" autocomplete="off">
    <label for="relocate-text">Correct location</label>
    <input id="relocate-text" list="relocate-list" placeholder="address or place" aria-describedby="relocate-hint">
    <datalist id="relocate-list"></datalist><button type="submit">Set location</button>
    <small id="relocate-hint" class="muted">Or drag the incident's pin on the map.</small></form>`;
}

export function bindRelocate() {
  const input = $("relocate-text");
  if (!input) return;
  input.addEventListener("input", () => { clearTimeout(suggestTimer); suggestTimer = setTimeout(suggest, 200); });
  $("relocate").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) { say("Type an address or a place first."); input.focus(); return; }
    correct({ location_text: text }).then((ok) => { if (ok) input.value = ""; });
  });
}

async function suggest() {
  const q = $("relocate-text")?.value.trim();
  if (!q || q.length < 3) return;
  const found = await api(`/api/geocode?q=${encodeURIComponent(q)}&limit=5`).catch(() => null);
  const list = $("relocate-list");
  if (!found || !list) return;
  list.innerHTML = (found.candidates || []).map((c) => `<option value="${esc(c.label)}">`).join("");
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

// The selected incident's pin, draggable where the role may correct it; gone when nothing open is selected.
export function showPin(incident, movable) {
  if (!map) return;
  const lat = incident?.location?.lat, lon = incident?.location?.lon;
  if (!movable || lat == null) { dropPin(); return; }
  if (pin && pin.options.incidentId === incident.id) { pin.setLatLng([lat, lon]); return; }
  dropPin();
  pin = L.marker([lat, lon], { draggable: true, autoPan: true, incidentId: incident.id, zIndexOffset: 1000,
    title: `Incident #${incident.id}: drag to correct its location`, alt: `Incident #${incident.id}`,
    icon: L.divIcon({ className: "incident-pin", iconSize: [22, 22], iconAnchor: [11, 22], html: "" }) }).addTo(map);
  pin.on("dragend", () => {
    const at = pin.getLatLng();
    correct({ lat: Number(at.lat.toFixed(6)), lon: Number(at.lng.toFixed(6)) });
  });
}

export function dropPin() { pin?.remove(); pin = null; }
