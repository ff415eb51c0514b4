// The unit's position from the device, sent as `position` at most once every 5 s. A refusal is said
// on screen and nothing else stops working.
import { set } from "./store.js";
import { send } from "./socket.js";

const EVERY_MS = 5000;
let fix = null;
let sentAt = 0;
let watch = null;

export const lastFix = () => fix;

function sendFix() {
  if (!fix || Date.now() - sentAt < EVERY_MS) return;
  const message = { type: "position", lat: fix.lat, lon: fix.lon };
  if (Number.isFinite(fix.speed) && fix.speed >= 0) message.speed_kph = Math.min(400, Math.round(fix.speed * 36) / 10);
  if (Number.isFinite(fix.heading) && fix.heading >= 0 && fix.heading <= 360) message.heading = fix.heading;
  if (send(message)) sentAt = Date.now();
}

export function startPosition() {
  if (watch != null) return;
  if (!("geolocation" in navigator)) { set({ gps: "unavailable" }); return; }
  watch = navigator.geolocation.watchPosition((p) => {
    fix = { lat: p.coords.latitude, lon: p.coords.longitude, speed: p.coords.speed, heading: p.coords.heading };
    set({ gps: "on", here: [fix.lat, fix.lon] });
    sendFix();
  }, (error) => {
    set({ gps: error.code === error.PERMISSION_DENIED ? "refused" : "unavailable" });
  }, { enableHighAccuracy: true, maximumAge: 5000, timeout: 30_000 });
  // A unit standing still gets no new fix: its last one still goes out every 5 s while connected.
  setInterval(sendFix, EVERY_MS);
}
