// chat.test.mjs: the browser walk through AIFacade (SPEC §5), against the real
// stack that tests/run.sh e2e starts with the fake AI provider. Prints TAP.
//
// One account and one browser serve every test, in order: each test starts
// where the one before left off (signed in, the same conversation open), as a
// person would use the app. A test fails when its checks fail or when the page
// logged a console error, a CSP violation or an uncaught exception meanwhile.
//
// Environment: BASE_URL (required), FAKE_URL (optional: the fake provider's
// request log), CHROMIUM (/usr/bin/chromium), ARTIFACTS (screenshots).
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const BASE = (process.env.BASE_URL || '').replace(/\/+$/, '');
const FAKE = (process.env.FAKE_URL || '').replace(/\/+$/, '');
const ARTIFACTS = process.env.ARTIFACTS || new URL('../artifacts', import.meta.url).pathname;
const TEST_TIMEOUT = 30_000;   // one test
const RUN_TIMEOUT = 280_000;   // the whole walk
const started = Date.now();

/* ---------- a small TAP runner ---------- */

const tests = [];
// opts.allow: console errors the test expects, such as the "401" Chromium
// logs when a signed-out page asks /api/me who is there.
const test = (name, fn, opts = {}) => tests.push({ name, fn, allow: opts.allow || [] });
const problems = [];          // console errors, CSP violations, page errors, dialogs
let allowed = [];             // patterns of console errors the current test expects

function diag(text) {
  for (const line of String(text).split('\n')) console.log(`# ${line}`);
}

/* ---------- the browser ---------- */

let browser;
const contexts = [];

/** A fresh context (cookie jar) whose pages report every problem. */
async function newContext(opts = {}) {
  const ctx = await browser.newContext({
    ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 }, ...opts,
  });
  contexts.push(ctx);
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
  // A CSP violation becomes a console error the listener below sees.
  await ctx.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline code'}`);
    });
  });
  ctx.on('page', watch);
  return ctx;
}

function watch(page) {
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = `${m.text()} (${m.location()?.url || 'no url'})`;
    if (!allowed.some((re) => re.test(text))) problems.push(`console error: ${text}`);
  });
  page.on('pageerror', (e) => problems.push(`uncaught exception: ${e.message}`));
  page.on('dialog', (d) => { problems.push(`unexpected ${d.type()} dialog: ${d.message()}`); d.dismiss().catch(() => {}); });
}

/* ---------- helpers ---------- */

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const unique = () => `e2e${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const user = { name: unique(), password: 'correct horse battery' };
let page;                     // the main tab
let convA;                    // the conversation most tests write into

const messages = (p = page) => p.locator('#message-list [data-testid=message]');
const lastAnswer = (p = page) => p.locator('#message-list [data-testid=message][data-role=assistant]').last();
const lastUser = (p = page) => p.locator('#message-list [data-testid=message][data-role=user]').last();
const convId = (p = page) => decodeURIComponent(/#c\/(.+)$/.exec(p.url())?.[1] || '');

/** Waits until no answer streams any more. */
async function idle(p = page, timeout = 15_000) {
  await p.waitForSelector('.msg.streaming', { state: 'detached', timeout });
  await p.waitForSelector('#stop', { state: 'hidden', timeout });
}

/** Types a prompt and sends it with Enter. */
async function ask(text, p = page) {
  await p.fill('#prompt', text);
  await p.press('#prompt', 'Enter');
}

/** JSON from the API, fetched inside the page with its session. */
async function apiGet(path, p = page) {
  return p.evaluate(async (u) => {
    const r = await fetch(u, { headers: { Accept: 'application/json' } });
    return { status: r.status, body: r.status === 204 ? null : await r.json().catch(() => null) };
  }, path);
}

async function poll(fn, what, timeout = 5000) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const shot = (p, name) => p.screenshot({ path: join(ARTIFACTS, `${name}.png`) });

/* axe-core (tests/e2e/node_modules, pinned in package-lock.json) runs in the
 * page through the DevTools protocol, which the page's CSP does not govern.
 * Every state the walk visits is checked; a serious or critical violation
 * fails the test that visited it. */
const AXE = readFileSync(new URL('./node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
const axeStates = [];
async function axe(p, label) {
  if (!await p.evaluate(() => !!window.axe)) await p.evaluate(AXE);
  const r = await p.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  axeStates.push(label);
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`), [],
    `axe-core in state "${label}"`);
}

/* ---------- the tests ---------- */

test('/ without a session redirects to /login', async () => {
  const ctx = await newContext();
  page = await ctx.newPage();
  await page.goto(`${BASE}/`);
  await page.waitForURL(/\/login$/);
  await page.waitForSelector('#auth-form');
}, { allow: [/status of 401.*\/api\/me/] });

test('the sign-in page logs nothing in the console, and passes axe light and dark', async () => {
  const ctx = await newContext();
  const p = await ctx.newPage();
  await p.goto(`${BASE}/login`);
  await p.waitForSelector('#auth-form');
  await sleep(300);  // a probe of /api/me would have logged its 401 by now
  await axe(p, 'sign-in, light');
  await p.emulateMedia({ colorScheme: 'dark' });
  await axe(p, 'sign-in, dark');
  await shot(p, 'login-dark');
  await ctx.close();
});

