/* test_storage.c: the storage module against a real store in a temp dir. */
#define _XOPEN_SOURCE 700 /* nftw */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "storage/storage.h"
#include "storage/storage_int.h"
#include "storage/sqlite_int.h"

#include <ftw.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMPSTORE_PG /* runs on PostgreSQL too: see tmpstore.h */
#include "tests/unit/tmpstore.h"
#include "common/banned.h"

#define REPO "library/app"

struct fx {
	TMPSTORE_FX_FIELDS;
};

TMPSTORE_FX_DEFINE("stor")

static void fx_reopen(struct fx *fx)
{
	struct err e = ERR_INIT;

	stor_free(fx->st);
	fx->st = stor_open(fx->dir, &e);
	assert_non_null(fx->st);
}

static bool blob_file_exists(struct fx *fx, const struct digest *d)
{
	char path[512];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/blobs/%s/%.2s/%s", fx->dir,
		 digest_alg_name(d->alg), d->hex, d->hex);
	return stat(path, &sb) == 0;
}

/* Number of entries in DIR/uploads. */
static int uploads_count(struct fx *fx)
{
	char cmd[400];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s/uploads' | wc -l", fx->dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

static char *read_blob(struct stor *st, const char *repo,
		       const struct digest *d)
{
	struct err e = ERR_INIT;
	int64_t size;
	char *p;
	int fd;

	assert_int_equal(stor_blob_open(st, repo, d, &fd, &size, &e), 0);
	p = calloc(1, (size_t)size + 1);
	assert_int_equal(pread(fd, p, (size_t)size, 0), size);
	close(fd);
	return p;
}

struct mf {
	const char *tag;
	const char *body;
	const struct digest *subject;
	const char *artifact_type;
	const char *annotations;
	bool scan;
};

static int put_mf(struct stor *st, const char *repo, const struct mf *m,
		  struct digest *out, struct err *e)
{
	struct digest refs[2];
	struct stor_manifest_put p = {
		.repo = repo,
		.tag = m->tag,
		.digest = out,
		.media_type = "application/vnd.oci.image.manifest.v1+json",
		.body = m->body,
		.len = strlen(m->body),
		.subject = m->subject,
		.artifact_type = m->artifact_type,
		.annotations_json = m->annotations,
		.refs = refs,
		.nrefs = 2,
		.enqueue_scan = m->scan,
	};

	*out = dg_of(m->body);
	refs[0] = dg_of("config");
	refs[1] = dg_of("layer");
	return stor_manifest_put(st, &p, e);
}

static void expect_tags(struct stor *st, const char *repo, const char *last,
			long n, const char *want, bool want_more)
{
	char **v = NULL, joined[256] = "";
	size_t count = 0, off = 0;
	bool more = !want_more;
	struct err e = ERR_INIT;

	assert_int_equal(
		stor_tags_list(st, repo, last, n, &v, &count, &more, &e), 0);
	for (size_t i = 0; i < count; i++)
		off += (size_t)snprintf(joined + off, sizeof(joined) - off,
					"%s%s", i ? "," : "", v[i]);
	assert_string_equal(joined, want);
	assert_int_equal(more, want_more);
	stor_strv_free(v, count);
}

static void expect_catalog(struct stor *st, const char *last, long n,
			   const char *want, bool want_more)
{
	char **v = NULL, joined[256] = "";
	size_t count = 0, off = 0;
	bool more = !want_more;
	struct err e = ERR_INIT;

	assert_int_equal(stor_catalog(st, last, n, &v, &count, &more, &e), 0);
	for (size_t i = 0; i < count; i++)
		off += (size_t)snprintf(joined + off, sizeof(joined) - off,
					"%s%s", i ? "," : "", v[i]);
	assert_string_equal(joined, want);
	assert_int_equal(more, want_more);
	stor_strv_free(v, count);
}

/* --- Uploads and blobs ---------------------------------------------------- */

static void test_upload_roundtrip(void **state)
{
	struct fx *fx = *state;
	struct stor *st = fx->st;
	struct digest d = dg_of("hello, world");
	char id[STOR_UPLOAD_ID_MAX], *back;
	struct stor_upload *u;
	struct err e = ERR_INIT;
	int64_t size = 0;

	assert_int_equal(stor_upload_start(st, REPO, id, &e), 0);
	assert_int_equal(strlen(id), 36);
	assert_int_equal(id[14], '4');
	assert_true(stor_upload_id_valid(id));
	assert_int_equal(stor_upload_take(st, REPO, id, &u, &e), 0);
	assert_string_equal(stor_upload_id(u), id);
	assert_int_equal(stor_upload_offset(u), 0);
	assert_int_equal(stor_upload_write(u, "hello", 5, &e), 0);
	assert_int_equal(stor_upload_offset(u), 5);
	stor_upload_release(u);
	assert_int_equal(tmpstore_int(fx->dir, "SELECT received FROM uploads"),
			 5);

	assert_int_equal(stor_upload_take(st, REPO, id, &u, &e), 0);
	assert_int_equal(stor_upload_offset(u), 5);
	assert_int_equal(stor_upload_write(u, ", world", 7, &e), 0);
	assert_int_equal(stor_upload_finish(u, &d, &e), 0);

	assert_true(blob_file_exists(fx, &d));
	assert_int_equal(uploads_count(fx), 0);
	assert_int_equal(tmpstore_int(fx->dir, "SELECT count(*) FROM uploads"),
			 0);
	assert_int_equal(stor_blob_stat(st, REPO, &d, &size, &e), 0);
	assert_int_equal(size, 12);
	assert_int_equal(stor_blob_stat(st, NULL, &d, &size, &e), 0);
	assert_int_equal(stor_blob_stat(st, "other", &d, &size, &e), -1);
	assert_int_equal(e.code, ERR_BLOB_UNKNOWN);
	back = read_blob(st, REPO, &d);
	assert_string_equal(back, "hello, world");
	free(back);

	/* The upload is gone once finished. */
	err_clear(&e);
	assert_int_equal(stor_upload_take(st, REPO, id, &u, &e), -1);
	assert_int_equal(e.code, ERR_BLOB_UPLOAD_UNKNOWN);
}

/* A status read takes nothing: the writer that comes during it is not
 * turned away, and while the writer holds the session the read says busy. */
static void test_upload_status(void **state)
{
	struct fx *fx = *state;
	struct stor *st = fx->st;
	char id[STOR_UPLOAD_ID_MAX];
	struct stor_upload *u;
	struct err e = ERR_INIT;
	int64_t off = -1;

	assert_int_equal(stor_upload_start(st, REPO, id, &e), 0);
	assert_int_equal(stor_upload_status(st, REPO, id, &off, &e), 0);
	assert_int_equal(off, 0);
	assert_int_equal(stor_upload_take(st, REPO, id, &u, &e), 0);
	assert_int_equal(stor_upload_write(u, "hello", 5, &e), 0);
	assert_int_equal(stor_upload_status(st, REPO, id, &off, &e), -1);
	assert_int_equal(e.code, ERR_BUSY);
	stor_upload_release(u);
	err_clear(&e);
	assert_int_equal(stor_upload_status(st, REPO, id, &off, &e), 0);
	assert_int_equal(off, 5);
	/* Under another repository, or unknown: no such session. */
	assert_int_equal(stor_upload_status(st, "other", id, &off, &e), -1);
	assert_int_equal(e.code, ERR_BLOB_UPLOAD_UNKNOWN);
	err_clear(&e);
	assert_int_equal(stor_upload_status(st, REPO, "nope", &off, &e), -1);
	assert_int_equal(e.code, ERR_BLOB_UPLOAD_UNKNOWN);
	err_clear(&e);
	assert_int_equal(stor_upload_cancel(st, REPO, id, &e), 0);
	assert_int_equal(stor_upload_status(st, REPO, id, &off, &e), -1);
	assert_int_equal(e.code, ERR_BLOB_UPLOAD_UNKNOWN);
}

/* Bytes of disk a file under DIR holds. */
static long long file_blocks(struct fx *fx, const char *rel)
{
	char path[600];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", fx->dir, rel);
	assert_int_equal(stat(path, &sb), 0);
	return (long long)sb.st_blocks * 512;
}

/* A big upload gets its blocks ahead of its data; an idle upload and the
 * blob hold no more than their bytes (up to a block). */
static void test_upload_blocks_trimmed(void **state)
{
	struct fx *fx = *state;
	struct stor *st = fx->st;
	size_t piece = 512 * 1024, size = 5 * piece + 1000, off;
	char id[STOR_UPLOAD_ID_MAX], rel[300];
	unsigned char *data = malloc(size);
	struct stor_upload *u;
	struct err e = ERR_INIT;
	struct digest d;
	struct hasher *h;

	assert_non_null(data);
	for (off = 0; off < size; off++)
		data[off] = (unsigned char)(off * 7 + off / 4096);
	h = hasher_new(DIGEST_SHA256);
	hasher_update(h, data, size);
	hasher_final(h, &d);
	hasher_free(h);
	assert_int_equal(stor_upload_start(st, REPO, id, &e), 0);
	snprintf(rel, sizeof(rel), "uploads/%s", id);
	assert_int_equal(stor_upload_take(st, REPO, id, &u, &e), 0);
	for (off = 0; off < 3 * piece; off += piece)
		assert_int_equal(stor_upload_write(u, data + off, piece, &e),
				 0);
	stor_upload_release(u);
	assert_true(file_blocks(fx, rel) <= (long long)(3 * piece) + 65536);

	assert_int_equal(stor_upload_take(st, REPO, id, &u, &e), 0);
	assert_int_equal(stor_upload_offset(u), 3 * piece);
	assert_int_equal(stor_upload_write(u, data + off, size - off, &e), 0);
	assert_int_equal(stor_upload_finish(u, &d, &e), 0);
	snprintf(rel, sizeof(rel), "blobs/sha256/%.2s/%s", d.hex, d.hex);
	assert_true(file_blocks(fx, rel) <= (long long)size + 65536);
	free(data);
}

static void test_empty_blob(void **state)
{
	struct fx *fx = *state;
	struct digest d = dg_of("");
	char id[STOR_UPLOAD_ID_MAX];
	struct stor_upload *u;
	struct err e = ERR_INIT;
	int64_t size = -1;

	assert_int_equal(stor_upload_start(fx->st, REPO, id, &e), 0);
	assert_int_equal(stor_upload_take(fx->st, REPO, id, &u, &e), 0);
	assert_int_equal(stor_upload_finish(u, &d, &e), 0);
	assert_int_equal(stor_blob_stat(fx->st, REPO, &d, &size, &e), 0);
	assert_int_equal(size, 0);
}

static void test_digest_mismatch(void **state)
{
	struct fx *fx = *state;
	struct stor *st = fx->st;
	struct digest want = dg_of("expected"), got = dg_of("actual");
	char id[STOR_UPLOAD_ID_MAX];
	struct stor_upload *u;
	struct err e = ERR_INIT;
	int64_t size;

	assert_int_equal(stor_upload_start(st, REPO, id, &e), 0);
	assert_int_equal(stor_upload_take(st, REPO, id, &u, &e), 0);
	assert_int_equal(stor_upload_write(u, "actual", 6, &e), 0);
	assert_int_equal(stor_upload_finish(u, &want, &e), -1);
	assert_int_equal(e.code, ERR_DIGEST_INVALID);
	assert_non_null(strstr(e.msg, want.hex));
	assert_non_null(strstr(e.msg, got.hex));

	assert_false(blob_file_exists(fx, &want));
	assert_false(blob_file_exists(fx, &got));
	assert_int_equal(uploads_count(fx), 0);
	assert_int_equal(tmpstore_int(fx->dir, "SELECT count(*) FROM uploads"),
			 0);
	assert_int_equal(
		tmpstore_int(fx->dir, "SELECT count(*) FROM repo_blobs"), 0);
	err_clear(&e);
	assert_int_equal(stor_blob_stat(st, NULL, &got, &size, &e), -1);
	assert_int_equal(e.code, ERR_BLOB_UNKNOWN);
	err_clear(&e);
	assert_int_equal(stor_upload_take(st, REPO, id, &u, &e), -1);
	assert_int_equal(e.code, ERR_BLOB_UPLOAD_UNKNOWN);
}

static void test_resume_after_restart(void **state)
{
	struct fx *fx = *state;
	struct digest d = dg_of("first part|second part|third");
	char id[STOR_UPLOAD_ID_MAX], *back;
	struct stor_upload *u;
	struct err e = ERR_INIT;

	assert_int_equal(stor_upload_start(fx->st, REPO, id, &e), 0);
	assert_int_equal(stor_upload_take(fx->st, REPO, id, &u, &e), 0);
	assert_int_equal(stor_upload_write(u, "first part|", 11, &e), 0);
	stor_upload_release(u);
	fx_reopen(fx);

	assert_int_equal(stor_upload_take(fx->st, REPO, id, &u, &e), 0);
	assert_int_equal(stor_upload_offset(u), 11);
	assert_int_equal(stor_upload_write(u, "second part|", 12, &e), 0);
	/* A crash while held: the handle dies with the store. */
	fx_reopen(fx);

	assert_int_equal(stor_upload_take(fx->st, REPO, id, &u, &e), 0);
	assert_int_equal(stor_upload_offset(u), 23);
	assert_int_equal(stor_upload_write(u, "third", 5, &e), 0);
	assert_int_equal(stor_upload_finish(u, &d, &e), 0);
	back = read_blob(fx->st, REPO, &d);
	assert_string_equal(back, "first part|second part|third");
	free(back);
}

/* hasher_save()/hasher_load(): a state resumed elsewhere ends in the same
 * digest, at every offset within a block; garbage is refused. */
static void test_hasher_state(void **state)
{
	static const size_t lens[] = {0,   1,	55,  63,  64,  65,
				      111, 127, 128, 129, 1000};
	unsigned char data[2048], st[HASHER_STATE_MAX], bad[HASHER_STATE_MAX];
	enum digest_alg algs[] = {DIGEST_SHA256, DIGEST_SHA512};

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 131 + 7);
	for (size_t a = 0; a < 2; a++) {
		for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
			struct hasher *h = hasher_new(algs[a]), *r;
			struct digest want, got;
			size_t n;

			hasher_update(h, data, lens[k]);
			n = hasher_save(h, st, sizeof(st));
			assert_true(n > 0);
			assert_int_equal(hasher_save(h, st, n - 1), 0);
			hasher_free(h);
			r = hasher_load(algs[a], st, n);
			assert_non_null(r);
			hasher_update(r, data + lens[k], 777);
			hasher_final(r, &got);
			hasher_free(r);
			digest_of(algs[a], data, lens[k] + 777, &want);
			assert_true(digest_eq(&got, &want));
			/* The other algorithm, a short or long buffer, a
			 * bad tag or block fill: refused. */
			assert_null(hasher_load(algs[!a], st, n));
			assert_null(hasher_load(algs[a], st, n - 1));
			memcpy(bad, st, n);
			bad[n] = 0;
			assert_null(hasher_load(algs[a], bad, n + 1));
			bad[0] ^= 1;
			assert_null(hasher_load(algs[a], bad, n));
			memcpy(bad, st, n);
			memset(bad + n - sizeof(unsigned int), 0xff,
			       sizeof(unsigned int));
			assert_null(hasher_load(algs[a], bad, n));
		}
	}
}

