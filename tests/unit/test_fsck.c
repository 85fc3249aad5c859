/* test_fsck.c: fsck finds each kind of damage in a real store, repairs
 * what it can, and names the manifests that lost something. */
#define _XOPEN_SOURCE 700 /* nftw */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "storage/storage.h"
#include "storage/storage_int.h"

#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TMPSTORE_PG /* runs on PostgreSQL too: see tmpstore.h */
#include "tests/unit/tmpstore.h"
#include "common/banned.h"

#define REPO	 "library/app"
#define MT_IMAGE "application/vnd.oci.image.manifest.v1+json"
#define MT_INDEX "application/vnd.oci.image.index.v1+json"

struct fx {
	TMPSTORE_FX_FIELDS;
	char out[8192]; /* the problems: "kind|message\n"... */
};

TMPSTORE_FX_DEFINE("fsck")

static void blob_path(struct fx *fx, const struct digest *d, char out[512])
{
	snprintf(out, 512, "%s/blobs/sha256/%.2s/%s", fx->dir, d->hex, d->hex);
}

static bool exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

static void write_at(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

/* refs are in the repository, sparse ones need not be. */
static struct digest put_sparse(struct fx *fx, const char *tag, const char *mt,
				const char *body, const struct digest *refs,
				size_t nrefs, const struct digest *sparse,
				size_t nsparse)
{
	struct stor_manifest_put p = {
		.repo = REPO,
		.tag = tag,
		.media_type = mt,
		.body = body,
		.refs = refs,
		.nrefs = nrefs,
		.sparse = sparse,
		.nsparse = nsparse,
	};
	struct err e = ERR_INIT;
	struct digest d;

	assert_int_equal(tmpstore_put_manifest(fx->st, &p, &d, &e), 0);
	return d;
}

static struct digest put_manifest(struct fx *fx, const char *repo,
				  const char *tag, const char *mt,
				  const char *body, const struct digest *refs,
				  size_t nrefs)
{
	assert_string_equal(repo, REPO);
	return put_sparse(fx, tag, mt, body, refs, nrefs, NULL, 0);
}

/* config + one layer, tagged; *layer_out gets the layer's digest. */
static struct digest push_image(struct fx *fx, const char *tag,
				const char *layer, struct digest *layer_out)
{
	struct digest refs[2];
	char body[1024];

	refs[0] = tmpstore_push(fx->st, REPO, "{}");
	refs[1] = tmpstore_push(fx->st, REPO, layer);
	snprintf(body, sizeof(body),
		 "{\"schemaVersion\":2,\"mediaType\":\"" MT_IMAGE "\","
		 "\"config\":{\"mediaType\":\"c\",\"digest\":\"%s\","
		 "\"size\":2},\"layers\":[{\"mediaType\":\"l\","
		 "\"digest\":\"%s\",\"size\":%zu}]}",
		 dstr(&refs[0]), dstr(&refs[1]), strlen(layer));
	if (layer_out)
		*layer_out = refs[1];
	return put_manifest(fx, REPO, tag, MT_IMAGE, body, refs, 2);
}

static const char *const kinds[] = {
	[STOR_FSCK_CORRUPT] = "corrupt", [STOR_FSCK_STRAY] = "stray",
	[STOR_FSCK_MISSING] = "missing", [STOR_FSCK_MANIFEST] = "manifest",
	[STOR_FSCK_DB] = "db",		 [STOR_FSCK_LOST] = "lost",
	[STOR_FSCK_ORPHAN] = "orphan",	 [STOR_FSCK_UPLOAD] = "upload",
	[STOR_FSCK_TEMP] = "temp",
};

static void on_problem(void *arg, enum stor_fsck_kind kind, const char *msg)
{
	struct fx *fx = arg;
	size_t len = strlen(fx->out);

	snprintf(fx->out + len, sizeof(fx->out) - len, "%s|%s\n", kinds[kind],
		 msg);
}

static void run_fsck(struct fx *fx, bool repair, bool strict, int64_t since,
		     struct stor_fsck_stats *s)
{
	struct stor_fsck_opts o;
	struct err e = ERR_INIT;

	memset(&o, 0, sizeof(o));
	o.repair = repair;
	o.strict = strict;
	o.since = since;
	o.on_problem = on_problem;
	o.arg = fx;
	fx->out[0] = '\0';
	assert_int_equal(stor_fsck(fx->st, &o, s, &e), 0);
}

static void expect_out(struct fx *fx, const char *needle)
{
	if (!strstr(fx->out, needle))
		fail_msg("'%s' not in:\n%s", needle, fx->out);
}

static void test_clean(void **state)
{
	struct fx *fx = *state;
	struct stor_fsck_stats s;
	struct digest kids[1];
	char body[512];

	kids[0] = push_image(fx, NULL, "layer", NULL);
	snprintf(body, sizeof(body),
		 "{\"schemaVersion\":2,\"mediaType\":\"" MT_INDEX
		 "\",\"manifests\":[{\"mediaType\":\"" MT_IMAGE
		 "\",\"digest\":\"%s\",\"size\":1}]}",
		 dstr(&kids[0]));
	put_manifest(fx, REPO, "multi", MT_INDEX, body, kids, 1);
	run_fsck(fx, false, true, 0, &s);
	assert_string_equal(fx->out, "");
	assert_int_equal(s.damage, 0);
	assert_int_equal(s.blobs, 4);
	assert_int_equal(s.hashed, 4);
	assert_int_equal(s.manifests, 2);
	assert_int_equal(s.links, 2);
}

static void test_corrupt_blob(void **state)
{
	struct fx *fx = *state;
	struct stor_fsck_stats s;
	struct digest m, layer, got;
	char path[512], q[600], msg[512];

	m = push_image(fx, "v1", "precious layer", &layer);
	blob_path(fx, &layer, path);
	write_at(path, "precious lAyer"); /* same size, one bit off */

	run_fsck(fx, false, false, 0, &s);
	assert_int_equal(s.problems[STOR_FSCK_CORRUPT], 1);
	assert_int_equal(s.problems[STOR_FSCK_MANIFEST], 1);
	assert_int_equal(s.problems[STOR_FSCK_MISSING], 1); /* the link */
	assert_int_equal(s.damage, 3);
	snprintf(msg, sizeof(msg), "corrupt|corrupt blob %s (14 bytes)",
		 dstr(&layer));
	expect_out(fx, msg);
	snprintf(msg, sizeof(msg),
		 "manifest|manifest %s@%s (tags: v1) lost blob %s (corrupt)",
		 REPO, dstr(&m), dstr(&layer));
	expect_out(fx, msg);
	got = dg_of("precious lAyer");
	snprintf(msg, sizeof(msg), "content hashes to %s", dstr(&got));
	expect_out(fx, msg);
	assert_true(exists(path));

	/* --since in the future: nothing re-hashed, nothing found. */
	run_fsck(fx, false, false, (int64_t)time(NULL) + 3600, &s);
	assert_int_equal(s.hashed, 0);
	assert_int_equal(s.damage, 0);

	run_fsck(fx, true, false, 0, &s);
	assert_int_equal(s.quarantined, 1);
	expect_out(fx, "moved to quarantine");
	assert_false(exists(path));
	snprintf(q, sizeof(q), "%s/quarantine/sha256-%s", fx->dir, layer.hex);
	assert_true(exists(q));

	/* Afterwards the loss is still reported, now as missing. */
	run_fsck(fx, false, false, 0, &s);
	assert_int_equal(s.problems[STOR_FSCK_CORRUPT], 0);
	snprintf(msg, sizeof(msg), "(tags: v1) lost blob %s (missing)",
		 dstr(&layer));
	expect_out(fx, msg);
	snprintf(msg, sizeof(msg),
		 "missing|repository %s lost blob %s "
		 "(missing)",
		 REPO, dstr(&layer));
	expect_out(fx, msg);
	assert_true(s.damage > 0);

	/* Pushing the layer again heals the store. */
	tmpstore_push(fx->st, REPO, "precious layer");
	run_fsck(fx, false, true, 0, &s);
	assert_int_equal(s.damage, 0);
}

static void test_corrupt_manifest_body(void **state)
{
	struct fx *fx = *state;
	struct stor_fsck_stats s;
	struct digest m = push_image(fx, "v1", "layer", NULL);
	char path[512], msg[512];

	blob_path(fx, &m, path);
	write_at(path, "{}");
	run_fsck(fx, false, false, 0, &s);
	snprintf(msg, sizeof(msg),
		 "manifest|manifest %s@%s (tags: v1): its "
		 "body is corrupt",
		 REPO, dstr(&m));
	expect_out(fx, msg);
	assert_int_equal(s.problems[STOR_FSCK_CORRUPT], 1);
}

static void test_stray_files(void **state)
{
	struct fx *fx = *state;
	struct stor_fsck_stats s;
	char path[512], q[512];

	push_image(fx, "v1", "layer", NULL);
	snprintf(path, sizeof(path), "%s/blobs/sha256/ab/not-a-digest",
		 fx->dir);
	snprintf(q, sizeof(q), "%s/blobs/sha256/ab", fx->dir);
	mkdir(q, 0755);
	write_at(path, "junk");
	snprintf(q, sizeof(q), "%s/blobs/md5", fx->dir);
	mkdir(q, 0755);
	run_fsck(fx, false, false, 0, &s);
	assert_int_equal(s.problems[STOR_FSCK_STRAY], 2);
	expect_out(fx, "blobs/sha256/ab/not-a-digest: not a blob");
	expect_out(fx, "blobs/md5: not a blob");
	run_fsck(fx, true, false, 0, &s);
	assert_int_equal(s.quarantined, 2);
	assert_false(exists(path));
	snprintf(q, sizeof(q), "%s/quarantine/blobs_sha256_ab_not-a-digest",
		 fx->dir);
	assert_true(exists(q));
	run_fsck(fx, false, true, 0, &s);
	assert_int_equal(s.damage, 0);
}

static void test_missing_and_unrecorded(void **state)
{
	struct fx *fx = *state;
	struct stor_fsck_stats s;
	struct digest layer, m;
	char path[512], msg[512];

	m = push_image(fx, "v1", "layer", &layer);
	/* The DB forgets a reference: gc would not keep that blob. */
	tmpstore_sql(fx->dir, "DELETE FROM manifest_refs");
	run_fsck(fx, false, false, 0, &s);
	snprintf(msg, sizeof(msg), "%s is not recorded as a reference",
		 dstr(&layer));
	expect_out(fx, msg);
	assert_int_equal(s.problems[STOR_FSCK_MANIFEST], 2); /* config too */

	blob_path(fx, &m, path);
	assert_int_equal(unlink(path), 0);
	run_fsck(fx, false, false, 0, &s);
	expect_out(fx, "(tags: v1): its body is missing");
}

static void test_index_child_missing(void **state)
{
	struct fx *fx = *state;
	struct stor_fsck_stats s;
	struct digest kid, idx;
	char body[512], msg[512], sql[300];
	struct err e = ERR_INIT;

	kid = push_image(fx, NULL, "layer", NULL);
	snprintf(body, sizeof(body),
		 "{\"schemaVersion\":2,\"mediaType\":\"" MT_INDEX
		 "\",\"manifests\":[{\"mediaType\":\"" MT_IMAGE
		 "\",\"digest\":\"%s\",\"size\":1}]}",
		 dstr(&kid));
	idx = put_manifest(fx, REPO, "multi", MT_INDEX, body, &kid, 1);
	/* Bypass the cascade to leave the index with a hole. */
	snprintf(sql, sizeof(sql),
		 "%s DELETE FROM manifests WHERE digest = '%s'",
		 tmpstore_pg() ? "SET session_replication_role = replica;"
			       : "PRAGMA foreign_keys = OFF;",
		 dstr(&kid));
	tmpstore_sql(fx->dir, sql);
	(void)e;
	run_fsck(fx, false, false, 0, &s);
	/* An index without one of its platforms is sparse, no damage: the
	 * dangling rows of the child are what fsck reports. */
	snprintf(msg, sizeof(msg), "manifest %s@%s", REPO, dstr(&idx));
	assert_null(strstr(fx->out, msg));
	if (tmpstore_pg()) /* the server keeps its keys */
		return;
	expect_out(fx, "db|meta.db: foreign key check: manifest_refs");
	assert_true(s.problems[STOR_FSCK_DB] >= 1);
}

/* An image whose three layers live elsewhere (printf: config, layers). */
#define SPARSE_IMG_FMT                                                         \
	"{\"schemaVersion\":2,\"mediaType\":\"" MT_IMAGE "\","                 \
	"\"config\":{\"mediaType\":\"c\",\"digest\":\"%s\","                   \
	"\"size\":2},\"layers\":["                                             \
	"{\"mediaType\":\"application/vnd.oci.image.layer."                    \
	"nondistributable.v1.tar+gzip\",\"digest\":\"%s\",\"size\":3},"        \
	"{\"mediaType\":\"application/vnd.docker.image.rootfs.foreign."        \
	"diff.tar.gzip\",\"digest\":\"%s\",\"size\":3},"                       \
	"{\"mediaType\":\"l\",\"digest\":\"%s\",\"size\":3,"                   \
	"\"urls\":[\"https://example.com/l\"]}]}"

/* Sparse content as the API stores it: an index whose second platform
 * was never pushed, an image whose non-distributable layers (an OCI
 * nondistributable type, a Docker foreign layer, one with urls) are
 * elsewhere.  None of it is damage, nor the platform pushed later. */
static void test_sparse(void **state)
{
	struct fx *fx = *state;
	struct digest cfg, absent[3], kid, later;
	struct stor_fsck_stats s;
	char body[2048], later_body[512], idx[1024];

	cfg = tmpstore_push(fx->st, REPO, "{}");
	absent[0] = dg_of("nd1");
	absent[1] = dg_of("nd2");
	absent[2] = dg_of("nd3");
	snprintf(body, sizeof(body), SPARSE_IMG_FMT, dstr(&cfg),
		 dstr(&absent[0]), dstr(&absent[1]), dstr(&absent[2]));
	kid = put_sparse(fx, NULL, MT_IMAGE, body, &cfg, 1, absent, 3);

	/* The second platform is not in the store at all. */
	snprintf(later_body, sizeof(later_body),
		 "{\"schemaVersion\":2,\"mediaType\":\"" MT_IMAGE "\","
		 "\"config\":{\"mediaType\":\"c\",\"digest\":\"%s\","
		 "\"size\":2},\"layers\":[]}",
		 dstr(&cfg));
	later = dg_of(later_body);
	snprintf(idx, sizeof(idx),
		 "{\"schemaVersion\":2,\"mediaType\":\"" MT_INDEX
		 "\",\"manifests\":[{\"mediaType\":\"" MT_IMAGE
		 "\",\"digest\":\"%s\",\"size\":%zu},{\"mediaType\":\"" MT_IMAGE
		 "\",\"digest\":\"%s\",\"size\":%zu}]}",
		 dstr(&kid), strlen(body), dstr(&later), strlen(later_body));
	put_sparse(fx, "multi", MT_INDEX, idx, &kid, 1, &later, 1);

	run_fsck(fx, false, true, 0, &s);
	if (fx->out[0])
		fail_msg("fsck of sparse content reported:\n%s", fx->out);
	assert_int_equal(s.damage, 0);

	/* The missing platform arrives (test_gc.c: gc keeps it). */
	put_manifest(fx, REPO, NULL, MT_IMAGE, later_body, &cfg, 1);
	run_fsck(fx, false, true, 0, &s);
	if (fx->out[0])
		fail_msg("fsck after the platform came reported:\n%s", fx->out);
}

static void test_garbage(void **state)
{
	struct fx *fx = *state;
	struct stor_fsck_stats s;
	struct stor_fsck_opts o;
	struct err e = ERR_INIT;
	struct digest orphan;
	char path[512], msg[512], id[STOR_UPLOAD_ID_MAX];

	orphan = tmpstore_push(fx->st, REPO, "nobody's");
	tmpstore_sql(fx->dir, "DELETE FROM repo_blobs");
	assert_int_equal(stor_upload_start(fx->st, REPO, id, &e), 0);
	snprintf(path, sizeof(path), "%s/uploads/%s", fx->dir, id);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/uploads/tmp-crash", fx->dir);
	write_at(path, "half");
	snprintf(path, sizeof(path),
		 "%s/uploads/0b0e52b4-6f0c-4a3c-9d8e-2d6c1d3e4f50", fx->dir);
	write_at(path, "ownerless");

	run_fsck(fx, false, false, 0, &s);
	assert_int_equal(s.damage, 0);
	snprintf(msg, sizeof(msg), "orphan|orphan blob %s (8 bytes)",
		 dstr(&orphan));
	expect_out(fx, msg);
	snprintf(msg, sizeof(msg),
		 "upload|upload session %s of %s has no "
		 "data",
		 id, REPO);
	expect_out(fx, msg);
	/* Young temporary files and ownerless data may be a server's. */
	assert_null(strstr(fx->out, "tmp-crash"));
	assert_int_equal(s.problems[STOR_FSCK_UPLOAD], 1);

	memset(&o, 0, sizeof(o));
	o.exclusive = true;
	o.strict = true;
	o.on_problem = on_problem;
	o.arg = fx;
	fx->out[0] = '\0';
	assert_int_equal(stor_fsck(fx->st, &o, &s, &e), 0);
	expect_out(fx, "temp|temporary file");
	expect_out(fx, "upload|upload data "
		       "0b0e52b4-6f0c-4a3c-9d8e-2d6c1d3e4f50 (9 bytes)");
	assert_int_equal(s.damage, 4);
}

/* --- Lost metadata ----------------------------------------------------------
 */

static void copy_file(const char *from, const char *to)
{
	char buf[8192];
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	size_t n;

	assert_non_null(in);
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

/* Closes the store and puts back the meta.db saved as meta.db.saved, as a
 * crash that lost meta.db-wal leaves it; ago > 0 dates it back. */
static void lose_metadata(struct fx *fx, int ago)
{
	char db[300], saved[300], wal[300];
	struct timespec ts[2];
	struct err e = ERR_INIT;

	snprintf(db, sizeof(db), "%s/meta.db", fx->dir);
	snprintf(saved, sizeof(saved), "%s/meta.db.saved", fx->dir);
	snprintf(wal, sizeof(wal), "%s/meta.db-wal", fx->dir);
	stor_free(fx->st);
	assert_int_equal(rename(saved, db), 0);
	unlink(wal);
	if (ago > 0) {
		clock_gettime(CLOCK_REALTIME, &ts[0]);
		ts[0].tv_sec -= ago;
		ts[1] = ts[0];
		assert_int_equal(utimensat(AT_FDCWD, db, ts, 0), 0);
	}
	fx->st = stor_open(fx->dir, &e);
	assert_non_null(fx->st);
}

static void save_metadata(struct fx *fx)
{
	char db[300], saved[300];
	struct err e = ERR_INIT;

	snprintf(db, sizeof(db), "%s/meta.db", fx->dir);
	snprintf(saved, sizeof(saved), "%s/meta.db.saved", fx->dir);
	stor_free(fx->st); /* checkpoints: meta.db is whole */
	copy_file(db, saved);
	fx->st = stor_open(fx->dir, &e);
	assert_non_null(fx->st);
}

/* No repository at all, yet blobs: the orphans are the content. */
static void test_lost_metadata_empty(void **state)
{
	struct fx *fx = *state;
	struct stor_fsck_stats s;

	tmpstore_sqlite_only(); /* sqlite's own SQL and files */
	save_metadata(fx);
	push_image(fx, "v1", "layer", NULL);
	lose_metadata(fx, 0);
	run_fsck(fx, false, false, 0, &s);
	expect_out(fx, "lost|meta.db knows no repository, yet the store "
		       "holds 3 blobs");
	expect_out(fx, "Do not run gc");
	assert_int_equal(s.problems[STOR_FSCK_LOST], 1);
	assert_int_equal(s.problems[STOR_FSCK_ORPHAN], 3);
	assert_true(s.damage >= 1);
}

/* An older meta.db: blobs newer than its last write that nothing refers
 * to.  One or two such orphans are a crash's; more are lost writes. */
static void test_lost_metadata_older(void **state)
{
	struct fx *fx = *state;
	struct stor_fsck_stats s;

	tmpstore_sqlite_only(); /* sqlite's own SQL and files */
	push_image(fx, "v1", "layer one", NULL);
	save_metadata(fx);
	push_image(fx, "v2", "layer two", NULL);
	lose_metadata(fx, 3600);
	run_fsck(fx, false, false, 0, &s);
	/* The layer and the body of v2: a crash could leave that. */
	assert_int_equal(s.problems[STOR_FSCK_ORPHAN], 2);
	assert_int_equal(s.problems[STOR_FSCK_LOST], 0);
	assert_int_equal(s.damage, 0);

	save_metadata(fx);
	push_image(fx, "v3", "layer three", NULL);
	push_image(fx, "v4", "layer four", NULL);
	lose_metadata(fx, 3600);
	run_fsck(fx, false, false, 0, &s);
	expect_out(fx, "lost|6 blobs that nothing refers to are newer than "
		       "meta.db's last write");
	assert_int_equal(s.problems[STOR_FSCK_LOST], 1);
	assert_int_equal(s.damage, 1);
}

/* --- The command
 * ------------------------------------------------------------------ */

static void test_fsck_cmd(void **state)
{
	struct fx *fx = *state;
	struct digest layer;
	char path[512], missing[300], state_file[300];

	push_image(fx, "v1", "layer", &layer);
	snprintf(missing, sizeof(missing), "%s/nothing", fx->dir);
	snprintf(state_file, sizeof(state_file), "%s/fsck.state", fx->dir);
	stor_free(fx->st);
	fx->st = NULL;
	/* No clean run yet: --since last cannot work. */
	assert_int_equal(unit_run_main(stor_fsck_cmd_main, "fsck", "--data",
				       fx->dir, "--since", "last", NULL),
			 2);
	assert_int_equal(unit_run_main(stor_fsck_cmd_main, "fsck", "--data",
				       fx->dir, NULL),
			 0);
	assert_true(exists(state_file));
	assert_int_equal(unit_run_main(stor_fsck_cmd_main, "fsck", "--data",
				       fx->dir, "--since=last", NULL),
			 0);
	assert_int_equal(unit_run_main(stor_fsck_cmd_main, "fsck", "--data",
				       fx->dir, "--since",
				       "2020-01-02T03:04:05Z", NULL),
			 0);
	assert_int_equal(unit_run_main(stor_fsck_cmd_main, "fsck", "--data",
				       fx->dir, "--since", "7d", NULL),
			 0);
	assert_int_equal(unit_run_main(stor_fsck_cmd_main, "fsck", "--data",
				       fx->dir, "--since", "yesterday", NULL),
			 2);
	blob_path(fx, &layer, path);
	write_at(path, "LAYER");
	assert_int_equal(unit_run_main(stor_fsck_cmd_main, "fsck", "--data",
				       fx->dir, "--strict", NULL),
			 1);
	assert_int_equal(unit_run_main(stor_fsck_cmd_main, "fsck", "--data",
				       fx->dir, "--repair", NULL),
			 1);
	assert_false(exists(path));
	assert_int_equal(unit_run_main(stor_fsck_cmd_main, "fsck", "--data",
				       missing, NULL),
			 2);
	assert_int_equal(
		unit_run_main(stor_fsck_cmd_main, "fsck", "--dry-run", NULL),
		2);
	assert_int_equal(unit_run_main(stor_fsck_cmd_main, "fsck", "-h", NULL),
			 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_clean),
		T(test_corrupt_blob),
		T(test_corrupt_manifest_body),
		T(test_stray_files),
		T(test_missing_and_unrecorded),
		T(test_index_child_missing),
		T(test_sparse),
		T(test_garbage),
		T(test_lost_metadata_empty),
		T(test_lost_metadata_older),
		T(test_fsck_cmd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
