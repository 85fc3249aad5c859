/* backup.c: backup and restore of a store (backup_int.h), and the
 * `customs backup` and `customs restore` commands.
 *
 * Consistency beside a server: meta.db is copied with sqlite's online
 * backup API in a single step, which is one read transaction, so the copy
 * is one committed state whatever the writers do (WAL lets them go on).
 * The blobs that copy names are placed afterwards, under the shared gc
 * pin taken before the snapshot: gc deletes a blob only under the
 * exclusive pin, so nothing the snapshot names can vanish until the last
 * one is placed.  Pushes take the pin shared too and go on; only gc's
 * deletions wait, for as long as placing takes (short with hard links).
 * Retrying a blob gc freed instead would not do: the snapshot still
 * refers to it, and its bytes are gone.
 */
#define _GNU_SOURCE /* syncfs */

#include "storage/backup_int.h"
#include "storage/blob_s3_int.h"
#include "storage/s3_int.h"
#include "storage/sql_int.h"
#include "storage/sqlite_int.h" /* SQ_BUSY_MS */
#include "common/fdio.h"
#include "common/opt.h"
#include "common/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/banned.h"

#define BK_BUF	      (128 * 1024)
#define BK_BUSY_TRIES 200 /* of 50 ms: a writer holding the lock for 10 s */

/* Files besides the databases and blobs that a backup carries. */
static const char *const bk_small_files[] = {"htpasswd", "token.key"};

struct bk;
typedef int (*bk_place_fn)(struct bk *k, const struct digest *dg, int64_t want,
			   struct err *e);

/* One copy in progress: blobs go from src to dst. */
struct bk {
	const char *src, *dst;
	const struct stor_backup_opts *o;
	struct stor_backup_stats *s;
	bool no_link;	      /* link(2) failed with EXDEV: copy the rest */
	bk_place_fn place;    /* one blob: bk_blob, or to or from S3 */
	struct s3_blobs *s3b; /* the S3 side, if any */
};

static void bk_problem(struct bk *k, const char *kind, const struct digest *dg,
		       int64_t size)
{
	char ds[DIGEST_STR_MAX];

	if (!strcmp(kind, "missing"))
		k->s->missing++;
	else
		k->s->corrupt++;
	if (k->o->on_problem)
		k->o->on_problem(k->o->arg, kind, digest_str(dg, ds), size);
}

/* A blob of size bytes is in place: linked, or copied. */
static void bk_placed(struct bk *k, int64_t size, bool linked)
{
	k->s->blobs++;
	k->s->bytes += size;
	if (linked)
		k->s->linked++;
	else
		k->s->copied++;
}

/* --- Files ---------------------------------------------------------------- */

/* Creates each missing directory of path's parents (not path itself). */
static int bk_mkparents(const char *path, struct err *e)
{
	char *p = xstrdup(path);
	int ret = -1;

	for (char *c = strchr(p + 1, '/'); c; c = strchr(c + 1, '/')) {
		*c = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			err_errno(e, ERR_IO, errno, "mkdir %s", p);
			goto out;
		}
		*c = '/';
	}
	ret = 0;
out:
	free(p);
	return ret;
}

/* Reads in (named from) to its end, feeding each chunk to h and to out
 * (either may be absent: NULL, -1); *size gets the length read. */
static int bk_pump(int in, const char *from, int out, const char *to,
		   struct hasher *h, int64_t *size, struct err *e)
{
	char *buf = xmalloc(BK_BUF);
	int ret = -1;
	ssize_t n;

	*size = 0;
	while ((n = fdio_read(in, buf, BK_BUF)) > 0) {
		if (h)
			hasher_update(h, buf, (size_t)n);
		if (out >= 0 && fdio_write_all(out, buf, (size_t)n) < 0) {
			err_errno(e, ERR_IO, errno, "write %s", to);
			goto out;
		}
		*size += n;
	}
	if (n < 0) {
		err_errno(e, ERR_IO, errno, "read %s", from);
		goto out;
	}
	ret = 0;
out:
	free(buf);
	return ret;
}

/* A new file tmp of mode, to be named by bk_tmp_commit(). */
static int bk_tmp_create(const char *tmp, mode_t mode, struct err *e)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0)
		err_errno(e, ERR_IO, errno, "create %s", tmp);
	return fd;
}

/* Closes *fd (then -1) and renames tmp to to.  On failure the caller
 * removes tmp. */
static int bk_tmp_commit(int *fd, const char *tmp, const char *to,
			 struct err *e)
{
	int rc = close(*fd);

	*fd = -1;
	if (rc < 0)
		return err_errno(e, ERR_IO, errno, "close %s", tmp);
	if (rename(tmp, to) < 0)
		return err_errno(e, ERR_IO, errno, "rename %s", tmp);
	return 0;
}

/* Copies from to to (through to.tmp, renamed), keeping its mode and
 * times (fsck tells lost metadata by the blobs' times); with h, hashes
 * what it copies.  Not synced: the caller syncs the filesystem once. */
static int bk_copy_file(const char *from, const char *to, struct hasher *h,
			int64_t *size, struct err *e)
{
	char *tmp = xasprintf("%s.tmp", to);
	int in = -1, out = -1, ret = -1;
	struct timespec times[2];
	struct stat sb;

	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &sb) < 0) {
		err_errno(e, ERR_IO, errno, "open %s", from);
		goto out;
	}
	out = bk_tmp_create(tmp, sb.st_mode & 0777, e);
	if (out < 0 || bk_pump(in, from, out, tmp, h, size, e) < 0)
		goto out;
	times[0] = sb.st_atim;
	times[1] = sb.st_mtim;
	if (futimens(out, times) < 0) {
		err_errno(e, ERR_IO, errno, "set the times of %s", tmp);
		goto out;
	}
	if (bk_tmp_commit(&out, tmp, to, e) < 0)
		goto out;
	ret = 0;
out:
	if (out >= 0)
		close(out);
	if (in >= 0)
		close(in);
	if (ret < 0)
		unlink(tmp);
	free(tmp);
	return ret;
}

