// The app as an installed web app: the service worker (sw.js) that opens it with no network, its updates,
// and forgetting what it kept for a token when the crew signs out.
import { state, subscribe } from "./store.js";

const UPDATE_EVERY_MS = 60 * 60 * 1000; // a device left open for days still hears of a new version
let updated = false;

// A new version took over this page: reload into it, but never in the middle of something the crew does.
function reloadWhenIdle(s) {
  const typing = Boolean(document.getElementById("talk-text")?.value);
  if (updated && !s.job?.ackOf && !s.pending.size && !typing) { updated = false; location.reload(); }
}

export function registerWorker() {
  if (!("serviceWorker" in navigator)) return;
  // The first worker taking an uncontrolled page is no update: only a change of controller is.
  let controlled = Boolean(navigator.serviceWorker.controller);
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (controlled) { updated = true; reloadWhenIdle(state); } else keepForOffline();
    controlled = true;
  });
  subscribe(reloadWhenIdle);
  // updateViaCache 'none': the browser asks the service for sw.js itself each time, never its HTTP cache.
  navigator.serviceWorker.register("/unit/sw.js", { scope: "/unit/", updateViaCache: "none" }).then((registration) => {
    setInterval(() => registration.update().catch(() => {}), UPDATE_EVERY_MS);
    addEventListener("online", () => registration.update().catch(() => {}));
  }).catch(() => { /* no worker (an insecure origin, a private window): the app works online as before */ });
}

// The first worker came after the page had asked for these (they went past it): asked again through it, so
// the first time the network goes the device has them. The map comes from the browser's cache, as a rule.
function keepForOffline() {
  if (!state.token) return;
  for (const path of ["/api/me", "/api/map"]) {
    fetch(path, { headers: { Authorization: `Bearer ${state.token}` } }).catch(() => {});
  }
}

// Signing out, or a token refused: nothing the worker kept for a token stays on the device.
export async function forgetHeld() {
  if (!("caches" in self)) return;
  for (const name of await caches.keys()) if (name.startsWith("unit-api-")) await caches.delete(name);
}
