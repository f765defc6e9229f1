#!/usr/bin/env node
// The inspector's phone for the scanner app: Debian's headless Chromium driven by
// playwright-core at 375×667, its camera faked by Chromium from a .y4m video of a printed
// certificate (`--use-file-for-fake-video-capture`), one Chromium launch per video.
//
// The Rust tests (tests/tests/e2e/app/) start a zizhi server with the demo register, make the
// videos and photos, and write one JSON line on stdin:
//   {"base": "http://127.0.0.1:PORT", "shots": "<dir>", "steps": [...]}
// Steps, each naming the browser `b` it acts in:
//   {"op": "launch", "b": "usage", "video": "/tmp/…/current_usage.y4m" | null, "camera": true,
//    "watch": false, "zoom": null}
//     watch: record the page's camera (see CAMERA_WATCH) for a later `camera_log` step;
//     zoom: a number, the fake camera zooms (up to that factor) as a phone's does (CAMERA_ZOOM)
//   {"op": "open", "b": "usage"}                      /app/ until the app has mounted
//   {"op": "result", "b": "usage", "name": "…", "source": "live", "details": true, "shot": "app-result-valid"}
//   {"op": "scan_screen", "b": "…", "shot": "app-scan"} the camera view, running
//   {"op": "fonts", "b": "…", "name": "…", "texts": ["沈䶮", …], "shot": "…"}
//     on 结果: for each text, the fonts Chromium drew the innermost element holding it with
//     (DevTools' CSS.getPlatformFontsForNode: family, whether a web font, glyphs drawn)
//   {"op": "photo", "b": "…", "file": "/tmp/…/photo.jpg"} through the file input
//   {"op": "tab", "b": "…", "tab": "history"|"settings"|"scan"|"result", "shot": "app-history"}
//   {"op": "sync", "b": "…", "name": "…"}             设置 until it says 同步成功
//   {"op": "worker", "b": "…"}                        until the service worker controls the page
//   {"op": "clear_history", "b": "…", "name": "…"}
//   {"op": "stop_server"}                             prints STOP, waits for STOPPED on stdin
//   {"op": "reload", "b": "…"}
//   {"op": "camera_log", "b": "…", "name": "…"}      what a `watch` launch recorded
//   {"op": "close", "b": "…"}                         closes Chromium; reports its page errors
// Every step prints one JSON line (what a person would see); the Rust side asserts, this
// script only looks. A step that cannot find what it waits for reports it, it does not fail.
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');

let chromium;
try {
  ({ chromium } = require('playwright-core'));
} catch (e) {
  console.error(`the app tests need playwright-core: run \`npm ci\` in tests/peers (${e.message})`);
  process.exit(3);
}

const CHROMIUM = process.env.ZIZHI_CHROMIUM || '/usr/bin/chromium';
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
// Waits for the app: loading the wasm and decoding frames on a busy 2-core machine.
const MOUNT_MS = 60000;
const SCAN_MS = 60000;

const rl = readline.createInterface({ input: process.stdin });
const lines = [];
let waiting = null;
rl.on('line', (l) => {
  if (waiting) {
    const w = waiting;
    waiting = null;
    w(l);
  } else {
    lines.push(l);
  }
});
const nextLine = () =>
  lines.length ? Promise.resolve(lines.shift()) : new Promise((res) => { waiting = res; });

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const log = (...a) => console.error(new Date().toISOString(), ...a);

const browsers = {};

async function text(page, selector) {
  const l = page.locator(selector);
  return (await l.count()) ? (await l.first().innerText()).trim() : null;
}

// Anything wider than the phone means sideways scrolling.
async function pastEdge(page) {
  return page.evaluate(() => {
    const w = document.documentElement.clientWidth;
    return [...document.querySelectorAll('body *')]
      .filter((e) => {
        const r = e.getBoundingClientRect();
        return r.width > 0 && r.right > w + 0.5;
      })
      .map((e) => e.tagName.toLowerCase() + (e.dataset.testid ? `[${e.dataset.testid}]` : ''));
  });
}