/* The digest of a file's content, of dg's algorithm. */
static int bk_hash_file(const char *path, enum digest_alg alg,
			struct digest *out, struct err *e)
{
	struct hasher *h = hasher_new(alg);
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = -1;
	int64_t size;

	if (fd < 0) {
		err_errno(e, ERR_IO, errno, "open %s", path);
		goto out;
	}
	if (bk_pump(fd, path, -1, NULL, h, &size, e) < 0)
		goto out;
	hasher_final(h, out);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	hasher_free(h);
	return ret;
}

/* Copies the small files (bk_small_files) that src has to dst. */
static int bk_small(struct bk *k, struct err *e)
{
	int64_t size;
	int ret = 0;

	for (size_t i = 0;
	     ret == 0 && i < sizeof(bk_small_files) / sizeof(*bk_small_files);
	     i++) {
		char *from = xasprintf("%s/%s", k->src, bk_small_files[i]);
		char *to = xasprintf("%s/%s", k->dst, bk_small_files[i]);

		if (access(from, F_OK) == 0) {
			ret = bk_copy_file(from, to, NULL, &size, e);
			if (ret == 0)
				k->s->files++;
		}
		free(from);
		free(to);
	}
	return ret;
}

/* 1 if dir is absent (then made, mode 0700: a backup holds the users'
 * passwords and the token key) or holds nothing but the store's lock
 * files, 0 if it holds more, -1 on failure. */
static int bk_dir_empty(const char *dir, struct err *e)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int ret = 1;

	if (!d && errno == ENOENT) {
		if (bk_mkparents(dir, e) < 0)
			return -1;
		if (mkdir(dir, 0700) < 0)
			return err_errno(e, ERR_IO, errno, "mkdir %s", dir);
		return 1;
	}
	if (!d)
		return err_errno(e, ERR_IO, errno, "open %s", dir);
	while (ret == 1 && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, "serve.lock") &&
		    strcmp(de->d_name, "gc.lock"))
			ret = 0;
	closedir(d);
	return ret;
}

/* Flushes everything written under dir (one call instead of an fsync per
 * file and directory). */
static int bk_sync(const char *dir, struct err *e)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return err_errno(e, ERR_IO, errno, "open %s", dir);
	if (syncfs(fd) < 0)
		ret = err_errno(e, ERR_IO, errno, "sync %s", dir);
	close(fd);
	return ret;
}

/* --- Databases ------------------------------------------------------------ */

static int bk_db_fail(sqlite3 *db, const char *what, const char *path,
		      struct err *e)
{
	return err_set(e, ERR_DB, "%s: %s: %s", path, what,
		       db ? sqlite3_errmsg(db) : "out of memory");
}

/* Reads a row of a statement: < 0 fails (e set), 0 asks for the next
 * row, > 0 stops. */
typedef int (*bk_row_fn)(void *arg, sqlite3_stmt *s, struct err *e);

/* Runs sql on db (of path), handing each row to fn; what names the step
 * in a failure's message. */
static int bk_db_rows(sqlite3 *db, const char *sql, const char *what,
		      const char *path, bk_row_fn fn, void *arg, struct err *e)
{
	sqlite3_stmt *s = NULL;
	int rc, ret = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		bk_db_fail(db, what, path, e);
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		ret = fn(arg, s, e);
		if (ret != 0)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		ret = bk_db_fail(db, what, path, e);
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(s);
	return ret < 0 ? -1 : 0;
}

/* bk_row_fn: the first column of the one row into *(int64_t *)arg. */
static int bk_row_int64(void *arg, sqlite3_stmt *s, struct err *e)
{
	(void)e;
	*(int64_t *)arg = sqlite3_column_int64(s, 0);
	return 1;
}

/* db's schema version (user_version) into *schema (NULL: only read). */
static int bk_db_version(sqlite3 *db, const char *path, int64_t *schema,
			 struct err *e)
{
	int64_t v = -1;

	if (bk_db_rows(db, "PRAGMA user_version", "read schema version", path,
		       bk_row_int64, &v, e) < 0)
		return -1;
	if (v < 0)
		return bk_db_fail(db, "read schema version", path, e);
	if (schema)
		*schema = v;
	return 0;
}

/* bk_row_fn: quick_check's first row, "ok" or the first damage found. */
static int bk_row_ok(void *arg, sqlite3_stmt *s, struct err *e)
{
	const char *ok = (const char *)sqlite3_column_text(s, 0);

	if (!ok || strcmp(ok, "ok"))
		return err_set(e, ERR_DB, "%s: the copy fails its check: %s",
			       (const char *)arg, ok ? ok : "?");
	return 1;
}

/* Copies the database from to to with sqlite's online backup API, in one
 * step (one consistent state), then runs sql on the copy (NULL: none)
 * and checks it.  The copy is in rollback-journal mode: one file. */
static int bk_db_copy(const char *from, const char *to, const char *sql,
		      int64_t *schema, struct err *e)
{
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *b;
	int rc, tries = 0, ret = -1;

	if (sqlite3_open_v2(from, &src, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		bk_db_fail(src, "open", from, e);
		goto out;
	}
	sqlite3_busy_timeout(src, SQ_BUSY_MS);
	if (sqlite3_open_v2(to, &dst,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			    NULL) != SQLITE_OK) {
		bk_db_fail(dst, "create", to, e);
		goto out;
	}
	b = sqlite3_backup_init(dst, "main", src, "main");
	if (!b) {
		bk_db_fail(dst, "backup", to, e);
		goto out;
	}
	do {
		rc = sqlite3_backup_step(b, -1);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(50);
	} while ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) &&
		 ++tries < BK_BUSY_TRIES);
	if (sqlite3_backup_finish(b) != SQLITE_OK || rc != SQLITE_DONE) {
		bk_db_fail(dst, "backup", from, e);
		goto out;
	}
	if (sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL,
			 NULL) != SQLITE_OK ||
	    (sql && sqlite3_exec(dst, sql, NULL, NULL, NULL) != SQLITE_OK)) {
		bk_db_fail(dst, "tidy the copy", to, e);
		goto out;
	}
	if (bk_db_rows(dst, "PRAGMA quick_check", "check", to, bk_row_ok,
		       (void *)to, e) < 0 ||
	    bk_db_version(dst, to, schema, e) < 0)
		goto out;
	ret = 0;
