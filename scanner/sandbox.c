/* sandbox.c: reading untrusted images in worker processes (see scanner.h).
 *
 * The parent and its worker talk over a stream socketpair (the worker's
 * fd 3) in frames: a 4-byte length, a 1-byte kind, then the payload; a
 * descriptor rides on the frame that announces it.
 *
 *	parent -> worker  JOB	 {"digest"} or {"image"}, budget, meta
 *	worker -> parent  OPEN	 {"digest"}
 *	parent -> worker  BLOB	 {"ok", "offset", "size", "stream"} + fd,
 *				 or {"ok": false, "code", "msg"}
 *	worker -> parent  STATS	 {"peak_rss_kib"}: what it used (logged)
 *	worker -> parent  REPORT the report JSON, or ERROR {"code", "msg"}
 *
 * Blobs that are files go over as descriptors; the rest (a layer inside
 * a compressed docker-save tarball) go through a pipe the parent fills
 * while the worker reads.  The parent trusts nothing a worker says: each
 * frame is length-capped, each wait has the deadline, and the report is
 * parsed by jansson with a size cap like any other client JSON.
 */
#define _GNU_SOURCE /* close_range, pipe2 */
#include "scanner/scan_int.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/fdio.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "common/banned.h"

extern char **environ;

#define SB_FD	   3	       /* the worker's end of the socketpair */
#define SB_MSG_MAX (64u << 10) /* any frame but a job or a report */
#define SB_JOB_MAX (8u << 20)  /* a job: an image of up to 1024 layers */
#define SB_NOBODY  65534

enum sb_kind { SB_JOB = 1, SB_OPEN, SB_BLOB, SB_REPORT, SB_ERROR, SB_STATS };

#if defined(__SANITIZE_ADDRESS__)
#define SB_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SB_SANITIZED 1
#endif
#endif
#ifndef SB_SANITIZED
#define SB_SANITIZED 0
#endif

void scan_sandbox_defaults(struct scan_sandbox *sb)
{
	memset(sb, 0, sizeof(*sb));
	sb->memory_bytes = SCAN_SANDBOX_MEMORY;
	sb->report_bytes = SCAN_SANDBOX_REPORT;
	sb->grace_s = SCAN_SANDBOX_GRACE;
}

/* --- Frames ------------------------------------------------------------- */

static int64_t sb_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to be ready for ev until deadline (ms, monotonic; 0: no
 * deadline).  0 ready, -1 timeout or error (errno ETIMEDOUT on timeout). */
