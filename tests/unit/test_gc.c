/* test_gc.c: garbage collection, upload expiry and recovery against a
 * real store in a temporary directory. */
#define _XOPEN_SOURCE 700 /* nftw */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/opt.h"
#include "storage/storage.h"
#include "storage/storage_int.h"

#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
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
	char freed[4096]; /* what on_free saw: "kind name size;" */
};

TMPSTORE_FX_DEFINE("gc")

static bool blob_exists(struct fx *fx, const struct digest *d)
{
	char path[512];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/blobs/sha256/%.2s/%s", fx->dir, d->hex,
		 d->hex);
	return stat(path, &sb) == 0;
}

static bool file_exists(struct fx *fx, const char *rel)
{
	char path[512];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", fx->dir, rel);
	return stat(path, &sb) == 0;
}

static void write_file(struct fx *fx, const char *rel, const char *data)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fx->dir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

/* An image manifest with config and one layer (pushed here), an optional
 * subject; tag may be NULL. */
static struct digest push_image(struct fx *fx, const char *repo,
				const char *tag, const char *layer,
				const struct digest *subject)
{
	struct digest refs[2], d;
	char body[1024], subj[256] = "";
	struct err e = ERR_INIT;
	struct stor_manifest_put p = {
		.repo = repo,
		.tag = tag,
		.media_type = MT_IMAGE,
		.body = body,
		.subject = subject,
		.refs = refs,
		.nrefs = 2,
		.verify_refs = true,
	};

	refs[0] = tmpstore_push(fx->st, repo, "{}");
	refs[1] = tmpstore_push(fx->st, repo, layer);
	if (subject)
		snprintf(subj, sizeof(subj),
			 ",\"subject\":{\"mediaType\":\"" MT_IMAGE
			 "\",\"digest\":\"%s\",\"size\":1}",
			 dstr(subject));
	snprintf(body, sizeof(body),
		 "{\"schemaVersion\":2,\"mediaType\":\"" MT_IMAGE "\","
		 "\"config\":{\"mediaType\":\"c\",\"digest\":\"%s\","
		 "\"size\":2},\"layers\":[{\"mediaType\":\"l\","
		 "\"digest\":\"%s\",\"size\":%zu}]%s}",
		 dstr(&refs[0]), dstr(&refs[1]), strlen(layer), subj);
	assert_int_equal(tmpstore_put_manifest(fx->st, &p, &d, &e), 0);
	return d;
}

/* An index of kids; the last nsparse of them are not in repo (sparse). */
static struct digest push_sparse_index(struct fx *fx, const char *repo,
				       const char *tag,
				       const struct digest *kids, size_t n,
				       size_t nsparse)
{
	char body[2048];
	size_t len;
	struct digest d;
	struct err e = ERR_INIT;
	struct stor_manifest_put p = {
		.repo = repo,
		.tag = tag,
		.media_type = MT_INDEX,
		.body = body,
		.refs = kids,
		.nrefs = n - nsparse,
		.sparse = kids + n - nsparse,
		.nsparse = nsparse,
		.verify_refs = true,
	};

	len = (size_t)snprintf(body, sizeof(body),
			       "{\"schemaVersion\":2,\"mediaType\":\"" MT_INDEX
			       "\",\"manifests\":[");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(body + len, sizeof(body) - len,
					"%s{\"mediaType\":\"" MT_IMAGE
					"\",\"digest\":\"%s\",\"size\":1}",
					i ? "," : "", dstr(&kids[i]));
	snprintf(body + len, sizeof(body) - len, "]}");
	assert_int_equal(tmpstore_put_manifest(fx->st, &p, &d, &e), 0);
	return d;
}

static struct digest push_index(struct fx *fx, const char *repo,
				const char *tag, const struct digest *kids,
				size_t n)
{
	return push_sparse_index(fx, repo, tag, kids, n, 0);
}

static void on_free(void *arg, const char *kind, const char *name, int64_t size)
{
	struct fx *fx = arg;
	size_t len = strlen(fx->freed);

	snprintf(fx->freed + len, sizeof(fx->freed) - len, "%s %s %lld;", kind,
		 name, (long long)size);
}

