// chat.js — the chat page: conversation list, history, streaming answers.
// Talks only to the JSON API of SPEC.md §4. A message's server-rendered `html`
// is the one thing ever inserted as HTML; every other string goes in as text.
import { api, readJson, errorText, codePoints, NETWORK_ERROR } from '/static/api.js';

const ui = {};  // every element with an id, as ui.camelCase
for (const e of document.querySelectorAll('[id]')) ui[e.id.replace(/-(\w)/g, (_, c) => c.toUpperCase())] = e;

const PAGE = 50;  // messages per history request
const state = {
  csrf: '',
  maxChars: 4000,
  multiModel: false,
  conversations: [],  // newest first, as the server sends them
  current: null,      // id of the open conversation (server's type); null = new chat
  oldest: null,       // id of the oldest message shown, for ?before=
  hasMore: false,
  loadingOlder: false,
  view: 0,            // bumped on every switch: late answers for an old view are dropped
  stream: null,       // AbortController of the answer being streamed
  answerId: null,     // id of that answer once the server named it (Stop asks the server)
  stick: true,        // keep the newest text in view while it streams
};

const sameId = (a, b) => a != null && b != null && String(a) === String(b);
const enc = encodeURIComponent;
const toLogin = () => location.replace('/login');
const finePointer = matchMedia('(pointer: fine)');
const dialogOpen = () => document.querySelector('dialog[open]');

/** Creates an element with a class, text (never HTML) and attributes. */
function h(tag, cls, text, attrs = {}) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

/** A small button showing a symbol of the sprite in index.html. */
function iconButton(name, label, testid) {
  const b = h('button', 'icon-btn', null, { type: 'button', 'aria-label': label, title: label, 'data-testid': testid });
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  const use = document.createElementNS(ns, 'use');
  svg.setAttribute('class', 'icon');
  use.setAttribute('href', `#i-${name}`);
  svg.append(use);
  b.append(svg);
  return b;
}

/** The API with our CSRF token. A 401 means the session is gone: we leave
 *  for /login and the caller never resumes. */
async function call(path, opts = {}) {
  const r = await api(path, { ...opts, csrf: state.csrf });
  return r.status === 401 ? (toLogin(), new Promise(() => {})) : r;
}

function notify(text) {
  ui.noticeText.textContent = text;
  ui.notice.hidden = false;
}

/* ---------- conversation list ---------- */

async function loadConversations() {
  const r = await call('/api/conversations');
  if (!r.ok) return notify(r.error);
  state.conversations = r.data.conversations || [];
  renderList();
}

/** Draws the list again. Focus on one of its buttons stays on the same
 *  button of the same conversation, so keyboard users keep their place. */
function renderList() {
  const f = document.activeElement;
  const focusId = ui.conversationList.contains(f) ? f.closest('li.conv')?.dataset.id : null;
  const focusRole = f?.dataset?.testid || 'open';
  const items = state.conversations.map((c) => {
    const title = c.title || 'Untitled';
    const active = sameId(c.id, state.current);
    const li = h('li', active ? 'conv active' : 'conv', null, { 'data-id': c.id, 'data-testid': 'conversation' });
    const open = h('button', 'conv-open', title, { type: 'button', title });
    if (active) open.setAttribute('aria-current', 'page');
    open.dataset.testid = 'open';
    const actions = h('span', 'conv-actions');
    actions.append(iconButton('edit', `Rename “${title}”`, 'rename'), iconButton('trash', `Delete “${title}”`, 'delete'));
    li.append(open, actions);
    return li;
  });
  ui.conversationList.replaceChildren(...(items.length ? items : [h('li', 'conv-none', 'No conversations yet.')]));
  if (focusId != null) {
    const li = [...ui.conversationList.children].find((x) => x.dataset.id === focusId);
    (li?.querySelector(`[data-testid=${focusRole}]`) || li?.querySelector('.conv-open') || ui.newChat).focus();
  }
  const c = state.conversations.find((x) => sameId(x.id, state.current));
  ui.chatTitle.textContent = state.current == null ? 'New chat' : c?.title || 'Untitled';
  document.title = `${ui.chatTitle.textContent} · AIFacade`;
}

ui.conversationList.addEventListener('click', (e) => {
  const btn = e.target.closest('button');
  const li = btn?.closest('li.conv');
  const conv = li && state.conversations.find((c) => sameId(c.id, li.dataset.id));
  if (!conv) return;
  const act = btn.dataset.testid;
  if (act === 'rename') renameConversation(conv);
  else if (act === 'delete') deleteConversation(conv);
  else {
    // On a phone the drawer closes and the prompt takes the focus; with the
    // list beside the chat, focus stays on the conversation just opened.
    const drawer = document.body.classList.contains('drawer-open');
    setDrawer(false);
    if (drawer) ui.prompt.focus();
    if (!sameId(conv.id, state.current)) openConversation(conv.id);
  }
});

/** Leaves the current view: stops following a streaming answer (the server
 *  goes on writing it; coming back attaches again) and empties the list. */
function resetView(id) {
  state.stream?.abort();
  Object.assign(state, { view: state.view + 1, current: id, oldest: null, hasMore: false, partial: false });
  ui.messageList.replaceChildren();
  ui.empty.hidden = id != null;
  ui.notice.hidden = true;
  history.replaceState(null, '', id == null ? location.pathname : `#c/${enc(id)}`);
  renderList();
}

function newChat() {
  resetView(null);
  if (finePointer.matches) ui.prompt.focus();
}

/** Opens a conversation at its newest page, or at the page holding message
 *  `around` (a search result, search.js), scrolled to it and highlighted. */
