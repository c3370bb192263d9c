// admin.test.mjs: the settings dialog and the admin page (README, "Accounts
// and administration") in Debian's Chromium, against the stack tests/run.sh
// e2e starts. Prints TAP. Two accounts: an admin (made one with
// `aifacadectl set-role`, so it needs the stack's files: STACK_DIR) and a
// user the admin manages, who at the end deletes their own account.
//
// Environment: BASE_URL (required), STACK_DIR, AIFACADE_BUILD, CHROMIUM, ARTIFACTS.
import { chromium, request } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import assert from 'node:assert/strict';

const BASE = (process.env.BASE_URL || '').replace(/\/+$/, '');
const ARTIFACTS = process.env.ARTIFACTS || new URL('../artifacts', import.meta.url).pathname;
const CTL = new URL(`../../${process.env.AIFACADE_BUILD || 'build'}/tools/aifacadectl`, import.meta.url).pathname;
const TEST_TIMEOUT = 20_000;
const tests = [];
const test = (name, fn) => tests.push({ name, fn });
const problems = [];
let browser;
let page;
let bob;      // the managed user's own API client (cookies of its own)
const stamp = Date.now().toString(36);
const admin = { name: `adm${stamp}`, password: 'correct horse battery' };
const user = { name: `bob${stamp}`, password: 'correct horse battery' };
const shot = (name) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });

async function signIn(who) {
  await page.context().clearCookies();
  await page.goto(`${BASE}/login`);
  await page.fill('#username', who.name);
  await page.fill('#password', who.password);
  await page.click('#submit');
  await page.waitForSelector('#app:not([hidden])');
}

