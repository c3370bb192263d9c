// settings-dialog.js — the settings dialog (README, "Accounts and
// administration"): usage and budgets, password change, sessions, API tokens
// and deleting the account. settings.js loads it on first use, so the chat
// page does not carry it. Its markup is fixed text; every value from the
// server is set as text.
import { api } from '/static/api.js';

const MARKUP = `
<dialog id="settings-dialog" class="dialog wide" aria-labelledby="settings-title">
  <div class="dialog-body">
    <div class="dialog-head"><h2 id="settings-title">Settings</h2>
      <button id="settings-close" class="icon-btn" type="button" aria-label="Close settings"><svg class="icon"><use href="#i-close"/></svg></button></div>
    <p id="settings-status" class="settings-status" role="status"></p>

    <section class="set-section" aria-labelledby="usage-title">
      <h3 id="usage-title">Usage</h3>
      <p id="usage-text" data-testid="usage-text"></p>
    </section>

    <section class="set-section" aria-labelledby="pw-title">
      <h3 id="pw-title">Password</h3>
      <form id="pw-form" class="set-grid" novalidate>
        <label for="pw-current">Current password</label>
        <input id="pw-current" type="password" autocomplete="current-password" required>
        <label for="pw-new">New password</label>
        <input id="pw-new" type="password" autocomplete="new-password" required>
        <p id="pw-error" class="field-error" role="alert"></p>
        <button class="btn primary small" type="submit">Change password</button>
      </form>
      <p class="set-hint">Your other sessions end when the password changes.</p>
    </section>

    <section class="set-section" aria-labelledby="sessions-title">
      <h3 id="sessions-title">Where you are logged in</h3>
      <ul id="session-list" class="set-list" data-testid="session-list"></ul>
      <button id="sessions-end-others" class="btn small" type="button">Log out everywhere else</button>
    </section>

    <section class="set-section" aria-labelledby="tokens-title">
      <h3 id="tokens-title">API tokens</h3>
      <p class="set-hint">For scripts: send <code>Authorization: Bearer &lt;token&gt;</code>. A token is also the API key of
        any OpenAI client, with the base URL <code>/v1</code> of this server. A token is shown once.</p>
      <ul id="token-list" class="set-list" data-testid="token-list"></ul>
      <form id="token-form" class="set-row" novalidate>
        <label for="token-name" class="sr-only">Token name</label>
        <input id="token-name" type="text" maxlength="80" placeholder="Name, e.g. backup script" autocomplete="off">
        <label class="set-check"><input id="token-keep" type="checkbox"> Keep its API calls as conversations</label>
        <button class="btn small" type="submit">Create</button>
      </form>
      <div id="token-new" class="token-new" hidden>
        <label for="token-value">Your new token (copy it now; it is not shown again)</label>
        <div class="set-row"><input id="token-value" type="text" readonly data-testid="token-value"><button id="token-copy" class="btn small" type="button">Copy</button></div>
      </div>
    </section>

    <section class="set-section danger-zone" aria-labelledby="delete-title">
      <h3 id="delete-title">Delete account</h3>
      <p class="set-hint">Deletes your account and every conversation, at once and for good.</p>
      <form id="delete-form" class="set-row" novalidate>
        <label for="delete-password" class="sr-only">Password to confirm</label>
        <input id="delete-password" type="password" autocomplete="current-password" placeholder="Your password">
        <button class="btn danger small" type="submit">Delete my account</button>
      </form>
      <p id="delete-error" class="field-error" role="alert"></p>
    </section>
  </div>
</dialog>`;

const $ = (id) => document.getElementById(id);
let me = null;
let refreshMe = async () => me;
let dialog;

const when = (iso) => (iso ? new Date(iso).toLocaleString() : 'never');
const call = (path, opts = {}) => api(path, { ...opts, csrf: me ? me.csrf_token : '' });

function status(text) {
  $('settings-status').textContent = text;
}

function usageText(usage) {
  const p = usage.prompts_day, t = usage.tokens_month;
  const of = (x, unit) => (x.limit ? `${x.used} of ${x.limit} ${unit} (${x.left} left)` : `${x.used} ${unit}, no limit`);
  return `Today: ${of(p, 'prompts')}. This month: ${of(t, 'tokens')}${t.estimated ? ', partly estimated' : ''}.` +
    ` Budgets reset at midnight UTC and on the first of the month.`;
}

function item(text, meta, button) {
  const li = document.createElement('li');
  const what = document.createElement('span');
  what.className = 'what';
  what.textContent = text;
  const m = document.createElement('span');
  m.className = 'meta';
  m.textContent = meta;
  what.append(m);
  li.append(what);
  if (button) li.append(button);
  return li;
}