static void fx_reopen_keeping(struct fx *fx)
{
	struct err e = ERR_INIT;

	fx_reopen(fx);
	assert_int_equal(stor_upload_states_keep(fx->st, &e), 0);
}

/* Overwrites an upload's data behind the store's back, keeping its size:
 * a finish that reads the data again sees it, one that uses the running
 * hash does not. */
static void swap_upload_data(struct fx *fx, const char *id, const char *data)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/uploads/%s", fx->dir, id);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

static bool state_file_exists(struct fx *fx, const char *id)
{
	char path[512];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/uploadstate/%s", fx->dir, id);
	return stat(path, &sb) == 0;
}

/* In the owner's process, a clean restart keeps an upload's running hash:
 * taking it again reads nothing, and neither does a sha256 finish. */
static void test_state_kept_across_restart(void **state)
{
	struct fx *fx = *state;
	struct digest d = dg_of("first part|second part");
	char id[STOR_UPLOAD_ID_MAX];
	struct stor_upload *u;
	struct err e = ERR_INIT;

	assert_int_equal(stor_upload_states_keep(fx->st, &e), 0);
	assert_int_equal(stor_upload_start(fx->st, REPO, id, &e), 0);
	assert_int_equal(stor_upload_take(fx->st, REPO, id, &u, &e), 0);
	assert_true(stor_upload_hash_known(u, DIGEST_SHA256));
	assert_false(stor_upload_hash_known(u, DIGEST_SHA512));
	assert_int_equal(stor_upload_write(u, "first part|", 11, &e), 0);
	stor_upload_release(u);
	fx_reopen_keeping(fx);
	assert_true(state_file_exists(fx, id));

	swap_upload_data(fx, id, "FIRST PART|");
	assert_int_equal(stor_upload_take(fx->st, REPO, id, &u, &e), 0);
	assert_int_equal(stor_upload_offset(u), 11);
	assert_true(stor_upload_hash_known(u, DIGEST_SHA256));
	assert_int_equal(stor_upload_write(u, "second part", 11, &e), 0);
	/* The digest of what was written, not of what is on disk now. */
	assert_int_equal(stor_upload_finish(u, &d, &e), 0);
	assert_false(state_file_exists(fx, id));
}

