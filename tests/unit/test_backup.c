/* test_backup.c: backup and restore of a real store (what a backup holds,
 * what it refuses, what it reports), and the schema migrations from every
 * earlier schema version customs has shipped (tests/data/schema/). */
#define _XOPEN_SOURCE 700 /* nftw */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "storage/storage.h"
#include "storage/backup_int.h"

#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/tmpstore.h"
#include "common/banned.h"

/* The schema version of a store this code creates (sq_migrations[]). */
#define SCHEMA_NOW 10

#define REPO	 "library/app"
#define MT_IMAGE "application/vnd.oci.image.manifest.v1+json"

struct fx {
	char dir[256], dest[300], target[300];
	struct stor *st;
	struct digest mf, cfg, layer;
	char problems[2048]; /* "kind name\n"... */
};

static void note_problem(void *arg, const char *kind, const char *name,
			 int64_t size)
{
	struct fx *fx = arg;
	size_t n = strlen(fx->problems);

	(void)size;
	snprintf(fx->problems + n, sizeof(fx->problems) - n, "%s %s\n", kind,
		 name);
}

static void opts_init(struct fx *fx, struct stor_backup_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->on_problem = note_problem;
	o->arg = fx;
	fx->problems[0] = '\0';
}

static struct digest put_blob(struct stor *st, const char *repo, const char *s)
{
	struct err e = ERR_INIT;
	struct digest d;

	assert_int_equal(stor_blob_put(st, repo, s, strlen(s), &d, &e), 0);
	return d;
}

static struct digest put_manifest(struct stor *st, const char *repo,
				  const char *tag, const struct digest *refs,
				  size_t nrefs)
{
	char body[1024], c[DIGEST_STR_MAX], l[DIGEST_STR_MAX];
	struct stor_manifest_put p = {
		.repo = repo,
		.tag = tag,
		.media_type = MT_IMAGE,
		.body = body,
		.refs = refs,
		.nrefs = nrefs,
	};
	struct err e = ERR_INIT;
	struct digest d;

	snprintf(body, sizeof(body),
		 "{\"schemaVersion\":2,\"mediaType\":\"" MT_IMAGE "\","
		 "\"config\":{\"digest\":\"%s\"},\"layers\":[{\"digest\":"
		 "\"%s\"}],\"tag\":\"%s\"}",
		 digest_str(&refs[0], c), digest_str(&refs[1], l), tag);
	assert_int_equal(tmpstore_put_manifest(st, &p, &d, &e), 0);
	return d;
}

static void write_file(const char *path, const char *data, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

static bool exists(const char *dir, const char *name)
{
	char path[512];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &sb) == 0;
}