out:
	if (sqlite3_close(dst) != SQLITE_OK && ret == 0)
		ret = err_set(e, ERR_IO, "%s: close failed", to);
	sqlite3_close(src);
	return ret;
}

/* --- Blobs ---------------------------------------------------------------- */

/* DIR/blobs/<alg>/<xx>/<hex> (caller frees). */
static char *bk_blob_path(const char *dir, const struct digest *dg)
{
	return xasprintf("%s/blobs/%s/%.2s/%s", dir, digest_alg_name(dg->alg),
			 dg->hex, dg->hex);
}

/* 1 if blob dg's file from (want bytes; -1: unknown) is there to be
 * placed (*sb its status), 0 if it is absent or damaged (reported), -1 on
 * failure. */
static int bk_blob_src(struct bk *k, const char *from, const struct digest *dg,
		       int64_t want, struct stat *sb, struct err *e)
{
	if (lstat(from, sb) < 0) {
		if (errno != ENOENT)
			return err_errno(e, ERR_IO, errno, "stat %s", from);
		bk_problem(k, "missing", dg, want);
		return 0;
	}
	/* Not a plain file (a symlink, a directory): never followed. */
	if (!S_ISREG(sb->st_mode) || (want >= 0 && sb->st_size != want)) {
		bk_problem(k, "corrupt", dg, (int64_t)sb->st_size);
		return 0;
	}
	return 1;
}

/* Puts blob dg of src into dst: a hard link, else (another filesystem,
 * or o->copy) a copy.  want is its recorded size (-1: unknown).  A blob
 * absent or damaged in src is reported, not placed. */
static int bk_blob(struct bk *k, const struct digest *dg, int64_t want,
		   struct err *e)
{
	char *from = bk_blob_path(k->src, dg), *to = bk_blob_path(k->dst, dg);
	struct hasher *h = NULL;
	struct digest got;
	struct stat sb;
	int64_t size;
	bool linked = false;
	int ret;

	ret = bk_blob_src(k, from, dg, want, &sb, e);
	if (ret <= 0)
		goto out;
	ret = -1;
	if (bk_mkparents(to, e) < 0)
		goto out;
	/* A file already there (a restore --force over a store) is
	 * replaced: the backup's is the one checked above. */
	if (unlink(to) < 0 && errno != ENOENT) {
		err_errno(e, ERR_IO, errno, "unlink %s", to);
		goto out;
	}
	if (!k->o->copy && !k->no_link) {
		if (link(from, to) == 0)
			linked = true;
		else if (errno == EXDEV || errno == EPERM || errno == EMLINK)
			k->no_link = errno == EXDEV;
		else {
			err_errno(e, ERR_IO, errno, "link %s", to);
			goto out;
		}
	}
	if (!linked) {
		h = k->o->verify ? hasher_new(dg->alg) : NULL;
		if (bk_copy_file(from, to, h, &size, e) < 0)
			goto out;
		if (h)
			hasher_final(h, &got);
	} else if (k->o->verify && bk_hash_file(to, dg->alg, &got, e) < 0)
		goto out;
	if (k->o->verify && !digest_eq(&got, dg)) {
		unlink(to);
		bk_problem(k, "corrupt", dg, (int64_t)sb.st_size);
		ret = 0;
		goto out;
	}
	bk_placed(k, sb.st_size, linked);
	ret = 0;
out:
	hasher_free(h);
	free(from);
	free(to);
	return ret;
}

/* The listing of bk_blobs(): blobs of db go to k->place. */
struct bk_list {
	struct bk *k;
	const char *db;
};

/* bk_row_fn: one blob (digest, recorded size) of the listing, placed. */
static int bk_blob_row(void *arg, sqlite3_stmt *s, struct err *e)
{
	const struct bk_list *l = arg;
	const char *t = (const char *)sqlite3_column_text(s, 0);
	struct digest dg;

	if (!t || digest_parse(t, strlen(t), &dg, NULL) < 0)
		return err_set(e, ERR_DB, "%s: malformed digest '%.80s'", l->db,
			       t ? t : "(null)");
	return l->k->place(l->k, &dg, sqlite3_column_int64(s, 1), e);
}

/* Every blob the metadata in db names: manifests' bodies, their
 * references (layers, configs, children, report blobs) and repository
 * links, each with its recorded size. */
