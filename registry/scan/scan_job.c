/* scan_job.c: one claimed scan job, on a worker thread.
 *
 * A job brings one digest's report up to date and puts it in every
 * repository that has the manifest:
 *   - an image without a report is scanned (layers from the blob store);
 *   - an image whose report was made with another DB is re-matched from
 *     the inventory the report lists;
 *   - an index waits until each platform's job is final, then lists their
 *     reports;
 *   - otherwise (pushed again, to another repository) the report is only
 *     published.
 * A report is replaced only when its findings change.  Its referrer is
 * published before the report is stored: a client that sees the report
 * finds its referrer.  The SBOM referrers (two more blobs and manifests
 * written and synced: most of a merge's time) follow the store and the
 * waiters' wake-up; the job is marked done only after them, so a crash in
 * between leaves it running, and the next claim finds the stored report
 * and publishes them again.  A client that sees the job done (its
 * scan.completed event) finds them.
 *
 * A job is the claim's that took it only while its lease holds: a worker
 * that stalled past it (or a node cut off from PostgreSQL) may find the
 * job claimed again.  Its result row and its end are then refused by the
 * store (ERR_BUSY), and it publishes nothing once it sees so: the new
 * claim does the work.
 *
 * Every line a job logs names the request that queued it (the push's
 * request id, kept with the job); a re-match after a DB change names
 * none.
 */
#include "registry/scan/scan_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "registry/metrics_int.h"
#include "common/xmalloc.h"
#include "scanner/scanner.h"
#include "common/banned.h"

/* What the scanner writes as the note of a report without a DB (it must
 * start with the scanner's SCAN_NO_DB so a re-match replaces it). */
#define RS_NO_DB_NOTE                                                          \
	"no vulnerability data: the registry has no vulnerability DB loaded"

/* The scanner reads blobs straight from the store.  Any repository's link
 * will do: the manifest PUT checked its blobs were in its repository. */
static int rs_open_blob(void *ctx, const struct digest *dg, struct scan_blob *b,
			struct err *e)
{
	struct rs_job *j = ctx;

	scan_blob_init(b);
	b->offset = 0;
	/* A shutdown ends the scan at the next blob; the report would lack
	 * layers, so it is dropped and the job taken again at the next
	 * start. */
	if (rs_stopping(j->w->pool)) {
		j->stopped = true;
		return err_set(e, ERR_IO, "the registry is stopping");
	}
	return stor_blob_open(j->st, NULL, dg, &b->fd, &b->size, e);
}

void rs_worker_db(struct rs_worker *w)
{
	uint64_t gen = rs_db_gen(w->pool);
	struct err e = ERR_INIT;

	if (w->db_gen == gen)
		return;
	vulndb_free(w->db);
	free(w->db_note);
	w->db_note = NULL;
	w->db = vulndb_open(w->pool->db_path, &e);
	if (w->db)
		vulndb_prefer(w->db, w->pool->sev_pref);
	if (!w->db) {
		w->db_note = xstrdup(RS_NO_DB_NOTE);
		if (e.code != ERR_NOT_FOUND)
			log_msg(LL_WARN, "scan: vulnerability DB: %s", e.msg);
	}
	w->db_gen = gen;
}

bool rs_same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

int rs_job_load(struct rs_job *j, struct err *e)
{
	const char *repo;
	size_t i;

	if (stor_manifest_repos(j->st, &j->job->digest, &j->repos, &j->nrepos,
				e) < 0)
		return -1;
	if (!j->nrepos)
		return 0;
	/* Read it where it was last pushed if it is still there. */
	for (i = 0; i < j->nrepos && strcmp(j->repos[i], j->job->repo); i++)
		;
	repo = j->repos[i < j->nrepos ? i : 0];
	j->repo = repo;
	if (stor_manifest_get(j->st, repo, NULL, &j->job->digest, &j->m, e) <
		    0 ||
	    stor_scan_get(j->st, &j->job->digest, true, &j->cur, e) < 0)
		return -1;
	if (j->cur.has_result && j->cur.report && !j->lazy) {
		j->old = json_loads(j->cur.report, 0, NULL);
		if (!j->old)
			log_msg(LL_WARN,
				"scan: stored report of %s is not JSON;"
				" scanning again",
				repo);
	}
	return 1;
}