/* After a crash (no clean close) saved states are not trusted: the hash
 * is unknown, taking still reads nothing, and the finish hashes the data
 * as it is on disk. */
static void test_state_dropped_after_crash(void **state)
{
	struct fx *fx = *state;
	struct digest d = dg_of("FIRST PART|second part");
	char id[STOR_UPLOAD_ID_MAX], path[512];
	struct stor_upload *u;
	struct err e = ERR_INIT;

	assert_int_equal(stor_upload_states_keep(fx->st, &e), 0);
	assert_int_equal(stor_upload_start(fx->st, REPO, id, &e), 0);
	assert_int_equal(stor_upload_take(fx->st, REPO, id, &u, &e), 0);
	assert_int_equal(stor_upload_write(u, "first part|", 11, &e), 0);
	stor_upload_release(u);
	stor_free(fx->st);
	/* What a crash leaves: states, but no mark of a clean close. */
	snprintf(path, sizeof(path), "%s/uploadstate/clean", fx->dir);
	assert_int_equal(unlink(path), 0);
	fx->st = stor_open(fx->dir, &e);
	assert_non_null(fx->st);
	assert_int_equal(stor_upload_states_keep(fx->st, &e), 0);
	assert_false(state_file_exists(fx, id));

	swap_upload_data(fx, id, "FIRST PART|");
	assert_int_equal(stor_upload_take(fx->st, REPO, id, &u, &e), 0);
	assert_int_equal(stor_upload_offset(u), 11);
	assert_false(stor_upload_hash_known(u, DIGEST_SHA256));
	assert_int_equal(stor_upload_write(u, "second part", 11, &e), 0);
	assert_int_equal(stor_upload_finish(u, &d, &e), 0);
}

/* An evicted handle's hash is saved, and taken up again. */
static void test_state_kept_across_eviction(void **state)
{
	struct fx *fx = *state;
	enum { N = STOR_IDLE_MAX + 2 };
	char(*ids)[STOR_UPLOAD_ID_MAX] = calloc(N, sizeof(*ids));
	struct digest d = dg_of("0123456789");
	struct stor_upload *u;
	struct err e = ERR_INIT;

	assert_int_equal(stor_upload_states_keep(fx->st, &e), 0);
	for (int i = 0; i < N; i++) {
		assert_int_equal(stor_upload_start(fx->st, REPO, ids[i], &e),
				 0);
		assert_int_equal(stor_upload_take(fx->st, REPO, ids[i], &u, &e),
				 0);
		assert_int_equal(stor_upload_write(u, "01234", 5, &e), 0);
		stor_upload_release(u);
	}
	assert_true(state_file_exists(fx, ids[0]));
	swap_upload_data(fx, ids[0], "abcde");
	assert_int_equal(stor_upload_take(fx->st, REPO, ids[0], &u, &e), 0);
	assert_true(stor_upload_hash_known(u, DIGEST_SHA256));
	assert_int_equal(stor_upload_write(u, "56789", 5, &e), 0);
	assert_int_equal(stor_upload_finish(u, &d, &e), 0);
	free(ids);
}

static void test_idle_handles_evicted(void **state)
{
	struct fx *fx = *state;
	enum { N = STOR_IDLE_MAX + 20 };
	char(*ids)[STOR_UPLOAD_ID_MAX] = calloc(N, sizeof(*ids));
	struct digest d = dg_of("0123456789"), d0 = dg_of("abcde56789");
	struct stor_upload *u;
	struct err e = ERR_INIT;
	char path[512];
	FILE *f;

	for (int i = 0; i < N; i++) {
		assert_int_equal(stor_upload_start(fx->st, REPO, ids[i], &e),
				 0);
		assert_int_equal(stor_upload_take(fx->st, REPO, ids[i], &u, &e),
				 0);
		assert_int_equal(stor_upload_write(u, "01234", 5, &e), 0);
		stor_upload_release(u);
	}
	/* The first ones were dropped from the table, so their hash is
	 * rebuilt from the data (here changed behind the store's back);
	 * the last ones continue their cached hash. */
	snprintf(path, sizeof(path), "%s/uploads/%s", fx->dir, ids[0]);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("abcde", f);
	fclose(f);
	for (int i = 0; i < N; i += N - 1) {
		assert_int_equal(stor_upload_take(fx->st, REPO, ids[i], &u, &e),
				 0);
		assert_int_equal(stor_upload_offset(u), 5);
		assert_int_equal(stor_upload_write(u, "56789", 5, &e), 0);
		assert_int_equal(stor_upload_finish(u, i ? &d : &d0, &e), 0);
	}
	assert_int_equal(uploads_count(fx), N - 2);
	free(ids);
}

static void test_busy_and_cancel(void **state)
{
	struct fx *fx = *state;
	struct stor *st = fx->st;
	char id[STOR_UPLOAD_ID_MAX];
	struct stor_upload *u, *u2;
	struct err e = ERR_INIT;

	assert_int_equal(stor_upload_start(st, REPO, id, &e), 0);
	assert_int_equal(stor_upload_take(st, REPO, id, &u, &e), 0);
	assert_int_equal(stor_upload_take(st, REPO, id, &u2, &e), -1);
	assert_int_equal(e.code, ERR_BUSY);
	err_clear(&e);
	assert_int_equal(stor_upload_cancel(st, REPO, id, &e), -1);
	assert_int_equal(e.code, ERR_BUSY);
	err_clear(&e);
	/* Another repository does not see it at all. */
	assert_int_equal(stor_upload_take(st, "other", id, &u2, &e), -1);
	assert_int_equal(e.code, ERR_BLOB_UPLOAD_UNKNOWN);
	err_clear(&e);
	assert_int_equal(stor_upload_write(u, "data", 4, &e), 0);
	stor_upload_release(u);

	assert_int_equal(stor_upload_cancel(st, "other", id, &e), -1);
	assert_int_equal(e.code, ERR_BLOB_UPLOAD_UNKNOWN);
	err_clear(&e);
	assert_int_equal(uploads_count(fx), 1);
	assert_int_equal(stor_upload_cancel(st, REPO, id, &e), 0);
	assert_int_equal(uploads_count(fx), 0);
	assert_int_equal(tmpstore_int(fx->dir, "SELECT count(*) FROM uploads"),
			 0);
	assert_int_equal(stor_upload_take(st, REPO, id, &u, &e), -1);
	assert_int_equal(e.code, ERR_BLOB_UPLOAD_UNKNOWN);
	err_clear(&e);
	assert_int_equal(stor_upload_cancel(st, REPO, id, &e), -1);
	assert_int_equal(e.code, ERR_BLOB_UPLOAD_UNKNOWN);
}

static void test_upload_id_validated(void **state)
{
	struct fx *fx = *state;
	static const char *const bad[] = {
		"../../meta.db",
		"",
		"0123",
		"0123456789ABCDEF0123456789abcdef0123",
		"0123456789abcdef0123456789abcdef01234",
		"tmp-0123456789abcdef0123456789abcdef",
	};
	struct stor_upload *u;
	struct err e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		assert_false(stor_upload_id_valid(bad[i]));
		assert_int_equal(stor_upload_take(fx->st, REPO, bad[i], &u, &e),
				 -1);
		assert_int_equal(e.code, ERR_BLOB_UPLOAD_UNKNOWN);
		err_clear(&e);
		assert_int_equal(stor_upload_cancel(fx->st, REPO, bad[i], &e),
				 -1);
		assert_int_equal(e.code, ERR_BLOB_UPLOAD_UNKNOWN);
	}
}

