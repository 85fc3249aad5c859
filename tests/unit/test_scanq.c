/* test_scanq.c: the scan queue and results of storage.h against a real
 * meta.db in a temporary directory. */
#define _XOPEN_SOURCE 700 /* nftw */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "storage/storage.h"
#include "common/log.h"

#include <dirent.h>
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

#define REPO "team/app"

struct fx {
	TMPSTORE_FX_FIELDS;
};

TMPSTORE_FX_DEFINE("scanq")

/* Stores body as a manifest of repo (its refs need not exist here). */
static struct digest put(struct fx *fx, const char *repo, const char *body,
			 bool scan, const struct digest *refs, size_t nrefs)
{
	struct digest d = dg_of(body);
	struct err e = ERR_INIT;
	struct stor_manifest_put p = {
		.repo = repo,
		.digest = &d,
		.media_type = "application/vnd.oci.image.manifest.v1+json",
		.body = body,
		.len = strlen(body),
		.refs = refs,
		.nrefs = nrefs,
		.enqueue_scan = scan,
	};

	assert_int_equal(stor_manifest_put(fx->st, &p, &e), 0);
	return d;
}

static enum stor_scan_state state_of(struct fx *fx, const struct digest *d)
{
	struct stor_scan sc;
	struct err e = ERR_INIT;
	enum stor_scan_state s;

	assert_int_equal(stor_scan_get(fx->st, d, false, &sc, &e), 0);
	s = sc.state;
	stor_scan_release(&sc);
	return s;
}

/* Claims a job and checks it is d's. */
static void claim(struct fx *fx, const struct digest *d,
		  struct stor_scan_job *job)
{
	struct err e = ERR_INIT;

	assert_int_equal(stor_scan_claim(fx->st, 60, job, &e), 1);
	assert_true(digest_eq(&job->digest, d));
}

/* Claims index idx's job and parks it: its platforms kids[0..n) are not
 * all final. */
static void park(struct fx *fx, const struct digest *idx,
		 const struct digest *kids, size_t n)
{
	struct stor_scan_job job;
	struct err e = ERR_INIT;
	bool ready = true;

	claim(fx, idx, &job);
	assert_int_equal(stor_scan_wait(fx->st, &job, kids, n, &ready, &e), 0);
	assert_false(ready);
	stor_scan_job_release(&job);
}

static void claim_none(struct fx *fx)
{
	struct stor_scan_job job;
	struct err e = ERR_INIT;

	assert_int_equal(stor_scan_claim(fx->st, 60, &job, &e), 0);
}

static void finish(struct fx *fx, struct stor_scan_job *job, const char *report,
		   const char *dbv)
{
	struct stor_scan_result r = {
		.report = report, .findings = "[]", .db_version = dbv};
	struct err e = ERR_INIT;

	if (report)
		assert_int_equal(
			stor_scan_result_put(fx->st, &job->digest, &r, &e), 0);
	assert_int_equal(stor_scan_done(fx->st, job, &e), 0);
	stor_scan_job_release(job);
}

static void test_push_claim_done(void **state)
{
	struct fx *fx = *state;
	struct digest d = put(fx, REPO, "{\"img\":1}", true, NULL, 0);
	struct stor_scan_job job;
	struct stor_scan_result r = {
		.report = "{\"counts\":{}}",
		.findings = "[{\"id\":\"CVE-1\",\"aliases\":[],"
			    "\"severity\":\"high\"}]",
		.db_version = "db1"};
	struct stor_scan sc;
	struct err e = ERR_INIT;

	assert_int_equal(state_of(fx, &d), STOR_SCAN_QUEUED);
	claim(fx, &d, &job);
	assert_string_equal(job.repo, REPO);
	assert_int_equal(job.attempts, 1);
	assert_int_equal(state_of(fx, &d), STOR_SCAN_RUNNING);
	claim_none(fx);
	assert_int_equal(stor_scan_result_put(fx->st, &d, &r, &e), 0);
	assert_int_equal(stor_scan_done(fx->st, &job, &e), 0);
	stor_scan_job_release(&job);

	assert_int_equal(stor_scan_get(fx->st, &d, true, &sc, &e), 0);
	assert_int_equal(sc.state, STOR_SCAN_DONE);
	assert_true(sc.has_result);
	assert_string_equal(sc.report, r.report);
	assert_string_equal(sc.findings, r.findings);
	assert_string_equal(sc.db_version, "db1");
	assert_string_equal(sc.checked_db, "db1");
	assert_null(sc.error);
	stor_scan_release(&sc);
	/* Without the report text, the rest still comes. */
	assert_int_equal(stor_scan_get(fx->st, &d, false, &sc, &e), 0);
	assert_true(sc.has_result);
	assert_null(sc.report);
	assert_non_null(sc.findings);
	stor_scan_release(&sc);
	/* A peek: neither text, the short columns as a get has them. */
	assert_int_equal(stor_scan_peek(fx->st, &d, &sc, &e), 0);
	assert_int_equal(sc.state, STOR_SCAN_DONE);
	assert_true(sc.has_result);
	assert_true(sc.in_blob);
	assert_null(sc.report);
	assert_null(sc.findings);
	assert_string_equal(sc.db_version, "db1");
	assert_true(sc.updated > 0);
	stor_scan_release(&sc);
	claim_none(fx);
}

/* put() under a tag. */
static struct digest put_tag(struct fx *fx, const char *tag, const char *body,
			     bool scan)
{
	struct digest d = dg_of(body);
	struct err e = ERR_INIT;
	struct stor_manifest_put p = {
		.repo = REPO,
		.tag = tag,
		.digest = &d,
		.media_type = "application/vnd.oci.image.manifest.v1+json",
		.body = body,
		.len = strlen(body),
		.enqueue_scan = scan,
	};

	assert_int_equal(stor_manifest_put(fx->st, &p, &e), 0);
	return d;
}

/* Every tag of a repository with its scan, as a peek has it, in push
 * order: a scanned image, one not scanned yet, one with no job. */
static void test_tag_scans(void **state)
{
	struct fx *fx = *state;
	struct digest d1 = put_tag(fx, "t1", "{\"img\":1}", true), d2, d3;
	struct stor_scan_job job;
	struct stor_tag_scan *v = NULL;
	struct stor_scan sc;
	struct err e = ERR_INIT;
	size_t n = 0;

	claim(fx, &d1, &job);
	finish(fx, &job, "{\"counts\":{}}", "db1");
	d2 = put_tag(fx, "t2", "{\"img\":2}", true);
	d3 = put_tag(fx, "t3", "{\"img\":3}", false);
	assert_int_equal(stor_tag_scans(fx->st, REPO, &v, &n, &e), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		const struct digest *want = i == 0 ? &d1 : i == 1 ? &d2 : &d3;

		/* The same second: by name, which put() made in order. */
		assert_true(digest_eq(&v[i].t.digest, want));
		assert_null(v[i].scan.report);
		assert_null(v[i].scan.findings);
	}
	assert_int_equal(stor_scan_peek(fx->st, &d1, &sc, &e), 0);
	assert_int_equal(v[0].scan.state, STOR_SCAN_DONE);
	assert_true(v[0].scan.has_result && v[0].scan.in_blob);
	assert_true(digest_eq(&v[0].scan.report_blob, &sc.report_blob));
	assert_int_equal(v[0].scan.updated, sc.updated);
	assert_string_equal(v[0].scan.db_version, "db1");
	stor_scan_release(&sc);
	assert_int_equal(v[1].scan.state, STOR_SCAN_QUEUED);
	assert_false(v[1].scan.has_result);
	assert_int_equal(v[2].scan.state, STOR_SCAN_NONE);
	stor_tag_scans_free(v, n);
	assert_int_equal(stor_tag_scans(fx->st, "never/seen", &v, &n, &e), 0);
	assert_int_equal(n, 0);
	stor_tag_scans_free(v, n);
}

