/* blob_s3.c: blob bytes as objects of an S3 bucket (Ceph RGW, AWS...).
 *
 *	PREFIX/blobs/<alg>/<hex>	a blob, whole and verified
 *	PREFIX/uploads/<id>		a multipart upload, completed there
 *	PREFIX/uploads/<id>.tail	an upload's bytes past its last part
 *	PREFIX/quarantine/<name>	what fsck --repair moved aside
 *
 * An upload is a multipart upload whose parts (>= 5 MiB, --s3-part-size)
 * are filled in node-local scratch under DIR/s3 (an unlinked file: memory
 * stays bounded, nothing is left behind), each sent with its sha256 (S3
 * checks it).  Between requests the bytes past the last part go to S3 as
 * the .tail object, and the multipart upload's id, its parts' ETags, the
 * tail's length and storage.c's running sha256 go to the upload's row in
 * the metadata (struct s3up): any node can take the upload next.
 *
 * The finish (up_commit) runs after storage.c has checked the digest.  A
 * blob smaller than a part is one PUT to its final key, with the digest as
 * its x-amz-content-sha256, so S3 checks it once more.  A larger one is
 * completed at PREFIX/uploads/<id> and copied server-side to its content
 * address, because a multipart upload's key is fixed when it starts, before
 * the digest is known (S3 has no rename; RGW's copy shares the data rather
 * than rewriting it).  Either way no object appears under blobs/ before
 * the content is verified, and a cancelled or failed upload is aborted and
 * its objects deleted (up_remove).
 *
 * open() returns an fd on a node-local file that a GET filled: callers
 * pread and sendfile(2) with offsets (Range), which a pipe cannot serve,
 * and the memory stays bounded whatever the blob's size.  The files are
 * kept as a cache, DIR/s3/cache/<alg>-<hex> (content-addressed, so never
 * stale; whether a repository may see the blob is the metadata's say),
 * bounded by --s3-cache: past it the least recently opened go.  With no
 * cache each open fetches into an unlinked file.
 */
#define _GNU_SOURCE /* O_TMPFILE */
#include "storage/blob_s3_int.h"
#include "common/dirlru.h"
#include "common/fdio.h"
#include "common/log.h"
#include "common/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/banned.h"

#define S3B_CHUNK  (256 * 1024)
#define S3UP_MAGIC "customs-s3up-1"

struct stor_updata {
	struct s3_blobs *b;
	char id[STOR_UPLOAD_ID_MAX];
	int fd;	      /* the tail, in scratch, from offset base */
	int64_t base; /* 0 unless whole */
	int64_t tail; /* its length */
	bool whole;   /* a reader follows: sent parts stay in scratch */
	bool sealed;  /* completed at PREFIX/uploads/<id>: no more bytes */
	struct stor_updata *next; /* b->open */
	bool dirty;		  /* the tail changed since it was read */
	bool done;		  /* committed: nothing to save */
	struct s3up st;
};

/* --- The upload state ---------------------------------------------------- */

void s3up_release(struct s3up *u)
{
	for (size_t i = 0; i < u->nparts; i++)
		free(u->etags[i]);
	free(u->etags);
	free(u->mpu_id);
	free(u->hash);
	memset(u, 0, sizeof(*u));
}

void s3up_add_part(struct s3up *u, const char *etag, int64_t len)
{
	u->etags = xrealloc(u->etags, (u->nparts + 1) * sizeof(*u->etags));
	u->etags[u->nparts++] = xstrdup(etag);
	u->parts_bytes += len;
}

/* What may stand in one token of the text: printable, no blanks. */
static bool s3up_token_ok(const char *s)
{
	if (!*s || strlen(s) > 1024)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return false;
	return true;
}

int s3up_encode(const struct s3up *u, struct buf *out)
{
	static const char hex[] = "0123456789abcdef";

	buf_addf(out, "%s\nmpu %s\nbytes %lld\ntail %lld\n", S3UP_MAGIC,
		 u->mpu_id ? u->mpu_id : "-", (long long)u->parts_bytes,
		 (long long)u->tail);
	for (size_t i = 0; i < u->nparts; i++)
		buf_addf(out, "part %s\n", u->etags[i]);
	buf_adds(out, "hash ");
	if (!u->hash_len)
		buf_adds(out, "-");
	for (size_t i = 0; i < u->hash_len; i++) {
		char two[2] = {hex[u->hash[i] >> 4], hex[u->hash[i] & 15]};

		buf_add(out, two, 2);
	}
	return buf_adds(out, "\n");
}