test('register: the form checks its fields before sending, then signs in to /', async () => {
  const sent = [];
  const onRequest = (r) => { if (r.url().endsWith('/api/register')) sent.push(r); };
  page.on('request', onRequest);
  await page.click('a[href="/register"]');
  await page.waitForURL(/\/register$/);
  await page.fill('#username', 'ab');
  await page.fill('#password', 'short');
  await page.fill('#confirm', 'other');
  const cardBefore = await page.locator('.card').boundingBox();
  assert.ok(await page.isVisible('#username-hint'), 'the hint shows before any error');
  await page.click('#submit');
  assert.equal(await page.textContent('#username-error'), 'Use 3 to 80 characters.');
  assert.ok(await page.isHidden('#username-hint'), 'the error takes the hint\'s place: the rule is said once');
  assert.ok(await page.isHidden('#password-hint'));
  const cardAfter = await page.locator('.card').boundingBox();
  assert.equal(cardAfter.height, cardBefore.height, 'the card does not jump as errors appear');
  // Show / Hide password
  assert.equal(await page.getAttribute('#password', 'type'), 'password');
  await page.click('[data-testid=show-password]');
  assert.equal(await page.getAttribute('#password', 'type'), 'text');
  assert.equal(await page.getAttribute('[data-testid=show-password]', 'aria-pressed'), 'true');
  assert.equal(await page.inputValue('#password'), 'short', 'the text stays');
  await page.click('[data-testid=show-password]');
  assert.equal(await page.getAttribute('#password', 'type'), 'password');
  await page.click('#submit');
  await axe(page, 'register with errors');
  assert.equal(await page.textContent('#password-error'), 'Use 8 to 128 characters.');
  assert.equal(await page.textContent('#confirm-error'), 'The passwords do not match.');
  assert.equal(await page.getAttribute('#username', 'aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'username', 'focus on the first bad field');
  await shot(page, 'register-errors-light');
  assert.equal(sent.length, 0, 'nothing was sent while the form was invalid');
  await page.fill('#username', user.name);
  await page.fill('#password', user.password);
  await page.fill('#confirm', user.password);
  await page.click('#submit');
  await page.waitForURL(`${BASE}/`);
  await page.waitForSelector('#app:not([hidden])');
  page.off('request', onRequest);
  assert.equal(sent.length, 1);
  assert.equal(await page.textContent('#username'), user.name);
  assert.ok(await page.isVisible('#empty'), 'a new account starts with the empty state');
}, { allow: [/status of 401.*\/api\/me/] });

test('the model picker lists the configured models; no demo badge with a key', async () => {
  await page.waitForSelector('#model-wrap', { state: 'visible' });
  const options = await page.$$eval('#model option', (os) => os.map((o) => o.value));
  assert.deepEqual(options, ['fake-model', 'fake-reasoner']);
  assert.equal(await page.inputValue('#model'), 'fake-model');
  assert.ok(await page.isHidden('#demo-badge'), 'demo badge hidden');
});

test('log out, then a wrong password is refused and the right one signs in again', async () => {
  await page.click('#logout');
  await page.waitForURL(/\/login$/);
  assert.match(await page.textContent('#form-note'), /You have signed out/, 'the sign-in page says so');
  assert.ok(await page.isVisible('#form-note'));
  await page.fill('#username', user.name);
  await page.fill('#password', 'not the password');
  await page.click('#submit');
  await page.waitForSelector('#form-error:not([hidden])');
  assert.match(await page.textContent('#form-error'), /Invalid username or password/);
  await page.fill('#username', `  ${user.name.toUpperCase()} `);  // trimmed; names ignore case
  await page.fill('#password', user.password);
  await page.press('#password', 'Enter');
  await page.waitForURL(`${BASE}/`);
  await page.waitForSelector('#app:not([hidden])');
  assert.equal(await page.textContent('#username'), user.name);
}, { allow: [/status of 401.*\/api\/(me|login)/] });

test('Enter sends the prompt and the answer streams in piece by piece', async () => {
  const before = await messages().count();
  await ask('Hello stream [[fake:slow=400]] [[fake:chunks=8]]');
  await page.waitForSelector('.msg.streaming');
  assert.ok(await page.isVisible('#stop'), 'Stop shown while streaming');
  assert.ok(await page.isEnabled('#prompt'), 'the prompt stays usable while streaming (the next one can be typed)');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'prompt', 'focus stays in the prompt');
  assert.ok(await page.isDisabled('#send') || await page.isHidden('#send'), 'nothing more is sent meanwhile');
  await shot(page, 'chat-streaming-light');
  // Sample the growing text inside the page, where no round trip slows us.
  const lengths = await page.evaluate(() => new Promise((resolve) => {
    const seen = [];
    const tick = () => {
      const el = document.querySelector('.msg.streaming .msg-body');
      if (!el) return resolve(seen);
      const n = el.textContent.length;
      if (!seen.length || seen[seen.length - 1] !== n) seen.push(n);
      setTimeout(tick, 40);
    };
    tick();
  }));
  await idle();
  const growth = lengths.filter((n) => n > 0);
  assert.ok(growth.length >= 3, `the text grew in pieces while streaming: lengths seen ${JSON.stringify(lengths)}`);
  assert.equal(await messages().count(), before + 2);
  assert.equal(await lastUser().locator('.msg-body').textContent(), 'Hello stream [[fake:slow=400]] [[fake:chunks=8]]');
  assert.equal(await lastAnswer().getAttribute('data-status'), 'ok');
  assert.equal((await lastAnswer().locator('.msg-body').textContent()).trim(), 'Echo: Hello stream');
  convA = convId();
  assert.match(convA, /^\d+$/, `the URL names the new conversation: ${page.url()}`);
  const active = page.locator('[data-testid=conversation].active');
  assert.equal(await active.getAttribute('data-id'), convA);
  assert.equal(await page.textContent('#chat-title'), 'Hello stream [[fake:slow=400]] [[fake:chunks=8]]');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'prompt', 'focus back in the prompt');
  await page.waitForFunction(() => /Echo: Hello stream/.test(document.getElementById('announcer').textContent));
  assert.equal(await page.getAttribute('#announcer', 'aria-live'), 'polite', 'the finished answer is read out by a live region that stays');
  await axe(page, 'conversation');
});

test('Shift+Enter breaks the line instead of sending', async () => {
  const chats = [];
  const onRequest = (r) => { if (r.url().endsWith('/api/chat')) chats.push(r); };
  page.on('request', onRequest);
  const before = await messages().count();
  await page.click('#prompt');
  await page.keyboard.type('line one');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('line two');
  await sleep(200);
  assert.equal(await page.inputValue('#prompt'), 'line one\nline two');
  await shot(page, 'chat-composer-light');
  assert.equal(chats.length, 0, 'no request was sent');
  assert.equal(await messages().count(), before);
  await page.keyboard.press('Enter');
  await idle();
  page.off('request', onRequest);
  assert.equal(chats.length, 1);
  assert.equal(await lastUser().locator('.msg-body').textContent(), 'line one\nline two', 'the user message keeps its line break');
  assert.equal(await page.inputValue('#prompt'), '');
});