async function openConversation(id, around = null, leaf = null) {
  resetView(id);
  const view = state.view;
  ui.messages.setAttribute('aria-busy', 'true');
  const at = around != null ? `around=${enc(around)}&` : leaf != null ? `leaf=${enc(leaf)}&` : '';
  const r = await call(`/api/conversations/${enc(id)}?${at}limit=${PAGE}`);
  if (view !== state.view) return;
  ui.messages.setAttribute('aria-busy', 'false');
  if (r.status === 404) {
    newChat();
    loadConversations();
    return notify('That conversation no longer exists.');
  }
  if (!r.ok) return notify(r.error);
  const msgs = r.data.messages || [];
  ui.messageList.append(...msgs.map(messageEl));
  state.oldest = msgs[0]?.id ?? null;
  state.hasMore = !!r.data.has_more;
  ui.empty.hidden = msgs.length > 0;
  // A failed last turn can be tried again with the prompt before it.
  const [prev, last] = msgs.slice(-2);
  if (last?.status === 'error' && prev?.role === 'user') {
    ui.messageList.querySelector(':scope > :last-child .err').append(retryButton(() => send(prev.content)));
  }
  // An answer still being written goes on on the server: show it going on.
  if (last?.status === 'streaming' && !r.data.has_newer) attach(last, ui.messageList.querySelector(':scope > :last-child'));
  const hit = around == null ? null : ui.messageList.querySelector(`[data-id="${CSS.escape(String(around))}"]`);
  if (r.data.has_newer) {
    // The newest messages are not shown: a button gets them, and so does sending.
    state.partial = true;
    const more = h('button', 'btn newer', 'Show the latest messages', { type: 'button', 'data-testid': 'newer' });
    more.addEventListener('click', () => openConversation(id));
    ui.messageList.append(more);
  }
  if (hit) {
    hit.classList.add('hit');
    hit.scrollIntoView({ block: 'center' });
    state.stick = false;
  } else {
    scrollToBottom();
  }
  fillViewport();
}

document.addEventListener('aif:open', (e) => { setDrawer(false); openConversation(e.detail.id, e.detail.around); });

/** Loads the page before the oldest message shown, keeping the reader's place. */
async function loadOlder() {
  if (!state.hasMore || state.loadingOlder || state.oldest == null) return;
  state.loadingOlder = true;
  ui.older.hidden = false;
  const view = state.view;
  const r = await call(`/api/conversations/${enc(state.current)}?before=${enc(state.oldest)}&limit=${PAGE}`);
  state.loadingOlder = false;
  ui.older.hidden = true;
  if (view !== state.view) return;
  if (!r.ok) { state.hasMore = false; return notify(r.error); }
  const msgs = r.data.messages || [];
  const box = ui.messages;
  const fromBottom = box.scrollHeight - box.scrollTop;
  ui.messageList.prepend(...msgs.map(messageEl));
  box.scrollTop = box.scrollHeight - fromBottom;
  state.hasMore = !!r.data.has_more && msgs.length > 0;
  if (msgs.length) state.oldest = msgs[0].id;
  fillViewport();
}

/** Without a scroll bar nobody can scroll up, so load until there is one. */
function fillViewport() {
  if (state.hasMore && ui.messages.scrollHeight <= ui.messages.clientHeight) loadOlder();
}

ui.messages.addEventListener('scroll', () => {
  const box = ui.messages;
  state.stick = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  ui.jumpLatest.hidden = state.stick;
  if (box.scrollTop < 150) loadOlder();
}, { passive: true });

function scrollToBottom() {
  ui.messages.scrollTop = ui.messages.scrollHeight;
  state.stick = true;
  ui.jumpLatest.hidden = true;
}

/* ---------- messages ---------- */

function reasoningEl(text, live) {
  const d = h('details', 'reasoning', null, { 'data-testid': 'reasoning' });
  d.append(h('summary', '', live ? 'Thinking…' : 'Thought process'), h('div', 'reasoning-text', text));
  return d;
}

function retryButton(onClick) {
  const b = h('button', 'btn small', 'Retry', { type: 'button', 'data-testid': 'retry' });
  b.addEventListener('click', () => { if (!state.stream) { b.remove(); onClick(); } });
  return b;
}

/** An inline error with an optional Retry button; `live` announces it. */
function errorBox(text, retry, live) {
  const box = h('div', 'err', null, live ? { 'data-testid': 'message-error', role: 'alert' } : { 'data-testid': 'message-error' });
  box.append(h('p', '', text));
  if (retry) box.append(retryButton(retry));
  return box;
}

/** "Stopped", with the server's reason (if any) as its tooltip. */
const stoppedMark = (why) => h('span', 'stopped-mark', 'Stopped', why ? { 'data-testid': 'stopped', title: why } : { 'data-testid': 'stopped' });

const FAILED = 'The answer could not be completed.';

/** One message as an <article>: user text stays plain, answers show html.
 *  A user message's status is that of its turn, so only answers get the
 *  error box or the stopped mark. A failed answer's `content` is what had
 *  arrived (often nothing) and its `error` the cause in plain words. */
function messageEl(m) {
  const role = m.role === 'user' ? 'user' : 'assistant';
  const status = role === 'user' ? 'ok' : m.status || 'ok';
  const art = h('article', `msg ${role}`, null, {
    'data-testid': 'message', 'data-role': role, 'data-status': m.status || 'ok', 'aria-label': role === 'user' ? 'You' : 'Assistant',
  });
  if (m.id != null) art.dataset.id = m.id;
  if (m.reasoning) art.append(reasoningEl(m.reasoning, false));
  const body = h('div', 'msg-body');
  if (role === 'assistant' && m.html) {
    body.innerHTML = m.html;  // safe: rendered server-side without raw HTML
    enhance(body);
  } else {
    body.classList.add('plain');
    body.textContent = m.content || '';
  }
  if (body.textContent.trim() || body.querySelector('img')) art.append(body);
  if (status === 'error') {
    art.classList.add('error');
    art.append(errorBox(m.error || FAILED));
  } else if (status === 'interrupted') art.append(stoppedMark(m.error));
  if (m.id != null && m.status !== 'streaming') art.append(actionsEl(m, art));
  return art;
}