static int sb_wait(int fd, short ev, int64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = ev};
		int64_t left = deadline ? deadline - sb_now_ms() : -1;
		int r;

		if (deadline && left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static int sb_write_all(int fd, const void *p, size_t n, int64_t deadline)
{
	const char *c = p;

	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (sb_wait(fd, POLLOUT, deadline))
				return -1;
			continue;
		}
		if (w < 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Sends one frame; passfd (>= 0) travels with its first byte. */
static int sb_send(int fd, enum sb_kind kind, const char *p, size_t n,
		   int passfd, int64_t deadline)
{
	unsigned char hdr[5];
	uint32_t len = (uint32_t)n;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = {.iov_base = hdr, .iov_len = sizeof(hdr)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t w;

	memcpy(hdr, &len, 4);
	hdr[4] = (unsigned char)kind;
	if (passfd >= 0) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &passfd, sizeof(int));
	}
	do {
		if (sb_wait(fd, POLLOUT, deadline))
			return -1;
		w = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (w < 0 && (errno == EAGAIN || errno == EINTR));
	if (w < 0)
		return -1;
	if (w < (ssize_t)sizeof(hdr) &&
	    sb_write_all(fd, hdr + w, sizeof(hdr) - (size_t)w, deadline))
		return -1;
	return sb_write_all(fd, p, n, deadline);
}

static int sb_send_json(int fd, enum sb_kind kind, const json_t *j, int passfd,
			int64_t deadline)
{
	char *s = json_dumps(j, JSON_COMPACT);
	int r;

	if (!s)
		return -1;
	r = sb_send(fd, kind, s, strlen(s), passfd, deadline);
	free(s);
	return r;
}

static int sb_read_all(int fd, void *p, size_t n, int64_t deadline)
{
	char *c = p;

	while (n) {
		ssize_t r;

		if (sb_wait(fd, POLLIN, deadline))
			return -1;
		r = recv(fd, c, n, MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0) {
			if (!r)
				errno = EPIPE;
			return -1;
		}
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

struct sb_frame {
	enum sb_kind kind;
	char *data; /* NUL-terminated; the caller frees */
	size_t len;
	int fd; /* passed with the frame, or -1 */
};

/* Reads one frame of at most cap bytes.  -1 with errno EPIPE at the end
 * of the stream, ETIMEDOUT at the deadline, EMSGSIZE over cap. */
static int sb_recv(int fd, size_t cap, int64_t deadline, struct sb_frame *f)
{
	unsigned char hdr[5];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} cm;
	struct iovec iov = {.iov_base = hdr, .iov_len = sizeof(hdr)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cm.buf,
			    .msg_controllen = sizeof(cm.buf)};
	struct cmsghdr *c;
	uint32_t len;
	ssize_t r;

	f->data = NULL;
	f->fd = -1;
	do {
		if (sb_wait(fd, POLLIN, deadline))
			return -1;
		r = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (r < 0 && (errno == EAGAIN || errno == EINTR));
	if (r <= 0) {
		if (!r)
			errno = EPIPE;
		return -1;
	}
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		int fds[4];
		size_t nfd;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(fds, CMSG_DATA(c), nfd * sizeof(int));
		for (size_t i = 0; i < nfd && i < 4; i++) {
			if (f->fd < 0)
				f->fd = fds[i];
			else
				close(fds[i]);
		}
	}
	if (r < (ssize_t)sizeof(hdr) &&
	    sb_read_all(fd, hdr + r, sizeof(hdr) - (size_t)r, deadline))
		goto fail;
	memcpy(&len, hdr, 4);
	if (len > cap) {
		errno = EMSGSIZE;
		goto fail;
	}
	f->kind = hdr[4];
	f->len = len;
	f->data = xmalloc((size_t)len + 1);
	if (sb_read_all(fd, f->data, len, deadline))
		goto fail;
	f->data[len] = '\0';
	return 0;
fail:
	free(f->data);
	f->data = NULL;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	return -1;
}

static void sb_frame_release(struct sb_frame *f)
{
	free(f->data);
	f->data = NULL;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* --- What travels: budgets and images ------------------------------------ */

static const struct {
	const char *name;
	size_t off;
} sb_budget_keys[] = {
	{"layer_bytes", offsetof(struct scan_budget, layer_bytes)},
	{"image_bytes", offsetof(struct scan_budget, image_bytes)},
	{"ratio", offsetof(struct scan_budget, ratio)},
	{"layer_entries", offsetof(struct scan_budget, layer_entries)},
	{"file_bytes", offsetof(struct scan_budget, file_bytes)},
	{"packages", offsetof(struct scan_budget, packages)},
	{"deadline_ms", offsetof(struct scan_budget, deadline_ms)},
};
#define SB_NKEYS (sizeof(sb_budget_keys) / sizeof(*sb_budget_keys))

static json_t *sb_budget_json(const struct scan_budget *b)
{
	json_t *o = json_object();

	for (size_t i = 0; i < SB_NKEYS; i++)
		json_object_set_new(
			o, sb_budget_keys[i].name,
			json_integer(
				*(const int64_t *)((const char *)b +
						   sb_budget_keys[i].off)));
	return o;
}

static void sb_budget_parse(const json_t *o, struct scan_budget *b)
{
	scan_budget_defaults(b);
	for (size_t i = 0; i < SB_NKEYS; i++) {
		json_t *v = json_object_get(o, sb_budget_keys[i].name);

		if (json_is_integer(v) && json_integer_value(v) >= 0)
			*(int64_t *)((char *)b + sb_budget_keys[i].off) =
				json_integer_value(v);
	}
}

static json_t *sb_str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *sb_image_json(const struct image *img)
{
	char ds[DIGEST_STR_MAX];
	json_t *o = json_object(), *ls = json_array();

	if (img->has_digest)
		json_object_set_new(o, "digest",
				    json_string(digest_str(&img->digest, ds)));
	json_object_set_new(o, "mediaType", sb_str_or_null(img->media_type));
	json_object_set_new(o, "config",
			    json_string(digest_str(&img->config, ds)));
	json_object_set_new(o, "os", sb_str_or_null(img->os));
	json_object_set_new(o, "arch", sb_str_or_null(img->arch));
	json_object_set_new(o, "variant", sb_str_or_null(img->variant));
	for (size_t i = 0; i < img->nlayers; i++) {
		json_t *l = json_object();

		json_object_set_new(
			l, "digest",
			json_string(digest_str(&img->layers[i].digest, ds)));
		json_object_set_new(l, "mediaType",
				    sb_str_or_null(img->layers[i].media_type));
		json_object_set_new(l, "external",
				    json_boolean(img->layers[i].external));
		json_array_append_new(ls, l);
	}
	json_object_set_new(o, "layers", ls);
	return o;
}

static char *sb_dup(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? xstrdup(s) : NULL;
}

static int sb_digest(const json_t *o, const char *key, struct digest *dg)
{
	const char *s = json_string_value(json_object_get(o, key));
	struct err e = ERR_INIT;

	return s ? digest_parse(s, strlen(s), dg, &e) : -1;
}

/* The worker's copy of the image its parent resolved. */
static int sb_image_parse(const json_t *o, struct image_set *set)
{
	const json_t *ls = json_object_get(o, "layers"), *l;
	struct image *img;
	size_t i;

	if (!json_is_array(ls) || json_array_size(ls) > IMAGE_MAX_LAYERS)
		return -1;
	set->images = xcalloc(1, sizeof(*set->images));
	set->nimages = 1;
	img = &set->images[0];
	img->has_digest = !sb_digest(o, "digest", &img->digest);
	img->media_type = sb_dup(o, "mediaType");
	img->os = sb_dup(o, "os");
	img->arch = sb_dup(o, "arch");
	img->variant = sb_dup(o, "variant");
	if (sb_digest(o, "config", &img->config))
		return -1;
	img->layers = xcalloc(json_array_size(ls) + 1, sizeof(*img->layers));
	json_array_foreach(ls, i, l) {
		if (sb_digest(l, "digest", &img->layers[i].digest))
			return -1;
		img->layers[i].media_type = sb_dup(l, "mediaType");
		img->layers[i].external =
			json_is_true(json_object_get(l, "external"));
		img->nlayers++;
	}
	return 0;
}

/* --- The parent ---------------------------------------------------------- */

struct sb_run {
	const struct scan_sandbox *sb;
	const struct scan_source *src;
	int sock;
	pid_t pid;
	int64_t deadline; /* ms, monotonic */
	int64_t deadline_s;
	long peak_rss_kib; /* as the worker said; -1 unknown */
};

static const char *sb_exe(const struct scan_sandbox *sb)
{
	return sb->exe ? sb->exe : "/proc/self/exe";
}

/* Sanitizer and log settings pass to the worker; nothing else of the
 * environment does. */
static char **sb_env(void)
{
	static const char *const keep[] = {"ASAN_OPTIONS=", "UBSAN_OPTIONS=",
					   "LSAN_OPTIONS=", "CUSTOMS_LOG="};
	size_t n = 0, i, k;
	char **env = xcalloc(sizeof(keep) / sizeof(*keep) + 1, sizeof(*env));

	for (i = 0; environ && environ[i]; i++)
		for (k = 0; k < sizeof(keep) / sizeof(*keep); k++)
			if (!strncmp(environ[i], keep[k], strlen(keep[k])) &&
			    n < sizeof(keep) / sizeof(*keep))
				env[n++] = environ[i];
	return env;
}

static int sb_spawn(struct sb_run *r, struct err *e)
{
	char *argv[] = {(char *)"customs", (char *)"scan-worker", NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, def;
	char **env = sb_env();
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		free(env);
		return err_errno(e, ERR_IO, errno, "scan worker: socketpair");
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], SB_FD);
	/* stdout may be the caller's report file: not the worker's. */
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
					 O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null",
					 O_WRONLY, 0);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigfillset(&def);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&r->pid, sb_exe(r->sb), &fa, &at, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	free(env);
	close(sv[1]);
	if (rc) {
		close(sv[0]);
		r->pid = -1;
		return err_errno(e, ERR_IO, rc, "scan worker: spawn %s",
				 sb_exe(r->sb));
	}
	r->sock = sv[0];
	if (r->sb->track)
		r->sb->track(r->sb->track_ctx, r->pid);
	return 0;
}

/* Ends the worker (killed unless it has exited) and says how it ended
 * into e when it did not exit cleanly. */
static void sb_reap(struct sb_run *r, bool kill_it, struct err *e)
{
	struct rusage ru;
	int st = 0;
	pid_t p;

	if (r->pid <= 0)
		return;
	if (r->sb->track)
		r->sb->track(r->sb->track_ctx, 0);
	if (kill_it)
		kill(r->pid, SIGKILL);
	/* A worker that said its last word exits at once; give it a moment
	 * before the kill. */
	for (int i = 0; i < 200; i++) {
		p = wait4(r->pid, &st, WNOHANG, &ru);
		if (p == r->pid || (p < 0 && errno != EINTR))
			break;
		if (i == 100)
			kill(r->pid, SIGKILL);
		usleep(i < 20 ? 1000 : 10000);
	}
	if (p != r->pid && wait4(r->pid, &st, 0, &ru) != r->pid) {
		st = 0;
		memset(&ru, 0, sizeof(ru));
	}
	/* (ru_maxrss is no use: a spawned child inherits its parent's.) */
	log_msg(LL_DEBUG, "scan worker %d: %ld ms CPU, %ld KiB peak RSS",
		(int)r->pid,
		(long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
			(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000,
		r->peak_rss_kib);
	r->pid = -1;
	if (!e || kill_it)
		return;
	if (WIFSIGNALED(st)) {
		int sig = WTERMSIG(st);

		if (sig == SIGXCPU)
			err_set(e, ERR_TOO_LARGE,
				"scan worker killed: CPU time limit of %" PRId64
				" s",
				r->deadline_s);
		else
			err_set(e, ERR_INVALID,
				"scan worker died: signal %d (%s)%s", sig,
				strsignal(sig),
				sig == SIGABRT || sig == SIGSEGV
					? "; out of memory under its "
					  "address-space limit, or a crash"
					: "");
	} else if (WIFEXITED(st) && WEXITSTATUS(st)) {
		err_set(e, ERR_INVALID, "scan worker exited with status %d",
			WEXITSTATUS(st));
	}
}

/* Fills a pipe with a blob that is not a file, while the worker reads. */
static int sb_pump(struct sb_run *r, struct scan_blob *b, int wfd,
		   struct err *e)
{
	const void *p;
	ssize_t n;

	while ((n = b->read(b->ctx, &p, e)) > 0) {
		const char *c = p;

		while (n > 0) {
			ssize_t w = write(wfd, c, (size_t)n);

			if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
				if (sb_wait(wfd, POLLOUT, r->deadline))
					return errno == ETIMEDOUT ? 1 : 0;
				continue;
			}
			if (w < 0)
				return 0; /* the worker stopped reading */
			c += w;
			n -= w;
		}
	}
	return n < 0 ? -1 : 0;
}

/* Answers an OPEN.  -1 with e set ends the scan: the caller's side failed
 * (a passing error), or the deadline passed. */
static int sb_open(struct sb_run *r, const struct sb_frame *f, struct err *e)
{
	json_t *req = json_loadb(f->data, f->len, 0, NULL), *rep = NULL;
	struct err be = ERR_INIT;
	struct scan_blob b;
	struct digest dg;
	int pfd[2] = {-1, -1}, ret = -1, pr;

	scan_blob_init(&b);
	if (!req || sb_digest(req, "digest", &dg)) {
		err_set(e, ERR_INVALID, "scan worker: malformed request");
		goto out;
	}
	if (r->src->open_blob(r->src->ctx, &dg, &b, &be)) {
		if (be.code != ERR_BLOB_UNKNOWN && be.code != ERR_TOO_LARGE &&
		    be.code != ERR_INVALID && be.code != ERR_UNSUPPORTED) {
			err_set(e, ERR_IO, "%s", be.msg);
			goto out;
		}
		rep = json_pack("{sbsiss}", "ok", 0, "code", (int)be.code,
				"msg", be.msg);
		if (sb_send_json(r->sock, SB_BLOB, rep, -1, r->deadline))
			goto gone;
		ret = 0;
		goto out;
	}
	if (b.fd >= 0) {
		rep = json_pack("{sbsIsI}", "ok", 1, "offset",
				(json_int_t)b.offset, "size",
				(json_int_t)b.size);
		if (sb_send_json(r->sock, SB_BLOB, rep, b.fd, r->deadline))
			goto gone;
		ret = 0;
		goto out;
	}
	if (pipe2(pfd, O_CLOEXEC) || fcntl(pfd[1], F_SETFL, O_NONBLOCK)) {
		err_errno(e, ERR_IO, errno, "scan worker: pipe");
		goto out;
	}
	rep = json_pack("{sbsIsIsb}", "ok", 1, "offset", (json_int_t)0, "size",
			(json_int_t)b.size, "stream", 1);
	if (sb_send_json(r->sock, SB_BLOB, rep, pfd[0], r->deadline))
		goto gone;
	close(pfd[0]);
	pfd[0] = -1;
	pr = sb_pump(r, &b, pfd[1], &be);
	if (pr < 0) {
		err_set(e, ERR_IO, "%s", be.msg);
		goto out;
	}
	if (pr > 0)
		goto gone;
	ret = 0;
	goto out;
gone:
	/* The worker stopped listening (it died, or the deadline passed):
	 * the caller finds out which from its exit. */
	ret = 0;
out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	scan_blob_close(&b);
	json_decref(req);
	json_decref(rep);
	return ret;
}

/* The worker's final word: a report, or why there is none. */
static int sb_final(const struct sb_frame *f, json_t **report, struct err *e)
{
	json_error_t je;
	json_t *j = json_loadb(f->data, f->len, JSON_REJECT_DUPLICATES, &je);
	json_int_t code;

	if (f->kind == SB_REPORT) {
		if (!json_is_object(j)) {
			json_decref(j);
			return err_set(e, ERR_INVALID,
				       "scan worker: report is not a JSON "
				       "object");
		}
		*report = j;
		return 0;
	}
	code = json_integer_value(json_object_get(j, "code"));
	/* A worker names only failures of the image itself. */
	if (code != ERR_MANIFEST_INVALID && code != ERR_MANIFEST_UNKNOWN &&
	    code != ERR_BLOB_UNKNOWN && code != ERR_UNSUPPORTED &&
	    code != ERR_TOO_LARGE)
		code = ERR_INVALID;
	err_set(e, (enum err_code)code, "%s",
		json_string_value(json_object_get(j, "msg"))
			? json_string_value(json_object_get(j, "msg"))
			: "scan worker failed");
	json_decref(j);
	return -1;
}

static long sb_stat(const struct sb_frame *f, const char *key)
{
	json_t *j = json_loadb(f->data, f->len, 0, NULL);
	long v = (long)json_integer_value(json_object_get(j, key));

	json_decref(j);
	return v;
}

/* Runs one job in a fresh worker: a report without findings. */
static int sb_run(const struct scan_sandbox *sb, const struct scan_source *src,
		  json_t *job, const struct scan_budget *bud, json_t **report,
		  struct err *e)
{
	struct sb_run r = {.sb = sb,
			   .src = src,
			   .sock = -1,
			   .pid = -1,
			   .peak_rss_kib = -1};
	struct sb_frame f = {.fd = -1};
	struct err we = ERR_INIT;
	bool done = false;
	int ret = -1;

	r.deadline_s = bud->deadline_ms / 1000 + sb->grace_s;
	json_object_set_new(
		job, "cpu_s",
		json_integer(bud->deadline_ms ? r.deadline_s + 1 : 0));
	json_object_set_new(job, "memory", json_integer(sb->memory_bytes));
	if (sb_spawn(&r, e))
		goto out;
	r.deadline = bud->deadline_ms ? sb_now_ms() + r.deadline_s * 1000 : 0;
	if (sb_send_json(r.sock, SB_JOB, job, -1, r.deadline))
		goto died;
	while (!done) {
		size_t cap = SB_MSG_MAX;

		if (sb->report_bytes > (int64_t)cap)
			cap = (size_t)sb->report_bytes;
		if (sb_recv(r.sock, cap, r.deadline, &f)) {
			if (errno == ETIMEDOUT) {
				err_set(e, ERR_TOO_LARGE,
					"scan deadline of %" PRId64
					" s passed; worker killed",
					r.deadline_s);
				sb_reap(&r, true, NULL);
				goto out;
			}
			if (errno == EMSGSIZE) {
				err_set(e, ERR_TOO_LARGE,
					"scan worker's report is over %" PRId64
					" bytes",
					sb->report_bytes);
				sb_reap(&r, true, NULL);
				goto out;
			}
			goto died;
		}
		switch (f.kind) {
		case SB_OPEN:
			if (f.len > SB_MSG_MAX) {
				err_set(e, ERR_INVALID,
					"scan worker: oversized request");
				sb_reap(&r, true, NULL);
				goto out;
			}
			if (sb_open(&r, &f, e)) {
				sb_reap(&r, true, NULL);
				goto out;
			}
			break;
		case SB_STATS:
			r.peak_rss_kib = sb_stat(&f, "peak_rss_kib");
			break;
		case SB_REPORT:
		case SB_ERROR:
			ret = sb_final(&f, report, e);
			done = true;
			break;
		default:
			err_set(e, ERR_INVALID, "scan worker: unknown frame %d",
				(int)f.kind);
			sb_reap(&r, true, NULL);
			goto out;
		}
		sb_frame_release(&f);
	}
	sb_reap(&r, false, NULL);
	goto out;
died:
	sb_reap(&r, false, &we);
	if (we.code == ERR_OK)
		err_set(&we, ERR_INVALID, "scan worker ended without a report");
	err_set(e, we.code, "%s", we.msg);
out:
	sb_frame_release(&f);
	if (r.sock >= 0)
		close(r.sock);
	if (r.pid > 0)
		sb_reap(&r, true, NULL);
	return ret;
}

static json_t *sb_job(const struct scan_opts *o, const struct scan_budget *b)
{
	json_t *j = json_object();

	json_object_set_new(j, "budget", sb_budget_json(b));
	json_object_set_new(j, "repository", sb_str_or_null(o->repository));
	json_object_set_new(j, "tag", sb_str_or_null(o->tag));
	json_object_set_new(j, "now",
			    json_integer(o->now ? o->now : time(NULL)));
	json_object_set_new(j, "db_note", sb_str_or_null(o->db_note));
	return j;
}

/* A worker's report, matched here against the caller's DB. */
static int sb_match(json_t *raw, const struct scan_opts *o, json_t **report,
		    struct err *e)
{
	int r;

	if (!o->db) {
		*report = raw;
		return 0;
	}
	r = scan_rematch(raw, o->db, o->now, report, e);
	json_decref(raw);
	return r;
}

int scan_image_sandboxed(const struct scan_sandbox *sb,
			 const struct scan_source *src, const struct image *img,
			 const struct scan_opts *opts, json_t **report,
			 struct err *e)
{
	struct scan_budget bud;
	json_t *job, *raw = NULL;
	int r;

	if (opts->budget)
		bud = *opts->budget;
	else
		scan_budget_defaults(&bud);
	job = sb_job(opts, &bud);
	json_object_set_new(job, "image", sb_image_json(img));
	r = sb_run(sb, src, job, &bud, &raw, e);
	json_decref(job);
	if (r)
		return -1;
	return sb_match(raw, opts, report, e);
}

int scan_layer_index_sandboxed(const struct scan_source *src,
			       const struct digest *dg,
			       const struct scan_budget *b,
			       const struct scan_sandbox *sb, json_t **index,
			       struct err *e)
{
	struct scan_opts o = {.budget = b};
	struct scan_budget bud;
	char ds[DIGEST_STR_MAX];
	json_t *job;
	int r;

	if (b)
		bud = *b;
	else
		scan_budget_defaults(&bud);
	if (sb->unsafe_inprocess)
		return scan_layer_index(src, dg, &bud, index, e);
	job = sb_job(&o, &bud);
	json_object_set_new(job, "layer", json_string(digest_str(dg, ds)));
	r = sb_run(sb, src, job, &bud, index, e);
	json_decref(job);
	return r;
}

int scan_run_sandboxed(const struct scan_source *src, const struct digest *dg,
		       const struct scan_opts *opts,
		       const struct scan_sandbox *sb, json_t **report,
		       struct err *e)
{
	struct scan_budget bud;
	char ds[DIGEST_STR_MAX];
	json_t *job, *raw = NULL;
	int r;

	if (sb->unsafe_inprocess)
		return scan_run(src, dg, opts, report, e);
	if (opts->budget)
		bud = *opts->budget;
	else
		scan_budget_defaults(&bud);
	job = sb_job(opts, &bud);
	json_object_set_new(job, "digest", json_string(digest_str(dg, ds)));
	r = sb_run(sb, src, job, &bud, &raw, e);
	json_decref(job);
	if (r)
		return -1;
	return sb_match(raw, opts, report, e);
}

/* --- The worker ---------------------------------------------------------- */

struct sb_stream {
	int fd;
	char buf[128u << 10];
};

static ssize_t sb_stream_read(void *ctx, const void **buf, struct err *e)
{
	struct sb_stream *s = ctx;
	ssize_t n;

	n = fdio_read(s->fd, s->buf, sizeof(s->buf));
	if (n < 0)
		return err_errno(e, ERR_IO, errno, "read layer stream");
	*buf = s->buf;
	return n;
}

static void sb_stream_close(void *ctx)
{
	struct sb_stream *s = ctx;

	close(s->fd);
	free(s);
}

/* The worker's scan_source: every blob is asked of the parent. */
static int sb_remote_open(void *ctx, const struct digest *dg,
			  struct scan_blob *b, struct err *e)
{
	char ds[DIGEST_STR_MAX];
	struct sb_frame f = {.fd = -1};
	json_t *req, *rep = NULL;
	int ret = -1;

	(void)ctx;
	scan_blob_init(b);
	req = json_pack("{ss}", "digest", digest_str(dg, ds));
	if (sb_send_json(SB_FD, SB_OPEN, req, -1, 0) ||
	    sb_recv(SB_FD, SB_MSG_MAX, 0, &f) || f.kind != SB_BLOB) {
		err_errno(e, ERR_IO, errno, "blob %s: parent", ds);
		goto out;
	}
	rep = json_loadb(f.data, f.len, 0, NULL);
	if (!json_is_true(json_object_get(rep, "ok")) || f.fd < 0) {
		const char *m = json_string_value(json_object_get(rep, "msg"));
		json_int_t c = json_integer_value(json_object_get(rep, "code"));

		err_set(e, c > 0 && c < ERR__COUNT ? (enum err_code)c : ERR_IO,
			"%s", m ? m : "blob not available");
		goto out;
	}
	if (json_is_true(json_object_get(rep, "stream"))) {
		struct sb_stream *s = xmalloc(sizeof(*s));

		s->fd = f.fd;
		f.fd = -1;
		b->read = sb_stream_read;
		b->close = sb_stream_close;
		b->ctx = s;
		b->size = json_integer_value(json_object_get(rep, "size"));
	} else {
		b->fd = f.fd;
		f.fd = -1;
		b->offset = json_integer_value(json_object_get(rep, "offset"));
		b->size = json_integer_value(json_object_get(rep, "size"));
	}
	ret = 0;
out:
	sb_frame_release(&f);
	json_decref(req);
	json_decref(rep);
	return ret;
}

static void sb_limit(int res, rlim_t v)
{
	struct rlimit rl = {v, v};

	if (setrlimit(res, &rl))
		log_msg(LL_WARN, "scan worker: setrlimit %d: %s", res,
			strerror(errno));
}

static int sb_rule(scmp_filter_ctx f, const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr == __NR_SCMP_ERROR)
		return 0; /* not on this architecture */
	return seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 0);
}

/* Reading, memory, time, and the parent's socket; files open read-only.
 * Anything else fails with EPERM; starting a program, a process or a
 * network connection kills the worker. */
static int sb_seccomp(void)
{
	static const char *const allow[] = {
		"read",
		"readv",
		"pread64",
		"preadv",
		"write",
		"writev",
		"lseek",
		"close",
		"fstat",
		"newfstatat",
		"stat",
		"lstat",
		"statx",
		"mmap",
		"munmap",
		"mremap",
		"brk",
		"mprotect",
		"madvise",
		"exit",
		"exit_group",
		"rt_sigreturn",
		"rt_sigprocmask",
		"rt_sigaction",
		"sigaltstack",
		"futex",
		"clock_gettime",
		"clock_getres",
		"clock_nanosleep",
		"nanosleep",
		"gettimeofday",
		"time",
		"getpid",
		"gettid",
		"getrandom",
		"fcntl",
		"recvmsg",
		"sendmsg",
		"recvfrom",
		"sendto",
		"poll",
		"ppoll",
		"getrusage",
		"prlimit64",
		"getrlimit",
		"sched_yield",
		"dup",
		"uname",
		"getuid",
		"geteuid",
		"getgid",
		"getegid",
		"getcwd",
		"readlink",
		"readlinkat",
		"access",
		"faccessat",
		"faccessat2",
		"sched_getaffinity",
		"tgkill",
		"ioctl",
		"fadvise64",
	};
	static const char *const kill_these[] = {
		"execve",
		"execveat",
		"fork",
		"vfork",
		"clone",
		"clone3",
		"ptrace",
		"socket",
		"connect",
		"bind",
		"listen",
		"accept",
		"accept4",
		"process_vm_writev",
		"process_vm_readv",
	};
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int rc = -1;
	size_t i;

	if (!f)
		return -1;
	for (i = 0; i < sizeof(allow) / sizeof(*allow); i++)
		if (sb_rule(f, allow[i]))
			goto out;
	for (i = 0; i < sizeof(kill_these) / sizeof(*kill_these); i++) {
		int nr = seccomp_syscall_resolve_name(kill_these[i]);

		if (nr != __NR_SCMP_ERROR &&
		    seccomp_rule_add(f, SCMP_ACT_KILL_PROCESS, nr, 0))
			goto out;
	}
	/* open and openat: read-only, never creating or truncating. */
	if (seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ,
				     O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY)))
		goto out;
