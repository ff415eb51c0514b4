// The crew app's service worker (scope /unit/): the app opens, signs in and shows the held job with no network.
// The service writes `self.PRECACHE = { version, shell }` before this file (dispatch/edge/offline.py): the
// version is a hash of every kept file, so any change to them makes this worker new and replaces the cache.
//
// - The shell (pages, modules, CSS, icons, Leaflet): from this version's cache, filled at install, so a dead
//   zone or a link that hangs opens the app at once. It is fresh because the worker is: see above.
// - GET /api/me, /api/map, /api/incident-types: the network first, what it answered kept per token; the kept
//   copy only when the network fails or is slower than API_WAIT_MS. Another token never reads it (a cache per
//   hash of the token), and signing out deletes them all (offline.js).
// - Everything else, every request that is not a GET (statuses, messages) and the websocket: not touched.
const { version, shell } = self.PRECACHE;
const SHELL_CACHE = `unit-shell-${version}`;
const API_PREFIX = "unit-api-";
const HELD = new Set(["/api/me", "/api/map", "/api/incident-types"]);
const SHELL = new Set(shell);
const API_WAIT_MS = 4000;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    // no-cache: revalidated with the service (a 304 when unchanged), never an old copy from the HTTP cache.
    await cache.addAll(shell.map((url) => new Request(url, { cache: "no-cache" })));
    await self.skipWaiting(); // the new version at once: a device may not be restarted for days
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("unit-shell-") && name !== SHELL_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const page = request.mode === "navigate" && (url.pathname === "/unit/" || url.pathname === "/unit/index.html");
  if (page || SHELL.has(url.pathname)) {
    event.respondWith(fromShell(page ? "/unit/" : url.pathname, request));
  } else if (HELD.has(url.pathname) && request.headers.has("Authorization")) {
    event.respondWith(networkOrHeld(event, request, url.pathname));
  }
});

async function fromShell(key, request) {
  const cache = await caches.open(SHELL_CACHE);
  return (await cache.match(key, { ignoreSearch: true, ignoreVary: true })) || fetch(request);
}

// The name of a token's cache: a hash, so the token itself is never written to disk a second time.
async function tokenCache(authorization) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(authorization));
  return API_PREFIX + [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function networkOrHeld(event, request, key) {
  const name = await tokenCache(request.headers.get("Authorization"));
  // Opened only to keep a good answer: a refused token leaves no cache of its own behind.
  const held = () => caches.match(key, { cacheName: name, ignoreVary: true });
  const network = fetch(request).then(async (response) => {
    if (response.ok) await (await caches.open(name)).put(key, response.clone());
    return response;
  });
  event.waitUntil(network.catch(() => null)); // a slow answer still refreshes the kept copy
  const late = new Promise((resolve) => setTimeout(resolve, API_WAIT_MS, null));
  try {
    return (await Promise.race([network, late])) || (await held()) || (await network);
  } catch (error) {
    const kept = await held();
    if (kept) return kept;
    throw error;
  }
}
