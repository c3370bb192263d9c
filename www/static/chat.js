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

function renderList() {
  const items = state.conversations.map((c) => {
    const title = c.title || 'Untitled';
    const active = sameId(c.id, state.current);
    const li = h('li', active ? 'conv active' : 'conv', null, { 'data-id': c.id, 'data-testid': 'conversation' });
    const open = h('button', 'conv-open', title, { type: 'button', title });
    if (active) open.setAttribute('aria-current', 'page');
    li.append(open, iconButton('edit', `Rename “${title}”`, 'rename'), iconButton('trash', `Delete “${title}”`, 'delete'));
    return li;
  });
  ui.conversationList.replaceChildren(...(items.length ? items : [h('li', 'conv-none', 'No conversations yet.')]));
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
  else { setDrawer(false); if (!sameId(conv.id, state.current)) openConversation(conv.id); }
});

/** Leaves the current view: stops a streaming answer (the server keeps what
 *  arrived, marked interrupted) and empties the message list. */
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
async function openConversation(id, around = null) {
  resetView(id);
  const view = state.view;
  ui.messages.setAttribute('aria-busy', 'true');
  const at = around == null ? '' : `around=${enc(around)}&`;
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
  if (box.scrollTop < 150) loadOlder();
}, { passive: true });

function scrollToBottom() {
  ui.messages.scrollTop = ui.messages.scrollHeight;
  state.stick = true;
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
  return art;
}