test('Markdown answers: headings, a table and a code block whose button copies it', async () => {
  await ask('Show me Markdown [[fake:markdown]]');
  await idle();
  const answer = lastAnswer();
  assert.equal(await answer.getAttribute('data-status'), 'ok');
  assert.equal(await answer.locator('h1').textContent(), 'Markdown test');
  assert.equal(await answer.locator('table td').count(), 4);
  assert.equal(await answer.locator('.code-wrap').count(), 1);
  assert.match(await answer.locator('.code-bar').textContent(), /python/, 'the code block names its language');
  assert.equal(await page.locator('#messages pre[lang]').count(), 0, 'no <pre lang> (a human language, axe valid-lang)');
  assert.equal(await answer.locator('pre code.language-python').count(), 1, 'the language is the code element\'s class');
  assert.equal(await answer.locator('pre').evaluate((e) => getComputedStyle(e).tabSize), '4', 'tabs are 4 columns, not 8');
  await page.waitForSelector('#message-list > :last-child pre code.hljs .hljs-keyword');
  assert.equal(await answer.locator('pre code .hljs-keyword').first().textContent(), 'def', 'highlight.js coloured the code');
  assert.notEqual(await answer.locator('pre code .hljs-keyword').first().evaluate((e) => getComputedStyle(e).color),
    await answer.locator('pre code').evaluate((e) => getComputedStyle(e).color), 'keywords have a colour of their own');
  await axe(page, 'Markdown answer');
  await answer.locator('[data-testid=copy-code]').click();
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=copy-code]')].pop()?.textContent === 'Copied code');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, 'def hello():\n    return "<b>not bold</b> & done"\n');
  await answer.locator('h1').scrollIntoViewIfNeeded();
  await page.evaluate(() => { document.getElementById('messages').scrollTop -= 60; });
  await shot(page, 'chat-markdown-light');
});

test("the model's hostile HTML does not run", async () => {
  // The same answer carried <script>alert(1)</script>, <img onerror> and a
  // javascript: link. A dialog would have been reported as a problem.
  const answer = lastAnswer();
  assert.equal(await page.locator('#messages script').count(), 0, 'no <script> in the messages');
  assert.equal(await answer.locator('img').count(), 0, 'no <img> from raw HTML');
  assert.equal(await page.locator('#messages [onerror], #messages [onclick], #messages [onload]').count(), 0);
  const hrefs = await answer.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.ok(hrefs.every((h) => h === null || /^https?:/.test(h)), `no script links: ${JSON.stringify(hrefs)}`);
  await answer.locator('a', { hasText: 'click me' }).click();
  await sleep(300);
  assert.equal(convId(), convA, 'clicking the neutralised link goes nowhere');
});

test('math: $…$ and $$…$$ are typeset by KaTeX from our origin, prices stay text; the libraries load only when needed', async () => {
  const fresh = await (await newContext({ storageState: await page.context().storageState() })).newPage();
  const vendor = [];
  fresh.on('request', (r) => { if (r.url().includes('/vendor/')) vendor.push(r.url()); });
  await fresh.goto(`${BASE}/`);
  await fresh.waitForSelector('#app:not([hidden])');
  await sleep(300);
  assert.deepEqual(vendor, [], 'an empty chat loads neither highlight.js nor KaTeX');
  await ask('Math: $e^{i\\pi}+1=0$ costs $5 and $10, and $$\\sum_{k=1}^{n} k = \\frac{n(n+1)}{2}$$', fresh);
  await idle(fresh);
  const answer = lastAnswer(fresh);
  await answer.locator('.math .katex').first().waitFor();
  assert.equal(await answer.locator('.math:not(.display) .katex').count(), 1, 'one inline formula');
  assert.equal(await answer.locator('.math.display .katex-display').count(), 1, 'one display formula');
  assert.match(await answer.locator('.msg-body').textContent(), /costs \$5 and \$10/, 'prices are not math');
  assert.equal(await answer.locator('math annotation').first().textContent(), 'e^{i\\pi}+1=0', 'MathML for screen readers');
  assert.ok(vendor.some((u) => u.endsWith('/vendor/katex.min.js')) && vendor.every((u) => u.startsWith(BASE)), JSON.stringify(vendor));
  await shot(fresh, 'chat-math-light');
  await axe(fresh, 'math answer');
  // The walk's other tests count conversations: this one goes again.
  assert.equal(await fresh.evaluate(async (id) => {
    const me = await (await fetch('/api/me')).json();
    return (await fetch(`/api/conversations/${id}`, { method: 'DELETE', headers: { 'X-CSRF-Token': me.csrf_token } })).status;
  }, convId(fresh)), 204);
  await fresh.context().close();
});

test('an answer streams rendered, never as raw Markdown, and ends without a jump', async () => {
  await page.evaluate(() => {
    // Everything the streaming bubble ever showed, sampled on every change.
    window.__raw = [];
    window.__renderedMid = false;
    window.__box = null;  // where the streamed body was last seen, and how tall
    window.__obs = new MutationObserver(() => {
      const b = document.querySelector('.msg.streaming .msg-body');
      if (!b) return;
      const r = b.getBoundingClientRect();
      window.__box = { y: r.y + document.getElementById('messages').scrollTop, height: r.height };
      if (/(^|\n)#|```|\|---/.test(b.textContent)) window.__raw.push(b.textContent);
      if (b.querySelector('h1, table')) window.__renderedMid = true;
    });
    window.__obs.observe(document.getElementById('message-list'), { subtree: true, childList: true, characterData: true });
  });
  await ask('Stream Markdown [[fake:markdown]] [[fake:slow=150]] [[fake:chunks=24]]');
  await page.waitForSelector('.msg.streaming .msg-body h1');
  await shot(page, 'chat-streaming-markdown-light');
  await axe(page, 'streaming');
  await idle();
  const seen = await page.evaluate(() => {
    window.__obs.disconnect();
    const b = [...document.querySelectorAll('#message-list .msg.assistant .msg-body')].pop().getBoundingClientRect();
    const after = { y: b.y + document.getElementById('messages').scrollTop, height: b.height };
    return { raw: window.__raw, mid: window.__renderedMid, before: window.__box, after };
  });
  assert.deepEqual(seen.raw, [], 'no raw Markdown was ever shown');
  assert.ok(seen.mid, 'headings and tables were rendered while streaming');
  assert.ok(Math.abs(seen.after.y - seen.before.y) < 2, `the final answer starts where the streamed one did: ${JSON.stringify(seen)}`);
  assert.ok(seen.after.height >= seen.before.height - 1, `and only grows: ${JSON.stringify(seen)}`);
  assert.equal(await lastAnswer().locator('table td').count(), 4);
});

test('the Content-Security-Policy blocks inline script, and the watcher sees it', async () => {
  await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.__inline = 1';
    document.body.append(s);
  });
  const csp = (p) => /Content Security Policy|CSP violation/.test(p);
  await poll(async () => problems.some(csp), 'the violation to be reported', 3000).catch(() => {});
  assert.equal(await page.evaluate(() => window.__inline), undefined, 'the inline script did not run');
  const seen = problems.filter(csp).length;
  problems.splice(0, problems.length, ...problems.filter((p) => !csp(p)));  // expected here, and only here
  assert.ok(seen >= 1, 'the violation was reported as a console error');
});