static int bk_blobs(struct bk *k, const char *db, struct err *e)
{
	static const char q[] =
		"SELECT d, COALESCE((SELECT size FROM blob_sizes"
		" WHERE digest = d), (SELECT size FROM manifests"
		" WHERE digest = d LIMIT 1), -1)"
		" FROM (SELECT digest AS d FROM manifests"
		" UNION SELECT child FROM manifest_refs"
		" UNION SELECT digest FROM repo_blobs)";
	struct bk_list l = {k, db};
	sqlite3 *c = NULL;
	int ret = -1;

	if (sqlite3_open_v2(db, &c, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		bk_db_fail(c, "list blobs", db, e);
		goto out;
	}
	ret = bk_db_rows(c, q, "list blobs", db, bk_blob_row, &l, e);
out:
	sqlite3_close(c);
	return ret;
}

/* --- PostgreSQL rows and S3 blobs ------------------------------------------
 *
 * The tables a backup carries, parents first, with the columns both
 * engines have (upload sessions are not carried; a scan job's owner
 * session is PostgreSQL's alone).  The texts serve sqlite as they are and
 * PostgreSQL through the SQL layer. */

#define BK_COLS_MAX 12

struct bk_table {
	int ncols;
	const char *name;
	struct sql_stmt read, write;
};

#define BK_TABLE(t, n, cols, params)                                           \
	{                                                                      \
		n, t, {"read " t, "SELECT " cols " FROM " t},                  \
		{                                                              \
			"restore " t, "INSERT INTO " t " (" cols               \
				      ") VALUES (" params ")"                  \
		}                                                              \
	}

static const struct bk_table bk_tables[] = {
	BK_TABLE("repositories", 2, "name, created", "?1, ?2"),
	BK_TABLE("repo_blobs", 3, "repo, digest, created", "?1, ?2, ?3"),
	BK_TABLE("manifests", 8,
		 "repo, digest, media_type, size, subject, artifact_type,"
		 " annotations_json, created",
		 "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8"),
	BK_TABLE("tags", 4, "repo, tag, digest, updated", "?1, ?2, ?3, ?4"),
	BK_TABLE("manifest_refs", 3, "repo, digest, child", "?1, ?2, ?3"),
	BK_TABLE("blob_sizes", 2, "digest, size", "?1, ?2"),
	BK_TABLE("scan_jobs", 12,
		 "digest, repo, state, attempts, created, updated, prio, gen,"
		 " not_before, lease, error, request_id",
		 "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12"),
	BK_TABLE("scan_results", 8,
		 "digest, report, findings, db_version, checked_db, created,"
		 " updated, report_blob",
		 "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8"),
	BK_TABLE("outbox", 5, "seq, action, repo, created, body",
		 "?1, ?2, ?3, ?4, ?5"),
	BK_TABLE("outbox_cursors", 2, "endpoint, seq", "?1, ?2"),
	BK_TABLE("outbox_deliveries", 8,
		 "endpoint, seq, repo, created, attempts, next_at, dead, error",
		 "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8"),
};

#define BK_NTABLES (sizeof(bk_tables) / sizeof(*bk_tables))

/* A copy of PostgreSQL's rows into a meta.db open on dst. */
struct bk_pg {
	sqlite3 *dst;
	const char *path;
};

struct bk_pg_rows {
	const struct bk_pg *x;
	sqlite3_stmt *ins;
	int ncols;
};

static int bk_pg_row(void *arg, const struct sql_row *r, struct err *e)
{
	struct bk_pg_rows *w = arg;
	const char *t;

	sqlite3_reset(w->ins);
	for (int i = 0; i < w->ncols; i++) {
		t = sql_col_text(r, i);
		if (t)
			sqlite3_bind_text(w->ins, i + 1, t, -1,
					  SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(w->ins, i + 1);
	}
	if (sqlite3_step(w->ins) != SQLITE_DONE)
		return bk_db_fail(w->x->dst, "copy a row", w->x->path, e);
	return 0;
}

/* sql_txn()'s function: every table of one snapshot into the copy (run
 * again from the start if PostgreSQL asks). */
static int bk_pg_snapshot(struct sql_conn *c, const void *arg, struct err *e)
{
	/* One snapshot for every table: the copy is one committed state. */
	static const struct sql_stmt iso = {
		"snapshot",
		"" SQL_PG("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ,"
			  " READ ONLY"),
	};
	const struct bk_pg *x = arg;
	struct bk_pg_rows w = {x, NULL, 0};
	int ret = -1;

	if (sql_run(c, &iso, NULL, NULL, e, "") < 0)
		goto out;
	for (size_t i = 0; i < BK_NTABLES; i++) {
		const struct bk_table *t = &bk_tables[i];
		char *del = xasprintf("DELETE FROM %s", t->name);
		int rc = sqlite3_exec(x->dst, del, NULL, NULL, NULL);

		free(del);
		if (rc != SQLITE_OK ||
		    sqlite3_prepare_v2(x->dst, t->write.sql, -1, &w.ins,
				       NULL) != SQLITE_OK) {
			bk_db_fail(x->dst, t->name, x->path, e);
			goto out;
		}
		w.ncols = t->ncols;
		if (sql_run(c, &t->read, bk_pg_row, &w, e, "") < 0)
			goto out;
		sqlite3_finalize(w.ins);
		w.ins = NULL;
	}
	ret = 0;
out:
	sqlite3_finalize(w.ins);
	return ret;
}

/* The metadata of m (PostgreSQL) into a new meta.db at path, of this
 * version's schema; *schema gets its version. */
static int bk_pg_copy(struct stor_meta *m, const char *dir, int64_t *schema,
		      struct err *e)
{
	char *path = xasprintf("%s/meta.db", dir);
	struct stor_meta *fresh = stor_sqlite_new(dir, e);
	struct bk_pg x = {NULL, path};
	int ret = -1;

	/* Opening a new meta.db gives it the schema; then rows go in. */
	if (!fresh)
		goto out;
	fresh->ops->free(fresh);
	if (sqlite3_open_v2(path, &x.dst, SQLITE_OPEN_READWRITE, NULL) !=
		    SQLITE_OK ||
	    sqlite3_exec(x.dst, "PRAGMA journal_mode = DELETE; BEGIN", NULL,
			 NULL, NULL) != SQLITE_OK) {
		bk_db_fail(x.dst, "open", path, e);
		goto out;
	}
	if (sql_txn(m, bk_pg_snapshot, &x, e) < 0)
		goto out;
	if (sqlite3_exec(x.dst, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		bk_db_fail(x.dst, "commit", path, e);
		goto out;
	}
	ret = bk_db_version(x.dst, path, schema, e);
out:
	sqlite3_close(x.dst);
	free(path);
	return ret;
}

/* Removes database name of dir with its WAL and shared-memory files. */
static void bk_rm_db(const char *dir, const char *name)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
		char *p = xasprintf("%s/%s%s", dir, name, suffixes[i]);

		unlink(p);
		free(p);
	}
}

/* The rows of a backup's meta.db (src) into PostgreSQL, which must hold
 * none yet. */
struct rs_pg {
	sqlite3 *src;
	const char *path;
};

/* One row of table t of the backup into PostgreSQL. */
struct rs_pg_rows {
	struct sql_conn *c;
	const struct bk_table *t;
};

static int rs_pg_row(void *arg, sqlite3_stmt *s, struct err *e)
{
	static const char fmt[] = "ssssssssssss"; /* BK_COLS_MAX */
	const struct rs_pg_rows *w = arg;
	const char *v[BK_COLS_MAX] = {NULL};

	for (int i = 0; i < w->t->ncols; i++)
		v[i] = (const char *)sqlite3_column_text(s, i);
	/* Unused trailing arguments are never read. */
	return sql_run(w->c, &w->t->write, NULL, NULL, e,
		       fmt + BK_COLS_MAX - w->t->ncols, v[0], v[1], v[2], v[3],
		       v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]) < 0
		       ? -1
		       : 0;
}