#ifdef __NR_open
	if (seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(open), 1,
			     SCMP_A1(SCMP_CMP_MASKED_EQ,
				     O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY)))
		goto out;
#endif
	rc = seccomp_load(f);
out:
	seccomp_release(f);
	return rc;
}

/* Limits, privileges, filter: from here on the worker reads hostile
 * bytes. */
int scan_sandbox_enter(int64_t mem, int cpu)
{
	struct stat st;
	rlim_t fsize = 0;

	/* The only file a worker may write is its log (stderr): when that
	 * is a file, a megabyte more; past it, writes fail (EFBIG) rather
	 * than kill the worker. */
	if (!fstat(STDERR_FILENO, &st) && S_ISREG(st.st_mode))
		fsize = (rlim_t)st.st_size + (1u << 20);
	signal(SIGXFSZ, SIG_IGN);
	sb_limit(RLIMIT_CORE, 0);
	sb_limit(RLIMIT_FSIZE, fsize);
	sb_limit(RLIMIT_NOFILE, 64);
	if (cpu > 0)
		sb_limit(RLIMIT_CPU, (rlim_t)cpu);
	/* ASan reserves terabytes of address space for its shadow. */
	if (mem > 0 && !SB_SANITIZED)
		sb_limit(RLIMIT_AS, (rlim_t)mem);
	if (geteuid() == 0) {
		if (setgroups(0, NULL) || setgid(SB_NOBODY) ||
		    setuid(SB_NOBODY)) {
			log_msg(LL_ERROR, "scan worker: dropping to nobody: %s",
				strerror(errno));
			return -1;
		}
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)) {
		log_msg(LL_ERROR, "scan worker: prctl: %s", strerror(errno));
		return -1;
	}
	if (sb_seccomp()) {
		log_msg(LL_ERROR, "scan worker: cannot load seccomp filter");
		return -1;
	}
	return 0;
}

