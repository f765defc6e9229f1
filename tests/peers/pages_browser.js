#!/usr/bin/env node
// A phone's browser for the H5 pages: Debian's headless Chromium driven by playwright-core
// at 375×667 with JavaScript switched off (the verdict must be readable without it).
//
// The Rust tests (tests/tests/e2e/pages/) start a zizhi server with the demo register and pass a
// JSON request on stdin: {"base": "http://127.0.0.1:PORT", "shots": "<dir>", "steps": [...]}.
// Steps:
//   {"op": "open", "name": "current_usage", "path": "/V/…", "expand": true, "width": 360}
//   {"op": "search", "name": "search_name", "query": "工程", "next": true}
//   {"op": "fonts", "name": "rare", "path": "/V/…", "texts": ["沈䶮", …]}
//     (for each text, the fonts Chromium drew the element holding it with, from DevTools'
//     CSS.getPlatformFontsForNode: family, whether it is a web font, glyphs drawn)
// Each result says what a person would see (status, verdict title and level, which 详情 rows
// are visible before and after tapping 详情, result names, page summary, horizontal overflow)
// and where its screenshots went. The Rust side asserts; this script only looks.
'use strict';

const fs = require('fs');
const path = require('path');

let chromium;
try {
  ({ chromium } = require('playwright-core'));
} catch (e) {
  console.error(`the page tests need playwright-core: run \`npm ci\` in tests/peers (${e.message})`);
  process.exit(3);
}

const CHROMIUM = process.env.ZIZHI_CHROMIUM || '/usr/bin/chromium';

async function text(locator) {
  return (await locator.count()) ? (await locator.first().innerText()).trim() : null;
}

// Labels of the form-preview rows that are actually visible now.
async function visibleLabels(page) {
  const labels = page.locator('.weui-form-preview__label');
  const out = [];
  for (let i = 0; i < (await labels.count()); i++) {
    const l = labels.nth(i);
    if (await l.isVisible()) out.push((await l.innerText()).replace(/\s+/g, ''));
  }
  return out;
}

// Wider than the screen means sideways scrolling on a phone.
async function overflows(page, width) {
  const main = await page.locator('main').boundingBox();
  const wide = await page.locator('main *').evaluateAll(
    (els, w) => els.filter((e) => e.getBoundingClientRect().right > w + 0.5).length,
    width,
  ).catch(() => null);
  return { main_width: main && main.width, elements_past_edge: wide };
}

async function open(page, base, shots, step) {
  // The narrowest phones in use are 360 px wide; the default is 375×667.
  const width = step.width || 375;
  await page.setViewportSize({ width, height: width === 375 ? 667 : 640 });
  const res = await page.goto(base + step.path, { waitUntil: 'load' });
  const out = {
    name: step.name,
    status: res.status(),
    level: await page.locator('#verdict').getAttribute('data-level').catch(() => null),
    title: await text(page.locator('.weui-msg__title')),
    desc: await text(page.locator('.weui-msg__desc')),
    usage: await text(page.locator('#usage')),
    has_details: (await page.locator('details#details').count()) > 0,
    labels_before: await visibleLabels(page),
    layout: await overflows(page, width),
    shots: [],
  };
  const first = path.join(shots, `${step.name}.png`);
  await page.screenshot({ path: first, fullPage: true });
  out.shots.push(first);
  if (step.expand && out.has_details) {
    await page.locator('details#details > summary').click();
    out.details_open = await page.locator('details#details').evaluate((d) => d.open).catch(
      async () => (await page.locator('details#details[open]').count()) > 0,
    );
    out.labels_after = await visibleLabels(page);
    out.changes = await text(page.locator('#changes'));
    out.qualifications = await text(page.locator('details#details .quals'));
    const expanded = path.join(shots, `${step.name}-details.png`);
    await page.screenshot({ path: expanded, fullPage: true });
    out.shots.push(expanded);
  }
  return out;
}

async function search(page, base, shots, step) {
  await page.setViewportSize({ width: 375, height: 667 });
  await page.goto(base + '/search', { waitUntil: 'load' });
  // Typed and submitted as a person would: the form works without JavaScript.
  await page.locator('input[name=q]').fill(step.query);
  const [res] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.locator('button[type=submit]').click(),
  ]);
  const results = async () => page.locator('#results .weui-cell__title').allInnerTexts();
  const out = {
    name: step.name,
    status: res.status(),
    url: page.url(),
    summary: await text(page.locator('#summary')),
    title: await text(page.locator('.weui-msg__title')),
    names: await results(),
    certificates: await page.locator('#results a.cert').allInnerTexts(),
    layout: await overflows(page, 375),
    shots: [],
  };
  const shot = path.join(shots, `${step.name}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  out.shots.push(shot);
  if (step.next && (await page.locator('#next').count())) {
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.locator('#next').click()]);
    out.next = { url: page.url(), summary: await text(page.locator('#summary')), names: await results() };
    const nextShot = path.join(shots, `${step.name}-page2.png`);
    await page.screenshot({ path: nextShot, fullPage: true });
    out.shots.push(nextShot);
  }
  if (step.open_first && out.certificates.length) {
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      page.locator('#results a.cert').first().click(),
    ]);
    out.opened = { url: page.url(), title: await text(page.locator('.weui-msg__title')) };
  }
  return out;
}

// Which fonts drew each text: the innermost element whose text contains it, asked through
// DevTools (page scripts are off, so the DOM is read over the protocol too). A character no
// font has is drawn with a last-resort font, or by no font at all, so a text is covered when
// the glyph counts of real fonts add up to its characters.
async function fonts(page, base, shots, step) {
  await page.setViewportSize({ width: 375, height: 667 });
  const res = await page.goto(base + step.path, { waitUntil: 'load' });
  // data: fonts decode asynchronously after load; give them a moment before asking.
  await page.waitForTimeout(500);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('DOM.enable');
  await cdp.send('CSS.enable');
  const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
  const textOf = (n) => (n.nodeType === 3 ? n.nodeValue : (n.children || []).map(textOf).join(''));
  const innermost = (n, t) => {
    for (const c of n.children || []) {
      if (c.nodeType === 1 && textOf(c).includes(t)) return innermost(c, t);
    }
    return n;
  };
  const out = { name: step.name, status: res.status(), texts: [], shots: [] };
  for (const t of step.texts) {
    const body = (function find(n) {
      if (n.nodeName === 'MAIN') return n;
      for (const c of n.children || []) { const f = find(c); if (f) return f; }
      return null;
    })(root);
    if (!body || !textOf(body).includes(t)) {
      out.texts.push({ text: t, found: false });
      continue;
    }
    const el = innermost(body, t);
    const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId: el.nodeId });
    out.texts.push({ text: t, found: true, element_text: textOf(el), fonts });
  }
  const shot = path.join(shots, `${step.name}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  out.shots.push(shot);
  return out;
}

(async () => {
  const input = JSON.parse(fs.readFileSync(0, 'utf8'));
  fs.mkdirSync(input.shots, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  const context = await browser.newContext({
    viewport: { width: 375, height: 667 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    javaScriptEnabled: false,
    locale: 'zh-CN',
    userAgent:
      'Mozilla/5.0 (Linux; Android 13; Phone) AppleWebKit/537.36 (KHTML, like Gecko) ' +
      'Chrome/120.0 Mobile Safari/537.36 MicroMessenger/8.0',
  });
  const page = await context.newPage();
  const results = [];
  try {
    for (const step of input.steps) {
      const run = step.op === 'search' ? search : step.op === 'fonts' ? fonts : open;
      results.push(await run(page, input.base, input.shots, step));
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(results));
})().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