static int rs_pg_table(struct sql_conn *c, const struct rs_pg *x,
		       const struct bk_table *t, struct err *e)
{
	struct rs_pg_rows w = {c, t};

	return bk_db_rows(x->src, t->read.sql, t->name, x->path, rs_pg_row, &w,
			  e);
}

/* Rows that make a store: a restore goes into a database without any. */
static const struct sql_stmt rs_held = {
	"count rows",
	"SELECT (SELECT count(*) FROM repositories)"
	" + (SELECT count(*) FROM blob_sizes)"
	" + (SELECT count(*) FROM scan_results)",
};

#define RS_PG_HELD                                                             \
	"the PostgreSQL database holds a store already: restore into an "      \
	"empty one"

static int rs_pg_rows(struct sql_conn *c, const void *arg, struct err *e)
{
	/* Events go on from the backup's last sequence number. */
	static const struct sql_stmt seq = {
		"outbox sequence",
		"" SQL_PG("SELECT setval(pg_get_serial_sequence('outbox',"
			  " 'seq'), (SELECT COALESCE(MAX(seq), 0) + 1"
			  " FROM outbox), false)"),
	};
	const struct rs_pg *x = arg;
	int64_t n = 0;

	/* Again inside the transaction: another restore may have run. */
	if (sql_run(c, &rs_held, sql_row_int64, &n, e, "") < 0)
		return -1;
	if (n)
		return err_set(e, ERR_INVALID, RS_PG_HELD);
	for (size_t i = 0; i < BK_NTABLES; i++)
		if (rs_pg_table(c, x, &bk_tables[i], e) < 0)
			return -1;
	return sql_run(c, &seq, NULL, NULL, e, "") < 0 ? -1 : 0;
}

/* The rows of the backup in src into m, read from a copy in
 * DATA/restore.tmp/ that opening migrated: a backup of an older schema
 * has the columns of this one then. */
static int rs_pg_copy(struct stor_meta *m, const char *src, const char *data,
		      int64_t *schema, struct err *e)
{
	char *from = xasprintf("%s/meta.db", src);
	char *dir = xasprintf("%s/restore.tmp", data);
	char *path = xasprintf("%s/meta.db", dir);
	struct rs_pg x = {NULL, path};
	struct stor_meta *mig;
	int ret = -1;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		err_errno(e, ERR_IO, errno, "mkdir %s", dir);
		goto out;
	}
	unlink(path);
	if (bk_db_copy(from, path, NULL, schema, e) < 0)
		goto out;
	mig = stor_sqlite_new(dir, e);
	if (!mig)
		goto out;
	mig->ops->free(mig);
	if (sqlite3_open_v2(path, &x.src, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		bk_db_fail(x.src, "open", path, e);
		goto out;
	}
	if (sql_txn(m, rs_pg_rows, &x, e) < 0)
		goto out;
	ret = 0;
out:
	sqlite3_close(x.src);
	bk_rm_db(dir, "meta.db");
	rmdir(dir);
	free(path);
	free(dir);
	free(from);
	return ret;
}

/* A blob streamed from S3 into a file, hashed on the way. */
struct bk_get {
	int fd;
	const char *path;
	struct hasher *h;
	int64_t size;
};

static int bk_get_piece(void *arg, const void *data, size_t len, struct err *e)
{
	struct bk_get *g = arg;

	hasher_update(g->h, data, len);
	if (fdio_write_all(g->fd, data, len) < 0)
		return err_errno(e, ERR_IO, errno, "write %s", g->path);
	g->size += (int64_t)len;
	return 0;
}

/* bk_place_fn: blob dg from S3 into dst, verified before it is named. */
static int bk_from_s3(struct bk *k, const struct digest *dg, int64_t want,
		      struct err *e)
{
	char *key = s3b_blob_key(k->s3b, dg), *to = bk_blob_path(k->dst, dg);
	char *tmp = xasprintf("%s.tmp", to);
	struct bk_get g = {-1, tmp, hasher_new(dg->alg), 0};
	struct err e2 = ERR_INIT;
	struct digest got;
	int ret = -1;

	if (bk_mkparents(to, e) < 0)
		goto out;
	g.fd = bk_tmp_create(tmp, 0644, e);
	if (g.fd < 0)
		goto out;
	if (s3_get_cb(k->s3b->s3, key, bk_get_piece, &g, &e2) < 0) {
		if (e2.code != ERR_NOT_FOUND) {
			err_set(e, e2.code, "%s", e2.msg);
			goto out;
		}
		bk_problem(k, "missing", dg, want);
		ret = 0;
		goto out;
	}
	hasher_final(g.h, &got);
	if (!digest_eq(&got, dg) || (want >= 0 && g.size != want)) {
		bk_problem(k, "corrupt", dg, g.size);
		ret = 0;
		goto out;
	}
	if (bk_tmp_commit(&g.fd, tmp, to, e) < 0)
		goto out;
	bk_placed(k, g.size, false);
	ret = 0;
out:
	if (g.fd >= 0)
		close(g.fd);
	unlink(tmp);
	hasher_free(g.h);
	free(tmp);
	free(to);
	free(key);
	return ret;
}

/* bk_place_fn: blob dg of the backup (src) put into S3 in one PUT, whose
 * SHA-256 S3 checks. */
static int rs_to_s3(struct bk *k, const struct digest *dg, int64_t want,
		    struct err *e)
{
	char *from = bk_blob_path(k->src, dg), *key = s3b_blob_key(k->s3b, dg);
	struct digest got;
	struct stat sb;
	int fd = -1, ret;

