/* markdown.c: safe GitHub-flavoured Markdown rendering (see markdown.h). */
#define _GNU_SOURCE
#include "markdown.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>

#include "alloc.h"
#include "buf.h"
#include "escape.h"
#include "log.h"
#include "timefmt.h"

static const char *const extensions[] = {"table", "strikethrough", "autolink", "tasklist", "tagfilter"};

long long markdown_render_version(void)
{
	return (long long)MARKDOWN_RENDER_VERSION << 32 | (long long)(unsigned)cmark_version();
}

/* cmark-gfm itself, in this process; its time grows faster than linearly
 * on some inputs (SECURITY.md, "Markdown"). Returns a malloc'd string. */
static char *render_cmark(const char *text, size_t len)
{
	/* CMARK_OPT_UNSAFE is never set: safe mode is cmark-gfm's default.
	 * Without CMARK_OPT_GITHUB_PRE_LANG a fence's language is written as
	 * <code class="language-c">, not as <pre lang="c"> (not a language tag). */
	const int options = CMARK_OPT_DEFAULT | CMARK_OPT_VALIDATE_UTF8 | CMARK_OPT_STRIKETHROUGH_DOUBLE_TILDE;
	cmark_gfm_core_extensions_ensure_registered();
	cmark_parser *parser = cmark_parser_new(options);
	if (!parser)
		alloc_fail();
	for (size_t i = 0; i < sizeof extensions / sizeof extensions[0]; i++) {
		cmark_syntax_extension *ext = cmark_find_syntax_extension(extensions[i]);
		if (ext)
			cmark_parser_attach_syntax_extension(parser, ext);
	}
	cmark_parser_feed(parser, text, len);
	cmark_node *doc = cmark_parser_finish(parser);
	if (!doc)
		alloc_fail();
	char *html = cmark_render_html(doc, options, cmark_parser_get_syntax_extensions(parser));
	cmark_node_free(doc);
	cmark_parser_free(parser);
	if (!html)
		alloc_fail();
	/* cmark allocates with the default allocator (malloc), so free() owns it. */
	return html;
}

/* Text shown as it is: escaped, line breaks kept (app.css's .plain). */
static void append_plain(struct buf *out, const char *text, size_t len)
{
	if (len == 0)
		return;
	buf_append_str(out, "<p class=\"plain\">");
	escape_html(out, text, len);
	buf_append_str(out, "</p>\n");
}

static void child_render(int fd, const char *text, size_t len)
{
	/* Dies with its parent; the CPU timer ends it (SIGPROF's default
	 * action), and RLIMIT_CPU backs the timer up. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPROF, SIG_DFL);
	signal(SIGXCPU, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	struct itimerval cpu = {{0, 0}, {MARKDOWN_CPU_MS / 1000, (MARKDOWN_CPU_MS % 1000) * 1000}};
	struct rlimit lim = {(rlim_t)MARKDOWN_CPU_MS / 1000 + 2, (rlim_t)MARKDOWN_CPU_MS / 1000 + 3};
	if (setitimer(ITIMER_PROF, &cpu, NULL) != 0)
		_exit(2);
	struct rlimit cur;
	if (getrlimit(RLIMIT_CPU, &cur) == 0 && (cur.rlim_cur == RLIM_INFINITY || cur.rlim_cur > lim.rlim_cur))
		if (setrlimit(RLIMIT_CPU, &lim) != 0)
			_exit(2);
	char *html = render_cmark(text, len);
	size_t n = strlen(html), off = 0;
	while (off < n) {
		/* check-output: the render child's pipe to its parent, not the client */
		ssize_t k = write(fd, html + off, n - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			_exit(3);
		off += (size_t)k;
	}
	_exit(0);
}

/* Renders in a child process under a CPU-time limit, so that no input can
 * hold the caller's process: 0 with the HTML in *out, -1 when the child
 * ran out of time or failed (its partial output is dropped). */
static int render_bounded(const char *text, size_t len, struct buf *out)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		child_render(fds[1], text, len);
	}
	close(fds[1]);
	/* Wall time too: a child starved of CPU by a busy machine. */
	long long deadline = monotonic_ms() + MARKDOWN_WALL_MS;
	int failed = 0;
	char chunk[16384];
	for (;;) {
		long long left = deadline - monotonic_ms();
		if (left <= 0) {
			failed = 1;
			break;
		}
		struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
		int ready = poll(&pfd, 1, (int)left);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0) {
			failed = 1;
			break;
		}
		ssize_t k = read(fds[0], chunk, sizeof chunk);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			failed = 1;
			break;
		}
		if (k == 0)
			break;
		buf_append(out, chunk, (size_t)k);
	}
	close(fds[0]);
	if (failed)
		kill(pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			status = -1;
			break;
		}
	}
	if (failed || status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return 0;
}

/* Where the Markdown part ends: at most MARKDOWN_MARKUP_MAX bytes, cut
 * after a line break when there is one in the last quarter, never inside
 * a UTF-8 sequence. */
static size_t markup_cut(const char *text, size_t len)
{
	if (len <= MARKDOWN_MARKUP_MAX)
		return len;
	size_t cut = MARKDOWN_MARKUP_MAX;
	for (size_t i = cut; i > MARKDOWN_MARKUP_MAX / 4 * 3; i--)
		if (text[i - 1] == '\n')
			return i;
	while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80)
		cut--;
	return cut;
}

char *markdown_to_html(const char *text, size_t len)
{
	size_t cut = markup_cut(text, len);
	if (cut <= MARKDOWN_INLINE_MAX && cut == len)
		return render_cmark(text, len);
	struct buf out = BUF_INIT;
	if (render_bounded(text, cut, &out) < 0) {
		log_warn("a Markdown text of %zu bytes took longer than %d ms of CPU to render; shown as plain text",
			 len, MARKDOWN_CPU_MS);
		buf_reset(&out);
		cut = 0;
	}
	append_plain(&out, text + cut, len - cut);
	return buf_detach(&out);
}
