/* test_log.c: the log queue and its logger thread (common/log.c).  Each
 * test points stderr at a file or a pipe, logs, and reads back what was
 * written. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/log.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "common/banned.h"

#define LOG_THREADS    8
#define LOG_PER_THREAD 3000

static int saved_err = -1;

/* Points fd 2 at fd (which it takes). */
static void err_to(int fd)
{
	fflush(stderr);
	if (saved_err < 0)
		saved_err = dup(STDERR_FILENO);
	assert_true(saved_err >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
}

static void err_restore(void)
{
	fflush(stderr);
	dup2(saved_err, STDERR_FILENO);
}

/* Redirects stderr to a fresh temporary file; returns it for reading. */
static FILE *err_to_file(void)
{
	FILE *f = tmpfile();

	assert_non_null(f);
	err_to(dup(fileno(f)));
	return f;
}

/* The whole file as a string; the caller frees it. */
static char *file_text(FILE *f)
{
	long n;
	char *s;

	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = xmalloc((size_t)n + 1);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	return s;
}

/* Every line is whole: a stamp, a level and the message. */
static void assert_whole_lines(const char *s)
{
	const char *nl;

	for (; *s; s = nl + 1) {
		nl = strchr(s, '\n');
		assert_non_null(nl);
		assert_true(nl - s > 25);
		assert_int_equal(s[4], '-');
		assert_int_equal(s[23], 'Z');
		assert_true(!strncmp(s + 24, " info ", 6) ||
			    !strncmp(s + 24, " warn ", 6));
	}
}

static void test_sync_without_thread(void **state)
{
	FILE *f = err_to_file();
	long at;

	(void)state;
	log_msg(LL_INFO, "sync %d", 1);
	/* Written before log_msg returned: no thread runs. */
	at = ftell(f);
	fseek(f, 0, SEEK_END);
	assert_true(ftell(f) > 0);
	fseek(f, at, SEEK_SET);
	log_msg(LL_DEBUG, "below the level");
	err_restore();
	{
		char *s = file_text(f);

		assert_non_null(strstr(s, " info sync 1\n"));
		assert_null(strstr(s, "below the level"));
		free(s);
	}
}

static void test_order_and_flush_on_stop(void **state)
{
	FILE *f = err_to_file();
	unsigned long dropped = log_dropped_total();
	char want[32], *s, *p;
	int i;

	(void)state;
	assert_int_equal(log_async_start(0), 0);
	assert_int_equal(log_async_start(0), 0); /* already running */
	for (i = 0; i < 1000; i++)
		log_msg(LL_INFO, "line %d", i);
	log_errno(LL_WARN, 2, "with errno");
	log_async_stop();
	log_async_stop(); /* not running: nothing */
	/* Synchronous again. */
	log_msg(LL_INFO, "after stop");
	err_restore();
	assert_int_equal(log_dropped_total(), dropped);
	s = file_text(f);
	assert_whole_lines(s);
	p = s;
	for (i = 0; i < 1000; i++) {
		snprintf(want, sizeof(want), " info line %d\n", i);
		p = strstr(p, want);
		assert_non_null(p);
	}
	p = strstr(p, " warn with errno: No such file or directory\n");
	assert_non_null(p);
	assert_non_null(strstr(p, " info after stop\n"));
	free(s);
}

static void *log_many(void *arg)
{
	int t = (int)(intptr_t)arg;

	for (int i = 0; i < LOG_PER_THREAD; i++)
		log_msg(LL_INFO, "t%d n%d", t, i);
	return NULL;
}

static void test_many_threads(void **state)
{
	pthread_t th[LOG_THREADS];
	int next[LOG_THREADS] = {0};
	unsigned long dropped = log_dropped_total();
	FILE *f = err_to_file();
	char *s, *p;
	int t, i, n = 0;

	(void)state;
	/* Big enough that nothing is dropped. */
	assert_int_equal(log_async_start(8u << 20), 0);
	for (t = 0; t < LOG_THREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, log_many,
						(void *)(intptr_t)t),
				 0);
	for (t = 0; t < LOG_THREADS; t++)
		pthread_join(th[t], NULL);
	log_async_stop();
	err_restore();
	assert_int_equal(log_dropped_total(), dropped);
	s = file_text(f);
	assert_whole_lines(s);
	/* Each thread's lines in its order, none lost, none torn. */
	for (p = s; (p = strstr(p, " info t")); p++) {
		assert_int_equal(sscanf(p, " info t%d n%d", &t, &i), 2);
		assert_true(t >= 0 && t < LOG_THREADS);
		assert_int_equal(i, next[t]);
		next[t]++;
		n++;
	}
	assert_int_equal(n, LOG_THREADS * LOG_PER_THREAD);
	free(s);
}

