#!/usr/bin/env node
// The enterprise portal as a person uses it: Debian's headless Chromium driven by
// playwright-core, with Chromium's virtual WebAuthn authenticator (DevTools `WebAuthn.*`:
// CTAP2, internal transport, resident keys, user verification) standing in for a phone's or
// a laptop's passkey.
//
// The Rust tests (tests/tests/e2e/portal/) start a zizhi server and pass a JSON request on
// stdin: {"base": "http://localhost:PORT", "shots": "<dir>", "steps": [...]}. Each step is one
// thing a person does; each result says what they saw. Steps:
//   {"op": "invite", "path": "/invite/…", "key_name": "…", "password": "…"}
//   {"op": "claim", "number": "D…"}
//   {"op": "usage", "number": "D…", "purpose": "…", "from": "…", "to": "…", "password": "…"}
//   {"op": "download", "path": "/portal/copies/1.pdf", "save": "/tmp/x.pdf"}
//   {"op": "withdraw", "copy": 3, "reason": "…"}
//   {"op": "records", "number": "D…"}
//   {"op": "attacks", "number": "D…", "password": "…", "from": "…", "to": "…"}
//   {"op": "shots", "name": "…", "path": "/portal/…"}   (1280×800 and 375×667)
//   {"op": "link", "path": "/login/link/…"} (demo mode), {"op": "console_invite", "code": "…"},
//   {"op": "record_change", "qualification": 7, "action": "revoke", "basis": "…"},
//   {"op": "changes"}, {"op": "approve", "request": 1}, {"op": "post", "path": "…", "fields": {}},
//   {"op": "events", "query": "actor=…"},
//   {"op": "login", "login_name": "…"}, {"op": "logout"}, {"op": "goto", "path": "…"},
//   {"op": "add_key", "path": "/console/account", "key_name": "…"}
// The Rust side asserts; this script only acts and looks.
'use strict';

const fs = require('fs');
const path = require('path');

let chromium;
try {
  ({ chromium } = require('playwright-core'));
} catch (e) {
  console.error(`the portal tests need playwright-core: run \`npm ci\` in tests/peers (${e.message})`);
  process.exit(3);
}

const CHROMIUM = process.env.ZIZHI_CHROMIUM || '/usr/bin/chromium';

async function text(locator) {
  return (await locator.count()) ? (await locator.first().innerText()).trim() : null;
}

// An attribute of the first element matching, or null at once when there is none (a plain
// getAttribute would wait for the element to appear).
async function attr(page, selector, name) {
  const l = page.locator(selector);
  return (await l.count()) ? l.first().getAttribute(name) : null;
}

async function seen(page) {
  return {
    url: page.url(),
    title: await page.title(),
    h1: await text(page.locator('main h1')),
    error: await attr(page, '[data-error]', 'data-error'),
    passkey_error: await text(page.locator('[data-passkey-error].shown')),
    done: await attr(page, '[data-testid=done]', 'data-copy'),
  };
}

// Submits a form and waits for the page it leads to (a plain post or the passkey script's
// redirect), or for the passkey script to show an error.
async function submit(page, form) {
  const before = page.url();
  await form.locator('button[type=submit]').click();
  await Promise.race([
    page.waitForURL((u) => u.toString() !== before, { timeout: 20000 }),
    page.locator('[data-passkey-error].shown').waitFor({ timeout: 20000 }),
  ]).catch(() => {});
  await page.waitForLoadState('load');
}

