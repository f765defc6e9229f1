// Starts the wasm app and registers the service worker. A separate file (not an inline
// script) so the page's content security policy needs no exception beyond 'wasm-unsafe-eval'.
import init from './zizhi_app.js';

init().catch((e) => {
  const main = document.getElementById('main');
  if (main) main.textContent = '应用加载失败：' + e;
});

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('./sw.js', { scope: './' }).catch(() => {
    // Without a service worker the app still works online; nothing to tell the inspector.
  });
}