test('a reasoning model: the chosen model is sent and its thinking is shown folded', async () => {
  await page.selectOption('#model', 'fake-reasoner');
  const req = page.waitForRequest((r) => r.url().endsWith('/api/chat'));
  await ask('Think first [[fake:reasoning]] [[fake:slow=300]]');
  const body = JSON.parse((await req).postData());
  assert.equal(body.model, 'fake-reasoner');
  assert.equal(body.conversation_id, Number(convA));
  await page.waitForSelector('.msg.streaming [data-testid=reasoning]');
  // The labels shown at every change of the bubble, until it is done.
  const seen = await page.evaluate(() => new Promise((resolve) => {
    const states = new Set();
    const look = () => {
      const art = document.querySelector('.msg.streaming');
      if (!art) { obs.disconnect(); return resolve([...states]); }
      const shown = [...art.querySelectorAll('summary, .working')].filter((e) => e.checkVisibility()).map((e) => e.textContent);
      states.add(`${shown.join(' + ')}${art.querySelector('.msg-body')?.textContent ? ' (writing)' : ''}`);
    };
    const obs = new MutationObserver(look);
    obs.observe(document.getElementById('message-list'), { subtree: true, childList: true, characterData: true, attributes: true });
    look();
  }));
  assert.deepEqual(seen.filter((x) => !['Thinking…', 'Thought process + Writing (writing)', 'Thought process + Writing'].includes(x)), [],
    `one label at a time, Thinking only while thinking: ${JSON.stringify(seen)}`);
  assert.ok(seen.includes('Thinking…') && seen.includes('Thought process + Writing (writing)'), JSON.stringify(seen));
  await idle();
  const details = lastAnswer().locator('[data-testid=reasoning]');
  assert.equal(await details.count(), 1);
  assert.equal(await details.getAttribute('open'), null, 'folded');
  assert.equal(await details.locator('.reasoning-text').textContent(), 'Let me think about this request.');
  assert.equal((await lastAnswer().locator('.msg-body').textContent()).trim(), 'Echo: Think first');
  await page.selectOption('#model', 'fake-model');
});

test('keyboard: Escape stops, Stop is one Tab from the prompt, ArrowUp edits the last prompt, ? lists the shortcuts', async () => {
  await ask('Escape me [[fake:slow=150]] [[fake:chunks=30]]');
  await page.waitForSelector('.msg.streaming');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'prompt');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'stop', 'Tab from the prompt reaches Stop');
  await page.keyboard.press('Shift+Tab');
  await page.waitForFunction(() => (document.querySelector('.msg.streaming .msg-body')?.textContent.length || 0) >= 2);
  await page.keyboard.press('Escape');
  await page.waitForSelector('#message-list > :last-child [data-testid=stopped]');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'prompt', 'focus stays in the prompt');
  await idle();
  await page.keyboard.press('ArrowUp');
  assert.equal(await page.inputValue('#prompt'), 'Escape me [[fake:slow=150]] [[fake:chunks=30]]', 'ArrowUp brings the last prompt back');
  await page.fill('#prompt', '');
  await page.locator('#messages').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('?');
  await page.waitForSelector('#shortcuts-dialog[open]');
  assert.match(await page.textContent('#shortcuts-dialog'), /New chat/);
  await axe(page, 'shortcuts dialog');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#shortcuts-dialog', { state: 'hidden' });
  await page.keyboard.press('Control+Shift+O');
  await page.waitForSelector('#empty', { state: 'visible' });
  assert.equal(await page.textContent('#chat-title'), 'New chat');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'prompt', 'a new chat, ready to type');
  await axe(page, 'empty chat');
  await page.goto(`${BASE}/#c/${convA}`);
  await page.reload();
  await page.waitForSelector('#message-list [data-testid=message]');
});

test('429: the wait is said once, no Retry that cannot succeed, and the prompt is kept', async () => {
  // The text and header are what app_too_many (common/app.c) sends; the
  // real limit is an hour's worth of prompts, too many for a browser walk.
  await page.route('**/api/chat', (route) => route.fulfill({
    status: 429, contentType: 'application/json', headers: { 'Retry-After': '3600' },
    body: JSON.stringify({ error: 'You have sent too many prompts; try again in 60 minutes.' }),
  }));
  try {
    await ask('One prompt too many');
    await page.waitForSelector('#message-list > :last-child [data-testid=message-error]');
    const text = await page.textContent('#message-list > :last-child [data-testid=message-error]');
    assert.equal(text.trim(), 'You have sent too many prompts; try again in 60 minutes.');
    assert.equal(await page.locator('#message-list > :last-child [data-testid=retry]').count(), 0, 'no Retry');
    assert.equal(await page.inputValue('#prompt'), 'One prompt too many', 'the prompt is back in the box');
    assert.equal(await lastUser().locator('.msg-body').textContent(), 'Escape me [[fake:slow=150]] [[fake:chunks=30]]', 'no unsent copy left in the list');
  } finally {
    await page.unroute('**/api/chat');
  }
  await page.fill('#prompt', '');
  await page.reload();
  await page.waitForSelector('#message-list [data-testid=message]');
}, { allow: [/status of 429/] });

test('Stop mid-stream keeps the partial answer, marks it stopped, and the server has it interrupted', async () => {
  const fakeBefore = FAKE ? (await (await fetch(`${FAKE}/_fake/requests`)).json()).length : 0;
  await ask('Stop me [[fake:slow=150]] [[fake:chunks=40]]');
  await page.waitForFunction(() => (document.querySelector('.msg.streaming .msg-body')?.textContent.length || 0) >= 4);
  await page.click('#stop');
  await page.waitForSelector('#message-list > :last-child [data-testid=stopped]');
  const answer = lastAnswer();
  assert.equal(await answer.getAttribute('data-status'), 'interrupted');
  // What had arrived, rendered (never raw): the last rendering at once, then
  // the server's stored answer once the program has stored it.
  await page.waitForFunction(() => (document.querySelector('#message-list > :last-child .msg-body')?.textContent.trim().length || 0) >= 4);
  assert.equal(await answer.locator('.msg-body.plain').count(), 0, 'the stopped answer is rendered HTML');
  assert.equal(await answer.locator('.msg-body p').count(), 1, 'as a paragraph, like the stored one');
  const shown = (await answer.locator('.msg-body').textContent()).trim();
  assert.ok(shown.length >= 4 && 'Echo: Stop me'.startsWith(shown), `partial answer shown: ${JSON.stringify(shown)}`);
  assert.ok(await page.isEnabled('#prompt'), 'the prompt is usable again');
  const id = await answer.getAttribute('data-id');
  assert.ok(id, 'the answer carries its id from the start event');
  // Stop asks the server (POST /api/messages/{id}/stop), whose process
  // closes the provider request and keeps what had arrived.
  let stored;
  await poll(async () => {
    const r = await apiGet(`/api/conversations/${convA}`);
    stored = r.body?.messages?.find((x) => String(x.id) === id);
    return stored?.status === 'interrupted' && stored.content.trim().length >= shown.length;
  }, 'the server to store the partial answer as interrupted').catch((e) => {
    throw new Error(`${e.message}; it has ${JSON.stringify(stored)}`);
  });
  assert.ok('Echo: Stop me'.startsWith(stored.content), `stored what had arrived: ${JSON.stringify(stored.content)}`);
  if (FAKE) {  // the upstream request was dropped at once, not played to the end
    const log = await poll(async () => {
      const l = await (await fetch(`${FAKE}/_fake/requests`)).json();
      const mine = l.slice(fakeBefore).filter((e) => JSON.stringify(e.body).includes('Stop me'));
      return mine.length && mine[0].ended && mine;
    }, 'the fake provider to see the request end');
    assert.equal(log[0].disconnected, true, 'the provider saw the client go away');
    assert.equal(log[0].completed, false);
  }
});

