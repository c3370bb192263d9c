// search.test.mjs: the sidebar search (README, "Search") in Debian's Chromium,
// against the stack tests/run.sh e2e starts. Prints TAP. One account, set up
// through POST /api/import with a long conversation whose early message is a
// match, so opening a result must use ?around= to show it.
//
// Environment: BASE_URL (required), CHROMIUM (/usr/bin/chromium), ARTIFACTS.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const BASE = (process.env.BASE_URL || '').replace(/\/+$/, '');
const ARTIFACTS = process.env.ARTIFACTS || new URL('../artifacts', import.meta.url).pathname;
const TEST_TIMEOUT = 20_000;
const tests = [];
const test = (name, fn) => tests.push({ name, fn });
const problems = [];
let browser;
let page;
const user = { name: `srch${Date.now().toString(36)}`, password: 'correct horse battery' };
const shot = (name) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });

/** POSTs JSON from inside the page (its session and CSRF token). */
async function post(path, body, csrf = '') {
  return page.evaluate(async ([p, b, c]) => {
    const r = await fetch(p, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': c }, body: b });
    return { status: r.status, body: await r.json().catch(() => null) };
  }, [path, typeof body === 'string' ? body : JSON.stringify(body), csrf]);
}

const at = (i) => new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();

test('an imported account with a long conversation signs in', async () => {
  await page.goto(`${BASE}/login`);
  const reg = await post('/api/register', { username: user.name, password: user.password });
  assert.equal(reg.status, 201);
  const me = await page.evaluate(async () => (await fetch('/api/me')).json());
  const messages = [];
  for (let i = 0; i < 120; i++) {
    const content = i === 5 ? 'The quokka lives on Rottnest <img src=x onerror="window.hacked=1"> island'
      : `filler message number ${i}`;
    messages.push({ role: i % 2 ? 'assistant' : 'user', content, status: 'ok', created_at: at(i) });
  }
  const doc = {
    format: 'aifacade-export', version: 1, conversations: [
      { title: 'Long talk', created_at: at(0), updated_at: at(119), messages },
      { title: 'Other quokka notes', created_at: at(200), updated_at: at(201),
        messages: [{ role: 'user', content: 'short', status: 'ok', created_at: at(200) }] },
    ],
  };
  const imp = await post('/api/import', doc, me.csrf_token);
  assert.equal(imp.status, 201, JSON.stringify(imp.body));
  await page.goto(`${BASE}/`);
  await page.waitForSelector('#app:not([hidden])');
  await page.waitForSelector('#conversation-list li');
});

test('Ctrl+K focuses the search box', async () => {
  await page.click('#prompt');
  await page.keyboard.press('Control+k');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'search');
});

test('results appear as you type, the matches marked, markup shown as text', async () => {
  // The word is still being typed: its start already finds it.
  await page.keyboard.type('quok', { delay: 30 });
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=search-result]').length === 2);
  const hits = await page.$$eval('[data-testid=search-result]', (bs) => bs.map((b) => ({
    title: b.querySelector('.search-title').textContent,
    marks: [...b.querySelectorAll('mark')].map((m) => m.textContent),
    imgs: b.querySelectorAll('img').length,
    text: b.querySelector('.search-snippet').textContent,
  })));
  const inMessage = hits.find((h) => h.title === 'Long talk');
  assert.ok(inMessage, JSON.stringify(hits));
  assert.deepEqual(inMessage.marks, ['quokka']);
  assert.equal(inMessage.imgs, 0);
  assert.match(inMessage.text, /<img src=x onerror="window.hacked=1">/);
  assert.equal(await page.evaluate(() => window.hacked), undefined);
  await shot('search-results');
});

test('Enter opens the conversation at the message, highlighted, older and newer a click away', async () => {
  // Arrow keys pick the result in "Long talk".
  const titles = await page.$$eval('.search-title', (ts) => ts.map((t) => t.textContent));
  const want = titles.indexOf('Long talk');
  for (let i = 0; i < want; i++) await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.msg.hit');
  assert.equal(await page.textContent('#chat-title'), 'Long talk');
  assert.match(await page.textContent('.msg.hit'), /quokka lives on Rottnest/);
  const inView = await page.$eval('.msg.hit', (el) => {
    const r = el.getBoundingClientRect();
    const box = document.getElementById('messages').getBoundingClientRect();
    return r.bottom > box.top && r.top < box.bottom;
  });
  assert.ok(inView, 'the highlighted message is scrolled into view');
  assert.ok(await page.isHidden('#search-results'), 'the results close');
  assert.ok(await page.isVisible('[data-testid=newer]'), 'newer messages are a click away');
  await shot('search-jump');
  await page.click('[data-testid=newer]');
  await page.waitForFunction(() => [...document.querySelectorAll('#message-list [data-testid=message]')]
    .some((m) => m.textContent.includes('filler message number 119')));
  assert.equal(await page.locator('.msg.hit').count(), 0);
});

test('a click on a title result opens that conversation; Escape clears the box', async () => {
  await page.fill('#search', 'notes');
  await page.waitForSelector('[data-testid=search-result]');
  await page.click('[data-testid=search-result]');
  await page.waitForFunction(() => document.getElementById('chat-title').textContent === 'Other quokka notes');
  await page.fill('#search', 'filler');
  await page.waitForSelector('[data-testid=search-result]');
  await page.press('#search', 'Escape');
  assert.equal(await page.inputValue('#search'), '');
  assert.ok(await page.isHidden('#search-results'));
});

test('a search with no match says so', async () => {
  await page.fill('#search', 'zebra');
  await page.waitForSelector('.search-note');
  assert.equal(await page.textContent('.search-note'), 'Nothing found.');
});

async function main() {
  mkdirSync(ARTIFACTS, { recursive: true });
  console.log(`1..${tests.length}`);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--ignore-certificate-errors'],
    timeout: 30_000,
  });
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  await ctx.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective}`));
  });
  page = await ctx.newPage();
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(`uncaught exception: ${e.message}`));
  let failed = 0;
  for (const [i, t] of tests.entries()) {
    problems.length = 0;
    let error = null;
    let timer;
    try {
      await Promise.race([t.fn(), new Promise((_, rej) => { timer = setTimeout(() => rej(new Error('timed out')), TEST_TIMEOUT); })]);
    } catch (e) {
      error = e;
    } finally {
      clearTimeout(timer);
    }
    const bad = error || problems.length;
    if (bad) failed++;
    console.log(`${bad ? 'not ok' : 'ok'} ${i + 1} - search: ${t.name}`);
    if (error) console.log(`# ${String(error.stack || error.message).split('\n').join('\n# ')}`);
    if (problems.length) console.log(`# ${problems.join('\n# ')}`);
    if (bad) await shot(`search-failed-${i + 1}`).catch(() => {});
  }
  return failed ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (e) {
  console.log(`# ${e.stack || e.message}`);
} finally {
  if (browser) await browser.close().catch(() => {});
}
process.exit(code);