/* gc with no grace (everything is old enough). */
static void run_gc(struct fx *fx, bool untagged, bool dry_run,
		   struct stor_gc_stats *s)
{
	struct stor_gc_opts o;
	struct err e = ERR_INIT;

	stor_gc_opts_init(&o);
	o.max_sweep_share = 100; /* a tiny store: see test_gc_sweep_share */
	o.grace_s = 0;
	o.untagged = untagged;
	o.dry_run = dry_run;
	o.on_free = on_free;
	o.arg = fx;
	fx->freed[0] = '\0';
	assert_int_equal(stor_gc(fx->st, &o, s, &e), 0);
}

static bool has_manifest(struct fx *fx, const char *repo,
			 const struct digest *d)
{
	return stor_manifest_exists(fx->st, repo, d);
}

/* --- Blobs -----------------------------------------------------------------
 */

static void test_gc_frees_unreferenced(void **state)
{
	struct fx *fx = *state;
	struct stor_gc_stats s;
	struct digest m, loose, cfg = dg_of("{}"), layer = dg_of("layer-a");
	char want[256];

	struct stor_layer li;
	struct err e = ERR_INIT;

	m = push_image(fx, REPO, "v1", "layer-a", NULL);
	loose = tmpstore_push(fx->st, REPO, "pushed but never used");
	/* Layer indexes are kept while their blob is. */
	assert_int_equal(stor_layer_put(fx->st, &loose, "v", "{}", &e), 0);
	assert_int_equal(stor_layer_put(fx->st, &layer, "v", "{}", &e), 0);
	run_gc(fx, false, false, &s);
	assert_int_equal(s.blobs, 1);
	assert_int_equal(s.bytes, (int64_t)strlen("pushed but never used"));
	assert_int_equal(s.blobs_kept, 3); /* config, layer, manifest */
	assert_false(blob_exists(fx, &loose));
	assert_true(blob_exists(fx, &cfg));
	assert_true(blob_exists(fx, &layer));
	assert_true(blob_exists(fx, &m));
	/* Its link went with it: the repository no longer claims it. */
	assert_int_equal(
		tmpstore_int(fx->dir, "SELECT count(*) FROM repo_blobs"), 2);
	assert_int_equal(stor_layer_get(fx->st, &loose, false, &li, &e), 0);
	assert_int_equal(li.state, STOR_LAYER_NONE);
	assert_int_equal(stor_layer_get(fx->st, &layer, false, &li, &e), 0);
	assert_int_equal(li.state, STOR_LAYER_DONE);
	stor_layer_release(&li);
	snprintf(want, sizeof(want), "blob %s 21;", dstr(&loose));
	assert_string_equal(fx->freed, want);
	/* A second run finds nothing. */
	run_gc(fx, false, false, &s);
	assert_int_equal(s.blobs, 0);
}

static void test_gc_grace_keeps_young(void **state)
{
	struct fx *fx = *state;
	struct stor_gc_opts o;
	struct stor_gc_stats s;
	struct err e = ERR_INIT;
	struct digest loose = tmpstore_push(fx->st, REPO, "young");

	stor_gc_opts_init(&o);
	assert_int_equal(o.max_sweep_share, 50);
	assert_int_equal(o.grace_s, 3600);
	assert_int_equal(o.upload_ttl_s, 86400);
	assert_int_equal(stor_gc(fx->st, &o, &s, &e), 0);
	assert_int_equal(s.blobs, 0);
	assert_true(blob_exists(fx, &loose));
}

/* Losing meta.db-wal makes every blob look unreferenced: gc refuses to
 * sweep more than its share of the store unless forced. */