static void test_sha512_upload(void **state)
{
	struct fx *fx = *state;
	struct stor *st = fx->st;
	const char *data = "sha512 content";
	char id[STOR_UPLOAD_ID_MAX];
	struct digest d, wrong;
	struct stor_upload *u;
	struct err e = ERR_INIT;
	int64_t size;

	digest_of(DIGEST_SHA512, data, strlen(data), &d);
	assert_int_equal(stor_upload_start(st, REPO, id, &e), 0);
	assert_int_equal(stor_upload_take(st, REPO, id, &u, &e), 0);
	assert_int_equal(stor_upload_write(u, data, 6, &e), 0);
	stor_upload_release(u);
	assert_int_equal(stor_upload_take(st, REPO, id, &u, &e), 0);
	assert_int_equal(stor_upload_write(u, data + 6, strlen(data) - 6, &e),
			 0);
	assert_int_equal(stor_upload_finish(u, &d, &e), 0);
	assert_true(blob_file_exists(fx, &d));
	assert_int_equal(stor_blob_stat(st, REPO, &d, &size, &e), 0);
	assert_int_equal(size, (int64_t)strlen(data));

	digest_of(DIGEST_SHA512, "other", 5, &wrong);
	assert_int_equal(stor_upload_start(st, REPO, id, &e), 0);
	assert_int_equal(stor_upload_take(st, REPO, id, &u, &e), 0);
	assert_int_equal(stor_upload_write(u, data, strlen(data), &e), 0);
	assert_int_equal(stor_upload_finish(u, &wrong, &e), -1);
	assert_int_equal(e.code, ERR_DIGEST_INVALID);
	assert_non_null(strstr(e.msg, d.hex));
	assert_false(blob_file_exists(fx, &wrong));
}

#define NFINISH 8

struct finisher {
	struct stor *st;
	pthread_barrier_t *barrier;
	char repo[32];
	int ret;
	struct err e;
};

static const char same_blob[] = "the same layer, pushed by everyone";

static void *finisher_run(void *arg)
{
	struct finisher *f = arg;
	struct digest d = dg_of(same_blob);
	char id[STOR_UPLOAD_ID_MAX];
	struct stor_upload *u = NULL;

	f->ret = stor_upload_start(f->st, f->repo, id, &f->e);
	if (f->ret == 0)
		f->ret = stor_upload_take(f->st, f->repo, id, &u, &f->e);
	if (f->ret == 0)
		f->ret = stor_upload_write(u, same_blob, strlen(same_blob),
					   &f->e);
	pthread_barrier_wait(f->barrier);
	if (f->ret == 0)
		f->ret = stor_upload_finish(u, &d, &f->e);
	else if (u)
		stor_upload_release(u);
	return NULL;
}

static void test_concurrent_finish(void **state)
{
	struct fx *fx = *state;
	struct finisher f[NFINISH];
	pthread_t th[NFINISH];
	pthread_barrier_t barrier;
	struct digest d = dg_of(same_blob);
	int64_t size;
	struct err e = ERR_INIT;
	char *back;

	pthread_barrier_init(&barrier, NULL, NFINISH);
	for (int i = 0; i < NFINISH; i++) {
		memset(&f[i], 0, sizeof(f[i]));
		f[i].st = fx->st;
		f[i].barrier = &barrier;
		snprintf(f[i].repo, sizeof(f[i].repo), "repo%d", i % 3);
		assert_int_equal(
			pthread_create(&th[i], NULL, finisher_run, &f[i]), 0);
	}
	for (int i = 0; i < NFINISH; i++) {
		pthread_join(th[i], NULL);
		if (f[i].ret)
			fprintf(stderr, "finisher %d: %s\n", i, f[i].e.msg);
		assert_int_equal(f[i].ret, 0);
	}
	pthread_barrier_destroy(&barrier);

	assert_int_equal(uploads_count(fx), 0);
	for (int i = 0; i < 3; i++) {
		char repo[16];

		snprintf(repo, sizeof(repo), "repo%d", i);
		assert_int_equal(stor_blob_stat(fx->st, repo, &d, &size, &e),
				 0);
		assert_int_equal(size, (int64_t)strlen(same_blob));
	}
	back = read_blob(fx->st, "repo0", &d);
	assert_string_equal(back, same_blob);
	free(back);
}

static void test_blob_link_unlink(void **state)
{
	struct fx *fx = *state;
	struct stor *st = fx->st;
	struct digest d, unknown = dg_of("never pushed");
	struct err e = ERR_INIT;
	int64_t size;
	int fd;

	d = tmpstore_push(st, "a", "shared layer");
	assert_int_equal(stor_blob_stat(st, "b", &d, &size, &e), -1);
	assert_int_equal(e.code, ERR_BLOB_UNKNOWN);
	err_clear(&e);
	assert_int_equal(stor_blob_open(st, "b", &d, &fd, &size, &e), -1);
	assert_int_equal(e.code, ERR_BLOB_UNKNOWN);
	err_clear(&e);

	assert_int_equal(stor_blob_link(st, "b", &d, &e), 0);
	assert_int_equal(stor_blob_link(st, "b", &d, &e), 0);
	assert_int_equal(stor_blob_stat(st, "b", &d, &size, &e), 0);
	assert_int_equal(stor_blob_link(st, "b", &unknown, &e), -1);
	assert_int_equal(e.code, ERR_BLOB_UNKNOWN);
	err_clear(&e);

	assert_int_equal(stor_blob_unlink(st, "a", &d, &e), 0);
	assert_int_equal(stor_blob_stat(st, "a", &d, &size, &e), -1);
	assert_int_equal(e.code, ERR_BLOB_UNKNOWN);
	err_clear(&e);
	assert_int_equal(stor_blob_unlink(st, "a", &d, &e), -1);
	assert_int_equal(e.code, ERR_BLOB_UNKNOWN);
	err_clear(&e);
	/* Still in b, and the file stays for gc to judge. */
	assert_int_equal(stor_blob_stat(st, "b", &d, &size, &e), 0);
	assert_true(blob_file_exists(fx, &d));
}

/* The counts /metrics shows: a blob in two repositories counts once, its
 * bytes too; an open upload counts. */
static void test_meta_stats(void **state)
{
	struct fx *fx = *state;
	struct stor *st = fx->st;
	struct mf m = {.tag = "v1", .body = "{\"stats\":1}"};
	struct stor_meta_stats ms;
	char id[STOR_UPLOAD_ID_MAX];
	struct digest d;
	struct err e = ERR_INIT;

	assert_int_equal(stor_meta_stats(st, true, &ms, &e), 0);
	assert_int_equal(ms.repos, 0);
	assert_int_equal(ms.manifests, 0);
	assert_int_equal(ms.uploads, 0);
	assert_int_equal(ms.blobs, 0);
	assert_int_equal(ms.blob_bytes, 0);

	d = tmpstore_push(st, "a", "shared layer");
	d = tmpstore_push(st, "b", "shared layer");
	d = tmpstore_push(st, "a", "another");
	assert_int_equal(stor_upload_start(st, "c", id, &e), 0);
	assert_int_equal(put_mf(st, "a", &m, &d, &e), 0);

	assert_int_equal(stor_meta_stats(st, true, &ms, &e), 0);
	assert_int_equal(ms.repos, 3);
	assert_int_equal(ms.manifests, 1);
	assert_int_equal(ms.uploads, 1);
	assert_int_equal(ms.blobs, 2);
	assert_int_equal(ms.blob_bytes,
			 strlen("shared layer") + strlen("another"));
	/* Without blobs, they are not counted. */
	assert_int_equal(stor_meta_stats(st, false, &ms, &e), 0);
	assert_int_equal(ms.manifests, 1);
	assert_int_equal(ms.blobs, -1);
	assert_int_equal(ms.blob_bytes, -1);
}

/* --- Manifests and tags ------------------------------------------------- */