static int sb_confine(const json_t *job)
{
	json_int_t cpu = json_integer_value(json_object_get(job, "cpu_s"));
	json_int_t mem = json_integer_value(json_object_get(job, "memory"));

	return scan_sandbox_enter(mem, cpu > INT32_MAX ? INT32_MAX : (int)cpu);
}

static int sb_work(const json_t *job, json_t **report, struct err *e)
{
	struct scan_source src = {sb_remote_open, NULL};
	struct scan_budget bud;
	struct scan_opts o = {0};
	struct image_set set;
	struct digest dg;
	int r;

	sb_budget_parse(json_object_get(job, "budget"), &bud);
	o.budget = &bud;
	o.repository = json_string_value(json_object_get(job, "repository"));
	o.tag = json_string_value(json_object_get(job, "tag"));
	o.db_note = json_string_value(json_object_get(job, "db_note"));
	o.now = (time_t)json_integer_value(json_object_get(job, "now"));
	if (!sb_digest(job, "digest", &dg))
		return scan_run(&src, &dg, &o, report, e);
	if (!sb_digest(job, "layer", &dg))
		return scan_layer_index(&src, &dg, &bud, report, e);
	image_set_init(&set);
	if (sb_image_parse(json_object_get(job, "image"), &set)) {
		image_set_release(&set);
		return err_set(e, ERR_INVALID, "scan worker: malformed job");
	}
	r = scan_images(&src, &set, &o, NULL, report, e);
	image_set_release(&set);
	return r;
}

