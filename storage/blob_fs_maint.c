/* blob_fs_maint.c: what gc and fsck need of the filesystem backend.
 *
 * A walk reports every name it finds under blobs/ or uploads/, so that
 * nothing can hide from fsck: a name that is not a blob where it should be
 * (wrong directory, upper-case hex, a directory) is a stray.  Callbacks may
 * delete the file they are given.
 */
#include "storage/blob_fs_int.h"
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

#define MAINT_PATH_MAX	 512
#define MAINT_QUARANTINE "quarantine"

struct walk {
	struct stor_blobs *b;
	int dirfd;
	stor_file_fn fn;
	void *arg;
	struct err *e;
};

static int64_t maint_changed(const struct stat *sb)
{
	return sb->st_ctime > sb->st_mtime ? (int64_t)sb->st_ctime
					   : (int64_t)sb->st_mtime;
}

/* Calls fn(w, rel, name) for each entry of directory rel but "." and "..";
 * stops at the first non-zero return. */
static int maint_readdir(struct walk *w, const char *rel,
			 int (*fn)(struct walk *w, const char *rel,
				   const char *name))
{
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	fd = openat(w->dirfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return err_errno(w->e, ERR_IO, errno, "open %s/%s",
				 stor_fs_dir(w->b), rel);
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return err_errno(w->e, ERR_IO, errno, "open %s/%s",
				 stor_fs_dir(w->b), rel);
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				rc = err_errno(w->e, ERR_IO, errno,
					       "read %s/%s", stor_fs_dir(w->b),
					       rel);
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		rc = fn(w, rel, de->d_name);
		if (rc)
			break;
	}
	closedir(d);
	return rc;
}

/* Stats rel/name into path and f (zeroed, then its size and times): 1,
 * or 0 when it vanished meanwhile (gc), or -1. */
static int maint_stat(struct walk *w, const char *rel, const char *name,
		      char path[MAINT_PATH_MAX], struct stor_file *f,
		      struct stat *sb)
{
	if ((size_t)snprintf(path, MAINT_PATH_MAX, "%s/%s", rel, name) >=
	    MAINT_PATH_MAX)
		return err_set(w->e, ERR_IO, "%s/%s/%.64s...: name too long",
			       stor_fs_dir(w->b), rel, name);
	if (fstatat(w->dirfd, path, sb, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return err_errno(w->e, ERR_IO, errno, "stat %s/%s",
				 stor_fs_dir(w->b), path);
	}
	memset(f, 0, sizeof(*f));
	f->size = sb->st_size;
	f->changed = maint_changed(sb);
	f->written = (int64_t)sb->st_mtime;
	return 1;
}

/* Reports rel/name to the walk's function.  Under blobs/: a blob if dg
 * is set and it is a regular file, else a stray.  Under uploads/ (upload
 * true): an upload's data, else a temporary file.  A name that vanished
 * meanwhile (gc) is skipped. */
static int maint_emit(struct walk *w, const char *rel, const char *name,
		      const struct digest *dg, bool upload)
{
	char path[MAINT_PATH_MAX];
	struct stor_file f;
	struct stat sb;
	int rc = maint_stat(w, rel, name, path, &f, &sb);

	if (rc <= 0)
		return rc;
	if (upload) {
		f.name = name;
		/* Anything but an upload's data is a temporary file
		 * (tmp-<uuid>) or junk: either way nobody resumes it. */
		f.tmp = !S_ISREG(sb.st_mode) || !stor_upload_id_valid(name);
	} else {
		f.dg = S_ISREG(sb.st_mode) ? dg : NULL;
		f.name = path;
	}
	return w->fn(w->arg, &f, w->e);
}

static bool maint_is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == '\0';
}

/* An entry of blobs/<alg>/<xx>/: a blob named by its full hex. */
static int maint_walk_blob(struct walk *w, const char *rel, const char *name)
{
	const char *alg = rel + strlen("blobs/");
	const char *xx = strrchr(rel, '/') + 1;
	char ds[DIGEST_STR_MAX + 8];
	struct digest dg;
	int n;

	n = snprintf(ds, sizeof(ds), "%.*s:%s", (int)(xx - alg - 1), alg, name);
	if (n > 0 && (size_t)n < sizeof(ds) &&
	    digest_parse(ds, (size_t)n, &dg, NULL) == 0 &&
	    !strncmp(dg.hex, xx, 2))
		return maint_emit(w, rel, name, &dg, false);
	return maint_emit(w, rel, name, NULL, false);
}