static void test_gc_sweep_share(void **state)
{
	struct fx *fx = *state;
	struct stor_gc_opts o;
	struct stor_gc_stats s;
	struct err e = ERR_INIT;
	struct digest kept, a, b;

	kept = push_image(fx, REPO, "v1", "kept layer, the larger one", NULL);
	a = tmpstore_push(fx->st, REPO, "loose a");
	b = tmpstore_push(fx->st, REPO, "loose b");
	(void)kept;
	stor_gc_opts_init(&o);
	o.grace_s = 0;
	/* Two loose blobs of 7 bytes: well under half the store. */
	tmpstore_sql(fx->dir, "DELETE FROM repo_blobs WHERE digest IN "
			      "(SELECT digest FROM repo_blobs EXCEPT "
			      "SELECT child FROM manifest_refs)");
	assert_int_equal(stor_gc(fx->st, &o, &s, &e), 0);
	assert_int_equal(s.blobs, 2);
	assert_false(s.over_share);
	assert_false(blob_exists(fx, &a));
	assert_false(blob_exists(fx, &b));

	/* The metadata is gone: everything looks unreferenced. */
	tmpstore_sql(fx->dir, "DELETE FROM tags; DELETE FROM manifest_refs;"
			      "DELETE FROM manifests; DELETE FROM repo_blobs;");
	assert_int_equal(stor_gc(fx->st, &o, &s, &e), -1);
	assert_int_equal(e.code, ERR_DENIED);
	if (!strstr(e.msg, "refusing to free 3 of 3 blobs"))
		fail_msg("%s", e.msg);
	assert_non_null(strstr(e.msg, "--force"));
	assert_true(s.over_share);
	assert_int_equal(s.blobs, 0);
	assert_int_equal(s.blobs_kept, 3);
	assert_true(blob_exists(fx, &kept));
	/* A dry run says so and goes on. */
	err_clear(&e);
	o.dry_run = true;
	assert_int_equal(stor_gc(fx->st, &o, &s, &e), 0);
	assert_true(s.over_share);
	assert_int_equal(s.blobs, 3);
	assert_true(blob_exists(fx, &kept));
	/* A higher share, or force, frees them. */
	o.dry_run = false;
	o.max_sweep_share = 100;
	assert_int_equal(stor_gc(fx->st, &o, &s, &e), 0);
	assert_int_equal(s.blobs, 3);
	assert_false(blob_exists(fx, &kept));
}

/* An old blob file that a repository linked recently (a push whose
 * manifest is still to come, of content the store already had) stays. */
static void test_gc_recent_link_keeps(void **state)
{
	struct fx *fx = *state;
	struct stor_gc_opts o;
	struct stor_gc_stats s;
	struct err e = ERR_INIT;
	struct digest d = tmpstore_push(fx->st, REPO, "linked again");

	stor_gc_opts_init(&o);
	o.max_sweep_share = 100; /* a tiny store: see test_gc_sweep_share */
	o.grace_s = 0;
	/* The file is "old" for a grace of 0; the link is in the future. */
	tmpstore_sql(fx->dir, "UPDATE repo_blobs SET created = created + 100");
	assert_int_equal(stor_gc(fx->st, &o, &s, &e), 0);
	assert_int_equal(s.blobs, 0);
	assert_true(blob_exists(fx, &d));
	tmpstore_sql(fx->dir, "UPDATE repo_blobs SET created = created - 200");
	assert_int_equal(stor_gc(fx->st, &o, &s, &e), 0);
	assert_int_equal(s.blobs, 1);
	assert_false(blob_exists(fx, &d));
}

static void test_gc_dry_run(void **state)
{
	struct fx *fx = *state;
	struct stor_gc_stats s;
	struct digest loose = tmpstore_push(fx->st, REPO, "dry");

	run_gc(fx, false, true, &s);
	assert_int_equal(s.blobs, 1);
	assert_int_equal(s.bytes, 3);
	assert_true(blob_exists(fx, &loose));
	assert_int_equal(
		tmpstore_int(fx->dir, "SELECT count(*) FROM repo_blobs"), 1);
}