	ret = bk_blob_src(k, from, dg, want, &sb, e);
	if (ret <= 0)
		goto out;
	ret = -1;
	if (k->o->verify) {
		if (bk_hash_file(from, dg->alg, &got, e) < 0)
			goto out;
		if (!digest_eq(&got, dg)) {
			bk_problem(k, "corrupt", dg, (int64_t)sb.st_size);
			ret = 0;
			goto out;
		}
	}
	fd = open(from, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err_errno(e, ERR_IO, errno, "open %s", from);
		goto out;
	}
	if (s3_put_fd(k->s3b->s3, key, fd, 0, (int64_t)sb.st_size,
		      dg->alg == DIGEST_SHA256 ? dg->hex : NULL, e) < 0)
		goto out;
	bk_placed(k, sb.st_size, false);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(key);
	free(from);
	return ret;
}

/* s3_list()'s function: any object at all stops the listing. */
static int rs_s3_any(void *arg, const struct s3_object *o, struct err *e)
{
	(void)o, (void)e;
	*(bool *)arg = true;
	return 1;
}

static bool bk_on_s3(const struct stor_backup_opts *o)
{
	return o->backend && o->backend->storage &&
	       !strcmp(o->backend->storage, "s3");
}

/* The metadata (pg's rows if PostgreSQL's, else a snapshot of src's
 * meta.db) into dst's meta.db, then every blob it names; the caller holds
 * the shared pin. */
static int bk_snapshot(struct bk *k, struct stor_meta *pg, struct err *e)
{
	/* Upload sessions are not carried: their data is not. */
	static const char tidy[] = "DELETE FROM uploads;";
	char *from = xasprintf("%s/meta.db", k->src);
	char *to = xasprintf("%s/meta.db", k->dst);
	int ret = -1;

	if ((pg ? bk_pg_copy(pg, k->dst, &k->s->schema, e)
		: bk_db_copy(from, to, tidy, &k->s->schema, e)) < 0 ||
	    bk_blobs(k, to, e) < 0)
		goto out;
	ret = 0;
out:
	free(to);
	free(from);
	return ret;
}

/* stor_backup()'s copy of a store whose metadata is PostgreSQL's or whose
 * blobs are in S3: the rows (or meta.db's snapshot) and then the blobs,
 * under the store's shared pin, which on PostgreSQL is gc's advisory lock
 * on every node. */
static int bk_dist(struct bk *k, struct err *e)
{
	struct stor_opts so = *k->o->backend;
	struct stor_s3_opts s3;
	struct stor *st = NULL;
	int pin = -1, ret = -1;

	/* Digests are checked on S3's bytes, not on node-local copies. */
	if (so.s3) {
		s3 = *so.s3;
		s3.cache_max = 0;
		so.s3 = &s3;
	}
	st = stor_open_with(k->src, &so, e);
	if (!st)
		goto out;
	if (bk_on_s3(k->o)) {
		k->s3b = s3b_of(stor_blobs_of(st));
		k->place = bk_from_s3;
	}
	if (stor_pin(st, false, &pin, e) < 0 ||
	    bk_snapshot(k, stor_meta_shared() ? stor_meta_of(st) : NULL, e) < 0)
		goto out;
	ret = 0;
out:
	stor_unpin(pin);
	stor_free(st);
	return ret;
}

/* stor_restore() onto PostgreSQL or S3: the target must hold no store (no
 * rows, no objects under the prefix's blobs/); blobs go first, then the
 * rows in one transaction.  On sqlite, meta.db is left to the caller. */
static int rs_dist(struct bk *k, struct err *e)
{
	char *db = xasprintf("%s/meta.db", k->src);
	struct stor *st = stor_open_with(k->dst, k->o->backend, e);
	struct stor_meta *m;
	char *prefix = NULL;
	bool any = false;
	int64_t n = 0;
	int ret = -1;

	if (!st)
		goto out;
	m = stor_meta_of(st);
	if (stor_meta_shared()) {
		if (sql_do(m, &rs_held, sql_row_int64, &n, e, "") < 0)
			goto out;
		if (n) {
			err_set(e, ERR_INVALID, RS_PG_HELD);
			goto out;
		}
	}
	if (bk_on_s3(k->o)) {
		k->s3b = s3b_of(stor_blobs_of(st));
		k->place = rs_to_s3;
		prefix = xasprintf("%sblobs/", k->s3b->prefix);
		if (s3_list(k->s3b->s3, prefix, rs_s3_any, &any, e) < 0)
			goto out;
		if (any) {
			err_set(e, ERR_INVALID,
				"s3://%s/%s holds blobs already: restore "
				"into an empty bucket or prefix",
				k->o->backend->s3->bucket, prefix);
			goto out;
		}
	}
	if (bk_blobs(k, db, e) < 0)
		goto out;
	if (stor_meta_shared() &&
	    rs_pg_copy(m, k->src, k->dst, &k->s->schema, e) < 0)
		goto out;
	ret = 0;
out:
	stor_free(st);
	free(prefix);
	free(db);
	return ret;
}

/* --- Backup --------------------------------------------------------------- */

static int bk_marker(const char *dest, const struct stor_backup_stats *s,
		     struct err *e)
{
	char *tmp = xasprintf("%s/" BACKUP_MARKER ".tmp", dest);
	char *path = xasprintf("%s/" BACKUP_MARKER, dest);
	char *text = xasprintf("customs backup\ncreated %lld\nschema %lld\n"
			       "blobs %zu\nbytes %lld\n",
			       (long long)time(NULL), (long long)s->schema,
			       s->blobs, (long long)s->bytes);
	int fd = bk_tmp_create(tmp, 0644, e), ret = -1;

	if (fd < 0)
		goto out;
	if (fdio_write_all(fd, text, strlen(text)) < 0 || fsync(fd) < 0) {
		err_errno(e, ERR_IO, errno, "write %s", tmp);
		goto out;
	}
	if (bk_tmp_commit(&fd, tmp, path, e) < 0)
		goto out;
	ret = bk_sync(dest, e);
out:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(text);
	free(path);
	free(tmp);
	return ret;
}

