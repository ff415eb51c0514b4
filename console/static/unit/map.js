// The map: the service's own layers (GET /api/map, no tiles from elsewhere), the incident, the route and us.
// SVG rather than canvas: the paths take their colours from the stylesheet, so the theme applies to them.
import { state } from "./store.js";

let map = null, incident = null, route = null, here = null, drawn = "", area = null, element = null;
let layersLoaded = false, loading = null;

export function startMap(box) {
  const L = window.L;
  element = box;
  map = L.map(element, { zoomControl: true }).setView([47.14, 9.53], 12);
  // Its box changes with the layout (hidden under a new assignment, phone or tablet): Leaflet must be told.
  new ResizeObserver(() => { map.invalidateSize({ pan: false }); fit(); }).observe(element);
  updateMap();
}

// The layers, asked for at each start until they came: a refused token's try leaves the next sign-in to ask.
export function loadLayers(api) {
  if (!map || layersLoaded || loading) return loading;
  const token = state.token;
  loading = (async () => {
    const L = window.L;
    try {
      const layers = await api("/api/map");
      map.attributionControl.setPrefix(false).addAttribution(layers.attribution);
      const weight = { motorway: 4, trunk: 4, primary: 3, secondary: 2.5, tertiary: 2 };
      area = L.geoJSON(layers.municipalities).getBounds();
      L.geoJSON(layers.municipalities, { style: { className: "map-border", weight: 1, fill: false, dashArray: "4 4" }, interactive: false }).addTo(map);
      L.geoJSON(layers.roads, { style: (f) => ({ className: "map-road", weight: weight[f.properties.h] || 1.2 }), interactive: false }).addTo(map);
      layersLoaded = true;
      delete element.dataset.base;
      fit();
    } catch {
      element.dataset.base = "none"; // no base map; the incident and the route are still drawn
    } finally {
      loading = null;
      // Signed in again with another token while this one's request was out: that one asks now.
      if (!layersLoaded && state.token && state.token !== token) loadLayers(api);
    }
  })();
  return loading;
}

export function updateMap() {
  if (!map) return;
  // The job's place and route, else a move-up order's post and route.
  const L = window.L, job = state.job || state.standby;
  const key = JSON.stringify([job?.assignment_id ?? job?.post_id, job?.location, job?.route?.meters, state.here]);
  if (key === drawn) return;
  drawn = key;
  incident?.remove(); route?.remove(); incident = route = null;
  if (state.here) {
    if (!here) here = L.circleMarker(state.here, { radius: 7, className: "map-here", fillOpacity: 1 }).addTo(map);
    here.setLatLng(state.here);
  }
  const at = job?.location?.lat != null ? [job.location.lat, job.location.lon] : null;
  if (at) incident = L.circleMarker(at, { radius: 10, className: "map-incident", fillOpacity: 0.9 }).addTo(map);
  if (job?.route?.coords?.length) route = L.polyline(job.route.coords, { className: "map-route", weight: 5 }).addTo(map);
  fit();
}

// The job (its route, or the incident and us), else us, else the whole map; not while the map is hidden
// (a box of no size fits nothing): the resize that shows it fits again. The element's own size, not Leaflet's:
// a new assignment hides the map in the same task, before Leaflet hears of it, and refitting a hidden map
// re-projects every road (most of the time from an assignment's arrival to its being shown).
function fit() {
  const L = window.L, at = incident?.getLatLng();
  if (!element.clientWidth || !element.clientHeight) return;
  const bounds = route ? route.getBounds() : at ? L.latLngBounds([at, state.here || at])
    : state.here ? L.latLngBounds([state.here, state.here]) : area;
  if (bounds?.isValid()) map.fitBounds(bounds.pad(0.2), { maxZoom: 16, animate: false });
  else map.fire("moveend"); // the renderer draws what the new box shows
}