/* A blob shared by two repositories stays while either uses it. */
static void test_gc_shared_blob(void **state)
{
	struct fx *fx = *state;
	struct stor_gc_stats s;
	struct digest a, layer = dg_of("shared");
	struct err e = ERR_INIT;

	a = push_image(fx, "one", "v1", "shared", NULL);
	push_image(fx, "two", "v1", "shared", NULL);
	assert_int_equal(stor_manifest_delete(fx->st, "one", &a, &e), 0);
	run_gc(fx, false, false, &s);
	assert_true(blob_exists(fx, &layer));
	/* "one" deleted its only manifest; its manifest body goes unless
	 * "two" has the same manifest (it does: same content). */
	assert_true(blob_exists(fx, &a));
}

/* gc waits for a publisher holding the shared pin. */
struct pin_gc {
	struct fx *fx;
	struct stor_gc_stats s;
	volatile int done;
};

static void *pin_gc_thread(void *arg)
{
	struct pin_gc *pg = arg;
	struct stor_gc_opts o;
	struct err e = ERR_INIT;

	stor_gc_opts_init(&o);
	o.max_sweep_share = 100; /* a tiny store: see test_gc_sweep_share */
	o.grace_s = 0;
	assert_int_equal(stor_gc(pg->fx->st, &o, &pg->s, &e), 0);
	pg->done = 1;
	return NULL;
}

/* gc of fx's store waits while `holder` (a store on the same metadata)
 * holds the shared pin over unreferenced blob d, then frees it. */
static void gc_waits_for(struct fx *fx, struct stor *holder,
			 const struct digest *d)
{
	struct pin_gc pg = {fx, {0}, 0};
	struct err e = ERR_INIT;
	pthread_t t;
	int pin;

	assert_int_equal(stor_pin(holder, false, &pin, &e), 0);
	assert_int_equal(pthread_create(&t, NULL, pin_gc_thread, &pg), 0);
	usleep(300 * 1000);
	assert_int_equal(pg.done, 0);
	assert_true(blob_exists(fx, d));
	stor_unpin(pin);
	pthread_join(t, NULL);
	assert_int_equal(pg.done, 1);
	assert_int_equal(pg.s.blobs, 1);
	assert_false(blob_exists(fx, d));
}

static void test_gc_waits_for_pin(void **state)
{
	struct fx *fx = *state;
	struct digest d = tmpstore_push(fx->st, REPO, "pinned");

	gc_waits_for(fx, fx->st, &d);
}

/* On PostgreSQL, a push in flight on another node (a store of its own
 * directory on the same metadata) holds gc off as well. */
static void test_gc_waits_for_other_node(void **state)
{
	struct fx *fx = *state;
	struct digest d = tmpstore_push(fx->st, REPO, "pinned on another node");
	struct err e = ERR_INIT;
	struct stor *node2;
	char dir2[300];

	if (!tmpstore_pg())
		skip(); /* a sqlite store has one owner */
	snprintf(dir2, sizeof(dir2), "%s/node2", fx->dir);
	assert_int_equal(mkdir(dir2, 0755), 0);
	node2 = stor_open(dir2, &e);
	assert_non_null(node2);
	gc_waits_for(fx, node2, &d);
	stor_free(node2);
}

/* A manifest PUT that relies on a blob gc freed after the caller's check
 * fails instead of storing a manifest with a hole. */
static void test_manifest_put_rechecks_refs(void **state)
{
	struct fx *fx = *state;
	struct stor_gc_stats s;
	struct digest refs[1], d;
	struct err e = ERR_INIT;
	const char *body = "{\"schemaVersion\":2}";
	struct stor_manifest_put p = {
		.repo = REPO,
		.tag = "t",
		.media_type = MT_IMAGE,
		.body = body,
		.refs = refs,
		.nrefs = 1,
		.verify_refs = true,
	};

	refs[0] = tmpstore_push(fx->st, REPO, "soon gone");
	run_gc(fx, false, false, &s);
	assert_int_equal(s.blobs, 1);
	assert_int_equal(tmpstore_put_manifest(fx->st, &p, &d, &e), -1);
	assert_int_equal(e.code, ERR_MANIFEST_BLOB_UNKNOWN);
	assert_false(has_manifest(fx, REPO, &d));
}

/* --- Untagged manifests ------------------------------------------------------
 */

