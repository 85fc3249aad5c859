/* log.h: one line per event on stderr.  The level is checked before any
 * formatting (redis).  Never log tokens, passwords or Authorization headers.
 *
 * Lines are written synchronously (one fputs each) unless a long-running
 * process calls log_async_start(): then a caller only formats its line and
 * copies it into a bounded in-memory queue, and one logger thread writes
 * the queue to stderr in order.  A caller never waits for the write; when
 * the queue is full its line is dropped and counted, and a "N log lines
 * dropped" line follows once the queue has drained. */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stddef.h>

enum log_level { LL_DEBUG, LL_INFO, LL_WARN, LL_ERROR };

extern enum log_level log_min_level;

void log_set_level(enum log_level level);
/* Parses "debug", "info", "warn", "error"; -1 if unknown. */
int log_level_parse(const char *s, enum log_level *out);

/* Starts the logger thread (with a queue of twice cap bytes; 0 means the
 * default).  -1 if the thread cannot be created: logging stays
 * synchronous.  Calling it while the thread runs does nothing.  Never in a
 * process that may not create threads (the sandboxed scan worker). */
int log_async_start(size_t cap);
/* Writes every queued line, ends the thread and logs synchronously again.
 * Also runs at exit.  Does nothing if the thread is not running. */
void log_async_stop(void);
/* Lines dropped because the queue was full, since the process started. */
unsigned long log_dropped_total(void);

void log_msg_(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends ": strerror(errnum)" (nginx's ngx_log_error takes errno apart). */
void log_errno_(enum log_level level, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_msg(level, ...)                                                    \
	do {                                                                   \
		if ((level) >= log_min_level)                                  \
			log_msg_((level), __VA_ARGS__);                        \
	} while (0)
#define log_errno(level, errnum, ...)                                          \
	do {                                                                   \
		if ((level) >= log_min_level)                                  \
			log_errno_((level), (errnum), __VA_ARGS__);            \
	} while (0)

#endif
