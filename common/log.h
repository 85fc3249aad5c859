/* log.h: one line per event on stderr.  The level is checked before any
 * formatting (redis).  Never log tokens, passwords or Authorization headers. */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

enum log_level { LL_DEBUG, LL_INFO, LL_WARN, LL_ERROR };

extern enum log_level log_min_level;

void log_set_level(enum log_level level);
/* Parses "debug", "info", "warn", "error"; -1 if unknown. */
int log_level_parse(const char *s, enum log_level *out);

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
