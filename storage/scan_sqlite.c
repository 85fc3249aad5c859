/* scan_sqlite.c: the scan queue and scan results in meta.db.
 *
 * Jobs and results are keyed by manifest digest (see storage.h).  Every
 * change of state is one statement or one BEGIN IMMEDIATE transaction, so
 * a claim, a finish and a push that re-arms a job never interleave
 * half-way.  The statements live with the schema in meta_sqlite.c.
 */
#include "storage/sqlite_int.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

#include "common/banned.h"

static const char *const sq_scan_states[] = {
	[STOR_SCAN_NONE] = "",		 [STOR_SCAN_QUEUED] = "queued",
	[STOR_SCAN_RUNNING] = "running", [STOR_SCAN_WAITING] = "waiting",
	[STOR_SCAN_DONE] = "done",	 [STOR_SCAN_FAILED] = "failed",
};

static enum stor_scan_state sq_scan_state(const unsigned char *t)
{
	if (!t)
		return STOR_SCAN_NONE;
	for (int i = STOR_SCAN_QUEUED; i <= STOR_SCAN_FAILED; i++)
		if (!strcmp((const char *)t, sq_scan_states[i]))
			return (enum stor_scan_state)i;
	return STOR_SCAN_NONE;
}

static bool sq_scan_final(enum stor_scan_state s)
{
	return s == STOR_SCAN_DONE || s == STOR_SCAN_FAILED;
}

int sq_mf_repos(struct stor_meta *m, const struct digest *dg, char ***out,
		size_t *count, struct err *e)
{
	struct sq *sq = sq_of(m);
	char ds[DIGEST_STR_MAX];
	struct sq_conn *c = sq_get(sq, e);
	sqlite3_stmt *s;
	bool more;
	int rc = -1;

	if (!c)
		return -1;
	s = sq_bind(c, SQ_MF_REPOS, e, "s", digest_str(dg, ds));
	if (s)
		rc = sq_strings(c, s, SQ_MF_REPOS, -1, out, count, &more, e);
	sq_reset(s);
	sq_put(sq, c);
	return rc;
}

int sq_scan_enqueue(struct stor_meta *m, const char *repo,
		    const struct digest *dg, bool if_absent, struct err *e)
{
	struct sq *sq = sq_of(m);
	char ds[DIGEST_STR_MAX];
	struct sq_conn *c = sq_get(sq, e);
	int ret;

	if (!c)
		return -1;
	digest_str(dg, ds);
	if (if_absent)
		ret = sq_run(c, SQ_SCAN_ADD_CHILD, NULL, e, "ssii", ds, repo,
			     sq_now(), (int64_t)0);
	else
		ret = sq_run(c, SQ_SCAN_ADD, NULL, e, "ssi", ds, repo,
			     sq_now());
	sq_put(sq, c);
	return ret;
}

/* Runs a claim statement: 1 with *job filled, 0 when nothing was due. */
static int sq_claim_one(struct sq_conn *c, enum sq_q q, int64_t lease_s,
			struct stor_scan_job *job, struct err *e)
{
	int64_t now = sq_now();
	sqlite3_stmt *s = sq_bind(c, q, e, "ii", now, now + lease_s);
	int rc, ret = -1;

	if (!s)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		ret = 0;
	} else if (rc != SQLITE_ROW) {
		sq_fail(c->db, sq_queries[q].what, e);
	} else if (sq_col_digest(s, 0, &job->digest, e) == 0) {
		job->repo = sq_col_strdup(s, 1);
		if (!job->repo)
			job->repo = xstrdup("");
		job->gen = sqlite3_column_int64(s, 2);
		job->attempts = sqlite3_column_int(s, 3);
		/* Finish the statement so its transaction commits. */
		while ((rc = sqlite3_step(s)) == SQLITE_ROW)
			;
		if (rc == SQLITE_DONE) {
			ret = 1;
		} else {
			sq_fail(c->db, sq_queries[q].what, e);
			stor_scan_job_release(job);
		}
	}
	sq_reset(s);
	return ret;
}

int sq_scan_claim(struct stor_meta *m, int64_t lease_s,
		  struct stor_scan_job *job, struct err *e)
{
	struct sq *sq = sq_of(m);
	struct sq_conn *c = sq_get(sq, e);
	int ret;

	if (!c)
		return -1;
	memset(job, 0, sizeof(*job));
	ret = sq_claim_one(c, SQ_SCAN_CLAIM, lease_s, job, e);
	if (ret == 0)
		ret = sq_claim_one(c, SQ_SCAN_CLAIM_STALE, lease_s, job, e);
	sq_put(sq, c);
	return ret;
}

