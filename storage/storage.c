/* storage.c: the public storage API over the two backends.
 *
 * The order of operations is what keeps a push crash-safe: blob bytes are
 * made durable and visible (backend) before any row names them (metadata),
 * so a crash leaves at most an unreferenced blob for gc, never a row
 * pointing at nothing.
 *
 * Uploads being written are kept in a table of handles with their running
 * sha256, so consecutive PATCH requests continue it without re-reading the
 * data.  A handle is either held (by one request) or idle; idle handles
 * hold no fd and only the STOR_IDLE_MAX most recent are kept, so abandoned
 * uploads cost nothing but their data on disk.  In the store owner's
 * process (stor_upload_states_keep()) an evicted handle's hash state is
 * saved beside the upload, and every state at a clean stop, so a resumed
 * upload goes on hashing where it was, across restarts too.  Taking an
 * upload never reads its data: a hash that is unknown all the same (after
 * a crash or a failed write) stays unknown, the data is written unhashed,
 * and only the finish hashes it whole (as it does for a sha512 digest),
 * which the caller runs off its event loop.
 */
#include "storage/storage_int.h"
#include "common/fdio.h"
#include "common/log.h"
#include "common/opt.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/banned.h"

struct stor_upload {
	struct stor *st;
	char id[STOR_UPLOAD_ID_MAX];
	char *repo;
	/* sha256 of the first `offset` bytes; NULL: unknown. */
	struct hasher *h;
	int64_t offset;
	struct stor_updata *data; /* open while held */
	bool held;
	struct stor_upload *prev, *next;
};

struct stor {
	char *dir;
	struct stor_blobs *blobs;
	struct stor_meta *meta;
	pthread_mutex_t lock;	     /* guards the upload table below */
	struct stor_upload *uploads; /* most recently used first */
	size_t nidle;
	int64_t meta_written; /* see stor_meta_written() */
	size_t damaged;	      /* blobs found damaged; under lock */
	bool keep_states;     /* stor_upload_states_keep() */
};

/* --- Ids ---------------------------------------------------------------- */

int stor_uuid(char out[STOR_UUID_LEN + 1], struct err *e)
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return err_set(e, ERR_INTERNAL, "no random bytes for an id");
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, STOR_UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

bool stor_upload_id_valid(const char *id)
{
	size_t i;

	for (i = 0; id[i] && i <= STOR_UUID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'a' && id[i] <= 'f') || id[i] == '-'))
			return false;
	return i == STOR_UUID_LEN;
}

/* --- Saved hash states ---------------------------------------------------- */

/* A saved state: magic, offset, the hasher's bytes, and a sha256 of all
 * that, so a torn or stray file is never taken for a state. */
#define STATE_MAGIC	"customs-uphash-1"
#define STATE_MAGIC_LEN 16
#define STATE_MAX	(STATE_MAGIC_LEN + 8 + 4 + HASHER_STATE_MAX + 32)

static void state_sum(const unsigned char *p, size_t len, unsigned char sum[32])
{
	struct hasher *h = hasher_new(DIGEST_SHA256);
	struct digest d;

	hasher_update(h, p, len);
	hasher_final(h, &d);
	hasher_free(h);
	for (size_t i = 0; i < 32; i++)
		sscanf(d.hex + 2 * i, "%2hhx", &sum[i]);
}

/* Saves u's running hash, if any, beside the upload (only in the store
 * owner's process); a failure only costs a re-read later. */
static void upload_state_save(struct stor_upload *u)
{
	struct stor *st = u->st;
	unsigned char buf[STATE_MAX];
	size_t n = STATE_MAGIC_LEN, hl;
	uint32_t hl32;
	struct err e = ERR_INIT;

	if (!st->keep_states || !u->h)
		return;
	memcpy(buf, STATE_MAGIC, STATE_MAGIC_LEN);
	memcpy(buf + n, &u->offset, 8);
	n += 8;
	hl = hasher_save(u->h, buf + n + 4, HASHER_STATE_MAX);
	if (!hl)
		return;
	hl32 = (uint32_t)hl;
	memcpy(buf + n, &hl32, 4);
	n += 4 + hl;
	state_sum(buf, n, buf + n);
	n += 32;
	if (st->blobs->ops->up_state_save(st->blobs, u->id, buf, n, &e) < 0)
		log_msg(LL_WARN, "upload %s: %s", u->id, e.msg);
}

/* The saved sha256 state of u if it is one for exactly `size` bytes of
 * data, else NULL. */