static void test_gc_untagged(void **state)
{
	struct fx *fx = *state;
	struct stor_gc_stats s;
	struct digest tagged, sig, loose, loose_sig, kids[2], idx;
	struct digest only_loose = dg_of("layer-loose");
	struct err e = ERR_INIT;

	tagged = push_image(fx, REPO, "v1", "layer-tagged", NULL);
	sig = push_image(fx, REPO, NULL, "signature", &tagged);
	loose = push_image(fx, REPO, NULL, "layer-loose", NULL);
	loose_sig = push_image(fx, REPO, NULL, "loose signature", &loose);
	kids[0] = push_image(fx, REPO, NULL, "amd64", NULL);
	kids[1] = push_image(fx, REPO, NULL, "arm64", NULL);
	idx = push_index(fx, REPO, "multi", kids, 2);

	/* Without --gc-untagged every manifest stays. */
	run_gc(fx, false, false, &s);
	assert_int_equal(s.manifests, 0);
	assert_true(has_manifest(fx, REPO, &loose));

	/* A dry run names them and the blobs only they keep. */
	run_gc(fx, true, true, &s);
	assert_int_equal(s.manifests, 2);
	assert_int_equal(s.blobs, 4); /* 2 bodies, 2 layers */
	assert_true(has_manifest(fx, REPO, &loose));
	assert_true(blob_exists(fx, &only_loose));

	run_gc(fx, true, false, &s);
	assert_int_equal(s.manifests, 2);
	assert_false(has_manifest(fx, REPO, &loose));
	assert_false(has_manifest(fx, REPO, &loose_sig));
	assert_true(has_manifest(fx, REPO, &tagged));
	assert_true(has_manifest(fx, REPO, &sig));
	assert_true(has_manifest(fx, REPO, &idx));
	assert_true(has_manifest(fx, REPO, &kids[0]));
	assert_true(has_manifest(fx, REPO, &kids[1]));
	assert_false(blob_exists(fx, &only_loose));
	assert_false(blob_exists(fx, &loose));
	assert_true(blob_exists(fx, &sig));

	/* Untagging the image frees it and its referrer. */
	assert_int_equal(stor_tag_delete(fx->st, REPO, "v1", &e), 0);
	run_gc(fx, true, false, &s);
	assert_int_equal(s.manifests, 2);
	assert_false(has_manifest(fx, REPO, &tagged));
	assert_false(has_manifest(fx, REPO, &sig));
	assert_true(has_manifest(fx, REPO, &kids[1]));
}

/* A sparse index: one platform here, one never pushed (recorded as a
 * sparse reference, so it is held once it arrives, even untagged). */
static void test_gc_sparse_index(void **state)
{
	struct fx *fx = *state;
	struct stor_gc_stats s;
	struct digest kids[2], later, layer = dg_of("arm64 layer");
	struct err e = ERR_INIT;

	kids[0] = push_image(fx, REPO, NULL, "amd64", NULL);
	/* The same image elsewhere gives the digest it will have here. */
	kids[1] = push_image(fx, "elsewhere", "keep", "arm64 layer", NULL);
	push_sparse_index(fx, REPO, "multi", kids, 2, 1);

	/* The hole is no garbage and no error. */
	run_gc(fx, true, false, &s);
	assert_int_equal(s.manifests, 0);
	assert_int_equal(s.blobs, 0);

	/* The platform arrives untagged: the index holds it. */
	later = push_image(fx, REPO, NULL, "arm64 layer", NULL);
	assert_true(digest_eq(&later, &kids[1]));
	assert_int_equal(
		stor_manifest_delete(fx->st, "elsewhere", &kids[1], &e), 0);
	run_gc(fx, true, false, &s);
	assert_int_equal(s.manifests, 0);
	assert_true(has_manifest(fx, REPO, &kids[1]));
	assert_true(blob_exists(fx, &layer));

	/* Untagged, the index goes, and both platforms with it. */
	assert_int_equal(stor_tag_delete(fx->st, REPO, "multi", &e), 0);
	run_gc(fx, true, false, &s);
	assert_int_equal(s.manifests, 3);
	assert_false(has_manifest(fx, REPO, &kids[1]));
	assert_false(blob_exists(fx, &layer));
}

