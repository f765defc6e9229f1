#!/usr/bin/env node
// First load and time to a ready camera of the scanner app on a site's weak mobile link:
// headless Chromium (playwright-core, as tests/peers uses it) with its network throttled
// through DevTools (`Network.emulateNetworkConditions`) and its camera faked from a video.
//
//   node mobile/bench/load.js http://127.0.0.1:8080 [VIDEO.y4m] [RUNS]
//
// Each run is a fresh browser profile (nothing cached): it opens /app/ and reports
// - `mounted_ms`: navigation start to the app mounted (`body[data-ready="1"]`);
// - `camera_ms`: navigation start to the camera's first frame in the <video>;
// - `bytes`: what went over the wire (encoded, as compressed in transit);
// then the same page is opened again in the same profile (`repeat_*`: the return visit).
// Prints one JSON line per run and the medians. Defaults: 1.6 Mbit/s down, 750 kbit/s up,
// 150 ms round trip (a weak 4G cell), 3 runs.
'use strict';

const path = require('path');
let chromium;
for (const dir of [
  path.join(__dirname, '../../tests/peers/node_modules'),
  process.env.PLAYWRIGHT_DIR || '',
]) {
  try {
    ({ chromium } = require(path.join(dir, 'playwright-core')));
    break;
  } catch (_) { /* next */ }
}
if (!chromium) {
  console.error('needs playwright-core: run `npm ci` in tests/peers (or set PLAYWRIGHT_DIR)');
  process.exit(3);
}

const [base, video, runsArg] = process.argv.slice(2);
if (!base) {
  console.error('usage: node mobile/bench/load.js BASE_URL [VIDEO.y4m] [RUNS]');
  process.exit(2);
}
const RUNS = Number(runsArg || 3);
const NET = {
  offline: false,
  latency: Number(process.env.RTT_MS || 150),
  downloadThroughput: (Number(process.env.DOWN_KBIT || 1600) * 1000) / 8,
  uploadThroughput: (Number(process.env.UP_KBIT || 750) * 1000) / 8,
};

async function visit(page, cdp) {
  let bytes = 0;
  const onDone = (e) => { bytes += e.encodedDataLength || 0; };
  cdp.on('Network.loadingFinished', onDone);
  const t0 = Date.now();
  await page.goto(`${base}/app/`, { waitUntil: 'commit' });
  await page.waitForSelector('body[data-ready="1"]', { timeout: 180000 });
  const mounted = Date.now() - t0;
  await page.waitForFunction(() => {
    const v = document.querySelector('video[data-testid=camera]');
    return v && v.readyState >= 2 && v.videoWidth > 0;
  }, null, { timeout: 180000, polling: 20 });
  const camera = Date.now() - t0;
  // Let the last responses finish so their bytes are counted.
  await page.waitForTimeout(300);
  cdp.off('Network.loadingFinished', onDone);
  return { mounted, camera, bytes };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
};

(async () => {
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'];
  if (video) args.push(`--use-file-for-fake-video-capture=${video}`);
  const rows = [];
  for (let i = 0; i < RUNS; i++) {
    const browser = await chromium.launch({
      executablePath: process.env.ZIZHI_CHROMIUM || '/usr/bin/chromium', headless: true, args,
    });
    const context = await browser.newContext({ viewport: { width: 375, height: 667 }, isMobile: true });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', NET);
    const first = await visit(page, cdp);
    // The service worker must not answer the return visit from its own fetch of the old
    // files: let it finish installing first, as a real second visit would.
    await page.waitForTimeout(1000);
    const again = await visit(page, cdp);
    const row = {
      run: i,
      mounted_ms: first.mounted, camera_ms: first.camera, bytes: first.bytes,
      repeat_mounted_ms: again.mounted, repeat_camera_ms: again.camera, repeat_bytes: again.bytes,
    };
    console.log(JSON.stringify(row));
    rows.push(row);
    await browser.close();
  }
  const keys = Object.keys(rows[0]).filter((k) => k !== 'run');
  const med = {};
  for (const k of keys) med[k] = median(rows.map((r) => r[k]));
  console.log(JSON.stringify({ median: med, network: NET }));
})().catch((e) => { console.error(e); process.exit(1); });