/* Drains a pipe into a growing buffer until EOF. */
struct drain {
	int fd;
	pthread_mutex_t mu;
	char *buf;
	size_t len, cap;
};

static void *drain_run(void *arg)
{
	struct drain *d = arg;
	char chunk[4096];
	ssize_t n;

	while ((n = read(d->fd, chunk, sizeof(chunk))) > 0) {
		pthread_mutex_lock(&d->mu);
		if (d->len + (size_t)n + 1 > d->cap) {
			d->cap = (d->len + (size_t)n + 1) * 2;
			d->buf = xrealloc(d->buf, d->cap);
		}
		memcpy(d->buf + d->len, chunk, (size_t)n);
		d->len += (size_t)n;
		d->buf[d->len] = '\0';
		pthread_mutex_unlock(&d->mu);
	}
	return NULL;
}

static bool drain_has(struct drain *d, const char *s)
{
	bool has;

	pthread_mutex_lock(&d->mu);
	has = d->buf && strstr(d->buf, s);
	pthread_mutex_unlock(&d->mu);
	return has;
}

/* Fills a pipe so that its next write blocks; returns the bytes written. */
static size_t pipe_fill(int fd)
{
	char junk[4096];
	size_t n = 0;
	ssize_t w;
	int fl = fcntl(fd, F_GETFL);

	memset(junk, '#', sizeof(junk));
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	while ((w = write(fd, junk, sizeof(junk))) > 0)
		n += (size_t)w;
	fcntl(fd, F_SETFL, fl);
	return n;
}

/* A stuck writer (a full pipe nobody reads) never blocks a caller: lines
 * are dropped and counted, and the count is logged once the pipe drains,
 * where the gap is. */
static void test_drops_counted(void **state)
{
	struct drain d = {.mu = PTHREAD_MUTEX_INITIALIZER};
	unsigned long base = log_dropped_total(), dropped, noted = 0, k;
	const struct timespec tick = {0, 10 * 1000 * 1000};
	pthread_t reader;
	char *p, *note;
	size_t junk;
	int fds[2], i, n, written = 0, last = -1;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	junk = pipe_fill(fds[1]);
	err_to(fds[1]);
	assert_int_equal(log_async_start(4096), 0);
	for (n = 0; n < 100000 && log_dropped_total() - base < 100; n++)
		log_msg(LL_INFO, "fill %d", n);
	dropped = log_dropped_total() - base;
	assert_true(dropped >= 100);
	d.fd = fds[0];
	assert_int_equal(pthread_create(&reader, NULL, drain_run, &d), 0);
	for (i = 0; i < 1000 && !drain_has(&d, "log lines dropped"); i++)
		nanosleep(&tick, NULL);
	log_msg(LL_INFO, "after the drops");
	log_async_stop();
	err_restore(); /* closes the pipe's last writer: the reader ends */
	pthread_join(reader, NULL);
	close(fds[0]);
	assert_true(d.len > junk);
	p = d.buf + junk;
	assert_whole_lines(p);
	/* The lines written keep their order, and with the notes' counts
	 * they add up to all lines logged. */
	for (; (p = strstr(p, " info fill ")); p++) {
		assert_int_equal(sscanf(p, " info fill %d", &i), 1);
		assert_true(i > last);
		last = i;
		written++;
	}
	note = NULL;
	for (p = d.buf + junk; (p = strstr(p, " warn ")); p++) {
		assert_int_equal(sscanf(p, " warn %lu log lines dropped", &k),
				 1);
		noted += k;
		note = p;
	}
	assert_int_equal(noted, dropped);
	assert_int_equal((unsigned long)written + noted, (unsigned long)n);
	/* Once dropping, every later line is dropped until the queue
	 * drains; the note stands in the gap, before what came after. */
	assert_non_null(note);
	assert_null(strstr(note, " info fill "));
	assert_non_null(strstr(note, " info after the drops\n"));
	free(d.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sync_without_thread),
		cmocka_unit_test(test_order_and_flush_on_stop),
		cmocka_unit_test(test_many_threads),
		cmocka_unit_test(test_drops_counted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
