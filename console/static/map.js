// The map: the region's roads and places, the incidents and units on it, and each unit's route to its job.
import { state, esc, api } from "./common.js";
import { select } from "./incident.js";

export const PRIORITY_COLOR = { 1: "#fa5252", 2: "#f46036", 3: "#3d9dcc", 4: "#8d969e" };  // app.css's --p1..4
const STATUS_COLOR = { available: "#51cf66", returning: "#f8f9fa", dispatched: "#f2a900", acknowledged: "#f2a900",
  en_route: "#74c0fc", on_scene: "#ff8787", transporting: "#da77f2", at_hospital: "#da77f2",
  out_of_service: "#8d969e" };
// A status told by shape too, not by colour alone: free units a plain dot, returning ones a ring, units on their
// way a dot in a white ring, on scene a larger dot, with a patient a dashed ring, out of service a small dot.
const STATUS_SHAPE = { returning: { fillOpacity: 0, weight: 3 }, dispatched: { color: "#fff", weight: 2 },
  acknowledged: { color: "#fff", weight: 2 }, en_route: { color: "#fff", weight: 2 }, on_scene: { radius: 7 },
  transporting: { color: "#fff", weight: 2, dashArray: "3 2" }, at_hospital: { color: "#fff", weight: 2, dashArray: "3 2" },
  out_of_service: { radius: 3 } };
function unitStyle(status) {
  const colour = STATUS_COLOR[status] || "#fff";
  const style = { radius: 5, color: "#000", weight: 1, fillColor: colour, fillOpacity: 1, dashArray: null,
    ...STATUS_SHAPE[status] };
  if (status === "returning") style.color = colour;  // a ring in the status's colour
  return style;
}
export const MOVING = new Set(["dispatched", "acknowledged", "en_route"]);

export let map;
export async function drawMap() {
  map = L.map("map", { zoomControl: true, attributionControl: true, preferCanvas: true }).setView([47.14, 9.53], 12);
  const layers = await api("/api/map");
  map.attributionControl.setPrefix(false).addAttribution(esc(layers.attribution));
  // The roads on a canvas of their own, under the one of units and incidents: a thousand units moving every
  // second then redraw a thousand circles, not every road of the region with them. (Only the top canvas hears
  // the mouse: the boundaries, whose names show on hover, stay on it.)
  const ground = L.canvas();  // added first: its canvas lies under the other
  const weight = { motorway: 3, trunk: 3, primary: 2.5, secondary: 2, tertiary: 1.6 };
  L.geoJSON(layers.roads, { style: (f) => ({ color: weight[f.properties.h] ? "#adb5bd" : "#5c6670",
    weight: weight[f.properties.h] || 1, opacity: 0.8 }), interactive: false, renderer: ground }).addTo(map);
  L.geoJSON(layers.municipalities, { style: { color: "#495057", weight: 1, fill: false, dashArray: "4 4" },
    onEachFeature: (f, l) => l.bindTooltip(esc(f.properties.name), { sticky: true }) }).addTo(map);
  L.geoJSON(layers.stations, { pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 4, color: "#ced4da",
    weight: 1, fillOpacity: 0.3 }).bindTooltip(esc(f.properties.name)) }).addTo(map);
  legend().addTo(map);
  const bounds = L.geoJSON(layers.municipalities).getBounds();
  if (bounds.isValid()) map.fitBounds(bounds);
}

// What the units' shapes and colours mean, in words: folded away until asked for.
const ALSO = { dispatched: "dispatched, acknowledged", transporting: "transporting, at hospital" };
function legend() {
  const control = L.control({ position: "bottomleft" });
  control.onAdd = () => {
    const box = L.DomUtil.create("details", "legend");
    L.DomEvent.disableClickPropagation(box);
    const rows = Object.keys(STATUS_COLOR).filter((s) => s !== "acknowledged" && s !== "at_hospital").map((status) => {
      const s = unitStyle(status), dash = s.dashArray ? ` stroke-dasharray="${s.dashArray}"` : "";
      return `<li><svg width="18" height="18" aria-hidden="true"><circle cx="9" cy="9" r="${s.radius}" fill="${s.fillColor}"
        fill-opacity="${s.fillOpacity}" stroke="${s.color}" stroke-width="${s.weight}"${dash}/></svg>${ALSO[status] || status.replace(/_/g, " ")}</li>`;
    });
    box.innerHTML = `<summary>Units: legend</summary><ul>${rows.join("")}</ul>`;
    return box;
  };
  return control;
}

export function incidentMarker(incident) {
  if (incident.lat == null) return;
  let marker = state.markers.get(incident.id);
  const style = { radius: 8, color: "#fff", weight: 1, fillColor: PRIORITY_COLOR[incident.priority], fillOpacity: 0.9 };
  if (!marker) {
    marker = L.circleMarker([incident.lat, incident.lon], style).addTo(map).on("click", () => select(incident.id));
    state.markers.set(incident.id, marker);
  } else { marker.setStyle(style); marker.setLatLng([incident.lat, incident.lon]); }
  marker.bindTooltip(`P${incident.priority} ${esc(incident.type_code)} · ${esc(incident.address_label)}`);
}

export function dropIncidentMarker(id) {
  state.markers.get(id)?.remove();
  state.markers.delete(id);
}

// The route of each unit on its way to an incident, as the router has it.
const routeLines = new Map();
export async function drawRoute(unitId) {
  routeLines.get(unitId)?.remove();
  routeLines.delete(unitId);
  const unit = state.units.get(unitId);
  if (!unit || !MOVING.has(unit.status)) return;
  const found = await api(`/api/units/${unitId}/route`).catch(() => null);
  if (!found?.route) return;
  routeLines.set(unitId, L.polyline(found.route.coords, { color: "#74c0fc", weight: 3, opacity: 0.8, dashArray: "6 4" })
    .bindTooltip(`${esc(unit.call_sign)} → #${found.incident_id}, ${Math.round(found.route.seconds / 60)} min`).addTo(map));
}

const drawnAs = new Map();  // unit id → the status and call sign its marker shows: restyled only when they change
export function unitMarker(unit) {
  if (unit.lat == null) return;
  let marker = state.unitMarkers.get(unit.id);
  const style = unitStyle(unit.status);
  if (!marker) { marker = L.circleMarker([unit.lat, unit.lon], style).addTo(map); state.unitMarkers.set(unit.id, marker); }
  else moveUnit(unit);
  const shows = `${unit.call_sign} · ${unit.status.replace(/_/g, " ")}`;
  if (drawnAs.get(unit.id) === shows) return;
  if (drawnAs.has(unit.id)) { marker.setStyle(style); marker.setRadius(style.radius); }
  marker.bindTooltip(esc(shows));
  drawnAs.set(unit.id, shows);
}

// A position: the marker moved, only if it did (a redraw of the canvas is asked for each one moved).
export function moveUnit(unit) {
  const marker = state.unitMarkers.get(unit.id);
  if (!marker) { unitMarker(unit); return; }
  const at = marker.getLatLng();
  if (at.lat !== unit.lat || at.lng !== unit.lon) marker.setLatLng([unit.lat, unit.lon]);
}

// Units gone from a snapshot leave the map with their routes.
export function dropUnitsNotIn(units) {
  for (const [id, marker] of state.unitMarkers) {
    if (!units.has(id)) { marker.remove(); state.unitMarkers.delete(id); drawnAs.delete(id); }
  }
  for (const [id, line] of routeLines) { if (!units.has(id)) { line.remove(); routeLines.delete(id); } }
}