/* Young untagged manifests are a push in flight (an index's children come
 * before the index). */
static void test_gc_untagged_grace(void **state)
{
	struct fx *fx = *state;
	struct stor_gc_opts o;
	struct stor_gc_stats s;
	struct err e = ERR_INIT;
	struct digest kid = push_image(fx, REPO, NULL, "child", NULL);

	stor_gc_opts_init(&o);
	o.max_sweep_share = 100; /* a tiny store: see test_gc_sweep_share */
	o.untagged = true;
	assert_int_equal(stor_gc(fx->st, &o, &s, &e), 0);
	assert_int_equal(s.manifests, 0);
	assert_true(has_manifest(fx, REPO, &kid));
}

/* --- Uploads and temporary files
 * ---------------------------------------------- */

static void test_gc_expires_uploads(void **state)
{
	struct fx *fx = *state;
	char idle[STOR_UPLOAD_ID_MAX], held[STOR_UPLOAD_ID_MAX], rel[64];
	struct stor_upload *u, *h;
	struct stor_gc_opts o;
	struct stor_gc_stats s;
	struct err e = ERR_INIT;

	assert_int_equal(stor_upload_start(fx->st, REPO, idle, &e), 0);
	assert_int_equal(stor_upload_take(fx->st, REPO, idle, &u, &e), 0);
	assert_int_equal(stor_upload_write(u, "abandoned", 9, &e), 0);
	stor_upload_release(u);
	assert_int_equal(stor_upload_start(fx->st, REPO, held, &e), 0);
	assert_int_equal(stor_upload_take(fx->st, REPO, held, &h, &e), 0);

	stor_gc_opts_init(&o);
	o.max_sweep_share = 100; /* a tiny store: see test_gc_sweep_share */
	o.upload_ttl_s = 1;
	assert_int_equal(stor_gc(fx->st, &o, &s, &e), 0);
	assert_int_equal(s.uploads, 0);
	sleep(2);
	assert_int_equal(stor_gc(fx->st, &o, &s, &e), 0);
	/* The one a request holds is not cut. */
	assert_int_equal(s.uploads, 1);
	assert_int_equal(s.bytes, 9);
	snprintf(rel, sizeof(rel), "uploads/%s", idle);
	assert_false(file_exists(fx, rel));
	assert_int_equal(stor_upload_take(fx->st, REPO, idle, &u, &e), -1);
	assert_int_equal(e.code, ERR_BLOB_UPLOAD_UNKNOWN);
	snprintf(rel, sizeof(rel), "uploads/%s", held);
	assert_true(file_exists(fx, rel));
	stor_upload_release(h);
	/* TTL 0: never. */
	o.upload_ttl_s = 0;
	assert_int_equal(stor_gc(fx->st, &o, &s, &e), 0);
	assert_int_equal(s.uploads, 0);
}

static void test_gc_ownerless_files(void **state)
{
	struct fx *fx = *state;
	const char *ownerless = "uploads/0b0e52b4-6f0c-4a3c-9d8e-2d6c1d3e4f50";
	struct stor_gc_opts o;
	struct stor_gc_stats s;
	struct err e = ERR_INIT;
	char live[STOR_UPLOAD_ID_MAX], rel[64];

	assert_int_equal(stor_upload_start(fx->st, REPO, live, &e), 0);
	write_file(fx, "uploads/tmp-0b0e52b4-6f0c-4a3c-9d8e-2d6c1d3e4f51",
		   "half");
	write_file(fx, ownerless, "data");
	/* Young: kept (a server may be writing them). */
	stor_gc_opts_init(&o);
	o.max_sweep_share = 100; /* a tiny store: see test_gc_sweep_share */
	assert_int_equal(stor_gc(fx->st, &o, &s, &e), 0);
	assert_int_equal(s.temps + s.uploads, 0);
	/* Exclusive: garbage whatever the age; the live session stays. */
	o.exclusive = true;
	assert_int_equal(stor_gc(fx->st, &o, &s, &e), 0);
	assert_int_equal(s.temps, 1);
	assert_int_equal(s.uploads, 1);
	assert_false(file_exists(
		fx, "uploads/tmp-0b0e52b4-6f0c-4a3c-9d8e-2d6c1d3e4f51"));
	assert_false(file_exists(fx, ownerless));
	snprintf(rel, sizeof(rel), "uploads/%s", live);
	assert_true(file_exists(fx, rel));
}