// What the phone's screen shows (375×667); a fixed tab bar would land mid-page in a
// full-page capture.
async function shot(page, shots, name) {
  if (!name) return null;
  const file = path.join(shots, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

// Runs before the app in a `watch` browser: records what the app asks of the camera
// (`applyConstraints` calls), the size of the stream it is given and of the <video> as it
// changes, and every text and `data-zoom` the scan status shows, each with the ms since the
// page started, in `window.__camera` for `camera_log`.
const CAMERA_WATCH = () => {
  const t0 = performance.now();
  const log = { constraints: [], streams: [], statuses: [], zooms: [], video_sizes: [] };
  window.__camera = log;
  const ms = () => Math.round(performance.now() - t0);
  const apply = MediaStreamTrack.prototype.applyConstraints;
  MediaStreamTrack.prototype.applyConstraints = function (c) {
    log.constraints.push({ ms: ms(), constraints: JSON.parse(JSON.stringify(c || {})) });
    return apply.call(this, c);
  };
  const gum = MediaDevices.prototype.getUserMedia;
  MediaDevices.prototype.getUserMedia = async function (c) {
    const stream = await gum.call(this, c);
    const t = stream.getVideoTracks()[0];
    const s = t ? t.getSettings() : {};
    log.streams.push({ ms: ms(), asked: JSON.parse(JSON.stringify(c || {})), width: s.width, height: s.height });
    return stream;
  };
  let last = {};
  const look = () => {
    const s = document.querySelector('[data-testid=scan-status]');
    if (s) {
      const text = s.textContent.trim();
      if (text !== last.text) log.statuses.push({ ms: ms(), text });
      const zoom = s.getAttribute('data-zoom');
      if (zoom !== last.zoom && zoom !== null) log.zooms.push({ ms: ms(), zoom });
      last = { text, zoom };
    }
    const v = document.querySelector('video[data-testid=camera]');
    if (v && v.videoWidth) {
      const size = [v.videoWidth, v.videoHeight];
      const prev = log.video_sizes[log.video_sizes.length - 1];
      if (!prev || prev.size[0] !== size[0] || prev.size[1] !== size[1]) log.video_sizes.push({ ms: ms(), size });
    }
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
  setInterval(look, 50);
};

// A phone camera's zoom for Chromium's fake one, which has none: the page is given a canvas
// stream of the size it asked for, drawn from the fake camera's full-resolution stream (the
// sensor) cropped around its centre by the zoom, with `zoom` in the track's capabilities and
// settings and `applyConstraints({advanced: [{zoom}]})` obeyed, as Android's Chrome offers it.
const CAMERA_ZOOM = (maxZoom) => {
  const tracks = new WeakMap();
  const gum = MediaDevices.prototype.getUserMedia;
  MediaDevices.prototype.getUserMedia = async function (c) {
    if (!c || !c.video) return gum.call(this, c);
    const sensor = await gum.call(this, { video: { width: { ideal: 3840 }, height: { ideal: 2160 } } });
    const src = document.createElement('video');
    src.muted = true;
    src.srcObject = sensor;
    await src.play();
    const ideal = (v, d) => (v && typeof v === 'object' ? v.ideal || v.exact || d : v || d);
    const canvas = document.createElement('canvas');
    canvas.width = ideal(c.video.width, 1280);
    canvas.height = ideal(c.video.height, 720);
    const ctx = canvas.getContext('2d');
    const state = { zoom: 1 };
    const draw = () => {
      if (!src.videoWidth) return;
      const [w, h] = [src.videoWidth / state.zoom, src.videoHeight / state.zoom];
      ctx.drawImage(src, (src.videoWidth - w) / 2, (src.videoHeight - h) / 2, w, h, 0, 0, canvas.width, canvas.height);
    };
    draw();
    const timer = setInterval(draw, 50);
    const stream = canvas.captureStream(20);
    const track = stream.getVideoTracks()[0];
    tracks.set(track, { state, stop: () => { clearInterval(timer); sensor.getTracks().forEach((t) => t.stop()); } });
    return stream;
  };
  const proto = MediaStreamTrack.prototype;
  const [caps, settings, apply, stop] = [proto.getCapabilities, proto.getSettings, proto.applyConstraints, proto.stop];
  proto.getCapabilities = function () {
    const z = tracks.get(this);
    const c = caps.call(this);
    return z ? { ...c, zoom: { min: 1, max: maxZoom, step: 0.1 } } : c;
  };
  proto.getSettings = function () {
    const z = tracks.get(this);
    const s = settings.call(this);
    return z ? { ...s, zoom: z.state.zoom } : s;
  };
  proto.applyConstraints = function (c) {
    const z = tracks.get(this);
    const zoom = c && c.advanced && c.advanced.map((a) => a.zoom).find((v) => typeof v === 'number');
    if (z && zoom !== undefined) {
      z.state.zoom = Math.min(Math.max(zoom, 1), maxZoom);
      return Promise.resolve();
    }
    return apply.call(this, c);
  };
  proto.stop = function () {
    const z = tracks.get(this);
    if (z) z.stop();
    return stop.call(this);
  };
};

async function launch(step) {
  const args = [...FLAGS];
  if (step.camera !== false) {
    args.push('--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream');
    if (step.video) args.push(`--use-file-for-fake-video-capture=${step.video}`);
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args });
  const context = await browser.newContext({
    viewport: { width: 375, height: 667 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
    // "状态截至 …" is read as the inspector's clock shows it.
    timezoneId: 'Asia/Shanghai',
    userAgent:
      'Mozilla/5.0 (Linux; Android 13; Phone) AppleWebKit/537.36 (KHTML, like Gecko) ' +
      'Chrome/120.0 Mobile Safari/537.36',
  });
  // The zoom goes under the watch, so the watch sees what the app asks and is given.
  if (step.zoom) await context.addInitScript(CAMERA_ZOOM, step.zoom);
  if (step.watch) await context.addInitScript(CAMERA_WATCH);
  const page = await context.newPage();
  const b = { browser, context, page, errors: [], console: [] };
  page.on('pageerror', (e) => b.errors.push(String(e && e.stack ? e.stack : e)));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') b.console.push(`${m.type()}: ${m.text()}`);
  });
  browsers[step.b] = b;
  return { video: step.video || null };
}

async function open(b, base) {
  const res = await b.page.goto(`${base}/app/`, { waitUntil: 'load' });
  const mounted = await b.page
    .waitForSelector('body[data-ready="1"]', { timeout: MOUNT_MS })
    .then(() => true, () => false);
  const meta = await b.page.evaluate(() => {
    const m = (n) => {
      const e = document.querySelector(`meta[name="${n}"]`);
      return e ? e.getAttribute('content') : null;
    };
    return { root_key: m('zizhi-root-key'), root_kid: m('zizhi-root-kid') };
  });
  return { status: res ? res.status() : null, mounted, ...meta, csp: res ? res.headers()['content-security-policy'] : null };
}

async function result(b, shots, step) {
  const page = b.page;
  const r = page.locator('[data-testid=result]');
  const found = await r.first().waitFor({ state: 'visible', timeout: SCAN_MS }).then(() => true, () => false);
  if (!found) {
    return { found, scan_status: await text(page, '[data-testid=scan-status]'), shot: await shot(page, shots, step.shot && `${step.shot}-missing`) };
  }
  // A live answer may replace an offline one that came first; wait for the one expected.
  let settled = true;
  if (step.source) {
    settled = await page
      .locator(`[data-testid=result][data-source="${step.source}"]`)
      .first()
      .waitFor({ state: 'visible', timeout: 20000 })
      .then(() => true, () => false);
  }
  const out = {
    found,
    settled,
    level: await r.first().getAttribute('data-level'),
    source: await r.first().getAttribute('data-source'),
    title: await text(page, '[data-testid=verdict-title]'),
    message: await text(page, '[data-testid=verdict-message]'),
    status_as_of: await text(page, '[data-testid=status-as-of]'),
    claims: await text(page, '[data-testid=claims]'),
    enterprise: await text(page, '[data-testid=enterprise-name]'),
    has_qualifications: (await page.locator('[data-testid=qualifications]').count()) > 0,
    notice: await text(page, '[data-testid=result-notice]'),
    text: (await r.first().innerText()).trim(),
    past_edge: await pastEdge(page),
  };
  out.shot = await shot(page, shots, step.shot);
  if (step.details && out.has_qualifications) {
    const q = page.locator('[data-testid=qualifications]').first();
    const isDetails = await q.evaluate((e) => e.tagName === 'DETAILS');
    if (isDetails && !(await q.evaluate((e) => e.open))) {
      await q.locator('summary').first().click();
    }
    out.qualifications_open = await q.evaluate((e) => e.tagName !== 'DETAILS' || e.open);
    out.qualifications = (await q.innerText()).trim();
    // Its heading just under the app's fixed title bar.
    await q.evaluate((e) => window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY - 56));
    out.details_shot = await shot(page, shots, step.shot && `${step.shot}-details`);
  }
  return out;
}