static int64_t sql_int(const char *dir, const char *db, const char *sql)
{
	char path[512];
	sqlite3_stmt *s;
	sqlite3 *c;
	int64_t v;

	snprintf(path, sizeof(path), "%s/%s", dir, db);
	assert_int_equal(sqlite3_open_v2(path, &c, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(c, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(c);
	return v;
}

/* A store with one tagged image, an open upload session, a vulnerability
 * DB and a users file, beside which dest and target are fresh names. */
static int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char id[STOR_UPLOAD_ID_MAX], path[512];
	struct stor_upload *u;
	struct err e = ERR_INIT;
	struct digest refs[2];
	sqlite3 *db;

	if (tmpstore_open(fx->dir, sizeof(fx->dir), "backup", &fx->st) < 0)
		return -1;
	snprintf(fx->dest, sizeof(fx->dest), "%s.bak", fx->dir);
	snprintf(fx->target, sizeof(fx->target), "%s.new", fx->dir);
	fx->cfg = refs[0] = put_blob(fx->st, REPO, "{\"os\":\"linux\"}");
	fx->layer = refs[1] = put_blob(fx->st, REPO, "layer bytes");
	fx->mf = put_manifest(fx->st, REPO, "v1", refs, 2);
	if (stor_upload_start(fx->st, REPO, id, &e) < 0 ||
	    stor_upload_take(fx->st, REPO, id, &u, &e) < 0)
		return -1;
	if (stor_upload_write(u, "partial", 7, &e) < 0)
		return -1;
	stor_upload_release(u);
	snprintf(path, sizeof(path), "%s/vulndb.db", fx->dir);
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "CREATE TABLE t (x); INSERT INTO t VALUES (42);",
			 NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	sqlite3_close(db);
	snprintf(path, sizeof(path), "%s/htpasswd", fx->dir);
	write_file(path, "alice:$2y$05$x\n", 0600);
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;

	tmpstore_close(fx->dir, fx->st);
	tmpstore_close(fx->dest, NULL);
	tmpstore_close(fx->target, NULL);
	free(fx);
	return 0;
}

/* What fsck finds in the store under dir: every problem, damage or
 * garbage, counted. */
static size_t fsck_problems(const char *dir)
{
	struct stor_fsck_stats s;
	struct stor_fsck_opts o;
	struct err e = ERR_INIT;
	struct stor *st = stor_open(dir, &e);
	size_t n = 0;

	assert_non_null(st);
	memset(&o, 0, sizeof(o));
	o.exclusive = true;
	assert_int_equal(stor_fsck(st, &o, &s, &e), 0);
	for (size_t i = 0; i <= STOR_FSCK_TEMP; i++)
		n += s.problems[i];
	assert_int_equal(s.manifests, 1);
	stor_free(st);
	return n;
}

/* The image of the fixture, read back from the store under dir. */
static void expect_image(struct fx *fx, const char *dir)
{
	struct stor_manifest *m = NULL;
	struct err e = ERR_INIT;
	struct stor *st = stor_open(dir, &e);
	int64_t size;

	assert_non_null(st);
	assert_int_equal(stor_manifest_get(st, REPO, "v1", NULL, &m, &e), 0);
	assert_true(digest_eq(&m->digest, &fx->mf));
	stor_manifest_free(m);
	assert_int_equal(stor_blob_stat(st, REPO, &fx->layer, &size, &e), 0);
	assert_int_equal(size, strlen("layer bytes"));
	assert_int_equal(stor_blob_stat(st, REPO, &fx->cfg, &size, &e), 0);
	stor_free(st);
}

/* Backup beside the open store, restore into a new directory: the same
 * image, every blob hard-linked (one filesystem), upload sessions left
 * out, the small files kept private, fsck finds nothing at all. */
static void test_backup_restore(void **state)
{
	struct fx *fx = *state;
	struct stor_backup_opts o;
	struct stor_backup_stats s;
	struct err e = ERR_INIT;
	struct stat sb;
	char path[512];

	opts_init(fx, &o);
	assert_int_equal(stor_backup(fx->dir, fx->dest, &o, &s, &e), 0);
	assert_int_equal(s.blobs, 3); /* config, layer, manifest body */
	assert_int_equal(s.linked, 3);
	assert_int_equal(s.missing + s.corrupt, 0);
	assert_int_equal(s.files, 2); /* vulndb.db, htpasswd */
	assert_int_equal(s.schema, SCHEMA_NOW);
	assert_true(exists(fx->dest, BACKUP_MARKER));
	assert_false(exists(fx->dest, "uploads"));
	assert_int_equal(
		sql_int(fx->dest, "meta.db", "SELECT count(*) FROM uploads"),
		0);
	assert_int_equal(sql_int(fx->dest, "vulndb.db", "SELECT x FROM t"), 42);
	snprintf(path, sizeof(path), "%s/htpasswd", fx->dest);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* The source still has its session. */
	assert_int_equal(
		sql_int(fx->dir, "meta.db", "SELECT count(*) FROM uploads"), 1);

	opts_init(fx, &o);
	assert_int_equal(stor_restore(fx->dest, fx->target, &o, &s, &e), 0);
	assert_int_equal(s.blobs, 3);
	assert_int_equal(s.files, 2);
	assert_false(exists(fx->target, "meta.db.restore"));
	expect_image(fx, fx->target);
	assert_int_equal(fsck_problems(fx->target), 0);
	assert_int_equal(sql_int(fx->target, "vulndb.db", "SELECT x FROM t"),
			 42);
}

static void blob_file(const char *dir, const struct digest *d, char out[512])
{
	snprintf(out, 512, "%s/blobs/sha256/%.2s/%s", dir, d->hex, d->hex);
}

/* A backup goes into a new directory; a restore into an empty one unless
 * forced, and never under a running server. */
static void test_refusals(void **state)
{
	struct fx *fx = *state;
	struct stor_backup_opts o;
	struct stor_backup_stats s;
	struct err e = ERR_INIT;
	struct stor_lock *lock;
	char path[512];

	opts_init(fx, &o);
	assert_int_equal(stor_backup(fx->dir, fx->dest, &o, &s, &e), 0);
	assert_int_equal(stor_backup(fx->dir, fx->dest, &o, &s, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	err_clear(&e);
	/* Not a backup (no marker): the store itself. */
	assert_int_equal(stor_restore(fx->dir, fx->target, &o, &s, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	err_clear(&e);
	assert_int_equal(stor_restore(fx->dest, fx->target, &o, &s, &e), 0);
	assert_int_equal(stor_restore(fx->dest, fx->target, &o, &s, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	err_clear(&e);
	lock = stor_lock_take(fx->target, &e);
	assert_non_null(lock);
	o.force = true;
	assert_int_equal(stor_restore(fx->dest, fx->target, &o, &s, &e), -1);
	assert_int_equal(e.code, ERR_BUSY);
	err_clear(&e);
	stor_lock_free(lock);
	assert_int_equal(stor_restore(fx->dest, fx->target, &o, &s, &e), 0);
	expect_image(fx, fx->target);
	/* Over a damaged blob (a new file: the old one is the backup's
	 * too), --force puts the backup's back. */
	blob_file(fx->target, &fx->layer, path);
	assert_int_equal(unlink(path), 0);
	write_file(path, "LAYER BYTES", 0644);
	assert_int_equal(stor_restore(fx->dest, fx->target, &o, &s, &e), 0);
	assert_int_equal(fsck_problems(fx->target), 0);
	/* No source store: nothing is made. */
	assert_int_equal(stor_backup(fx->target, fx->dest, &o, &s, &e), -1);
	err_clear(&e);
	assert_int_equal(
		stor_backup("/nonexistent/customs", fx->target, &o, &s, &e),
		-1);
}

/* A blob the metadata names but the store lacks, or whose content is
 * damaged, is reported and left out; the rest is copied. */
static void test_missing_and_corrupt(void **state)
{
	struct fx *fx = *state;
	struct stor_backup_opts o;
	struct stor_backup_stats s;
	struct err e = ERR_INIT;
	char path[512], link_to[600], ds[DIGEST_STR_MAX], want[256];

	blob_file(fx->dir, &fx->layer, path);
	assert_int_equal(unlink(path), 0);
	blob_file(fx->dir, &fx->cfg, path);
	write_file(path, "{\"os\":\"LINUX\"}", 0644); /* same size */
	opts_init(fx, &o);
	o.copy = true;
	o.verify = true;
	assert_int_equal(stor_backup(fx->dir, fx->dest, &o, &s, &e), 0);
	assert_int_equal(s.blobs, 1);
	assert_int_equal(s.copied, 1);
	assert_int_equal(s.linked, 0);
	assert_int_equal(s.missing, 1);
	assert_int_equal(s.corrupt, 1);
	snprintf(want, sizeof(want), "missing %s\n",
		 digest_str(&fx->layer, ds));
	assert_non_null(strstr(fx->problems, want));
	snprintf(want, sizeof(want), "corrupt %s\n", digest_str(&fx->cfg, ds));
	assert_non_null(strstr(fx->problems, want));
	blob_file(fx->dest, &fx->cfg, path);
	assert_int_equal(access(path, F_OK), -1);
	/* A symlink among the blobs is never followed, even to the right
	 * bytes. */
	blob_file(fx->dir, &fx->mf, path);
	snprintf(link_to, sizeof(link_to), "%s.real", path);
	assert_int_equal(rename(path, link_to), 0);
	assert_int_equal(symlink(link_to, path), 0);
	tmpstore_close(fx->dest, NULL);
	opts_init(fx, &o);
	assert_int_equal(stor_backup(fx->dir, fx->dest, &o, &s, &e), 0);
	assert_int_equal(s.corrupt, 1); /* (sizes only: the config passes) */
	snprintf(want, sizeof(want), "corrupt %s\n", digest_str(&fx->mf, ds));
	assert_non_null(strstr(fx->problems, want));
}

/* Onto another filesystem (where /dev/shm is one) a link cannot be made:
 * each blob is copied, keeping its mtime. */
static void test_other_filesystem(void **state)
{
	struct fx *fx = *state;
	struct stor_backup_opts o;
	struct stor_backup_stats s;
	struct err e = ERR_INIT;
	struct stat a, b;
	char dest[64] = "/dev/shm/customs-backup-XXXXXX", path[512];

	if (stat(fx->dir, &a) < 0 || stat("/dev/shm", &b) < 0 ||
	    a.st_dev == b.st_dev || !mkdtemp(dest)) {
		skip();
		return;
	}
	opts_init(fx, &o);
	assert_int_equal(stor_backup(fx->dir, dest, &o, &s, &e), 0);
	assert_int_equal(s.copied, 3);
	assert_int_equal(s.linked, 0);
	blob_file(fx->dir, &fx->layer, path);
	assert_int_equal(stat(path, &a), 0);
	blob_file(dest, &fx->layer, path);
	assert_int_equal(stat(path, &b), 0);
	assert_int_equal(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
	assert_int_equal(a.st_mode, b.st_mode);
	opts_init(fx, &o);
	assert_int_equal(stor_restore(dest, fx->target, &o, &s, &e), 0);
	assert_int_equal(s.copied, 3);
	expect_image(fx, fx->target);
	assert_int_equal(fsck_problems(fx->target), 0);
	tmpstore_close(dest, NULL);
}

/* --- Schema migrations ---------------------------------------------------- */

/* The blobs the rows of tests/data/schema/rows.sql name (see SOURCE.md
 * there): a config, a layer and the manifest that lists them. */
static const char old_config[] =
	"{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":"
	"\"layers\",\"diff_ids\":[]}}";
static const char old_layer[] = "customs schema test layer\n";
static const char old_manifest[] =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image."
	"manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci."
	"image.config.v1+json\",\"digest\":\"sha256:c5b1d63604f273462ef36fad"
	"ac3182d43ae6a6138731cf594b314835cf1c034f\",\"size\":78},\"layers\":"
	"[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\""
	":\"sha256:22399124cc66d424e7fa18ad5654d04f5ebcf363bcff2cdaf942ec9cb7a"
	"f8018\",\"size\":26}]}";

static void old_blob(const char *dir, const char *data, struct digest *d)
{
	char path[512];

	digest_of(DIGEST_SHA256, data, strlen(data), d);
	snprintf(path, sizeof(path), "%s/blobs", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/blobs/sha256", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%.2s", dir, d->hex);
	mkdir(path, 0755);
	blob_file(dir, d, path);
	write_file(path, data, 0644);
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 16);
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, (1 << 16) - 1, f);
	assert_true(n > 0 && n < (1 << 16) - 1);
	fclose(f);
	return buf;
}

static void run_sql_file(sqlite3 *db, const char *path)
{
	char *sql = read_text(path);
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", path, msg ? msg : "?");
	free(sql);
}

/* A meta.db of version ver (its SQL as that customs created it, and the
 * rows it would hold) opens, migrates to the current version, serves what
 * it had, takes a push, and its store passes fsck. */
static void migrate_from(int ver)
{
	char dir[256], path[512], id[STOR_UPLOAD_ID_MAX];
	struct digest cfg, layer, mf, refs[2];
	struct stor_manifest *m = NULL;
	struct stor_scan sc;
	struct err e = ERR_INIT;
	struct stor *st = NULL;
	sqlite3 *db;
	int fd;
	int64_t size;

	snprintf(dir, sizeof(dir), "%s/customs-migrate-XXXXXX",
		 getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR")
						       : "/tmp");
	assert_non_null(mkdtemp(dir));
	old_blob(dir, old_config, &cfg);
	old_blob(dir, old_layer, &layer);
	old_blob(dir, old_manifest, &mf);
	snprintf(path, sizeof(path), "%s/meta.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	/* As that customs made it: each migration up to ver, in order, the
	 * rows of each version written when it was current. */
	for (int v = 1; v <= ver; v++) {
		snprintf(path, sizeof(path), "tests/data/schema/v%d.sql", v);
		run_sql_file(db, path);
		if (v == 1)
			run_sql_file(db, "tests/data/schema/rows.sql");
		if (v == 2)
			run_sql_file(db, "tests/data/schema/rows-v2.sql");
	}
	snprintf(path, sizeof(path), "PRAGMA user_version = %d", ver);
	assert_int_equal(sqlite3_exec(db, path, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(sql_int(dir, "meta.db", "PRAGMA user_version"), ver);

	st = stor_open(dir, &e);
	assert_non_null(st);
	assert_int_equal(sql_int(dir, "meta.db", "PRAGMA user_version"),
			 SCHEMA_NOW);
	/* What it had. */
	assert_int_equal(
		stor_manifest_get(st, "library/old", "v1", NULL, &m, &e), 0);
	assert_true(digest_eq(&m->digest, &mf));
	assert_int_equal(m->len, strlen(old_manifest));
	stor_manifest_free(m);
	assert_int_equal(
		stor_blob_open(st, "library/old", &layer, &fd, &size, &e), 0);
	close(fd);
	assert_int_equal(size, strlen(old_layer));
	assert_int_equal(stor_scan_get(st, &mf, false, &sc, &e), 0);
	assert_int_equal(sc.state, STOR_SCAN_DONE);
	assert_int_equal(sc.has_result, ver >= 2);
	stor_scan_release(&sc);
	/* A push: blobs, a manifest over the old config, an upload session
	 * (which records its client since version 3). */
	refs[0] = cfg;
	refs[1] = put_blob(st, "library/old", "new layer");
	assert_int_equal(stor_blob_link(st, "library/old", &cfg, &e), 0);
	put_manifest(st, "library/old", "v2", refs, 2);
	assert_true(stor_manifest_exists(st, "library/old", &mf));
	{
		struct stor_upload_limits lim = {"addr 127.0.0.1", 4, 4};

		assert_int_equal(stor_upload_start_limited(st, "library/old",
							   &lim, id, &e),
				 0);
		assert_int_equal(stor_upload_cancel(st, "library/old", id, &e),
				 0);
	}
	/* The old open session has no data: garbage, not damage. */
	{
		struct stor_fsck_stats s;
		struct stor_fsck_opts o;

		memset(&o, 0, sizeof(o));
		o.exclusive = true;
		assert_int_equal(stor_fsck(st, &o, &s, &e), 0);
		assert_int_equal(s.damage, 0);
		assert_int_equal(s.manifests, 2);
	}
	tmpstore_close(dir, st);
}

static void test_migrate_v1(void **state)
{
	(void)state;
	migrate_from(1);
}

static void test_migrate_v2(void **state)
{
	(void)state;
	migrate_from(2);
}

static void test_migrate_v3(void **state)
{
	(void)state;
	migrate_from(3);
}

static void test_migrate_v4(void **state)
{
	(void)state;
	migrate_from(4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_backup_restore, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_refusals, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_missing_and_corrupt,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_other_filesystem, fx_setup,
						fx_teardown),
		cmocka_unit_test(test_migrate_v1),
		cmocka_unit_test(test_migrate_v2),
		cmocka_unit_test(test_migrate_v3),
		cmocka_unit_test(test_migrate_v4),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
