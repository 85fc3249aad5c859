/* test_log.c: the log queue and its logger thread (common/log.c), and
 * the line formats (JSON lines stay valid JSON whatever bytes they
 * carry).  Each test points stderr at a file or a pipe, logs, and reads
 * back what was written. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/log.h"

#include <fcntl.h>
#include <jansson.h>
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

/* --- Line formats ------------------------------------------------------ */

/* Parses one rendered JSON line: exactly one object, one line. */
static json_t *json_line(const char *line, size_t n)
{
	json_error_t je;
	json_t *o;

	assert_true(n > 2);
	assert_int_equal(line[n - 1], '\n');
	assert_ptr_equal(memchr(line, '\n', n), line + n - 1);
	o = json_loadb(line, n, 0, &je);
	if (!o)
		fprintf(stderr, "not JSON (%s): %s", je.text, line);
	assert_non_null(o);
	assert_true(json_is_object(o));
	return o;
}

static const char *jstr(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

static void test_json_hostile_strings(void **state)
{
	/* Quotes, backslashes, control bytes, DEL, and UTF-8 that is
	 * invalid: a lone continuation, an overlong NUL, a surrogate, a
	 * cut sequence, a code point past U+10FFFF, 0xFF. */
	static const char msg[] =
		"say \"hi\" \\ to\nthe\r\tlog\x01\x1b[31m\x7f"
		" \x80 \xc0\x80 \xed\xa0\x80 \xe2\x82 "
		"\xf4\x90\x80\x80 \xff ok: \xc3\xa9\xe2\x82\xac"
		"\xf0\x9f\x98\x80";
	static const char want[] =
		"say \"hi\" \\ to\nthe\r\tlog\x01\x1b[31m\x7f"
		" \xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd "
		"\xef\xbf\xbd\xef\xbf\xbd"
		"\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd"
		"\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd ok: \xc3\xa9\xe2\x82\xac"
		"\xf0\x9f\x98\x80";
	const struct log_field f[] = {
		{"path", "/v2/\"x\"/\n\xff", 0},
		{"status", NULL, 404},
		{"bytes", NULL, -1},
		{"min", NULL, INT64_MIN},
		{"zero", NULL, 0},
	};
	char line[4096];
	size_t n;
	json_t *o;

	(void)state;
	n = log_render(line, sizeof(line), LOG_JSON, LL_WARN, "abc-\"123", f, 5,
		       msg);
	assert_int_equal(strlen(line), n);
	o = json_line(line, n);
	assert_string_equal(jstr(o, "msg"), want);
	assert_string_equal(jstr(o, "level"), "warn");
	assert_string_equal(jstr(o, "request_id"), "abc-\"123");
	assert_string_equal(jstr(o, "path"), "/v2/\"x\"/\n\xef\xbf\xbd");
	assert_int_equal(json_integer_value(json_object_get(o, "status")), 404);
	assert_int_equal(json_integer_value(json_object_get(o, "bytes")), -1);
	assert_true(json_integer_value(json_object_get(o, "min")) == INT64_MIN);
	assert_int_equal(json_integer_value(json_object_get(o, "zero")), 0);
	/* RFC 3339, UTC, milliseconds. */
	assert_int_equal(strlen(jstr(o, "ts")), 24);
	assert_int_equal(jstr(o, "ts")[23], 'Z');
	assert_int_equal(jstr(o, "ts")[19], '.');
	json_decref(o);
}

/* Whatever the bytes and however small the line, it is one JSON object,
 * and the fields survive a message that fills it. */
static void test_json_any_bytes_any_cap(void **state)
{
	static const size_t caps[] = {256, 300, 1000, 8192};
	char msg[6000], val[300], line[8192];
	unsigned seed = 12345;
	const struct log_field f[] = {{"method", "GET", 0}, {"path", val, 0}};

	(void)state;
	for (int round = 0; round < 400; round++) {
		size_t len = (size_t)rand_r(&seed) % (sizeof(msg) - 1);
		size_t cap = caps[round % 4], n;
		json_t *o;

		for (size_t i = 0; i < len; i++)
			msg[i] = (char)(rand_r(&seed) % 255 + 1);
		msg[len] = '\0';
		for (size_t i = 0; i < sizeof(val) - 1; i++)
			val[i] = (char)(rand_r(&seed) % 255 + 1);
		val[sizeof(val) - 1] = '\0';
		n = log_render(line, cap, LOG_JSON, LL_INFO, "r1", f, 2, msg);
		assert_true(n < cap);
		assert_int_equal(strlen(line), n);
		o = json_line(line, n);
		assert_non_null(json_object_get(o, "msg"));
		assert_string_equal(jstr(o, "request_id"), "r1");
		if (cap >= 1000)
			assert_string_equal(jstr(o, "method"), "GET");
		json_decref(o);
	}
}

static void test_text_format(void **state)
{
	const struct log_field f[] = {{"status", NULL, 200}};
	char line[256];
	size_t n;

	(void)state;
	n = log_render(line, sizeof(line), LOG_TEXT, LL_INFO, "abc-123", f, 1,
		       "GET /v2/ 200");
	assert_int_equal(n, strlen(line));
	assert_string_equal(line + 25,
			    "info GET /v2/ 200 request_id=abc-123\n");
	n = log_render(line, sizeof(line), LOG_TEXT, LL_ERROR, "", NULL, 0,
		       "plain");
	assert_string_equal(line + 25, "error plain\n");
	/* A long line is cut, and still ends its line. */
	memset(line, 'x', sizeof(line));
	{
		char big[600];

		memset(big, 'm', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		n = log_render(line, sizeof(line), LOG_TEXT, LL_INFO, NULL,
			       NULL, 0, big);
	}
	assert_int_equal(n, sizeof(line) - 1);
	assert_int_equal(line[n - 1], '\n');
	assert_int_equal(line[n], '\0');
}

static void *rid_other_thread(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)(log_request_id()[0] != '\0');
}

static void test_thread_request_id(void **state)
{
	char id[300];
	pthread_t t;
	void *seen;

	(void)state;
	assert_string_equal(log_request_id(), "");
	log_set_request_id("abc-123");
	assert_string_equal(log_request_id(), "abc-123");
	/* Per thread. */
	assert_int_equal(pthread_create(&t, NULL, rid_other_thread, NULL), 0);
	pthread_join(t, &seen);
	assert_null(seen);
	/* Cut at LOG_REQUEST_ID_MAX. */
	memset(id, 'i', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	log_set_request_id(id);
	assert_int_equal(strlen(log_request_id()), LOG_REQUEST_ID_MAX);
	log_set_request_id(NULL);
	assert_string_equal(log_request_id(), "");
}

/* log_msg() in JSON carries the thread's request id; log_fields() names
 * its own. */
static void test_json_lines_carry_request_id(void **state)
{
	const struct log_field f[] = {{"request_id", "from-field", 0},
				      {"status", NULL, 201}};
	FILE *f_err = err_to_file();
	char *text, *nl, *line;
	int lines = 0;

	(void)state;
	log_set_format(LOG_JSON);
	log_set_request_id("from-thread");
	log_msg(LL_INFO, "one %s", "\"quoted\"");
	log_fields(LL_INFO, f, 2, "two");
	log_set_request_id(NULL);
	log_errno(LL_WARN, 2, "three");
	log_set_format(LOG_TEXT);
	err_restore();
	text = file_text(f_err);
	for (line = text; (nl = strchr(line, '\n')); line = nl + 1) {
		json_t *o = json_line(line, (size_t)(nl - line + 1));
		const json_t *rid = json_object_get(o, "request_id");

		if (lines == 0) {
			assert_string_equal(jstr(o, "msg"), "one \"quoted\"");
			assert_string_equal(json_string_value(rid),
					    "from-thread");
		} else if (lines == 1) {
			assert_string_equal(json_string_value(rid),
					    "from-field");
			assert_int_equal(json_integer_value(
						 json_object_get(o, "status")),
					 201);
		} else {
			assert_null(rid);
			assert_non_null(strstr(jstr(o, "msg"), "three: "));
		}
		json_decref(o);
		*nl = '\0';
		lines++;
	}
	assert_int_equal(lines, 3);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sync_without_thread),
		cmocka_unit_test(test_order_and_flush_on_stop),
		cmocka_unit_test(test_many_threads),
		cmocka_unit_test(test_drops_counted),
		cmocka_unit_test(test_json_hostile_strings),
		cmocka_unit_test(test_json_any_bytes_any_cap),
		cmocka_unit_test(test_text_format),
		cmocka_unit_test(test_thread_request_id),
		cmocka_unit_test(test_json_lines_carry_request_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