/** Under each stored message: its time (shown on hover or focus), the
 *  ‹ 2/3 › switch between siblings, and what can be done with it: Edit a
 *  prompt; Copy, Regenerate and (when cut) Continue an answer. */
function actionsEl(m, art) {
  const bar = h('div', 'msg-actions', null, { 'data-testid': 'actions' });
  const btn = (label, testid, onClick) => {
    const b = h('button', 'btn small quiet', label, { type: 'button', 'data-testid': testid });
    b.addEventListener('click', onClick);
    bar.append(b);
    return b;
  };
  const sibs = Array.isArray(m.siblings) ? m.siblings : [];
  const at = sibs.findIndex((x) => sameId(x, m.id));
  if (sibs.length > 1 && at >= 0) {
    const nav = h('span', 'siblings', null, { 'data-testid': 'siblings' });
    const go = (k, label, testid) => {
      const b = h('button', 'btn small quiet', k < 0 ? '‹' : '›', { type: 'button', 'aria-label': label, 'data-testid': testid });
      const to = sibs[at + k];
      if (to == null) b.disabled = true;
      else b.addEventListener('click', () => { if (!state.stream) openConversation(state.current, null, to); });
      return b;
    };
    nav.append(go(-1, 'Previous version', 'sibling-prev'), h('span', 'sibling-count', `${at + 1}/${sibs.length}`, { 'data-testid': 'sibling-count' }), go(1, 'Next version', 'sibling-next'));
    bar.append(nav);
  }
  if (m.role === 'user') {
    btn('Edit', 'edit', () => { if (!state.stream) startEdit(art, m); });
  } else {
    const copy = btn('Copy', 'copy', async () => {
      try { await navigator.clipboard.writeText(m.content || ''); copy.textContent = 'Copied'; } catch { copy.textContent = 'Copy failed'; }
      setTimeout(() => { copy.textContent = 'Copy'; }, 1500);
    });
    btn('Regenerate', 'regenerate', () => { if (!state.stream) send(null, { regenerate: m.id, art }); });
    if (m.status !== 'ok' && m.content) btn('Continue', 'continue', () => { if (!state.stream) send(null, { cont: m.id, art, m }); });
  }
  if (m.created_at) {
    const when = new Date(m.created_at);
    bar.append(h('time', 'msg-time', when.toLocaleString(), { datetime: m.created_at, tabindex: '0', 'data-testid': 'time' }));
  }
  return bar;
}

/** Edit in place: the prompt becomes a box; Enter sends it as a new
 *  version (a sibling) with its own answer, Escape puts the prompt back. */
function startEdit(art, m) {
  const box = h('textarea', 'edit-box', null, { 'aria-label': 'Edit your message', 'data-testid': 'edit-box', rows: '3' });
  box.value = m.content || '';
  const old = [...art.childNodes];
  art.replaceChildren(box);
  box.focus();
  box.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      art.replaceChildren(...old);
    } else if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      if (box.value.trim() && !state.stream) send(box.value, { edit: m.id, art });
    }
  });
}

