// search.js — the sidebar's search box (README, "Search"): results as you
// type, Ctrl+K (⌘K) focuses it, arrows pick a result, Enter or a click opens
// the conversation at that message, highlighted. chat.js opens it on the
// "aif:open" event. A snippet is the server's escaped text with <mark>
// around matches; only text and <mark> are taken from it.
import { api } from '/static/api.js';

const box = document.getElementById('search');
const list = document.getElementById('search-results');
const DELAY = 150;  // ms of quiet typing before asking
let timer = 0;
let asked = 0;      // the latest request; older answers are dropped
let results = [];
let active = -1;

/** The snippet as nodes: text, and <mark> holding text; nothing else. */
function snippetNodes(html) {
  const doc = new DOMParser().parseFromString(`<div>${html}</div>`, 'text/html');
  const out = [];
  for (const n of doc.body.firstChild.childNodes) {
    if (n.nodeType === Node.ELEMENT_NODE && n.tagName === 'MARK') {
      const m = document.createElement('mark');
      m.textContent = n.textContent;
      out.push(m);
    } else {
      out.push(document.createTextNode(n.textContent));
    }
  }
  return out;
}

function show(items, note) {
  results = items;
  active = items.length ? 0 : -1;
  list.replaceChildren();
  if (note) {
    const li = document.createElement('li');
    li.className = 'search-note';
    li.textContent = note;
    list.append(li);
  }
  items.forEach((r, i) => {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'search-hit';
    b.dataset.testid = 'search-result';
    b.dataset.index = i;
    b.id = `search-hit-${i}`;
    b.setAttribute('role', 'option');
    const title = document.createElement('span');
    title.className = 'search-title';
    title.textContent = r.conversation_title;
    const snip = document.createElement('span');
    snip.className = 'search-snippet';
    snip.append(...snippetNodes(r.snippet));
    b.append(title, snip);
    li.append(b);
    list.append(li);
  });
  list.hidden = !note && !items.length;
  mark();
}

function mark() {
  for (const b of list.querySelectorAll('.search-hit')) b.classList.toggle('active', Number(b.dataset.index) === active);
  if (active >= 0) box.setAttribute('aria-activedescendant', `search-hit-${active}`);
  else box.removeAttribute('aria-activedescendant');
  list.querySelector('.search-hit.active')?.scrollIntoView({ block: 'nearest' });
}

/** As you type, the last word is a prefix: "quok" finds "quokka". */
const asTyped = (q) => (/[\p{L}\p{N}]$/u.test(q) ? `${q}*` : q);

async function ask(q) {
  const mine = ++asked;
  const r = await api(`/api/search?q=${encodeURIComponent(asTyped(q))}&limit=20`);
  if (mine !== asked) return;
  if (!r.ok) return show([], r.error);
  const items = r.data.results || [];
  show(items, items.length ? '' : 'Nothing found.');
}

function clear() {
  asked++;
  clearTimeout(timer);
  show([]);
}

function open(r) {
  if (!r) return;
  clear();
  box.blur();
  document.dispatchEvent(new CustomEvent('aif:open', {
    detail: { id: r.conversation_id, around: r.message_id ?? null },
  }));
}

box.addEventListener('input', () => {
  clearTimeout(timer);
  const q = box.value.trim();
  if (!q) return clear();
  timer = setTimeout(() => ask(q), DELAY);
});

box.addEventListener('keydown', (e) => {
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    if (!results.length) return;
    e.preventDefault();
    active = (active + (e.key === 'ArrowDown' ? 1 : results.length - 1)) % results.length;
    mark();
  } else if (e.key === 'Enter') {
    e.preventDefault();
    open(results[active]);
  } else if (e.key === 'Escape' && (box.value || !list.hidden)) {
    e.stopPropagation();
    box.value = '';
    clear();
  }
});

list.addEventListener('click', (e) => {
  const b = e.target.closest('.search-hit');
  if (b) open(results[Number(b.dataset.index)]);
});

document.addEventListener('keydown', (e) => {
  if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'k') {
    e.preventDefault();
    const menu = document.getElementById('menu');
    if (menu && menu.offsetParent !== null && !document.body.classList.contains('drawer-open')) menu.click();
    box.focus();
    box.select();
  }
});
