// settings.js — the chat page's hooks for the account controls (README,
// "Accounts and administration"): the Admin link for admins, "N left" beside
// the composer when a budget is nearly used, and the gear that opens the
// settings dialog (settings-dialog.js, loaded on first use).
import { api } from '/static/api.js';

const $ = (id) => document.getElementById(id);

/** "N left" when a budget is nearly used: under a tenth, or 5 prompts. */
function showBudget(usage) {
  const p = usage && usage.prompts_day, t = usage && usage.tokens_month;
  const parts = [];
  if (p && p.limit && p.left <= Math.max(5, p.limit / 10)) parts.push(`${p.left} prompt${p.left === 1 ? '' : 's'} left today`);
  if (t && t.limit && t.left <= t.limit / 10) parts.push(`${t.left} tokens left this month`);
  $('budget-left').textContent = parts.join(' · ');
  $('budget-left').hidden = !parts.length;
}

async function refresh() {
  const r = await api('/api/me');
  if (!r.ok) return null;
  $('admin-link').hidden = r.data.role !== 'admin';
  showBudget(r.data.usage);
  return r.data;
}

$('settings').addEventListener('click', async () => (await import('/static/settings-dialog.js')).open(refresh));
// After each turn (the stop button hides again) the budgets have moved.
new MutationObserver(() => { if ($('stop').hidden) refresh(); })
  .observe($('stop'), { attributes: true, attributeFilter: ['hidden'] });
refresh();