static struct hasher *upload_state_load(struct stor_upload *u, int64_t size)
{
	struct stor *st = u->st;
	unsigned char buf[STATE_MAX + 1], sum[32];
	size_t len = 0, n = STATE_MAGIC_LEN;
	struct err e = ERR_INIT;
	int64_t off;
	uint32_t hl;
	int r;

	if (!st->keep_states)
		return NULL;
	r = st->blobs->ops->up_state_load(st->blobs, u->id, buf, sizeof(buf),
					  &len, &e);
	if (r < 0)
		log_msg(LL_WARN, "upload %s: %s", u->id, e.msg);
	if (r != 0 || len < n + 8 + 4 + 32 || len > STATE_MAX ||
	    memcmp(buf, STATE_MAGIC, STATE_MAGIC_LEN))
		return NULL;
	memcpy(&off, buf + n, 8);
	memcpy(&hl, buf + n + 8, 4);
	n += 12;
	if (off != size || hl > HASHER_STATE_MAX || n + hl + 32 != len)
		return NULL;
	state_sum(buf, n + hl, sum);
	if (memcmp(sum, buf + n + hl, 32))
		return NULL;
	return hasher_load(DIGEST_SHA256, buf + n, hl);
}

int stor_upload_states_keep(struct stor *st, struct err *e)
{
	const struct stor_blob_ops *ops = st->blobs->ops;

	if (!ops->up_state_save || !ops->up_state_load || !ops->up_state_open ||
	    !ops->up_state_close)
		return 0;
	if (ops->up_state_open(st->blobs, e) < 0)
		return -1;
	st->keep_states = true;
	return 0;
}

/* --- Open and close ------------------------------------------------------ */

static void upload_free(struct stor *st, struct stor_upload *u)
{
	if (u->data)
		st->blobs->ops->up_close(u->data);
	hasher_free(u->h);
	free(u->repo);
	free(u);
}

/* The newest mtime of DIR/meta.db and its WAL, before sqlite touches
 * either. */
static int64_t meta_mtime(const char *dir)
{
	static const char *const names[] = {"meta.db", "meta.db-wal"};
	int64_t newest = 0;
	struct stat sb;
	char *path;

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		path = xasprintf("%s/%s", dir, names[i]);
		if (stat(path, &sb) == 0 && (int64_t)sb.st_mtime > newest)
			newest = (int64_t)sb.st_mtime;
		free(path);
	}
	return newest;
}

const char *const stor_storage_kinds[] = {"fs", "s3", NULL};

/* Option names compare without '-', '_' and case (common/opt.h). */
static bool argv_names(const char *arg, const char *name)
{
	for (; *arg && *arg != '='; arg++) {
		if (*arg == '-' || *arg == '_')
			continue;
		if (!*name || (*arg | 0x20) != *name)
			return false;
		name++;
	}
	return !*name;
}

int stor_opts_check_argv(int argc, char **argv, struct err *e)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (argv[i][0] == '-' && (argv_names(argv[i], "s3accesskey") ||
					  argv_names(argv[i], "s3secretkey")))
			return err_set(e, ERR_INVALID,
				       "S3 credentials go in the config file "
				       "or AWS_ACCESS_KEY_ID and "
				       "AWS_SECRET_ACCESS_KEY, never on the "
				       "command line");
	return 0;
}

bool stor_cmd_cli(const struct opt_cmd *cmd, void *dst, int argc, char **argv,
		  struct opt_args *args, int *status)
{
	struct err e = ERR_INIT;

	if (stor_opts_check_argv(argc, argv, &e) < 0) {
		*status = opt_fail(cmd, "%s", e.msg);
		return false;
	}
	return opt_cli(cmd, dst, argc, argv, args, status);
}

/* stor_meta_set()'s; set before any store opens, read-only after. */
static char *stor_meta_url;

int stor_meta_set(const char *url, struct err *e)
{
	if (url && *url && !stor_meta_is_pg(url))
		return err_set(e, ERR_INVALID,
			       "--meta: want a postgres:// URL or a libpq "
			       "conninfo (key=value ...)");
	free(stor_meta_url);
	stor_meta_url = url && *url ? xstrdup(url) : NULL;
	return 0;
}

bool stor_meta_shared(void)
{
	return stor_meta_url != NULL;
}

struct stor *stor_open(const char *dir, struct err *e)
{
	return stor_open_with(dir, NULL, e);
}

