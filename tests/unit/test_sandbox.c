/* test_sandbox.c: a process in the sandbox opens only what sandbox.h allows. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "sandbox.h"

static char base[64];
static char path_buf[8][256];

static const char *at(int slot, const char *rel)
{
	snprintf(path_buf[slot], sizeof path_buf[slot], "%s/%s", base, rel);
	return path_buf[slot];
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* One check inside the sandboxed child: exit codes say which step failed. */
enum { OK = 0, NOT_ENTERED = 10, READ_OUTSIDE = 11, WRITE_WWW = 12, READ_INSTANCE = 13, WRITE_INSTANCE = 14,
       READ_WWW = 15, CREATE_OUTSIDE = 16, NNP = 17, EXEC = 18, UNLINK_INSTANCE = 19, CERTS = 20 };

static int in_sandbox(int want_landlock)
{
	const char *rw[] = {at(0, "instance"), NULL};
	const char *ro[] = {at(1, "www"), NULL};
	enum sandbox_result rc = sandbox_enter(rw, ro);
	if (rc == SANDBOX_FAILED || (want_landlock && rc != SANDBOX_LANDLOCK))
		return NOT_ENTERED;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return NNP;
	if (!want_landlock)
		return OK;
	/* Outside: refused, whether to read, to create or to run. */
	int fd = open(at(2, "outside/secret"), O_RDONLY | O_CLOEXEC);
	if (fd >= 0 || errno != EACCES)
		return READ_OUTSIDE;
	fd = open(at(2, "outside/new"), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0 || errno != EACCES)
		return CREATE_OUTSIDE;
	if (access(at(2, "outside/secret"), F_OK) != 0)
		return READ_OUTSIDE; /* still there, only unreadable */
	/* Read-only: readable, never writable. */
	fd = open(at(3, "www/index.html"), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return READ_WWW;
	close(fd);
	fd = open(at(3, "www/index.html"), O_WRONLY | O_CLOEXEC);
	if (fd >= 0 || errno != EACCES)
		return WRITE_WWW;
	/* Read-write: as SQLite uses it (create, write, remove). */
	fd = open(at(4, "instance/db"), O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return READ_INSTANCE;
	close(fd);
	fd = open(at(4, "instance/db-wal"), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return WRITE_INSTANCE;
	close(fd);
	if (unlink(at(4, "instance/db-wal")) != 0)
		return UNLINK_INSTANCE;
	/* What libcurl needs stays readable; nothing may be executed. */
	fd = open("/etc/ssl/certs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == EACCES)
		return CERTS;
	if (fd >= 0)
		close(fd);
	char *argv[] = {"true", NULL};
	execv("/bin/true", argv);
	if (errno != EACCES)
		return EXEC;
	return OK;
}

static int run_child(int want_landlock)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(in_sandbox(want_landlock));
	int status = 0;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

int main(void)
{
	snprintf(base, sizeof base, "%s", "/tmp/aif-sandbox-XXXXXX");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	CHECK(mkdir(at(0, "instance"), 0700) == 0 && mkdir(at(0, "www"), 0700) == 0 &&
		      mkdir(at(0, "outside"), 0700) == 0,
	      "set-up: directories");
	CHECK(write_file(at(0, "outside/secret"), "secret") == 0 && write_file(at(1, "www/index.html"), "<p>") == 0 &&
		      write_file(at(2, "instance/db"), "db") == 0,
	      "set-up: files");

	int abi = sandbox_landlock_abi();
	printf("# Landlock ABI %d\n", abi);
	int rc = run_child(abi > 0);
	if (!CHECK(rc == OK, abi > 0 ? "a sandboxed process opens only what it is allowed"
				     : "without Landlock, no new privileges only"))
		printf("#   the child stopped at step %d (see the enum in this file)\n", rc);
	if (abi == 0)
		printf("# this kernel has no Landlock: only no-new-privileges was checked\n");

	/* The parent is untouched: it still reads what the child could not. */
	int fd = open(at(2, "outside/secret"), O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0, "the process that forked the sandboxed one is not limited");
	if (fd >= 0)
		close(fd);

	unlink(at(0, "outside/secret"));
	unlink(at(0, "outside/new"));
	unlink(at(0, "www/index.html"));
	unlink(at(0, "instance/db"));
	rmdir(at(0, "outside"));
	rmdir(at(0, "www"));
	rmdir(at(0, "instance"));
	rmdir(base);
	return check_done();
}