/* An image none of whose layers was read as a filesystem is not a
 * container image (see scan.h). */
static int rs_job_judge(int rc, json_t **report)
{
	if (rc == 0 && rs_report_unread(*report))
		rs_mark_not_image(*report);
	return rc;
}

static int rs_job_image_raw(struct rs_job *j, bool vex, json_t **out,
			    struct err *e)
{
	struct scan_source src = {rs_open_blob, j};
	int rc;
	struct scan_opts o = {
		.budget = &j->w->pool->budget,
		.db = j->w->db,
		.db_note = j->w->db_note,
		.repository = j->job->repo,
	};

	/* With VEX (now or before), rs_vex_report() makes it again. */
	if (j->old && rs_same_str(j->cur.checked_db, j->dbv) && !vex) {
		j->what = "published";
		*out = json_incref(j->old);
		return 0;
	}
	if (j->old) {
		j->what = "re-matched";
		return rs_job_judge(scan_rematch(j->old, j->w->db, 0, out, e),
				    out);
	}
	/* Either way a scan (the report's "layer_index" tells them apart). */
	j->what = "scanned";
	rc = rs_job_layers(j, &src, &o, out, e);
	if (rc != 1)
		return rs_job_judge(rc, out);
	err_clear(e);
	rc = scan_run_sandboxed(&src, &j->job->digest, &o, &j->w->sb, out, e);
	if (rc == 0)
		reg_metrics_layer(
			REG_LAYER_IMAGE,
			json_array_size(json_object_get(*out, "layers")));
	return rs_job_judge(rc, out);
}

/* The image's report, with the VEX that concerns it applied. */
static int rs_job_image(struct rs_job *j, json_t **out, struct err *e)
{
	struct scan_vex *v = rs_vex_load(j);
	bool vex = v || (j->old && scan_vex_applied(j->old));
	int rc = rs_job_image_raw(j, vex, out, e);

	if (rc == 0 && vex && j->old && rs_same_str(j->cur.checked_db, j->dbv))
		j->what = "VEX applied";
	/* Its findings are all there: made by the scan or a re-match. */
	if (rc == 0 && rs_vex_report(j, v, NULL, out, e) < 0) {
		json_decref(*out);
		*out = NULL;
		rc = -1;
	}
	scan_vex_free(v);
	return rc;
}

/* Platforms that are artifacts (an index may list signatures beside the
 * images) get no job; the report notes them.  So do platforms the
 * repository lacks: a pull-through cache holds an index before the
 * platforms clients pull (and re-arms the index when one comes). */
static const char rs_skip_artifact[] = "not a container image";

static void rs_index_filter(struct rs_job *j, struct rs_platform *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct stor_manifest *m = NULL;
		struct err e = ERR_INIT;

		if (stor_manifest_get(j->st, j->repo, NULL, &p[i].digest, &m,
				      &e) == 0 &&
		    oci_manifest_kind_of(m->body, m->len) == OCI_KIND_ARTIFACT)
			p[i].skip = rs_skip_artifact;
		else if (e.code == ERR_MANIFEST_UNKNOWN)
			p[i].skip = "not in this repository (never pushed, "
				    "or not pulled through yet)";
		stor_manifest_free(m);
	}
}