struct stor *stor_open_with(const char *dir, const struct stor_opts *o,
			    struct err *e)
{
	struct stor *st = xcalloc(1, sizeof(*st));
	bool s3 = o && o->storage && !strcmp(o->storage, "s3");

	st->dir = xstrdup(dir);
	if (!stor_meta_url)
		st->meta_written = meta_mtime(dir);
	pthread_mutex_init(&st->lock, NULL);
	/* The metadata first: S3 uploads keep their state in its rows. */
	st->meta = stor_meta_url ? stor_pg_new(stor_meta_url, e)
				 : stor_sqlite_new(dir, e);
	if (st->meta && s3 && !o->s3)
		err_set(e, ERR_INVALID, "--storage s3 without its settings");
	else if (st->meta)
		st->blobs = s3 ? stor_s3_new(dir, o->s3, st->meta, e)
			       : stor_fs_new(dir, e);
	if (!st->blobs) {
		stor_free(st);
		return NULL;
	}
	return st;
}

void stor_free(struct stor *st)
{
	struct stor_upload *u;
	struct err e = ERR_INIT;

	if (!st)
		return;
	while ((u = st->uploads)) {
		st->uploads = u->next;
		upload_state_save(u);
		upload_free(st, u);
	}
	if (st->keep_states &&
	    st->blobs->ops->up_state_close(st->blobs, &e) < 0)
		log_msg(LL_WARN, "saving upload hash states: %s", e.msg);
	if (st->meta)
		st->meta->ops->free(st->meta);
	if (st->blobs)
		st->blobs->ops->free(st->blobs);
	pthread_mutex_destroy(&st->lock);
	free(st->dir);
	free(st);
}

const char *stor_dir(const struct stor *st)
{
	return st->dir;
}

struct stor_blobs *stor_blobs_of(struct stor *st)
{
	return st->blobs;
}

struct stor_meta *stor_meta_of(struct stor *st)
{
	return st->meta;
}

int stor_meta_stats(struct stor *st, bool with_blobs,
		    struct stor_meta_stats *out, struct err *e)
{
	if (!st->meta->ops->stats)
		return err_set(e, ERR_UNSUPPORTED,
			       "this metadata backend keeps no counts");
	return st->meta->ops->stats(st->meta, with_blobs, out, e);
}

void stor_scan_on_final(struct stor *st,
			void (*fn)(void *arg, const struct digest *dg),
			void *arg)
{
	if (st->meta->scanq->on_final)
		st->meta->scanq->on_final(st->meta, fn, arg);
}

int64_t stor_meta_written(const struct stor *st)
{
	return st->meta_written;
}

size_t stor_blob_damage_count(struct stor *st)
{
	size_t n;

	pthread_mutex_lock(&st->lock);
	n = st->damaged;
	pthread_mutex_unlock(&st->lock);
	return n;
}

void stor_blob_damaged(struct stor *st, const struct digest *dg,
		       const char *why)
{
	struct stor_file f = {dg, NULL, false, -1, 0, 0};
	char ds[DIGEST_STR_MAX], *at;
	struct err e = ERR_INIT;

	digest_str(dg, ds);
	pthread_mutex_lock(&st->lock);
	st->damaged++;
	pthread_mutex_unlock(&st->lock);
	if (st->blobs->maint->quarantine(st->blobs, &f, &e) < 0) {
		log_msg(LL_ERROR, "damaged blob %s: %s; quarantine failed: %s",
			ds, why, e.msg);
		return;
	}
	at = st->blobs->quarantine_at ? xstrdup(st->blobs->quarantine_at)
				      : xasprintf("%s/quarantine/", st->dir);
	log_msg(LL_ERROR,
		"damaged blob %s: %s; moved to %s (a push of the blob stores "
		"it again)",
		ds, why, at);
	free(at);
}

/* --- Blobs ------------------------------------------------------------ */

static int blob_visible(struct stor *st, const char *repo,
			const struct digest *dg, struct err *e)
{
	char ds[DIGEST_STR_MAX];
	bool linked = false;

	if (!repo)
		return 0;
	if (st->meta->ops->blob_linked(st->meta, repo, dg, &linked, e) < 0)
		return -1;
	if (!linked)
		return err_set(e, ERR_BLOB_UNKNOWN, "blob %s unknown in %s",
			       digest_str(dg, ds), repo);
	return 0;
}

/* A blob file of another size than recorded is damaged (truncated,
 * appended to): it goes to quarantine and the blob is unknown. */