const steps = {
  async goto(page, base, step) {
    const res = await page.goto(base + step.path, { waitUntil: 'load' });
    return { status: res.status(), ...(await seen(page)) };
  },

  async invite(page, base, step) {
    await page.goto(base + step.path, { waitUntil: 'load' });
    const form = page.locator('form[data-passkey=create]');
    await form.locator('input[name=key_name]').fill(step.key_name);
    if (await form.locator('input[name=password]').count()) {
      await form.locator('input[name=password]').fill(step.password);
      await form.locator('input[name=password_again]').fill(step.password_again || step.password);
    }
    await submit(page, form);
    return {
      ...(await seen(page)),
      certificates: await page.locator('[data-testid=certificates] tbody tr').evaluateAll(
        (rows) => rows.map((r) => r.getAttribute('data-number')),
      ).catch(() => []),
      who: await text(page.locator('[data-testid=who]')),
    };
  },

  async claim(page, base, step) {
    await page.goto(`${base}/portal/certificates/${step.number}/claim`, { waitUntil: 'load' });
    const regions = {
      b: await text(page.locator('[data-testid=region-b]')),
      c: await text(page.locator('[data-testid=region-c]')),
    };
    const form = page.locator('main form');
    await form.locator('input[name=confirm]').check();
    await submit(page, form);
    return { regions, ...(await seen(page)) };
  },

  async usage(page, base, step) {
    await page.goto(`${base}/portal/certificates/${step.number}/usage`, { waitUntil: 'load' });
    const form = page.locator('main form');
    await form.locator('input[name=purpose]').fill(step.purpose);
    if (step.from) await form.locator('input[name=from]').fill(step.from);
    if (step.to) await form.locator('input[name=to]').fill(step.to);
    await form.locator('input[name=password]').fill(step.password);
    await submit(page, form);
    return seen(page);
  },

  async download(page, base, step) {
    // The page's own cookies: what clicking the link would fetch.
    const res = await page.request.get(base + step.path);
    const body = await res.body();
    if (step.save) fs.writeFileSync(step.save, body);
    return { status: res.status(), type: res.headers()['content-type'], bytes: body.length,
             disposition: res.headers()['content-disposition'] || null };
  },

  async withdraw(page, base, step) {
    await page.goto(`${base}/portal/copies/${step.copy}/withdraw`, { waitUntil: 'load' });
    const form = page.locator('main form');
    await form.locator('input[name=reason]').fill(step.reason);
    await submit(page, form);
    return seen(page);
  },

  async records(page, base, step) {
    await page.goto(`${base}/portal/certificates/${step.number}/copies`, { waitUntil: 'load' });
    const rows = await page.locator('tr[data-copy]').evaluateAll((trs) => trs.map((tr) => {
      const blocked = tr.querySelector('[data-testid=not-downloadable]');
      return {
        copy: Number(tr.getAttribute('data-copy')),
        text: tr.innerText.replace(/\s+/g, ' ').trim(),
        downloadable: !blocked,
        reason: blocked ? blocked.getAttribute('data-reason') : null,
        current_link: !!tr.querySelector('a[href$="/claim"]'),
      };
    }));
    return { ...(await seen(page)), rows };
  },

  async login(page, base, step) {
    await page.goto(`${base}/login?audience=${step.audience || 'enterprise'}`, { waitUntil: 'load' });
    const form = page.locator('form[data-passkey=get]');
    await form.locator('input[name=login_name]').fill(step.login_name);
    await submit(page, form);
    return seen(page);
  },

  // A one-time link (demo mode): the confirmation page, then its button.
  async link(page, base, step) {
    await page.goto(base + step.path, { waitUntil: 'load' });
    await submit(page, page.locator('main form'));
    return { ...(await seen(page)), who: await text(page.locator('[data-testid=who]')) };
  },

  // Console: a clerk makes an invitation on the enterprise's page; the link is shown once.
  async console_invite(page, base, step) {
    await page.goto(`${base}/console/enterprises/${step.code}`, { waitUntil: 'load' });
    await submit(page, page.locator(`form[action="/console/enterprises/${step.code}/invite"]`));
    return { ...(await seen(page)), link: await text(page.locator('[data-testid=invitation-link]')) };
  },

  async record_change(page, base, step) {
    await page.goto(`${base}/console/qualifications/${step.qualification}/change`, { waitUntil: 'load' });
    const form = page.locator('main form');
    await form.locator('select[name=action]').selectOption(step.action);
    if (step.grade) await form.locator('input[name=grade]').fill(step.grade);
    await form.locator('input[name=basis]').fill(step.basis);
    await submit(page, form);
    return { ...(await seen(page)), requests: await page.locator('tr[data-request]').evaluateAll(
      (trs) => trs.map((tr) => ({ id: Number(tr.getAttribute('data-request')), text: tr.innerText.replace(/\s+/g, ' ').trim(),
        can_approve: !!tr.querySelector('form[action$="/approve"]') }))) };
  },

  async changes(page, base) {
    await page.goto(`${base}/console/changes`, { waitUntil: 'load' });
    return { ...(await seen(page)), requests: await page.locator('tr[data-request]').evaluateAll(
      (trs) => trs.map((tr) => ({ id: Number(tr.getAttribute('data-request')), text: tr.innerText.replace(/\s+/g, ' ').trim(),
        can_approve: !!tr.querySelector('form[action$="/approve"]') }))) };
  },

  async approve(page, base, step) {
    await page.goto(`${base}/console/changes`, { waitUntil: 'load' });
    await submit(page, page.locator(`form[action="/console/changes/${step.request}/approve"]`));
    return seen(page);
  },

  // A form posted by hand with the page's CSRF token (what a person without the button, or a
  // crafted request, would send).
  async post(page, base, step) {
    await page.goto(base + (step.from || '/console/'), { waitUntil: 'load' });
    const token = page.locator('input[name=csrf]');
    const csrf = (await token.count()) ? await token.first().inputValue() : '';
    return page.evaluate(async ({ path, csrf, fields }) => {
      const res = await fetch(path, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ ...fields, csrf }) });
      const body = await res.text();
      const m = body.match(/data-error="([a-z_]+)"/);
      return { status: res.status, error: m ? m[1] : null };
    }, { path: step.path, csrf, fields: step.fields || {} });
  },

  async events(page, base, step) {
    await page.goto(`${base}/console/events?${step.query || ''}`, { waitUntil: 'load' });
    return { ...(await seen(page)), rows: await page.locator('[data-testid=events] tbody tr').evaluateAll(
      (trs) => trs.map((tr) => Array.from(tr.children).map((td) => td.innerText.trim()))) };
  },

  // Another passkey on one's own account page (the portal's or the console's).
  async add_key(page, base, step) {
    await page.goto(base + step.path, { waitUntil: 'load' });
    const form = page.locator('form[data-passkey=create]');
    await form.locator('input[name=key_name]').fill(step.key_name);
    await submit(page, form);
    return { ...(await seen(page)), keys: await page.locator('[data-testid=passkeys] tbody tr').count() };
  },

  async logout(page) {
    const form = page.locator('form[action="/logout"]');
    await submit(page, form);
    return seen(page);
  },

  async shots(page, base, step, ctx) {
    const out = { name: step.name, shots: [] };
    for (const [w, h] of [[1280, 800], [375, 667]]) {
      await page.setViewportSize({ width: w, height: h });
      const res = await page.goto(base + step.path, { waitUntil: 'load' });
      out.status = res.status();
      // Wider than the window means sideways scrolling of the whole page (tables scroll
      // inside their own box instead).
      out[`overflow_${w}`] = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      const file = path.join(ctx.shots, `portal-${step.name}-${w}x${h}.png`);
      await page.screenshot({ path: file, fullPage: true });
      out.shots.push(file);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
    return out;
  },

  // What an attacker (or a broken client) sends, from inside a signed-in page, each checked
  // by the server on its own: no assertion, a replayed one, one for other terms, one for
  // another ceremony, one without user verification, no CSRF token, a wrong password, and
  // terms the register refuses.
  async attacks(page, base, step, ctx) {
    await page.goto(`${base}/portal/certificates/${step.number}/usage`, { waitUntil: 'load' });
    const csrf = await page.locator('input[name=csrf]').first().inputValue();
    const run = (what) => page.evaluate(async ({ what, number, csrf, password, from, to }) => {
      const unb64 = (s) => {
        s = s.replace(/-/g, '+').replace(/_/g, '/');
        while (s.length % 4) s += '=';
        const bin = atob(s); const out = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
        return out.buffer;
      };
      const b64 = (buf) => {
        const bytes = new Uint8Array(buf); let bin = '';
        for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
        return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
      };
      const url = `/portal/certificates/${number}/usage`;
      const post = async (p, fields) => {
        const res = await fetch(p, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: new URLSearchParams(fields) });
        let json = null; try { json = await res.json(); } catch (e) { /* a page */ }
        return { status: res.status, error: json && json.error, redirect: json && json.redirect };
      };
      const begin = async (terms) => {
        const res = await fetch(url + '/begin', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...terms, csrf }) });
        return res.json();
      };
      const assert = async (start) => {
        const pk = start.options.publicKey;
        pk.challenge = unb64(pk.challenge);
        (pk.allowCredentials || []).forEach((c) => { c.id = unb64(c.id); });
        const c = await navigator.credentials.get({ publicKey: pk });
        return JSON.stringify({ id: c.id, rawId: b64(c.rawId), type: c.type, extensions: {},
          response: { authenticatorData: b64(c.response.authenticatorData), clientDataJSON: b64(c.response.clientDataJSON),
            signature: b64(c.response.signature), userHandle: c.response.userHandle ? b64(c.response.userHandle) : null } });
      };
      const A = { purpose: '核验测试甲', from, to };
      const B = { purpose: '核验测试乙', from, to };
      const out = {};
      if (what === 'uv') {
        const s = await begin(A); const c = await assert(s);
        out.uv_cleared = await post(url + '/finish', { ...A, csrf, password, ceremony: s.ceremony, credential: c });
        return out;
      }
      out.no_assertion = await post(url + '/finish', { ...A, csrf, password });
      const s1 = await begin(A); const c1 = await assert(s1);
      out.first = await post(url + '/finish', { ...A, csrf, password, ceremony: s1.ceremony, credential: c1 });
      out.replayed = await post(url + '/finish', { ...A, csrf, password, ceremony: s1.ceremony, credential: c1 });
      const s2 = await begin(A); const c2 = await assert(s2);
      out.purpose_changed = await post(url + '/finish', { ...B, csrf, password, ceremony: s2.ceremony, credential: c2 });
      const s3 = await begin(A); const s4 = await begin(B); const c3 = await assert(s3);
      out.other_ceremony = await post(url + '/finish', { ...B, csrf, password, ceremony: s4.ceremony, credential: c3 });
      out.csrf_missing = await post(url + '/begin', { ...A });
      out.csrf_wrong = await post(url + '/begin', { ...A, csrf: 'x' + csrf.slice(1) });
      const s5 = await begin(A); const c5 = await assert(s5);
      out.wrong_password = await post(url + '/finish', { ...A, csrf, password: 'not-the-password', ceremony: s5.ceremony, credential: c5 });
      out.purpose_too_long = await post(url + '/begin', { purpose: '长'.repeat(31), from, to, csrf });
      out.purpose_control = await post(url + '/begin', { purpose: '甲\u0007乙', from, to, csrf });
      out.period_outside = await post(url + '/begin', { purpose: '甲', from: '1990-01-01', to, csrf });
      out.period_reversed = await post(url + '/begin', { purpose: '甲', from: to, to: from, csrf });
      return out;
    }, { what, number: step.number, csrf, password: step.password, from: step.from, to: step.to });
    const out = await run('all');
    await ctx.cdp.send('WebAuthn.setResponseOverrideBits', { authenticatorId: ctx.authenticator, isBadUV: true });
    Object.assign(out, await run('uv'));
    await ctx.cdp.send('WebAuthn.setResponseOverrideBits', { authenticatorId: ctx.authenticator, isBadUV: false });
    return out;
  },
};

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
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  const ctx = { cdp, authenticator: authenticatorId, shots: input.shots };
  const results = [];
  try {
    for (const step of input.steps) {
      const run = steps[step.op];
      if (!run) throw new Error(`unknown step ${step.op}`);
      results.push({ op: step.op, ...(await run(page, input.base, step, ctx)) });
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(results));
})().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