/* Layer indexes: queued once, claimed by one, kept, skipped, recovered. */
static void test_layer_index(void **state)
{
	struct fx *fx = *state;
	struct digest a = dg_of("layer a"), b = dg_of("layer b"), got;
	struct stor_layer_stats ls;
	struct stor_layer l;
	struct err e = ERR_INIT;
	size_t n = 0;

	assert_int_equal(stor_layer_get(fx->st, &a, true, &l, &e), 0);
	assert_int_equal(l.state, STOR_LAYER_NONE);
	assert_int_equal(stor_layer_enqueue(fx->st, &a, &e), 0);
	assert_int_equal(stor_layer_claim(fx->st, NULL, 60, &got, &e), 1);
	assert_true(digest_eq(&got, &a));
	assert_int_equal(stor_layer_enqueue(fx->st, &b, &e), 0);
	/* Claimed already: not again, by digest either. */
	assert_int_equal(stor_layer_claim(fx->st, &a, 60, &got, &e), 0);
	assert_int_equal(stor_layer_put(fx->st, &a, "v1", "{\"files\":[]}", &e),
			 0);
	assert_int_equal(stor_layer_get(fx->st, &a, true, &l, &e), 0);
	assert_int_equal(l.state, STOR_LAYER_DONE);
	assert_string_equal(l.version, "v1");
	assert_string_equal(l.index, "{\"files\":[]}");
	stor_layer_release(&l);
	/* Done stays done when its blob is uploaded again. */
	assert_int_equal(stor_layer_enqueue(fx->st, &a, &e), 0);
	assert_int_equal(stor_layer_claim(fx->st, &b, 60, &got, &e), 1);
	assert_int_equal(stor_layer_skip(fx->st, &b, "not a layer", &e), 0);
	assert_int_equal(stor_layer_get(fx->st, &b, false, &l, &e), 0);
	assert_int_equal(l.state, STOR_LAYER_SKIPPED);
	assert_string_equal(l.error, "not a layer");
	assert_null(l.index);
	stor_layer_release(&l);
	assert_int_equal(stor_layer_claim(fx->st, NULL, 60, &got, &e), 0);
	/* One without a row is claimed by digest; a crash leaves it to
	 * recovery. */
	got = dg_of("layer c");
	assert_int_equal(stor_layer_claim(fx->st, &got, 60, &got, &e), 1);
	assert_int_equal(stor_layer_recover(fx->st, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(stor_layer_stats(fx->st, &ls, &e), 0);
	assert_int_equal(ls.done, 1);
	assert_int_equal(ls.skipped, 1);
	assert_int_equal(ls.queued, 1);
	assert_int_equal(ls.running, 0);
}

/* Pushed again while running (another repository): queued once more
 * when it finishes, so the new repository gets its report. */
static void test_repush_while_running(void **state)
{
	struct fx *fx = *state;
	struct digest d = put(fx, REPO, "{\"img\":2}", true, NULL, 0);
	struct stor_scan_job job;

	claim(fx, &d, &job);
	put(fx, "other/app", "{\"img\":2}", true, NULL, 0);
	finish(fx, &job, "{}", NULL);
	assert_int_equal(state_of(fx, &d), STOR_SCAN_QUEUED);
	claim(fx, &d, &job);
	assert_string_equal(job.repo, "other/app");
	finish(fx, &job, NULL, NULL);
	assert_int_equal(state_of(fx, &d), STOR_SCAN_DONE);
	/* Pushed again once done: queued for publishing only. */
	put(fx, "third/app", "{\"img\":2}", true, NULL, 0);
	assert_int_equal(state_of(fx, &d), STOR_SCAN_QUEUED);
}

static void test_same_digest_one_job(void **state)
{
	struct fx *fx = *state;
	struct stor_scan_stats st;
	struct err e = ERR_INIT;

	put(fx, "a/x", "{\"img\":3}", true, NULL, 0);
	put(fx, "b/x", "{\"img\":3}", true, NULL, 0);
	put(fx, "c/x", "{\"img\":3}", true, NULL, 0);
	assert_int_equal(stor_scan_stats(fx->st, &st, &e), 0);
	assert_int_equal(st.queued, 1);
	assert_int_equal(st.results, 0);
}

/* The process dies and the next one starts: the store opened anew and
 * its interrupted jobs recovered; how many were queued again or failed. */
static size_t restart(struct fx *fx, int max_attempts)
{
	struct err e = ERR_INIT;
	size_t n = 0;

	stor_free(fx->st);
	fx->st = stor_open(fx->dir, &e);
	assert_non_null(fx->st);
	assert_int_equal(stor_scan_recover(fx->st, max_attempts, &n, &e), 0);
	return n;
}

/* A crash leaves jobs running: queued again at the next start, failed
 * after RS_MAX_ATTEMPTS-like bound so a poison image cannot loop. */
static void test_recover(void **state)
{
	struct fx *fx = *state;
	struct digest d = put(fx, REPO, "{\"img\":4}", true, NULL, 0);
	struct stor_scan_job job;
	struct stor_scan sc;
	struct err e = ERR_INIT;

	for (int i = 1; i <= 3; i++) {
		claim(fx, &d, &job);
		assert_int_equal(job.attempts, i);
		stor_scan_job_release(&job);
		assert_int_equal(restart(fx, 3), 1);
	}
	assert_int_equal(stor_scan_get(fx->st, &d, false, &sc, &e), 0);
	assert_int_equal(sc.state, STOR_SCAN_FAILED);
	assert_non_null(strstr(sc.error, "interrupted 3 times"));
	stor_scan_release(&sc);
	claim_none(fx);
	/* A new push tries again from scratch. */
	put(fx, REPO, "{\"img\":4}", true, NULL, 0);
	claim(fx, &d, &job);
	assert_int_equal(job.attempts, 1);
	stor_scan_job_release(&job);
}

/* A platform whose manifest is deleted while its index waits for it:
 * forgetting its job wakes the index (which then finds it gone). */
static void test_forget_wakes_index(void **state)
{
	struct fx *fx = *state;
	struct digest kid = put(fx, REPO, "{\"amd64\":6}", false, NULL, 0);
	struct digest idx = put(fx, REPO, "{\"index\":6}", true, &kid, 1);
	struct err e = ERR_INIT;

	park(fx, &idx, &kid, 1);
	assert_int_equal(state_of(fx, &kid), STOR_SCAN_QUEUED);
	assert_int_equal(stor_manifest_delete(fx->st, REPO, &kid, &e), 0);
	assert_int_equal(stor_scan_forget(fx->st, &kid, &e), 0);
	assert_int_equal(state_of(fx, &kid), STOR_SCAN_NONE);
	assert_int_equal(state_of(fx, &idx), STOR_SCAN_QUEUED);
}

/* A platform failed by recovery (interrupted too often) wakes its index,
 * as a finish does. */
static void test_recover_wakes_index(void **state)
{
	struct fx *fx = *state;
	struct digest kid = put(fx, REPO, "{\"amd64\":5}", true, NULL, 0);
	struct digest idx;
	struct stor_scan_job kjob;

	claim(fx, &kid, &kjob);
	idx = put(fx, REPO, "{\"index\":5}", true, &kid, 1);
	park(fx, &idx, &kid, 1);
	stor_scan_job_release(&kjob);
	/* The process dies while the platform runs. */
	assert_int_equal(restart(fx, 1), 1);
	assert_int_equal(state_of(fx, &kid), STOR_SCAN_FAILED);
	assert_int_equal(state_of(fx, &idx), STOR_SCAN_QUEUED);
}

static void test_fail_retry(void **state)
{
	struct fx *fx = *state;
	struct digest d = put(fx, REPO, "{\"img\":5}", true, NULL, 0);
	struct stor_scan_job job;
	struct stor_scan sc;
	struct err e = ERR_INIT;

	claim(fx, &d, &job);
	assert_int_equal(stor_scan_fail(fx->st, &job, "disk hiccup",
					(int64_t)time(NULL) + 3600, &e),
			 0);
	stor_scan_job_release(&job);
	assert_int_equal(state_of(fx, &d), STOR_SCAN_QUEUED);
	claim_none(fx); /* not before its retry time */
	tmpstore_sql(fx->dir, "UPDATE scan_jobs SET not_before = 0");
	claim(fx, &d, &job);
	assert_int_equal(job.attempts, 2);
	assert_int_equal(stor_scan_fail(fx->st, &job, "not an image", -1, &e),
			 0);
	stor_scan_job_release(&job);
	assert_int_equal(stor_scan_get(fx->st, &d, false, &sc, &e), 0);
	assert_int_equal(sc.state, STOR_SCAN_FAILED);
	assert_string_equal(sc.error, "not an image");
	assert_false(sc.has_result);
	stor_scan_release(&sc);
	claim_none(fx);
	put(fx, REPO, "{\"img\":5}", true, NULL, 0);
	assert_int_equal(stor_scan_get(fx->st, &d, false, &sc, &e), 0);
	assert_int_equal(sc.state, STOR_SCAN_QUEUED);
	assert_null(sc.error);
	stor_scan_release(&sc);
}

/* An index waits for its platforms, each scanned once as its own job. */
static void test_index_waits(void **state)
{
	struct fx *fx = *state;
	struct digest kids[2], idx;
	struct stor_scan_job job, kid;
	struct err e = ERR_INIT;
	bool ready = true;

	kids[0] = put(fx, REPO, "{\"amd64\":1}", false, NULL, 0);
	kids[1] = put(fx, REPO, "{\"arm64\":1}", false, NULL, 0);
	idx = put(fx, REPO, "{\"index\":1}", true, kids, 2);

	park(fx, &idx, kids, 2);
	assert_int_equal(state_of(fx, &idx), STOR_SCAN_WAITING);
	assert_int_equal(state_of(fx, &kids[0]), STOR_SCAN_QUEUED);
	assert_int_equal(state_of(fx, &kids[1]), STOR_SCAN_QUEUED);

	/* One platform done: the index looks again, and waits again. */
	assert_int_equal(stor_scan_claim(fx->st, 60, &kid, &e), 1);
	finish(fx, &kid, "{}", NULL);
	assert_int_equal(state_of(fx, &idx), STOR_SCAN_QUEUED);
	park(fx, &idx, kids, 2);

	/* The other fails for good: final too, so the index is ready. */
	assert_int_equal(stor_scan_claim(fx->st, 60, &kid, &e), 1);
	assert_int_equal(stor_scan_fail(fx->st, &kid, "bad", -1, &e), 0);
	stor_scan_job_release(&kid);
	claim(fx, &idx, &job);
	assert_int_equal(stor_scan_wait(fx->st, &job, kids, 2, &ready, &e), 0);
	assert_true(ready);
	assert_int_equal(state_of(fx, &idx), STOR_SCAN_RUNNING);
	finish(fx, &job, "{\"manifests\":[]}", NULL);
	assert_int_equal(state_of(fx, &idx), STOR_SCAN_DONE);
	claim_none(fx);
}

/* A result is kept while a repository has the manifest. */
static void test_forget(void **state)
{
	struct fx *fx = *state;
	struct digest d = put(fx, REPO, "{\"img\":6}", true, NULL, 0);
	struct stor_scan_job job;
	struct err e = ERR_INIT;

	put(fx, "other/app", "{\"img\":6}", false, NULL, 0);
	claim(fx, &d, &job);
	finish(fx, &job, "{}", NULL);
	assert_int_equal(stor_manifest_delete(fx->st, REPO, &d, &e), 0);
	assert_int_equal(stor_scan_forget(fx->st, &d, &e), 0);
	assert_int_equal(state_of(fx, &d), STOR_SCAN_DONE);
	assert_int_equal(stor_manifest_delete(fx->st, "other/app", &d, &e), 0);
	assert_int_equal(stor_scan_forget(fx->st, &d, &e), 0);
	assert_int_equal(state_of(fx, &d), STOR_SCAN_NONE);
}

/* A result stored for a job deleted meanwhile is dropped. */
static void test_result_without_job(void **state)
{
	struct fx *fx = *state;
	struct digest d = dg_of("never pushed");
	struct stor_scan_result r = {.report = "{}", .findings = "[]"};
	struct stor_scan sc;
	struct err e = ERR_INIT;

	assert_int_equal(stor_scan_result_put(fx->st, &d, &r, &e), 0);
	assert_int_equal(stor_scan_get(fx->st, &d, true, &sc, &e), 0);
	assert_false(sc.has_result);
	assert_int_equal(sc.state, STOR_SCAN_NONE);
	stor_scan_release(&sc);
}

/* A new DB re-queues the reports matched against another, behind pushes. */
static void test_rearm(void **state)
{
	struct fx *fx = *state;
	struct digest a = put(fx, REPO, "{\"img\":7}", true, NULL, 0);
	struct digest b = put(fx, REPO, "{\"img\":8}", true, NULL, 0), c;
	struct stor_scan_job job;
	struct stor_scan sc;
	struct err e = ERR_INIT;
	size_t n = 9;

	/* a is matched against DB v1, b against none (claim order within
	 * a second is not specified). */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(stor_scan_claim(fx->st, 60, &job, &e), 1);
		finish(fx, &job, "{}",
		       digest_eq(&job.digest, &a) ? "v1" : NULL);
	}
	assert_int_equal(stor_scan_rearm(fx->st, "v1", &n, &e), 0);
	assert_int_equal(n, 1); /* b, matched against no DB */
	assert_int_equal(state_of(fx, &a), STOR_SCAN_DONE);
	assert_int_equal(state_of(fx, &b), STOR_SCAN_QUEUED);
	claim(fx, &b, &job);
	assert_int_equal(stor_scan_checked(fx->st, &job, "v1", &e), 0);
	assert_int_equal(stor_scan_done(fx->st, &job, &e), 0);
	stor_scan_job_release(&job);
	assert_int_equal(stor_scan_get(fx->st, &b, false, &sc, &e), 0);
	assert_null(sc.db_version);
	assert_string_equal(sc.checked_db, "v1");
	stor_scan_release(&sc);

	assert_int_equal(stor_scan_rearm(fx->st, "v2", &n, &e), 0);
	assert_int_equal(n, 2); /* a, and b (checked against v1) */
	assert_int_equal(state_of(fx, &a), STOR_SCAN_QUEUED);
	assert_int_equal(state_of(fx, &b), STOR_SCAN_QUEUED);
	/* A push made after the re-arm still goes first. */
	c = put(fx, REPO, "{\"img\":9}", true, NULL, 0);
	claim(fx, &c, &job);
	stor_scan_job_release(&job);
}

/* A job names the request that queued it: the latest push's; a re-match
 * (re-arm) was queued by no request. */
static void test_request_id(void **state)
{
	struct fx *fx = *state;
	struct digest d;
	struct stor_scan_job job;
	struct err e = ERR_INIT;
	size_t n;

	log_set_request_id("req-first");
	d = put(fx, REPO, "{\"img\":\"rid\"}", true, NULL, 0);
	log_set_request_id("req-second");
	put(fx, "other/app", "{\"img\":\"rid\"}", true, NULL, 0);
	log_set_request_id(NULL);
	claim(fx, &d, &job);
	assert_non_null(job.request_id);
	assert_string_equal(job.request_id, "req-second");
	finish(fx, &job, "{}", "v1");

	assert_int_equal(stor_scan_rearm(fx->st, "v2", &n, &e), 0);
	assert_int_equal(n, 1);
	claim(fx, &d, &job);
	assert_null(job.request_id);
	finish(fx, &job, "{}", "v2");

	/* Enqueued without a push (if_absent), from a request. */
	log_set_request_id("req-third");
	d = dg_of("{\"img\":\"rid2\"}");
	assert_int_equal(stor_scan_enqueue(fx->st, REPO, &d, true, &e), 0);
	log_set_request_id(NULL);
	claim(fx, &d, &job);
	assert_string_equal(job.request_id, "req-third");
	stor_scan_job_release(&job);
}

static void test_repos_and_blob_put(void **state)
{
	struct fx *fx = *state;
	struct digest d = put(fx, "b/app", "{\"img\":10}", false, NULL, 0), bd;
	struct err e = ERR_INIT;
	char **v = NULL;
	size_t n = 0;
	int64_t size;

	put(fx, "a/app", "{\"img\":10}", false, NULL, 0);
	assert_int_equal(stor_manifest_repos(fx->st, &d, &v, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "a/app");
	assert_string_equal(v[1], "b/app");
	stor_strv_free(v, n);

	assert_int_equal(stor_blob_put(fx->st, "a/app", "{}", 2, &bd, &e), 0);
	assert_string_equal(bd.hex, "44136fa355b3678a1146ad16f7e8649e94fb4fc21f"
				    "e77e8310c060f61caaff8a");
	assert_int_equal(stor_blob_stat(fx->st, "a/app", &bd, &size, &e), 0);
	assert_int_equal(size, 2);
	assert_int_equal(stor_blob_stat(fx->st, "b/app", &bd, &size, &e), -1);
	assert_int_equal(e.code, ERR_BLOB_UNKNOWN);
}

/* Re-match jobs are claimed together, never before a push. */
static void test_claim_rematch(void **state)
{
	struct fx *fx = *state;
	struct digest a = put(fx, REPO, "{\"img\":11}", true, NULL, 0);
	struct digest b = put(fx, REPO, "{\"img\":12}", true, NULL, 0), c;
	struct stor_scan_job job, jobs[4];
	struct err e = ERR_INIT;
	size_t n = 9;

	/* Pushes are not re-matches. */
	assert_int_equal(stor_scan_claim_rematch(fx->st, 60, jobs, 4, &n, &e),
			 0);
	assert_int_equal(n, 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(stor_scan_claim(fx->st, 60, &job, &e), 1);
		finish(fx, &job, "{}", "v1");
	}
	assert_int_equal(stor_scan_rearm(fx->st, "v2", &n, &e), 0);
	assert_int_equal(n, 2);
	/* A push waiting keeps them back. */
	c = put(fx, REPO, "{\"img\":13}", true, NULL, 0);
	assert_int_equal(stor_scan_claim_rematch(fx->st, 60, jobs, 4, &n, &e),
			 0);
	assert_int_equal(n, 0);
	claim(fx, &c, &job);
	finish(fx, &job, "{}", "v2");
	assert_int_equal(stor_scan_claim_rematch(fx->st, 60, jobs, 1, &n, &e),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(jobs[0].attempts, 1);
	assert_int_equal(
		stor_scan_claim_rematch(fx->st, 60, jobs + 1, 4, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_false(digest_eq(&jobs[0].digest, &jobs[1].digest));
	assert_true(digest_eq(&jobs[0].digest, &a) ||
		    digest_eq(&jobs[0].digest, &b));
	assert_int_equal(state_of(fx, &a), STOR_SCAN_RUNNING);
	assert_int_equal(state_of(fx, &b), STOR_SCAN_RUNNING);
	/* One given back (a batch stopped for a push): queued again, its
	 * attempt not counted, and claimed anew as before. */
	assert_int_equal(stor_scan_unclaim(fx->st, &jobs[1], 1, &e), 0);
	assert_int_equal(state_of(fx, &jobs[1].digest), STOR_SCAN_QUEUED);
	assert_int_equal(state_of(fx, &jobs[0].digest), STOR_SCAN_RUNNING);
	assert_int_equal(
		stor_scan_claim_rematch(fx->st, 60, jobs + 2, 4, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_true(digest_eq(&jobs[2].digest, &jobs[1].digest));
	assert_int_equal(jobs[2].attempts, jobs[1].attempts);
	/* The old claim gives back nothing of the new one's. */
	assert_int_equal(stor_scan_unclaim(fx->st, &jobs[1], 1, &e), 0);
	assert_int_equal(state_of(fx, &jobs[1].digest), STOR_SCAN_RUNNING);
	assert_int_equal(stor_scan_done(fx->st, &jobs[2], &e), 0);
	for (int i = 0; i < 3; i++)
		stor_scan_job_release(&jobs[i]);
}

/* A batch's transaction claims the next batch ahead: as a claim would,
 * none while a push waits, and none when the batch is refused. */
static void test_claim_ahead(void **state)
{
	struct fx *fx = *state;
	struct stor_scan_job job, jobs[1], ahead[4];
	struct stor_scan_next next = {60, ahead, 4, 9};
	struct stor_scan_outcome o = {0};
	struct stor_scan_result bad = {.findings = "[]", .db_version = "v2"};
	struct err e = ERR_INIT;
	struct digest d[3], p;
	size_t n;

	for (int i = 0; i < 3; i++) {
		char body[32];

		snprintf(body, sizeof(body), "{\"img\":%d}", 40 + i);
		d[i] = put(fx, REPO, body, true, NULL, 0);
		assert_int_equal(stor_scan_claim(fx->st, 60, &job, &e), 1);
		finish(fx, &job, "{}", "v1");
	}
	assert_int_equal(stor_scan_rearm(fx->st, "v2", &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(stor_scan_claim_rematch(fx->st, 60, jobs, 1, &n, &e),
			 0);
	assert_int_equal(n, 1);

	/* Refused (a result without its digest): nothing claimed. */
	o = (struct stor_scan_outcome){&jobs[0], &bad, NULL, NULL, 0, NULL};
	assert_int_equal(stor_scan_stage_end(fx->st, NULL, &o, 1, &next, &e),
			 -1);
	assert_int_equal(next.n, 0);
	e = (struct err)ERR_INIT;
	for (int i = 0; i < 3; i++)
		if (!digest_eq(&d[i], &jobs[0].digest))
			assert_int_equal(state_of(fx, &d[i]), STOR_SCAN_QUEUED);

	/* Written: the job done, the other two claimed in the same
	 * transaction, each once. */
	o = (struct stor_scan_outcome){&jobs[0], NULL, "v2", NULL, 0, NULL};
	assert_int_equal(stor_scan_stage_end(fx->st, NULL, &o, 1, &next, &e),
			 0);
	assert_int_equal(next.n, 2);
	assert_int_equal(state_of(fx, &jobs[0].digest), STOR_SCAN_DONE);
	assert_false(digest_eq(&ahead[0].digest, &ahead[1].digest));
	for (int i = 0; i < 2; i++) {
		assert_false(digest_eq(&ahead[i].digest, &jobs[0].digest));
		assert_int_equal(ahead[i].attempts, 1);
		assert_int_equal(state_of(fx, &ahead[i].digest),
				 STOR_SCAN_RUNNING);
	}
	stor_scan_job_release(&jobs[0]);

	/* A push waiting: the next batch's write claims nothing more. */
	assert_int_equal(stor_scan_rearm(fx->st, "v3", &n, &e), 0);
	p = put(fx, REPO, "{\"img\":43}", true, NULL, 0);
	o = (struct stor_scan_outcome){&ahead[0], NULL, "v2", NULL, 0, NULL};
	assert_int_equal(stor_scan_stage_end(fx->st, NULL, &o, 1, &next, &e),
			 0);
	assert_int_equal(next.n, 0);
	claim(fx, &p, &job);
	finish(fx, &job, "{}", "v3");
	assert_int_equal(stor_scan_done(fx->st, &ahead[1], &e), 0);
	stor_scan_job_release(&ahead[0]);
	stor_scan_job_release(&ahead[1]);
}

/* Whether dg's result is kept as the blob of text, and reads as text. */
static bool sc_blob_is(struct fx *fx, const struct digest *dg, const char *text)
{
	struct digest want = dg_of(text);
	struct err e = ERR_INIT;
	struct stor_scan sc;
	int64_t size;
	bool ok;

	assert_int_equal(stor_scan_get(fx->st, dg, true, &sc, &e), 0);
	ok = sc.has_result && sc.in_blob && digest_eq(&sc.report_blob, &want) &&
	     sc.report && !strcmp(sc.report, text) &&
	     stor_blob_stat(fx->st, NULL, &want, &size, &e) == 0 &&
	     size == (int64_t)strlen(text);
	stor_scan_release(&sc);
	return ok;
}

/* Re-arms for DB dbv and claims the two re-match jobs, a's first. */
static void claim_two(struct fx *fx, const char *dbv, const struct digest *a,
		      struct stor_scan_job jobs[2])
{
	struct stor_scan_job job;
	struct err e = ERR_INIT;
	size_t n;

	assert_int_equal(stor_scan_rearm(fx->st, dbv, &n, &e), 0);
	assert_int_equal(stor_scan_claim_rematch(fx->st, 60, jobs, 2, &n, &e),
			 0);
	assert_int_equal(n, 2);
	if (!digest_eq(&jobs[0].digest, a)) {
		job = jobs[0];
		jobs[0] = jobs[1];
		jobs[1] = job;
	}
}

/* Files left in DIR/uploads: staged blobs are temporary files there. */
static size_t uploads_count(struct fx *fx)
{
	char path[300];
	struct dirent *d;
	size_t n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/uploads", fx->dir);
	dir = opendir(path);
	assert_non_null(dir);
	while ((d = readdir(dir)))
		n += d->d_name[0] != '.';
	closedir(dir);
	return n;
}

/* A claim written in lots: nothing names a staged blob and no row
 * changes before stor_scan_stage_end() (a crash in between loses nothing
 * stored); then every lot's rows change at once.  A dropped stage leaves
 * no file and no row behind. */
static void test_stage(void **state)
{
	struct fx *fx = *state;
	struct digest a = put(fx, REPO, "{\"img\":17}", true, NULL, 0);
	struct digest b = put(fx, REPO, "{\"img\":18}", true, NULL, 0);
	struct digest dga = dg_of("{\"a\":2}"), dgb = dg_of("{\"b\":2}");
	struct stor_scan_result ra = {.findings = "[]", .db_version = "v2"};
	struct stor_scan_result rb = ra;
	struct stor_scan_outcome out[2];
	struct stor_scan_stage *stg = NULL;
	struct stor_scan_job job, jobs[2];
	struct err e = ERR_INIT;
	char text[16];
	int64_t size;

	for (int i = 0; i < 2; i++) {
		assert_int_equal(stor_scan_claim(fx->st, 60, &job, &e), 1);
		finish(fx, &job,
		       digest_eq(&job.digest, &a) ? "{\"a\":1}" : "{\"b\":1}",
		       "v1");
	}
	claim_two(fx, "v2", &a, jobs);
	ra.report_digest = &dga;
	rb.report_digest = &dgb;
	out[0] = (struct stor_scan_outcome){&jobs[0], &ra, NULL, NULL, 0, NULL};
	out[1] = (struct stor_scan_outcome){&jobs[1], &rb, NULL, NULL, 0, NULL};

	/* Two lots; each one's text is gone once it is staged. */
	snprintf(text, sizeof(text), "{\"a\":2}");
	ra.report = text;
	assert_int_equal(stor_scan_stage(fx->st, &stg, &out[0], 1, &e), 0);
	memset(text, 'x', sizeof(text) - 1);
	snprintf(text, sizeof(text), "{\"b\":2}");
	rb.report = text;
	assert_int_equal(stor_scan_stage(fx->st, &stg, &out[1], 1, &e), 0);
	memset(text, 'x', sizeof(text) - 1);
	ra.report = rb.report = NULL;
	assert_int_equal(uploads_count(fx), 2);
	assert_int_equal(stor_blob_stat(fx->st, NULL, &dga, &size, &e), -1);
	assert_int_equal(e.code, ERR_BLOB_UNKNOWN);
	e = (struct err)ERR_INIT;
	assert_true(sc_blob_is(fx, &a, "{\"a\":1}"));
	assert_int_equal(state_of(fx, &a), STOR_SCAN_RUNNING);

	assert_int_equal(stor_scan_stage_end(fx->st, stg, out, 2, NULL, &e), 0);
	assert_true(sc_blob_is(fx, &a, "{\"a\":2}"));
	assert_true(sc_blob_is(fx, &b, "{\"b\":2}"));
	assert_int_equal(state_of(fx, &a), STOR_SCAN_DONE);
	assert_int_equal(state_of(fx, &b), STOR_SCAN_DONE);
	assert_int_equal(uploads_count(fx), 0);
	stor_scan_job_release(&jobs[0]);
	stor_scan_job_release(&jobs[1]);

	/* Dropped: no blob, no temporary file, the rows as they were. */
	claim_two(fx, "v3", &a, jobs);
	stg = NULL;
	ra.report = "{\"a\":3}";
	ra.report_digest = NULL;
	out[0].job = &jobs[0];
	assert_int_equal(stor_scan_stage(fx->st, &stg, out, 1, &e), 0);
	assert_int_equal(uploads_count(fx), 1);
	stor_scan_stage_drop(fx->st, stg);
	assert_int_equal(uploads_count(fx), 0);
	dga = dg_of("{\"a\":3}");
	assert_int_equal(stor_blob_stat(fx->st, NULL, &dga, &size, &e), -1);
	e = (struct err)ERR_INIT;
	assert_true(sc_blob_is(fx, &a, "{\"a\":2}"));
	/* A result without its digest is refused before any row changes. */
	stg = NULL;
	assert_int_equal(stor_scan_stage(fx->st, &stg, out, 1, &e), 0);
	assert_int_equal(stor_scan_stage_end(fx->st, stg, out, 1, NULL, &e),
			 -1);
	assert_int_equal(e.code, ERR_INTERNAL);
	assert_int_equal(uploads_count(fx), 0);
	assert_true(sc_blob_is(fx, &a, "{\"a\":2}"));
	stor_scan_job_release(&jobs[0]);
	stor_scan_job_release(&jobs[1]);
}

/* A report is kept once, as a blob its row names: gc keeps it while the
 * row does, and a lost blob reads as a result without report (the next
 * scan makes it anew), which fsck reports. */
static void test_report_blob(void **state)
{
	struct fx *fx = *state;
	struct digest d = put(fx, REPO, "{\"img\":16}", true, NULL, 0);
	const char *report = "{\"report\":16}";
	struct digest rd = dg_of(report);
	struct stor_gc_opts o;
	struct stor_gc_stats gs;
	struct stor_fsck_opts fo = {0};
	struct stor_fsck_stats fs;
	struct stor_scan_job job;
	struct err e = ERR_INIT;
	struct stor_scan sc;
	char path[600];

	claim(fx, &d, &job);
	finish(fx, &job, report, "v1");
	assert_true(sc_blob_is(fx, &d, report));

	stor_gc_opts_init(&o);
	o.grace_s = 0;
	o.max_sweep_share = 100;
	assert_int_equal(stor_gc(fx->st, &o, &gs, &e), 0);
	assert_true(sc_blob_is(fx, &d, report));
	assert_int_equal(stor_fsck(fx->st, &fo, &fs, &e), 0);
	assert_int_equal(fs.damage, 0);

	snprintf(path, sizeof(path), "%s/blobs/sha256/%.2s/%s", fx->dir, rd.hex,
		 rd.hex);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(stor_scan_get(fx->st, &d, true, &sc, &e), 0);
	assert_true(sc.has_result);
	assert_true(sc.in_blob);
	assert_null(sc.report);
	assert_string_equal(sc.db_version, "v1");
	stor_scan_release(&sc);
	/* fsck says it is lost. */
	assert_int_equal(stor_fsck(fx->st, &fo, &fs, &e), 0);
	assert_int_equal(fs.problems[STOR_FSCK_MISSING], 1);
}

/* A batch writes results, referrers and done in one go. */
static void test_finish_many(void **state)
{
	struct fx *fx = *state;
	struct digest a = put(fx, REPO, "{\"img\":14}", true, NULL, 0);
	struct digest b = put(fx, REPO, "{\"img\":15}", true, NULL, 0);
	struct digest old, blob_dg, ref_dg;
	struct stor_scan_job job, jobs[2];
	const char *blob = "{\"report\":1}", *ref = "{\"referrer\":1}";
	struct stor_scan_result r = {
		.report = "{\"new\":1}", .findings = "[]", .db_version = "v2"};
	struct stor_blob_data bd = {&blob_dg, blob, strlen(blob)};
	struct stor_manifest_put mp;
	struct stor_scan_referrer sr;
	struct stor_scan_outcome out[2];
	struct stor_manifest *m = NULL;
	struct stor_desc *d = NULL;
	struct stor_scan sc;
	struct err e = ERR_INIT;
	int64_t size;
	size_t n;

	for (int i = 0; i < 2; i++) {
		assert_int_equal(stor_scan_claim(fx->st, 60, &job, &e), 1);
		finish(fx, &job, "{}", "v1");
	}
	old = put(fx, REPO, "{\"old-referrer\":1}", false, NULL, 0);
	claim_two(fx, "v2", &a, jobs);
	blob_dg = dg_of(blob);
	ref_dg = dg_of(ref);
	mp = (struct stor_manifest_put){
		.repo = REPO,
		.digest = &ref_dg,
		.media_type = "application/vnd.oci.image.manifest.v1+json",
		.body = ref,
		.len = strlen(ref),
		.subject = &a,
		.artifact_type = "application/x-report",
		.refs = &blob_dg,
		.nrefs = 1,
	};
	sr = (struct stor_scan_referrer){&mp, &bd, 1, &old, 1};
	out[0] = (struct stor_scan_outcome){&jobs[0], &r, NULL, &sr, 1, NULL};
	out[1] =
		(struct stor_scan_outcome){&jobs[1], NULL, "v2", NULL, 0, NULL};
	assert_int_equal(stor_scan_finish_many(fx->st, out, 2, &e), 0);

	assert_int_equal(stor_scan_get(fx->st, &a, true, &sc, &e), 0);
	assert_int_equal(sc.state, STOR_SCAN_DONE);
	assert_string_equal(sc.report, r.report);
	assert_string_equal(sc.db_version, "v2");
	stor_scan_release(&sc);
	assert_int_equal(stor_scan_get(fx->st, &b, true, &sc, &e), 0);
	assert_int_equal(sc.state, STOR_SCAN_DONE);
	assert_string_equal(sc.report, "{}");
	assert_string_equal(sc.db_version, "v1");
	assert_string_equal(sc.checked_db, "v2");
	stor_scan_release(&sc);
	assert_int_equal(stor_blob_stat(fx->st, REPO, &blob_dg, &size, &e), 0);
	assert_int_equal(size, (int64_t)strlen(blob));
	assert_int_equal(stor_referrers(fx->st, REPO, &a, NULL, &d, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_true(digest_eq(&d[0].digest, &ref_dg));
	stor_desc_free(d, n);
	/* The referrer it replaces is gone. */
	assert_int_equal(stor_manifest_get(fx->st, REPO, NULL, &old, &m, &e),
			 -1);
	assert_int_equal(e.code, ERR_MANIFEST_UNKNOWN);
	e = (struct err)ERR_INIT;

	/* No referrer carries the report: it gets a blob of its own, which
	 * the row names. */
	assert_true(sc_blob_is(fx, &a, "{\"new\":1}"));
	stor_scan_job_release(&jobs[0]);
	stor_scan_job_release(&jobs[1]);
}

/* A meta.db made by the first schema keeps its jobs through the
 * migration. */
static void test_migrate_from_v1(void **state)
{
	struct fx *fx = *state;
	struct digest d = put(fx, REPO, "{\"img\":11}", true, NULL, 0);
	struct stor_scan_job job;
	struct err e = ERR_INIT;

	tmpstore_sqlite_only(); /* sqlite's own SQL and files */
	stor_free(fx->st);
	fx->st = NULL;
	tmpstore_sql(
		fx->dir,
		/* What schemas 6 and 3 added, then schema 2's scan tables. */
		"ALTER TABLE uploads DROP COLUMN blob_state;"
		"DROP INDEX uploads_by_repo; DROP INDEX uploads_by_client;"
		"ALTER TABLE uploads DROP COLUMN client;"
		"DROP TABLE blob_sizes;"
		"DROP TABLE scan_results; DROP TABLE scan_jobs;"
		"CREATE TABLE scan_jobs (digest TEXT PRIMARY KEY,"
		" repo TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'queued'"
		" CHECK (state IN ('queued', 'running', 'done', 'failed')),"
		" attempts INTEGER NOT NULL DEFAULT 0,"
		" created INTEGER NOT NULL, updated INTEGER NOT NULL)"
		" WITHOUT ROWID;"
		"CREATE INDEX scan_jobs_by_state ON scan_jobs(state, created);"
		"INSERT INTO scan_jobs VALUES ('sha256:"
		"0000000000000000000000000000000000000000000000000000000000000"
		"000',"
		" 'x/y', 'done', 0, 1, 1);"
		"PRAGMA user_version = 1;");
	{
		char sql[300];

		snprintf(sql, sizeof(sql),
			 "INSERT INTO scan_jobs VALUES ('sha256:%s', '%s',"
			 " 'queued', 0, 2, 2)",
			 d.hex, REPO);
		tmpstore_sql(fx->dir, sql);
	}
	fx->st = stor_open(fx->dir, &e);
	assert_non_null(fx->st);
	claim(fx, &d, &job);
	stor_scan_job_release(&job);
	/* The old done job is kept, as done. */
	assert_int_equal(
		state_of(fx,
			 &(struct digest){DIGEST_SHA256,
					  "000000000000000000000000000000000000"
					  "0000000000000000000000000000"}),
		STOR_SCAN_DONE);
}

/* --- Nodes: two stores on the same PostgreSQL metadata ----------------------
 */

struct heard {
	pthread_mutex_t lock;
	struct digest dg;
	int n;
};

static void heard_final(void *arg, const struct digest *dg)
{
	struct heard *h = arg;

	pthread_mutex_lock(&h->lock);
	h->dg = *dg;
	h->n++;
	pthread_mutex_unlock(&h->lock);
}

static int heard_count(struct heard *h)
{
	int n;

	pthread_mutex_lock(&h->lock);
	n = h->n;
	pthread_mutex_unlock(&h->lock);
	return n;
}

/* A second node: a store of its own directory on fx's metadata. */
static struct stor *node2_open(struct fx *fx)
{
	char dir[300];
	struct err e = ERR_INIT;
	struct stor *st;

	snprintf(dir, sizeof(dir), "%s/node2", fx->dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	st = stor_open(dir, &e);
	assert_non_null(st);
	return st;
}

/* A job running on a live node is not taken by another; once the node's
 * session is gone (it died), the other takes it without waiting for the
 * lease.  A scan that ends on one node is heard on the other. */
static void test_nodes(void **state)
{
	struct fx *fx = *state;
	struct digest d = put(fx, REPO, "{\"img\":\"nodes\"}", true, NULL, 0);
	struct heard h = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};
	struct stor_scan_job job, job2;
	struct stor *node2;
	struct err e = ERR_INIT;
	char sql[400];

	if (!tmpstore_pg())
		skip(); /* a sqlite store has one owner */
	node2 = node2_open(fx);
	stor_scan_on_final(node2, heard_final, &h);
	claim(fx, &d, &job);
	assert_int_equal(stor_scan_claim(node2, 3600, &job2, &e), 0);
	/* The first node dies: its sessions end. */
	snprintf(sql, sizeof(sql),
		 "SELECT pg_terminate_backend(owner_pid) FROM scan_jobs"
		 " WHERE digest = '%s'",
		 digest_str(&d, (char[DIGEST_STR_MAX]){0}));
	tmpstore_sql(fx->dir, sql);
	for (int i = 0; i < 500; i++) {
		int rc = stor_scan_claim(node2, 3600, &job2, &e);

		assert_int_not_equal(rc, -1);
		if (rc == 1)
			break;
		usleep(10 * 1000);
	}
	assert_true(digest_eq(&job2.digest, &d));
	assert_int_equal(job2.attempts, 2);
	/* The second node ends it, and hears so as any node would. */
	stor_scan_job_release(&job);
	assert_int_equal(stor_scan_done(node2, &job2, &e), 0);
	stor_scan_job_release(&job2);
	assert_int_equal(state_of(fx, &d), STOR_SCAN_DONE);
	for (int i = 0; i < 500 && !heard_count(&h); i++)
		usleep(10 * 1000);
	assert_int_equal(heard_count(&h), 1);
	assert_true(digest_eq(&h.dg, &d));
	stor_scan_on_final(node2, NULL, NULL);
	stor_free(node2);
}

/* The failed jobs, newest first, bounded: a retried one is not among them. */
static void test_failures(void **state)
{
	struct fx *fx = *state;
	struct digest a = put(fx, REPO, "{\"f\":1}", true, NULL, 0);
	struct digest b = put(fx, "team/other", "{\"f\":2}", true, NULL, 0);
	struct stor_scan_failure *v = NULL;
	struct stor_scan_job job;
	struct digest first;
	struct err e = ERR_INIT;
	size_t n = 9;

	assert_int_equal(stor_scan_failures(fx->st, 10, &v, &n, &e), 0);
	assert_int_equal(n, 0);
	stor_scan_failures_free(v, n);
	/* The first claimed fails for good, the other is retried. */
	assert_int_equal(stor_scan_claim(fx->st, 60, &job, &e), 1);
	first = job.digest;
	assert_true(digest_eq(&first, &a) || digest_eq(&first, &b));
	assert_int_equal(stor_scan_fail(fx->st, &job, "broken", -1, &e), 0);
	stor_scan_job_release(&job);
	claim(fx, digest_eq(&first, &a) ? &b : &a, &job);
	/* Retried later: not a failure yet. */
	assert_int_equal(stor_scan_fail(fx->st, &job, "busy",
					(int64_t)time(NULL) + 3600, &e),
			 0);
	stor_scan_job_release(&job);
	assert_int_equal(stor_scan_failures(fx->st, 10, &v, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_true(digest_eq(&v[0].digest, &first));
	assert_string_equal(v[0].repo,
			    digest_eq(&first, &a) ? REPO : "team/other");
	assert_string_equal(v[0].error, "broken");
	assert_int_equal(v[0].attempts, 1);
	assert_true(v[0].when > 0 && v[0].when <= (int64_t)time(NULL));
	stor_scan_failures_free(v, n);
	assert_int_equal(stor_scan_failures(fx->st, 0, &v, &n, &e), 0);
	assert_int_equal(n, 0);
	stor_scan_failures_free(v, n);
}

/* The heartbeat: a renewed lease keeps a running job from the other
 * claimers; one left to run out lets any of them take it again. */
static void test_lease_renew(void **state)
{
	struct fx *fx = *state;
	struct digest d = put(fx, REPO, "{\"img\":\"lease\"}", true, NULL, 0);
	struct stor_scan_job job, again;
	struct err e = ERR_INIT;
	size_t n = 0;

	/* Claimed with a lease already past: stale at once. */
	assert_int_equal(stor_scan_claim(fx->st, -10, &job, &e), 1);
	assert_int_equal(stor_scan_renew(fx->st, 60, &n, &e), 0);
	assert_int_equal(n, 1);
	claim_none(fx);
	/* Left to run out: taken again, one attempt more. */
	assert_int_equal(stor_scan_renew(fx->st, -10, &n, &e), 0);
	assert_int_equal(n, 1);
	claim(fx, &d, &again);
	assert_int_equal(again.attempts, job.attempts + 1);
	finish(fx, &again, NULL, NULL);
	/* Nothing runs any more: nothing to renew. */
	assert_int_equal(stor_scan_renew(fx->st, 60, &n, &e), 0);
	assert_int_equal(n, 0);
	stor_scan_job_release(&job);
}

/* A claimant whose lease ran out while it scanned, and whose job was
 * claimed again meanwhile, ends nothing: not the job (done or failed),
 * not its result, not a batch's rows.  Nor once the job has finished
 * and been claimed anew. */
static void test_stale_finish(void **state)
{
	struct fx *fx = *state;
	struct digest d = put(fx, REPO, "{\"img\":\"stale\"}", true, NULL, 0);
	struct stor_scan_result r = {.report = "{\"stale\":true}",
				     .findings = "[]",
				     .db_version = "db-1"};
	struct stor_scan_outcome o = {.checked_db = "db-2"};
	struct stor_scan_job stale, again, third;
	struct stor_scan sc;
	struct err e = ERR_INIT;
	bool left_out = false;

	/* Claimed with a lease already past: the next claim takes it. */
	assert_int_equal(stor_scan_claim(fx->st, -10, &stale, &e), 1);
	claim(fx, &d, &again);
	assert_int_equal(again.attempts, stale.attempts + 1);
	assert_int_not_equal(again.claim, stale.claim);
	assert_int_equal(stor_scan_result_put_claimed(fx->st, &stale, &r, &e),
			 -1);
	assert_int_equal(e.code, ERR_BUSY);
	err_clear(&e);
	assert_int_equal(stor_scan_done(fx->st, &stale, &e), -1);
	assert_int_equal(e.code, ERR_BUSY);
	err_clear(&e);
	assert_int_equal(stor_scan_fail(fx->st, &stale, "late", -1, &e), -1);
	assert_int_equal(e.code, ERR_BUSY);
	err_clear(&e);
	assert_int_equal(stor_scan_fail(fx->st, &stale, "late", 0, &e), -1);
	assert_int_equal(e.code, ERR_BUSY);
	err_clear(&e);
	assert_int_equal(stor_scan_checked(fx->st, &stale, "db-0", &e), -1);
	assert_int_equal(e.code, ERR_BUSY);
	err_clear(&e);
	assert_int_equal(stor_scan_get(fx->st, &d, false, &sc, &e), 0);
	assert_int_equal(sc.state, STOR_SCAN_RUNNING);
	assert_false(sc.has_result);
	assert_null(sc.error);
	assert_true(sc.claim == again.claim);
	stor_scan_release(&sc);
	/* The live claim ends it as usual. */
	r.report = "{\"again\":true}";
	assert_int_equal(stor_scan_result_put_claimed(fx->st, &again, &r, &e),
			 0);
	assert_int_equal(stor_scan_done(fx->st, &again, &e), 0);
	assert_int_equal(state_of(fx, &d), STOR_SCAN_DONE);
	/* Pushed again and claimed anew (attempts start over): the old
	 * claims end nothing, however their attempts compare. */
	put(fx, REPO, "{\"img\":\"stale\"}", true, NULL, 0);
	claim(fx, &d, &third);
	assert_int_equal(third.attempts, stale.attempts);
	assert_int_equal(stor_scan_done(fx->st, &stale, &e), -1);
	assert_int_equal(e.code, ERR_BUSY);
	err_clear(&e);
	assert_int_equal(stor_scan_done(fx->st, &again, &e), -1);
	assert_int_equal(e.code, ERR_BUSY);
	err_clear(&e);
	/* A batch leaves out the job that is no longer its claim's, and
	 * says so. */
	o.job = &stale;
	o.left_out = &left_out;
	assert_int_equal(stor_scan_finish_many(fx->st, &o, 1, &e), 0);
	assert_true(left_out);
	left_out = false;
	assert_int_equal(stor_scan_get(fx->st, &d, false, &sc, &e), 0);
	assert_int_equal(sc.state, STOR_SCAN_RUNNING);
	assert_string_equal(sc.checked_db, "db-1");
	stor_scan_release(&sc);
	o.job = &third;
	assert_int_equal(stor_scan_finish_many(fx->st, &o, 1, &e), 0);
	assert_false(left_out);
	assert_int_equal(stor_scan_get(fx->st, &d, false, &sc, &e), 0);
	assert_int_equal(sc.state, STOR_SCAN_DONE);
	assert_string_equal(sc.checked_db, "db-2");
	stor_scan_release(&sc);
	stor_scan_job_release(&stale);
	stor_scan_job_release(&again);
	stor_scan_job_release(&third);
}

/* Pushes body to repo under tag (NULL: by digest), with scan_db. */
static void push_tagged(struct fx *fx, const char *repo, const char *tag,
			const char *body, const char *scan_db)
{
	struct digest d = dg_of(body);
	struct err e = ERR_INIT;
	struct stor_manifest_put p = {
		.repo = repo,
		.tag = tag,
		.digest = &d,
		.media_type = "application/vnd.oci.image.manifest.v1+json",
		.body = body,
		.len = strlen(body),
		.enqueue_scan = true,
		.scan_db = scan_db,
	};

	assert_int_equal(stor_manifest_put(fx->st, &p, &e), 0);
}

/* A push that changes nothing the report depends on leaves a done job
 * alone: the image tagged in that repository already, its report matched
 * against the DB named.  Any other push queues it. */
static void test_push_current_report(void **state)
{
	struct fx *fx = *state;
	const char *body = "{\"img\":\"current\"}";
	struct digest d = dg_of(body);
	struct stor_scan_job job;

	push_tagged(fx, REPO, NULL, body, "v1");
	claim(fx, &d, &job);
	finish(fx, &job, "{\"report\":\"current\"}", "v1");
	/* Tagged for the first time: the repository's VEX may change. */
	push_tagged(fx, REPO, "v1", body, "v1");
	assert_int_equal(state_of(fx, &d), STOR_SCAN_QUEUED);
	claim(fx, &d, &job);
	finish(fx, &job, NULL, NULL);
	/* A tag more, or the same again: the report serves. */
	push_tagged(fx, REPO, "v2", body, "v1");
	assert_int_equal(state_of(fx, &d), STOR_SCAN_DONE);
	push_tagged(fx, REPO, "v1", body, "v1");
	assert_int_equal(state_of(fx, &d), STOR_SCAN_DONE);
	claim_none(fx);
	/* Not told the DB: as before. */
	push_tagged(fx, REPO, "v3", body, NULL);
	assert_int_equal(state_of(fx, &d), STOR_SCAN_QUEUED);
	claim(fx, &d, &job);
	finish(fx, &job, NULL, NULL);
	/* Another DB loaded, another repository: a job. */
	push_tagged(fx, REPO, "v4", body, "v2");
	assert_int_equal(state_of(fx, &d), STOR_SCAN_QUEUED);
	claim(fx, &d, &job);
	finish(fx, &job, NULL, NULL);
	push_tagged(fx, "team/other", "v1", body, "v1");
	assert_int_equal(state_of(fx, &d), STOR_SCAN_QUEUED);
}

/* A report referrer of subject in REPO, as the scan writes one. */
static struct stor_manifest_put
referrer_put(const struct digest *subject, const char *body, struct digest *dg)
{
	*dg = dg_of(body);
	return (struct stor_manifest_put){
		.repo = REPO,
		.digest = dg,
		.media_type = "application/vnd.oci.image.manifest.v1+json",
		.body = body,
		.len = strlen(body),
		.subject = subject,
		.artifact_type = "application/x-report",
		.if_subject = true,
	};
}

static size_t referrers_of(struct fx *fx, const struct digest *subject)
{
	struct stor_desc *d = NULL;
	struct err e = ERR_INIT;
	size_t n = 0;

	assert_int_equal(
		stor_referrers(fx->st, REPO, subject, NULL, &d, &n, &e), 0);
	stor_desc_free(d, n);
	return n;
}

/* The scan's referrers are stored only while their image is: one
 * published after the image's DELETE is not made, alone or in a batch,
 * so no referrer is left whose subject is gone.  A client's referrer may
 * still come before its subject (the OCI spec allows it). */
static void test_referrer_subject_gone(void **state)
{
	struct fx *fx = *state;
	struct digest img = put(fx, REPO, "{\"img\":\"gone\"}", true, NULL, 0);
	struct digest rdg, bdg;
	struct stor_manifest_put mp =
		referrer_put(&img, "{\"referrer\":\"gone\"}", &rdg);
	struct stor_scan_referrer sr = {&mp, NULL, 0, NULL, 0};
	struct stor_scan_outcome o = {
		.checked_db = "v2", .refs = &sr, .nrefs = 1};
	struct stor_manifest *m = NULL;
	struct stor_scan_job job;
	struct err e = ERR_INIT;

	claim(fx, &img, &job);
	/* While the image is there, as usual. */
	assert_int_equal(stor_manifest_put(fx->st, &mp, &e), 0);
	assert_int_equal(referrers_of(fx, &img), 1);
	assert_int_equal(stor_manifest_delete(fx->st, REPO, &rdg, &e), 0);
	/* Deleted: refused, nothing stored. */
	assert_int_equal(stor_manifest_delete(fx->st, REPO, &img, &e), 0);
	assert_int_equal(stor_manifest_put(fx->st, &mp, &e), -1);
	assert_int_equal(e.code, ERR_MANIFEST_UNKNOWN);
	err_clear(&e);
	assert_int_equal(referrers_of(fx, &img), 0);
	assert_int_equal(stor_manifest_get(fx->st, REPO, NULL, &rdg, &m, &e),
			 -1);
	err_clear(&e);
	/* A batch goes on without it. */
	o.job = &job;
	assert_int_equal(stor_scan_finish_many(fx->st, &o, 1, &e), 0);
	assert_int_equal(referrers_of(fx, &img), 0);
	assert_int_equal(stor_manifest_get(fx->st, REPO, NULL, &rdg, &m, &e),
			 -1);
	err_clear(&e);
	stor_scan_job_release(&job);
	/* Not asked for: stored before its subject. */
	mp = referrer_put(&img, "{\"client\":\"referrer\"}", &bdg);
	mp.if_subject = false;
	assert_int_equal(stor_manifest_put(fx->st, &mp, &e), 0);
	assert_int_equal(referrers_of(fx, &img), 1);
}

struct put_thread {
	struct stor *st;
	const struct stor_manifest_put *mp;
	struct err e;
	int rc;
};

static void *put_thread_run(void *arg)
{
	struct put_thread *t = arg;

	t->rc = stor_manifest_put(t->st, t->mp, &t->e);
	return NULL;
}

/* PostgreSQL, where transactions run side by side: a referrer put while
 * its image's DELETE is in flight waits for that DELETE and is then not
 * made (it would otherwise see the image, not yet deleted for it, and
 * outlive the DELETE's clean-up). */
static void test_referrer_delete_race(void **state)
{
	struct fx *fx = *state;
	struct digest img = put(fx, REPO, "{\"img\":\"race\"}", false, NULL, 0);
	struct digest rdg;
	struct stor_manifest_put mp =
		referrer_put(&img, "{\"referrer\":\"race\"}", &rdg);
	struct put_thread t = {fx->st, &mp, ERR_INIT, 0};
	char schema[32], sql[400], ds[DIGEST_STR_MAX];
	PGconn *c;
	pthread_t th;

	if (!tmpstore_pg())
		skip(); /* sqlite runs one write transaction at a time */
	c = PQconnectdb(tmpstore_pg());
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	tmpstore_schema(fx->dir, schema);
	snprintf(sql, sizeof(sql),
		 "SET search_path = %s; BEGIN;"
		 " DELETE FROM tags WHERE digest = '%s';"
		 " DELETE FROM manifests WHERE digest = '%s'",
		 schema, digest_str(&img, ds), ds);
	PQclear(PQexec(c, sql));
	assert_int_equal(PQtransactionStatus(c), PQTRANS_INTRANS);
	assert_int_equal(pthread_create(&th, NULL, put_thread_run, &t), 0);
	usleep(300 * 1000); /* the put reaches the image's row and waits */
	PQclear(PQexec(c, "COMMIT"));
	assert_int_equal(pthread_join(th, NULL), 0);
	PQfinish(c);
	assert_int_equal(t.rc, -1);
	assert_int_equal(t.e.code, ERR_MANIFEST_UNKNOWN);
	assert_int_equal(referrers_of(fx, &img), 0);
}

struct race_thread {
	struct stor *st;
	struct stor_scan_job *job;
	const struct digest *kids; /* NULL: finishes job */
	bool ready;
	int rc;
	struct err e;
};

static void *race_thread_run(void *arg)
{
	struct race_thread *t = arg;

	if (t->kids)
		t->rc = stor_scan_wait(t->st, t->job, t->kids, 1, &t->ready,
				       &t->e);
	else
		t->rc = stor_scan_done(t->st, t->job, &t->e);
	return NULL;
}

/* PostgreSQL: an index that found its platform running and is parking
 * while the platform's job finishes is woken by that finish (which waits
 * for the park), not left waiting for good.  An outside transaction holds
 * the index's row, so the park is caught between the two. */
static void test_index_wait_finish_race(void **state)
{
	struct fx *fx = *state;
	struct digest kid =
		put(fx, REPO, "{\"amd64\":\"race\"}", true, NULL, 0);
	struct digest idx;
	struct stor_scan_job job, kjob;
	struct race_thread w = {fx->st, &job, &kid, true, 0, ERR_INIT};
	struct race_thread f = {fx->st, &kjob, NULL, false, 0, ERR_INIT};
	char schema[32], sql[400], ds[DIGEST_STR_MAX];
	PGconn *c;
	pthread_t tw, tf;

	if (!tmpstore_pg())
		skip(); /* sqlite runs one write transaction at a time */
	claim(fx, &kid, &kjob);
	idx = put(fx, REPO, "{\"index\":\"race\"}", true, &kid, 1);
	claim(fx, &idx, &job);
	c = PQconnectdb(tmpstore_pg());
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	tmpstore_schema(fx->dir, schema);
	snprintf(sql, sizeof(sql),
		 "SET search_path = %s; BEGIN;"
		 " SELECT 1 FROM scan_jobs WHERE digest = '%s' FOR UPDATE",
		 schema, digest_str(&idx, ds));
	PQclear(PQexec(c, sql));
	assert_int_equal(PQtransactionStatus(c), PQTRANS_INTRANS);
	assert_int_equal(pthread_create(&tw, NULL, race_thread_run, &w), 0);
	usleep(300 * 1000); /* the index read its platform; its park waits */
	assert_int_equal(pthread_create(&tf, NULL, race_thread_run, &f), 0);
	usleep(300 * 1000); /* the platform's finish runs (or waits) */
	PQclear(PQexec(c, "COMMIT"));
	assert_int_equal(pthread_join(tw, NULL), 0);
	assert_int_equal(pthread_join(tf, NULL), 0);
	PQfinish(c);
	assert_int_equal(w.rc, 0);
	assert_int_equal(f.rc, 0);
	assert_false(w.ready);
	assert_int_equal(state_of(fx, &kid), STOR_SCAN_DONE);
	assert_int_equal(state_of(fx, &idx), STOR_SCAN_QUEUED);
	stor_scan_job_release(&job);
	stor_scan_job_release(&kjob);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
		T(test_push_claim_done),
		T(test_tag_scans),
		T(test_layer_index),
		T(test_repush_while_running),
		T(test_same_digest_one_job),
		T(test_recover),
		T(test_recover_wakes_index),
		T(test_forget_wakes_index),
		T(test_fail_retry),
		T(test_index_waits),
		T(test_forget),
		T(test_result_without_job),
		T(test_rearm),
		T(test_request_id),
		T(test_repos_and_blob_put),
		T(test_claim_rematch),
		T(test_claim_ahead),
		T(test_finish_many),
		T(test_stage),
		T(test_report_blob),
		T(test_migrate_from_v1),
		T(test_nodes),
		T(test_failures),
		T(test_lease_renew),
		T(test_stale_finish),
		T(test_push_current_report),
		T(test_referrer_subject_gone),
		T(test_referrer_delete_race),
		T(test_index_wait_finish_race),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
