/* budget.h: per-user budgets: prompts per UTC day and tokens per UTC month.
 *
 * Contract (README, "Budgets"): QUOTA_PROMPTS_DAY and QUOTA_TOKENS_MONTH
 * (unset: no limit) apply to everyone; an admin may give one user other
 * figures (users.quota_*). Every prompt sent to the provider is one row of
 * usage with its tokens: the provider's own count when it sends one,
 * otherwise an estimate (a token for every four characters sent and
 * received), marked as such. A budget is checked before a prompt is sent;
 * the answer that crosses it still completes. */
#ifndef AIF_BUDGET_H
#define AIF_BUDGET_H

#include <stddef.h>

#include "request.h"
#include "response.h"

struct budget {
	long long prompts_limit, prompts_used;  /* limit 0: none */
	long long tokens_limit, tokens_used;
	long long day_reset, month_reset;        /* ms: next UTC midnight, next month's first */
	int estimated;                           /* some of this month's tokens are estimates */
};

/* The UTC day and month that hold now (ms), and when they end. */
long long budget_day_start(long long now);
long long budget_month_start(long long now);
long long budget_month_end(long long now);

/* Reads user_id's budgets and what is used of them. Returns a store_rc. */
int budget_read(struct store *st, const struct config *cfg, long long user_id, long long now, struct budget *b);
/* 1 when b is used up, with what (no final full stop) and the seconds
 * until it resets; else 0. */
int budget_exceeded(const struct budget *b, long long now, char *what, size_t whatlen, long *retry_after);
/* Checks req's user before a prompt: 0 to go on, or -1 with res holding a
 * 429 that names the budget and when it resets (or a store failure). */
int budget_check(struct request *req, struct response *res);
/* The tokens a prompt counts for: the provider's (tokens >= 0), or an
 * estimate from its characters when it reported none. */
long long budget_tokens(long long tokens, size_t chars);
/* Records one prompt; tokens < 0: none reported, estimate from chars. */
int budget_record(struct store *st, long long user_id, long long now, long long tokens, size_t chars);
/* {"prompts_day": {...}, "tokens_month": {...}}: used, limit, left, resets_at. */
struct json_object *budget_json(const struct budget *b);

#endif
