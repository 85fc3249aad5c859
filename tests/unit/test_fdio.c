/* test_fdio.c: whole reads and writes (common/fdio.c) on pipes, whose
 * reads and writes move a piece at a time, on files, and under a signal
 * that interrupts them (EINTR). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/fdio.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/banned.h"

#define BIG (1u << 20) /* sixteen times a pipe's buffer */

static void fill(char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (char)(i * 7 + i / 251);
}

static void nap_ms(long ms)
{
	struct timespec ts = {0, ms * 1000000L};

	nanosleep(&ts, NULL);
}

/* --- A writer or reader on the far end of a pipe ------------------------- */

struct peer {
	int fd;
	char *buf;
	size_t len;
	long pause_ms; /* between pieces */
	size_t piece;
	/* Start once it is 3 (NULL: at once). */
	volatile sig_atomic_t *wait_for;
};

static void *peer_write(void *arg)
{
	struct peer *p = arg;

	while (p->wait_for && *p->wait_for < 3)
		nap_ms(1);
	for (size_t off = 0; off < p->len; off += p->piece) {
		size_t n = p->len - off < p->piece ? p->len - off : p->piece;

		if (write(p->fd, p->buf + off, n) != (ssize_t)n)
			break;
		nap_ms(p->pause_ms);
	}
	close(p->fd);
	return NULL;
}

static void *peer_read(void *arg)
{
	struct peer *p = arg;
	size_t got = 0;
	ssize_t n;

	while (p->wait_for && *p->wait_for < 3)
		nap_ms(1);
	while (got < p->len) {
		n = read(p->fd, p->buf + got, p->piece);
		if (n <= 0)
			break;
		got += (size_t)n;
		nap_ms(p->pause_ms);
	}
	p->len = got;
	return NULL;
}

/* Starts fn on a thread that never takes SIGALRM: the signal goes to the
 * caller, blocked in fdio. */
static void peer_start(pthread_t *t, void *(*fn)(void *), struct peer *p)
{
	sigset_t alrm, old;

	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alrm, &old);
	assert_int_equal(pthread_create(t, NULL, fn, p), 0);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* --- Tests ---------------------------------------------------------------- */

static void test_pipe_in_pieces(void **state)
{
	char *want = xmalloc(BIG), *got = xmalloc(BIG);
	struct peer p = {0};
	pthread_t t;
	int fds[2];

	(void)state;
	fill(want, BIG);
	/* Reading: the pipe hands over at most its buffer per read(2). */
	assert_int_equal(pipe(fds), 0);
	p = (struct peer){fds[1], want, BIG, 0, 10000, NULL};
	peer_start(&t, peer_write, &p);
	assert_int_equal(fdio_read_all(fds[0], got, BIG), BIG);
	assert_memory_equal(got, want, BIG);
	pthread_join(t, NULL);
	/* The writer closed its end: the end of the file. */
	assert_int_equal(fdio_read_all(fds[0], got, 10), 0);
	assert_int_equal(fdio_read(fds[0], got, 10), 0);
	close(fds[0]);

	/* Writing: write(2) blocks on a full pipe, then moves a piece. */
	memset(got, 0, BIG);
	assert_int_equal(pipe(fds), 0);
	p = (struct peer){fds[0], got, BIG, 0, 3000, NULL};
	peer_start(&t, peer_read, &p);
	assert_int_equal(fdio_write_all(fds[1], want, BIG), 0);
	pthread_join(t, NULL);
	assert_int_equal(p.len, BIG);
	assert_memory_equal(got, want, BIG);
	close(fds[0]);
	close(fds[1]);
	free(want);
	free(got);
}

