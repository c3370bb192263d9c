// admin.js — the admin page (README, "Accounts and administration"): users
// with their status, role, usage and budgets; approve, disable, promote,
// reset a password, delete; invitation codes; the audit log. Everything is
// set as text, never as HTML.
import { api } from '/static/api.js';

const $ = (id) => document.getElementById(id);
let csrf = '';
let auditBefore = 0;

const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
const call = (path, opts = {}) => api(path, { ...opts, csrf });

function say(text) {
  $('admin-status').textContent = text;
  $('admin-status').hidden = !text;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function button(label, onClick, cls = 'btn small') {
  const b = el('button', label, cls);
  b.type = 'button';
  b.addEventListener('click', onClick);
  return b;
}

function confirmDelete(name) {
  const d = $('admin-confirm');
  $('admin-confirm-title').textContent = `Delete ${name}?`;
  $('admin-confirm-text').textContent = `${name}'s account, conversations, messages, sessions and tokens are deleted at once and for good.`;
  d.showModal();
  return new Promise((resolve) => d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true }));
}

async function patch(u, body, done) {
  const r = await call(`/api/admin/users/${u.id}`, { method: 'PATCH', body });
  say(r.ok ? done : r.error);
  loadUsers();
  loadAudit(true);
}

/** A budget input: empty means the server's setting. */
function budgetInput(u, field, label) {
  const i = el('input');
  i.type = 'number';
  i.min = '1';
  i.value = u.quota_own && u[field] !== null ? u[field] : '';
  i.placeholder = u[field] !== null && !u.quota_own ? String(u[field]) : 'none';
  i.setAttribute('aria-label', `${label} for ${u.username}`);
  i.addEventListener('change', () => {
    const v = i.value.trim();
    if (v && !(Number(v) >= 1)) return say('A budget is a whole number from 1 up; leave it empty for the setting.');
    patch(u, { [field]: v ? Number(v) : null }, `${u.username}'s budget is saved.`);
  });
  return i;
}

/** The user's OpenAI-compatible API use this month: calls, tokens and refusals, then per token. */
function apiCell(g) {
  const td = el('td', '', 'api-use');
  td.dataset.testid = 'api-use';
  if (!g) return td;
  const line = (x) => `${x.calls} calls · ${x.tokens} tokens${x.refusals ? ` · ${x.refusals} refused` : ''}`;
  td.append(el('div', line(g)));
  for (const t of g.tokens_by_token) {
    if (t.calls) td.append(el('div', `${t.name}: ${line(t)}`, 'api-token'));
  }
  return td;
}

function userRow(u) {
  const tr = el('tr');
  tr.dataset.user = u.username;
  const status = el('span', u.status, `pill ${u.status}`);
  const role = el('select');
  role.setAttribute('aria-label', `Role of ${u.username}`);
  role.append(new Option('user', 'user'), new Option('admin', 'admin'));
  role.value = u.role;
  role.addEventListener('change', () => patch(u, { role: role.value }, `${u.username} is now ${role.value === 'admin' ? 'an admin' : 'a user'}.`));
  const actions = el('td');
  if (u.status !== 'active') actions.append(button(u.status === 'pending' ? 'Approve' : 'Enable',
    () => patch(u, { status: 'active' }, `${u.username} can log in.`), 'btn small primary'));
  else actions.append(button('Disable', () => patch(u, { status: 'disabled' }, `${u.username} is disabled and logged out everywhere.`)));
  actions.append(' ', button('Reset password', async () => {
    const r = await call(`/api/admin/users/${u.id}/password-reset`, { method: 'POST' });
    say(r.ok ? `Send ${u.username} this link (valid until ${when(r.data.expires_at)}, once): ${location.origin}${r.data.path}` : r.error);
    loadAudit(true);
  }));
  actions.append(' ', button('Delete', async () => {
    if (!(await confirmDelete(u.username))) return;
    const r = await call(`/api/admin/users/${u.id}`, { method: 'DELETE' });
    say(r.ok ? `${u.username} is deleted.` : r.error);
    loadUsers();
    loadAudit(true);
  }, 'btn small ghost'));
  const cells = [el('td', u.username), el('td'), el('td'), el('td', when(u.created)), el('td', when(u.last_seen)),
    el('td', u.conversations, 'num'), el('td', u.messages, 'num'), el('td', u.prompts_today, 'num'),
    el('td', u.tokens_this_month, 'num'), apiCell(u.api_this_month), el('td'), el('td'), actions];
  cells[1].append(status);
  cells[2].append(role);
  cells[10].append(budgetInput(u, 'quota_prompts_day', 'Prompts per day'));
  cells[11].append(budgetInput(u, 'quota_tokens_month', 'Tokens per month'));
  tr.append(...cells);
  return tr;
}

async function loadUsers() {
  const r = await call('/api/admin/users');
  if (!r.ok) return say(r.error);
  const order = { pending: 0, active: 1, disabled: 2 };
  const users = r.data.users.sort((a, b) => order[a.status] - order[b.status] || a.id - b.id);
  $('user-rows').replaceChildren(...users.map(userRow));
  const pending = users.filter((u) => u.status === 'pending').length;
  $('registration').textContent = `Registration is ${r.data.registration} (REGISTRATION).` +
    (pending ? ` ${pending} account${pending === 1 ? '' : 's'} wait${pending === 1 ? 's' : ''} for approval.` : '');
}

async function loadAudit(fresh) {
  if (fresh) auditBefore = 0;
  const r = await call(`/api/admin/audit?limit=50${auditBefore ? `&before=${auditBefore}` : ''}`);
  if (!r.ok) return say(r.error);
  const rows = r.data.entries.map((e) => {
    const tr = el('tr');
    tr.append(el('td', when(e.at)), el('td', e.actor ?? '—'), el('td', e.action), el('td', e.target ?? '—'),
      el('td', e.addr ?? '—'), el('td', e.detail ?? ''));
    return tr;
  });
  if (fresh) $('audit-rows').replaceChildren(...rows); else $('audit-rows').append(...rows);
  if (r.data.entries.length) auditBefore = r.data.entries[r.data.entries.length - 1].id;
  $('audit-more').hidden = r.data.entries.length < 50;
}

$('invite').addEventListener('click', async () => {
  const r = await call('/api/admin/invites', { method: 'POST' });
  say(r.ok ? `Invitation code ${r.data.code} (once, until ${when(r.data.expires_at)}); or send this link: ${location.origin}/register?invite=${r.data.code}` : r.error);
  loadAudit(true);
});
$('audit-more').addEventListener('click', () => loadAudit(false));

async function start() {
  const r = await api('/api/me');
  if (r.status === 401) return location.replace('/login');
  if (!r.ok || r.data.role !== 'admin') {
    document.body.className = 'card-page';
    const card = el('main', null, 'card');
    card.append(el('h1', 'Administrators only'), el('p', r.ok ? 'This page is for the server\'s administrators.' : r.error, 'sub'));
    const back = el('a', 'Back to the chat', 'btn primary wide');
    back.href = '/';
    card.append(back);
    document.body.replaceChildren(card);
    return;
  }
  csrf = r.data.csrf_token;
  $('admin').hidden = false;
  await Promise.all([loadUsers(), loadAudit(true)]);
}

start();
