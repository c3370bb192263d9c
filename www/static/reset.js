// reset.js — the page an admin's password reset link opens (/reset#TOKEN):
// the token stays in the fragment, which no server or log sees.
import { api, codePoints } from '/static/api.js';

const $ = (id) => document.getElementById(id);
const token = location.hash.slice(1);
history.replaceState(null, '', location.pathname);

function fail(text) {
  $('form-error').textContent = text;
  $('form-error').hidden = false;
}

if (!token) fail('This link is incomplete; ask your administrator for a new one.');

$('reset-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('form-error').hidden = true;
  const password = $('password').value;
  const n = codePoints(password);
  if (n < 8 || n > 128) return fail('Use 8 to 128 characters.');
  if ($('confirm').value !== password) return fail('The passwords do not match.');
  $('submit').disabled = true;
  const r = await api('/api/password-reset', { method: 'POST', body: { token, password } });
  $('submit').disabled = false;
  if (!r.ok) return fail(r.error);
  e.target.reset();
  $('form-note').textContent = `Your password is set, ${r.data.username}. Sign in with it now.`;
  $('form-note').hidden = false;
  $('submit').hidden = true;
});
