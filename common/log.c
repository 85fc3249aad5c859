#include "common/fdio.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "common/banned.h"

enum log_level log_min_level = LL_INFO;

static const char *const log_names[] = {"debug", "info", "warn", "error"};
static const char *const log_format_names[] = {"text", "json"};

/* Set before the threads start (serve's flags), read by all. */
static enum log_format log_fmt = LOG_TEXT;

static __thread char log_rid[LOG_REQUEST_ID_MAX + 1];

/* A message is cut at LOG_MSG_MAX bytes; its JSON line (escaped, with
 * fields) at LOG_LINE_MAX. */
#define LOG_MSG_MAX   2048
#define LOG_LINE_MAX  8192
#define LOG_QUEUE_CAP (256u << 10)

/* The queue is two buffers: callers append to cur under mu (a memcpy, no
 * I/O); the logger swaps cur with spare and writes spare outside the lock,
 * so a slow write never holds a caller.  Once a line is dropped, later ones
 * are too until the logger drains cur: the "dropped" note then sits
 * exactly where the gap is. */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t wake;
	char *cur, *spare; /* owned; cap bytes each */
	size_t len, cap;
	unsigned long dropped; /* since the last drain */
	unsigned long dropped_total;
	bool running; /* callers queue (under mu) */
	bool stopping;
	bool atexit_set;
	pthread_t thread;
} lq = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

/* running, readable without mu: a synchronous caller (the sandboxed scan
 * worker above all) never touches the lock. */
static atomic_bool log_async_on;

