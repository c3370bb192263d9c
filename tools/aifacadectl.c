/* aifacadectl.c: the operator's command: create, migrate, inspect and maintain the database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "config.h"
#include "store.h"

static int usage(FILE *out)
{
	fprintf(out,
		"usage: aifacadectl COMMAND\n"
		"\n"
		"Reads DATABASE and the other settings like the web programs do\n"
		"(environment, then .env in AIFACADE_ROOT).\n"
		"\n"
		"commands:\n"
		"  init-db     create the database and its schema if missing\n"
		"  migrate     apply pending schema migrations\n"
		"  stats       counts of users, sessions, conversations and messages\n"
		"  help        this text\n");
	return out == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr);
	const char *cmd = argv[1];
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
		return usage(stdout);
	if (strcmp(cmd, "init-db") != 0 && strcmp(cmd, "migrate") != 0 && strcmp(cmd, "stats") != 0) {
		fprintf(stderr, "aifacadectl: unknown command '%s'\n", cmd);
		return usage(stderr);
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "aifacadectl: libsodium failed to initialise\n");
		return 1;
	}
	struct config cfg;
	char err[512];
	if (config_load(&cfg, err, sizeof err) < 0) {
		fprintf(stderr, "aifacadectl: configuration: %s\n", err);
		config_free(&cfg);
		return 1;
	}
	struct store *st;
	if (store_open(cfg.database, &st, err, sizeof err) < 0) {
		fprintf(stderr, "aifacadectl: %s\n", err);
		config_free(&cfg);
		return 1;
	}
	int rc = 0;
	if (strcmp(cmd, "stats") == 0) {
		struct store_stats s;
		rc = store_stats(st, &s) == STORE_OK ? 0 : 1;
		printf("schema_version %d\nusers %lld\nsessions %lld\nconversations %lld\nmessages %lld\n",
		       s.schema_version, s.users, s.sessions, s.conversations, s.messages);
	} else {
		printf("database %s is at schema version %d\n", cfg.database, store_schema_version(st));
	}
	store_close(st);
	config_free(&cfg);
	return rc;
}