async function scanScreen(b, shots, step) {
  const page = b.page;
  await page.locator('[data-testid=tab-scan]').first().click().catch(() => {});
  const video = page.locator('video[data-testid=camera]');
  const playing = await page
    .waitForFunction(() => {
      const v = document.querySelector('video[data-testid=camera]');
      return v && v.readyState >= 2 && v.videoWidth > 0 && !v.paused;
    }, null, { timeout: 20000 })
    .then(() => true, () => false);
  const out = {
    has_video: (await video.count()) > 0,
    playing,
    video_size: await page.evaluate(() => {
      const v = document.querySelector('video[data-testid=camera]');
      return v ? [v.videoWidth, v.videoHeight] : null;
    }),
    has_photo_input: (await page.locator('input[type=file][data-testid=photo-input]').count()) > 0,
    photo_accept: await page.locator('[data-testid=photo-input]').first().getAttribute('accept').catch(() => null),
    photo_capture: await page.locator('[data-testid=photo-input]').first().getAttribute('capture').catch(() => null),
    torch: (await page.locator('[data-testid=torch]').count()) > 0,
    scan_status: await text(page, '[data-testid=scan-status]'),
    past_edge: await pastEdge(page),
  };
  // A few seconds of frames: nothing may be found where there is no code.
  await page.waitForTimeout(3000);
  out.result_shown = (await page.locator('[data-testid=result]').count()) > 0;
  // The wasm pipeline's time for the last frame (a frame with no code: the full attempt list).
  out.decode_ms = await page.locator('[data-testid=scan-status]').first().getAttribute('data-decode-ms').catch(() => null);
  out.shot = await shot(page, shots, step.shot);
  return out;
}

