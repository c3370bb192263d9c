// settings.js — the settings dialog (README, "Accounts and administration"):
// usage and budgets, password change, sessions, API tokens and deleting the
// account; the "N left" hint beside the composer when a budget is nearly
// used; the Admin link for admins. It keeps to its own elements: chat.js
// knows nothing of it.
import { api } from '/static/api.js';

const $ = (id) => document.getElementById(id);
const dialog = $('settings-dialog');
let me = null;

const when = (iso) => (iso ? new Date(iso).toLocaleString() : 'never');
const call = (path, opts = {}) => api(path, { ...opts, csrf: me ? me.csrf_token : '' });

function status(text) {
  $('settings-status').textContent = text;
}

/** "N left" when a budget is nearly used: under a tenth, or 5 prompts. */
function showBudget(usage) {
  const hint = $('budget-left');
  const p = usage && usage.prompts_day, t = usage && usage.tokens_month;
  const parts = [];
  if (p && p.limit && p.left <= Math.max(5, p.limit / 10)) parts.push(`${p.left} prompt${p.left === 1 ? '' : 's'} left today`);
  if (t && t.limit && t.left <= t.limit / 10) parts.push(`${t.left} tokens left this month`);
  hint.textContent = parts.join(' · ');
  hint.hidden = !parts.length;
}

function usageText(usage) {
  const p = usage.prompts_day, t = usage.tokens_month;
  const of = (x, unit) => (x.limit ? `${x.used} of ${x.limit} ${unit} (${x.left} left)` : `${x.used} ${unit}, no limit`);
  return `Today: ${of(p, 'prompts')}. This month: ${of(t, 'tokens')}${t.estimated ? ', partly estimated' : ''}.` +
    ` Budgets reset at midnight UTC and on the first of the month.`;
}

async function refreshMe() {
  const r = await api('/api/me');
  if (!r.ok) return;
  me = r.data;
  $('admin-link').hidden = me.role !== 'admin';
  showBudget(me.usage);
  if (dialog.open) $('usage-text').textContent = usageText(me.usage);
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
    `created ${when(t.created)} · last used ${when(t.last_used)}`,
    smallButton('Revoke', async () => {
      const d = await call(`/api/account/tokens/${t.id}`, { method: 'DELETE' });
      status(d.ok ? `The token "${t.name}" no longer works.` : d.error);
      loadTokens();
    }, true))));
}

async function open() {
  status('');
  $('token-new').hidden = true;
  $('pw-error').textContent = $('delete-error').textContent = '';
  dialog.showModal();
  await refreshMe();
  await Promise.all([loadSessions(), loadTokens()]);
}

$('settings').addEventListener('click', open);
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
  const r = await call('/api/account/tokens', { method: 'POST', body: { name } });
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

// After each turn (the stop button hides again) the budgets have moved.
new MutationObserver(() => { if ($('stop').hidden) refreshMe(); })
  .observe($('stop'), { attributes: true, attributeFilter: ['hidden'] });

refreshMe();
