/* sandbox.c: no new privileges and Landlock file rules (see sandbox.h). */
#define _GNU_SOURCE
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/landlock.h>

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

/* What libc, the resolver, libcurl and OpenSSL read after start-up: shared
 * objects loaded late (NSS modules), DNS and host files, CA certificates,
 * time zones, randomness. Nothing here holds users' data. */
static const char *const system_read_only[] = {
	"/usr/lib", "/lib", "/lib64", "/usr/lib64",
	"/etc/ld.so.cache", "/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/host.conf",
	"/etc/gai.conf", "/etc/services", "/etc/protocols", "/etc/ssl", "/etc/ca-certificates",
	"/usr/share/ca-certificates", "/usr/local/share/ca-certificates", "/etc/pki",
	"/etc/localtime", "/usr/share/zoneinfo", "/dev/urandom", "/dev/random",
	/* The process's own /proc entry (resolved now: /proc/<pid>), which
	 * sanitizers and glibc read; not other processes' environments. */
	"/proc/self",
	NULL,
};

/* Writable without being private: the null device. */
static const char *const system_read_write[] = {"/dev/null", NULL};

#ifdef __NR_landlock_create_ruleset
static long ll_create(const struct landlock_ruleset_attr *attr, size_t size, uint32_t flags)
{
	return syscall(__NR_landlock_create_ruleset, attr, size, flags);
}
#endif

int sandbox_landlock_abi(void)
{
#ifdef __NR_landlock_create_ruleset
	long abi = ll_create(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	return abi > 0 ? (int)abi : 0;
#else
	return 0;
#endif
}

#ifdef __NR_landlock_create_ruleset
#define FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_WRITE                                                                                                 \
	(LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |        \
	 LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_REFER |                  \
	 LANDLOCK_ACCESS_FS_TRUNCATE)
#define FS_FILE_ONLY (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE | \
		      LANDLOCK_ACCESS_FS_TRUNCATE)

/* Allows access (masked by handled) beneath path; a missing path is
 * skipped. Returns 0 or -1. */
static int allow(int ruleset, const char *path, uint64_t access, uint64_t handled)
{
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR || errno == EACCES ? 0 : -1;
	struct landlock_path_beneath_attr rule = {.allowed_access = access & handled, .parent_fd = fd};
	/* A file (not a directory) takes only the rights that apply to files. */
	struct stat st;
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		rule.allowed_access &= FS_FILE_ONLY;
	long rc = syscall(__NR_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
	int saved = errno;
	close(fd);
	errno = saved;
	return rc == 0 ? 0 : -1;
}

static int allow_list(int ruleset, const char *const *paths, uint64_t access, uint64_t handled)
{
	for (const char *const *p = paths; p && *p; p++)
		if (allow(ruleset, *p, access, handled) < 0)
			return -1;
	return 0;
}
#endif

enum sandbox_result sandbox_enter(const char *const *read_write, const char *const *read_only)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return SANDBOX_FAILED;
#ifdef __NR_landlock_create_ruleset
	int abi = sandbox_landlock_abi();
	if (abi < 1)
		return SANDBOX_NO_NEW_PRIVS; /* not built into this kernel, or disabled */
	/* Everything Landlock ABI 1 knows, plus REFER (ABI 2) and TRUNCATE
	 * (ABI 3) where the kernel knows them: each right handled here is
	 * denied unless a rule below grants it. */
	uint64_t handled = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |
			   LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
			   LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
			   LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
			   LANDLOCK_ACCESS_FS_MAKE_SYM;
	if (abi >= 2)
		handled |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		handled |= LANDLOCK_ACCESS_FS_TRUNCATE;
	struct landlock_ruleset_attr attr = {.handled_access_fs = handled};
	int ruleset = (int)ll_create(&attr, sizeof attr, 0);
	if (ruleset < 0)
		return SANDBOX_FAILED;
	int rc = allow_list(ruleset, system_read_only, FS_READ, handled);
	if (rc == 0)
		rc = allow_list(ruleset, system_read_write, FS_READ | LANDLOCK_ACCESS_FS_WRITE_FILE, handled);
	if (rc == 0)
		rc = allow_list(ruleset, read_only, FS_READ, handled);
	if (rc == 0)
		rc = allow_list(ruleset, read_write, FS_READ | FS_WRITE, handled);
	if (rc == 0)
		rc = (int)syscall(__NR_landlock_restrict_self, ruleset, 0);
	int saved = errno;
	close(ruleset);
	errno = saved;
	return rc == 0 ? SANDBOX_LANDLOCK : SANDBOX_FAILED;
#else
	(void)read_write;
	(void)read_only;
	return SANDBOX_NO_NEW_PRIVS;
#endif
}