/* axe-core, as chat.test.mjs runs it: a serious or critical violation fails the test. */
const AXE = readFileSync(new URL('./node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
async function axe(label) {
  if (!await page.evaluate(() => !!window.axe)) await page.evaluate(AXE);
  const r = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`), [],
    `axe-core in state "${label}"`);
}

/** The row of the admin page's users table for name. */
const row = (name) => page.locator(`#user-rows tr[data-user="${name}"]`);

test('an admin made with aifacadectl set-role sees the Admin link', async () => {
  for (const who of [admin, user]) {
    const r = await bob.post('/api/register', { data: { username: who.name, password: who.password } });
    assert.equal(r.status(), 201, await r.text());
  }
  execFileSync(CTL, ['set-role', admin.name, 'admin'], {
    env: { PATH: process.env.PATH, AIFACADE_ROOT: mkdtempSync(join(tmpdir(), 'aif-e2e-')), AIFACADE_INSTANCE: join(process.env.STACK_DIR, 'instance') },
  });
  await signIn(admin);
  await page.waitForSelector('#admin-link:not([hidden])');
});

test('the admin page lists users; disabling one logs them out at once, enabling lets them back', async () => {
  await page.click('#admin-link');
  await page.waitForURL(/\/admin$/);
  await row(user.name).waitFor();
  assert.equal(await row(user.name).locator('.pill').textContent(), 'active');
  await row(user.name).getByRole('button', { name: 'Disable' }).click();
  await page.waitForFunction((n) => document.querySelector(`#user-rows tr[data-user="${n}"] .pill`)?.textContent === 'disabled', user.name);
  assert.equal((await bob.get('/api/me')).status(), 401);
  await row(user.name).getByRole('button', { name: 'Enable' }).click();
  await page.waitForFunction((n) => document.querySelector(`#user-rows tr[data-user="${n}"] .pill`)?.textContent === 'active', user.name);
  const again = await bob.post('/api/login', { data: { username: user.name, password: user.password } });
  assert.equal(again.status(), 200);
  await shot('admin-users');
  await axe('admin page');
});

test('a budget set on the admin page holds for that user; the audit table shows the changes', async () => {
  await row(user.name).getByLabel(`Prompts per day for ${user.name}`).fill('2');
  await row(user.name).getByLabel(`Prompts per day for ${user.name}`).press('Enter');
  await page.waitForSelector('[data-testid=admin-status]:has-text("budget is saved")');
  const me = await (await bob.get('/api/me')).json();
  assert.equal(me.usage.prompts_day.limit, 2);
  await page.waitForFunction(() => [...document.querySelectorAll('#audit-rows td:nth-child(3)')].some((td) => td.textContent === 'budget'));
  const actions = await page.$$eval('#audit-rows td:nth-child(3)', (tds) => tds.map((t) => t.textContent));
  for (const a of ['status', 'budget', 'login']) assert.ok(actions.includes(a), `audit has ${a}: ${actions}`);
});

test('an invitation code and a reset link are shown to pass on', async () => {
  await page.click('#invite');
  await page.waitForSelector('[data-testid=admin-status]:has-text("Invitation code")');
  assert.match(await page.textContent('[data-testid=admin-status]'), /\/register\?invite=[A-Za-z0-9_-]{22}/);
  await row(user.name).getByRole('button', { name: 'Reset password' }).click();
  await page.waitForSelector('[data-testid=admin-status]:has-text("/reset#")');
});

test('settings: an API token is shown once, works without a cookie, and stops when revoked', async () => {
  await page.goto(`${BASE}/`);
  await page.waitForSelector('#app:not([hidden])');
  await page.click('[data-testid=settings]');
  await page.waitForSelector('#settings-dialog[open]');
  await page.waitForSelector('[data-testid=usage-text]:has-text("Today:")');
  await page.fill('#token-name', 'e2e script');
  await page.check('#token-keep');
  await page.click('#token-form button[type=submit]');
  await page.waitForSelector('#token-new:not([hidden])');
  const token = await page.inputValue('[data-testid=token-value]');
  assert.match(token, /^aif_[A-Za-z0-9_-]{43}$/);
  const api = await request.newContext({ baseURL: BASE, ignoreHTTPSErrors: true });
  const headers = { Authorization: `Bearer ${token}` };
  assert.equal((await (await api.get('/api/me', { headers })).json()).username, admin.name);
  await page.waitForSelector('[data-testid=token-list] li:has-text("keeps its calls as conversations")');
  // The token is the key of the OpenAI-compatible API; the admin page counts its use.
  const gw = await api.post('/v1/chat/completions', {
    headers, data: { model: 'fake-model', messages: [{ role: 'user', content: 'from an editor' }] } });
  assert.equal(gw.status(), 200);
  assert.equal((await gw.json()).choices[0].message.content, 'Echo: from an editor');
  await page.goto(`${BASE}/admin`);
  await row(admin.name).waitFor();
  const use = row(admin.name).locator('[data-testid=api-use]');
  assert.match(await use.textContent(), /^1 calls · [1-9]\d* tokens/);
  assert.match(await use.locator('.api-token').textContent(), /^e2e script: 1 calls/);
  await page.goto(`${BASE}/`);
  await page.waitForSelector('#app:not([hidden])');
  await page.click('[data-testid=settings]');
  await page.waitForSelector('#settings-dialog[open]');
  await page.waitForSelector('[data-testid=token-list] li:has-text("1 calls")');
  await page.locator('[data-testid=token-list] li', { hasText: 'e2e script' }).getByRole('button', { name: 'Revoke' }).click();
  await page.waitForSelector('[data-testid=token-list] li:has-text("No tokens yet.")');
  assert.equal((await api.get('/api/me', { headers })).status(), 401);
  await api.dispose();
  await shot('settings');
  await axe('settings dialog');
});

test('settings: sessions are listed, and a password change ends the other ones', async () => {
  await page.waitForSelector('[data-testid=session-list] li:has-text("This browser")');
  const other = await request.newContext({ baseURL: BASE, ignoreHTTPSErrors: true, userAgent: 'other-device/1' });
  assert.equal((await other.post('/api/login', { data: { username: admin.name, password: admin.password } })).status(), 200);
  await page.click('#sessions-end-others');  // refreshes the list, which now holds both
  // The other device, and the session registering left in another client.
  await page.waitForSelector('#settings-status:has-text("Logged out everywhere else (2 sessions)")');
  assert.equal((await other.get('/api/me')).status(), 401);
  assert.equal((await other.post('/api/login', { data: { username: admin.name, password: admin.password } })).status(), 200);
  await page.fill('#pw-current', 'not my password');
  await page.fill('#pw-new', 'a whole new password');
  await page.click('#pw-form button[type=submit]');
  await page.waitForSelector('#pw-error:has-text("not right")');
  await page.fill('#pw-current', admin.password);
  await page.click('#pw-form button[type=submit]');
  await page.waitForSelector('#settings-status:has-text("Password changed. 1 other session ended.")');
  assert.equal((await other.get('/api/me')).status(), 401);
  assert.equal(await page.evaluate(async () => (await fetch('/api/me')).status), 200, 'this session stays');
  await other.dispose();
  admin.password = 'a whole new password';
  await page.click('#settings-close');
});

test('"N left" shows when a budget is nearly used; the user deletes their account with the password', async () => {
  await signIn(user);
  await page.fill('#prompt', 'hello budget');
  await page.click('#send');
  await page.waitForSelector('[data-testid=budget-left]:has-text("1 prompt left today")');
  await page.click('[data-testid=settings]');
  await page.fill('#delete-password', 'wrong password');
  await page.click('#delete-form button[type=submit]');
  await page.waitForSelector('#delete-error:has-text("not right")');
  await page.fill('#delete-password', user.password);
  await page.click('#delete-form button[type=submit]');
  await page.waitForURL(/\/login$/);
  const gone = await bob.post('/api/login', { data: { username: user.name, password: user.password } });
  assert.equal(gone.status(), 401);
});

async function main() {
  mkdirSync(ARTIFACTS, { recursive: true });
  if (!process.env.STACK_DIR) {
    console.log('1..0 # SKIP needs the stack\'s files (STACK_DIR) to make an admin with aifacadectl');
    return 0;
  }
  console.log(`1..${tests.length}`);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--ignore-certificate-errors'],
    timeout: 30_000,
  });
  bob = await request.newContext({ baseURL: BASE, ignoreHTTPSErrors: true });
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  await ctx.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective}`));
  });
  page = await ctx.newPage();
  page.on('console', (m) => { if (m.type() === 'error' && !/status of (401|403)/.test(m.text())) problems.push(m.text()); });
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
    console.log(`${bad ? 'not ok' : 'ok'} ${i + 1} - admin: ${t.name}`);
    if (error) console.log(`# ${String(error.stack || error.message).split('\n').join('\n# ')}`);
    if (problems.length) console.log(`# ${problems.join('\n# ')}`);
    if (bad) await shot(`admin-failed-${i + 1}`).catch(() => {});
  }
  await bob.dispose();
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