/* 1 when the index job was parked to wait for its platforms. */
static int rs_job_index(struct rs_job *j, json_t **out, struct err *e)
{
	struct rs_index_part *parts = NULL;
	struct stor_scan *scans = NULL;
	struct rs_platform *p = NULL;
	struct digest *dgs = NULL;
	size_t n = 0, nimg = 0, i;
	bool ready = false;
	int ret = -1;

	if (rs_index_platforms(j->m->body, j->m->len, &p, &n, e) < 0)
		return -1;
	rs_index_filter(j, p, n);
	dgs = xcalloc(n + 1, sizeof(*dgs));
	for (i = 0; i < n; i++)
		if (!p[i].skip)
			dgs[nimg++] = p[i].digest;
	if (stor_scan_wait(j->st, j->job, dgs, nimg, &ready, e) < 0)
		goto out;
	if (!ready) {
		ret = 1;
		goto out;
	}
	parts = xcalloc(n + 1, sizeof(*parts));
	scans = xcalloc(n + 1, sizeof(*scans));
	for (i = 0; i < n; i++) {
		parts[i].p = &p[i];
		parts[i].why = p[i].skip;
		if (p[i].skip)
			continue;
		if (stor_scan_get(j->st, &p[i].digest, true, &scans[i], e) < 0)
			goto out;
		if (scans[i].report)
			parts[i].report = json_loads(scans[i].report, 0, NULL);
		parts[i].why = scans[i].error;
	}
	*out = rs_index_report(parts, n,
			       &(struct rs_index_meta){
				       .digest = &j->job->digest,
				       .media_type = j->m->media_type,
				       .repository = j->job->repo,
				       .db_version = j->dbv,
				       .now = time(NULL),
			       });
	/* No platform read as a filesystem (all artifacts or not container
	 * images, or none listed): neither is the index. */
	for (i = 0; i < n; i++)
		if (parts[i].report ? !rs_report_not_scanned(parts[i].report)
				    : p[i].skip != rs_skip_artifact)
			break;
	if (i == n)
		rs_mark_not_image(*out);
	j->what = "assembled";
	ret = 0;
out:
	for (i = 0; parts && i < n; i++)
		json_decref((json_t *)parts[i].report);
	for (i = 0; scans && i < n; i++)
		stor_scan_release(&scans[i]);
	free(parts);
	free(scans);
	free(dgs);
	free(p);
	return ret;
}

/* When *report says what the stored one says, *report becomes the stored
 * one (so every repository gets the same) and true is returned. */
static bool rs_job_keep_old(struct rs_job *j, json_t **report)
{
	if (!j->old || !rs_report_same(j->old, *report))
		return false;
	json_decref(*report);
	*report = json_incref(j->old);
	if (strcmp(j->what, "published"))
		j->what = "unchanged";
	return true;
}

/* Stores report, or (kept: it is the stored one) notes the DB it was
 * checked against. */
static int rs_job_store(struct rs_job *j, const json_t *report, bool kept,
			struct err *e)
{
	struct stor_scan_result r = {0};
	char *text, *findings;
	int ret;

	if (kept) {
		if (rs_same_str(j->cur.checked_db, j->dbv))
			return 0;
		return stor_scan_checked(j->st, j->job, j->dbv, e);
	}
	text = json_dumps(report, JSON_COMPACT);
	findings = rs_findings(report);
	if (!text) {
		free(findings);
		return err_set(e, ERR_INTERNAL, "cannot serialise report");
	}
	r.report = text;
	r.findings = findings;
	r.db_version = j->dbv;
	ret = stor_scan_result_put_claimed(j->st, j->job, &r, e);
	free(text);
	free(findings);
	return ret;
}

int64_t rs_retry_at(enum err_code c, int attempts, time_t now)
{
	int64_t wait = RS_RETRY_S;

	/* Failures of the image itself are final: a malformed image, or a
	 * hostile one (its worker died, or a limit or the deadline killed
	 * it) is not retried blindly. */
	if (c == ERR_UNSUPPORTED || c == ERR_MANIFEST_INVALID ||
	    c == ERR_MANIFEST_UNKNOWN || c == ERR_INVALID ||
	    c == ERR_BLOB_UNKNOWN || c == ERR_TOO_LARGE)
		return -1;
	if (attempts >= RS_MAX_ATTEMPTS)
		return -1;
	while (--attempts > 0 && wait < RS_RETRY_MAX_S)
		wait *= 2;
	return (int64_t)now + (wait < RS_RETRY_MAX_S ? wait : RS_RETRY_MAX_S);
}

/* Whether e says the job is not this claim's any more (see the top: it
 * was claimed again, or the image was deleted and the job with it);
 * logged so once, and the waiters look again. */
static bool rs_job_lost(const struct rs_job *j, const struct err *e)
{
	char ds[DIGEST_STR_MAX];

	if (e->code != ERR_BUSY)
		return false;
	log_msg(LL_INFO,
		"scan %s (%s): the job is no longer this claim's (claimed"
		" again after its lease ran out, or the image deleted);"
		" left as it is",
		digest_str(&j->job->digest, ds), j->job->repo);
	rs_notify(j->w->pool, &j->job->digest);
	return true;
}