static void test_manifest_put_get(void **state)
{
	struct fx *fx = *state;
	struct stor *st = fx->st;
	struct mf m = {.tag = "v1", .body = "{\"schemaVersion\":2}"};
	struct stor_manifest *got = NULL;
	struct digest d, bad;
	struct err e = ERR_INIT;

	assert_int_equal(put_mf(st, REPO, &m, &d, &e), 0);
	assert_true(blob_file_exists(fx, &d));

	assert_int_equal(stor_manifest_get(st, REPO, "v1", NULL, &got, &e), 0);
	assert_true(digest_eq(&got->digest, &d));
	assert_string_equal(got->media_type,
			    "application/vnd.oci.image.manifest.v1+json");
	assert_int_equal(got->len, strlen(m.body));
	assert_memory_equal(got->body, m.body, got->len);
	stor_manifest_free(got);

	assert_int_equal(stor_manifest_get(st, REPO, NULL, &d, &got, &e), 0);
	assert_memory_equal(got->body, m.body, got->len);
	stor_manifest_free(got);

	assert_true(stor_manifest_exists(st, REPO, &d));
	assert_false(stor_manifest_exists(st, "other", &d));
	assert_int_equal(stor_manifest_get(st, REPO, "v2", NULL, &got, &e), -1);
	assert_int_equal(e.code, ERR_MANIFEST_UNKNOWN);
	err_clear(&e);
	assert_int_equal(stor_manifest_get(st, "other", NULL, &d, &got, &e),
			 -1);
	assert_int_equal(e.code, ERR_MANIFEST_UNKNOWN);
	err_clear(&e);
	assert_int_equal(
		tmpstore_int(fx->dir, "SELECT count(*) FROM manifest_refs"), 2);

	/* A body that does not match its digest is refused. */
	bad = dg_of("something else");
	{
		struct stor_manifest_put p = {.repo = REPO,
					      .digest = &bad,
					      .media_type = "x",
					      .body = "{}",
					      .len = 2};

		assert_int_equal(stor_manifest_put(st, &p, &e), -1);
		assert_int_equal(e.code, ERR_DIGEST_INVALID);
		assert_false(blob_file_exists(fx, &bad));
	}
}

static void test_tag_overwrite(void **state)
{
	struct fx *fx = *state;
	struct stor *st = fx->st;
	struct mf m1 = {.tag = "latest", .body = "{\"v\":1}"};
	struct mf m2 = {.tag = "latest", .body = "{\"v\":2}"};
	struct stor_manifest *got;
	struct digest d1, d2;
	struct err e = ERR_INIT;

	assert_int_equal(put_mf(st, REPO, &m1, &d1, &e), 0);
	assert_int_equal(put_mf(st, REPO, &m2, &d2, &e), 0);
	assert_int_equal(stor_manifest_get(st, REPO, "latest", NULL, &got, &e),
			 0);
	assert_true(digest_eq(&got->digest, &d2));
	stor_manifest_free(got);
	assert_true(stor_manifest_exists(st, REPO, &d1));
	expect_tags(st, REPO, NULL, -1, "latest", false);

	/* Pushing the same manifest again (by digest) keeps its tag. */
	m2.tag = NULL;
	assert_int_equal(put_mf(st, REPO, &m2, &d2, &e), 0);
	expect_tags(st, REPO, NULL, -1, "latest", false);
}

static void test_manifest_delete(void **state)
{
	struct fx *fx = *state;
	struct stor *st = fx->st;
	struct mf a = {.tag = "a", .body = "{\"m\":1}"};
	struct mf b = {.tag = "b", .body = "{\"m\":1}"};
	struct mf c = {.tag = "c", .body = "{\"m\":2}"};
	struct stor_manifest *got;
	struct digest d1, d2;
	struct err e = ERR_INIT;

	assert_int_equal(put_mf(st, REPO, &a, &d1, &e), 0);
	assert_int_equal(put_mf(st, REPO, &b, &d1, &e), 0);
	assert_int_equal(put_mf(st, REPO, &c, &d2, &e), 0);
	assert_int_equal(put_mf(st, "other", &a, &d1, &e), 0);
	expect_tags(st, REPO, NULL, -1, "a,b,c", false);

	assert_int_equal(stor_manifest_delete(st, REPO, &d1, &e), 0);
	expect_tags(st, REPO, NULL, -1, "c", false);
	assert_int_equal(stor_manifest_get(st, REPO, "a", NULL, &got, &e), -1);
	assert_int_equal(e.code, ERR_MANIFEST_UNKNOWN);
	err_clear(&e);
	assert_false(stor_manifest_exists(st, REPO, &d1));
	assert_int_equal(stor_manifest_delete(st, REPO, &d1, &e), -1);
	assert_int_equal(e.code, ERR_MANIFEST_UNKNOWN);
	err_clear(&e);
	/* Other repositories keep theirs. */
	assert_true(stor_manifest_exists(st, "other", &d1));
	expect_tags(st, "other", NULL, -1, "a", false);
	assert_int_equal(tmpstore_int(fx->dir,
				      "SELECT count(*) FROM manifest_refs"
				      " WHERE repo = 'library/app'"),
			 2);
}

static void test_tag_delete(void **state)
{
	struct fx *fx = *state;
	struct stor *st = fx->st;
	struct mf m = {.tag = "v1", .body = "{}"};
	struct digest d;
	struct err e = ERR_INIT;

	assert_int_equal(put_mf(st, REPO, &m, &d, &e), 0);
	assert_int_equal(stor_tag_delete(st, REPO, "v1", &e), 0);
	assert_true(stor_manifest_exists(st, REPO, &d));
	expect_tags(st, REPO, NULL, -1, "", false);
	assert_int_equal(stor_tag_delete(st, REPO, "v1", &e), -1);
	assert_int_equal(e.code, ERR_MANIFEST_UNKNOWN);
}

static void test_tags_paging(void **state)
{
	struct fx *fx = *state;
	struct stor *st = fx->st;
	static const char *const tags[] = {"e", "a", "d", "B", "c", "b"};
	struct digest d;
	struct err e = ERR_INIT;

	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		struct mf m = {.tag = tags[i], .body = "{}"};

		assert_int_equal(put_mf(st, REPO, &m, &d, &e), 0);
	}
	expect_tags(st, REPO, NULL, -1, "B,a,b,c,d,e", false);
	expect_tags(st, REPO, NULL, 2, "B,a", true);
	expect_tags(st, REPO, "a", 2, "b,c", true);
	expect_tags(st, REPO, "c", 2, "d,e", false);
	expect_tags(st, REPO, "c", 3, "d,e", false);
	expect_tags(st, REPO, "e", 2, "", false);
	expect_tags(st, REPO, "bb", -1, "c,d,e", false);
	expect_tags(st, REPO, NULL, 0, "", true);
	expect_tags(st, REPO, "e", 0, "", false);
	expect_tags(st, REPO, NULL, 6, "B,a,b,c,d,e", false);
}

/* Every tag with when it was set and when its manifest came in, in the
 * order they were set (the same second: by name). */
static void test_tag_times(void **state)
{
	struct fx *fx = *state;
	struct stor *st = fx->st;
	struct mf m1 = {.tag = "b", .body = "{\"t\":1}"};
	struct mf m2 = {.tag = "a", .body = "{\"t\":2}"};
	struct stor_tag_time *v = NULL;
	struct digest d1, d2;
	struct err e = ERR_INIT;
	int64_t before = (int64_t)time(NULL);
	size_t n = 0;

	assert_int_equal(put_mf(st, REPO, &m1, &d1, &e), 0);
	assert_int_equal(put_mf(st, REPO, &m2, &d2, &e), 0);
	m1.tag = "c"; /* the same manifest once more */
	assert_int_equal(put_mf(st, REPO, &m1, &d1, &e), 0);
	assert_int_equal(stor_tag_times(st, REPO, &v, &n, &e), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		const struct digest *want = !strcmp(v[i].tag, "a") ? &d2 : &d1;

		assert_true(digest_eq(&v[i].digest, want));
		assert_true(v[i].created >= before);
		assert_true(v[i].tagged >= v[i].created);
		assert_true(v[i].tagged <= (int64_t)time(NULL));
		if (i)
			assert_true(v[i].tagged > v[i - 1].tagged ||
				    (v[i].tagged == v[i - 1].tagged &&
				     strcmp(v[i].tag, v[i - 1].tag) > 0));
	}
	/* b and c share a manifest, so when it came in. */
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < n; k++)
			if (strcmp(v[i].tag, "a") && strcmp(v[k].tag, "a"))
				assert_int_equal(v[i].created, v[k].created);
	stor_tag_times_free(v, n);
	/* An unknown repository has none. */
	assert_int_equal(stor_tag_times(st, "never/seen", &v, &n, &e), 0);
	assert_int_equal(n, 0);
	stor_tag_times_free(v, n);
}

/* A page of tags with their times, in lexical order like the tags
 * list, with the total: walked a page at a time, every tag once. */