/* The snapshot and its blobs, under the shared pin (see the top).  The
 * store is not opened as a store: that would migrate an older schema
 * under the server that runs on it; a restore migrates the copy. */
static int bk_pinned(struct bk *k, struct err *e)
{
	char *pin_path = xasprintf("%s/gc.lock", k->src);
	int pin, ret = -1;

	pin = open(pin_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (pin < 0) {
		err_errno(e, ERR_IO, errno, "open %s", pin_path);
		goto out;
	}
	while (flock(pin, LOCK_SH) < 0)
		if (errno != EINTR) {
			err_errno(e, ERR_IO, errno, "lock %s", pin_path);
			goto out;
		}
	if (bk_snapshot(k, NULL, e) < 0)
		goto out;
	ret = 0;
out:
	if (pin >= 0)
		close(pin);
	free(pin_path);
	return ret;
}

int stor_backup(const char *data, const char *dest,
		const struct stor_backup_opts *o, struct stor_backup_stats *out,
		struct err *e)
{
	struct bk k = {data, dest, o, out, false, bk_blob, NULL};
	char *db = xasprintf("%s/meta.db", data);
	char *vdb = xasprintf("%s/vulndb.db", data);
	char *vto = xasprintf("%s/vulndb.db", dest);
	int ret = -1, empty;

	memset(out, 0, sizeof(*out));
	/* With PostgreSQL, data holds this node's scratch alone. */
	if (!stor_meta_shared() && access(db, F_OK) < 0) {
		err_errno(e, ERR_IO, errno, "no store in %s", data);
		goto out;
	}
	empty = bk_dir_empty(dest, e);
	if (empty < 0)
		goto out;
	if (!empty) {
		err_set(e, ERR_INVALID,
			"%s is not empty: a backup goes into "
			"a new directory",
			dest);
		goto out;
	}
	if (stor_meta_shared() || bk_on_s3(o) ? bk_dist(&k, e) < 0
					      : bk_pinned(&k, e) < 0)
		goto out;
	if (access(vdb, F_OK) == 0) {
		if (bk_db_copy(vdb, vto, NULL, NULL, e) < 0)
			goto out;
		out->files++;
	}
	if (bk_small(&k, e) < 0)
		goto out;
	if (bk_sync(dest, e) < 0 || bk_marker(dest, out, e) < 0)
		goto out;
	ret = 0;
out:
	free(vto);
	free(vdb);
	free(db);
	return ret;
}

/* --- Restore -------------------------------------------------------------- */

/* Copies database name of the backup into data through name.restore,
 * then renames it over name, dropping the old one's WAL first (a stale
 * WAL beside a new database would be applied to it). */
static int rs_db(const char *src, const char *data, const char *name,
		 int64_t *schema, struct err *e)
{
	char *from = xasprintf("%s/%s", src, name);
	char *to = xasprintf("%s/%s", data, name);
	char *tmp = xasprintf("%s/%s.restore", data, name);
	char *wal = xasprintf("%s-wal", to), *shm = xasprintf("%s-shm", to);
	int ret = -1;

	unlink(tmp);
	if (bk_db_copy(from, tmp, NULL, schema, e) < 0)
		goto out;
	if ((unlink(wal) < 0 && errno != ENOENT) ||
	    (unlink(shm) < 0 && errno != ENOENT) || rename(tmp, to) < 0) {
		err_errno(e, ERR_IO, errno, "put %s in place", to);
		goto out;
	}
	ret = 0;
out:
	unlink(tmp);
	free(shm);
	free(wal);
	free(tmp);
	free(to);
	free(from);
	return ret;
}

int stor_restore(const char *src, const char *data,
		 const struct stor_backup_opts *o,
		 struct stor_backup_stats *out, struct err *e)
{
	struct bk k = {src, data, o, out, false, bk_blob, NULL};
	char *marker = xasprintf("%s/" BACKUP_MARKER, src);
	char *db = xasprintf("%s/meta.db", src);
	char *vdb = xasprintf("%s/vulndb.db", src);
	char *state = xasprintf("%s/fsck.state", data);
	struct stor_lock *lock = NULL;
	struct stor *st = NULL;
	int ret = -1, empty;

	memset(out, 0, sizeof(*out));
	if (access(marker, F_OK) < 0) {
		err_errno(e, ERR_INVALID, errno,
			  "%s is not a complete customs backup (no %s)", src,
			  BACKUP_MARKER);
		goto out;
	}
	empty = bk_dir_empty(data, e);
	if (empty < 0)
		goto out;
	/* A shared database is checked for rows instead (rs_dist): data
	 * is scratch then. */
	if (!empty && !o->force && !stor_meta_shared()) {
		err_set(e, ERR_INVALID,
			"%s is not empty: restore into a new directory, or "
			"--force to put the backup over what is there",
			data);
		goto out;
	}
	lock = stor_lock_take(data, e);
	if (!lock)
		goto out;
	/* Blobs first, meta.db last: until it is in place there is no
	 * store, so an interrupted restore is never served half-done. */
	if (stor_meta_shared() || bk_on_s3(o) ? rs_dist(&k, e) < 0
					      : bk_blobs(&k, db, e) < 0)
		goto out;
	if (bk_small(&k, e) < 0)
		goto out;
	if (access(vdb, F_OK) == 0) {
		if (rs_db(src, data, "vulndb.db", NULL, e) < 0)
			goto out;
		out->files++;
	}
	/* A clean fsck run recorded for the old content says nothing of
	 * this one. */
	unlink(state);
	if (bk_sync(data, e) < 0 ||
	    (!stor_meta_shared() &&
	     rs_db(src, data, "meta.db", &out->schema, e) < 0) ||
	    bk_sync(data, e) < 0)
		goto out;
	/* Opening migrates an older schema and proves the store opens. */
	st = stor_open_with(data, o->backend, e);
	if (!st)
		goto out;
	ret = 0;
out:
	stor_free(st);
	stor_lock_free(lock);
	free(state);
	free(vdb);
	free(db);
	free(marker);
	return ret;
}

/* --- Commands ------------------------------------------------------------- */

struct bk_args {
	char *data;
	char *storage;
	struct stor_s3_opts s3;
	char *meta;
	bool copy, verify, force;
};

#define BK_OFF(f) offsetof(struct bk_args, f)

/* The rows backup and restore share; DATA_HELP says what --data is. */
#define BK_OPT_ROWS(DATA_HELP)                                                 \
	STOR_CMD_OPT_ROWS(struct bk_args, DATA_HELP),                          \
		{"copy",                                                       \
		 OPT_BOOL,                                                     \
		 0,                                                            \
		 0,                                                            \
		 NULL,                                                         \
		 BK_OFF(copy),                                                 \
		 NULL,                                                         \
		 NULL,                                                         \
		 "copy every blob, even where a hard link would do"},          \
	{                                                                      \
		"verify", OPT_BOOL, 0, 0, NULL, BK_OFF(verify), NULL, NULL,    \
			"re-hash every blob against its digest (else sizes "   \
			"are checked)"                                         \
	}

static const struct opt backup_opts[] = {
	BK_OPT_ROWS("data directory to back up (a server may be running on "
		    "it)"),
	{NULL, 0, 0, 0, NULL, 0, NULL, NULL, NULL},
};

static const struct opt restore_opts[] = {
	BK_OPT_ROWS("data directory to restore into (no server may run on "
		    "it)"),
	{"force", OPT_BOOL, 0, 0, NULL, BK_OFF(force), NULL, NULL,
	 "restore into a directory that is not empty: its metadata is "
	 "replaced, its other blobs are left for gc"},
	{NULL, 0, 0, 0, NULL, 0, NULL, NULL, NULL},
};

static const struct opt_cmd backup_cmd = {
	.name = "backup",
	.synopsis = "[options] DEST",
	.notes = "Copies the store into DEST (absent or empty) while it "
		 "serves: meta.db as one\nconsistent snapshot, then every "
		 "blob it refers to (hard links on the same\nfilesystem), "
		 "vulndb.db, htpasswd and token.key.  gc waits to delete "
		 "blobs\nmeanwhile; pushes go on.  DEST is a data directory "
		 "itself.  Exit status: 0\ndone, 1 failed or the store lacks "
		 "blobs its metadata names (listed).\nWith --meta and "
		 "--storage s3 (as serve has them), the rows are copied from "
		 "one\nPostgreSQL snapshot and the blobs streamed from S3.",
	.opts = backup_opts,
	.max_operands = 1,
	.flags = OPT_SHARED_FILE,
};

static const struct opt_cmd restore_cmd = {
	.name = "restore",
	.synopsis = "[options] BACKUP",
	.notes = "Puts a backup made by 'customs backup' into --data, "
		 "which must be absent or\nempty (or --force) and not "
		 "served.  meta.db goes in last; an older schema\nis "
		 "migrated.  Then 'customs fsck --data DIR' checks it.  "
		 "Exit status: 0 done,\n1 failed or blobs missing from the "
		 "backup (listed).\nWith --meta and --storage s3: onto an "
		 "empty PostgreSQL database and an S3\nprefix without blobs.",
	.opts = restore_opts,
	.max_operands = 1,
	.flags = OPT_SHARED_FILE,
};

static void bk_print_problem(void *arg, const char *kind, const char *name,
			     int64_t size)
{
	(void)arg;
	printf("%s: blob %s (%lld bytes)\n", kind, name, (long long)size);
}

static int bk_main(const struct opt_cmd *cmd, int argc, char **argv)
{
	struct stor_backup_opts o = {0};
	struct stor_backup_stats s;
	struct opt_args args = {0};
	struct err e = ERR_INIT;
	bool backup = cmd == &backup_cmd;
	struct bk_args a = {0};
	struct stor_opts so = {NULL, NULL};
	int rc, r;

	if (!stor_cmd_cli(cmd, &a, argc, argv, &args, &rc))
		goto out;
	if (stor_meta_set(a.meta, &e) < 0) {
		rc = opt_fail(cmd, "%s", e.msg);
		goto out;
	}
	if (args.n != 1) {
		rc = opt_fail(cmd, "missing %s: the directory of the backup",
			      backup ? "DEST" : "BACKUP");
		goto out;
	}
	o.copy = a.copy;
	o.verify = a.verify;
	o.force = a.force;
	so.storage = a.storage;
	so.s3 = &a.s3;
	o.backend = &so;
	o.on_problem = bk_print_problem;
	r = backup ? stor_backup(a.data, args.v[0], &o, &s, &e)
		   : stor_restore(args.v[0], a.data, &o, &s, &e);
	rc = 1;
	if (r < 0) {
		fprintf(stderr, "customs %s: %s\n", cmd->name, e.msg);
		goto out;
	}
	printf("%s: %zu blobs (%zu linked, %zu copied; %lld bytes), %zu other "
	       "files, schema %lld: %s -> %s\n",
	       cmd->name, s.blobs, s.linked, s.copied, (long long)s.bytes,
	       s.files, (long long)s.schema, backup ? a.data : args.v[0],
	       backup ? args.v[0] : a.data);
	if (s.missing || s.corrupt) {
		printf("%s: %zu blobs missing and %zu damaged in %s: not "
		       "copied (customs fsck --data %s says more)\n",
		       cmd->name, s.missing, s.corrupt,
		       backup ? a.data : args.v[0],
		       backup ? a.data : args.v[0]);
		goto out;
	}
	rc = 0;
out:
	fflush(stdout);
	opt_args_release(&args);
	opt_release(cmd, &a);
	return rc;
}

int stor_backup_cmd_main(int argc, char **argv)
{
	return bk_main(&backup_cmd, argc, argv);
}

int stor_restore_cmd_main(int argc, char **argv)
{
	return bk_main(&restore_cmd, argc, argv);
}
