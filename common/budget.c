/* budget.c: prompt and token budgets per user (see budget.h). */
#include "budget.h"

#include <stdio.h>
#include <time.h>

#include <json-c/json.h>

#include "app.h"
#include "config.h"
#include "log.h"
#include "store.h"
#include "timefmt.h"

#define DAY_MS (86400LL * 1000)

long long budget_day_start(long long now)
{
	return now - now % DAY_MS;
}

static long long month_edge(long long now, int next)
{
	time_t t = (time_t)(now / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	tm.tm_mday = 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	if (next)
		tm.tm_mon += 1;
	return (long long)timegm(&tm) * 1000;
}

long long budget_month_start(long long now)
{
	return month_edge(now, 0);
}

long long budget_month_end(long long now)
{
	return month_edge(now, 1);
}

int budget_read(struct store *st, const struct config *cfg, long long user_id, long long now, struct budget *b)
{
	struct user u;
	int rc = store_user_get(st, user_id, &u);
	if (rc != STORE_OK)
		return rc;
	b->prompts_limit = u.quota_prompts_day >= 0 ? u.quota_prompts_day : cfg->quota_prompts_day;
	b->tokens_limit = u.quota_tokens_month >= 0 ? u.quota_tokens_month : cfg->quota_tokens_month;
	store_user_free(&u);
	b->day_reset = budget_day_start(now) + DAY_MS;
	b->month_reset = budget_month_end(now);
	return store_usage_sum(st, user_id, budget_day_start(now), budget_month_start(now), &b->prompts_used,
			       &b->tokens_used, &b->estimated);
}

int budget_exceeded(const struct budget *b, long long now, char *what, size_t whatlen, long *retry_after)
{
	long long reset = 0;
	if (b->prompts_limit > 0 && b->prompts_used >= b->prompts_limit) {
		snprintf(what, whatlen, "You have used your daily budget of %lld prompts; it resets at midnight UTC",
			 b->prompts_limit);
		reset = b->day_reset;
	} else if (b->tokens_limit > 0 && b->tokens_used >= b->tokens_limit) {
		snprintf(what, whatlen, "You have used your monthly budget of %lld tokens; it resets on the first of "
			 "the month (UTC)", b->tokens_limit);
		reset = b->month_reset;
	} else {
		return 0;
	}
	long retry = (long)((reset - now + 999) / 1000);
	*retry_after = retry < 1 ? 1 : retry;
	return 1;
}

int budget_check(struct request *req, struct response *res)
{
	struct budget b;
	int rc = budget_read(req->store, req->cfg, req->user_id, req->now, &b);
	if (rc != STORE_OK) {
		app_store_error(res, rc);
		return -1;
	}
	char what[200];
	long retry = 0;
	if (!budget_exceeded(&b, req->now, what, sizeof what, &retry))
		return 0;
	app_too_many(res, retry, what);
	return -1;
}

long long budget_tokens(long long tokens, size_t chars)
{
	return tokens >= 0 ? tokens : (long long)((chars + 3) / 4);
}

int budget_record(struct store *st, long long user_id, long long now, long long tokens, size_t chars)
{
	int rc = store_usage_add(st, user_id, now, budget_tokens(tokens, chars), tokens < 0);
	if (rc != STORE_OK)
		log_warn("could not record the usage of user %lld; their budgets undercount", user_id);
	return rc;
}

static struct json_object *one(long long used, long long limit, long long reset)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "used", json_object_new_int64(used));
	json_object_object_add(o, "limit", limit > 0 ? json_object_new_int64(limit) : NULL);
	json_object_object_add(o, "left", limit > 0 ? json_object_new_int64(used >= limit ? 0 : limit - used) : NULL);
	json_object_object_add(o, "resets_at", timefmt_json(reset));
	return o;
}

struct json_object *budget_json(const struct budget *b)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "prompts_day", one(b->prompts_used, b->prompts_limit, b->day_reset));
	struct json_object *t = one(b->tokens_used, b->tokens_limit, b->month_reset);
	json_object_object_add(t, "estimated", json_object_new_boolean(b->estimated));
	json_object_object_add(o, "tokens_month", t);
	return o;
}
