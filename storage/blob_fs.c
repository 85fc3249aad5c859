/* blob_fs.c: blob bytes as files under DIR.
 *
 * Every path is relative to a directory fd kept open on DIR.  A blob file
 * appears in blobs/ only through link(2) (or rename(2)) of a file that was
 * fully written and fsynced elsewhere, so a name under blobs/ always holds
 * its whole content.  Temporary files live in uploads/ as tmp-<uuid>, which
 * no upload id can match.  The saved hash state of an upload is
 * uploadstate/<id>, and uploadstate/clean says the last owner closed them
 * properly.
 */
#define _GNU_SOURCE /* syncfs */
#include "storage/blob_fs_int.h"
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
#include <unistd.h>

#include "common/banned.h"

#define FS_CHUNK    (64 * 1024)
#define FS_PATH_MAX 256 /* our relative paths are far shorter */
/* Uploads past FS_PREALLOC_MIN get their blocks ahead of the data, as much
 * again as is written, up to FS_PREALLOC_MAX at a time. */
#define FS_PREALLOC_MIN (1024 * 1024)
#define FS_PREALLOC_MAX (8 * 1024 * 1024)

struct fs {
	struct stor_blobs base;
	int dirfd;
	char *dir;
};

struct stor_updata {
	int fd;
	int64_t size;
	int64_t alloc; /* blocks are allocated up to here (past size) */
	bool no_alloc; /* fallocate failed: not again */
};

static struct fs *fs_of(struct stor_blobs *b)
{
	return (struct fs *)b;
}

static void fs_blob_dir(const struct digest *dg, char out[FS_PATH_MAX])
{
	snprintf(out, FS_PATH_MAX, "blobs/%s/%.2s", digest_alg_name(dg->alg),
		 dg->hex);
}

static void fs_blob_path(const struct digest *dg, char out[FS_PATH_MAX])
{
	snprintf(out, FS_PATH_MAX, "blobs/%s/%.2s/%s", digest_alg_name(dg->alg),
		 dg->hex, dg->hex);
}

static void fs_upload_path(const char *id, char out[FS_PATH_MAX])
{
	snprintf(out, FS_PATH_MAX, "uploads/%s", id);
}

#define FS_STATE_DIR   "uploadstate"
#define FS_STATE_CLEAN FS_STATE_DIR "/clean"

static void fs_state_path(const char *id, char out[FS_PATH_MAX])
{
	snprintf(out, FS_PATH_MAX, FS_STATE_DIR "/%s", id);
}