/* `customs scan-worker --self-test`: confines itself as a worker does,
 * prints what it may still do, then tries to open a socket, which must
 * kill it (SIGSYS).  Lets an operator (and the tests) check the sandbox on
 * this kernel. */
static int sb_self_test(void)
{
	json_t *j = json_pack("{sIsI}", "cpu_s", (json_int_t)5, "memory",
			      (json_int_t)SCAN_SANDBOX_MEMORY);
	struct rlimit as, fsz, core, nofile;
	int fd, werr, derr;

	if (sb_confine(j)) {
		json_decref(j);
		return 1;
	}
	json_decref(j);
	fd = open("/tmp/customs-sandbox-test", O_WRONLY | O_CREAT, 0600);
	werr = fd < 0 ? errno : 0;
	derr = mkdir("/tmp/customs-sandbox-dir", 0700) ? errno : 0;
	getrlimit(RLIMIT_AS, &as);
	getrlimit(RLIMIT_FSIZE, &fsz);
	getrlimit(RLIMIT_CORE, &core);
	getrlimit(RLIMIT_NOFILE, &nofile);
	printf("uid %u\nopen-for-write %s\nmkdir %s\nread-only-open %s\n"
	       "rlimit-as %lld\nrlimit-fsize %lld\nrlimit-core %lld\n"
	       "rlimit-nofile %lld\n",
	       (unsigned)getuid(), werr ? strerror(werr) : "allowed",
	       derr ? strerror(derr) : "allowed",
	       (fd = open("/etc/hostname", O_RDONLY)) >= 0 ? "allowed"
							   : strerror(errno),
	       as.rlim_cur == RLIM_INFINITY ? -1LL : (long long)as.rlim_cur,
	       fsz.rlim_cur == RLIM_INFINITY ? -1LL : (long long)fsz.rlim_cur,
	       (long long)core.rlim_cur, (long long)nofile.rlim_cur);
	fflush(stdout);
	/* Must not return. */
	socket(AF_INET, SOCK_STREAM, 0);
	printf("socket allowed\n");
	fflush(stdout);
	return 1;
}

