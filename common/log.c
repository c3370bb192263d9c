/* log.c: escaped operator log lines on stderr (see log.h). */
#define _GNU_SOURCE
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "escape.h"

static const char *log_program = "aifacade";

void log_set_program(const char *name)
{
	log_program = name;
}

static void log_emit(const char *level, const char *fmt, va_list ap)
{
	char *raw = NULL;
	if (vasprintf(&raw, fmt, ap) < 0)
		return;
	struct buf line = BUF_INIT;
	buf_printf(&line, "aifacade[%s] %s: ", log_program, level);
	escape_log(&line, raw, strlen(raw));
	buf_append_char(&line, '\n');
	fwrite(line.data, 1, line.len, stderr);
	fflush(stderr);
	buf_free(&line);
	free(raw);
}

#define LOG_FN(name, level)                                                                    \
	void name(const char *fmt, ...)                                                        \
	{                                                                                      \
		va_list ap;                                                                    \
		va_start(ap, fmt);                                                             \
		log_emit(level, fmt, ap);                                                      \
		va_end(ap);                                                                    \
	}

LOG_FN(log_error, "error")
LOG_FN(log_warn, "warning")
LOG_FN(log_info, "info")