test('a reload mid-answer attaches to it again and ends with the whole answer', async () => {
  await ask('Reload me one two three four five six [[fake:slow=150]] [[fake:chunks=24]]');
  await page.waitForFunction(() => (document.querySelector('.msg.streaming .msg-body')?.textContent.length || 0) >= 4);
  await page.reload();
  // The server goes on writing it: the page shows it streaming again...
  await page.waitForSelector('.msg.streaming', { timeout: 10_000 });
  assert.equal(await page.isVisible('#stop'), true, 'Stop is offered for the attached answer');
  // ...and ends with all of it, stored ok.
  await idle(page, 20_000);
  const answer = lastAnswer();
  assert.equal(await answer.getAttribute('data-status'), 'ok');
  assert.equal((await answer.locator('.msg-body').textContent()).trim(), 'Echo: Reload me one two three four five six');
  const id = await answer.getAttribute('data-id');
  const r = await apiGet(`/api/messages/${id}`);
  assert.equal(r.body.message.status, 'ok');
  assert.equal(r.body.message.content, 'Echo: Reload me one two three four five six');
});

test('Regenerate adds a version beside the answer; ‹ 1/2 › switches between them', async () => {
  const before = await lastAnswer().getAttribute('data-id');
  await lastAnswer().hover();
  await lastAnswer().locator('[data-testid=regenerate]').click();
  await idle();
  await page.waitForFunction(() => document.querySelector('#message-list > :last-child [data-testid=sibling-count]')?.textContent === '2/2');
  const fresh = await lastAnswer().getAttribute('data-id');
  assert.notEqual(fresh, before, 'a new answer, the old one kept');
  await lastAnswer().locator('[data-testid=sibling-prev]').click();
  await page.waitForFunction((id) => document.querySelector('#message-list > :last-child')?.dataset.id === id, before);
  assert.equal(await lastAnswer().locator('[data-testid=sibling-count]').textContent(), '1/2');
  // The version shown is remembered: a reload shows it again.
  await page.reload();
  await page.waitForFunction((id) => document.querySelector('#message-list > :last-child')?.dataset.id === id, before);
  await lastAnswer().locator('[data-testid=sibling-next]').click();
  await page.waitForFunction((id) => document.querySelector('#message-list > :last-child')?.dataset.id === id, fresh);
});

test('Edit a prompt in place: Escape cancels, Enter sends a new version with its own answer', async () => {
  const prompt = lastUser();
  const original = (await prompt.locator('.msg-body').textContent()).trim();
  await prompt.hover();
  await prompt.locator('[data-testid=edit]').click();
  const box = page.locator('[data-testid=edit-box]');
  assert.equal(await box.inputValue(), original);
  await box.press('Escape');
  await page.waitForSelector('[data-testid=edit-box]', { state: 'detached' });
  assert.equal((await lastUser().locator('.msg-body').textContent()).trim(), original, 'Escape keeps the prompt');
  await lastUser().hover();
  await lastUser().locator('[data-testid=edit]').click();
  await page.fill('[data-testid=edit-box]', 'An edited prompt');
  await page.press('[data-testid=edit-box]', 'Enter');
  await idle();
  await page.waitForFunction(() => document.querySelector('#message-list > :nth-last-child(2) [data-testid=sibling-count]')?.textContent === '2/2');
  assert.equal((await lastUser().locator('.msg-body').textContent()).trim(), 'An edited prompt');
  assert.equal((await lastAnswer().locator('.msg-body').textContent()).trim(), 'Echo: An edited prompt');
});

test('Continue goes on with a cut answer in the same message', async () => {
  await ask('Cut me short please [[fake:cut]] [[fake:chunks=8]]');
  await idle();
  const answer = lastAnswer();
  const id = await answer.getAttribute('data-id');
  const cut = (await apiGet(`/api/messages/${id}`)).body.message.content;
  assert.ok(cut.length > 0, 'something arrived before the cut');
  await answer.hover();
  await answer.locator('[data-testid=continue]').click();
  // The fake cuts every streamed answer to this prompt: the continuation
  // arrives, and is cut again, in the same message.
  await idle();
  const whole = (await apiGet(`/api/messages/${id}`)).body.message;
  assert.ok(whole.content.startsWith(cut) && whole.content.length > cut.length,
    `appended to the same message: ${JSON.stringify(whole.content)}`);
  assert.equal(await lastAnswer().getAttribute('data-id'), id, 'the same message, not a new one');
  assert.equal((await lastAnswer().locator('.msg-body').textContent()).trim(), whole.content.trim());
});