/** Copy buttons on code blocks; links open in a new tab. */
function enhance(body) {
  for (const pre of body.querySelectorAll('pre')) {
    const code = pre.querySelector('code') || pre;
    const wrap = h('div', 'code-wrap');
    // cmark-gfm names the language in <pre lang>, others in class="language-…".
    const lang = pre.getAttribute('lang') || /language-([\w+#.-]+)/.exec(code.className)?.[1];
    const bar = h('div', 'code-bar', lang || 'code');
    const copy = h('button', 'copy', 'Copy', { type: 'button', 'aria-label': 'Copy code', 'data-testid': 'copy-code' });
    copy.addEventListener('click', async () => {
      copy.textContent = (await copyText(code.textContent)) ? 'Copied' : 'Copy failed';
      setTimeout(() => { copy.textContent = 'Copy'; }, 1500);
    });
    bar.append(copy);
    pre.replaceWith(wrap);
    wrap.append(bar, pre);
  }
  for (const a of body.querySelectorAll('a[href^="http"]')) Object.assign(a, { target: '_blank', rel: 'noopener noreferrer' });
  // The server empties unsafe links (javascript: …); an empty href would reload the page.
  for (const a of body.querySelectorAll('a[href=""]')) a.removeAttribute('href');
}

/** The clipboard API needs a secure context: HTTPS, or localhost. */
const copyText = (text) => navigator.clipboard.writeText(text).then(() => true, () => false);

/** The assistant's bubble while its answer streams in: plain text, painted
 *  at most once per frame, until the `done` message's html replaces it. */
function liveAnswer() {
  const art = h('article', 'msg assistant streaming', null,
    { 'data-testid': 'message', 'data-role': 'assistant', 'data-status': 'streaming', 'aria-label': 'Assistant' });
  const working = h('div', 'working', 'Thinking', { role: 'status' });
  const body = h('div', 'msg-body plain', null, { 'aria-live': 'polite', 'aria-busy': 'true' });
  art.append(working, body);
  let text = '', thought = '', details = null, frame = 0;
  const paint = () => {
    frame = 0;
    body.textContent = text;
    if (details) details.lastChild.textContent = thought;
    if (state.stick) scrollToBottom();
  };
  const end = (status) => {
    cancelAnimationFrame(frame);
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
    content(s) { text += s; working.textContent = 'Writing'; frame ||= requestAnimationFrame(paint); },
    reasoning(s) {
      if (!details) art.insertBefore(details = reasoningEl('', true), body);
      thought += s;
      frame ||= requestAnimationFrame(paint);
    },
    done(m) {
      end('ok');
      const fresh = messageEl(m.reasoning || !thought ? m : { ...m, reasoning: thought });
      if (details?.open) fresh.querySelector('details').open = true;
      art.replaceWith(fresh);
      if (state.stick) scrollToBottom();
    },
    fail(msg, retry, m) {  // m: the stored answer, when the server sent it
      end(m?.status === 'interrupted' ? 'interrupted' : 'error');
      art.classList.add('error');
      art.append(errorBox(msg, retry, true));
      if (state.stick) scrollToBottom();
    },
    stopped() { end('interrupted'); art.append(stoppedMark()); },
  };
}

/** Reads a text/event-stream body, calling onEvent(name, data) per event. */
async function readEvents(stream, onEvent) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buf = '', name = '', data = [];
  for (;;) {
    const { value, done } = await reader.read();
    buf += decoder.decode(value, { stream: !done });
    const lines = buf.split('\n');
    buf = done ? '' : lines.pop();  // a partial last line waits for the next chunk
    if (done) lines.push('');       // the end of the stream ends the last event
    for (let line of lines) {
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (!line) {  // a blank line ends an event
        if (data.length) onEvent(name || 'message', data.join('\n'));
        name = '';
        data = [];
      } else if (line[0] !== ':') {  // ':' starts a comment (keep-alive)
        const i = line.indexOf(':');
        const field = i < 0 ? line : line.slice(0, i);
        const val = i < 0 ? '' : line.slice(line[i + 1] === ' ' ? i + 2 : i + 1);
        if (field === 'event') name = val;
        else if (field === 'data') data.push(val);
      }
    }
    if (done) return;
  }
}

/** Sends a prompt and shows the answer as it streams. */
async function send(text) {
  if (state.stream) return;
  if (state.partial) await openConversation(state.current);
  ui.empty.hidden = ui.notice.hidden = true;
  const mine = messageEl({ role: 'user', content: text });
  mine.classList.add('pending');
  const bot = liveAnswer();
  ui.messageList.append(mine, bot.art);
  scrollToBottom();
  const ctrl = new AbortController();
  state.stream = ctrl;
  setBusy(true);
  const view = state.view;
  let started = false, finished = false;
  // Before `start` nothing was stored, so a retry replaces this attempt.
  const retry = () => {
    if (!started) { mine.remove(); bot.art.remove(); }
    send(text);
  };
  // start: {"conversation_id","conversation","user_message","message_id"}
  const begin = (conversationId, userMessage, conversation, answerId) => {
    started = true;
    mine.classList.remove('pending');
    if (userMessage?.id != null) mine.dataset.id = userMessage.id;
    if (answerId != null) bot.art.dataset.id = answerId;
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
    else if (name === 'delta') {
      if (typeof d.reasoning === 'string') bot.reasoning(d.reasoning);
      if (typeof d.content === 'string') bot.content(d.content);
    } else if (name === 'done' && d.message) finish('done', d.message);
    // error: {"error","message"}: the cause in plain words and the stored answer
    else if (name === 'error') finish('fail', d.error || d.message?.error || 'The answer failed.', retry, d.message);
  };
  const body = { prompt: text };
  if (state.current != null) body.conversation_id = state.current;
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
    if (!res.ok) {  // refused before anything was stored
      const fixable = res.status === 400 || res.status === 413;
      finish('fail', errorText(res, await readJson(res)), fixable || res.status === 404 ? null : retry);
      if (fixable) {  // give the prompt back to be edited
        mine.remove();
        ui.prompt.value ||= text;
      } else mine.classList.replace('pending', 'unsent');
      if (res.status === 404) loadConversations();  // deleted elsewhere
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
      mine.classList.remove('pending');  // the server may have stored it
      bot.stopped();
    } else {
      bot.fail(NETWORK_ERROR, retry);
      if (!started) mine.classList.replace('pending', 'unsent');
    }
  } finally {
    if (state.stream === ctrl) {
      state.stream = null;
      setBusy(false);
    }
    if (started && view === state.view) loadConversations();  // new order and title
  }
}

/* ---------- composer ---------- */

function setBusy(busy) {
  ui.prompt.disabled = busy;
  ui.stop.hidden = !busy;
  ui.send.hidden = busy;
  updateComposer();
  if (!busy && finePointer.matches && !dialogOpen()) ui.prompt.focus();
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
  }
});
ui.composer.addEventListener('submit', (e) => {
  e.preventDefault();
  if (ui.send.disabled) return;
  const text = ui.prompt.value;
  ui.prompt.value = '';
  send(text);
});
ui.stop.addEventListener('click', () => state.stream?.abort());

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
  if (r.ok) return toLogin();
  ui.logout.disabled = false;
  notify(r.error);
});

ui.newChat.addEventListener('click', () => { setDrawer(false); newChat(); });
ui.noticeClose.addEventListener('click', () => { ui.notice.hidden = true; });
// A click on a dialog's backdrop (outside its form) closes it.
for (const d of [ui.confirmDialog, ui.renameDialog]) d.addEventListener('click', (e) => { if (e.target === d) d.close(); });

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
document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && !dialogOpen()) setDrawer(false); });
matchMedia('(min-width: 801px)').addEventListener('change', (e) => { if (e.matches) setDrawer(false); });

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