static int blob_size_ok(struct stor *st, const struct digest *dg, int64_t size,
			struct err *e)
{
	char ds[DIGEST_STR_MAX], why[96];
	int64_t want;

	if (st->meta->ops->blob_size(st->meta, dg, &want, e) < 0)
		return -1;
	if (want < 0 || want == size)
		return 0;
	snprintf(why, sizeof(why), "%lld bytes on disk, %lld stored",
		 (long long)size, (long long)want);
	stor_blob_damaged(st, dg, why);
	return err_set(e, ERR_BLOB_UNKNOWN, "blob %s is damaged (%s)",
		       digest_str(dg, ds), why);
}

int stor_blob_stat(struct stor *st, const char *repo, const struct digest *dg,
		   int64_t *size_out, struct err *e)
{
	int64_t size;

	if (blob_visible(st, repo, dg, e) < 0 ||
	    st->blobs->ops->stat(st->blobs, dg, &size, e) < 0 ||
	    blob_size_ok(st, dg, size, e) < 0)
		return -1;
	*size_out = size;
	return 0;
}

int stor_blob_open(struct stor *st, const char *repo, const struct digest *dg,
		   int *fd_out, int64_t *size_out, struct err *e)
{
	int64_t size;
	int fd;

	if (blob_visible(st, repo, dg, e) < 0 ||
	    st->blobs->ops->open(st->blobs, dg, &fd, &size, e) < 0)
		return -1;
	/* The size of the open file: what the caller will read. */
	if (blob_size_ok(st, dg, size, e) < 0) {
		close(fd);
		return -1;
	}
	*fd_out = fd;
	*size_out = size;
	return 0;
}

bool stor_blob_read_blocks(struct stor *st)
{
	return st->blobs->read_blocks || stor_meta_shared();
}

int stor_blob_url(struct stor *st, const char *repo, const struct digest *dg,
		  int64_t expires_s, char **url_out, struct err *e)
{
	if (!st->blobs->ops->url)
		return err_set(e, ERR_UNSUPPORTED,
			       "this blob backend serves no direct URLs");
	if (blob_visible(st, repo, dg, e) < 0)
		return -1;
	return st->blobs->ops->url(st->blobs, dg, expires_s, url_out, e);
}

int stor_blob_link(struct stor *st, const char *repo, const struct digest *dg,
		   struct err *e)
{
	int64_t size;
	int pin, ret;

	if (stor_pin(st, false, &pin, e) < 0)
		return -1;
	ret = st->blobs->ops->stat(st->blobs, dg, &size, e);
	if (ret == 0)
		ret = st->meta->ops->blob_link(st->meta, repo, dg, e);
	stor_unpin(pin);
	return ret;
}

int stor_blob_unlink(struct stor *st, const char *repo, const struct digest *dg,
		     struct err *e)
{
	return st->meta->ops->blob_unlink(st->meta, repo, dg, e);
}

/* Same order as an upload: the bytes are durable and visible before the
 * row that links them. */
int stor_blob_put(struct stor *st, const char *repo, const void *data,
		  size_t len, struct digest *dg_out, struct err *e)
{
	struct digest dg;
	int pin, ret = -1;

	digest_of(DIGEST_SHA256, data, len, &dg);
	if (stor_pin(st, false, &pin, e) < 0) /* see gc.c */
		return -1;
	if (st->blobs->ops->put(st->blobs, &dg, data, len, e) == 0 &&
	    st->meta->ops->blob_link(st->meta, repo, &dg, e) == 0 &&
	    st->meta->ops->blob_size_put(st->meta, &dg, (int64_t)len, e) == 0)
		ret = 0;
	stor_unpin(pin);
	if (ret == 0)
		*dg_out = dg;
	return ret;
}

/* --- The upload table -------------------------------------------------- */

static void upt_unlink(struct stor *st, struct stor_upload *u)
{
	if (u->prev)
		u->prev->next = u->next;
	else
		st->uploads = u->next;
	if (u->next)
		u->next->prev = u->prev;
	u->prev = u->next = NULL;
}

static void upt_push(struct stor *st, struct stor_upload *u)
{
	u->prev = NULL;
	u->next = st->uploads;
	if (st->uploads)
		st->uploads->prev = u;
	st->uploads = u;
}

/* Frees the least recently used idle handles beyond STOR_IDLE_MAX. */
static void upt_trim(struct stor *st)
{
	struct stor_upload *u = st->uploads, *prev;

	if (st->nidle <= STOR_IDLE_MAX)
		return;
	while (u && u->next)
		u = u->next;
	for (; u && st->nidle > STOR_IDLE_MAX; u = prev) {
		prev = u->prev;
		if (u->held)
			continue;
		upt_unlink(st, u);
		st->nidle--;
		upload_state_save(u);
		upload_free(st, u);
	}
}