static void test_recover(void **state)
{
	struct fx *fx = *state;
	struct stor_gc_stats s;
	struct err e = ERR_INIT;
	char live[STOR_UPLOAD_ID_MAX], gone[STOR_UPLOAD_ID_MAX], rel[400];
	struct stor_upload *u;

	assert_int_equal(stor_upload_start(fx->st, REPO, live, &e), 0);
	assert_int_equal(stor_upload_start(fx->st, REPO, gone, &e), 0);
	snprintf(rel, sizeof(rel), "%s/uploads/%s", fx->dir, gone);
	assert_int_equal(unlink(rel), 0);
	write_file(fx, "uploads/tmp-crashed", "x");
	assert_int_equal(stor_recover(fx->st, &s, &e), 0);
	assert_int_equal(s.temps, 1);
	assert_int_equal(s.uploads, 1); /* the session without data */
	assert_false(file_exists(fx, "uploads/tmp-crashed"));
	assert_int_equal(stor_upload_take(fx->st, REPO, live, &u, &e), 0);
	stor_upload_release(u);
	assert_int_equal(stor_upload_take(fx->st, REPO, gone, &u, &e), -1);
}

static bool always(void *arg)
{
	(void)arg;
	return true;
}

/* A server stopping ends a run early, with nothing half done. */
static void test_gc_stopping(void **state)
{
	struct fx *fx = *state;
	struct stor_gc_opts o;
	struct stor_gc_stats s;
	struct err e = ERR_INIT;
	struct digest d = tmpstore_push(fx->st, REPO, "stays");

	stor_gc_opts_init(&o);
	o.max_sweep_share = 100; /* a tiny store: see test_gc_sweep_share */
	o.grace_s = 0;
	o.untagged = true;
	o.stopping = always;
	assert_int_equal(stor_gc(fx->st, &o, &s, &e), 0);
	assert_int_equal(s.blobs, 0);
	assert_true(blob_exists(fx, &d));
}

static void test_repo_usage(void **state)
{
	struct fx *fx = *state;
	struct err e = ERR_INIT;
	struct stor_manifest *got;
	struct digest m;
	int64_t bytes = -1;

	assert_int_equal(stor_repo_usage(fx->st, "empty", &bytes, &e), 0);
	assert_int_equal(bytes, 0);
	m = push_image(fx, REPO, "v1", "0123456789", NULL);
	assert_int_equal(stor_manifest_get(fx->st, REPO, NULL, &m, &got, &e),
			 0);
	assert_int_equal(stor_repo_usage(fx->st, REPO, &bytes, &e), 0);
	/* config "{}", the layer, the manifest's body */
	assert_int_equal(bytes, 2 + 10 + (int64_t)got->len);
	stor_manifest_free(got);
	/* Another repository pays for what it links too. */
	tmpstore_push(fx->st, "other", "0123456789");
	assert_int_equal(stor_repo_usage(fx->st, "other", &bytes, &e), 0);
	assert_int_equal(bytes, 10);
}

/* --- Locks and durations
 * ----------------------------------------------------------- */

static void test_store_lock(void **state)
{
	struct fx *fx = *state;
	struct err e = ERR_INIT;
	struct stor_lock *a, *b;

	a = stor_lock_take(fx->dir, &e);
	assert_non_null(a);
	b = stor_lock_take(fx->dir, &e);
	assert_null(b);
	assert_int_equal(e.code, ERR_BUSY);
	assert_non_null(strstr(e.msg, "in use"));
	stor_lock_free(a);
	err_clear(&e);
	b = stor_lock_take(fx->dir, &e);
	assert_non_null(b);
	stor_lock_free(b);
	stor_lock_free(NULL);
}

