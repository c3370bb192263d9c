// api.js — the small JSON client shared by the chat and the sign-in pages.

export const NETWORK_ERROR = 'Could not reach the server. Check your connection and try again.';

// Used when an error answer carries no {"error"} text of its own.
const FALLBACK = {
  400: 'That request was not valid.',
  403: 'The request was refused. Reload the page and try again.',
  404: 'Not found.',
  413: 'That is too long.',
  429: 'Too many attempts.',
  502: 'The AI service could not be reached. Try again shortly.',
  503: 'The service is unavailable right now. Try again shortly.',
};

/** Calls a JSON route. Never rejects: a network failure comes back as
 *  status 0. Returns {ok, status, data, error} where error is readable text.
 *  POSTs always carry a JSON body ({} when there is nothing to say). */
export async function api(path, { method = 'GET', body, csrf } = {}) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') {
    headers['Content-Type'] = 'application/json';
    if (csrf) headers['X-CSRF-Token'] = csrf;
    if (body === undefined && method === 'POST') body = {};
  }
  try {
    const res = await fetch(path, {
      method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await readJson(res);
    return { ok: res.ok, status: res.status, data, error: res.ok ? '' : errorText(res, data) };
  } catch {
    return { ok: false, status: 0, data: {}, error: NETWORK_ERROR };
  }
}

/** The JSON body of a response, or {} when there is none (204, HTML, junk). */
export async function readJson(res) {
  try { return (await res.json()) || {}; } catch { return {}; }
}

/** The server's {"error"} text, plus how long to wait after a 429. */
export function errorText(res, data) {
  let msg = (data && typeof data.error === 'string' && data.error.trim()) ||
    FALLBACK[res.status] || `Something went wrong (error ${res.status}).`;
  // The server's 429 text usually names the wait already ("…; try again in
  // 60 minutes."); say it only when it does not.
  if (res.status === 429 && !/\b(try again|wait)\b/i.test(msg)) {
    const wait = retryAfter(res);
    if (wait) msg = msg.replace(/[.!?]?$/, (p) => p || '.') + ` Please wait ${wait} before trying again.`;
  }
  return msg;
}

/** The Retry-After header (seconds or an HTTP date) in words, or ''. */
export function retryAfter(res) {
  const v = (res.headers.get('Retry-After') || '').trim();
  if (!v) return '';
  let s = /^\d+$/.test(v) ? Number(v) : Math.ceil((Date.parse(v) - Date.now()) / 1000);
  if (!(s > 0)) s = 1;
  const n = (k, unit) => `${k} ${unit}${k === 1 ? '' : 's'}`;
  if (s < 90) return n(s, 'second');
  if (s < 90 * 60) return n(Math.ceil(s / 60), 'minute');
  return n(Math.round(s / 3600), 'hour');
}

/** Length in code points (what the server counts), not UTF-16 units. */
export const codePoints = (s) => [...s].length;
