/* provider.h: the client for an OpenAI-compatible chat-completions API.
 *
 * Contract:
 * - provider_complete() sends one chat request and waits for the whole
 *   answer, streaming (SSE, "stream": true) or not. With no API key (NULL or
 *   "") it answers with the built-in offline demo instead (demo.h) and
 *   touches no network.
 * - Pieces of the answer go to on_delta as they arrive (streaming), or once
 *   each at the end (non-streaming: reasoning first, then content). Every
 *   piece is valid UTF-8 without NUL bytes: a character split between two
 *   deltas is joined, invalid bytes become U+FFFD, NUL bytes are dropped.
 * - Stopping: should_abort is polled at least every 100 ms and on every
 *   chunk received; when it (or on_delta) returns non-zero, the connection is
 *   closed at once, so the provider stops generating, and the status is
 *   PROVIDER_ABORTED with the text received so far.
 * - Timeouts: idle_timeout_s is the longest silence from the provider,
 *   counted from when the request has gone out (any byte received resets
 *   it: a data line, a keep-alive comment, a header); connecting has the
 *   same limit of its own;
 *   total_timeout_s bounds the whole call. Values <= 0 mean 60 and 600.
 *   When streaming, first_token_timeout_s bounds the wait for the first
 *   piece of content or reasoning (<= 0 means 120): a provider that sends
 *   only keep-alive comments resets the idle timer but not this one. A
 *   non-streaming answer shows no token before its end, so there
 *   total_timeout_s alone bounds it.
 * - Bounds: an error body is read up to 64 KiB, an answer up to
 *   max_answer_bytes (0: PROVIDER_MAX_ANSWER, 4 MiB; more is
 *   PROVIDER_ERR_MALFORMED), an SSE line up to 1 MiB.
 * - Redirects are not followed (the key must not travel to another host);
 *   only http and https are allowed.
 * - Nothing is global: the caller owns request and result; libcurl's global
 *   state is set up on first use (see provider_global_init()).
 */
#ifndef AIF_PROVIDER_H
#define AIF_PROVIDER_H
#include <stddef.h>

#define PROVIDER_DEFAULT_IDLE_TIMEOUT 60L
#define PROVIDER_DEFAULT_TOTAL_TIMEOUT 600L
#define PROVIDER_DEFAULT_FIRST_TOKEN_TIMEOUT 120L
#define PROVIDER_MAX_ANSWER ((size_t)4 * 1024 * 1024)
#define PROVIDER_MAX_ERROR_BODY ((size_t)64 * 1024)

struct provider_message {
	const char *role;     /* "system", "user" or "assistant" */
	const char *content;  /* UTF-8 */
};

struct provider_request {
	const char *url;      /* chat-completions URL (AI_API_URL) */
	const char *api_key;  /* NULL or "" => the offline demo provider */
	const char *model;
	const struct provider_message *messages; /* a system message is the caller's to include */
	size_t n_messages;
	long idle_timeout_s;  /* AI_IDLE_TIMEOUT: from when the request went out; also the connect limit */
	long total_timeout_s; /* AI_TIMEOUT */
	long first_token_timeout_s; /* AI_FIRST_TOKEN_TIMEOUT; streaming only */
	size_t max_answer_bytes; /* 0 => PROVIDER_MAX_ANSWER; content and reasoning together */
	int stream;           /* 1 => "stream": true and SSE parsing */
	/* Exactly one of content and reasoning is non-NULL per call; the text
	 * is valid only during the call. Return non-zero to stop (ABORTED). */
	int (*on_delta)(void *ctx, const char *content, const char *reasoning);
	/* Polled often; non-zero => stop at once (ABORTED). May be NULL. */
	int (*should_abort)(void *ctx);
	void *ctx;
	const char *ca_file;  /* PEM file of the CAs to trust; NULL: the system's (bench/ttfd.c sets it) */
	/* The OpenAI-compatible API's pass-through (README, "The OpenAI-compatible
	 * API"): body_json, when set, is sent as the request body instead of one
	 * built from model and messages (stream must match its "stream"); on_raw,
	 * when set, gets every byte of a 2xx answer as it arrives, before it is
	 * parsed (an event stream's lines, a JSON answer's pieces). Return
	 * non-zero to stop (ABORTED). Neither is used by the offline demo. */
	const char *body_json;
	int (*on_raw)(void *ctx, const char *data, size_t len);
};