// Which fonts drew each text on 结果, asked through DevTools as the H5 page test does. The
// app's web fonts arrive after the verdict (fetched, or loaded from the device), so each
// text is asked again until a web font draws part of it, for at most 10 s.
async function fonts(b, shots, step) {
  const page = b.page;
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('DOM.enable');
  await cdp.send('CSS.enable');
  const textOf = (n) => (n.nodeType === 3 ? n.nodeValue : (n.children || []).map(textOf).join(''));
  const innermost = (n, t) => {
    for (const c of n.children || []) {
      if (c.nodeType === 1 && textOf(c).includes(t)) return innermost(c, t);
    }
    return n;
  };
  const find = (n) => {
    if (n.attributes && n.attributes.includes('data-testid') &&
        n.attributes[n.attributes.indexOf('data-testid') + 1] === 'result') return n;
    for (const c of n.children || []) { const f = find(c); if (f) return f; }
    return null;
  };
  const out = { texts: [], web_fonts: null };
  for (const t of step.texts) {
    const until = Date.now() + 10000;
    let seen = { text: t, found: false };
    for (;;) {
      const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
      const result = find(root);
      if (result && textOf(result).includes(t)) {
        const el = innermost(result, t);
        const { fonts: used } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId: el.nodeId });
        seen = { text: t, found: true, element_text: textOf(el), fonts: used };
        if (used.some((f) => f.isCustomFont)) break;
      }
      if (Date.now() > until) break;
      await page.waitForTimeout(250);
    }
    out.texts.push(seen);
  }
  out.web_fonts = await page.evaluate(() =>
    [...document.fonts].map((f) => ({ family: f.family, range: f.unicodeRange, status: f.status })));
  out.shot = await shot(page, shots, step.shot);
  return out;
}

