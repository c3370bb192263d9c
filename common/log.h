/* log.h: operator log lines on stderr (lighttpd's error log).
 *
 * Contract: one line per call, prefixed with the program name and level;
 * every argument passes through escape_log(), so a line is one line of ASCII.
 * Never pass passwords, tokens, keys or prompts. */
#ifndef AIF_LOG_H
#define AIF_LOG_H

void log_set_program(const char *name);
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