static void test_parse_duration(void **state)
{
	(void)state;
	assert_int_equal(opt_duration("0"), 0);
	assert_int_equal(opt_duration("90"), 90);
	assert_int_equal(opt_duration("90s"), 90);
	assert_int_equal(opt_duration("15m"), 900);
	assert_int_equal(opt_duration("1h"), 3600);
	assert_int_equal(opt_duration("7d"), 7 * 86400);
	assert_int_equal(opt_duration("2w"), 14 * 86400);
	assert_int_equal(opt_duration(""), -1);
	assert_int_equal(opt_duration("h"), -1);
	assert_int_equal(opt_duration("-1"), -1);
	assert_int_equal(opt_duration("1hh"), -1);
	assert_int_equal(opt_duration("1y"), -1);
	assert_int_equal(opt_duration("99999999999999999999"), -1);
	assert_int_equal(opt_duration("9999999999999999d"), -1);
	assert_int_equal(opt_duration(NULL), -1);
}

/* --- The command
 * ---------------------------------------------------------------------- */

/* Runs a command's main with a NULL-terminated list of arguments. */
static void test_gc_cmd(void **state)
{
	struct fx *fx = *state;
	char missing[300];
	struct digest loose = tmpstore_push(fx->st, REPO, "cmd");
	struct stor_lock *lock;
	struct err e = ERR_INIT;

	snprintf(missing, sizeof(missing), "%s/nothing", fx->dir);
	stor_free(fx->st);
	fx->st = NULL;
	assert_int_equal(unit_run_main(stor_gc_cmd_main, "gc", "--data",
				       fx->dir, "--gc-grace=0", "--dry-run",
				       "--quiet", NULL),
			 0);
	assert_true(blob_exists(fx, &loose));
	/* Beside a server (the lock is held): still collects. */
	lock = stor_lock_take(fx->dir, &e);
	assert_non_null(lock);
	/* The whole store is garbage: refused unless forced. */
	assert_int_equal(unit_run_main(stor_gc_cmd_main, "gc", "--data",
				       fx->dir, "--gc-grace", "0", "--quiet",
				       NULL),
			 1);
	assert_true(blob_exists(fx, &loose));
	assert_int_equal(unit_run_main(stor_gc_cmd_main, "gc", "--data",
				       fx->dir, "--max-sweep-share", "101",
				       NULL),
			 2);
	assert_int_equal(unit_run_main(stor_gc_cmd_main, "gc", "--data",
				       fx->dir, "--gc-grace", "0", "--quiet",
				       "--force", NULL),
			 0);
	stor_lock_free(lock);
	assert_false(blob_exists(fx, &loose));
	assert_int_equal(unit_run_main(stor_gc_cmd_main, "gc", "--data",
				       fx->dir, "--gc-grace", "soon", NULL),
			 2);
	assert_int_equal(
		unit_run_main(stor_gc_cmd_main, "gc", "--data", missing, NULL),
		1);
	assert_int_equal(
		unit_run_main(stor_gc_cmd_main, "gc", "--repair", NULL), 2);
	assert_int_equal(unit_run_main(stor_gc_cmd_main, "gc", "--help", NULL),
			 0);
	assert_false(file_exists(fx, "nothing"));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_gc_frees_unreferenced),
		T(test_gc_grace_keeps_young),
		T(test_gc_recent_link_keeps),
		T(test_gc_sweep_share),
		T(test_gc_dry_run),
		T(test_gc_shared_blob),
		T(test_gc_waits_for_pin),
		T(test_gc_waits_for_other_node),
		T(test_manifest_put_rechecks_refs),
		T(test_gc_untagged),
		T(test_gc_untagged_grace),
		T(test_gc_sparse_index),
		T(test_gc_expires_uploads),
		T(test_gc_ownerless_files),
		T(test_recover),
		T(test_gc_stopping),
		T(test_repo_usage),
		T(test_store_lock),
		cmocka_unit_test(test_parse_duration),
		T(test_gc_cmd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
