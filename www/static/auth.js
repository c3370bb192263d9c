// auth.js — the sign-in and register forms: check the fields, send them,
// show the server's answer, and go to the chat once a session exists.
import { api, codePoints } from '/static/api.js';

const form = document.getElementById('auth-form');
const register = form.dataset.mode === 'register';
const submit = document.getElementById('submit');
const formError = document.getElementById('form-error');
const field = (id) => document.getElementById(id);

// No request asks /api/me who is here: signed out, its 401 would be logged
// in the console on every visit. The chat page sends a signed-out visitor
// here, and signing in again from here simply starts a new session.

// /login?signed-out: the chat page's Log out came here.
if (new URLSearchParams(location.search).has('signed-out')) {
  const note = field('form-note');
  note.textContent = 'You have signed out. Sign in again to get back to your conversations.';
  note.hidden = false;
  history.replaceState(null, '', location.pathname);
}

// /register?invite=CODE: the link an admin passed on fills the code in.
const inviteParam = new URLSearchParams(location.search).get('invite');
if (inviteParam && field('invite')) field('invite').value = inviteParam;

// Show / Hide on each password field: the text stays in the field.
for (const b of document.querySelectorAll('.pw-toggle')) {
  const input = field(b.getAttribute('aria-controls'));
  const what = input.id === 'confirm' ? 'confirmation' : 'password';
  b.setAttribute('aria-label', `Show ${what}`);
  b.addEventListener('click', () => {
    const show = input.type === 'password';
    input.type = show ? 'text' : 'password';
    b.textContent = show ? 'Hide' : 'Show';
    b.setAttribute('aria-label', `${show ? 'Hide' : 'Show'} ${what}`);
    b.setAttribute('aria-pressed', String(show));
  });
}

/** Marks one field wrong (or right, with msg '') and returns whether it is right. */
function mark(id, msg) {
  const input = field(id);
  field(`${id}-error`).textContent = msg;
  input.setAttribute('aria-invalid', String(!!msg));
  return !msg;
}

/** Checks every field, as the server will; returns the first bad one or null. */
function validate() {
  const name = field('username').value.trim();
  const pw = field('password').value;
  const n = codePoints(name), p = codePoints(pw);
  const bad = [];
  if (!mark('username', !name ? 'Enter your username.'
    : register && (n < 3 || n > 80) ? 'Use 3 to 80 characters.'
    : /[\u0000-\u001f\u007f]/.test(name) ? 'Use printable characters only.' : '')) bad.push('username');
  if (!mark('password', !pw ? 'Enter your password.'
    : register && (p < 8 || p > 128) ? 'Use 8 to 128 characters.' : '')) bad.push('password');
  if (register && !mark('confirm', field('confirm').value !== pw ? 'The passwords do not match.' : '')) bad.push('confirm');
  return bad[0] || null;
}

let tried = false;
form.addEventListener('input', () => { if (tried) validate(); });

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  tried = true;
  formError.hidden = true;
  const bad = validate();
  if (bad) return field(bad).focus();
  const label = submit.textContent;
  submit.disabled = true;
  submit.textContent = register ? 'Creating account…' : 'Signing in…';
  const body = { username: field('username').value.trim(), password: field('password').value };
  const invite = register && field('invite') ? field('invite').value.trim() : '';
  if (invite) body.invite = invite;
  const r = await api(register ? '/api/register' : '/api/login', { method: 'POST', body });
  if (r.status === 202) {  // REGISTRATION=approval: an admin must approve the account first
    submit.disabled = false;
    submit.textContent = label;
    const note = field('form-note');
    note.textContent = r.data.message || 'Your account waits for an administrator\'s approval.';
    note.hidden = false;
    form.reset();
    return;
  }
  if (r.ok) return location.replace('/');
  field('form-note').hidden = true;
  submit.disabled = false;
  submit.textContent = label;
  if (r.status === 409) {  // the name is taken: say so at the field
    mark('username', r.error);
    return field('username').focus();
  }
  formError.textContent = r.error;
  formError.hidden = false;
  if (r.status === 401) {
    field('password').value = '';
    field('password').focus();
  }
});