static int s3up_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int s3up_num(const char *v, int64_t *out)
{
	char *end;
	long long n;

	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || *end || n < 0)
		return -1;
	*out = n;
	return 0;
}

/* One "name value" line into u; -1 if it is not one. */
static int s3up_line(struct s3up *u, const char *name, const char *v)
{
	size_t n = strlen(v);
	int hi, lo;

	if (!s3up_token_ok(v))
		return -1;
	if (!strcmp(name, "mpu")) {
		if (u->mpu_id)
			return -1;
		u->mpu_id = strcmp(v, "-") ? xstrdup(v) : NULL;
	} else if (!strcmp(name, "bytes")) {
		return s3up_num(v, &u->parts_bytes);
	} else if (!strcmp(name, "tail")) {
		return s3up_num(v, &u->tail);
	} else if (!strcmp(name, "part")) {
		if (u->nparts >= S3UP_PARTS_MAX)
			return -1;
		s3up_add_part(u, v, 0);
	} else if (!strcmp(name, "hash")) {
		if (!strcmp(v, "-"))
			return 0;
		if (n % 2 || n / 2 > HASHER_STATE_MAX * 2 || u->hash)
			return -1;
		u->hash = xmalloc(n / 2);
		for (size_t i = 0; i < n / 2; i++) {
			hi = s3up_hexval(v[2 * i]);
			lo = s3up_hexval(v[2 * i + 1]);
			if (hi < 0 || lo < 0)
				return -1;
			u->hash[i] = (unsigned char)(hi << 4 | lo);
		}
		u->hash_len = n / 2;
	} else {
		return -1;
	}
	return 0;
}

int s3up_decode(const char *text, size_t len, struct s3up *u, struct err *e)
{
	const char *p = text, *end = text + len, *nl, *sp;
	char line[1100];
	size_t n;
	bool first = true;

	s3up_release(u);
	if (len > S3UP_TEXT_MAX)
		goto bad;
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			goto bad;
		n = (size_t)(nl - p);
		if (n >= sizeof(line) || memchr(p, '\0', n))
			goto bad;
		memcpy(line, p, n);
		line[n] = '\0';
		if (first) {
			if (strcmp(line, S3UP_MAGIC))
				goto bad;
			first = false;
			continue;
		}
		sp = strchr(line, ' ');
		if (!sp)
			goto bad;
		line[sp - line] = '\0';
		if (s3up_line(u, line, sp + 1) < 0)
			goto bad;
	}
	if (first || u->parts_bytes < 0 || u->tail < 0 ||
	    (u->nparts && !u->mpu_id))
		goto bad;
	return 0;
bad:
	s3up_release(u);
	return err_set(e, ERR_INVALID, "malformed S3 upload state");
}

/* Reads id's state from its row (none: an empty one). */
static int s3b_state_load(struct s3_blobs *b, const char *id, struct s3up *u,
			  struct err *e)
{
	struct buf t;
	int r;

	buf_init(&t, S3UP_TEXT_MAX);
	r = b->meta->ops->up_state_get(b->meta, id, &t, e);
	if (r == 0)
		r = s3up_decode(t.buf, t.len, u, e);
	else if (r > 0)
		s3up_release(u), r = 0;
	buf_release(&t);
	return r;
}

static int s3b_state_save(struct s3_blobs *b, const char *id,
			  const struct s3up *u, struct err *e)
{
	struct buf t = BUF_INIT;
	int r;

	s3up_encode(u, &t);
	r = b->meta->ops->up_state_put(b->meta, id, t.buf, e);
	buf_release(&t);
	return r;
}

/* --- Keys and scratch ------------------------------------------------------
 */

char *s3b_blob_key(const struct s3_blobs *b, const struct digest *dg)
{
	return xasprintf("%sblobs/%s/%s", b->prefix, digest_alg_name(dg->alg),
			 dg->hex);
}