/* 1 while the job is still this claim's, 0 when it was claimed again. */
static int rs_job_ours(struct rs_job *j, struct err *e)
{
	struct stor_scan now;
	int ret;

	err_clear(e); /* what the report's making left behind */
	if (stor_scan_peek(j->st, &j->job->digest, &now, e) < 0)
		return -1;
	ret = now.state == STOR_SCAN_RUNNING && now.claim == j->job->claim;
	stor_scan_release(&now);
	if (!ret)
		err_set(e, ERR_BUSY, "claimed again");
	return ret;
}

void rs_job_fail(struct rs_job *j, const struct err *why)
{
	char ds[DIGEST_STR_MAX];
	struct err e = ERR_INIT;
	int64_t retry_at = rs_retry_at(why->code, j->job->attempts, time(NULL));
	bool final = retry_at < 0;

	reg_metrics_scan(NULL, NULL);

	digest_str(&j->job->digest, ds);
	log_msg(final ? LL_WARN : LL_INFO, "scan %s (%s): %s%s", ds,
		j->job->repo, why->msg,
		final ? (j->job->attempts < RS_MAX_ATTEMPTS ? "; not retried"
							    : "; giving up")
		      : "; will retry");
	if (rs_job_failed(j, why->msg, retry_at, &e) < 0 && !rs_job_lost(j, &e))
		log_msg(LL_ERROR, "scan %s: %s", ds, e.msg);
	if (final)
		rs_notify(j->w->pool, &j->job->digest);
}

/* Back to the queue as it was: the scan was cut short by a shutdown. */
static void rs_job_requeue(struct rs_job *j)
{
	char ds[DIGEST_STR_MAX];
	struct err e = ERR_INIT;

	digest_str(&j->job->digest, ds);
	log_msg(LL_INFO,
		"scan %s (%s): interrupted by shutdown; taken again "
		"at the next start",
		ds, j->job->repo);
	if (stor_scan_fail(j->st, j->job, "interrupted by shutdown", 0, &e) <
		    0 &&
	    !rs_job_lost(j, &e))
		log_msg(LL_ERROR, "scan %s: %s", ds, e.msg);
}

void rs_job_log(const struct rs_job *j, const json_t *report,
		const struct timespec *t0)
{
	const json_t *c = json_object_get(report, "counts");
	struct timespec t1;
	char ds[DIGEST_STR_MAX];
	long ms;

	reg_metrics_scan(report, t0);
	if (LL_INFO < log_min_level)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0->tv_sec) * 1000 +
	     (t1.tv_nsec - t0->tv_nsec) / 1000000;
	log_msg(LL_INFO,
		"scan %s (%s): %s in %ld ms: %" JSON_INTEGER_FORMAT
		" critical, %" JSON_INTEGER_FORMAT
		" high, %" JSON_INTEGER_FORMAT " medium, %" JSON_INTEGER_FORMAT
		" low, %" JSON_INTEGER_FORMAT " unknown; db %s",
		digest_str(&j->job->digest, ds), j->job->repo, j->what, ms,
		json_integer_value(json_object_get(c, "critical")),
		json_integer_value(json_object_get(c, "high")),
		json_integer_value(json_object_get(c, "medium")),
		json_integer_value(json_object_get(c, "low")),
		json_integer_value(json_object_get(c, "unknown")),
		j->dbv ? j->dbv : "none");
}

/* Runs the job to a report, or parks it (1). */
static int rs_job_report(struct rs_job *j, json_t **report, struct err *e)
{
	switch (rs_manifest_kind(j->m->body, j->m->len)) {
	case 1:
		return rs_job_index(j, report, e);
	case 0:
		return rs_job_image(j, report, e);
	default:
		return err_set(e, ERR_UNSUPPORTED, "%s", REG_SCAN_NOT_IMAGE);
	}
}

/* The report referrer in each repository.  A report that says "not
 * scanned" is not published, and the referrers published before for the
 * manifest are withdrawn. */
static int rs_job_publish(struct rs_job *j, const json_t *report, struct err *e)
{
	bool none = rs_report_not_scanned(report);

	for (size_t i = 0; i < j->nrepos; i++)
		if ((none ? rs_unpublish(j->st, j->repos[i], &j->job->digest, e)
			  : rs_publish(j->st, j->repos[i], &j->job->digest,
				       report, e)) < 0)
			return -1;
	return 0;
}