/* Upload id's handle into *out (NULL: none); ERR_BLOB_UPLOAD_UNKNOWN if it
 * is another repository's.  Under st->lock. */
static int upt_find(struct stor *st, const char *repo, const char *id,
		    struct stor_upload **out, struct err *e)
{
	struct stor_upload *u;

	for (u = st->uploads; u && strcmp(u->id, id); u = u->next)
		;
	*out = u;
	if (u && strcmp(u->repo, repo))
		return err_set(e, ERR_BLOB_UPLOAD_UNKNOWN,
			       "upload %s unknown in %s", id, repo);
	return 0;
}

/* Holds upload id of repo, finding its idle handle or adding a new one
 * (with an unknown hash), so no one else can take or cancel it meanwhile. */
static int upt_hold(struct stor *st, const char *repo, const char *id,
		    struct stor_upload **out, struct err *e)
{
	struct stor_upload *u;
	int ret = 0;

	pthread_mutex_lock(&st->lock);
	if (upt_find(st, repo, id, &u, e) < 0) {
		ret = -1;
	} else if (u && u->held) {
		ret = err_set(e, ERR_BUSY, "upload %s is in use", id);
	} else if (u) {
		u->held = true;
		st->nidle--;
		upt_unlink(st, u);
		upt_push(st, u);
	} else {
		u = xcalloc(1, sizeof(*u));
		u->st = st;
		snprintf(u->id, sizeof(u->id), "%s", id);
		u->repo = xstrdup(repo);
		u->held = true;
		upt_push(st, u);
	}
	pthread_mutex_unlock(&st->lock);
	if (ret == 0)
		*out = u;
	return ret;
}

/* Forgets a held handle. */
static void upt_drop(struct stor_upload *u)
{
	struct stor *st = u->st;

	pthread_mutex_lock(&st->lock);
	upt_unlink(st, u);
	pthread_mutex_unlock(&st->lock);
	upload_free(st, u);
}

/* Makes a held handle idle again. */
static void upt_idle(struct stor_upload *u)
{
	struct stor *st = u->st;

	if (u->data) {
		st->blobs->ops->up_close(u->data);
		u->data = NULL;
	}
	pthread_mutex_lock(&st->lock);
	u->held = false;
	st->nidle++;
	upt_trim(st);
	pthread_mutex_unlock(&st->lock);
}

/* --- Uploads ------------------------------------------------------------ */

int stor_upload_start(struct stor *st, const char *repo,
		      char id_out[STOR_UPLOAD_ID_MAX], struct err *e)
{
	return stor_upload_start_limited(st, repo, NULL, id_out, e);
}

int stor_upload_start_limited(struct stor *st, const char *repo,
			      const struct stor_upload_limits *lim,
			      char id_out[STOR_UPLOAD_ID_MAX], struct err *e)
{
	char id[STOR_UUID_LEN + 1];

	if (stor_uuid(id, e) < 0 ||
	    st->blobs->ops->up_create(st->blobs, id, e) < 0)
		return -1;
	if (st->meta->ops->up_add(st->meta, repo, id, lim, e) < 0) {
		st->blobs->ops->up_remove(st->blobs, id, NULL);
		return -1;
	}
	snprintf(id_out, STOR_UPLOAD_ID_MAX, "%s", id);
	return 0;
}

int stor_upload_take(struct stor *st, const char *repo, const char *id,
		     struct stor_upload **out, struct err *e)
{
	struct stor_upload *u;
	int64_t size;

	if (!stor_upload_id_valid(id))
		return err_set(e, ERR_BLOB_UPLOAD_UNKNOWN,
			       "malformed upload id");
	if (upt_hold(st, repo, id, &u, e) < 0)
		return -1;
	if (st->meta->ops->up_find(st->meta, repo, id, e) < 0 ||
	    st->blobs->ops->up_open(st->blobs, id, &u->data, &size, e) < 0)
		goto fail;
	/* A size that differs from ours means a write failed half-way or
	 * someone else changed the data: trust the data, and forget the
	 * hash.  An unknown one may have been saved; else it stays unknown
	 * (nothing is read here: the finish hashes the data). */
	if (u->h && size != u->offset) {
		hasher_free(u->h);
		u->h = NULL;
	}
	if (!u->h)
		u->h = size ? upload_state_load(u, size)
			    : hasher_new(DIGEST_SHA256);
	u->offset = size;
	*out = u;
	return 0;
fail:
	upt_drop(u);
	return -1;
}

