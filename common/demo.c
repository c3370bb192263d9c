/* demo.c: the built-in offline demo provider (see demo.h). */
#include "demo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"

#define DEMO_QUOTE_MAX 240   /* bytes of the prompt quoted back */
#define DEMO_PIECES 44       /* about this many content pieces */

static const char demo_reasoning_text[] =
    "The visitor is trying the offline demo, so I will show streaming, Markdown, "
    "a code block and a table, and explain how to connect a real model.";

/* Where the reasoning is cut into pieces (byte offsets, ascending). */
static const size_t demo_reasoning_cuts[] = {12, 40, 76};

static const char demo_intro[] =
    "## Offline demo\n"
    "\n"
    "You are talking to **AIFacade's built-in offline demo**: no AI service is "
    "connected, so this answer is canned. It still shows what a real answer "
    "looks like.\n";

static const char demo_body[] =
    "\n"
    "What you can see here:\n"
    "\n"
    "- the answer **streams** in piece by piece, and *Stop* ends it\n"
    "- Markdown is rendered safely: raw HTML is never passed through\n"
    "- code blocks get a copy button\n"
    "\n"
    "```c\n"
    "#include <stdio.h>\n"
    "\n"
    "int main(void)\n"
    "{\n"
    "\tputs(\"Hello from AIFacade\");\n"
    "\treturn 0;\n"
    "}\n"
    "```\n"
    "\n"
    "| Setting | Meaning |\n"
    "|---|---|\n"
    "| `DEEPSEEK_API_KEY` or `AI_API_KEY` | the provider's API key |\n"
    "| `AI_API_URL` | any OpenAI-compatible chat-completions URL |\n"
    "| `AI_MODEL` | the model to ask |\n"
    "\n"
    "To talk to a real model, set `DEEPSEEK_API_KEY` (or `AI_API_KEY`) in the "
    "environment or in `.env`, then restart with `make run`.\n";

/* A growable string (buf.h); on allocation failure it turns failed and
 * stays so. */
struct demo_text {
	struct buf b;
	int failed;
};
#define DEMO_TEXT_INIT {BUF_INIT, 0}

static void demo_append(struct demo_text *t, const char *s, size_t n)
{
	if (!t->failed && buf_try_append(&t->b, s, n) != 0)
		t->failed = 1;
}

static void demo_append_str(struct demo_text *t, const char *s)
{
	demo_append(t, s, strlen(s));
}

/* Quotes the prompt as a Markdown block quote, cut at a character boundary. */
static void demo_append_quote(struct demo_text *t, const char *prompt)
{
	size_t n = strlen(prompt), i, start;
	int cut = 0;

	while (n > 0 && (prompt[n - 1] == '\n' || prompt[n - 1] == '\r' ||
	    prompt[n - 1] == ' ' || prompt[n - 1] == '\t'))
		n--;
	if (n == 0)
		return;
	if (n > DEMO_QUOTE_MAX) {
		n = DEMO_QUOTE_MAX;
		while (n > 0 && ((unsigned char)prompt[n] & 0xC0) == 0x80)
			n--;
		cut = 1;
	}
	demo_append_str(t, "\nYou wrote:\n\n> ");
	start = 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)prompt[i];

		if (c == '\r' || c == '\n') {
			demo_append(t, prompt + start, i - start);
			if (c == '\r' && i + 1 < n && prompt[i + 1] == '\n')
				i++;
			demo_append_str(t, "\n> ");
			start = i + 1;
		} else if (c < 0x20 || c == 0x7F) {
			demo_append(t, prompt + start, i - start);
			demo_append_str(t, " ");
			start = i + 1;
		}
	}
	demo_append(t, prompt + start, n - start);
	if (cut)
		demo_append_str(t, " \xE2\x80\xA6");
	demo_append_str(t, "\n");
}

char *demo_answer(const char *prompt)
{
	struct demo_text t = DEMO_TEXT_INIT;

	demo_append_str(&t, demo_intro);
	if (prompt != NULL)
		demo_append_quote(&t, prompt);
	demo_append_str(&t, demo_body);
	if (t.failed) {
		buf_free(&t.b);
		return NULL;
	}
	return buf_detach(&t.b);
}

const char *demo_reasoning(void)
{
	return demo_reasoning_text;
}

/* Sleeps ms milliseconds in 10 ms steps; returns 1 as soon as should_abort
 * says so, else 0. */
static int demo_pause(const struct provider_request *req, unsigned ms)
{
	unsigned slept = 0;

	for (;;) {
		struct timespec step = {0, 10 * 1000 * 1000L};

		if (req->should_abort != NULL && req->should_abort(req->ctx) != 0)
			return 1;
		if (slept >= ms)
			return 0;
		while (nanosleep(&step, &step) != 0 && errno == EINTR)
			;
		slept += 10;
	}
}