enum provider_status {
	PROVIDER_OK,
	PROVIDER_ABORTED,
	PROVIDER_ERR_CONNECT,      /* refused, unreachable, bad URL */
	PROVIDER_ERR_DNS,
	PROVIDER_ERR_TLS,
	PROVIDER_ERR_IDLE_TIMEOUT,
	PROVIDER_ERR_TIMEOUT,
	PROVIDER_ERR_BAD_REQUEST,  /* HTTP 400, 413, 422 */
	PROVIDER_ERR_AUTH,         /* HTTP 401, 403 */
	PROVIDER_ERR_BALANCE,      /* HTTP 402, or a quota error */
	PROVIDER_ERR_RATE,         /* HTTP 429 */
	PROVIDER_ERR_SERVER,       /* HTTP 5xx, or an error sent inside the stream */
	PROVIDER_ERR_HTTP,         /* any other unexpected HTTP status */
	PROVIDER_ERR_MALFORMED,    /* an answer we cannot read, or one over the size bound */
	PROVIDER_ERR_CUT,          /* the stream ended before [DONE] */
	PROVIDER_ERR_NOMEM,
	PROVIDER_ERR_FIRST_TOKEN   /* streaming: no token within first_token_timeout_s */
};

struct provider_result {
	enum provider_status status;
	long http_status;  /* the provider's HTTP status, 0 when none arrived */
	char *content;     /* what arrived, also on error or abort ("" when nothing) */
	char *reasoning;   /* the reasoning model's thinking ("" when none) */
	long long usage_tokens; /* the provider's usage.total_tokens, -1 when it sent none (budget.h) */
	char *detail;      /* one line for the operator log, NULL on success; never
	                    * contains the API key (it is replaced by "[redacted]") */
};

/* Runs req and fills *out (which it first clears). Returns 0 when
 * out->status is PROVIDER_OK, else -1. The strings in *out are the
 * caller's: release them with provider_result_free(), also on failure.
 * content and reasoning are NULL only with PROVIDER_ERR_NOMEM. */
int provider_complete(const struct provider_request *req, struct provider_result *out);

/* Reads one complete response body as provider_complete() reads what
 * arrives over the network, without any network: a non-2xx http_status as
 * an error body, else an event stream (event_stream) or a JSON answer.
 * Pieces go to req->on_delta; url, timeouts and should_abort's timing do not
 * matter. Fills *out like provider_complete() (http_status included) and
 * returns the same. For tests and the fuzzers in fuzz/. */
int provider_parse_body(const struct provider_request *req, long http_status, int event_stream,
			const char *body, size_t len, struct provider_result *out);

/* Frees the strings of r and clears it; r itself is the caller's. */
void provider_result_free(struct provider_result *r);

/* Plain words for the user, e.g. "The AI service rejected the API key."
 * A static string; never NULL. */
const char *provider_user_message(enum provider_status s);

/* A short stable name for logs and tests, e.g. "auth", "idle_timeout". */
const char *provider_status_name(enum provider_status s);

/* Optional, for a long-lived process: set up libcurl once before the first
 * request (returns 0, or -1 when libcurl cannot start) and release it at exit.
 * Without them each provider_complete() sets libcurl up and tears it down
 * itself (libcurl counts these calls, so both ways mix safely). Neither is
 * thread-safe against concurrent provider_complete() on old libcurl. */
int provider_global_init(void);
void provider_global_cleanup(void);
/* Keeps connections, TLS sessions and DNS answers to the provider between
 * calls, for a process that answers many prompts (persistent mode, README
 * "Two ways to run the programs"): the next prompt skips the TCP and TLS
 * handshakes. A call that did not end cleanly (stopped, cut, timed out)
 * never leaves its connection for the next. Call after provider_global_init(). */
void provider_keep_connections(void);
/* In a child forked from a process that keeps connections: forgets them
 * without closing them. Their TLS state is the parent's, which goes on
 * using them; the child's calls open their own. */
void provider_forget_connections(void);

#endif