int stor_upload_status(struct stor *st, const char *repo, const char *id,
		       int64_t *offset, struct err *e)
{
	struct stor_upload *u;
	int64_t changed;
	int ret = 0;

	if (!stor_upload_id_valid(id))
		return err_set(e, ERR_BLOB_UPLOAD_UNKNOWN,
			       "malformed upload id");
	pthread_mutex_lock(&st->lock);
	ret = upt_find(st, repo, id, &u, e);
	if (ret == 0 && u && u->held)
		ret = err_set(e, ERR_BUSY, "upload %s is in use", id);
	pthread_mutex_unlock(&st->lock);
	if (ret < 0)
		return ret;
	/* The data's size is the offset, as stor_upload_take() trusts it. */
	if (st->meta->ops->up_find(st->meta, repo, id, e) < 0 ||
	    st->blobs->maint->up_stat(st->blobs, id, offset, &changed, e) < 0)
		return -1;
	return 0;
}

int64_t stor_upload_offset(const struct stor_upload *u)
{
	return u->offset;
}

bool stor_upload_hash_known(const struct stor_upload *u, enum digest_alg alg)
{
	return alg == DIGEST_SHA256 && u->h;
}

const char *stor_upload_id(const struct stor_upload *u)
{
	return u->id;
}

int stor_upload_write(struct stor_upload *u, const void *data, size_t len,
		      struct err *e)
{
	struct stor *st = u->st;

	if (!len)
		return 0;
	if (st->blobs->ops->up_append(u->data, data, len, e) < 0)
		return -1;
	if (u->h)
		hasher_update(u->h, data, len);
	u->offset += (int64_t)len;
	return 0;
}

int stor_upload_open_read(struct stor_upload *u, int *fd_out, struct err *e)
{
	struct stor *st = u->st;

	if (!st->blobs->ops->up_reader)
		return err_set(e, ERR_UNSUPPORTED,
			       "this blob store cannot read uploads in "
			       "progress");
	return st->blobs->ops->up_reader(st->blobs, u->id, fd_out, e);
}

void stor_upload_release(struct stor_upload *u)
{
	struct stor *st = u->st;
	struct err e = ERR_INIT;

	if (st->meta->ops->up_touch(st->meta, u->id, u->offset, &e) < 0)
		log_msg(LL_WARN, "upload %s: %s", u->id, e.msg);
	/* Another node may take it next. */
	if (st->blobs->shared)
		upload_state_save(u);
	upt_idle(u);
}

/* The digest of the data in alg: the running sha256 if that is what is
 * asked and it is known, else the data is read again.  The running hash
 * is kept (a copy is finished). */
static int upload_digest(struct stor_upload *u, enum digest_alg alg,
			 struct digest *out, struct err *e)
{
	struct stor *st = u->st;
	struct hasher *h;
	int64_t size;

	if (alg == DIGEST_SHA256 && u->h) {
		h = hasher_dup(u->h);
		hasher_final(h, out);
		hasher_free(h);
		return 0;
	}
	h = hasher_new(alg);
	if (st->blobs->ops->up_hash(st->blobs, u->id, h, &size, e) < 0) {
		hasher_free(h);
		return -1;
	}
	hasher_final(h, out);
	hasher_free(h);
	return 0;
}

/* Deletes the upload for good; the handle is consumed. */
static void upload_discard(struct stor_upload *u)
{
	struct stor *st = u->st;
	struct err e = ERR_INIT;

	/* Data first, as in stor_upload_cancel(). */
	if (st->blobs->ops->up_remove(st->blobs, u->id, &e) < 0 ||
	    st->meta->ops->up_remove(st->meta, u->repo, u->id, &e) < 0)
		log_msg(LL_WARN, "upload %s: %s", u->id, e.msg);
	upt_drop(u);
}

int stor_upload_finish(struct stor_upload *u, const struct digest *expected,
		       struct err *e)
{
	struct stor *st = u->st;
	char want[DIGEST_STR_MAX], got_s[DIGEST_STR_MAX];
	struct digest got;
	struct err e2 = ERR_INIT;
	int pin;