/* Sends text[0..n) as one piece of the given kind and records it. Returns
 * 0, or 1 when on_delta asks to stop, or -1 when out of memory. */
static int demo_send(const struct provider_request *req, struct demo_text *into, int reasoning,
    const char *text, size_t n)
{
	size_t before = into->b.len;
	int stop = 0;

	demo_append(into, text, n);
	if (into->failed)
		return -1;
	if (req->on_delta != NULL) {
		/* into holds the piece at its end, NUL-terminated. */
		const char *piece = into->b.data + before;

		stop = reasoning ? req->on_delta(req->ctx, NULL, piece) : req->on_delta(req->ctx, piece, NULL);
	}
	return stop != 0 ? 1 : 0;
}

/* Length of the next content piece at text: about target bytes, ending
 * after a space or line end so no character is cut. */
static size_t demo_piece_len(const char *text, size_t left, size_t target)
{
	size_t n = target < left ? target : left;

	while (n < left && text[n - 1] != ' ' && text[n - 1] != '\n')
		n++;
	return n;
}

static const char *demo_last_user(const struct provider_request *req)
{
	size_t i;
	const char *prompt = NULL;

	for (i = 0; req->messages != NULL && i < req->n_messages; i++)
		if (req->messages[i].role != NULL && strcmp(req->messages[i].role, "user") == 0)
			prompt = req->messages[i].content;
	return prompt;
}

/* Streams (or sends at once) reasoning then content. Returns PROVIDER_OK,
 * PROVIDER_ABORTED or PROVIDER_ERR_NOMEM. */
static enum provider_status demo_run(const struct provider_request *req, const char *answer,
    struct demo_text *content, struct demo_text *reasoning)
{
	size_t len = strlen(answer), at = 0, prev = 0, i, target;
	unsigned k = 0;
	int r;

	if (!req->stream) {
		r = demo_send(req, reasoning, 1, demo_reasoning_text, strlen(demo_reasoning_text));
		if (r == 0)
			r = demo_send(req, content, 0, answer, len);
		return r < 0 ? PROVIDER_ERR_NOMEM : r > 0 ? PROVIDER_ABORTED : PROVIDER_OK;
	}
	for (i = 0; i <= sizeof demo_reasoning_cuts / sizeof demo_reasoning_cuts[0]; i++) {
		size_t end = i < sizeof demo_reasoning_cuts / sizeof demo_reasoning_cuts[0]
		    ? demo_reasoning_cuts[i] : strlen(demo_reasoning_text);

		if (demo_pause(req, 20 + (k++ * 7) % 21))
			return PROVIDER_ABORTED;
		r = demo_send(req, reasoning, 1, demo_reasoning_text + prev, end - prev);
		if (r != 0)
			return r < 0 ? PROVIDER_ERR_NOMEM : PROVIDER_ABORTED;
		prev = end;
	}
	target = len / DEMO_PIECES;
	if (target < 8)
		target = 8;
	while (at < len) {
		size_t n = demo_piece_len(answer + at, len - at, target);

		if (demo_pause(req, 20 + (k++ * 7) % 21))
			return PROVIDER_ABORTED;
		r = demo_send(req, content, 0, answer + at, n);
		if (r != 0)
			return r < 0 ? PROVIDER_ERR_NOMEM : PROVIDER_ABORTED;
		at += n;
	}
	return PROVIDER_OK;
}

int demo_complete(const struct provider_request *req, struct provider_result *out)
{
	struct demo_text content = DEMO_TEXT_INIT, reasoning = DEMO_TEXT_INIT;
	char *answer;
	enum provider_status status;

	memset(out, 0, sizeof *out);
	answer = demo_answer(demo_last_user(req));
	if (answer == NULL) {
		status = PROVIDER_ERR_NOMEM;
	} else {
		/* Start both texts as "" so the result never holds NULL. */
		demo_append(&content, "", 0);
		demo_append(&reasoning, "", 0);
		status = content.failed || reasoning.failed ? PROVIDER_ERR_NOMEM
		    : demo_run(req, answer, &content, &reasoning);
		free(answer);
	}
	out->status = status;
	if (content.failed || reasoning.failed) {
		buf_free(&content.b);
		buf_free(&reasoning.b);
		out->status = PROVIDER_ERR_NOMEM;
	}
	out->content = content.b.data;
	out->reasoning = reasoning.b.data;
	if (out->status == PROVIDER_ABORTED)
		out->detail = strdup("offline demo: stopped by the caller");
	else if (out->status == PROVIDER_ERR_NOMEM)
		out->detail = strdup("offline demo: out of memory");
	return out->status == PROVIDER_OK ? 0 : -1;
}