test('a provider failure shows its cause with Retry, and Retry sends again and succeeds', async () => {
  // The fake fails whenever the prompt carries [[fake:status=503]], and Retry
  // sends the same prompt again. To play a provider that has recovered, the
  // retried request leaves the browser without the marker; it still goes
  // through the real stack.
  let recovered = false;
  const sent = [];
  await page.route('**/api/chat', async (route) => {
    let data = route.request().postData();
    if (recovered) data = data.replace(' [[fake:status=503]]', '');
    sent.push(JSON.parse(data).prompt);
    await route.continue({ postData: data });
  });
  try {
    await ask('Please fail [[fake:status=503]]');
    await page.waitForSelector('#message-list > :last-child [data-testid=message-error] [data-testid=retry]');
    await idle();
    const failed = lastAnswer();
    assert.equal(await failed.getAttribute('data-status'), 'error');
    const text = (await failed.locator('[data-testid=message-error]').textContent()).replace('Retry', '').trim();
    assert.match(text, /AI service/, `the cause in plain words: ${text}`);
    await shot(page, 'chat-error-light');
    const before = await messages().count();
    recovered = true;
    await failed.locator('[data-testid=retry]').click();
    await page.waitForFunction((n) => document.querySelectorAll('#message-list [data-testid=message]').length === n, before + 2);
    await idle();
    assert.deepEqual(sent, ['Please fail [[fake:status=503]]', 'Please fail']);
    assert.equal(await messages().count(), before + 2, 'the retry is a new turn; the failed one stays');
    assert.equal(await lastAnswer().getAttribute('data-status'), 'ok');
    assert.equal((await lastAnswer().locator('.msg-body').textContent()).trim(), 'Echo: Please fail');
    assert.equal(await failed.locator('[data-testid=retry]').count(), 0, 'the used Retry button is gone');
  } finally {
    await page.unroute('**/api/chat');
  }
});

test('a reloaded conversation shows what the server stored: answers, causes of failures, stopped marks', async () => {
  const stored = (await apiGet(`/api/conversations/${convA}`)).body.messages;
  await page.reload();
  await page.waitForSelector('#message-list [data-testid=message]');
  await page.waitForFunction((n) => document.querySelectorAll('#message-list [data-testid=message]').length === n, stored.length);
  const shown = await messages().evaluateAll((els) => els.map((e) => ({
    id: e.dataset.id, role: e.dataset.role, status: e.dataset.status,
    error: e.querySelector('[data-testid=message-error] p')?.textContent ?? null,
    stopped: !!e.querySelector('[data-testid=stopped]'),
    copy: !!e.querySelector('[data-testid=copy-code]'),
  })));
  for (const [i, m] of stored.entries()) {
    const s = shown[i];
    assert.equal(s.id, String(m.id));
    assert.equal(s.role, m.role);
    if (m.role === 'user') {
      assert.ok(s.error === null && !s.stopped, `user message ${m.id} (${m.status}) carries no failure mark`);
      continue;
    }
    assert.equal(s.status, m.status, `answer ${m.id}`);
    if (m.status === 'error') assert.equal(s.error, m.error, `answer ${m.id} shows the stored cause`);
    assert.equal(s.stopped, m.status === 'interrupted', `answer ${m.id}: stopped mark`);
  }
  assert.ok(shown.some((s) => s.copy), 'the Markdown answer has its copy button again');
  assert.ok(stored.some((m) => m.status === 'error') && stored.some((m) => m.status === 'interrupted'));
  assert.equal(await page.locator('[data-testid=conversation].active').getAttribute('data-id'), convA);
});

test('a conversation deleted in another tab: a send says so, starts afresh and keeps the prompt', async () => {
  await page.click('#new-chat');
  await ask('## **Soon** deleted `elsewhere`');
  await idle();
  const id = convId();
  assert.equal(await page.textContent(`[data-testid=conversation][data-id="${id}"] .conv-open`), 'Soon deleted elsewhere',
    'the title is the prompt without its Markdown');
  const other = await page.context().newPage();
  await other.goto(`${BASE}/#c/${id}`);
  await other.waitForSelector('#message-list [data-testid=message]');
  await other.locator(`[data-testid=conversation][data-id="${id}"]`).hover();
  await other.click(`[data-testid=conversation][data-id="${id}"] [data-testid=delete]`);
  await other.click('#confirm-ok');
  await other.waitForFunction((x) => !document.querySelector(`[data-testid=conversation][data-id="${x}"]`), id);
  await other.close();
  await ask('Typed in the stale tab');
  await page.waitForSelector('#notice:not([hidden])');
  assert.match(await page.textContent('#notice-text'), /deleted elsewhere/);
  assert.equal(await page.inputValue('#prompt'), 'Typed in the stale tab', 'the prompt is kept');
  assert.equal(await messages().count(), 0, 'the deleted conversation\'s messages are gone');
  assert.equal(await page.textContent('#chat-title'), 'New chat');
  assert.equal(convId(), '');
  await page.waitForFunction((x) => !document.querySelector(`[data-testid=conversation][data-id="${x}"]`), id);
  await page.fill('#prompt', '');
  await page.click('[data-testid=notice-close], #notice-close');
}, { allow: [/status of 404.*\/api\/chat/] });

