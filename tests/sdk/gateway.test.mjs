// gateway.test.mjs: the OpenAI-compatible API driven by the official `openai`
// client, as any OpenAI tool would drive it (README, "The OpenAI-compatible API").
//
//   BASE_URL=https://host:port FAKE_URL=http://... GW_TOKEN=aif_... GW_BROKE_TOKEN=aif_... \
//     node tests/sdk/gateway.test.mjs all | <case>...
//
// Runs the named cases (all of them with "all"), printing "ok <case>" or
// "not ok <case>: <reason>" for each; tests/gateway.bats runs node once and
// reports each case as a test of its own. Exits 1 when any failed. GW_BROKE_TOKEN belongs to
// a user whose budget is used up. The fake provider (tests/fake_provider.py)
// takes its [[fake:...]] markers from the prompt.
import OpenAI from 'openai';

const { BASE_URL, FAKE_URL, GW_TOKEN, GW_BROKE_TOKEN } = process.env;
const baseURL = `${BASE_URL}/v1`;

function check(cond, what) {
  if (!cond) throw new Error(what);
}

/** A client whose requests are counted and timed in `attempts`. */
function client(apiKey, options = {}) {
  const attempts = [];
  const c = new OpenAI({
    apiKey,
    baseURL,
    timeout: 20000,
    fetch: async (url, init) => {
      attempts.push(Date.now());
      return fetch(url, init);
    },
    ...options,
  });
  return { c, attempts };
}

async function fakeRequests() {
  const r = await fetch(`${FAKE_URL}/_fake/requests`);
  return r.json();
}

function lastUser(entry) {
  const msgs = entry.body?.messages ?? [];
  return msgs.length ? msgs[msgs.length - 1].content : '';
}

const cases = {
  async completion() {
    const { c } = client(GW_TOKEN);
    const r = await c.chat.completions.create({
      model: 'fake-model',
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello from the sdk' }],
      max_tokens: 50,
      temperature: 0.2,
    });
    check(r.object === 'chat.completion', `object is ${r.object}`);
    check(r.choices[0].message.content === 'Echo: hello from the sdk', `content is ${r.choices[0].message.content}`);
    check(r.usage.total_tokens > 0, 'no usage in the answer');
  },

  async stream() {
    const { c } = client(GW_TOKEN);
    const stream = await c.chat.completions.create({
      model: 'fake-model',
      messages: [{ role: 'user', content: '[[fake:chunks=4]] [[fake:slow=150]] one two three four' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const pieces = [], times = [];
    let usage = null;
    for await (const chunk of stream) {
      const d = chunk.choices[0]?.delta?.content;
      if (d) {
        pieces.push(d);
        times.push(Date.now());
      }
      if (chunk.usage) usage = chunk.usage;
    }
    check(pieces.join('') === 'Echo: one two three four', `text is ${JSON.stringify(pieces.join(''))}`);
    check(pieces.length >= 4, `only ${pieces.length} content chunks`);
    // Passed on as they arrive: the fake pauses 150 ms between chunks.
    check(times[times.length - 1] - times[0] >= 300, `chunks arrived together (${times[times.length - 1] - times[0]} ms apart)`);
    check(usage && usage.total_tokens > 0, 'include_usage asked for usage and none came');
  },

  async abort() {
    const { c } = client(GW_TOKEN);
    const mark = `abort-${Date.now()}-${Math.random()}`;
    const stream = await c.chat.completions.create({
      model: 'fake-model',
      messages: [{ role: 'user', content: `[[fake:long=200]] [[fake:slow=100]] ${mark}` }],
      stream: true,
    });
    let n = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content && ++n === 2) break; // leaving the loop aborts the request
    }
    check(n === 2, `read ${n} chunks`);
    const deadline = Date.now() + 8000;
    for (;;) {
      const entry = (await fakeRequests()).find((e) => lastUser(e).includes(mark));
      if (entry && entry.disconnected) {
        check(!entry.completed, 'the provider finished its answer anyway');
        return;
      }
      check(Date.now() < deadline, `the provider never saw the connection close: ${JSON.stringify(entry ?? null).slice(0, 200)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  },

  async wrong_token() {
    const { c, attempts } = client('aif_' + 'x'.repeat(43), { maxRetries: 2 });
    try {
      await c.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'hi' }] });
    } catch (e) {
      check(e instanceof OpenAI.AuthenticationError, `got ${e.constructor.name}: ${e.message}`);
      check(e.status === 401 && e.code === 'invalid_api_key', `status ${e.status} code ${e.code}`);
      check(attempts.length === 1, `${attempts.length} attempts for a 401`);
      return;
    }
    throw new Error('a wrong token was accepted');
  },

  async budget() {
    const { c, attempts } = client(GW_BROKE_TOKEN, { maxRetries: 2 });
    try {
      await c.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'over budget' }] });
    } catch (e) {
      check(e instanceof OpenAI.RateLimitError, `got ${e.constructor.name}: ${e.message}`);
      check(e.status === 429 && e.code === 'insufficient_quota', `status ${e.status} code ${e.code}`);
      const after = Number(e.headers.get('retry-after'));
      check(after >= 1, `Retry-After is ${e.headers.get('retry-after')}`);
      // A budget that resets in more than a minute says X-Should-Retry: false,
      // which the client honours: no retries hammering a closed budget.
      check(attempts.length === (after > 60 ? 1 : 3), `${attempts.length} attempts with Retry-After ${after}`);
      check(/budget/.test(e.message), `message: ${e.message}`);
      return;
    }
    throw new Error('a call over budget was answered');
  },

  async retry_after() {
    // The provider is busy (429): the gateway answers 429 with Retry-After: 1,
    // and the client waits that long before its one retry.
    const { c, attempts } = client(GW_TOKEN, { maxRetries: 1 });
    try {
      await c.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: '[[fake:status=429]] busy' }] });
    } catch (e) {
      check(e instanceof OpenAI.RateLimitError, `got ${e.constructor.name}: ${e.message}`);
      check(e.headers.get('retry-after') === '1', `Retry-After is ${e.headers.get('retry-after')}`);
      check(attempts.length === 2, `${attempts.length} attempts`);
      // Without the header the client waits 0.5 s at most before its first retry.
      check(attempts[1] - attempts[0] >= 950, `retried after ${attempts[1] - attempts[0]} ms`);
      return;
    }
    throw new Error('a busy provider was answered');
  },

  async models() {
    const { c } = client(GW_TOKEN);
    const ids = [];
    for await (const m of c.models.list()) ids.push(m.id);
    check(JSON.stringify(ids) === JSON.stringify(['fake-model', 'fake-reasoner']), `models: ${ids}`);
  },
};

const names = process.argv[2] === 'all' ? Object.keys(cases) : process.argv.slice(2);
if (!names.length || names.some((n) => !cases[n])) {
  console.error(`gateway.test.mjs: name cases of ${Object.keys(cases).join(', ')}, or all`);
  process.exit(2);
}
let failed = 0;
for (const name of names) {
  try {
    await cases[name]();
    console.log(`ok ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok ${name}: ${String(e.stack || e).replace(/\n/g, ' | ')}`);
  }
}
process.exit(failed ? 1 : 0);
