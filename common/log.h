/* log.h: one line per event on stderr.  The level is checked before any
 * formatting (redis).  Never log tokens, passwords or Authorization headers.
 *
 * Lines are written synchronously (one fputs each) unless a long-running
 * process calls log_async_start(): then a caller only formats its line and
 * copies it into a bounded in-memory queue, and one logger thread writes
 * the queue to stderr in order.  A caller never waits for the write; when
 * the queue is full its line is dropped and counted, and a "N log lines
 * dropped" line follows once the queue has drained.
 *
 * Two formats (log_set_format()):
 *   text  "2026-12-03T17:15:01.123Z info MESSAGE[ request_id=ID]"
 *   json  {"ts":"2026-12-03T17:15:01.123Z","level":"info","msg":"...",
 *          "request_id":"...", FIELDS...}, one object per line.
 * Every string is escaped so that a line is one line of valid JSON,
 * whatever bytes it holds (invalid UTF-8 becomes U+FFFD).
 *
 * A thread working for an HTTP request names it (log_set_request_id());
 * every line that thread logs then carries its id, in both formats. */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LL_DEBUG, LL_INFO, LL_WARN, LL_ERROR };
enum log_format { LOG_TEXT, LOG_JSON };

/* The longest request id (an incoming X-Request-Id past it is replaced). */
#define LOG_REQUEST_ID_MAX 128

extern enum log_level log_min_level;

void log_set_level(enum log_level level);
/* Parses "debug", "info", "warn", "error"; -1 if unknown. */
int log_level_parse(const char *s, enum log_level *out);
void log_set_format(enum log_format f);
/* Parses "text", "json"; -1 if unknown. */
int log_format_parse(const char *s, enum log_format *out);
/* CUSTOMS_LOG="FORMAT,LEVEL" (json,info): export puts this process's
 * settings there for the processes it starts (serve's scan workers);
 * import, at the start of every command, applies it.  An unset or
 * garbled variable changes nothing. */
void log_env_export(void);
void log_env_import(void);

/* The request this thread works for now: id is copied (cut at
 * LOG_REQUEST_ID_MAX bytes); NULL or "" clears it.  Set it around each
 * piece of a request's work, on whichever thread runs it. */
void log_set_request_id(const char *id);
/* This thread's request id, "" when none; valid until the next
 * log_set_request_id() on this thread. */
const char *log_request_id(void);

/* A structured field of a line (json only: text shows the message). */
struct log_field {
	const char *key;
	const char *str; /* a string value; NULL: the number */
	int64_t num;
};

/* Renders one whole line (newline and NUL included) into out[cap] and
 * returns its length without the NUL: ts, level, msg, then request_id
 * (rid; NULL or "": none), then the fields.  A value too long for cap
 * is cut; the line stays valid JSON.  cap is at least 256.  Exposed for
 * the tests. */
size_t log_render(char *out, size_t cap, enum log_format f,
		  enum log_level level, const char *rid,
		  const struct log_field *fields, size_t nfields,
		  const char *msg);

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

/* log_msg() with fields; a "request_id" field overrides the thread's. */
void log_fields_(enum log_level level, const struct log_field *fields,
		 size_t nfields, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

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
#define log_fields(level, fields, nfields, ...)                                \
	do {                                                                   \
		if ((level) >= log_min_level)                                  \
			log_fields_((level), (fields), (nfields),              \
				    __VA_ARGS__);                              \
	} while (0)

#endif