test("a user's HTML stays text, in the message and in the conversation title", async () => {
  await page.click('#new-chat');
  await page.waitForSelector('#empty', { state: 'visible' });
  assert.equal(await messages().count(), 0);
  assert.equal(convId(), '', 'a new chat has no id in the URL yet');
  const evil = '<img src=x onerror="window.__pwned=1"><b>bold?</b> <script>window.__pwned=2</script>';
  await ask(evil);
  await idle();
  assert.equal(await lastUser().locator('.msg-body').textContent(), evil);
  assert.equal(await page.locator('#message-list :is(img, b, script)').count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  const id = convId();
  assert.ok(id && id !== convA);
  assert.equal(await page.locator('[data-testid=conversation]').count(), 2);
  // The server titles it from the prompt, shortened with "…".
  const title = (await apiGet('/api/conversations')).body.conversations.find((c) => String(c.id) === id).title;
  assert.ok(evil.startsWith(title.replace(/…$/, '')), `title from the prompt: ${title}`);
  assert.equal(await page.locator(`[data-testid=conversation][data-id="${id}"] .conv-open`).textContent(), title);
  assert.equal(await page.textContent('#chat-title'), title);
  assert.equal(await page.locator('#conversation-list img, #conversation-list b').count(), 0);
});

test('rename, switch and delete conversations through their dialogs', async () => {
  const idB = convId();
  const item = (id) => page.locator(`[data-testid=conversation][data-id="${id}"]`);
  // rename the open one
  await item(idB).locator('[data-testid=rename]').click();
  await page.waitForSelector('#rename-dialog[open]');
  await page.fill('#rename-input', '   ');
  await page.press('#rename-input', 'Enter');
  assert.ok(await page.isVisible('#rename-error'), 'an empty title is refused in the dialog');
  await page.fill('#rename-input', 'Renamed by e2e');
  await page.press('#rename-input', 'Enter');
  await page.waitForSelector('#rename-dialog', { state: 'hidden' });
  assert.equal(await page.textContent('#chat-title'), 'Renamed by e2e');
  assert.equal(await item(idB).locator('.conv-open').textContent(), 'Renamed by e2e');
  const list = (await apiGet('/api/conversations')).body.conversations;
  assert.equal(list.find((c) => String(c.id) === idB)?.title, 'Renamed by e2e', 'the server has the new title');
  // switch to the first conversation with the keyboard: focus stays on it
  await item(convA).locator('.conv-open').focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction((a) => location.hash === `#c/${a}`, convA);
  await page.waitForSelector('#message-list [data-testid=message]');
  assert.equal(await page.getAttribute('[data-testid=conversation].active', 'data-id'), convA);
  assert.match(await page.textContent('#chat-title'), /^Hello stream/);
  await page.waitForFunction((a) => document.activeElement?.closest('[data-testid=conversation]')?.dataset.id === a, convA);
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'open', 'focus stays on the opened conversation');
  await item(idB).locator('[data-testid=rename]').focus();
  await page.keyboard.press('Enter');
  await page.waitForSelector('#rename-dialog[open]');
  await axe(page, 'rename dialog');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#rename-dialog', { state: 'hidden' });
  assert.equal(await page.locator('#message-list [data-role=user]').first().locator('.msg-body').textContent(), 'Hello stream [[fake:slow=400]] [[fake:chunks=8]]');
  // delete the other one: Cancel keeps it, Delete removes it. Its buttons
  // show once the pointer is over it (or the keyboard is in it).
  await page.mouse.move(900, 400);
  assert.ok(await item(idB).locator('[data-testid=delete]').isHidden(), 'an inactive item shows no buttons at rest');
  await item(idB).hover();
  await item(idB).locator('[data-testid=delete]').click();
  await page.waitForSelector('#confirm-dialog[open]');
  await page.click('#confirm-cancel');
  await page.waitForSelector('#confirm-dialog', { state: 'hidden' });
  assert.equal(await page.locator('[data-testid=conversation]').count(), 2, 'Cancel keeps it');
  await item(idB).hover();
  await item(idB).locator('[data-testid=delete]').click();
  await page.waitForSelector('#confirm-dialog[open]');
  await axe(page, 'confirm dialog');
  await page.click('#confirm-ok');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=conversation]').length === 1);
  assert.equal((await apiGet(`/api/conversations/${idB}`)).status, 404, 'the server no longer has it');
  assert.equal(convId(), convA, 'the open conversation stays open');
}, { allow: [/status of 404.*\/api\/conversations\//] });

test('older messages load as the user scrolls up', async () => {
  // 26 turns (52 messages) through the API, quickly; the page shows 50 at first.
  const id = await page.evaluate(async () => {
    const me = await (await fetch('/api/me')).json();
    let conversation;
    for (let i = 1; i <= 26; i++) {
      const r = await fetch('/api/chat', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': me.csrf_token },
        body: JSON.stringify(conversation ? { prompt: `Turn ${i}`, conversation_id: conversation } : { prompt: `Turn ${i}` }),
      });
      if (r.status !== 200) throw new Error(`turn ${i}: ${r.status} ${await r.text()}`);
      conversation = (await r.json()).conversation_id;
    }
    return conversation;
  });
  await page.goto(`${BASE}/#c/${id}`);
  await page.reload();
  await page.waitForFunction(() => document.querySelectorAll('#message-list [data-testid=message]').length >= 50);
  assert.equal(await messages().count(), 50, 'the first page holds the newest 50');
  assert.equal((await messages().last().locator('.msg-body').textContent()).trim(), 'Echo: Turn 26');
  assert.equal(await messages().first().locator('.msg-body').textContent(), 'Turn 2');
  await page.evaluate(() => { document.getElementById('messages').scrollTop = 0; });
  await page.waitForFunction(() => document.querySelectorAll('#message-list [data-testid=message]').length === 52);
  assert.equal(await messages().first().locator('.msg-body').textContent(), 'Turn 1');
  assert.equal((await messages().nth(1).locator('.msg-body').textContent()).trim(), 'Echo: Turn 1');
  const ids = (await messages().evaluateAll((els) => els.map((e) => Number(e.dataset.id))));
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'oldest first, no duplicates');
  assert.equal(new Set(ids).size, 52);
  assert.ok(await page.evaluate(() => document.getElementById('messages').scrollTop > 0), 'the reader keeps their place');
  await page.waitForSelector('#jump-latest', { state: 'visible' });
  await page.click('#jump-latest');
  await page.waitForSelector('#jump-latest', { state: 'hidden' });
  assert.ok(await page.evaluate(() => { const m = document.getElementById('messages'); return m.scrollHeight - m.scrollTop - m.clientHeight < 2; }), 'at the newest message');
});

test('the sidebar: long titles use the width, and the order follows a turn left mid-stream', async () => {
  const idT = convId();
  const item = (id) => page.locator(`[data-testid=conversation][data-id="${id}"]`);
  await page.mouse.move(900, 400);
  const width = await item(convA).locator('.conv-open').evaluate((e) => e.clientWidth);
  assert.ok(width >= 230, `an inactive title has the row's width (${width} px), no room kept for hidden buttons`);
  const order = () => page.locator('[data-testid=conversation]').evaluateAll((ls) => ls.map((l) => l.dataset.id));
  assert.equal((await order())[0], idT);
  await item(convA).locator('.conv-open').click();
  await page.waitForSelector('#message-list [data-testid=message]');
  await ask('Leave me [[fake:slow=100]] [[fake:chunks=20]]');
  await page.waitForSelector('.msg.streaming');
  await item(idT).locator('.conv-open').click();
  await page.waitForFunction((a) => document.querySelector('[data-testid=conversation]')?.dataset.id === a, convA);
  assert.deepEqual((await order()).slice(0, 2), [convA, idT], 'the conversation just written in comes first');
  await item(convA).locator('.conv-open').click();
  await page.waitForSelector('#message-list [data-testid=message]');
});

test('screenshots of the chat, light and dark', async () => {
  await page.goto(`${BASE}/#c/${convA}`);
  await page.reload();
  await page.waitForSelector('#message-list [data-testid=copy-code]');
  await shot(page, 'chat-light');
  const state = await page.context().storageState();
  const dark = await (await newContext({ colorScheme: 'dark', storageState: state })).newPage();
  await dark.goto(`${BASE}/#c/${convA}`);
  await dark.waitForSelector('#message-list [data-testid=copy-code]');
  const bg = await dark.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, 'rgb(20, 22, 27)', 'the dark theme applies');
  await shot(dark, 'chat-dark');
  await axe(dark, 'conversation, dark');
  await dark.click('#new-chat');
  await shot(dark, 'chat-empty-dark');
  await axe(dark, 'empty chat, dark');
  await dark.context().close();
});