	if (upload_digest(u, expected->alg, &got, e) < 0)
		goto keep;
	if (!digest_eq(&got, expected)) {
		err_set(e, ERR_DIGEST_INVALID,
			"upload content has digest %s, not %s",
			digest_str(&got, got_s), digest_str(expected, want));
		upload_discard(u);
		return -1;
	}
	/* gc may not free the blob between its file and its row. */
	if (stor_pin(st, false, &pin, e) < 0)
		goto keep;
	if (st->blobs->ops->up_commit(st->blobs, u->id, u->data, expected, e) <
		    0 ||
	    st->meta->ops->up_done(st->meta, u->repo, u->id, expected, e) < 0) {
		stor_unpin(pin);
		goto keep;
	}
	stor_unpin(pin);
	/* Without its size the blob is only checked by the scrub. */
	if (st->meta->ops->blob_size_put(st->meta, expected, u->offset, &e2) <
	    0)
		log_msg(LL_WARN, "upload %s: %s", u->id, e2.msg);
	err_clear(&e2);
	if (st->blobs->ops->up_remove(st->blobs, u->id, &e2) < 0)
		log_msg(LL_WARN, "upload %s: %s", u->id, e2.msg);
	upt_drop(u);
	return 0;
keep:
	/* Still resumable, with its running hash. */
	upt_idle(u);
	return -1;
}

int stor_upload_cancel(struct stor *st, const char *repo, const char *id,
		       struct err *e)
{
	struct stor_upload *u;
	struct err e2 = ERR_INIT;
	int ret;

	if (!stor_upload_id_valid(id))
		return err_set(e, ERR_BLOB_UPLOAD_UNKNOWN,
			       "malformed upload id");
	if (upt_hold(st, repo, id, &u, e) < 0)
		return -1;
	/* The data goes first: on a full disk the row cannot be deleted
	 * until space is freed.  A row left without data is ended by gc. */
	ret = st->meta->ops->up_find(st->meta, repo, id, e);
	if (ret == 0 && st->blobs->ops->up_remove(st->blobs, id, &e2) < 0)
		log_msg(LL_WARN, "upload %s: %s", id, e2.msg);
	if (ret == 0)
		ret = st->meta->ops->up_remove(st->meta, repo, id, e);
	upt_drop(u);
	return ret;
}

/* --- Manifests, tags, referrers ----------------------------------------- */

/* Under the pin: the caller checked the refs before, but gc may have freed
 * one since (a blob pushed long ago, an untagged child). */
static int manifest_refs_held(struct stor *st,
			      const struct stor_manifest_put *m, struct err *e)
{
	char ds[DIGEST_STR_MAX];
	bool linked;
	int64_t size;

	for (size_t i = 0; i < m->nrefs; i++) {
		linked = false;
		if (st->meta->ops->blob_linked(st->meta, m->repo, &m->refs[i],
					       &linked, e) < 0)
			return -1;
		if ((linked ||
		     stor_manifest_exists(st, m->repo, &m->refs[i])) &&
		    st->blobs->ops->stat(st->blobs, &m->refs[i], &size, NULL) ==
			    0)
			continue;
		return err_set(e, ERR_MANIFEST_BLOB_UNKNOWN,
			       "%s is no longer in repository %s",
			       digest_str(&m->refs[i], ds), m->repo);
	}
	return 0;
}

int stor_manifest_put(struct stor *st, const struct stor_manifest_put *m,
		      struct err *e)
{
	char want[DIGEST_STR_MAX], got_s[DIGEST_STR_MAX];
	struct digest got;
	int pin, ret;

	if (!m->media_type)
		return err_set(e, ERR_MANIFEST_INVALID,
			       "manifest has no media type");
	/* The file's name must match its content, whoever computed it. */
	digest_of(m->digest->alg, m->body, m->len, &got);
	if (!digest_eq(&got, m->digest))
		return err_set(
			e, ERR_DIGEST_INVALID, "manifest has digest %s, not %s",
			digest_str(&got, got_s), digest_str(m->digest, want));
	if (stor_pin(st, false, &pin, e) < 0)
		return -1;
	ret = m->verify_refs ? manifest_refs_held(st, m, e) : 0;
	if (ret == 0)
		ret = st->blobs->ops->put(st->blobs, m->digest, m->body, m->len,
					  e);
	if (ret == 0)
		ret = st->meta->ops->mf_put(st->meta, m, e);
	stor_unpin(pin);
	return ret;
}

