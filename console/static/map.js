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
  // Quarter zoom steps: the region fills the map at any panel size, not the next whole level out of it.
  map = L.map("map", { zoomControl: true, attributionControl: true, preferCanvas: true, zoomSnap: 0.25 })
    .setView([47.14, 9.53], 12);
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
  addOverlays(layers.stations);
  legend().addTo(map);
  const bounds = L.geoJSON(layers.municipalities).getBounds();
  map.invalidateSize();  // the panel's size as laid out now, not as it was when the map was made
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [8, 8] });
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

// Layers a dispatcher turns on and off (Leaflet's layer control, open, so that its boxes are in the keyboard's
// reach): the stations, the standby posts the move-up sends idle units to, and the units' call signs as labels.
// The few stations, posts and routes are drawn as SVG (classes to style and find them), the rest on a canvas.
const svg = L.svg();
const labels = L.layerGroup();  // holds nothing: on the map, the units' call signs stay shown
export const overlays = {};
function places(features, className, style) {
  return L.geoJSON({ type: "FeatureCollection", features }, { pointToLayer: (f, ll) => L.circleMarker(ll,
    { renderer: svg, className, ...style }).bindTooltip(`${esc(f.properties.name)} (${esc(f.properties.kind)})`) });
}
function addOverlays(stations) {
  const standby = stations.features.filter((f) => f.properties.kind === "standby");
  overlays.Stations = places(stations.features.filter((f) => f.properties.kind !== "standby"), "station",
    { radius: 5, color: "#ced4da", weight: 1, fillColor: "#ced4da", fillOpacity: 0.3 }).addTo(map);
  overlays["Standby posts"] = places(standby, "post",
    { radius: 5, color: "#ffd43b", weight: 2, dashArray: "2 2", fill: false }).addTo(map);
  overlays.Coverage = coverage;
  overlays["Unit labels"] = labels;
  L.control.layers(null, overlays, { collapsed: false, position: "topright" }).addTo(map);
  map.on("overlayadd overlayremove", (e) => {
    if (e.layer === labels) relabelUnits();
    if (e.layer !== coverage) return;
    clearInterval(coverageTimer);
    if (e.type === "overlayadd") { drawCoverage(); coverageTimer = setInterval(drawCoverage, 30_000); }
  });
}

// Coverage (GET /api/coverage, off until asked for): the move-up's demand cells, green where a free unit of every
// fleet gets there within the target, amber where some fleet does not, red where none does; the busier the cell,
// the stronger its colour.
const coverage = L.layerGroup();
let coverageTimer = null;
const mins = (s) => (s == null ? "not in time" : `${Math.round(s / 60)} min`);
async function drawCoverage() {
  const found = await api("/api/coverage").catch(() => null);
  if (!found || !map.hasLayer(coverage)) return;
  const top = Math.max(1, ...found.cells.map((c) => c.weight));
  const half = found.cell_m / 2 / 111_320;
  coverage.clearLayers();
  for (const cell of found.cells) {
    const reached = found.fleets.filter((f) => cell.seconds[f] != null).length;
    const color = reached === found.fleets.length ? "#2f9e44" : reached ? "#f2a900" : "#e03131";
    const dLon = half / Math.cos((cell.lat * Math.PI) / 180);
    L.rectangle([[cell.lat - half, cell.lon - dLon], [cell.lat + half, cell.lon + dLon]], { renderer: svg,
      className: "cell", stroke: false, fillColor: color, fillOpacity: 0.15 + 0.35 * Math.sqrt(cell.weight / top) })
      .bindTooltip(`${found.fleets.map((f) => `${f} ${mins(cell.seconds[f])}`).join(" · ")} (target ${mins(found.target_s)})`)
      .addTo(coverage);
  }
}