test('a 390×844 phone: the drawer, New chat in the top bar, no sideways scrolling', async () => {
  const state = await page.context().storageState();
  const phone = await (await newContext({
    storageState: state, viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
  })).newPage();
  await phone.goto(`${BASE}/#c/${convA}`);
  await phone.waitForSelector('#message-list [data-testid=copy-code]');
  assert.ok(await phone.isHidden('#new-chat'), 'the sidebar is a closed drawer');
  assert.ok(await phone.evaluate(() => document.documentElement.scrollWidth <= 390), 'no sideways scrolling');
  const cellCode = phone.locator('#message-list td code, #message-list th code');
  if (await cellCode.count()) assert.equal(await cellCode.first().evaluate((e) => getComputedStyle(e).whiteSpace), 'nowrap');
  await shot(phone, 'phone-chat');
  await axe(phone, 'phone conversation');
  assert.ok(await phone.isVisible('#topbar-new'), 'the phone\'s top bar has New chat');
  await phone.click('#menu');
  await phone.waitForSelector('#new-chat', { state: 'visible' });
  await sleep(300);  // the drawer slides in
  await shot(phone, 'phone-drawer');
  await axe(phone, 'phone drawer');
  await phone.click('#close-drawer');
  await phone.waitForSelector('#new-chat', { state: 'hidden' });
  await phone.click('#topbar-new');
  await phone.waitForSelector('#empty', { state: 'visible' });
  await shot(phone, 'phone-empty');
  await phone.context().close();
});

test('the theme toggle: dark or light against the system, remembered by this browser', async () => {
  const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(await page.inputValue('#theme'), 'system');
  assert.equal(await bg(), 'rgb(246, 247, 249)');
  await page.selectOption('#theme', 'dark');
  assert.equal(await bg(), 'rgb(20, 22, 27)', 'dark at once');
  await page.reload();
  await page.waitForSelector('#app:not([hidden])');
  assert.equal(await bg(), 'rgb(20, 22, 27)', 'and after a reload');
  assert.equal(await page.inputValue('#theme'), 'dark');
  await shot(page, 'chat-dark-chosen');
  await axe(page, 'dark chosen');
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.selectOption('#theme', 'light');
  assert.equal(await bg(), 'rgb(246, 247, 249)', 'light wins over a dark system');
  await page.selectOption('#theme', 'system');
  assert.equal(await bg(), 'rgb(20, 22, 27)', 'system follows the system again');
  await page.emulateMedia({ colorScheme: 'light' });
  assert.equal(await page.evaluate(() => localStorage.getItem('aifacade-theme')), null);
  const manifest = await apiGet('/manifest.webmanifest');
  assert.equal(manifest.status, 200);
  assert.ok(manifest.body.icons.some((i) => i.sizes === '512x512'), 'an installable manifest with a 512 px icon');
});

test('clear all asks first, then leaves an empty list', async () => {
  await page.click('#clear-all');
  await page.waitForSelector('#confirm-dialog[open]');
  await page.click('#confirm-cancel');
  await page.waitForSelector('#confirm-dialog', { state: 'hidden' });
  assert.equal(await page.locator('[data-testid=conversation]').count(), 2, 'Cancel keeps everything');
  await page.click('#clear-all');
  await page.waitForSelector('#confirm-dialog[open]');
  await page.click('#confirm-ok');
  await page.waitForSelector('.conv-none');
  assert.equal(await page.locator('[data-testid=conversation]').count(), 0);
  assert.ok(await page.isVisible('#empty'));
  assert.equal(await messages().count(), 0);
  assert.deepEqual((await apiGet('/api/conversations')).body.conversations, []);
  await page.reload();
  await page.waitForSelector('.conv-none');
});

test('log out ends the session', async () => {
  await page.click('#logout');
  await page.waitForURL(/\/login$/);
  assert.equal((await apiGet('/api/me')).status, 401);
  await page.goto(`${BASE}/`);
  await page.waitForURL(/\/login$/);
}, { allow: [/status of 401.*\/api\/me/] });

/* ---------- run ---------- */

async function main() {
  console.log(`1..${tests.length}`);
  if (!BASE) throw new Error('BASE_URL is not set');
  mkdirSync(ARTIFACTS, { recursive: true });
  let failed = 0;
  try {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--ignore-certificate-errors'],
      // playwright gives Chromium a fresh --user-data-dir of its own and removes it on close
      timeout: 30_000,
    });
  } catch (e) {
    tests.forEach((t, i) => console.log(`not ok ${i + 1} - ${t.name}`));
    diag(`Chromium did not start: ${e.message}`);
    return 1;
  }
  for (const [i, t] of tests.entries()) {
    const t0 = Date.now();
    allowed = t.allow;
    problems.length = 0;
    let error = null;
    let timer;
    try {
      await Promise.race([
        t.fn(),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${TEST_TIMEOUT / 1000} s`)), TEST_TIMEOUT); }),
      ]);
    } catch (e) {
      error = e;
    } finally {
      clearTimeout(timer);
    }
    await sleep(50);  // late console messages belong to this test
    const bad = error || problems.length;
    if (bad) failed++;
    console.log(`${bad ? 'not ok' : 'ok'} ${i + 1} - ${t.name}`);
    if (error) diag(error.stack || error.message);
    if (problems.length) diag(problems.join('\n'));
    if (bad && page && !page.isClosed()) {
      await shot(page, `failed-${i + 1}`).catch(() => {});
      diag(`page: ${page.url()}; screenshot tests/artifacts/failed-${i + 1}.png`);
    }
    if (Date.now() - t0 > 10_000) diag(`(took ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
  diag(`axe-core checked ${axeStates.length} states: ${axeStates.join('; ')}`);
  diag(`e2e: ${tests.length - failed}/${tests.length} passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return failed ? 1 : 0;
}

async function shutdown() {
  for (const c of contexts) await c.close().catch(() => {});
  if (browser) await browser.close().catch(() => {});
}

const watchdog = setTimeout(async () => {
  diag(`the whole run took longer than ${RUN_TIMEOUT / 1000} s; stopping`);
  console.log('not ok - the run finished in time');
  await shutdown();
  process.exit(1);
}, RUN_TIMEOUT);

let code = 1;
try {
  code = await main();
} catch (e) {
  diag(e.stack || e.message);
} finally {
  clearTimeout(watchdog);
  await shutdown();
}
process.exit(code);