int stor_read_full(int fd, char *p, size_t len, const char *what, struct err *e)
{
	ssize_t n = fdio_pread_all(fd, p, len, 0);

	if (n < 0)
		return err_errno(e, ERR_IO, errno, "read %s", what);
	if ((size_t)n < len)
		return err_set(e, ERR_IO, "%s file is short", what);
	return 0;
}

int stor_manifest_get(struct stor *st, const char *repo, const char *tag,
		      const struct digest *dg, struct stor_manifest **out,
		      struct err *e)
{
	struct stor_manifest *m = xcalloc(1, sizeof(*m));
	char ds[DIGEST_STR_MAX];
	int64_t size, fsize;
	int fd = -1, ret = -1;

	if (!tag && !dg) {
		err_set(e, ERR_INVALID,
			"manifest asked by neither tag nor "
			"digest");
		goto out;
	}
	if (st->meta->ops->mf_find(st->meta, repo, tag, tag ? NULL : dg,
				   &m->digest, &m->media_type, &size, e) < 0 ||
	    st->blobs->ops->open(st->blobs, &m->digest, &fd, &fsize, e) < 0)
		goto out;
	/* The file is bounded by what we stored; a mismatch is damage. */
	if (fsize != size) {
		err_set(e, ERR_IO, "manifest %s is %lld bytes, not %lld",
			digest_str(&m->digest, ds), (long long)fsize,
			(long long)size);
		goto out;
	}
	m->len = (size_t)size;
	m->body = xmalloc(m->len + 1);
	if (stor_read_full(fd, m->body, m->len, "manifest", e) < 0)
		goto out;
	m->body[m->len] = '\0';
	*out = m;
	m = NULL;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	stor_manifest_free(m);
	return ret;
}

void stor_manifest_free(struct stor_manifest *m)
{
	if (!m)
		return;
	free(m->media_type);
	free(m->body);
	free(m);
}

bool stor_manifest_exists(struct stor *st, const char *repo,
			  const struct digest *dg)
{
	struct digest found;
	char *media_type = NULL;
	int64_t size;

	if (st->meta->ops->mf_find(st->meta, repo, NULL, dg, &found,
				   &media_type, &size, NULL) < 0)
		return false;
	free(media_type);
	return true;
}

int stor_manifest_delete(struct stor *st, const char *repo,
			 const struct digest *dg, struct err *e)
{
	return st->meta->ops->mf_delete(st->meta, repo, dg, e);
}

int stor_tag_delete(struct stor *st, const char *repo, const char *tag,
		    struct err *e)
{
	return st->meta->ops->tag_delete(st->meta, repo, tag, e);
}

int stor_tags_list(struct stor *st, const char *repo, const char *last, long n,
		   char ***out, size_t *count, bool *more, struct err *e)
{
	return st->meta->ops->tags_list(st->meta, repo, last, n, out, count,
					more, e);
}

int stor_tag_times(struct stor *st, const char *repo,
		   struct stor_tag_time **out, size_t *count, struct err *e)
{
	*out = NULL;
	*count = 0;
	return st->meta->ops->tag_times(st->meta, repo, out, count, e);
}

int stor_tag_page(struct stor *st, const char *repo, const char *last, long n,
		  struct stor_tag_time **out, size_t *count, bool *more,
		  size_t *total, struct err *e)
{
	*out = NULL;
	*count = 0;
	*more = false;
	*total = 0;
	return st->meta->ops->tag_page(st->meta, repo, last, n, out, count,
				       more, total, e);
}

void stor_tag_times_free(struct stor_tag_time *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].tag);
		free(v[i].media_type);
	}
	free(v);
}

int stor_catalog(struct stor *st, const char *last, long n, char ***out,
		 size_t *count, bool *more, struct err *e)
{
	return st->meta->ops->catalog(st->meta, last, n, out, count, more, e);
}

void stor_strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int stor_referrers(struct stor *st, const char *repo, const struct digest *dg,
		   const char *artifact_type, struct stor_desc **out,
		   size_t *count, struct err *e)
{
	return st->meta->ops->referrers(st->meta, repo, dg, artifact_type, out,
					count, e);
}

int stor_manifest_repos(struct stor *st, const struct digest *dg, char ***out,
			size_t *count, struct err *e)
{
	return st->meta->ops->mf_repos(st->meta, dg, out, count, e);
}

void stor_desc_free(struct stor_desc *d, size_t count)
{
	if (!d)
		return;
	for (size_t i = 0; i < count; i++) {
		free(d[i].media_type);
		free(d[i].artifact_type);
		free(d[i].annotations_json);
	}
	free(d);
}