/* The SBOM referrers in each repository, once the report is stored. */
static int rs_job_sboms(struct rs_job *j, const json_t *report, struct err *e)
{
	if (rs_report_not_scanned(report))
		return 0;
	for (size_t i = 0; i < j->nrepos; i++)
		if (rs_sbom_publish(j->st, j->repos[i], &j->job->digest, report,
				    j->w->pool->sbom, e) < 0)
			return -1;
	return 0;
}

/* Milliseconds since *t, and *t becomes now (the phases' debug line). */
static long rs_lap(struct timespec *t)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - t->tv_sec) * 1000 +
	     (now.tv_nsec - t->tv_nsec) / 1000000;
	*t = now;
	return ms;
}

void rs_job_run(struct rs_worker *w, struct stor_scan_job *job)
{
	struct rs_job j = {.w = w, .st = w->pool->st, .job = job};
	struct err e = ERR_INIT;
	json_t *report = NULL;
	struct timespec t0, lap;
	long ph[6] = {0};
	bool kept = false;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	log_set_request_id(job->request_id);
	if (LL_INFO >= log_min_level) {
		char ds[DIGEST_STR_MAX];

		log_msg(LL_INFO, "scan %s (%s): started, attempt %d",
			digest_str(&job->digest, ds), job->repo, job->attempts);
	}
	rs_worker_db(w);
	j.dbv = w->db ? vulndb_version(w->db) : NULL;
	lap = t0;
	rc = rs_job_load(&j, &e);
	ph[0] = rs_lap(&lap);
	if (rc == 0) {
		/* Deleted from every repository meanwhile. */
		if (stor_scan_forget(j.st, &job->digest, &e) < 0)
			log_msg(LL_ERROR, "scan: %s", e.msg);
		rs_notify(w->pool, &job->digest);
		goto out;
	}
	if (rc > 0)
		rc = rs_job_report(&j, &report, &e);
	ph[1] = rs_lap(&lap);
	if (rc == 1)
		goto out;
	if (j.stopped || (rc < 0 && rs_stopping(w->pool))) {
		rs_job_requeue(&j);
		goto out;
	}
	if (rc >= 0)
		kept = rs_job_keep_old(&j, &report);
	/* A scan takes long enough for the lease to run out: publish only
	 * what is still ours to publish. */
	if (rc >= 0 && rs_job_ours(&j, &e) <= 0)
		rc = -1;
	if (rc < 0 || rs_job_publish(&j, report, &e) < 0 ||
	    (ph[2] = rs_lap(&lap), rs_job_store(&j, report, kept, &e)) < 0) {
		if (!rs_job_lost(&j, &e))
			rs_job_fail(&j, &e);
		goto out;
	}
	/* Logged and counted as it is had: waiters have the report now; the
	 * SBOMs follow (see the top). */
	ph[3] = rs_lap(&lap);
	rs_job_log(&j, report, &t0);
	rs_notify(w->pool, &job->digest);
	if (!rs_report_not_scanned(report))
		rs_reported(w->pool, &job->digest);
	if (LL_DEBUG >= log_min_level) {
		char ds[DIGEST_STR_MAX];

		log_msg(LL_DEBUG, "scan %s (%s): report stored, SBOMs next",
			digest_str(&job->digest, ds), job->repo);
	}
	if (rs_job_sboms(&j, report, &e) < 0 ||
	    (ph[4] = rs_lap(&lap), rs_job_done(&j, report, &e)) < 0) {
		if (!rs_job_lost(&j, &e))
			rs_job_fail(&j, &e);
		goto out;
	}
	ph[5] = rs_lap(&lap);
	if (LL_DEBUG >= log_min_level)
		log_msg(LL_DEBUG,
			"scan: phases (ms): load %ld, report %ld, referrer %ld,"
			" stored %ld, SBOMs %ld, done %ld",
			ph[0], ph[1], ph[2], ph[3], ph[4], ph[5]);
out:
	json_decref(report);
	rs_job_release(&j);
	log_set_request_id(NULL);
}

void rs_job_release(struct rs_job *j)
{
	json_decref(j->old);
	stor_scan_release(&j->cur);
	stor_manifest_free(j->m);
	stor_strv_free(j->repos, j->nrepos);
	j->old = NULL;
	j->m = NULL;
	j->repos = NULL;
	j->nrepos = 0;
}