// The selected incident in the middle of the map, closer in if the map is zoomed out; its units' routes stand out.
let selectedIncident = null;
export function centreOn(incident) {
  selectedIncident = incident?.id ?? null;
  for (const [, route] of routeLines) highlight(route);
  const lat = incident?.lat ?? incident?.location?.lat, lon = incident?.lon ?? incident?.location?.lon;
  if (map && lat != null && lon != null) map.setView([lat, lon], Math.max(map.getZoom(), 14));
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

// The route of each unit on its way to an incident, as the router has it; those to the selected incident
// drawn stronger and on top.
const routeLines = new Map();  // unit id → { line, incidentId }
const ROUTE = { color: "#74c0fc", weight: 3, opacity: 0.8, dashArray: "6 4" };
const CHOSEN = { color: "#ffd43b", weight: 5, opacity: 1, dashArray: null };
function highlight(route) {
  const chosen = route.incidentId === selectedIncident;
  route.line.setStyle(chosen ? CHOSEN : ROUTE);
  route.line.getElement()?.classList.toggle("chosen", chosen);
  if (chosen) route.line.bringToFront();
}
export async function drawRoute(unitId) {
  routeLines.get(unitId)?.line.remove();
  routeLines.delete(unitId);
  const unit = state.units.get(unitId);
  if (!unit || !MOVING.has(unit.status)) return;
  const found = await api(`/api/units/${unitId}/route`).catch(() => null);
  if (!found?.route) return;
  routeLines.get(unitId)?.line.remove();  // drawn meanwhile by another change of the same unit
  const line = L.polyline(found.route.coords, { renderer: svg, className: "route", ...ROUTE })
    .bindTooltip(`${esc(unit.call_sign)} → #${found.incident_id}, ${Math.round(found.route.seconds / 60)} min`).addTo(map);
  const route = { line, incidentId: found.incident_id };
  routeLines.set(unitId, route);
  highlight(route);
}

const drawnAs = new Map();  // unit id → the status its marker shows: restyled only when it changes
export function unitMarker(unit) {
  if (unit.lat == null) return;
  let marker = state.unitMarkers.get(unit.id);
  const style = unitStyle(unit.status);
  if (!marker) { marker = L.circleMarker([unit.lat, unit.lon], style).addTo(map); state.unitMarkers.set(unit.id, marker); }
  else {
    moveUnit(unit);
    if (drawnAs.get(unit.id) !== unit.status) { marker.setStyle(style); marker.setRadius(style.radius); }
  }
  drawnAs.set(unit.id, unit.status);
  label(marker, unit);
}

// A position: the marker moved, only if it did (a redraw of the canvas is asked for each one moved).
export function moveUnit(unit) {
  const marker = state.unitMarkers.get(unit.id);
  if (!marker) { unitMarker(unit); return; }
  const at = marker.getLatLng();
  if (at.lat !== unit.lat || at.lng !== unit.lon) marker.setLatLng([unit.lat, unit.lon]);
}

// A unit's tooltip: its call sign and status on hover; with "Unit labels" on, its call sign shown at all times.
function label(marker, unit) {
  const permanent = map.hasLayer(labels);
  const text = permanent ? esc(unit.call_sign) : `${esc(unit.call_sign)} · ${esc(unit.status)}`;
  const tip = marker.getTooltip();
  if (tip && tip.options.permanent === permanent) { if (tip.getContent() !== text) marker.setTooltipContent(text); return; }
  marker.unbindTooltip();
  marker.bindTooltip(text, permanent ? { permanent, direction: "right", offset: [6, 0], className: "unit-label" } : {});
}
function relabelUnits() {
  for (const [id, marker] of state.unitMarkers) { const unit = state.units.get(id); if (unit) label(marker, unit); }
}

// Units gone from a snapshot leave the map with their routes.
export function dropUnitsNotIn(units) {
  for (const [id, marker] of state.unitMarkers) {
    if (!units.has(id)) { marker.remove(); state.unitMarkers.delete(id); drawnAs.delete(id); }
  }
  for (const [id, route] of routeLines) { if (!units.has(id)) { route.line.remove(); routeLines.delete(id); } }
}
