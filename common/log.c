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

#define LOG_LINE_MAX  2048
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

/* Formats one whole line, newline included, into line[LOG_LINE_MAX];
 * returns its length. */
static size_t log_format(char *line, enum log_level level, int errnum,
			 const char *fmt, va_list ap)
{
	char stamp[32];
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = (size_t)snprintf(line, LOG_LINE_MAX, "%s.%03ldZ %s ", stamp,
			     ts.tv_nsec / 1000000, log_names[level]);
	if (n < LOG_LINE_MAX)
		vsnprintf(line + n, LOG_LINE_MAX - n, fmt, ap);
	n = strlen(line);
	if (errnum && n < LOG_LINE_MAX)
		snprintf(line + n, LOG_LINE_MAX - n, ": %s", strerror(errnum));
	n = strlen(line);
	if (n < LOG_LINE_MAX - 1) {
		line[n++] = '\n';
		line[n] = '\0';
	} else {
		line[LOG_LINE_MAX - 2] = '\n';
		n = LOG_LINE_MAX - 1;
	}
	return n;
}

static size_t log_format_args(char *line, enum log_level level, const char *fmt,
			      ...) __attribute__((format(printf, 3, 4)));
static size_t log_format_args(char *line, enum log_level level, const char *fmt,
			      ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = log_format(line, level, 0, fmt, ap);
	va_end(ap);
	return n;
}

/* A failed write (full disk, EFBIG) loses the batch: there is nowhere to
 * report it. */
static void log_write_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(STDERR_FILENO, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
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

static void log_vline(enum log_level level, int errnum, const char *fmt,
		      va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t n = log_format(line, level, errnum, fmt, ap);

	log_put(line, n);
}

void log_msg_(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(level, 0, fmt, ap);
	va_end(ap);
}

void log_errno_(enum log_level level, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(level, errnum, fmt, ap);
	va_end(ap);
}