char *s3b_key(const struct s3_blobs *b, const char *fmt, const char *id)
{
	struct buf k = BUF_INIT;

	buf_adds(&k, b->prefix);
	/* fmt is one of ours: "uploads/%s" and the like. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	buf_addf(&k, fmt, id);
#pragma GCC diagnostic pop
	return buf_detach(&k, NULL);
}

/* An unlinked file in DIR/s3 (gone with its last fd). */
static int s3b_scratch(struct s3_blobs *b, int *fd_out, struct err *e)
{
	int fd = open(b->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0)
		return err_errno(e, ERR_IO, errno, "scratch file in %s",
				 b->dir);
	*fd_out = fd;
	return 0;
}

/* --- Blobs ------------------------------------------------------------------
 */

static void s3b_free(struct stor_blobs *sb)
{
	struct s3_blobs *b = s3b_of(sb);

	s3_free(b->s3);
	pthread_mutex_destroy(&b->evict);
	pthread_mutex_destroy(&b->open_lock);
	free(b->dir);
	free(b->cache);
	free(b->prefix);
	free(b->base.quarantine_at);
	free(b);
}

/* S3's "no such key" as the blob store says it. */
static int s3b_unknown(const struct digest *dg, struct err *e2, struct err *e)
{
	char ds[DIGEST_STR_MAX];

	if (e2->code == ERR_NOT_FOUND)
		return err_set(e, ERR_BLOB_UNKNOWN, "blob %s unknown",
			       digest_str(dg, ds));
	return err_set(e, e2->code, "%s", e2->msg);
}

/* --- The node-local cache ------------------------------------------------ */

static char *s3b_cache_path(const struct s3_blobs *b, const struct digest *dg)
{
	return xasprintf("%s/%s-%s", b->cache, digest_alg_name(dg->alg),
			 dg->hex);
}

void s3b_uncache(struct s3_blobs *b, const struct digest *dg)
{
	char *path;

	if (!b->cache_max)
		return;
	path = s3b_cache_path(b, dg);
	unlink(path);
	free(path);
}

/* dirlru_skip_fn: a tmp- file is a fill in progress, not yet the cache's:
 * left alone, but for the sweep at start-up (*(bool *)arg: all). */
static bool s3b_evict_skip(void *arg, int dirfd, const char *name)
{
	if (name[0] == '.')
		return true;
	if (strncmp(name, "tmp-", 4))
		return false;
	if (*(const bool *)arg)
		unlinkat(dirfd, name, 0);
	return true;
}

/* Deletes the least recently used copies (and, with all, stray
 * temporary files) until the cache fits.  Open fds keep their files;
 * each open renews its copy's mtime. */
static void s3b_evict(struct s3_blobs *b, bool all)
{
	struct dirlru_budget budget = {SIZE_MAX, (uint64_t)b->cache_max,
				       s3b_evict_skip, &all};

	pthread_mutex_lock(&b->evict);
	dirlru_prune(b->cache, &budget);
	pthread_mutex_unlock(&b->evict);
}

/* The cached copy of dg, opened and marked as used; -1 if there is none. */
static int s3b_cache_open(struct s3_blobs *b, const struct digest *dg,
			  int64_t *size)
{
	char *path = s3b_cache_path(b, dg);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;

	free(path);
	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) < 0) {
		close(fd);
		return -1;
	}
	futimens(fd, NULL);
	*size = (int64_t)sb.st_size;
	return fd;
}

/* Fetches dg into the cache: a temporary file renamed into place once
 * whole.  Returns an fd on it. */
static int s3b_cache_fill(struct s3_blobs *b, const char *key,
			  const struct digest *dg, int *fd_out, int64_t *got,
			  struct err *e)
{
	char id[STOR_UUID_LEN + 1], *tmp = NULL, *path = NULL;
	struct err e2 = ERR_INIT;
	int fd = -1, ret = -1;

	if (stor_uuid(id, e) < 0)
		return -1;
	tmp = xasprintf("%s/tmp-%s", b->cache, id);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	/* Someone cleared the cache away: make it again. */
	if (fd < 0 && errno == ENOENT && mkdir(b->cache, 0700) == 0)
		fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		err_errno(e, ERR_IO, errno, "create %s", tmp);
		goto out;
	}
	if (s3_get_fd(b->s3, key, 0, -1, fd, got, &e2) < 0) {
		s3b_unknown(dg, &e2, e);
		goto out;
	}
	path = s3b_cache_path(b, dg);
	if (rename(tmp, path) < 0) {
		err_errno(e, ERR_IO, errno, "rename %s", tmp);
		goto out;
	}
	*fd_out = fd;
	fd = -1;
	ret = 0;
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	free(path);
	if (ret == 0)
		s3b_evict(b, false);
	return ret;
}

