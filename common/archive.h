/* archive.h: the export document, written and read (README, "Export and import").
 *
 * Contract: an export is one JSON object
 *   {"format":"aifacade-export","version":1,"exported_at","username",
 *    "conversations":[{"id","title","created_at","updated_at",
 *      "messages":[{"id","role","content","status","created_at",
 *                   "reasoning"?,"model"?,"error"?}]}]}
 * with times in ISO 8601 UTC (milliseconds). It keeps everything needed to
 * restore a conversation; ids are informative and are not kept on import.
 * The writer appends the document piece by piece to a struct buf, so a
 * caller can send it in chunks without holding an account in memory. The
 * Markdown form is for reading, not for import. */
#ifndef AIF_ARCHIVE_H
#define AIF_ARCHIVE_H
#include <stddef.h>

#include "buf.h"
#include "store.h"

#define ARCHIVE_FORMAT "aifacade-export"
#define ARCHIVE_VERSION 1

void archive_begin(struct buf *out, const char *username, long long now);
/* first: this is the first conversation of the document. */
void archive_conv_begin(struct buf *out, const struct conversation *c, int first);
void archive_message(struct buf *out, const struct message *m, int first);
void archive_conv_end(struct buf *out);
void archive_end(struct buf *out);

void archive_md_conv(struct buf *out, const struct conversation *c, long long now);
void archive_md_message(struct buf *out, const struct message *m);

/* A file name for a download: prefix, then a slug of name (ASCII letters
 * and digits, lower case, '-' between words, at most 40), then suffix. */
char *archive_file_name(const char *prefix, const char *name, const char *suffix);

/* Parses "YYYY-MM-DDTHH:MM:SS[.fff]Z" into ms since the epoch; 0 or -1. */
int archive_parse_time(const char *s, long long *ms);

#endif
