/* export.c: a conversation (Markdown or JSON) or the whole account (JSON) as a download.
 *
 * lighttpd.conf rewrites GET /api/conversations/{id}/export to /api/export/{id}
 * and GET /api/account/export to /api/export. The body is streamed in
 * chunks from a read snapshot, so a large account never sits in memory and
 * a chat written meanwhile does not tear the document. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "app.h"
#include "scgi.h"
#include "archive.h"
#include "buf.h"
#include "log.h"
#include "store.h"

#define CHUNK (64 * 1024)
#define PAGE 200

struct sink {
	struct response *res;
	struct buf buf;
};

/* Sends what is buffered once it is a chunk (or always, when force). */
static int sink_flush(struct sink *k, int force)
{
	if (k->buf.len == 0 || (!force && k->buf.len < CHUNK))
		return 0;
	int rc = response_stream_write(k->res, k->buf.data, k->buf.len);
	buf_reset(&k->buf);
	return rc;
}

/* Writes one conversation's messages in id order, page by page. */
static int export_messages(struct request *req, struct sink *k, long long conv_id, int markdown)
{
	long long after = 0;
	int first = 1;
	for (;;) {
		struct message *msgs;
		size_t n;
		int rc = store_msg_after(req->store, req->user_id, conv_id, after, PAGE, &msgs, &n);
		if (rc != STORE_OK) {
			store_msg_list_free(msgs, n);
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			if (markdown)
				archive_md_message(&k->buf, &msgs[i]);
			else
				archive_message(&k->buf, &msgs[i], first);
			first = 0;
			after = msgs[i].id;
		}
		store_msg_list_free(msgs, n);
		if (sink_flush(k, 0) < 0)
			return -1;
		if (n < PAGE)
			return 0;
	}
}


static void set_file_name(struct response *res, const char *prefix, const char *name, const char *suffix)
{
	char *file = archive_file_name(prefix, name, suffix);
	char *value = xasprintf("attachment; filename=\"%s\"", file);
	response_header(res, "Content-Disposition", value);
	free(value);
	free(file);
}

static void finish(struct sink *k, int failed)
{
	if (failed) {
		/* The head is sent: end the body where it stands, so the document
		 * does not parse rather than looking whole. */
		log_error("export stopped halfway; the download is incomplete");
		buf_free(&k->buf);
		return;
	}
	if (sink_flush(k, 1) < 0)
		log_warn("the client went away during an export");
	buf_free(&k->buf);
}

static void export_conversation(struct request *req, struct response *res)
{
	const char *format = app_query(req, "format");
	int markdown = format && strcmp(format, "md") == 0;
	int rc = store_read_begin(req->store);
	struct conversation c;
	if (rc == STORE_OK)
		rc = store_conv_get(req->store, req->user_id, req->id, &c);
	if (rc == STORE_NOTFOUND) {
		response_error(res, 404, "Conversation not found.");
		return;
	}
	if (rc != STORE_OK) {
		app_store_error(res, rc);
		return;
	}
	set_file_name(res, "aifacade-", c.title, markdown ? ".md" : ".json");
	struct sink k = {res, BUF_INIT};
	int failed = response_download_begin(res, markdown ? "text/markdown" : "application/json") < 0;
	if (!failed) {
		if (markdown) {
			archive_md_conv(&k.buf, &c, req->now);
		} else {
			archive_begin(&k.buf, req->username, req->now);
			archive_conv_begin(&k.buf, &c, 1);
		}
		failed = export_messages(req, &k, c.id, markdown) < 0;
		if (!failed && !markdown) {
			archive_conv_end(&k.buf);
			archive_end(&k.buf);
		}
	}
	finish(&k, failed);
	store_conv_free(&c);
}

static void export_account(struct request *req, struct response *res)
{
	int rc = store_read_begin(req->store);
	struct conversation *convs = NULL;
	size_t n = 0;
	if (rc == STORE_OK)
		rc = store_conv_list(req->store, req->user_id, &convs, &n);
	if (rc != STORE_OK) {
		store_conv_list_free(convs, n);
		app_store_error(res, rc);
		return;
	}
	set_file_name(res, "aifacade-", req->username, "-export.json");
	struct sink k = {res, BUF_INIT};
	int failed = response_download_begin(res, "application/json") < 0;
	if (!failed)
		archive_begin(&k.buf, req->username, req->now);
	/* Oldest first: the order an import recreates them in. */
	for (size_t i = n; i-- > 0 && !failed;) {
		archive_conv_begin(&k.buf, &convs[i], i == n - 1);
		failed = export_messages(req, &k, convs[i].id, 0) < 0;
		archive_conv_end(&k.buf);
	}
	if (!failed)
		archive_end(&k.buf);
	finish(&k, failed);
	store_conv_list_free(convs, n);
}

static const struct param format_params[] = {
	{"format", PARAM_CHOICE, 0, "md|json", "format must be md or json."},
	{NULL, 0, 0, NULL, NULL},
};

static const struct route routes[] = {
	{"GET", ROUTE_AUTH, NULL, export_account, NULL, NULL},
	{"GET", ROUTE_AUTH | ROUTE_ID, NULL, export_conversation, format_params, NULL},
	{NULL, 0, NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct endpoint ep = {"export", routes};
	(void)argc;
	/* An SCGI server in persistent mode, else one CGI run (common/scgi.h). */
	return scgi_main(&ep, argv, NULL);
}