static void test_file_short_and_offsets(void **state)
{
	FILE *f = tmpfile();
	char buf[64];
	int fd;

	(void)state;
	assert_non_null(f);
	fd = fileno(f);
	assert_int_equal(fdio_write_all(fd, "0123456789", 10), 0);
	/* pwrite: at its offset, the position (10) unmoved. */
	assert_int_equal(fdio_pwrite_all(fd, "ab", 2, 4), 0);
	assert_int_equal(fdio_write_all(fd, "XY", 2), 0);
	assert_int_equal(fdio_pread_all(fd, buf, sizeof(buf), 0), 12);
	assert_memory_equal(buf, "0123ab6789XY", 12);
	/* Fewer bytes than asked only at the end of the file. */
	assert_int_equal(fdio_pread_all(fd, buf, sizeof(buf), 8), 4);
	assert_memory_equal(buf, "89XY", 4);
	assert_int_equal(fdio_pread_all(fd, buf, sizeof(buf), 12), 0);
	assert_int_equal(lseek(fd, 3, SEEK_SET), 3);
	assert_int_equal(fdio_read_all(fd, buf, 4), 4);
	assert_memory_equal(buf, "3ab6", 4);
	assert_int_equal(fdio_read_all(fd, buf, sizeof(buf)), 5);
	assert_int_equal(fdio_read(fd, buf, sizeof(buf)), 0);
	assert_int_equal(fdio_write_all(fd, buf, 0), 0);
	fclose(f);
}

static void test_failures_keep_errno(void **state)
{
	char buf[8];
	int fds[2];

	(void)state;
	assert_int_equal(fdio_read_all(-1, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(fdio_read(-1, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(fdio_write_all(-1, "x", 1), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(fdio_pwrite_all(-1, "x", 1, 0), -1);
	assert_int_equal(errno, EBADF);
	/* A pipe nobody reads: EPIPE (SIGPIPE ignored, as the server does). */
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe(fds), 0);
	close(fds[0]);
	assert_int_equal(fdio_write_all(fds[1], "x", 1), -1);
	assert_int_equal(errno, EPIPE);
	close(fds[1]);
	/* pread on a pipe: ESPIPE. */
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(fdio_pread_all(fds[0], buf, 1, 0), -1);
	assert_int_equal(errno, ESPIPE);
	close(fds[0]);
	close(fds[1]);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* A timer every 2 ms, its handler installed without SA_RESTART: a read or
 * write blocked meanwhile fails with EINTR, and fdio goes on. */
static void test_interrupted(void **state)
{
	struct itimerval every = {{0, 2000}, {0, 2000}}, off = {{0, 0}, {0, 0}};
	struct sigaction sa = {0}, old;
	char *want = xmalloc(BIG), *got = xmalloc(BIG);
	struct peer p;
	pthread_t t;
	int fds[2];

	(void)state;
	fill(want, BIG);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);

	alarms = 0;
	assert_int_equal(pipe(fds), 0);
	p = (struct peer){fds[1], want, 64 * 1024, 5, 4096, &alarms};
	peer_start(&t, peer_write, &p);
	assert_int_equal(setitimer(ITIMER_REAL, &every, NULL), 0);
	assert_int_equal(fdio_read_all(fds[0], got, 64 * 1024), 64 * 1024);
	setitimer(ITIMER_REAL, &off, NULL);
	pthread_join(t, NULL);
	assert_memory_equal(got, want, 64 * 1024);
	assert_true(alarms >= 3);
	close(fds[0]);

	alarms = 0;
	memset(got, 0, BIG);
	assert_int_equal(pipe(fds), 0);
	p = (struct peer){fds[0], got, BIG, 1, 65536, &alarms};
	peer_start(&t, peer_read, &p);
	assert_int_equal(setitimer(ITIMER_REAL, &every, NULL), 0);
	assert_int_equal(fdio_write_all(fds[1], want, BIG), 0);
	setitimer(ITIMER_REAL, &off, NULL);
	close(fds[1]);
	pthread_join(t, NULL);
	assert_int_equal(p.len, BIG);
	assert_memory_equal(got, want, BIG);
	assert_true(alarms >= 3);
	close(fds[0]);

	sigaction(SIGALRM, &old, NULL);
	free(want);
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipe_in_pieces),
		cmocka_unit_test(test_file_short_and_offsets),
		cmocka_unit_test(test_failures_keep_errno),
		cmocka_unit_test(test_interrupted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