/** Copy buttons on code blocks; links open in a new tab. */
function enhance(body) {
  for (const pre of body.querySelectorAll('pre')) {
    const code = pre.querySelector('code') || pre;
    const wrap = h('div', 'code-wrap');
    // The language comes as <code class="language-…">; older renderings put
    // it in <pre lang>, which declares a human language (axe: valid-lang), so
    // it moves to the class.
    const lang = /language-([\w+#.-]+)/.exec(code.className)?.[1] || pre.getAttribute('lang');
    if (pre.hasAttribute('lang')) {
      pre.removeAttribute('lang');
      if (lang && code !== pre) code.classList.add(`language-${lang}`);
    }
    const bar = h('div', 'code-bar', lang || 'code');
    // The visible word is the start of the accessible name ("Copy code").
    const label = h('span', '', 'Copy');
    const copy = h('button', 'copy', null, { type: 'button', 'data-testid': 'copy-code' });
    copy.append(label, h('span', 'sr-only', ' code'));
    copy.addEventListener('click', async () => {
      label.textContent = (await copyText(code.textContent)) ? 'Copied' : 'Copy failed';
      setTimeout(() => { label.textContent = 'Copy'; }, 1500);
    });
    bar.append(copy);
    pre.replaceWith(wrap);
    wrap.append(bar, pre);
  }
  for (const a of body.querySelectorAll('a[href^="http"]')) Object.assign(a, { target: '_blank', rel: 'noopener noreferrer' });
  highlightCode(body);
  renderMath(body);
  // The server empties unsafe links (javascript: …); an empty href would reload the page.
  for (const a of body.querySelectorAll('a[href=""]')) a.removeAttribute('href');
}

/* ---------- code highlighting and math, loaded only when an answer needs them ---------- */

// From www/vendor/ (make vendor: tools/vendor.sh); when missing, code stays
// plain and math stays as written.
const once = (load) => { let p; return () => (p ||= load().catch(() => null)); };
const loadHljs = once(async () => {
  const { default: hljs } = await import('/vendor/highlight.min.js');
  hljs.configure({ ignoreUnescapedHTML: true });
  return hljs;
});
const loadKatex = once(() => new Promise((resolve, reject) => {
  const css = h('link', '', null, { rel: 'stylesheet', href: '/vendor/katex.min.css' });
  const js = h('script', '', null, { src: '/vendor/katex.min.js' });
  js.onload = () => (window.katex ? resolve(window.katex) : reject(new Error('no katex')));
  js.onerror = reject;
  document.head.append(css, js);
}));

/** Colours the tokens of code blocks that name a language highlight.js knows. */
function highlightCode(body) {
  const blocks = [...body.querySelectorAll('pre > code[class*="language-"]')];
  if (!blocks.length) return;
  loadHljs().then((hljs) => {
    if (!hljs) return;
    for (const code of blocks) {
      const lang = /language-([\w+#.-]+)/.exec(code.className)?.[1];
      if (code.isConnected && lang && hljs.getLanguage(lang) && !code.classList.contains('hljs')) hljs.highlightElement(code);
    }
  });
}

// $$…$$ (display) and $…$ (inline: no space just inside, no digit right
// after, so "$5 and $10" stays text). \(…\) and \[…\] reach the page only
// when the renderer keeps their backslashes (a Markdown escape removes them).
const MATH = /\$\$([^$]+?)\$\$|\\\[([\s\S]+?)\\\]|\\\(([\s\S]+?)\\\)|\$(?![\s$])((?:\\\$|[^$\n])+?)(?<![\s\\])\$(?!\d)/g;

/** Typesets the math in an answer's text (never inside code). */
function renderMath(body) {
  const texts = [];
  const walk = document.createTreeWalker(body, NodeFilter.SHOW_TEXT, {
    acceptNode: (n) => (n.parentElement.closest('code, pre, .katex') ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  while (walk.nextNode()) if (/\$|\\[[(]/.test(walk.currentNode.data)) texts.push(walk.currentNode);
  const hasMath = new RegExp(MATH.source);  // no /g: test() keeps no lastIndex
  const found = texts.filter((t) => hasMath.test(t.data));
  if (!found.length) return;
  loadKatex().then((katex) => {
    if (!katex) return;
    for (const t of found) {
      if (!t.isConnected) continue;
      const frag = document.createDocumentFragment();
      let at = 0;
      for (const m of t.data.matchAll(MATH)) {
        frag.append(t.data.slice(at, m.index));
        const display = m[1] != null || m[2] != null;
        const tex = m[1] ?? m[2] ?? m[3] ?? m[4];
        const span = h('span', display ? 'math display' : 'math');
        // KaTeX builds DOM nodes and sets styles through the CSSOM, which
        // the CSP allows; its MathML copy is what screen readers read.
        katex.render(tex, span, { displayMode: display, throwOnError: false, output: 'htmlAndMathml' });
        frag.append(span);
        at = m.index + m[0].length;
      }
      frag.append(t.data.slice(at));
      t.replaceWith(frag);
    }
  });
}

/** The clipboard API needs a secure context: HTTPS, or localhost. */
const copyText = (text) => navigator.clipboard.writeText(text).then(() => true, () => false);

/** The assistant's bubble while its answer streams in. The server sends the
 *  answer so far already rendered (event `html`, by the same renderer as the
 *  stored answer) at a bounded rate; the raw deltas are shown only when a
 *  server sends no such event: not before RAW_AFTER_MS have passed since
 *  the first delta with no `html` yet (the first rendering may follow its
 *  delta by a network read, or wait for a line to end). Painted at most
 *  once per frame; the `done`
 *  message's html, identical to the last rendering, replaces it at the end.
 *  The bubble is not a live region (each repaint would be read out): the
 *  finished answer is announced once through #announcer. */
const RAW_AFTER_MS = 1500;
function liveAnswer(from = null) {
  const art = h('article', 'msg assistant streaming', null,
    { 'data-testid': 'message', 'data-role': 'assistant', 'data-status': 'streaming', 'aria-label': 'Assistant' });
  const working = h('div', 'working', 'Thinking', { 'data-testid': 'working' });
  const body = h('div', 'msg-body plain', null, { 'aria-busy': 'true' });
  // The label goes under the text: removing it at the end moves nothing.
  art.append(body, working);
  let text = '', html = null, shownHtml = null, thought = '', details = null, frame = 0;
  let rawOk = false, rawTimer = 0;
  if (from?.content) {  // continue: the answer so far stays, and grows
    text = from.content;
    html = from.html ?? null;
    rawOk = html === null;  // a stored answer without its rendering: as it was
    working.textContent = 'Writing';
  }
  const paint = () => {
    frame = 0;
    if (html !== null) {
      if (html !== shownHtml) {
        body.classList.remove('plain');
        body.innerHTML = html;  // safe: rendered server-side without raw HTML
        enhance(body);
        shownHtml = html;
      }
    } else if (rawOk) body.textContent = text;
    if (details) details.lastChild.textContent = thought;
    if (state.stick) scrollToBottom();
  };
  const schedule = () => { frame ||= requestAnimationFrame(paint); };
  const end = (status) => {
    cancelAnimationFrame(frame);
    clearTimeout(rawTimer);
    rawOk = true;
    paint();
    working.remove();
    art.classList.remove('streaming');
    art.dataset.status = status;
    body.setAttribute('aria-busy', 'false');
    if (!text) body.remove();
    if (details) details.firstChild.textContent = 'Thought process';
  };
  return {
    art,
    content(s) {
      if (!text) {  // the thinking is over: one label says what happens now
        working.textContent = 'Writing';
        working.hidden = false;
        if (details) details.firstChild.textContent = 'Thought process';
      }
      text += s;
      rawTimer ||= setTimeout(() => { rawOk = true; schedule(); }, RAW_AFTER_MS);
      schedule();
    },
    html(s) { html = s; clearTimeout(rawTimer); schedule(); },
    reasoning(s) {
      if (!details) {
        art.insertBefore(details = reasoningEl('', true), body);
        working.hidden = true;  // the summary says "Thinking…" meanwhile
      }
      thought += s;
      schedule();
    },
    done(m) {
      end('ok');
      const fresh = messageEl(m.reasoning || !thought ? m : { ...m, reasoning: thought });
      if (details?.open) fresh.querySelector('details').open = true;
      art.replaceWith(fresh);
      if (state.stick) scrollToBottom();
      announce(fresh);
    },
    fail(msg, retry, m) {  // m: the stored answer, when the server sent it
      if (m?.html && m.content) html = m.html;
      end(m?.status === 'interrupted' ? 'interrupted' : 'error');
      art.classList.add('error');
      art.append(errorBox(msg, retry, true));
      if (m?.id != null) art.append(actionsEl(m, art));  // stored: Regenerate, Continue
      if (state.stick) scrollToBottom();
    },
    stopped(convId, m) {
      if (m) {  // the stored answer, as the server stopped it
        end('interrupted');
        const fresh = messageEl(m);
        art.replaceWith(fresh);
        announce(fresh, 'Stopped. ');
        return;
      }
      end('interrupted');
      art.append(stoppedMark());
      announce(art, 'Stopped. ');
      if (text) showStored(art, convId, text.length);
    },
  };
}

/** A stopped answer's last rendering may lag its text by a moment; the
 *  server stores what had arrived (with its HTML) once it sees the browser
 *  go, so the stored answer replaces the bubble as soon as it is there. */
async function showStored(art, convId, atLeast) {
  const view = state.view;
  for (let i = 0; i < 10 && convId != null && art.dataset.id; i++) {
    await new Promise((r) => setTimeout(r, 250 + i * 100));
    if (view !== state.view || !art.isConnected) return;
    const r = await call(`/api/conversations/${enc(convId)}?limit=4`);
    if (!r.ok || view !== state.view || !art.isConnected) return;
    const m = (r.data.messages || []).find((x) => sameId(x.id, art.dataset.id));
    if (m && m.status !== 'ok' && m.content.length >= atLeast) {
      const details = art.querySelector('details');
      const fresh = messageEl(m);
      if (details?.open) fresh.querySelector('details')?.setAttribute('open', '');
      art.replaceWith(fresh);
      if (state.stick) scrollToBottom();
      return;
    }
  }
}

/** Reads a finished answer out once, through the one live region that
 *  stays in the page (#announcer), however the message list changes. */
function announce(art, prefix = '') {
  const text = art.querySelector('.msg-body')?.textContent.trim() || '';
  const short = text.length > 600 ? `${text.slice(0, 600)}…` : text;
  ui.announcer.textContent = '';
  setTimeout(() => { ui.announcer.textContent = `${prefix}Answer: ${short}`; }, 50);
}

/** Reads a text/event-stream body, calling onEvent(name, data) per event. */
async function readEvents(stream, onEvent) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buf = '', name = '', data = [], id = '';
  for (;;) {
    const { value, done } = await reader.read();
    buf += decoder.decode(value, { stream: !done });
    const lines = buf.split('\n');
    buf = done ? '' : lines.pop();  // a partial last line waits for the next chunk
    if (done) lines.push('');       // the end of the stream ends the last event
    for (let line of lines) {
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (!line) {  // a blank line ends an event
        if (data.length) onEvent(name || 'message', data.join('\n'), id);
        name = '';
        data = [];
      } else if (line[0] !== ':') {  // ':' starts a comment (keep-alive)
        const i = line.indexOf(':');
        const field = i < 0 ? line : line.slice(0, i);
        const val = i < 0 ? '' : line.slice(line[i + 1] === ' ' ? i + 2 : i + 1);
        if (field === 'event') name = val;
        else if (field === 'data') data.push(val);
        else if (field === 'id') id = val;
      }
    }
    if (done) return;
  }
}

/** Removes what follows art in the list: a new version of a message
 *  starts a branch, and the old branch's later messages are not on it. */
function cutAfter(art) {
  while (art.nextElementSibling) art.nextElementSibling.remove();
}

/** Sends a prompt and shows the answer as it streams. With opts.edit (a
 *  prompt's id), opts.regenerate or opts.cont (an answer's id) and opts.art
 *  (that message's article), it makes a new version of that message or
 *  goes on with it (README, "Regenerate, edit, continue"). */
async function send(text, opts = {}) {
  if (state.stream) return;
  const tree = opts.edit ?? opts.regenerate ?? opts.cont ?? null;
  if (state.partial && tree == null) await openConversation(state.current);
  ui.empty.hidden = ui.notice.hidden = true;
  let mine = text == null ? null : messageEl({ role: 'user', content: text });
  mine?.classList.add('pending');
  const bot = liveAnswer(opts.cont != null ? opts.m : null);
  if (tree != null) {
    cutAfter(opts.art);
    if (mine) { opts.art.replaceWith(mine); ui.messageList.append(bot.art); }
    else opts.art.replaceWith(bot.art);
    if (opts.cont != null) bot.art.dataset.id = opts.cont;
  } else ui.messageList.append(mine, bot.art);
  scrollToBottom();
  const ctrl = new AbortController();
  state.stream = ctrl;
  setBusy(true);
  const view = state.view;
  let started = false, finished = false, turnConv = null;
  // Before `start` nothing was stored, so a retry replaces this attempt.
  // A new version of a message is tried again from the conversation.
  const retry = tree != null ? null : () => {
    if (!started) { mine.remove(); bot.art.remove(); }
    send(text);
  };
  // start: {"conversation_id","conversation","user_message","message_id"}
  const begin = (conversationId, userMessage, conversation, answerId) => {
    started = true;
    turnConv = conversationId ?? null;
    mine?.classList.remove('pending');
    if (userMessage?.id != null && mine) {  // stored: it gets its time and Edit
      const fresh = messageEl(userMessage);
      mine.replaceWith(fresh);
      mine = fresh;
    }
    if (answerId != null) { bot.art.dataset.id = answerId; state.answerId = answerId; }
    state.oldest ??= userMessage?.id ?? null;
    if (state.current == null && conversationId != null && view === state.view) {
      state.current = conversationId;
      history.replaceState(null, '', `#c/${enc(conversationId)}`);
      // The server titled it from the prompt; list it at once.
      if (conversation?.id != null && !state.conversations.some((c) => sameId(c.id, conversation.id))) {
        state.conversations.unshift(conversation);
        renderList();
      } else loadConversations();
    }
  };
  const finish = (how, ...args) => { finished = true; bot[how](...args); };
  const onEvent = (name, raw) => {
    let d;
    try { d = JSON.parse(raw); } catch { return; }
    if (name === 'start') begin(d.conversation_id, d.user_message, d.conversation, d.message_id);
    else if (name === 'html') { if (typeof d.html === 'string' && !finished) bot.html(d.html); }
    else if (name === 'delta') {
      if (typeof d.reasoning === 'string') bot.reasoning(d.reasoning);
      if (typeof d.content === 'string') bot.content(d.content);
    } else if (name === 'done' && d.message) {
      finish('done', d.message);
      // A new version: the conversation shows it with its ‹ n/m › switch.
      if (tree != null && view === state.view) openConversation(state.current);
      // The answer is complete: the composer is free again, even while the
      // server still asks the provider for a title (event `title`).
      if (state.stream === ctrl) { state.stream = null; setBusy(false); }
    } else if (name === 'title' && d.conversation?.id != null) {
      const c = state.conversations.find((x) => sameId(x.id, d.conversation.id));
      if (c) { c.title = d.conversation.title; renderList(); }
    }
    // error: {"error","code","message"}: the cause in plain words and the stored answer
    else if (name === 'error' && d.code === 'stopped') finish('stopped', turnConv, d.message);
    else if (name === 'error') finish('fail', d.error || d.message?.error || 'The answer failed.', retry, d.message);
  };
  const body = opts.edit != null ? { edit: opts.edit, prompt: text }
    : opts.regenerate != null ? { regenerate: opts.regenerate }
      : opts.cont != null ? { continue: opts.cont } : { prompt: text };
  if (state.current != null && tree == null) body.conversation_id = state.current;
  if (state.multiModel) body.model = ui.model.value;
  try {
    const res = await fetch('/api/chat', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { Accept: 'text/event-stream', 'Content-Type': 'application/json', 'X-CSRF-Token': state.csrf },
      body: JSON.stringify(body),
      signal: ctrl.signal,
    });
    if (res.status === 401) return toLogin();
    if (res.status === 404 && body.conversation_id != null) {
      // Deleted in another tab or window: nothing was stored. Start afresh
      // with the prompt back in the box, and say what happened.
      finished = true;
      if (view === state.view) {
        newChat();
        giveBack(text);
        notify('This conversation was deleted elsewhere (another tab or window). Your message is back in the box: send it to start a new chat.');
      }
      loadConversations();
    } else if (!res.ok) {  // refused before anything was stored
      const data = await readJson(res);
      // 400/413: the prompt needs editing; 429: a Retry cannot succeed
      // before the wait the message names. Either way the prompt goes back
      // into the box, and no Retry is offered.
      const giveBackPrompt = res.status === 400 || res.status === 413 || res.status === 429;
      finish('fail', errorText(res, data), giveBackPrompt ? null : retry);
      if (giveBackPrompt && mine) {
        mine.remove();
        giveBack(text);
      } else mine?.classList.replace('pending', 'unsent');
      if (res.status === 429) state.promptsLeft = 0;
    } else if (res.headers.get('Content-Type')?.startsWith('text/event-stream')) {
      await readEvents(res.body, onEvent);
    } else {  // the whole answer as JSON: {"conversation_id","message"}
      const d = await readJson(res);
      begin(d.conversation_id);
      if (d.message) finish('done', d.message);
    }
    if (!finished) finish('fail', 'The answer was cut off before it finished.', retry);
  } catch {
    if (finished) { /* Stop after the end: nothing to do */ }
    else if (ctrl.signal.aborted) {
      mine?.classList.remove('pending');  // the server may have stored it
      bot.stopped(turnConv);
    } else if (started && bot.art.dataset.id) {
      // The connection broke, not the answer: the server goes on writing
      // it, so attach again and show the rest.
      if (state.stream === ctrl) { state.stream = null; state.answerId = null; }
      attach({ id: bot.art.dataset.id }, bot.art);
      return;
    } else {
      bot.fail(NETWORK_ERROR, retry);
      if (!started) mine?.classList.replace('pending', 'unsent');
    }
  } finally {
    if (state.stream === ctrl) {
      state.stream = null;
      state.answerId = null;
      setBusy(false);
    }
    // New order and title, also when the reader has switched away meanwhile.
    if (started) loadConversations();
  }
}

/** Shows an answer the server is still writing (after a reload, a switch
 *  back, or a broken connection), replacing art: it attaches to
 *  GET /api/messages/{id}/stream and, when the connection breaks, attaches
 *  again with Last-Event-ID, so nothing is shown twice or lost. */
async function attach(m, art) {
  if (state.stream || !art) return;
  const bot = liveAnswer();
  bot.art.dataset.id = m.id;
  art.replaceWith(bot.art);
  const ctrl = new AbortController();
  state.stream = ctrl;
  state.answerId = m.id;
  setBusy(true);
  const view = state.view;
  let finished = false, lastId = '';
  const onEvent = (name, raw, id) => {
    let d;
    try { d = JSON.parse(raw); } catch { return; }
    if (name === 'delta') {
      lastId = id || lastId;
      if (typeof d.reasoning === 'string') bot.reasoning(d.reasoning);
      if (typeof d.content === 'string') bot.content(d.content);
    } else if (name === 'html') { if (typeof d.html === 'string' && !finished) bot.html(d.html); }
    else if (name === 'done' && d.message) { finished = true; bot.done(d.message); }
    else if (name === 'error') {
      finished = true;
      if (d.code === 'stopped') bot.stopped(state.current, d.message);
      else bot.fail(d.error || 'The answer failed.', null, d.message);
    }
  };
  try {
    for (let tries = 0; tries < 5 && !finished && view === state.view; tries++) {
      if (tries) await new Promise((r) => setTimeout(r, 500 * tries));
      const headers = { Accept: 'text/event-stream' };
      if (lastId) headers['Last-Event-ID'] = lastId;
      let res;
      try {
        res = await fetch(`/api/messages/${enc(m.id)}/stream`, { credentials: 'same-origin', headers, signal: ctrl.signal });
      } catch (e) { if (ctrl.signal.aborted) throw e; continue; }
      if (res.status === 401) return toLogin();
      if (!res.ok) { finished = true; bot.fail(errorText(res, await readJson(res))); break; }
      try { await readEvents(res.body, onEvent); } catch (e) { if (ctrl.signal.aborted) throw e; }
    }
    if (!finished && view === state.view) bot.fail(NETWORK_ERROR);
  } catch { /* left the view: the server goes on */ } finally {
    if (state.stream === ctrl) {
      state.stream = null;
      state.answerId = null;
      setBusy(false);
    }
  }
}

/** Stop: asks the server to stop the answer (from this tab or any other);
 *  the stream then ends with what arrived. Before the server named the
 *  answer, the request is dropped instead. */
async function stopAnswer() {
  const id = state.answerId;
  if (id == null) { state.stream?.abort(); return; }
  const r = await call(`/api/messages/${enc(id)}/stop`, { method: 'POST' });
  if (!r.ok) notify(r.error);
}

/** Puts a prompt that was not sent back into the composer, unless the
 *  reader has typed something new there meanwhile. */
function giveBack(text) {
  if (!ui.prompt.value.trim()) ui.prompt.value = text;
  updateComposer();
}

/* ---------- composer ---------- */

/** While an answer streams, Stop takes Send's place; the prompt stays
 *  usable (the next one can be typed) and keeps the focus it had. */
function setBusy(busy) {
  const stopHadFocus = document.activeElement === ui.stop;
  ui.stop.hidden = !busy;
  ui.send.hidden = busy;
  updateComposer();
  if (!busy && (stopHadFocus || finePointer.matches) && !dialogOpen() && !ui.main.inert) ui.prompt.focus();
}

/** Grows the box with its text, counts code points near the limit and
 *  enables Send only when there is something sendable. */
function updateComposer() {
  const p = ui.prompt;
  p.style.height = 'auto';
  p.style.height = `${Math.min(p.scrollHeight, 240)}px`;
  const left = state.maxChars - codePoints(p.value);
  const s = (k) => `${k} character${k === 1 ? '' : 's'}`;
  ui.charCount.hidden = left > state.maxChars * 0.2;
  ui.charCount.textContent = left >= 0 ? `${s(left)} left` : `${s(-left)} over the limit`;
  ui.charCount.classList.toggle('over', left < 0);
  ui.send.disabled = !!state.stream || !p.value.trim() || left < 0;
}

ui.prompt.addEventListener('input', updateComposer);
ui.prompt.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    ui.composer.requestSubmit();
  } else if (e.key === 'ArrowUp' && !ui.prompt.value && !e.isComposing) {
    // Like a shell: the last prompt comes back to be edited and sent again.
    const last = [...ui.messageList.querySelectorAll('.msg.user .msg-body')].pop();
    if (!last) return;
    e.preventDefault();
    ui.prompt.value = last.textContent;
    updateComposer();
    ui.prompt.setSelectionRange(ui.prompt.value.length, ui.prompt.value.length);
  }
});
ui.composer.addEventListener('submit', (e) => {
  e.preventDefault();
  if (ui.send.disabled) return;
  const text = ui.prompt.value;
  ui.prompt.value = '';
  send(text);
});
ui.stop.addEventListener('click', stopAnswer);

/* ---------- dialogs and actions ---------- */

/** Asks a yes/no question in a modal; resolves true for yes. */
function confirmBox(title, text, okLabel) {
  const d = ui.confirmDialog;
  ui.confirmTitle.textContent = title;
  ui.confirmText.textContent = text;
  ui.confirmOk.textContent = okLabel;
  d.returnValue = '';
  d.showModal();
  return new Promise((resolve) => d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true }));
}

function renameConversation(conv) {
  const showError = (msg) => { ui.renameError.textContent = msg; ui.renameError.hidden = false; };
  ui.renameInput.value = conv.title || '';
  ui.renameError.hidden = true;
  ui.renameForm.onsubmit = async (e) => {
    e.preventDefault();
    const title = ui.renameInput.value.trim();
    if (!title) return showError('Enter a title.');
    ui.renameOk.disabled = true;
    const r = await call(`/api/conversations/${enc(conv.id)}`, { method: 'PATCH', body: { title } });
    ui.renameOk.disabled = false;
    if (!r.ok) return showError(r.error);
    conv.title = r.data.title || title;
    ui.renameDialog.close();
    renderList();
  };
  ui.renameDialog.showModal();
  ui.renameInput.select();
}
ui.renameCancel.addEventListener('click', () => ui.renameDialog.close());

async function deleteConversation(conv) {
  const ok = await confirmBox('Delete this conversation?',
    `“${conv.title || 'Untitled'}” and all its messages will be deleted. This cannot be undone.`, 'Delete');
  if (!ok) return;
  const open = sameId(conv.id, state.current);
  if (open) state.stream?.abort();
  const r = await call(`/api/conversations/${enc(conv.id)}`, { method: 'DELETE' });
  if (!r.ok && r.status !== 404) return notify(r.error);
  state.conversations = state.conversations.filter((c) => c !== conv);
  if (open) newChat(); else renderList();
}

ui.clearAll.addEventListener('click', async () => {
  if (!await confirmBox('Clear all history?', 'Every conversation and message you have will be deleted for good.', 'Clear all')) return;
  state.stream?.abort();
  const r = await call('/api/clear', { method: 'POST' });
  if (!r.ok) return notify(r.error);
  state.conversations = [];
  setDrawer(false);
  newChat();
});

ui.logout.addEventListener('click', async () => {
  ui.logout.disabled = true;
  state.stream?.abort();
  const r = await call('/api/logout', { method: 'POST' });
  if (r.ok) return location.replace('/login?signed-out');
  ui.logout.disabled = false;
  notify(r.error);
});

ui.newChat.addEventListener('click', () => { setDrawer(false); newChat(); });
ui.topbarNew.addEventListener('click', () => { newChat(); ui.prompt.focus(); });
ui.jumpLatest.addEventListener('click', () => { scrollToBottom(); ui.prompt.focus(); });
ui.noticeClose.addEventListener('click', () => { ui.notice.hidden = true; });
// A click on a dialog's backdrop (outside its form) closes it.
for (const d of [ui.confirmDialog, ui.renameDialog, ui.shortcutsDialog]) d.addEventListener('click', (e) => { if (e.target === d) d.close(); });

/* ---------- drawer (phones) ---------- */

function setDrawer(open) {
  const was = document.body.classList.contains('drawer-open');
  document.body.classList.toggle('drawer-open', open);
  ui.menu.setAttribute('aria-expanded', open);
  ui.backdrop.hidden = !open;
  ui.main.inert = open;
  if (open) ui.newChat.focus();
  else if (was) ui.menu.focus();
}

ui.menu.addEventListener('click', () => setDrawer(true));
ui.closeDrawer.addEventListener('click', () => setDrawer(false));
ui.backdrop.addEventListener('click', () => setDrawer(false));
/* ---------- keyboard shortcuts (the list behind "?" is in index.html) ---------- */

const typing = (el) => el?.matches?.('input, textarea, select, [contenteditable=""], [contenteditable=true]');

document.addEventListener('keydown', (e) => {
  if (dialogOpen() || e.defaultPrevented) return;
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  if (e.key === 'Escape') {
    if (document.body.classList.contains('drawer-open')) setDrawer(false);
    else if (state.stream) { e.preventDefault(); stopAnswer(); }
  } else if (mod && e.shiftKey && key === 'o') {
    e.preventDefault();
    setDrawer(false);
    newChat();
    ui.prompt.focus();
  } else if (mod && !e.shiftKey && key === 'k') {
    // The sidebar's search box (www/static/search.js) when there is one.
    const search = document.getElementById('search');
    if (!search) return;
    e.preventDefault();
    if (matchMedia('(max-width: 800px)').matches) setDrawer(true);
    search.focus();
  } else if (!mod && !e.altKey && !typing(e.target)) {
    if (e.key === '?') { e.preventDefault(); ui.shortcutsDialog.showModal(); }
    else if (e.key === '/') { e.preventDefault(); ui.prompt.focus(); }
  }
});
ui.shortcuts.addEventListener('click', () => ui.shortcutsDialog.showModal());
ui.shortcutsClose.addEventListener('click', () => ui.shortcutsDialog.close());
matchMedia('(min-width: 801px)').addEventListener('change', (e) => { if (e.matches) setDrawer(false); });

/* ---------- theme (theme.js applies it before the first paint) ---------- */

ui.theme.value = document.documentElement.dataset.theme || 'system';
ui.theme.addEventListener('change', () => {
  const t = ui.theme.value;
  try {
    if (t === 'system') localStorage.removeItem('aifacade-theme');
    else localStorage.setItem('aifacade-theme', t);
  } catch { /* storage off: the choice lasts until the page is left */ }
  if (t === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = t;
});

/* ---------- start ---------- */

async function start() {
  const r = await api('/api/me');
  if (r.status === 401) return toLogin();
  ui.app.hidden = false;
  if (!r.ok) return notify(`${r.error} Reload the page to try again.`);
  const me = r.data;
  state.csrf = me.csrf_token || '';
  state.maxChars = me.prompt_max_chars > 0 ? me.prompt_max_chars : 4000;
  ui.username.textContent = me.username || '';
  ui.avatar.textContent = [...(me.username || '?')][0].toUpperCase();
  ui.demoBadge.hidden = !me.demo;
  const models = me.models || [];
  state.multiModel = models.length > 1;
  ui.modelWrap.hidden = !state.multiModel;
  ui.model.append(...models.map((m) => new Option(m, m)));
  ui.model.value = models.includes(me.default_model) ? me.default_model : models[0];
  updateComposer();
  await loadConversations();
  const want = /^#c\/(.+)$/.exec(location.hash)?.[1];
  const conv = want && state.conversations.find((c) => sameId(c.id, decodeURIComponent(want)));
  if (conv) openConversation(conv.id); else newChat();
}

start();