int sq_scan_recover(struct stor_meta *m, int max_attempts, size_t *n,
		    struct err *e)
{
	int changes = 0, ret;

	ret = sq_do(sq_of(m), SQ_SCAN_RECOVER, &changes, e, "ii", sq_now(),
		    (int64_t)max_attempts);
	if (ret == 0 && n)
		*n = (size_t)changes;
	return ret;
}

int sq_scan_result_put(struct stor_meta *m, const struct digest *dg,
		       const struct stor_scan_result *r, struct err *e)
{
	char ds[DIGEST_STR_MAX];

	return sq_do(sq_of(m), SQ_SCAN_RESULT_PUT, NULL, e, "ssssi",
		     digest_str(dg, ds), r->report,
		     r->findings ? r->findings : "[]", r->db_version, sq_now());
}

int sq_scan_checked(struct stor_meta *m, const struct digest *dg,
		    const char *db_version, struct err *e)
{
	char ds[DIGEST_STR_MAX];

	return sq_do(sq_of(m), SQ_SCAN_CHECKED, NULL, e, "ss",
		     digest_str(dg, ds), db_version);
}

struct sq_finish_arg {
	const struct stor_scan_job *job;
	const char *why;  /* failing */
	int64_t retry_at; /* failing: < 0 for good */
	bool fail;
};

static int sq_finish_fn(struct sq_conn *c, const void *arg, struct err *e)
{
	const struct sq_finish_arg *a = arg;
	char ds[DIGEST_STR_MAX];
	int64_t now = sq_now();
	bool final = !a->fail || a->retry_at < 0;

	digest_str(&a->job->digest, ds);
	if (!a->fail &&
	    sq_run(c, SQ_SCAN_DONE, NULL, e, "sii", ds, a->job->gen, now) < 0)
		return -1;
	if (a->fail &&
	    sq_run(c, SQ_SCAN_FAIL, NULL, e, "ssisi", ds,
		   a->retry_at < 0 ? "failed" : "queued",
		   a->retry_at < 0 ? (int64_t)0 : a->retry_at, a->why, now) < 0)
		return -1;
	if (final &&
	    sq_run(c, SQ_SCAN_WAKE_PARENTS, NULL, e, "si", ds, now) < 0)
		return -1;
	return 0;
}

int sq_scan_done(struct stor_meta *m, const struct stor_scan_job *job,
		 struct err *e)
{
	struct sq_finish_arg a = {job, NULL, 0, false};

	return sq_txn(sq_of(m), sq_finish_fn, &a, e);
}

int sq_scan_fail(struct stor_meta *m, const struct stor_scan_job *job,
		 const char *why, int64_t retry_at, struct err *e)
{
	struct sq_finish_arg a = {job, why, retry_at, true};

	return sq_txn(sq_of(m), sq_finish_fn, &a, e);
}

struct sq_wait_arg {
	const struct stor_scan_job *job;
	const struct digest *children;
	size_t n;
	bool *ready;
};

/* Adds the child's job if it has none; 1 if it is done or failed. */
static int sq_child_final(struct sq_conn *c, const char *repo, const char *ds,
			  struct err *e)
{
	sqlite3_stmt *s;
	bool final = false;
	int rc;

	if (sq_run(c, SQ_SCAN_ADD_CHILD, NULL, e, "ssii", ds, repo, sq_now(),
		   (int64_t)0) < 0)
		return -1;
	s = sq_bind(c, SQ_SCAN_CHILD_STATE, e, "s", ds);
	if (!s)
		return -1;
	rc = sq_row(c, s, SQ_SCAN_CHILD_STATE, e);
	if (rc == 1)
		final = sq_scan_final(sq_scan_state(sqlite3_column_text(s, 0)));
	sq_reset(s);
	return rc < 0 ? -1 : final;
}

static int sq_wait_fn(struct sq_conn *c, const void *arg, struct err *e)
{
	const struct sq_wait_arg *a = arg;
	char ds[DIGEST_STR_MAX];
	bool ready = true;
	int rc;

	for (size_t i = 0; i < a->n; i++) {
		rc = sq_child_final(c, a->job->repo,
				    digest_str(&a->children[i], ds), e);
		if (rc < 0)
			return -1;
		if (!rc)
			ready = false;
	}
	if (!ready && sq_run(c, SQ_SCAN_WAIT, NULL, e, "si",
			     digest_str(&a->job->digest, ds), sq_now()) < 0)
		return -1;
	*a->ready = ready;
	return 0;
}

int sq_scan_wait(struct stor_meta *m, const struct stor_scan_job *job,
		 const struct digest *children, size_t n, bool *ready,
		 struct err *e)
{
	struct sq_wait_arg a = {job, children, n, ready};

