/* import.c: brings in an AIFacade export or ChatGPT's conversations.json (POST /api/import).
 *
 * The file is the request body, up to IMPORT_MAX_BYTES (README,
 * "Configuration"). It is copied to an unlinked temporary file in the
 * instance directory as it arrives, never held in memory whole, and then
 * imported all or nothing (common/import.h). lighttpd.conf lets this one
 * route's bodies past the 64 KiB every other endpoint takes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "app.h"
#include "scgi.h"
#include "config.h"
#include "import.h"
#include "log.h"
#include "store.h"

/* Copies len bytes of the request's body (req_fd) into a fresh unlinked
 * file in dir; returns its fd (at offset 0), -1 when the upload ended
 * early, -2 when the file could not be written. */
static int spool_body(int req_fd, const char *dir, long long len)
{
	char *path = xasprintf("%s/import-XXXXXX", dir);
	int fd = mkstemp(path);
	if (fd < 0) {
		log_error("import: cannot create a temporary file in %s: %s", dir, strerror(errno));
		free(path);
		return -2;
	}
	if (unlink(path) < 0)
		log_warn("import: cannot unlink %s: %s", path, strerror(errno));
	free(path);
	char chunk[65536];
	long long left = len;
	while (left > 0) {
		ssize_t n = read(req_fd, chunk, left < (long long)sizeof chunk ? (size_t)left : sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return -1;
		}
		for (ssize_t off = 0; off < n;) {
			/* check-output: the upload's spool file in the instance, not the client */
			ssize_t w = write(fd, chunk + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				log_error("import: cannot write the temporary file in %s: %s; check free disk space", dir,
					  strerror(errno));
				close(fd);
				return -2;
			}
			off += w;
		}
		left -= n;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return -2;
	}
	return fd;
}

static void import(struct request *req, struct response *res)
{
	if (req->upload_len > req->cfg->import_max_bytes) {
		char msg[200];
		snprintf(msg, sizeof msg,
			 "The file is larger than the import limit of %ld bytes; ask the operator to raise "
			 "IMPORT_MAX_BYTES or to run aifacadectl import.",
			 req->cfg->import_max_bytes);
		response_error(res, 413, msg);
		return;
	}
	if (req->upload_len == 0) {
		response_error(res, 400, "Send the export file as the request body.");
		return;
	}
	int fd = spool_body(req->body_fd, req->cfg->instance_dir, req->upload_len);
	if (fd == -1) {
		response_error(res, 400, "The upload ended early; send the file again.");
		return;
	}
	if (fd < 0) {
		response_error(res, 503, "The server cannot store the upload right now; try again later.");
		return;
	}
	struct import_counts counts;
	char err[300];
	int store_rc;
	int rc = import_fd(req->store, req->user_id, fd, &counts, err, sizeof err, &store_rc);
	close(fd);
	if (rc == IMPORT_REFUSED) {
		response_error(res, 400, err);
		return;
	}
	if (rc != IMPORT_OK) {
		app_store_error(res, store_rc);
		return;
	}
	log_info("user %lld imported %lld conversations, %lld messages", req->user_id, counts.conversations,
		 counts.messages);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "conversations", json_object_new_int64(counts.conversations));
	json_object_object_add(o, "messages", json_object_new_int64(counts.messages));
	response_json(res, 201, o);
}

static const struct route routes[] = {
	{"POST", ROUTE_AUTH | ROUTE_CSRF | ROUTE_UPLOAD, NULL, import, NULL, NULL},
	{NULL, 0, NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct endpoint ep = {"import", routes};
	(void)argc;
	/* An SCGI server in persistent mode, else one CGI run (common/scgi.h). */
	return scgi_main(&ep, argv, NULL);
}