function smallButton(label, onClick, danger = false) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = `btn small${danger ? ' danger' : ''}`;
  b.textContent = label;
  b.addEventListener('click', onClick);
  return b;
}

async function loadSessions() {
  const r = await call('/api/account/sessions');
  const list = $('session-list');
  if (!r.ok) return status(r.error);
  list.replaceChildren(...r.data.sessions.map((s) => item(
    s.current ? `This browser — ${s.user_agent || 'unknown browser'}` : s.user_agent || 'unknown browser',
    `from ${s.addr || 'unknown address'} · signed in ${when(s.created)} · last used ${when(s.last_seen)}`,
    s.current ? null : smallButton('Log out', async () => {
      const d = await call(`/api/account/sessions/${s.id}`, { method: 'DELETE' });
      status(d.ok ? 'That session has ended.' : d.error);
      loadSessions();
    }))));
}

async function loadTokens() {
  const r = await call('/api/account/tokens');
  if (!r.ok) return status(r.error);
  const list = $('token-list');
  if (!r.data.tokens.length) {
    const li = document.createElement('li');
    li.textContent = 'No tokens yet.';
    return list.replaceChildren(li);
  }
  list.replaceChildren(...r.data.tokens.map((t) => item(t.name,
    `created ${when(t.created)} · last used ${when(t.last_used)}` +
    ` · API this month: ${t.gateway_this_month.calls} calls, ${t.gateway_this_month.tokens} tokens` +
    `${t.gateway_this_month.refusals ? `, ${t.gateway_this_month.refusals} refused` : ''}` +
    `${t.store_conversations ? ' · keeps its calls as conversations' : ''}`,
    smallButton('Revoke', async () => {
      const d = await call(`/api/account/tokens/${t.id}`, { method: 'DELETE' });
      status(d.ok ? `The token "${t.name}" no longer works.` : d.error);
      loadTokens();
    }, true))));
}

/** Builds the dialog once (its stylesheet too) and wires it. */
async function build() {
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = '/static/settings.css';
  const styled = new Promise((resolve) => { link.onload = link.onerror = resolve; });
  document.head.append(link);
  await styled;
  const doc = new DOMParser().parseFromString(MARKUP, 'text/html');
  dialog = document.adoptNode(doc.body.firstElementChild);
  document.body.append(dialog);
  $('settings-close').addEventListener('click', () => dialog.close());

  $('pw-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const current = $('pw-current').value, next = $('pw-new').value;
    if (!current || [...next].length < 8) {
      $('pw-error').textContent = !current ? 'Enter your current password.' : 'Use 8 to 128 characters for the new password.';
      return;
    }
    const r = await call('/api/account/password', { method: 'POST', body: { current, new: next } });
    $('pw-error').textContent = r.ok ? '' : r.error;
    if (r.ok) {
      e.target.reset();
      const n = r.data.sessions_ended;
      status(`Password changed.${n ? ` ${n} other session${n === 1 ? '' : 's'} ended.` : ''}`);
      loadSessions();
    }
  });

  $('sessions-end-others').addEventListener('click', async () => {
    const r = await call('/api/account/sessions', { method: 'DELETE' });
    status(r.ok ? `Logged out everywhere else (${r.data.sessions_ended} session${r.data.sessions_ended === 1 ? '' : 's'}).` : r.error);
    loadSessions();
  });

  $('token-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = $('token-name').value.trim();
    if (!name) return status('Give the token a name, such as the script that uses it.');
    const r = await call('/api/account/tokens', { method: 'POST',
      body: { name, store_conversations: $('token-keep').checked } });
    if (!r.ok) return status(r.error);
    e.target.reset();
    $('token-value').value = r.data.token;
    $('token-new').hidden = false;
    $('token-value').select();
    loadTokens();
  });

  $('token-copy').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText($('token-value').value);
      status('Token copied.');
    } catch {
      $('token-value').select();
      status('Select the token and copy it with Ctrl+C.');
    }
  });

  $('delete-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const password = $('delete-password').value;
    if (!password) {
      $('delete-error').textContent = 'Enter your password to confirm.';
      return;
    }
    const r = await call('/api/account', { method: 'DELETE', body: { password } });
    if (r.ok) return location.replace('/login');
    $('delete-error').textContent = r.error;
  });
}

/** Opens the dialog; refresh() asks /api/me again and returns it. */
export async function open(refresh) {
  refreshMe = async () => { me = await refresh(); if (me) $('usage-text').textContent = usageText(me.usage); return me; };
  if (!dialog) await build();
  status('');
  $('token-new').hidden = true;
  $('pw-error').textContent = $('delete-error').textContent = '';
  dialog.showModal();
  await refreshMe();
  await Promise.all([loadSessions(), loadTokens()]);
}