	return sq_txn(sq_of(m), sq_wait_fn, &a, e);
}

static void sq_scan_row(sqlite3_stmt *s, struct stor_scan *out)
{
	out->state = sq_scan_state(sqlite3_column_text(s, 0));
	out->attempts = sqlite3_column_int(s, 1);
	out->error = sq_col_strdup(s, 2);
	out->has_result = sqlite3_column_int(s, 3) != 0;
	out->report = sq_col_strdup(s, 4);
	out->findings = sq_col_strdup(s, 5);
	out->db_version = sq_col_strdup(s, 6);
	out->checked_db = sq_col_strdup(s, 7);
	out->updated = sqlite3_column_int64(s, 8);
}

int sq_scan_get(struct stor_meta *m, const struct digest *dg, bool with_report,
		struct stor_scan *out, struct err *e)
{
	struct sq *sq = sq_of(m);
	char ds[DIGEST_STR_MAX];
	struct sq_conn *c = sq_get(sq, e);
	sqlite3_stmt *s;
	int rc = -1;

	if (!c)
		return -1;
	memset(out, 0, sizeof(*out));
	s = sq_bind(c, SQ_SCAN_GET, e, "si", digest_str(dg, ds),
		    (int64_t)with_report);
	if (s)
		rc = sq_row(c, s, SQ_SCAN_GET, e);
	if (rc == 1)
		sq_scan_row(s, out);
	sq_reset(s);
	sq_put(sq, c);
	return rc < 0 ? -1 : 0;
}

static int sq_forget_fn(struct sq_conn *c, const void *arg, struct err *e)
{
	const char *ds = arg;

	if (sq_run(c, SQ_SCAN_FORGET_JOB, NULL, e, "s", ds) < 0)
		return -1;
	return sq_run(c, SQ_SCAN_FORGET_RESULT, NULL, e, "s", ds);
}

int sq_scan_forget(struct stor_meta *m, const struct digest *dg, struct err *e)
{
	char ds[DIGEST_STR_MAX];

	return sq_txn(sq_of(m), sq_forget_fn, digest_str(dg, ds), e);
}

int sq_scan_rearm(struct stor_meta *m, const char *db_version, size_t *n,
		  struct err *e)
{
	int changes = 0, ret;

	ret = sq_do(sq_of(m), SQ_SCAN_REARM, &changes, e, "is", sq_now(),
		    db_version);
	if (ret == 0 && n)
		*n = (size_t)changes;
	return ret;
}

static void sq_stats_add(struct stor_scan_stats *out, const char *what,
			 size_t n)
{
	switch (sq_scan_state((const unsigned char *)what)) {
	case STOR_SCAN_QUEUED:
		out->queued = n;
		break;
	case STOR_SCAN_RUNNING:
		out->running = n;
		break;
	case STOR_SCAN_WAITING:
		out->waiting = n;
		break;
	case STOR_SCAN_DONE:
		out->done = n;
		break;
	case STOR_SCAN_FAILED:
		out->failed = n;
		break;
	case STOR_SCAN_NONE:
		if (!strcmp(what, "results"))
			out->results = n;
		break;
	}
}

int sq_scan_stats(struct stor_meta *m, struct stor_scan_stats *out,
		  struct err *e)
{
	struct sq *sq = sq_of(m);
	struct sq_conn *c = sq_get(sq, e);
	sqlite3_stmt *s;
	int rc = SQLITE_ERROR;

	if (!c)
		return -1;
	memset(out, 0, sizeof(*out));
	s = sq_bind(c, SQ_SCAN_STATS, e, "");
	if (s) {
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			const char *what =
				(const char *)sqlite3_column_text(s, 0);

			sq_stats_add(out, what ? what : "",
				     (size_t)sqlite3_column_int64(s, 1));
		}
		if (rc != SQLITE_DONE)
			sq_fail(c->db, sq_queries[SQ_SCAN_STATS].what, e);
	}
	sq_reset(s);
	sq_put(sq, c);
	return s && rc == SQLITE_DONE ? 0 : -1;
}

/* Re-match jobs are those stor_scan_rearm() queued (prio 1); a queued push
 * (prio 0) keeps them waiting. */
static const char sq_claim_rematch_sql[] =
	"UPDATE scan_jobs SET state = 'running',"
	" attempts = attempts + 1, lease = ?2, updated = ?1"
	" WHERE digest IN (SELECT digest FROM scan_jobs"
	"  WHERE state = 'queued' AND prio = 1 AND not_before <= ?1"
	"  AND NOT EXISTS (SELECT 1 FROM scan_jobs WHERE state = 'queued'"
	"   AND prio = 0 AND not_before <= ?1)"
	"  ORDER BY created LIMIT ?3)"
	" RETURNING digest, repo, gen, attempts";