async function photo(b, step) {
  const page = b.page;
  await page.locator('[data-testid=tab-scan]').first().click().catch(() => {});
  await page.locator('[data-testid=photo-input]').first().setInputFiles(step.file);
  const out = { file: step.file };
  // A photo that gives no verdict: wait until the scan screen's status says `status`.
  if (step.status) {
    out.status_seen = await page
      .waitForFunction((want) => {
        const s = document.querySelector('[data-testid=scan-status]');
        return s && s.textContent.includes(want);
      }, step.status, { timeout: 30000, polling: 100 })
      .then(() => true, () => false);
    out.scan_status = await text(page, '[data-testid=scan-status]');
    out.result_shown = (await page.locator('[data-testid=result]').count()) > 0;
  }
  return out;
}

async function tab(b, shots, step) {
  const page = b.page;
  await page.locator(`[data-testid=tab-${step.tab}]`).first().click();
  await page.waitForTimeout(300);
  const out = { tab: step.tab, past_edge: await pastEdge(page) };
  if (step.tab === 'history') {
    out.items = await page.locator('[data-testid=history-item]').allInnerTexts();
    out.has_list = (await page.locator('[data-testid=history-list]').count()) > 0;
  }
  if (step.tab === 'settings') {
    out.server_url = await page.locator('input[data-testid=server-url]').first().inputValue().catch(() => null);
    out.trust_list_age = await text(page, '[data-testid=trust-list-age]');
    out.snapshot_age = await text(page, '[data-testid=snapshot-age]');
    out.sync_status = await text(page, '[data-testid=sync-status]');
  }
  out.shot = await shot(page, shots, step.shot);
  return out;
}

// 设置: type a server address and save it, as an inspector talked into "our server" would.
async function setServer(b, shots, step) {
  const page = b.page;
  await page.locator('[data-testid=tab-settings]').first().click();
  const input = page.locator('input[data-testid=server-url]').first();
  await input.fill(step.url);
  await page.locator('[data-testid=server-save]').first().click();
  await page.waitForTimeout(300);
  return {
    note: await text(page, '[data-testid=server-note]'),
    server_url: await input.inputValue().catch(() => null),
    stored: await page.evaluate(() => Object.entries(localStorage).filter(([k]) => k.includes('settings')).map(([, v]) => v).join('')),
    shot: await shot(page, shots, step.shot),
  };
}

async function sync(b, shots, step) {
  const page = b.page;
  await page.locator('[data-testid=tab-settings]').first().click();
  const ok = () =>
    page.waitForFunction(() => {
      const s = document.querySelector('[data-testid=sync-status]');
      return s && s.innerText.includes('同步成功');
    }, null, { timeout: 20000 }).then(() => true, () => false);
  // The app syncs by itself when it starts; 同步 now is the inspector's way to make sure.
  let synced = await ok();
  let clicked = false;
  if (!synced) {
    clicked = true;
    await page.locator('[data-testid=sync-now]').first().click();
    synced = await ok();
  }
  return {
    synced,
    clicked,
    sync_status: await text(page, '[data-testid=sync-status]'),
    trust_list_age: await text(page, '[data-testid=trust-list-age]'),
    snapshot_age: await text(page, '[data-testid=snapshot-age]'),
    shot: await shot(page, shots, step.shot),
  };
}