static int s3b_stat(struct stor_blobs *sb, const struct digest *dg,
		    int64_t *size_out, struct err *e)
{
	struct s3_blobs *b = s3b_of(sb);
	char *key = s3b_blob_key(b, dg);
	struct err e2 = ERR_INIT;
	int ret = 0;

	if (s3_head(b->s3, key, size_out, NULL, &e2) < 0)
		ret = s3b_unknown(dg, &e2, e);
	free(key);
	return ret;
}

static int s3b_open(struct stor_blobs *sb, const struct digest *dg, int *fd_out,
		    int64_t *size_out, struct err *e)
{
	struct s3_blobs *b = s3b_of(sb);
	char *key = s3b_blob_key(b, dg);
	struct err e2 = ERR_INIT;
	int fd = -1, ret = -1;
	int64_t got = 0;

	if (b->cache_max) {
		fd = s3b_cache_open(b, dg, &got);
		if (fd < 0 && s3b_cache_fill(b, key, dg, &fd, &got, e) < 0)
			goto out;
	} else if (s3b_scratch(b, &fd, e) < 0) {
		goto out;
	} else if (s3_get_fd(b->s3, key, 0, -1, fd, &got, &e2) < 0) {
		s3b_unknown(dg, &e2, e);
		goto out;
	}
	/* Callers read() from the start as they would a file they opened. */
	if (lseek(fd, 0, SEEK_SET) < 0) {
		err_errno(e, ERR_IO, errno, "scratch of %s", key);
		goto out;
	}
	*fd_out = fd;
	*size_out = got;
	fd = -1;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(key);
	return ret;
}

static int s3b_put(struct stor_blobs *sb, const struct digest *dg,
		   const void *data, size_t len, struct err *e)
{
	struct s3_blobs *b = s3b_of(sb);
	char *key = s3b_blob_key(b, dg);
	int ret = 0;

	/* Content-addressed: one already there is the same. */
	if (s3_head(b->s3, key, NULL, NULL, NULL) < 0)
		ret = s3_put(b->s3, key, data, len, e);
	free(key);
	return ret;
}

/* --- Uploads ----------------------------------------------------------------
 */

static int s3b_up_create(struct stor_blobs *sb, const char *id, struct err *e)
{
	/* Nothing yet: the first part starts the multipart upload. */
	(void)sb, (void)id, (void)e;
	return 0;
}

static int s3b_up_open(struct stor_blobs *sb, const char *id,
		       struct stor_updata **out, int64_t *size_out,
		       struct err *e)
{
	struct s3_blobs *b = s3b_of(sb);
	struct stor_updata *d = xcalloc(1, sizeof(*d));
	struct err e2 = ERR_INIT;
	char *key = NULL;
	int64_t got = 0;

	d->b = b;
	d->fd = -1;
	snprintf(d->id, sizeof(d->id), "%s", id);
	if (s3b_state_load(b, id, &d->st, e) < 0 ||
	    s3b_scratch(b, &d->fd, e) < 0)
		goto fail;
	if (d->st.tail > 0) {
		key = s3b_key(b, "uploads/%s.tail", id);
		if (s3_get_fd(b->s3, key, 0, -1, d->fd, &got, &e2) < 0) {
			err_set(e,
				e2.code == ERR_NOT_FOUND
					? ERR_BLOB_UPLOAD_UNKNOWN
					: e2.code,
				"upload %s: %s", id, e2.msg);
			goto fail;
		}
		if (got != d->st.tail) {
			err_set(e, ERR_IO,
				"upload %s: tail is %lld bytes, "
				"not %lld",
				id, (long long)got, (long long)d->st.tail);
			goto fail;
		}
	}
	d->tail = d->st.tail;
	free(key);
	pthread_mutex_lock(&b->open_lock);
	d->next = b->open;
	b->open = d;
	pthread_mutex_unlock(&b->open_lock);
	*out = d;
	*size_out = d->st.parts_bytes + d->tail;
	return 0;
fail:
	free(key);
	if (d->fd >= 0)
		close(d->fd);
	s3up_release(&d->st);
	free(d);
	return -1;
}

/* Feeds fd's bytes [off, off+len) to h. */
static int s3b_feed(int fd, int64_t off, int64_t len, struct hasher *h,
		    struct err *e)
{
	char *p = xmalloc(S3B_CHUNK);
	size_t want;
	ssize_t n;
	int ret = 0;