int sq_scan_claim_rematch(struct stor_meta *m, int64_t lease_s,
			  struct stor_scan_job *jobs, size_t max, size_t *n,
			  struct err *e)
{
	struct sq *sq = sq_of(m);
	struct sq_conn *c = sq_get(sq, e);
	int64_t now = sq_now();
	sqlite3_stmt *s = NULL;
	size_t got = 0;
	int rc, ret = -1;

	if (!c)
		return -1;
	if (sqlite3_prepare_v2(c->db, sq_claim_rematch_sql, -1, &s, NULL) !=
	    SQLITE_OK) {
		sq_fail(c->db, "claim re-match jobs", e);
		goto out;
	}
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int64(s, 2, now + lease_s);
	sqlite3_bind_int64(s, 3, (int64_t)max);
	/* Every row is read: the statement commits when it is done. */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct stor_scan_job *job = &jobs[got];

		if (got == max)
			continue;
		memset(job, 0, sizeof(*job));
		if (sq_col_digest(s, 0, &job->digest, e) < 0)
			goto out;
		job->repo = sq_col_strdup(s, 1);
		if (!job->repo)
			job->repo = xstrdup("");
		job->gen = sqlite3_column_int64(s, 2);
		job->attempts = sqlite3_column_int(s, 3);
		got++;
	}
	if (rc != SQLITE_DONE) {
		sq_fail(c->db, "claim re-match jobs", e);
		goto out;
	}
	ret = 0;
out:
	if (ret < 0) {
		while (got)
			stor_scan_job_release(&jobs[--got]);
	}
	*n = got;
	sqlite3_finalize(s);
	sq_put(sq, c);
	return ret;
}

/* A referrer's rows: its blobs linked and sized, the manifest, the ones
 * it replaces deleted. */
static int sq_referrer_rows(struct sq_conn *c, const struct stor_scan_referrer *r,
			    struct err *e)
{
	const char *repo = r->put->repo;
	char ds[DIGEST_STR_MAX];

	for (size_t i = 0; i < r->nblobs; i++) {
		struct sq_link_arg a = {repo, digest_str(r->blobs[i].digest, ds)};

		if (sq_blob_link_fn(c, &a, e) < 0 ||
		    sq_run(c, SQ_BLOB_SIZE_PUT, NULL, e, "si", ds,
			   (int64_t)r->blobs[i].len) < 0)
			return -1;
	}
	if (sq_mf_put_fn(c, r->put, e) < 0)
		return -1;
	for (size_t i = 0; i < r->ndrop; i++) {
		struct sq_link_arg a = {repo, digest_str(&r->drop[i], ds)};
		struct err sub = ERR_INIT;

		if (sq_mf_delete_fn(c, &a, &sub) < 0 &&
		    sub.code != ERR_MANIFEST_UNKNOWN)
			return err_set(e, sub.code, "%s", sub.msg);
	}
	return 0;
}

static int sq_outcome_rows(struct sq_conn *c, const struct stor_scan_outcome *o,
			   struct err *e)
{
	const struct stor_scan_result *r = o->result;
	struct sq_finish_arg done = {o->job, NULL, 0, false};
	char ds[DIGEST_STR_MAX];

	for (size_t i = 0; i < o->nrefs; i++)
		if (sq_referrer_rows(c, &o->refs[i], e) < 0)
			return -1;
	digest_str(&o->job->digest, ds);
	if (r && sq_run(c, SQ_SCAN_RESULT_PUT, NULL, e, "ssssi", ds, r->report,
			r->findings ? r->findings : "[]", r->db_version,
			sq_now()) < 0)
		return -1;
	if (!r &&
	    sq_run(c, SQ_SCAN_CHECKED, NULL, e, "ss", ds, o->checked_db) < 0)
		return -1;
	return sq_finish_fn(c, &done, e);
}

struct sq_many_arg {
	const struct stor_scan_outcome *v;
	size_t n;
};

static int sq_finish_many_fn(struct sq_conn *c, const void *arg,
			     struct err *e)
{
	const struct sq_many_arg *a = arg;

	for (size_t i = 0; i < a->n; i++)
		if (sq_outcome_rows(c, &a->v[i], e) < 0)
			return -1;
	return 0;
}

int sq_scan_finish_many(struct stor_meta *m,
			const struct stor_scan_outcome *v, size_t n,
			struct err *e)
{
	struct sq_many_arg a = {v, n};

	return sq_txn(sq_of(m), sq_finish_many_fn, &a, e);
}