/* An entry of blobs/<alg>/: a directory named by two hex digits. */
static int maint_walk_prefix(struct walk *w, const char *rel, const char *name)
{
	char sub[MAINT_PATH_MAX];
	struct stat sb;

	snprintf(sub, sizeof(sub), "%s/%s", rel, name);
	if (strlen(name) == 2 && maint_is_hex(name, 2) &&
	    fstatat(w->dirfd, sub, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(sb.st_mode))
		return maint_readdir(w, sub, maint_walk_blob);
	return maint_emit(w, rel, name, NULL, false);
}

/* An entry of blobs/: a directory per algorithm. */
static int maint_walk_alg(struct walk *w, const char *rel, const char *name)
{
	char sub[MAINT_PATH_MAX];
	struct stat sb;

	snprintf(sub, sizeof(sub), "%s/%s", rel, name);
	if ((!strcmp(name, "sha256") || !strcmp(name, "sha512")) &&
	    fstatat(w->dirfd, sub, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(sb.st_mode))
		return maint_readdir(w, sub, maint_walk_prefix);
	return maint_emit(w, rel, name, NULL, false);
}

static int maint_walk(struct stor_blobs *b, stor_file_fn fn, void *arg,
		      struct err *e)
{
	struct walk w = {b, stor_fs_dirfd(b), fn, arg, e};

	return maint_readdir(&w, "blobs", maint_walk_alg) < 0 ? -1 : 0;
}

static int maint_walk_upload(struct walk *w, const char *rel, const char *name)
{
	return maint_emit(w, rel, name, NULL, true);
}

static int maint_up_walk(struct stor_blobs *b, stor_file_fn fn, void *arg,
			 struct err *e)
{
	struct walk w = {b, stor_fs_dirfd(b), fn, arg, e};

	return maint_readdir(&w, "uploads", maint_walk_upload) < 0 ? -1 : 0;
}

static int maint_up_stat(struct stor_blobs *b, const char *id, int64_t *size,
			 int64_t *changed, struct err *e)
{
	char path[MAINT_PATH_MAX];
	struct stat sb;

	if (!stor_upload_id_valid(id))
		return err_set(e, ERR_BLOB_UPLOAD_UNKNOWN,
			       "malformed upload id");
	snprintf(path, sizeof(path), "uploads/%s", id);
	if (fstatat(stor_fs_dirfd(b), path, &sb, 0) < 0) {
		if (errno == ENOENT)
			return err_set(e, ERR_BLOB_UPLOAD_UNKNOWN,
				       "upload %s has no data", id);
		return err_errno(e, ERR_IO, errno, "stat %s/%s", stor_fs_dir(b),
				 path);
	}
	*size = sb.st_size;
	*changed = maint_changed(&sb);
	return 0;
}

static int maint_remove(struct stor_blobs *b, const struct digest *dg,
			struct err *e)
{
	char path[MAINT_PATH_MAX];

	snprintf(path, sizeof(path), "blobs/%s/%.2s/%s",
		 digest_alg_name(dg->alg), dg->hex, dg->hex);
	if (unlinkat(stor_fs_dirfd(b), path, 0) < 0 && errno != ENOENT)
		return err_errno(e, ERR_IO, errno, "unlink %s/%s",
				 stor_fs_dir(b), path);
	return 0;
}

static int maint_fsync_dir(struct stor_blobs *b, const char *rel, struct err *e)
{
	int fd = openat(stor_fs_dirfd(b), rel,
			O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return err_errno(e, ERR_IO, errno, "open %s/%s", stor_fs_dir(b),
				 rel);
	if (fsync(fd) < 0)
		ret = err_errno(e, ERR_IO, errno, "fsync %s/%s", stor_fs_dir(b),
				rel);
	close(fd);
	return ret;
}

/* quarantine/<alg>-<hex> for a blob, quarantine/<path with '/' as '_'>
 * for a stray; ".1", ".2"... when the name is taken (the same corruption
 * found twice). */
static int maint_quarantine_name(struct stor_blobs *b,
				 const struct stor_file *f,
				 char out[MAINT_PATH_MAX], struct err *e)
{
	char base[MAINT_PATH_MAX];
	struct stat sb;
	size_t n;

	if (f->dg)
		snprintf(base, sizeof(base), MAINT_QUARANTINE "/%s-%s",
			 digest_alg_name(f->dg->alg), f->dg->hex);
	else
		snprintf(base, sizeof(base), MAINT_QUARANTINE "/%s", f->name);
	for (char *p = base + strlen(MAINT_QUARANTINE "/"); *p; p++)
		if (*p == '/')
			*p = '_';
	for (int i = 0; i < 1000; i++) {
		n = i ? (size_t)snprintf(out, MAINT_PATH_MAX, "%s.%d", base, i)
		      : (size_t)snprintf(out, MAINT_PATH_MAX, "%s", base);
		if (n >= MAINT_PATH_MAX)
			break;
		if (fstatat(stor_fs_dirfd(b), out, &sb, AT_SYMLINK_NOFOLLOW) <
			    0 &&
		    errno == ENOENT)
			return 0;
	}
	return err_set(e, ERR_IO,
		       "no free name in %s/" MAINT_QUARANTINE " for %s",
		       stor_fs_dir(b), f->name);
}

static int maint_quarantine(struct stor_blobs *b, const struct stor_file *arg,
			    struct err *e)
{
	char dst[MAINT_PATH_MAX], src_dir[MAINT_PATH_MAX];
	char path[MAINT_PATH_MAX];
	struct stor_file blob;
	const struct stor_file *f = arg;
	const char *slash;

	if (!f->name && f->dg) {
		/* A blob named by its digest: its path as blob_fs.c has it. */
		snprintf(path, sizeof(path), "blobs/%s/%.2s/%s",
			 digest_alg_name(f->dg->alg), f->dg->hex, f->dg->hex);
		blob = *f;
		blob.name = path;
		f = &blob;
	}
	if (!f->name || strncmp(f->name, "blobs/", 6) || strstr(f->name, ".."))
		return err_set(e, ERR_INTERNAL, "cannot quarantine %s",
			       f->name);
	if (mkdirat(stor_fs_dirfd(b), MAINT_QUARANTINE, 0755) < 0 &&
	    errno != EEXIST)
		return err_errno(e, ERR_IO, errno, "mkdir %s/" MAINT_QUARANTINE,
				 stor_fs_dir(b));
	if (maint_quarantine_name(b, f, dst, e) < 0)
		return -1;
	if (renameat(stor_fs_dirfd(b), f->name, stor_fs_dirfd(b), dst) < 0)
		return err_errno(e, ERR_IO, errno, "move %s/%s to %s",
				 stor_fs_dir(b), f->name, dst);
	slash = strrchr(f->name, '/');
	snprintf(src_dir, sizeof(src_dir), "%.*s", (int)(slash - f->name),
		 f->name);
	if (maint_fsync_dir(b, MAINT_QUARANTINE, e) < 0 ||
	    maint_fsync_dir(b, src_dir, e) < 0)
		return -1;
	return 0;
}

static int maint_tmp_remove(struct stor_blobs *b, const char *name,
			    struct err *e)
{
	char path[MAINT_PATH_MAX];

	if (!*name || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return err_set(e, ERR_INTERNAL, "bad temporary name");
	snprintf(path, sizeof(path), "uploads/%s", name);
	if (unlinkat(stor_fs_dirfd(b), path, 0) == 0 || errno == ENOENT)
		return 0;
	if ((errno == EISDIR || errno == EPERM) &&
	    unlinkat(stor_fs_dirfd(b), path, AT_REMOVEDIR) == 0)
		return 0;
	return err_errno(e, ERR_IO, errno, "unlink %s/%s", stor_fs_dir(b),
			 path);
}

const struct stor_blob_maint_ops stor_fs_maint_ops = {
	.walk = maint_walk,
	.up_walk = maint_up_walk,
	.up_stat = maint_up_stat,
	.remove = maint_remove,
	.quarantine = maint_quarantine,
	.tmp_remove = maint_tmp_remove,
};