async function worker(b) {
  const page = b.page;
  const state = await page.evaluate(async () => {
    if (!('serviceWorker' in navigator)) return { supported: false };
    const timeout = new Promise((res) => setTimeout(() => res(null), 30000));
    const reg = await Promise.race([navigator.serviceWorker.ready, timeout]);
    const keys = await caches.keys();
    let cached = [];
    for (const k of keys) {
      const c = await caches.open(k);
      cached = cached.concat((await c.keys()).map((r) => new URL(r.url).pathname));
    }
    return { supported: true, ready: !!reg, scope: reg ? reg.scope : null, active: !!(reg && reg.active), cached };
  });
  return state;
}

async function clearHistory(b, shots, step) {
  const page = b.page;
  await page.locator('[data-testid=tab-history]').first().click();
  const before = await page.locator('[data-testid=history-item]').count();
  page.once('dialog', (d) => d.accept());
  await page.locator('[data-testid=history-clear]').first().click();
  // The app asks first, in the page (a window.confirm would be accepted above).
  const confirm = page.locator('[data-testid=history-clear-confirm]');
  const asked = await confirm.first().waitFor({ state: 'visible', timeout: 3000 }).then(() => true, () => false);
  const confirm_shot = asked ? await shot(page, shots, step.shot && `${step.shot}-confirm`) : null;
  if (asked) await confirm.first().click();
  await page.waitForTimeout(500);
  const after = await page.locator('[data-testid=history-item]').count();
  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector('body[data-ready="1"]', { timeout: MOUNT_MS }).catch(() => {});
  await page.locator('[data-testid=tab-history]').first().click().catch(() => {});
  await page.waitForTimeout(300);
  const after_reload = await page.locator('[data-testid=history-item]').count();
  return { before, asked, after, after_reload, confirm_shot, shot: await shot(page, shots, step.shot) };
}

async function run(input) {
  fs.mkdirSync(input.shots, { recursive: true });
  for (const step of input.steps) {
    const b = browsers[step.b];
    const started = Date.now();
    let out;
    log('step', step.op, step.b || '', step.name || '');
    switch (step.op) {
      case 'launch': out = await launch(step); break;
      case 'open': out = await open(b, input.base); break;
      case 'result': out = await result(b, input.shots, step); break;
      case 'scan_screen': out = await scanScreen(b, input.shots, step); break;
      case 'photo': out = await photo(b, step); break;
      case 'fonts': out = await fonts(b, input.shots, step); break;
      case 'tab': out = await tab(b, input.shots, step); break;
      case 'sync': out = await sync(b, input.shots, step); break;
      case 'set_server': out = await setServer(b, input.shots, step); break;
      case 'worker': out = await worker(b); break;
      case 'clear_history': out = await clearHistory(b, input.shots, step); break;
      case 'stop_server': {
        process.stdout.write('STOP\n');
        const answer = await nextLine();
        out = { answer };
        break;
      }
      case 'reload': {
        const res = await b.page.reload({ waitUntil: 'load' }).catch((e) => ({ error: String(e) }));
        const mounted = await b.page
          .waitForSelector('body[data-ready="1"]', { timeout: MOUNT_MS })
          .then(() => true, () => false);
        out = { mounted, error: res && res.error ? res.error : null, from_worker: res && res.fromServiceWorker ? res.fromServiceWorker() : null };
        break;
      }
      case 'camera_log': out = await b.page.evaluate(() => window.__camera || null).then((log) => ({ log })); break;
      case 'close': {
        out = { page_errors: b.errors, console: b.console };
        await b.browser.close();
        delete browsers[step.b];
        break;
      }
      default:
        throw new Error(`unknown step ${step.op}`);
    }
    emit({ op: step.op, b: step.b || null, name: step.name || null, ms: Date.now() - started, ...out });
  }
}

(async () => {
  const input = JSON.parse(await nextLine());
  try {
    await run(input);
  } finally {
    for (const b of Object.values(browsers)) await b.browser.close().catch(() => {});
    rl.close();
  }
})().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