	for (len += off; off < len; off += (int64_t)want) {
		want = len - off < S3B_CHUNK ? (size_t)(len - off) : S3B_CHUNK;
		n = fdio_pread_all(fd, p, want, (off_t)off);
		if (n < (ssize_t)want) {
			/* A scratch file shorter than recorded. */
			ret = err_errno(e, ERR_IO, n < 0 ? errno : EIO,
					"reading upload scratch");
			break;
		}
		hasher_update(h, p, want);
	}
	free(p);
	return ret;
}

/* The sha256 of fd's bytes [off, off+len) (its hex for S3). */
static int s3b_sum(int fd, int64_t off, int64_t len, struct digest *out,
		   struct err *e)
{
	struct hasher *h = hasher_new(DIGEST_SHA256);
	int ret = s3b_feed(fd, off, len, h, e);

	hasher_final(h, out);
	hasher_free(h);
	return ret;
}

/* Sends the tail as the next part, starting the multipart upload if
 * needed, and records it (the tail is then empty). */
static int s3b_flush_part(struct stor_updata *d, struct err *e)
{
	struct s3_blobs *b = d->b;
	char *key = s3b_key(b, "uploads/%s", d->id), *etag = NULL;
	struct s3up st = {0};
	struct digest sum;
	int ret = -1;

	if (s3b_state_load(b, d->id, &st, e) < 0)
		goto out;
	if (!st.mpu_id) {
		if (s3_mpu_create(b->s3, key, &st.mpu_id, e) < 0)
			goto out;
		/* Saved at once: a crash must not leave it unknown. */
		if (s3b_state_save(b, d->id, &st, e) < 0)
			goto out;
	}
	if (st.nparts >= S3UP_PARTS_MAX) {
		err_set(e, ERR_SIZE_INVALID, "upload %s: too many parts",
			d->id);
		goto out;
	}
	if (s3b_sum(d->fd, d->base, d->tail, &sum, e) < 0 ||
	    s3_mpu_part(b->s3, key, st.mpu_id, (int)st.nparts + 1, d->fd,
			d->base, d->tail, sum.hex, &etag, e) < 0)
		goto out;
	s3up_add_part(&st, etag, d->tail);
	st.tail = 0;
	if (s3b_state_save(b, d->id, &st, e) < 0)
		goto out;
	s3up_release(&d->st);
	d->st = st;
	memset(&st, 0, sizeof(st));
	if (d->whole) {
		d->base += d->tail;
	} else if (ftruncate(d->fd, 0) < 0) {
		err_errno(e, ERR_IO, errno, "upload %s: scratch", d->id);
		goto out;
	}
	d->tail = 0;
	ret = 0;
out:
	s3up_release(&st);
	free(etag);
	free(key);
	return ret;
}

static int s3b_up_append(struct stor_updata *d, const void *data, size_t len,
			 struct err *e)
{
	int64_t old = d->tail;

	if (d->sealed)
		return err_set(e, ERR_BLOB_UPLOAD_INVALID,
			       "upload %s was completed", d->id);
	if (fdio_pwrite_all(d->fd, data, len, (off_t)(d->base + old)) < 0) {
		err_errno(e, ERR_IO, errno, "upload %s: scratch", d->id);
		goto undo;
	}
	d->tail = old + (int64_t)len;
	d->dirty = true;
	if ((size_t)d->tail >= d->b->part_size && s3b_flush_part(d, e) < 0)
		goto undo;
	return 0;
undo:
	/* As it was: the part, if sent, is replaced by the next one. */
	if (ftruncate(d->fd, d->base + old) < 0)
		log_errno(LL_WARN, errno, "upload %s: scratch", d->id);
	d->tail = old;
	return -1;
}

/* Between requests the tail waits in S3, so that any node goes on. */
static int s3b_tail_save(struct stor_updata *d, struct err *e)
{
	struct s3_blobs *b = d->b;
	char *key = s3b_key(b, "uploads/%s.tail", d->id);
	struct s3up st = {0};
	struct digest sum;
	int ret = -1;

	if (d->tail > 0 &&
	    (s3b_sum(d->fd, d->base, d->tail, &sum, e) < 0 ||
	     s3_put_fd(b->s3, key, d->fd, d->base, d->tail, sum.hex, e) < 0))
		goto out;
	if (s3b_state_load(b, d->id, &st, e) < 0)
		goto out;
	st.tail = d->tail;
	ret = s3b_state_save(b, d->id, &st, e);
out:
	s3up_release(&st);
	free(key);
	return ret;
}