static int fs_fsync_dir(struct fs *fs, const char *rel, struct err *e)
{
	int fd = openat(fs->dirfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return err_errno(e, ERR_IO, errno, "open %s/%s", fs->dir, rel);
	if (fsync(fd) < 0)
		ret = err_errno(e, ERR_IO, errno, "fsync %s/%s", fs->dir, rel);
	close(fd);
	return ret;
}

/* mkdir that tolerates an existing directory; a new one is made durable
 * in its parent. */
static int fs_mkdir(struct fs *fs, const char *rel, struct err *e)
{
	char parent[FS_PATH_MAX];
	const char *slash;

	if (mkdirat(fs->dirfd, rel, 0755) < 0) {
		if (errno == EEXIST)
			return 0;
		return err_errno(e, ERR_IO, errno, "mkdir %s/%s", fs->dir, rel);
	}
	slash = strrchr(rel, '/');
	if (!slash)
		return fs_fsync_dir(fs, ".", e);
	snprintf(parent, sizeof(parent), "%.*s", (int)(slash - rel), rel);
	return fs_fsync_dir(fs, parent, e);
}

/* Gives the durable file src the name of blob dg; dir gets the blob's
 * directory.  link(2) keeps a blob that is already there (identical by
 * its name); rename(2) serves filesystems without hard links.  src stays
 * only after a link. */
static int fs_name(struct fs *fs, const char *src, const struct digest *dg,
		   char dir[FS_PATH_MAX], struct err *e)
{
	char dst[FS_PATH_MAX];

	fs_blob_dir(dg, dir);
	fs_blob_path(dg, dst);
	if (fs_mkdir(fs, dir, e) < 0)
		return -1;
	if (linkat(fs->dirfd, src, fs->dirfd, dst, 0) < 0 && errno != EEXIST) {
		if (errno != EPERM && errno != ENOTSUP && errno != ENOSYS)
			return err_errno(e, ERR_IO, errno, "link %s/%s",
					 fs->dir, dst);
		if (renameat(fs->dirfd, src, fs->dirfd, dst) < 0)
			return err_errno(e, ERR_IO, errno, "rename to %s/%s",
					 fs->dir, dst);
	}
	return 0;
}

/* fs_name(), made durable. */
static int fs_publish(struct fs *fs, const char *src, const struct digest *dg,
		      struct err *e)
{
	char dir[FS_PATH_MAX];

	if (fs_name(fs, src, dg, dir, e) < 0)
		return -1;
	return fs_fsync_dir(fs, dir, e);
}

static int fs_stat(struct stor_blobs *b, const struct digest *dg,
		   int64_t *size_out, struct err *e)
{
	struct fs *fs = fs_of(b);
	char path[FS_PATH_MAX], ds[DIGEST_STR_MAX];
	struct stat sb;

	fs_blob_path(dg, path);
	if (fstatat(fs->dirfd, path, &sb, 0) < 0) {
		if (errno == ENOENT)
			return err_set(e, ERR_BLOB_UNKNOWN, "blob %s unknown",
				       digest_str(dg, ds));
		return err_errno(e, ERR_IO, errno, "stat %s/%s", fs->dir, path);
	}
	if (!S_ISREG(sb.st_mode))
		return err_set(e, ERR_IO, "%s/%s is not a file", fs->dir, path);
	*size_out = sb.st_size;
	return 0;
}

static int fs_open(struct stor_blobs *b, const struct digest *dg, int *fd_out,
		   int64_t *size_out, struct err *e)
{
	struct fs *fs = fs_of(b);
	char path[FS_PATH_MAX], ds[DIGEST_STR_MAX];
	struct stat sb;
	int fd;

	fs_blob_path(dg, path);
	fd = openat(fs->dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return err_set(e, ERR_BLOB_UNKNOWN, "blob %s unknown",
				       digest_str(dg, ds));
		return err_errno(e, ERR_IO, errno, "open %s/%s", fs->dir, path);
	}
	if (fstat(fd, &sb) < 0) {
		err_errno(e, ERR_IO, errno, "stat %s/%s", fs->dir, path);
		close(fd);
		return -1;
	}
	*fd_out = fd;
	*size_out = sb.st_size;
	return 0;
}

/* Writes data to the file path (made with O_CREAT | oflags), fsynced if
 * sync; on failure the file is gone. */
static int fs_write_file(struct fs *fs, const char *path, int oflags, bool sync,
			 const void *data, size_t len, struct err *e)
{
	const char *what = "write";
	int fd, rc;

	fd = openat(fs->dirfd, path, O_WRONLY | O_CREAT | O_CLOEXEC | oflags,
		    0644);
	if (fd < 0)
		return err_errno(e, ERR_IO, errno, "create %s/%s", fs->dir,
				 path);
	rc = fdio_write_all(fd, data, len) < 0 ? errno : 0;
	if (!rc && sync && fsync(fd) < 0) {
		rc = errno;
		what = "fsync";
	}
	close(fd);
	if (rc) {
		unlinkat(fs->dirfd, path, 0);
		return err_errno(e, ERR_IO, rc, "%s %s/%s", what, fs->dir,
				 path);
	}
	return 0;
}

/* Writes data to a new temporary file; its name into tmp. */
static int fs_write_tmp(struct fs *fs, const void *data, size_t len, bool sync,
			char tmp[FS_PATH_MAX], struct err *e)
{
	char id[STOR_UUID_LEN + 1];

	if (stor_uuid(id, e) < 0)
		return -1;
	snprintf(tmp, FS_PATH_MAX, "uploads/tmp-%s", id);
	return fs_write_file(fs, tmp, O_EXCL, sync, data, len, e);
}

static int fs_put(struct stor_blobs *b, const struct digest *dg,
		  const void *data, size_t len, struct err *e)
{
	struct fs *fs = fs_of(b);
	char tmp[FS_PATH_MAX];
	int64_t size;
	int ret;

	if (fs_stat(b, dg, &size, NULL) == 0)
		return 0;
	if (fs_write_tmp(fs, data, len, true, tmp, e) < 0)
		return -1;
	ret = fs_publish(fs, tmp, dg, e);
	unlinkat(fs->dirfd, tmp, 0);
	return ret;
}

/* Blobs written under temporary names, to be named together. */
struct stor_blob_stage {
	struct digest *dg;
	char (*tmp)[FS_PATH_MAX];
	size_t n, cap;
};

static int fs_stage(struct stor_blobs *b, const struct stor_blob_data *v,
		    size_t n, struct stor_blob_stage **sp, struct err *e)
{
	struct fs *fs = fs_of(b);
	struct stor_blob_stage *s = *sp;
	int64_t size;

	if (!s)
		s = *sp = xcalloc(1, sizeof(*s));
	for (size_t i = 0; i < n; i++) {
		if (fs_stat(b, v[i].digest, &size, NULL) == 0)
			continue;
		if (s->n == s->cap) {
			s->cap = s->cap ? 2 * s->cap : 64;
			s->dg = xrealloc(s->dg, s->cap * sizeof(*s->dg));
			s->tmp = xrealloc(s->tmp, s->cap * sizeof(*s->tmp));
		}
		if (fs_write_tmp(fs, v[i].data, v[i].len, false, s->tmp[s->n],
				 e) < 0)
			return -1;
		s->dg[s->n++] = *v[i].digest;
	}
	return 0;
}

/* Two syncs in all instead of two a blob: the data is durable before any
 * name points at it, and the names before this returns. */
static int fs_stage_end(struct stor_blobs *b, struct stor_blob_stage *s,
			bool publish, struct err *e)
{
	struct fs *fs = fs_of(b);
	char dir[FS_PATH_MAX];
	size_t i;
	int ret = -1;

	if (!s)
		return 0;
	if (!publish || !s->n) {
		ret = 0;
		goto out;
	}
	if (syncfs(fs->dirfd) < 0) {
		err_errno(e, ERR_IO, errno, "syncfs %s", fs->dir);
		goto out;
	}
	for (i = 0; i < s->n; i++)
		if (fs_name(fs, s->tmp[i], &s->dg[i], dir, e) < 0)
			goto out;
	if (syncfs(fs->dirfd) < 0) {
		err_errno(e, ERR_IO, errno, "syncfs %s", fs->dir);
		goto out;
	}
	ret = 0;
out:
	for (i = 0; i < s->n; i++)
		unlinkat(fs->dirfd, s->tmp[i], 0);
	free(s->tmp);
	free(s->dg);
	free(s);
	return ret;
}

static int fs_put_many(struct stor_blobs *b, const struct stor_blob_data *v,
		       size_t n, struct err *e)
{
	struct stor_blob_stage *s = NULL;
	int ret = fs_stage(b, v, n, &s, e);

	return fs_stage_end(b, s, ret == 0, e) < 0 ? -1 : ret;
}

static int fs_up_create(struct stor_blobs *b, const char *id, struct err *e)
{
	struct fs *fs = fs_of(b);
	char path[FS_PATH_MAX];
	int fd;

	fs_upload_path(id, path);
	fd = openat(fs->dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0644);
	if (fd < 0)
		return err_errno(e, ERR_IO, errno, "create %s/%s", fs->dir,
				 path);
	close(fd);
	return 0;
}

/* Where a file's blocks end when they reach past its last block of data
 * (a preallocation that a crash left), else its size. */
static int64_t fs_blocks_end(const struct stat *sb)
{
	int64_t bs = sb->st_blksize > 0 ? sb->st_blksize : 4096;
	int64_t used = (int64_t)sb->st_blocks * 512;

	return used > (sb->st_size + bs - 1) / bs * bs ? used : sb->st_size;
}

static int fs_up_open(struct stor_blobs *b, const char *id,
		      struct stor_updata **out, int64_t *size_out,
		      struct err *e)
{
	struct fs *fs = fs_of(b);
	char path[FS_PATH_MAX];
	struct stor_updata *d;
	struct stat sb;
	int fd;

	fs_upload_path(id, path);
	fd = openat(fs->dirfd, path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return err_set(e, ERR_BLOB_UPLOAD_UNKNOWN,
				       "upload %s has no data", id);
		return err_errno(e, ERR_IO, errno, "open %s/%s", fs->dir, path);
	}
	if (fstat(fd, &sb) < 0) {
		err_errno(e, ERR_IO, errno, "stat %s/%s", fs->dir, path);
		close(fd);
		return -1;
	}
	d = xcalloc(1, sizeof(*d));
	d->fd = fd;
	d->size = sb.st_size;
	d->alloc = fs_blocks_end(&sb);
	*out = d;
	*size_out = sb.st_size;
	return 0;
}

/* Allocates the blocks of a growing upload ahead of its writes
 * (KEEP_SIZE: the file's size stays that of its data).  A buffered write
 * into allocated blocks skips ext4's per-block delayed allocation, which
 * costs the server more CPU than copying the bytes; fs_up_trim() gives
 * back what the data did not fill.  Best effort: a filesystem without
 * fallocate, or one too full for the step, takes the writes as they
 * come. */
static void fs_up_prealloc(struct stor_updata *d, size_t len)
{
	int64_t end = d->size + (int64_t)len, step;

	if (d->no_alloc || end <= d->alloc || end < FS_PREALLOC_MIN)
		return;
	step = end < FS_PREALLOC_MAX ? end : FS_PREALLOC_MAX;
	if (fallocate(d->fd, FALLOC_FL_KEEP_SIZE, d->size,
		      end + step - d->size) < 0) {
		d->no_alloc = true;
		return;
	}
	d->alloc = end + step;
}

/* Frees the blocks allocated past the data (truncate to the same size
 * does that), so that a blob or an idle upload holds no more than its
 * bytes. */
static int fs_up_trim(struct stor_updata *d)
{
	if (d->alloc <= d->size)
		return 0;
	if (ftruncate(d->fd, d->size) < 0)
		return errno;
	d->alloc = d->size;
	return 0;
}

static int fs_up_append(struct stor_updata *d, const void *data, size_t len,
			struct err *e)
{
	int rc;

	fs_up_prealloc(d, len);
	rc = fdio_write_all(d->fd, data, len) < 0 ? errno : 0;

	if (rc) {
		/* Take back a partial write so data and hash stay in step;
		 * if that fails too, the size check at the next take sees
		 * it and re-hashes. */
		if (ftruncate(d->fd, d->size) < 0)
			log_errno(LL_WARN, errno, "truncate upload data");
		d->alloc = d->size;
		return err_errno(e, ERR_IO, rc, "write upload data");
	}
	d->size += (int64_t)len;
	return 0;
}

static int fs_up_reader(struct stor_blobs *b, const char *id, int *fd_out,
			struct err *e)
{
	struct fs *fs = fs_of(b);
	char path[FS_PATH_MAX];
	int fd;

	fs_upload_path(id, path);
	fd = openat(fs->dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(
			e, errno == ENOENT ? ERR_BLOB_UPLOAD_UNKNOWN : ERR_IO,
			errno, "open %s/%s", fs->dir, path);
	*fd_out = fd;
	return 0;
}

static void fs_up_close(struct stor_updata *d)
{
	int rc;

	if (!d)
		return;
	rc = fs_up_trim(d);
	if (rc)
		log_errno(LL_WARN, rc, "truncate upload data");
	close(d->fd);
	free(d);
}

static int fs_up_hash(struct stor_blobs *b, const char *id, struct hasher *h,
		      int64_t *size_out, struct err *e)
{
	struct fs *fs = fs_of(b);
	char path[FS_PATH_MAX];
	char *chunk = NULL;
	int64_t total = 0;
	int fd, ret = -1;
	ssize_t n;

	fs_upload_path(id, path);
	fd = openat(fs->dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return err_set(e, ERR_BLOB_UPLOAD_UNKNOWN,
				       "upload %s has no data", id);
		return err_errno(e, ERR_IO, errno, "open %s/%s", fs->dir, path);
	}
	chunk = xmalloc(FS_CHUNK);
	while ((n = fdio_read(fd, chunk, FS_CHUNK)) > 0) {
		hasher_update(h, chunk, (size_t)n);
		total += n;
	}
	if (n < 0) {
		err_errno(e, ERR_IO, errno, "read %s/%s", fs->dir, path);
		goto out;
	}
	*size_out = total;
	ret = 0;
out:
	free(chunk);
	close(fd);
	return ret;
}

static int fs_up_commit(struct stor_blobs *b, const char *id,
			struct stor_updata *d, const struct digest *dg,
			struct err *e)
{
	struct fs *fs = fs_of(b);
	char path[FS_PATH_MAX];

	int rc;

	fs_upload_path(id, path);
	rc = fs_up_trim(d);
	if (rc)
		return err_errno(e, ERR_IO, rc, "truncate %s/%s", fs->dir,
				 path);
	if (fsync(d->fd) < 0)
		return err_errno(e, ERR_IO, errno, "fsync %s/%s", fs->dir,
				 path);
	return fs_publish(fs, path, dg, e);
}

static int fs_up_remove(struct stor_blobs *b, const char *id, struct err *e)
{
	struct fs *fs = fs_of(b);
	char path[FS_PATH_MAX];

	fs_state_path(id, path);
	if (unlinkat(fs->dirfd, path, 0) < 0 && errno != ENOENT)
		log_errno(LL_WARN, errno, "unlink %s/%s", fs->dir, path);
	fs_upload_path(id, path);
	if (unlinkat(fs->dirfd, path, 0) < 0 && errno != ENOENT)
		return err_errno(e, ERR_IO, errno, "unlink %s/%s", fs->dir,
				 path);
	return 0;
}

static int fs_up_state_save(struct stor_blobs *b, const char *id,
			    const void *data, size_t len, struct err *e)
{
	struct fs *fs = fs_of(b);
	char path[FS_PATH_MAX];

	fs_state_path(id, path);
	return fs_write_file(fs, path, O_TRUNC, false, data, len, e);
}

static int fs_up_state_load(struct stor_blobs *b, const char *id, void *buf,
			    size_t cap, size_t *len, struct err *e)
{
	struct fs *fs = fs_of(b);
	char path[FS_PATH_MAX];
	ssize_t n;
	int fd, ret = 0;

	fs_state_path(id, path);
	fd = openat(fs->dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		return err_errno(e, ERR_IO, errno, "open %s/%s", fs->dir, path);
	}
	n = fdio_read_all(fd, buf, cap);
	if (n < 0)
		ret = err_errno(e, ERR_IO, errno, "read %s/%s", fs->dir, path);
	close(fd);
	*len = n < 0 ? 0 : (size_t)n;
	return ret;
}

/* Deletes every saved state (not the directory). */
static int fs_state_wipe(struct fs *fs, struct err *e)
{
	struct dirent *de;
	DIR *d;
	int fd;

	fd = openat(fs->dirfd, FS_STATE_DIR,
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(e, ERR_IO, errno, "open %s/%s", fs->dir,
				 FS_STATE_DIR);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return err_errno(e, ERR_IO, errno, "open %s/%s", fs->dir,
				 FS_STATE_DIR);
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	return 0;
}

static int fs_up_state_open(struct stor_blobs *b, struct err *e)
{
	struct fs *fs = fs_of(b);

	/* Present: the states were closed properly; gone from now on, so
	 * that a crash of this run leaves none trusted. */
	if (unlinkat(fs->dirfd, FS_STATE_CLEAN, 0) == 0)
		return fs_fsync_dir(fs, FS_STATE_DIR, e);
	if (errno != ENOENT)
		return err_errno(e, ERR_IO, errno, "unlink %s/%s", fs->dir,
				 FS_STATE_CLEAN);
	return fs_state_wipe(fs, e);
}

static int fs_up_state_close(struct stor_blobs *b, struct err *e)
{
	struct fs *fs = fs_of(b);
	int fd;

	/* Uploads' data and their states on disk before the mark. */
	if (syncfs(fs->dirfd) < 0)
		return err_errno(e, ERR_IO, errno, "syncfs %s", fs->dir);
	fd = openat(fs->dirfd, FS_STATE_CLEAN,
		    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_errno(e, ERR_IO, errno, "create %s/%s", fs->dir,
				 FS_STATE_CLEAN);
	close(fd);
	return fs_fsync_dir(fs, FS_STATE_DIR, e);
}

static void fs_free(struct stor_blobs *b)
{
	struct fs *fs = fs_of(b);

	if (!fs)
		return;
	if (fs->dirfd >= 0)
		close(fs->dirfd);
	free(fs->dir);
	free(fs);
}

static const struct stor_blob_ops fs_ops = {
	.free = fs_free,
	.stat = fs_stat,
	.open = fs_open,
	.put = fs_put,
	.put_many = fs_put_many,
	.stage = fs_stage,
	.stage_end = fs_stage_end,
	.up_create = fs_up_create,
	.up_open = fs_up_open,
	.up_append = fs_up_append,
	.up_close = fs_up_close,
	.up_hash = fs_up_hash,
	.up_commit = fs_up_commit,
	.up_remove = fs_up_remove,
	.up_reader = fs_up_reader,
	.up_state_save = fs_up_state_save,
	.up_state_load = fs_up_state_load,
	.up_state_open = fs_up_state_open,
	.up_state_close = fs_up_state_close,
};

int stor_fs_dirfd(struct stor_blobs *b)
{
	return fs_of(b)->dirfd;
}

const char *stor_fs_dir(struct stor_blobs *b)
{
	return fs_of(b)->dir;
}

static int fs_layout(struct fs *fs, struct err *e)
{
	static const char *const dirs[] = {"blobs", "blobs/sha256",
					   "blobs/sha512", "uploads",
					   FS_STATE_DIR};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (fs_mkdir(fs, dirs[i], e) < 0)
			return -1;
	return 0;
}

struct stor_blobs *stor_fs_new(const char *dir, struct err *e)
{
	struct fs *fs = xcalloc(1, sizeof(*fs));

	fs->base.ops = &fs_ops;
	fs->base.maint = &stor_fs_maint_ops;
	fs->dir = xstrdup(dir);
	fs->dirfd = -1;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		err_errno(e, ERR_IO, errno, "mkdir %s", dir);
		goto fail;
	}
	fs->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fs->dirfd < 0) {
		err_errno(e, ERR_IO, errno, "open %s", dir);
		goto fail;
	}
	if (fs_layout(fs, e) < 0)
		goto fail;
	return &fs->base;
fail:
	fs_free(&fs->base);
	return NULL;
}