static void test_tag_page(void **state)
{
	struct fx *fx = *state;
	struct stor *st = fx->st;
	struct mf m1 = {.tag = "b", .body = "{\"t\":1}"};
	struct mf m2 = {.tag = "a", .body = "{\"t\":2}"};
	struct stor_tag_time *v = NULL;
	struct digest d1, d2;
	struct err e = ERR_INIT;
	size_t n = 0, total = 0;
	bool more = false;

	assert_int_equal(put_mf(st, REPO, &m1, &d1, &e), 0);
	assert_int_equal(put_mf(st, REPO, &m2, &d2, &e), 0);
	m1.tag = "c";
	assert_int_equal(put_mf(st, REPO, &m1, &d1, &e), 0);
	assert_int_equal(
		stor_tag_page(st, REPO, NULL, 2, &v, &n, &more, &total, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(total, 3);
	assert_true(more);
	assert_string_equal(v[0].tag, "a");
	assert_string_equal(v[1].tag, "b");
	assert_true(digest_eq(&v[0].digest, &d2));
	assert_true(digest_eq(&v[1].digest, &d1));
	assert_string_equal(v[0].media_type,
			    "application/vnd.oci.image.manifest.v1+json");
	assert_true(v[0].tagged > 0 && v[0].created > 0);
	stor_tag_times_free(v, n);
	assert_int_equal(
		stor_tag_page(st, REPO, "b", 2, &v, &n, &more, &total, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(total, 3);
	assert_false(more);
	assert_string_equal(v[0].tag, "c");
	assert_true(digest_eq(&v[0].digest, &d1));
	stor_tag_times_free(v, n);
	/* All (n < 0), and none (n 0: more says some follow). */
	assert_int_equal(
		stor_tag_page(st, REPO, NULL, -1, &v, &n, &more, &total, &e),
		0);
	assert_int_equal(n, 3);
	assert_false(more);
	stor_tag_times_free(v, n);
	assert_int_equal(
		stor_tag_page(st, REPO, NULL, 0, &v, &n, &more, &total, &e), 0);
	assert_int_equal(n, 0);
	assert_true(more);
	stor_tag_times_free(v, n);
	/* An unknown repository is one, as for the tags list. */
	assert_int_equal(stor_tag_page(st, "never/seen", NULL, 2, &v, &n, &more,
				       &total, &e),
			 -1);
	assert_int_equal(e.code, ERR_NAME_UNKNOWN);
}

static void test_catalog_paging(void **state)
{
	struct fx *fx = *state;
	struct stor *st = fx->st;
	char id[STOR_UPLOAD_ID_MAX];
	struct digest d, d2;
	struct err e = ERR_INIT;

	expect_catalog(st, NULL, -1, "", false);
	d = tmpstore_push(st, "zeta", "z");
	assert_int_equal(stor_blob_link(st, "alpha/one", &d, &e), 0);
	assert_int_equal(stor_upload_start(st, "Beta", id, &e), 0);
	assert_int_equal(stor_upload_start(st, "omega", id, &e), 0);
	{
		struct mf m = {.tag = "x", .body = "{}"};
		struct mf m2 = {.body = "{\"by\":\"digest\"}"};

		assert_int_equal(put_mf(st, "alpha", &m, &d, &e), 0);
		assert_int_equal(put_mf(st, "Beta", &m, &d, &e), 0);
		assert_int_equal(put_mf(st, "alpha/one", &m2, &d2, &e), 0);
		assert_int_equal(put_mf(st, "zeta", &m2, &d2, &e), 0);
	}
	/* Only repositories with a manifest: not omega (an upload only),
	 * nor one with blob links alone. */
	d = tmpstore_push(st, "blobs/only", "b");
	expect_catalog(st, NULL, -1, "Beta,alpha,alpha/one,zeta", false);
	expect_catalog(st, NULL, 2, "Beta,alpha", true);
	expect_catalog(st, "alpha", 2, "alpha/one,zeta", false);
	expect_catalog(st, "alpha/one", 1, "zeta", false);
	expect_catalog(st, NULL, 0, "", true);
	expect_catalog(st, "zeta", 10, "", false);
	/* A repository whose last manifest is deleted leaves the list. */
	assert_int_equal(stor_manifest_delete(st, "zeta", &d2, &e), 0);
	expect_catalog(st, "alpha/one", 10, "", false);
}

/* A PUT by digest with ?tag=: every tag in the same commit; sparse
 * references are recorded (gc keeps what arrives later) unverified. */
static void test_manifest_tags_sparse(void **state)
{
	struct fx *fx = *state;
	struct stor *st = fx->st;
	const char *tags[] = {"a", "b", "c"};
	struct digest cfg, dg, absent[2];
	struct err e = ERR_INIT;
	const char *body = "{\"sparse\":1}";
	struct stor_manifest_put p;
	struct stor_manifest *m = NULL;

	cfg = tmpstore_push(st, REPO, "config");
	absent[0] = dg_of("never pushed");
	absent[1] = dg_of("nor this");
	dg = dg_of(body);
	memset(&p, 0, sizeof(p));
	p.repo = REPO;
	p.digest = &dg;
	p.media_type = "application/vnd.oci.image.index.v1+json";
	p.body = body;
	p.len = strlen(body);
	p.refs = &cfg;
	p.nrefs = 1;
	p.sparse = absent;
	p.nsparse = 2;
	p.tags = tags;
	p.ntags = 3;
	p.verify_refs = true;
	assert_int_equal(stor_manifest_put(st, &p, &e), 0);
	expect_tags(st, REPO, NULL, -1, "a,b,c", false);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(
			stor_manifest_get(st, REPO, tags[i], NULL, &m, &e), 0);
		assert_true(digest_eq(&m->digest, &dg));
		stor_manifest_free(m);
	}
	assert_int_equal(
		tmpstore_int(fx->dir, "SELECT count(*) FROM manifest_refs"), 3);
	/* An absent ref listed as a real one is still refused. */
	p.nsparse = 0;
	p.refs = absent;
	p.nrefs = 1;
	assert_int_equal(stor_manifest_put(st, &p, &e), -1);
	assert_int_equal(e.code, ERR_MANIFEST_BLOB_UNKNOWN);
}

static void test_name_unknown(void **state)
{
	struct fx *fx = *state;
	char **v = NULL;
	size_t count = 99;
	bool more = true;
	struct err e = ERR_INIT;

	assert_int_equal(stor_tags_list(fx->st, "never/seen", NULL, -1, &v,
					&count, &more, &e),
			 -1);
	assert_int_equal(e.code, ERR_NAME_UNKNOWN);
	tmpstore_push(fx->st, "has/blobs", "only a layer");
	expect_tags(fx->st, "has/blobs", NULL, -1, "", false);
}

static void test_referrers(void **state)
{
	struct fx *fx = *state;
	struct stor *st = fx->st;
	struct mf subj = {.tag = "v1", .body = "{\"subject\":true}"};
	struct digest ds, d1, d2, unknown = dg_of("nothing refers here");
	struct mf r1 = {.body = "{\"r\":1}",
			.subject = &ds,
			.artifact_type = "application/vnd.example.sig",
			.annotations = "{\"k\":\"v\"}"};
	struct mf r2 = {.body = "{\"r\":2}",
			.subject = &ds,
			.artifact_type = "application/vnd.example.sbom"};
	struct stor_desc *v = NULL;
	size_t n = 0;
	struct err e = ERR_INIT;

	assert_int_equal(put_mf(st, REPO, &subj, &ds, &e), 0);
	assert_int_equal(put_mf(st, REPO, &r1, &d1, &e), 0);
	assert_int_equal(put_mf(st, REPO, &r2, &d2, &e), 0);

	assert_int_equal(stor_referrers(st, REPO, &ds, NULL, &v, &n, &e), 0);
	assert_int_equal(n, 2);
	stor_desc_free(v, n);

	assert_int_equal(stor_referrers(st, REPO, &ds,
					"application/vnd.example.sig", &v, &n,
					&e),
			 0);
	assert_int_equal(n, 1);
	assert_true(digest_eq(&v[0].digest, &d1));
	assert_string_equal(v[0].media_type,
			    "application/vnd.oci.image.manifest.v1+json");
	assert_int_equal(v[0].size, (int64_t)strlen(r1.body));
	assert_string_equal(v[0].artifact_type, "application/vnd.example.sig");
	assert_string_equal(v[0].annotations_json, "{\"k\":\"v\"}");
	stor_desc_free(v, n);

	assert_int_equal(
		stor_referrers(st, REPO, &ds, "application/none", &v, &n, &e),
		0);
	assert_int_equal(n, 0);
	stor_desc_free(v, n);
	assert_int_equal(stor_referrers(st, REPO, &unknown, NULL, &v, &n, &e),
			 0);
	assert_int_equal(n, 0);
	stor_desc_free(v, n);
	assert_int_equal(stor_referrers(st, "other", &ds, NULL, &v, &n, &e), 0);
	assert_int_equal(n, 0);
	stor_desc_free(v, n);

	/* Deleting a referrer takes it off the list. */
	assert_int_equal(stor_manifest_delete(st, REPO, &d1, &e), 0);
	assert_int_equal(stor_referrers(st, REPO, &ds, NULL, &v, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_true(digest_eq(&v[0].digest, &d2));
	assert_string_equal(v[0].artifact_type, "application/vnd.example.sbom");
	assert_null(v[0].annotations_json);
	stor_desc_free(v, n);
}

static void test_scan_job_enqueued(void **state)
{
	struct fx *fx = *state;
	struct stor *st = fx->st;
	struct mf m = {.tag = "v1", .body = "{\"scan\":1}", .scan = true};
	struct mf quiet = {.tag = "v2", .body = "{\"scan\":0}"};
	struct mf refused = {.tag = "v3", .body = "{\"scan\":2}", .scan = true};
	struct digest d;
	struct err e = ERR_INIT;
	char sql[256];

	tmpstore_sqlite_only(); /* sqlite's own SQL and files */
	assert_int_equal(put_mf(st, REPO, &m, &d, &e), 0);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM scan_jobs WHERE digest = 'sha256:%s'"
		 " AND repo = '" REPO "' AND state = 'queued'"
		 " AND attempts = 0",
		 d.hex);
	assert_int_equal(tmpstore_int(fx->dir, sql), 1);
	assert_int_equal(put_mf(st, REPO, &quiet, &d, &e), 0);
	assert_int_equal(
		tmpstore_int(fx->dir, "SELECT count(*) FROM scan_jobs"), 1);

	/* The job is in the manifest's transaction: if it cannot be
	 * written, the manifest is not stored either. */
	tmpstore_sql(fx->dir,
		     "CREATE TRIGGER no_scans BEFORE INSERT ON scan_jobs"
		     " BEGIN SELECT RAISE(ABORT, 'no scans'); END");
	assert_int_equal(put_mf(st, REPO, &refused, &d, &e), -1);
	assert_int_equal(e.code, ERR_DB);
	assert_false(stor_manifest_exists(st, REPO, &d));
	expect_tags(st, REPO, NULL, -1, "v1,v2", false);
	tmpstore_sql(fx->dir, "DROP TRIGGER no_scans");
	err_clear(&e);
	assert_int_equal(put_mf(st, REPO, &refused, &d, &e), 0);
	assert_int_equal(
		tmpstore_int(fx->dir, "SELECT count(*) FROM scan_jobs"), 2);
}

/* --- Damaged blobs, the scrub, upload limits, the WAL --------------------- */

static void blob_path(struct fx *fx, const struct digest *d, char out[512])
{
	snprintf(out, 512, "%s/blobs/%s/%.2s/%s", fx->dir,
		 digest_alg_name(d->alg), d->hex, d->hex);
}

static void quarantine_path(struct fx *fx, const struct digest *d,
			    char out[512])
{
	snprintf(out, 512, "%s/quarantine/%s-%s", fx->dir,
		 digest_alg_name(d->alg), d->hex);
}

static void write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

/* A blob file of another size than its upload had is never served: it
 * goes to quarantine, and a new push stores it again. */
static void test_blob_size_checked(void **state)
{
	struct fx *fx = *state;
	struct err e = ERR_INIT;
	struct digest a, b;
	char path[512], q[512], *got;
	int64_t size;
	int fd = -1;

	a = tmpstore_push(fx->st, REPO, "the first blob");
	b = tmpstore_push(fx->st, REPO, "the second blob");
	assert_int_equal(
		tmpstore_int(fx->dir, "SELECT count(*) FROM blob_sizes"), 2);
	/* Truncated. */
	blob_path(fx, &a, path);
	assert_int_equal(truncate(path, 5), 0);
	assert_int_equal(stor_blob_open(fx->st, REPO, &a, &fd, &size, &e), -1);
	assert_int_equal(e.code, ERR_BLOB_UNKNOWN);
	assert_non_null(strstr(e.msg, "damaged (5 bytes on disk, 14 stored)"));
	assert_int_equal(fd, -1);
	quarantine_path(fx, &a, q);
	assert_false(blob_file_exists(fx, &a));
	assert_int_equal(access(q, F_OK), 0);
	assert_int_equal(stor_blob_damage_count(fx->st), 1);
	/* Grown: stat says so too. */
	blob_path(fx, &b, path);
	write_file(path, "the second blob, and more");
	err_clear(&e);
	assert_int_equal(stor_blob_stat(fx->st, NULL, &b, &size, &e), -1);
	assert_int_equal(e.code, ERR_BLOB_UNKNOWN);
	assert_int_equal(stor_blob_damage_count(fx->st), 2);
	/* Pushed again, served again. */
	a = tmpstore_push(fx->st, REPO, "the first blob");
	got = read_blob(fx->st, REPO, &a);
	assert_string_equal(got, "the first blob");
	free(got);
	/* Small blobs stored whole have their size recorded too. */
	err_clear(&e);
	assert_int_equal(stor_blob_put(fx->st, REPO, "report", 6, &b, &e), 0);
	assert_int_equal(tmpstore_int(fx->dir,
				      "SELECT count(*) FROM blob_sizes WHERE "
				      "size = 6"),
			 1);
}

/* The scrub finds a blob altered in place (same size), quarantines it,
 * and records the size of intact blobs that had none. */
static void test_scrub(void **state)
{
	struct fx *fx = *state;
	struct stor_scrub_stats s;
	struct stor_scrub_opts o;
	struct err e = ERR_INIT;
	struct digest b, c;
	char path[512], q[512];
	int64_t size;

	tmpstore_push(fx->st, REPO, "intact");
	b = tmpstore_push(fx->st, REPO, "altered");
	c = tmpstore_push(fx->st, REPO, "stored before sizes");
	tmpstore_sql(fx->dir, "DELETE FROM blob_sizes WHERE size = 19");
	blob_path(fx, &b, path);
	write_file(path, "ALTERED");
	memset(&o, 0, sizeof(o));
	assert_int_equal(stor_scrub(fx->st, &o, &s, &e), 0);
	assert_int_equal(s.blobs, 3);
	assert_int_equal(s.damaged, 1);
	assert_int_equal(s.bytes, 6 + 7 + 19);
	assert_int_equal(stor_blob_damage_count(fx->st), 1);
	quarantine_path(fx, &b, q);
	assert_int_equal(access(q, F_OK), 0);
	assert_false(blob_file_exists(fx, &b));
	assert_int_equal(stor_blob_stat(fx->st, REPO, &b, &size, &e), -1);
	assert_int_equal(e.code, ERR_BLOB_UNKNOWN);
	assert_int_equal(
		tmpstore_int(fx->dir, "SELECT count(*) FROM blob_sizes"), 3);
	/* Now the size of c is checked when served. */
	blob_path(fx, &c, path);
	assert_int_equal(truncate(path, 3), 0);
	err_clear(&e);
	assert_int_equal(stor_blob_stat(fx->st, REPO, &c, &size, &e), -1);
	assert_int_equal(stor_blob_damage_count(fx->st), 2);
	/* A second pass finds nothing more. */
	assert_int_equal(stor_scrub(fx->st, &o, &s, &e), 0);
	assert_int_equal(s.blobs, 1);
	assert_int_equal(s.damaged, 0);
}

static void test_upload_limits(void **state)
{
	struct fx *fx = *state;
	struct stor_upload_limits lim = {"address 10.0.0.1", 2, 3};
	struct stor_upload_limits other = {"address 10.0.0.2", 2, 3};
	char id[STOR_UPLOAD_ID_MAX], first[STOR_UPLOAD_ID_MAX];
	struct err e = ERR_INIT;

	assert_int_equal(
		stor_upload_start_limited(fx->st, "a", &lim, first, &e), 0);
	assert_int_equal(stor_upload_start_limited(fx->st, "a", &lim, id, &e),
			 0);
	assert_int_equal(stor_upload_start_limited(fx->st, "a", &other, id, &e),
			 -1);
	assert_int_equal(e.code, ERR_TOOMANYREQUESTS);
	assert_non_null(strstr(e.msg, "repository a has 2 open upload"));
	err_clear(&e);
	assert_int_equal(stor_upload_start_limited(fx->st, "b", &lim, id, &e),
			 0);
	assert_int_equal(stor_upload_start_limited(fx->st, "c", &lim, id, &e),
			 -1);
	assert_int_equal(e.code, ERR_TOOMANYREQUESTS);
	assert_non_null(strstr(e.msg, "address 10.0.0.1 has 3 open"));
	err_clear(&e);
	assert_int_equal(stor_upload_start_limited(fx->st, "c", &other, id, &e),
			 0);
	/* Without limits (the pull-through cache) nothing is counted. */
	assert_int_equal(stor_upload_start(fx->st, "a", id, &e), 0);
	/* A cancelled session frees its place. */
	assert_int_equal(stor_upload_cancel(fx->st, "a", first, &e), 0);
	assert_int_equal(stor_upload_start_limited(fx->st, "c", &lim, id, &e),
			 0);
	assert_int_equal(uploads_count(fx), 5);
}

/* A clean close leaves everything in meta.db: losing meta.db-wal then
 * costs nothing. */
static void test_wal_checkpointed_on_close(void **state)
{
	struct fx *fx = *state;
	char wal[300];
	struct stat sb;

	tmpstore_push(fx->st, REPO, "kept in meta.db");
	stor_free(fx->st);
	fx->st = NULL;
	snprintf(wal, sizeof(wal), "%s/meta.db-wal", fx->dir);
	assert_true(stat(wal, &sb) < 0 || sb.st_size == 0);
	unlink(wal);
	fx_reopen(fx);
	assert_int_equal(
		tmpstore_int(fx->dir, "SELECT count(*) FROM repo_blobs"), 1);
}

static void test_schema(void **state)
{
	struct fx *fx = *state;

	tmpstore_sqlite_only(); /* sqlite's own SQL and files */
	assert_int_equal(tmpstore_int(fx->dir, "PRAGMA user_version"), 10);
	assert_int_equal(tmpstore_int(fx->dir,
				      "SELECT count(*) FROM pragma_journal_mode"
				      " WHERE journal_mode = 'wal'"),
			 1);
	/* A newer schema than we know is refused, not misread. */
	tmpstore_sql(fx->dir, "PRAGMA user_version = 99");
	{
		struct err e = ERR_INIT;
		struct stor *st2 = stor_open(fx->dir, &e);

		assert_null(st2);
		assert_int_equal(e.code, ERR_DB);
		assert_non_null(strstr(e.msg, "99"));
	}
	tmpstore_sql(fx->dir, "PRAGMA user_version = 5");
}

/* sq_run()'s counts: rows for a statement with result columns, rows changed
 * for one without; a callback can stop early or fail, and a connection
 * keeps more statements than its first cache holds. */
static int count_row(void *arg, sqlite3_stmt *s, struct err *e)
{
	int *left = arg;

	(void)s;
	if (*left < 0)
		return err_set(e, ERR_INTERNAL, "row refused");
	return --*left == 0;
}

static void test_sq_run(void **state)
{
	static const struct sql_stmt add = {
		"add repository",
		"INSERT INTO repositories (name, created)"
		" VALUES (?1, 0) ON CONFLICT DO NOTHING",
	};
	static const struct sql_stmt names = {
		"list repositories",
		"SELECT name FROM repositories WHERE name > ?1 ORDER BY name",
	};
	static const struct sql_stmt bad = {
		"bad statement",
		"SELECT nothing FROM nowhere",
	};
	/* Distinct statements have distinct addresses. */
	static struct sql_stmt many[40];
	struct fx *fx = *state;
	struct sq *sq = sq_of(stor_meta_of(fx->st));
	struct err e = ERR_INIT;
	int left;

	tmpstore_sqlite_only(); /* sqlite's own SQL and files */
	assert_int_equal(sq_do(sq, &add, NULL, NULL, &e, "s", "a"), 1);
	assert_int_equal(sq_do(sq, &add, NULL, NULL, &e, "s", "a"), 0);
	assert_int_equal(sq_do(sq, &add, NULL, NULL, &e, "s", "b"), 1);
	assert_int_equal(sq_do(sq, &add, NULL, NULL, &e, "s", "c"), 1);
	assert_int_equal(sq_do(sq, &names, NULL, NULL, &e, "s", ""), 3);
	assert_int_equal(sq_do(sq, &names, NULL, NULL, &e, "s", "a"), 2);
	left = 2;
	assert_int_equal(sq_do(sq, &names, count_row, &left, &e, "s", ""), 2);
	left = -1;
	assert_int_equal(sq_do(sq, &names, count_row, &left, &e, "s", ""), -1);
	assert_int_equal(e.code, ERR_INTERNAL);
	/* The failed run left the statement reset: it runs again. */
	e = (struct err)ERR_INIT;
	assert_int_equal(sq_do(sq, &names, NULL, NULL, &e, "s", ""), 3);
	assert_int_equal(sq_do(sq, &bad, NULL, NULL, &e, ""), -1);
	assert_int_equal(e.code, ERR_DB);
	assert_non_null(strstr(e.msg, "bad statement"));
	e = (struct err)ERR_INIT;
	for (int i = 0; i < 40; i++) {
		many[i].what = "one";
		many[i].sql = "SELECT 1";
		assert_int_equal(sq_do(sq, &many[i], NULL, NULL, &e, ""), 1);
	}
	assert_int_equal(sq_do(sq, &names, NULL, NULL, &e, "s", "b"), 1);
}

/* The SQL layer (sql_int.h) on either engine: a statement's own text for
 * PostgreSQL (SQL_PG()), an empty text that runs nothing there, and
 * sqlite's ?N placeholders outside quotes given to PostgreSQL as $N. */
struct two_cols {
	char a[32], b[32];
};

static int two_cols_row(void *arg, const struct sql_row *r, struct err *e)
{
	struct two_cols *c = arg;
	const char *a = sql_col_text(r, 0), *b = sql_col_text(r, 1);

	(void)e;
	snprintf(c->a, sizeof(c->a), "%s", a ? a : "(null)");
	snprintf(c->b, sizeof(c->b), "%s", b ? b : "(null)");
	return 1;
}

static void test_sql_layer(void **state)
{
	static const struct sql_stmt which = {
		"which engine",
		"SELECT 'sqlite', ?1" SQL_PG("SELECT 'pg', ?1::text"),
	};
	static const struct sql_stmt pg_only = {
		"PostgreSQL only",
		"" SQL_PG("SELECT 1"),
	};
	static const struct sql_stmt sqlite_only = {
		"sqlite only",
		"SELECT 1" SQL_PG(""),
	};
	static const struct sql_stmt quoted = {
		"quoted placeholder",
		"SELECT '?1 stays', CAST(?1 AS TEXT)",
	};
	struct fx *fx = *state;
	struct stor_meta *m = stor_meta_of(fx->st);
	bool pg = sql_is(m, &sql_pg);
	struct two_cols c;
	struct err e = ERR_INIT;

	assert_true(pg || sql_is(m, &sql_sqlite));
	assert_int_equal(sql_do(m, &which, two_cols_row, &c, &e, "s", "x"), 1);
	assert_string_equal(c.a, pg ? "pg" : "sqlite");
	assert_string_equal(c.b, "x");
	assert_int_equal(sql_do(m, &pg_only, NULL, NULL, &e, ""), pg ? 1 : 0);
	assert_int_equal(sql_do(m, &sqlite_only, NULL, NULL, &e, ""),
			 pg ? 0 : 1);
	assert_int_equal(sql_do(m, &quoted, two_cols_row, &c, &e, "s", "y"), 1);
	assert_string_equal(c.a, "?1 stays");
	assert_string_equal(c.b, "y");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
		T(test_upload_roundtrip),
		T(test_upload_status),
		T(test_upload_blocks_trimmed),
		T(test_empty_blob),
		T(test_digest_mismatch),
		T(test_resume_after_restart),
		T(test_idle_handles_evicted),
		cmocka_unit_test(test_hasher_state),
		T(test_state_kept_across_restart),
		T(test_state_dropped_after_crash),
		T(test_state_kept_across_eviction),
		T(test_busy_and_cancel),
		T(test_upload_id_validated),
		T(test_sha512_upload),
		T(test_concurrent_finish),
		T(test_blob_link_unlink),
		T(test_meta_stats),
		T(test_manifest_put_get),
		T(test_tag_overwrite),
		T(test_manifest_delete),
		T(test_tag_delete),
		T(test_tags_paging),
		T(test_tag_times),
		T(test_tag_page),
		T(test_catalog_paging),
		T(test_manifest_tags_sparse),
		T(test_name_unknown),
		T(test_referrers),
		T(test_scan_job_enqueued),
		T(test_schema),
		T(test_blob_size_checked),
		T(test_scrub),
		T(test_upload_limits),
		T(test_wal_checkpointed_on_close),
		T(test_sq_run),
		T(test_sql_layer),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
