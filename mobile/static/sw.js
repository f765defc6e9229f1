// Service worker of the scanner app (scope /app/).
//
// - install: caches this build's app shell, so the app opens with no network. The cache is
//   named after the build (scripts/build-app.sh writes the id), so a new build's worker
//   installs beside the old one and the old cache goes on activate.
// - Files with a content hash in their name (the wasm, its JS glue, boot.js, style.css):
//   cache first, since those bytes never change under that name — a reload on a weak link
//   costs no download at all.
// - GET of the rest of the shell, the trust list and the status snapshot: network first, the
//   cached copy when the network fails (the app itself also keeps both in localStorage; this
//   covers a reload in a basement).
// - Anything else (POST /api/v1/verify above all) is never cached: a verdict is live or it is
//   not given.
const CACHE = 'zizhi-app-v1';
const SHELL = [
  './',
  './index.html',
  // This build's content-hashed files, listed by scripts/build-app.sh.
  /* HASHED */
  './manifest.webmanifest',
  './icons/icon-192.png',
  './icons/icon-512.png',
  // wasm-bindgen's snippet modules (hashed paths), listed by scripts/build-app.sh.
  /* SNIPPETS */
];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting())
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

function cacheable(request) {
  if (request.method !== 'GET') return false;
  const url = new URL(request.url);
  if (url.pathname === '/.well-known/zizhi/trust-list') return true;
  if (url.pathname === '/api/v1/status/snapshot') return true;
  // The shell and wasm-bindgen's snippet modules, same origin only.
  return url.origin === self.location.origin && url.pathname.startsWith(new URL('./', self.registration.scope).pathname);
}

// A copy served from the cache says so (`x-zizhi-offline: 1`), so the app never reports a
// sync from cached copies as 同步成功.
async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) cache.put(request, response.clone());
    return response;
  } catch (err) {
    let hit = await cache.match(request);
    if (!hit && request.mode === 'navigate') hit = await cache.match('./index.html');
    if (!hit) throw err;
    const headers = new Headers(hit.headers);
    headers.set('x-zizhi-offline', '1');
    return new Response(hit.body, { status: hit.status, statusText: hit.statusText, headers });
  }
}

// NAME.<16 hex>.EXT, as scripts/build-app.sh names them.
const HASHED = /\.[0-9a-f]{16}\.(wasm|js|css)$/;

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok) cache.put(request, response.clone());
  return response;
}

self.addEventListener('fetch', (event) => {
  if (!cacheable(event.request)) return;
  const hashed = HASHED.test(new URL(event.request.url).pathname);
  event.respondWith(hashed ? cacheFirst(event.request) : networkFirst(event.request));
});