static void s3b_up_close(struct stor_updata *d)
{
	struct s3_blobs *b = d->b;
	struct stor_updata **pp;
	struct err e = ERR_INIT;

	pthread_mutex_lock(&b->open_lock);
	for (pp = &b->open; *pp && *pp != d; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = d->next;
	pthread_mutex_unlock(&b->open_lock);

	/* A failure leaves the last saved tail: the client resumes from
	 * the offset that it gives. */
	if (d->dirty && !d->done && s3b_tail_save(d, &e) < 0)
		log_msg(LL_WARN, "upload %s: saving its tail: %s", d->id,
			e.msg);
	if (d->fd >= 0)
		close(d->fd);
	s3up_release(&d->st);
	free(d);
}

/* A pull-through fetch that clients follow: its data stays whole in
 * scratch (parts are sent from it, not cut from it), and the reader gets
 * its own fd on that file. */
static int s3b_up_reader(struct stor_blobs *sb, const char *id, int *fd_out,
			 struct err *e)
{
	struct s3_blobs *b = s3b_of(sb);
	struct stor_updata *d;
	char path[64];
	int fd = -1;

	pthread_mutex_lock(&b->open_lock);
	for (d = b->open; d && strcmp(d->id, id); d = d->next)
		;
	if (d && (d->whole || (!d->st.parts_bytes && !d->base))) {
		d->whole = true;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", d->fd);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			err_errno(e, ERR_IO, errno, "upload %s: reopen", id);
	} else {
		err_set(e, ERR_UNSUPPORTED,
			"upload %s: only an upload held from its start can "
			"be followed",
			id);
	}
	pthread_mutex_unlock(&b->open_lock);
	if (fd < 0)
		return -1;
	*fd_out = fd;
	return 0;
}

/* Sends the tail as the last part and completes the multipart upload at
 * PREFIX/uploads/<id>: the data is then one readable object that takes
 * no more bytes. */
static int s3b_seal(struct stor_updata *d, const char *tmp, struct err *e)
{
	struct s3_blobs *b = d->b;
	char *etag = NULL;
	struct digest sum;
	int ret = -1;

	if (d->sealed)
		return 0;
	if (d->tail > 0 &&
	    (s3b_sum(d->fd, d->base, d->tail, &sum, e) < 0 ||
	     s3_mpu_part(b->s3, tmp, d->st.mpu_id, (int)d->st.nparts + 1, d->fd,
			 d->base, d->tail, sum.hex, &etag, e) < 0))
		goto out;
	if (etag)
		s3up_add_part(&d->st, etag, d->tail);
	if (s3_mpu_complete(b->s3, tmp, d->st.mpu_id, d->st.etags, d->st.nparts,
			    e) < 0)
		goto out;
	/* Its tail is in the object now: nothing to save at close. */
	d->sealed = d->done = true;
	ret = 0;
out:
	free(etag);
	return ret;
}

static struct stor_updata *s3b_held(struct s3_blobs *b, const char *id)
{
	struct stor_updata *d;

	pthread_mutex_lock(&b->open_lock);
	for (d = b->open; d && strcmp(d->id, id); d = d->next)
		;
	pthread_mutex_unlock(&b->open_lock);
	return d;
}

static int s3b_hash_piece(void *arg, const void *data, size_t len,
			  struct err *e)
{
	(void)e;
	hasher_update(arg, data, len);
	return 0;
}

/* The whole data through h (another digest than the running sha256, or
 * a hash state lost): the tail from scratch, or the sealed upload read
 * back from S3 (a multipart upload's parts cannot be read before). */
static int s3b_up_hash(struct stor_blobs *sb, const char *id, struct hasher *h,
		       int64_t *size_out, struct err *e)
{
	struct s3_blobs *b = s3b_of(sb);
	struct stor_updata *d = s3b_held(b, id);
	char *tmp;
	int ret;

	/* storage.c hashes an upload its caller holds. */
	if (!d)
		return err_set(e, ERR_BLOB_UPLOAD_INVALID,
			       "upload %s is not held", id);
	if (!d->st.mpu_id) {
		*size_out = d->tail;
		return s3b_feed(d->fd, d->base, d->tail, h, e);
	}
	tmp = s3b_key(b, "uploads/%s", id);
	ret = s3b_seal(d, tmp, e);
	if (ret == 0)
		ret = s3_get_cb(b->s3, tmp, s3b_hash_piece, h, e);
	free(tmp);
	*size_out = d->st.parts_bytes;
	return ret;
}

static int s3b_up_commit(struct stor_blobs *sb, const char *id,
			 struct stor_updata *d, const struct digest *dg,
			 struct err *e)
{
	struct s3_blobs *b = s3b_of(sb);
	char *key = s3b_blob_key(b, dg), *tmp = s3b_key(b, "uploads/%s", id);
	int ret = 0;

	if (s3_head(b->s3, key, NULL, NULL, NULL) == 0)
		; /* the same content is there already */
	else if (!d->st.mpu_id)
		/* One PUT; S3 checks the content's sha256 once more. */
		ret = s3_put_fd(b->s3, key, d->fd, d->base, d->tail,
				dg->alg == DIGEST_SHA256 ? dg->hex : NULL, e);
	else if (s3b_seal(d, tmp, e) < 0 ||
		 (d->st.parts_bytes > b->copy_max
			  ? s3_copy_parts(b->s3, tmp, d->st.parts_bytes,
					  b->copy_max, key, e)
			  : s3_copy(b->s3, tmp, key, e)) < 0)
		ret = -1;
	if (ret == 0)
		d->done = true;
	free(tmp);
	free(key);
	return ret;
}

static int s3b_abort_one(void *arg, const char *key, const char *upload_id,
			 struct err *e)
{
	struct s3_blobs *b = arg;

	return s3_mpu_abort(b->s3, key, upload_id, e);
}

int s3b_up_remove(struct stor_blobs *sb, const char *id, struct err *e)
{
	struct s3_blobs *b = s3b_of(sb);
	char *key = s3b_key(b, "uploads/%s", id);
	char *tail = s3b_key(b, "uploads/%s.tail", id);
	struct s3up st = {0};
	struct err e2 = ERR_INIT;
	struct stor_updata *d = s3b_held(b, id);
	int ret = -1;

	/* Removed by its holder (a cancel, a wrong digest): closing the
	 * handle afterwards must not save its tail again. */
	if (d)
		d->done = true;
	/* By the state if the row is still there, else every multipart
	 * upload under the key (a crash before the state was saved). */
	if (s3b_state_load(b, id, &st, &e2) == 0 && st.mpu_id) {
		if (s3_mpu_abort(b->s3, key, st.mpu_id, e) < 0)
			goto out;
	} else if (s3_mpu_list(b->s3, key, s3b_abort_one, b, e) < 0) {
		goto out;
	}
	if (s3_delete(b->s3, key, e) < 0 || s3_delete(b->s3, tail, e) < 0)
		goto out;
	ret = 0;
out:
	s3up_release(&st);
	free(tail);
	free(key);
	return ret;
}

/* storage.c's running hash, kept in the same state. */
static int s3b_hash_save(struct stor_blobs *sb, const char *id,
			 const void *data, size_t len, struct err *e)
{
	struct s3_blobs *b = s3b_of(sb);
	struct s3up st = {0};
	int ret = -1;

	if (s3b_state_load(b, id, &st, e) == 0) {
		free(st.hash);
		st.hash = xmalloc(len ? len : 1);
		memcpy(st.hash, data, len);
		st.hash_len = len;
		ret = s3b_state_save(b, id, &st, e);
	}
	s3up_release(&st);
	return ret;
}

static int s3b_hash_load(struct stor_blobs *sb, const char *id, void *buf,
			 size_t cap, size_t *len, struct err *e)
{
	struct s3_blobs *b = s3b_of(sb);
	struct s3up st = {0};
	int ret = 1;

	if (s3b_state_load(b, id, &st, e) < 0)
		return -1;
	if (st.hash_len && st.hash_len <= cap) {
		memcpy(buf, st.hash, st.hash_len);
		*len = st.hash_len;
		ret = 0;
	}
	s3up_release(&st);
	return ret;
}

/* States live in the metadata and parts in S3, both durable when
 * written: a crash leaves nothing to drop (storage.c checks a state's
 * length against the data's). */
static int s3b_states_noop(struct stor_blobs *sb, struct err *e)
{
	(void)sb, (void)e;
	return 0;
}

/* A presigned GET: the client fetches (and ranges) from S3 itself. */
static int s3b_url(struct stor_blobs *sb, const struct digest *dg,
		   int64_t expires_s, char **url_out, struct err *e)
{
	struct s3_blobs *b = s3b_of(sb);
	char *key = s3b_blob_key(b, dg);

	(void)e;
	*url_out = s3_presign(b->s3, "GET", key, expires_s, time(NULL));
	free(key);
	return 0;
}

static const struct stor_blob_ops s3b_ops = {
	.free = s3b_free,
	.stat = s3b_stat,
	.open = s3b_open,
	.put = s3b_put,
	.put_many = NULL,
	.url = s3b_url,
	.up_create = s3b_up_create,
	.up_open = s3b_up_open,
	.up_append = s3b_up_append,
	.up_close = s3b_up_close,
	.up_hash = s3b_up_hash,
	.up_commit = s3b_up_commit,
	.up_remove = s3b_up_remove,
	.up_reader = s3b_up_reader,
	.up_state_save = s3b_hash_save,
	.up_state_load = s3b_hash_load,
	.up_state_open = s3b_states_noop,
	.up_state_close = s3b_states_noop,
};

struct stor_blobs *stor_s3_new(const char *dir, const struct stor_s3_opts *o,
			       struct stor_meta *m, struct err *e)
{
	struct s3_cfg c = {
		.endpoint = o->endpoint,
		.region = o->region,
		.bucket = o->bucket,
		.access_key = o->access_key ? o->access_key
					    : getenv("AWS_ACCESS_KEY_ID"),
		.secret_key = o->secret_key ? o->secret_key
					    : getenv("AWS_SECRET_ACCESS_KEY"),
		.ca_file = o->ca_file,
		.virtual_host = o->virtual_host,
	};
	struct s3_blobs *b;
	const char *p = o->prefix ? o->prefix : "";
	size_t pl;

	if (!m->ops->up_state_put || !m->ops->up_state_get) {
		err_set(e, ERR_INVALID,
			"this metadata backend keeps no upload states");
		return NULL;
	}
	b = xcalloc(1, sizeof(*b));
	b->base.ops = &s3b_ops;
	b->base.maint = &stor_s3_maint_ops;
	b->base.shared = true;
	b->base.read_blocks = true;
	b->meta = m;
	b->part_size = o->part_size >= STOR_S3_PART_MIN ? o->part_size
							: STOR_S3_PART_MIN;
	while (*p == '/')
		p++;
	pl = strlen(p);
	while (pl && p[pl - 1] == '/')
		pl--;
	b->prefix = pl ? xasprintf("%.*s/", (int)pl, p) : xstrdup("");
	b->base.quarantine_at =
		xasprintf("s3://%s/%squarantine/", o->bucket, b->prefix);
	b->dir = xasprintf("%s/s3", dir);
	b->cache = xasprintf("%s/cache", b->dir);
	b->cache_max = o->cache_max;
	/* $CUSTOMS_S3_COPY_MAX (bytes, >= 5 MiB) lets the tests take the
	 * part-by-part copy without 5 GiB blobs. */
	b->copy_max = (int64_t)5 << 30;
	if (getenv("CUSTOMS_S3_COPY_MAX"))
		b->copy_max = strtoll(getenv("CUSTOMS_S3_COPY_MAX"), NULL, 10);
	if (b->copy_max < (int64_t)STOR_S3_PART_MIN ||
	    b->copy_max > (int64_t)5 << 30)
		b->copy_max = b->copy_max < (int64_t)STOR_S3_PART_MIN
				      ? (int64_t)STOR_S3_PART_MIN
				      : (int64_t)5 << 30;
	pthread_mutex_init(&b->evict, NULL);
	pthread_mutex_init(&b->open_lock, NULL);
	if ((mkdir(dir, 0700) < 0 && errno != EEXIST) ||
	    (mkdir(b->dir, 0700) < 0 && errno != EEXIST) ||
	    (mkdir(b->cache, 0700) < 0 && errno != EEXIST)) {
		err_errno(e, ERR_IO, errno, "mkdir under %s", dir);
		goto fail;
	}
	/* What a crash left half-fetched, and what a smaller cap drops.
	 * Without a cache (fsck) the copies are left alone, unused. */
	if (b->cache_max)
		s3b_evict(b, true);
	b->s3 = s3_new(&c, e);
	if (!b->s3)
		goto fail;
	return &b->base;
fail:
	s3b_free(&b->base);
	return NULL;
}