void log_set_level(enum log_level level)
{
	log_min_level = level;
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (!strcasecmp(s, log_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void log_set_format(enum log_format f)
{
	log_fmt = f;
}

int log_format_parse(const char *s, enum log_format *out)
{
	for (size_t i = 0; i < 2; i++) {
		if (!strcasecmp(s, log_format_names[i])) {
			*out = (enum log_format)i;
			return 0;
		}
	}
	return -1;
}

void log_env_export(void)
{
	char v[32];

	snprintf(v, sizeof(v), "%s,%s", log_format_names[log_fmt],
		 log_names[log_min_level]);
	setenv("CUSTOMS_LOG", v, 1);
}

void log_env_import(void)
{
	const char *v = getenv("CUSTOMS_LOG");
	char f[8], l[8];
	enum log_format fmt;
	enum log_level level;

	if (!v || sscanf(v, "%7[a-z],%7[a-z]", f, l) != 2 ||
	    log_format_parse(f, &fmt) < 0 || log_level_parse(l, &level) < 0)
		return;
	log_fmt = fmt;
	log_min_level = level;
}

void log_set_request_id(const char *id)
{
	size_t n = id ? strnlen(id, LOG_REQUEST_ID_MAX) : 0;

	memcpy(log_rid, id ? id : "", n);
	log_rid[n] = '\0';
}

const char *log_request_id(void)
{
	return log_rid;
}

/* What a JSON line keeps free for its end: "}\n" and the NUL. */
#define LOG_JSON_TAIL 4

/* A bounded writer of one JSON line: the *_add calls stop short of
 * end, so the line can always be closed. */
struct log_jw {
	char *p;
	size_t n, end;
};

static bool jw_raw(struct log_jw *w, const char *s, size_t len)
{
	if (len > w->end - w->n)
		return false;
	memcpy(w->p + w->n, s, len);
	w->n += len;
	return true;
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlong forms,
 * no surrogates, nothing past U+10FFFF), 0 if there is none.  A NUL is
 * never a continuation byte, so this never reads past the string. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xBF;
	size_t n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return n;
}

/* A JSON string of s; cut (still closed) when the line is full. */
static void jw_str(struct log_jw *w, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	char esc[8];

	if (w->end - w->n < 2)
		return;
	jw_raw(w, "\"", 1);
	/* One byte is kept back for the closing quote. */
	w->end--;
	while (*u) {
		const char *out = esc;
		size_t len, take;

		/* Plain ASCII, the common case, goes in runs. */
		for (len = 0; u[len] >= 0x20 && u[len] < 0x7f &&
			      u[len] != '"' && u[len] != '\\';
		     len++)
			;
		if (len) {
			if (len > w->end - w->n)
				len = w->end - w->n;
			if (!len)
				break;
			jw_raw(w, (const char *)u, len);
			u += len;
			continue;
		}
		len = take = utf8_seq(u);
		if (len == 0) {
			out = "\\ufffd";
			len = 6;
			take = 1;
		} else if (*u == '"' || *u == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*u;
			len = 2;
		} else if (*u == '\n') {
			out = "\\n";
			len = 2;
		} else if (*u == '\t') {
			out = "\\t";
			len = 2;
		} else if (*u < 0x20 || *u == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", *u);
			len = 6;
		} else {
			out = (const char *)u;
		}
		if (!jw_raw(w, out, len))
			break;
		u += take;
	}
	w->end++;
	jw_raw(w, "\"", 1);
}

/* ,"key": then the value, or nothing when the line has no room left for
 * a useful value. */
static void jw_field(struct log_jw *w, const char *key, const char *str,
		     int64_t num)
{
	char nb[24], *p = nb + sizeof(nb);
	uint64_t u = num < 0 ? -(uint64_t)num : (uint64_t)num;

	if (w->end - w->n < strlen(key) + 32)
		return;
	jw_raw(w, ",", 1);
	jw_str(w, key);
	jw_raw(w, ":", 1);
	if (str) {
		jw_str(w, str);
		return;
	}
	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (num < 0)
		*--p = '-';
	jw_raw(w, p, (size_t)(nb + sizeof(nb) - p));
}

/* "2026-12-03T17:15:01.123Z": the seconds are formatted once a second
 * per thread (gmtime_r and strftime cost more than the rest of a line). */
static void log_stamp(char out[32])
{
	static __thread time_t sec = -1;
	static __thread char head[24];
	static __thread size_t hn;
	struct timespec ts;
	struct tm tm;
	long ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != sec) {
		gmtime_r(&ts.tv_sec, &tm);
		hn = strftime(head, sizeof(head), "%Y-%m-%dT%H:%M:%S", &tm);
		sec = ts.tv_sec;
	}
	ms = ts.tv_nsec / 1000000;
	memcpy(out, head, hn);
	out[hn] = '.';
	out[hn + 1] = (char)('0' + ms / 100);
	out[hn + 2] = (char)('0' + ms / 10 % 10);
	out[hn + 3] = (char)('0' + ms % 10);
	out[hn + 4] = 'Z';
	out[hn + 5] = '\0';
}

size_t log_render(char *out, size_t cap, enum log_format f,
		  enum log_level level, const char *rid,
		  const struct log_field *fields, size_t nfields,
		  const char *msg)
{
	struct log_jw w = {out, 0, cap - LOG_JSON_TAIL};
	char stamp[32];
	size_t n;

	log_stamp(stamp);
	if (f == LOG_TEXT) {
		n = (size_t)snprintf(out, cap - 1, "%s %s %s%s%s", stamp,
				     log_names[level], msg,
				     rid && *rid ? " request_id=" : "",
				     rid && *rid ? rid : "");
		if (n > cap - 2)
			n = cap - 2;
		out[n++] = '\n';
		out[n] = '\0';
		return n;
	}
	jw_raw(&w, "{\"ts\":\"", 7);
	jw_raw(&w, stamp, strlen(stamp));
	jw_raw(&w, "\",\"level\":\"", 11);
	jw_raw(&w, log_names[level], strlen(log_names[level]));
	jw_raw(&w, "\"", 1);
	/* The fields are short; the message gives up room for them. */
	w.end -= cap / 4;
	jw_field(&w, "msg", msg, 0);
	w.end += cap / 4;
	if (rid && *rid)
		jw_field(&w, "request_id", rid, 0);
	for (size_t i = 0; i < nfields; i++)
		if (strcmp(fields[i].key, "request_id"))
			jw_field(&w, fields[i].key, fields[i].str,
				 fields[i].num);
	w.end += LOG_JSON_TAIL;
	jw_raw(&w, "}\n", 2);
	out[w.n] = '\0';
	return w.n;
}

/* Formats one whole line, newline included, into line[LOG_LINE_MAX];
 * returns its length. */
static size_t log_format(char *line, enum log_level level, int errnum,
			 const char *rid, const struct log_field *fields,
			 size_t nfields, const char *fmt, va_list ap)
{
	char msg[LOG_MSG_MAX];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	if (errnum && n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(errnum));
	return log_render(line, LOG_LINE_MAX, log_fmt, level, rid, fields,
			  nfields, msg);
}

static size_t log_format_args(char *line, enum log_level level, const char *fmt,
			      ...) __attribute__((format(printf, 3, 4)));
static size_t log_format_args(char *line, enum log_level level, const char *fmt,
			      ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = log_format(line, level, 0, NULL, NULL, 0, fmt, ap);
	va_end(ap);
	return n;
}

/* A failed write (full disk, EFBIG) loses the batch: there is nowhere to
 * report it. */
static void log_write_all(const char *p, size_t n)
{
	(void)fdio_write_all(STDERR_FILENO, p, n);
}

static void *log_thread(void *arg)
{
	char note[LOG_LINE_MAX];

	(void)arg;
	pthread_mutex_lock(&lq.mu);
	for (;;) {
		char *batch;
		size_t n;
		unsigned long dropped;

		while (!lq.len && !lq.dropped && !lq.stopping)
			pthread_cond_wait(&lq.wake, &lq.mu);
		if (!lq.len && !lq.dropped)
			break;
		batch = lq.cur;
		n = lq.len;
		dropped = lq.dropped;
		lq.cur = lq.spare;
		lq.spare = batch;
		lq.len = 0;
		lq.dropped = 0;
		pthread_mutex_unlock(&lq.mu);
		log_write_all(batch, n);
		if (dropped) {
			n = log_format_args(note, LL_WARN,
					    "%lu log lines dropped (the log "
					    "queue was full)",
					    dropped);
			log_write_all(note, n);
		}
		pthread_mutex_lock(&lq.mu);
	}
	/* Drained and stopping: from here callers write for themselves. */
	lq.running = false;
	atomic_store(&log_async_on, false);
	pthread_mutex_unlock(&lq.mu);
	return NULL;
}

static void log_put(const char *line, size_t n)
{
	bool wake;

	if (atomic_load_explicit(&log_async_on, memory_order_relaxed)) {
		pthread_mutex_lock(&lq.mu);
		if (lq.running) {
			if (lq.dropped || lq.cap - lq.len < n) {
				lq.dropped++;
				lq.dropped_total++;
				pthread_mutex_unlock(&lq.mu);
				return;
			}
			wake = !lq.len;
			memcpy(lq.cur + lq.len, line, n);
			lq.len += n;
			pthread_mutex_unlock(&lq.mu);
			if (wake)
				pthread_cond_signal(&lq.wake);
			return;
		}
		pthread_mutex_unlock(&lq.mu);
	}
	/* One fputs per line keeps lines from different threads whole. */
	fputs(line, stderr);
}

/* A forked child has no logger thread (and mu may have been held by a
 * thread that is not there): it logs synchronously. */
static void log_atfork_child(void)
{
	pthread_mutex_init(&lq.mu, NULL);
	pthread_cond_init(&lq.wake, NULL);
	lq.running = false;
	atomic_store(&log_async_on, false);
}

int log_async_start(size_t cap)
{
	sigset_t all, old;
	int rc = 0;

	pthread_mutex_lock(&lq.mu);
	if (lq.running || lq.stopping)
		goto out;
	lq.cap = cap ? cap : LOG_QUEUE_CAP;
	if (lq.cap < LOG_LINE_MAX)
		lq.cap = LOG_LINE_MAX;
	lq.cur = xmalloc(lq.cap);
	lq.spare = xmalloc(lq.cap);
	lq.len = 0;
	lq.dropped = 0;
	/* Signals go to the other threads, never interrupt a write. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&lq.thread, NULL, log_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		free(lq.cur);
		free(lq.spare);
		lq.cur = lq.spare = NULL;
		rc = -1;
		goto out;
	}
	lq.running = true;
	atomic_store(&log_async_on, true);
	if (!lq.atexit_set) {
		lq.atexit_set = true;
		pthread_atfork(NULL, NULL, log_atfork_child);
		atexit(log_async_stop);
	}
out:
	pthread_mutex_unlock(&lq.mu);
	return rc;
}

void log_async_stop(void)
{
	pthread_mutex_lock(&lq.mu);
	if (!lq.running || lq.stopping) {
		pthread_mutex_unlock(&lq.mu);
		return;
	}
	lq.stopping = true;
	pthread_cond_signal(&lq.wake);
	pthread_mutex_unlock(&lq.mu);
	pthread_join(lq.thread, NULL);
	pthread_mutex_lock(&lq.mu);
	free(lq.cur);
	free(lq.spare);
	lq.cur = lq.spare = NULL;
	lq.len = 0;
	lq.stopping = false;
	pthread_mutex_unlock(&lq.mu);
}

unsigned long log_dropped_total(void)
{
	unsigned long n;

	pthread_mutex_lock(&lq.mu);
	n = lq.dropped_total;
	pthread_mutex_unlock(&lq.mu);
	return n;
}

static void log_vline(enum log_level level, int errnum, const char *rid,
		      const struct log_field *fields, size_t nfields,
		      const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t n = log_format(line, level, errnum, rid ? rid : log_rid, fields,
			      nfields, fmt, ap);

	log_put(line, n);
}

void log_msg_(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(level, 0, NULL, NULL, 0, fmt, ap);
	va_end(ap);
}

void log_errno_(enum log_level level, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(level, errnum, NULL, NULL, 0, fmt, ap);
	va_end(ap);
}

void log_fields_(enum log_level level, const struct log_field *fields,
		 size_t nfields, const char *fmt, ...)
{
	const char *rid = NULL;
	va_list ap;

	for (size_t i = 0; i < nfields; i++)
		if (!strcmp(fields[i].key, "request_id"))
			rid = fields[i].str;
	va_start(ap, fmt);
	log_vline(level, 0, rid, fields, nfields, fmt, ap);
	va_end(ap);
}
