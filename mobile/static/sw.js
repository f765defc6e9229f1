// Service worker of the scanner app (scope /app/).
//
// - install: caches the app shell, so the app opens with no network.
// - GET of the shell, the trust list and the status snapshot: network first, the cached copy
//   when the network fails (the app itself also keeps both in localStorage; this covers a
//   reload in a basement).
// - Anything else (POST /api/v1/verify above all) is never cached: a verdict is live or it is
//   not given.
const CACHE = 'zizhi-app-v1';
const SHELL = [
  './',
  './index.html',
  './boot.js',
  './zizhi_app.js',
  './zizhi_app_bg.wasm',
  './style.css',
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

self.addEventListener('fetch', (event) => {
  if (!cacheable(event.request)) return;
  event.respondWith(networkFirst(event.request));
});
