/* import.h: bringing conversations in from a file (README, "Export and import").
 *
 * Contract: import_fd() reads one JSON document from fd: AIFacade's own
 * export (archive.h) or ChatGPT's conversations.json (an array of
 * conversations, each a "mapping" tree of nodes; the branch that ends at
 * "current_node" is the one kept, user and assistant messages only). It
 * checks the whole document and writes every conversation for user_id in
 * one transaction: a malformed file is refused whole with the reason in err
 * (for the person who sent it, naming the conversation and message), and
 * nothing of it is kept. Ids in the file are never used. The document is
 * read into memory once it is on disk. */
#ifndef AIF_IMPORT_H
#define AIF_IMPORT_H
#include <stddef.h>

#include "store.h"

struct import_counts {
	long long conversations, messages;
};

enum import_rc {
	IMPORT_OK = 0,
	IMPORT_REFUSED = 1,  /* the file is malformed: err says why */
	IMPORT_STORE = 2,    /* the store failed: *store_rc says how (logged) */
};

int import_fd(struct store *st, long long user_id, int fd, struct import_counts *out, char *err, size_t errlen,
	      int *store_rc);

#endif