/* The worker's own high-water mark (not its parent's, which a spawned
 * process inherits in ru_maxrss). */
static void sb_send_stats(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");
	json_t *j;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmHWM:", 6))
			kib = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	j = json_pack("{sI}", "peak_rss_kib", (json_int_t)kib);
	sb_send_json(SB_FD, SB_STATS, j, -1, 0);
	json_decref(j);
}

int scan_worker_main(int argc, char **argv)
{
	struct sb_frame f = {.fd = -1};
	struct err e = ERR_INIT;
	json_t *job = NULL, *report = NULL, *fail;
	int rc = 1;

	if (argc == 2 && !strcmp(argv[1], "--self-test"))
		_exit(sb_self_test());
	/* Nothing of the parent's but the socket. */
	close_range(SB_FD + 1, ~0U, 0);
	if (sb_recv(SB_FD, SB_JOB_MAX, 0, &f) || f.kind != SB_JOB)
		goto out;
	job = json_loadb(f.data, f.len, 0, NULL);
	if (!job || sb_confine(job))
		goto out;
	if (sb_work(job, &report, &e) == 0) {
		char *s = json_dumps(report, JSON_COMPACT);

		sb_send_stats();
		rc = s && sb_send(SB_FD, SB_REPORT, s, strlen(s), -1, 0) ? 1
									 : 0;
		free(s);
		goto out;
	}
	sb_send_stats();
	fail = json_pack("{siss}", "code", (int)e.code, "msg", e.msg);
	rc = sb_send_json(SB_FD, SB_ERROR, fail, -1, 0) ? 1 : 0;
	json_decref(fail);
out:
	sb_frame_release(&f);
	json_decref(job);
	json_decref(report);
	/* No exit handlers: they may need what the filter forbids. */
	_exit(rc);
}
