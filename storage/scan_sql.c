/* scan_sql.c: the scan queue and scan results, on either engine
 * (sql_int.h).
 *
 * Jobs and results are keyed by manifest digest (see storage.h).  Every
 * change of state is one statement or one transaction, so a claim, a
 * finish and a push that re-arms a job never interleave half-way.  This
 * file is the scan-queue vtable (struct stor_scanq_ops); each statement
 * sits beside the function that runs it.
 *
 * On PostgreSQL the queue is shared by every node.  A claim takes its row
 * with FOR UPDATE SKIP LOCKED, so nodes claiming at once get different
 * jobs.  A running job names its owner (the claiming node's listener
 * session): a job whose lease ran out, or whose owner's session is gone
 * (the node died), is taken again by any node, and only such jobs are
 * recovered at a start (other nodes' jobs still run).  Each claim writes
 * a random token into the row, and the job's rows change on behalf of a
 * claim only while the row still holds its token: a node whose lease ran
 * out while it scanned (stalled, cut off from the database) finishes,
 * fails or parks nothing once another node has claimed the job.  A job
 * that ends for
 * good notifies PG_SCAN_CHANNEL with its digest when its transaction
 * commits, which wakes the report waiters of every node.
 */
#include "storage/sql_int.h"
#include "common/log.h"
#include "common/xmalloc.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "common/banned.h"

static const char *const sql_scan_states[] = {
	[STOR_SCAN_NONE] = "",		 [STOR_SCAN_QUEUED] = "queued",
	[STOR_SCAN_RUNNING] = "running", [STOR_SCAN_WAITING] = "waiting",
	[STOR_SCAN_DONE] = "done",	 [STOR_SCAN_FAILED] = "failed",
};

static enum stor_scan_state sql_scan_state(const char *t)
{
	if (!t)
		return STOR_SCAN_NONE;
	for (int i = STOR_SCAN_QUEUED; i <= STOR_SCAN_FAILED; i++)
		if (!strcmp(t, sql_scan_states[i]))
			return (enum stor_scan_state)i;
	return STOR_SCAN_NONE;
}

static bool sql_scan_final(enum stor_scan_state s)
{
	return s == STOR_SCAN_DONE || s == STOR_SCAN_FAILED;
}

/* A manifest pushed again re-arms its job: a failed one is scanned
 * again; a done one only puts its report into the repository it was
 * pushed to (the worker sees the result and reads no layer); a waiting
 * one (an index) is queued to look at its platforms anew (one may have
 * come in without waking it: a pull-through cache records a platform
 * under its index only after storing it); a queued or running one gets a
 * new generation, so it is queued once more when it finishes.  Pushes
 * come before re-matches (prio 0). */
static const struct sql_stmt sql_scan_add_q = {
	"enqueue scan",
	"INSERT INTO scan_jobs AS j (digest, repo, state, attempts, created,"
	" updated, request_id) VALUES (?1, ?2, 'queued', 0, ?3, ?3, ?4)"
	" ON CONFLICT (digest) DO UPDATE SET"
	" repo = excluded.repo, request_id = excluded.request_id,"
	" state = CASE WHEN j.state IN ('done', 'failed', 'waiting')"
	"  THEN 'queued' ELSE j.state END,"
	" attempts = CASE WHEN j.state IN ('done', 'failed')"
	"  THEN 0 ELSE j.attempts END,"
	" error = CASE WHEN j.state = 'failed' THEN NULL ELSE j.error END,"
	" prio = 0, not_before = 0, gen = j.gen + 1,"
	" updated = excluded.updated",
};

/* An index's platform, or stor_scan_enqueue() with if_absent. */
static const struct sql_stmt sql_scan_add_child = {
	"enqueue platform scan",
	"INSERT INTO scan_jobs (digest, repo, state, attempts, created,"
	" updated, prio, request_id) VALUES (?1, ?2, 'queued', 0, ?3, ?3, ?4,"
	" ?5) ON CONFLICT (digest) DO NOTHING",
};

/* A job names the request that queued it (the thread's, common/log.h),
 * so that its log lines do too. */
static const char *sql_request_id(void)
{
	return *log_request_id() ? log_request_id() : NULL;
}

int sql_scan_add(struct sql_conn *c, const char *ds, const char *repo,
		 int64_t now, struct err *e)
{
	return sql_run(c, &sql_scan_add_q, NULL, NULL, e, "ssis", ds, repo, now,
		       sql_request_id());
}

static int sql_scan_enqueue(struct stor_meta *m, const char *repo,
			    const struct digest *dg, bool if_absent,
			    struct err *e)
{
	char ds[DIGEST_STR_MAX];
	int n;

	digest_str(dg, ds);
	if (if_absent)
		n = sql_do(m, &sql_scan_add_child, NULL, NULL, e, "ssiis", ds,
			   repo, sql_now(), (int64_t)0, sql_request_id());
	else
		n = sql_do(m, &sql_scan_add_q, NULL, NULL, e, "ssis", ds, repo,
			   sql_now(), sql_request_id());
	return n < 0 ? -1 : 0;
}

static int sql_claim_row(void *arg, const struct sql_row *s, struct err *e)
{
	struct stor_scan_job *job = arg;

	if (sql_col_digest(s, 0, &job->digest, e) < 0)
		return -1;
	job->repo = sql_col_strdup(s, 1);
	if (!job->repo)
		job->repo = xstrdup("");
	job->gen = sql_col_int64(s, 2);
	job->attempts = (int)sql_col_int64(s, 3);
	job->request_id = sql_col_strdup(s, 4);
	job->claim = sql_col_int64(s, 5);
	return 0;
}

/* A claim's token: random, so that no two claims of a job share one,
 * whichever node makes them (a job deleted and pushed again starts over,
 * so a counter in the row would not do); never 0, which no claim has. */
static int sql_claim_token(int64_t *out, struct err *e)
{
	uint64_t v = 0;

	if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
		return err_set(e, ERR_INTERNAL, "no random bytes for a claim");
	v &= (uint64_t)INT64_MAX;
	*out = v ? (int64_t)v : 1;
	return 0;
}

/* A claim's job has changed hands (or ended) since: nothing was done. */
static int sql_not_ours(const struct stor_scan_job *job, struct err *e)
{
	char ds[DIGEST_STR_MAX];

	return err_set(e, ERR_BUSY,
		       "scan job %s is no longer this claim's (its lease ran"
		       " out and it was claimed again, or it ended)",
		       digest_str(&job->digest, ds));
}

/* A running job whose lease ran out or whose owner's session is gone
 * (PostgreSQL); ?1 is now. */
#define PG_STALE                                                               \
	"state = 'running' AND (lease < ?1 OR (owner_pid IS NOT NULL"          \
	" AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a"                    \
	" WHERE a.pid = owner_pid AND a.backend_start = owner_start)))"

/* Runs a claim statement: 1 with *job filled, 0 when nothing was due.
 * On sqlite the row is changed by the first step; sql_do() steps on to
 * the end, so the statement's transaction commits. */
static int sql_claim_one(struct stor_meta *m, const struct sql_stmt *q,
			 int64_t lease_s, struct stor_scan_job *job,
			 struct err *e)
{
	int64_t now = sql_now(), token = 0;
	char pid[24], start[64];
	int n;

	if (sql_claim_token(&token, e) < 0)
		return -1;
	sql_owner(m, pid, start);
	n = sql_do(m, q, sql_claim_row, job, e, "iissi", now, now + lease_s,
		   *pid ? pid : NULL, *start ? start : NULL, token);

	if (n < 0)
		stor_scan_job_release(job);
	return n < 0 ? -1 : n > 0;
}

static int sql_scan_claim(struct stor_meta *m, int64_t lease_s,
			  struct stor_scan_job *job, struct err *e)
{
	static const struct sql_stmt queued = {
		"claim scan job",
		"UPDATE scan_jobs SET state = 'running',"
		" attempts = attempts + 1, lease = ?2, updated = ?1,"
		" claim = ?5"
		" WHERE digest = (SELECT digest FROM scan_jobs"
		"  WHERE state = 'queued' AND not_before <= ?1"
		"  ORDER BY prio, created LIMIT 1)"
		" RETURNING digest, repo, gen, attempts, request_id, "
		"claim" SQL_PG(
			"UPDATE scan_jobs SET state = 'running',"
			" attempts = attempts + 1, lease = ?2, updated = ?1,"
			" owner_pid = ?3::integer, owner_start = "
			"?4::timestamptz,"
			" claim = ?5"
			" WHERE digest = (SELECT digest FROM scan_jobs"
			"  WHERE state = 'queued' AND not_before <= ?1"
			"  ORDER BY prio, created, digest LIMIT 1"
			"  FOR UPDATE SKIP LOCKED)"
			" RETURNING digest, repo, gen, attempts, request_id,"
			" claim"),
	};
	static const struct sql_stmt stale = {
		"claim stale scan job",
		"UPDATE scan_jobs SET state = 'running',"
		" attempts = attempts + 1, lease = ?2, updated = ?1,"
		" claim = ?5"
		" WHERE digest = (SELECT digest FROM scan_jobs"
		"  WHERE state = 'running' AND lease < ?1"
		"  ORDER BY lease LIMIT 1)"
		" RETURNING digest, repo, gen, attempts, request_id, "
		"claim" SQL_PG(
			"UPDATE scan_jobs SET state = 'running',"
			" attempts = attempts + 1, lease = ?2, updated = ?1,"
			" owner_pid = ?3::integer, owner_start = "
			"?4::timestamptz,"
			" claim = ?5"
			" WHERE digest = (SELECT digest FROM scan_jobs"
			"  WHERE " PG_STALE "  ORDER BY lease, digest LIMIT 1 "
			"FOR UPDATE SKIP LOCKED)"
			" RETURNING digest, repo, gen, attempts, request_id,"
			" claim"),
	};
	int ret;

	memset(job, 0, sizeof(*job));
	ret = sql_claim_one(m, &queued, lease_s, job, e);
	if (ret == 0)
		ret = sql_claim_one(m, &stale, lease_s, job, e);
	return ret;
}

static int sql_scan_renew(struct stor_meta *m, int64_t lease_s, size_t *n,
			  struct err *e)
{
	static const struct sql_stmt q = {
		"renew scan leases",
		"UPDATE scan_jobs SET lease = ?1 WHERE state = "
		"'running'" SQL_PG("UPDATE scan_jobs SET lease = ?1 WHERE "
				   "state = 'running'"
				   " AND owner_pid = ?2::integer"
				   " AND owner_start = ?3::timestamptz"),
	};
	char pid[24], start[64];
	int changes;

	sql_owner(m, pid, start);
	/* No session (the listener is reconnecting): nothing is ours. */
	if (sql_is(m, &sql_pg) && !*pid)
		changes = 0;
	else if (sql_is(m, &sql_pg))
		changes = sql_do(m, &q, NULL, NULL, e, "iss",
				 sql_now() + lease_s, pid, start);
	else
		changes =
			sql_do(m, &q, NULL, NULL, e, "i", sql_now() + lease_s);
	if (changes >= 0 && n)
		*n = (size_t)changes;
	return changes < 0 ? -1 : 0;
}

static int sql_scan_recover(struct stor_meta *m, int max_attempts, size_t *n,
			    struct err *e)
{
	static const struct sql_stmt q = {
		"recover scan jobs",
		"UPDATE scan_jobs SET"
		" state = CASE WHEN attempts >= ?2 THEN 'failed'"
		"  ELSE 'queued' END,"
		" error = CASE WHEN attempts >= ?2"
		"  THEN 'scan interrupted ' || attempts || ' times'"
		"  ELSE error END,"
		" lease = 0, updated = ?1"
		" WHERE state = 'running'" SQL_PG(
			"UPDATE scan_jobs SET"
			" state = CASE WHEN attempts >= ?2 THEN 'failed'"
			"  ELSE 'queued' END,"
			" error = CASE WHEN attempts >= ?2"
			"  THEN 'scan interrupted ' || attempts || ' times'"
			"  ELSE error END,"
			" lease = 0, owner_pid = NULL, updated = ?1"
			" WHERE " PG_STALE),
	};
	/* Every waiting index looks at its platforms anew: one failed here
	 * wakes nobody else, and a wake lost before (an older release could
	 * lose one) is made up.  Few jobs wait; one whose platforms still run
	 * parks again. */
	static const struct sql_stmt wake = {
		"wake index scans",
		"UPDATE scan_jobs SET state = 'queued', updated = ?1"
		" WHERE state = 'waiting'",
	};
	int changes = sql_do(m, &q, NULL, NULL, e, "ii", sql_now(),
			     (int64_t)max_attempts);

	if (changes < 0 || sql_do(m, &wake, NULL, NULL, e, "i", sql_now()) < 0)
		return -1;
	if (n)
		*n = (size_t)changes;
	return 0;
}

/* The row names the report's blob (r->report_digest, which scan_store.c
 * sets); the text is not kept here. */
static const struct sql_stmt sql_scan_result_put_q = {
	"store scan result",
	"INSERT INTO scan_results (digest, report, report_blob, findings,"
	" db_version, checked_db, created, updated)"
	" SELECT CAST(?1 AS TEXT), '', CAST(?2 AS TEXT), CAST(?3 AS TEXT),"
	" CAST(?4 AS TEXT), CAST(?4 AS TEXT), CAST(?5 AS BIGINT),"
	" CAST(?5 AS BIGINT)"
	" WHERE EXISTS (SELECT 1 FROM scan_jobs"
	" WHERE digest = CAST(?1 AS TEXT))"
	" ON CONFLICT (digest) DO UPDATE SET"
	" report = '',"
	" report_blob = excluded.report_blob,"
	" findings = excluded.findings,"
	" db_version = excluded.db_version,"
	" checked_db = excluded.checked_db,"
	" updated = excluded.updated",
};

/* As sql_scan_result_put_q, while claim ?6 still runs the job. */
static const struct sql_stmt sql_scan_result_claimed_q = {
	"store scan result",
	"INSERT INTO scan_results (digest, report, report_blob, findings,"
	" db_version, checked_db, created, updated)"
	" SELECT CAST(?1 AS TEXT), '', CAST(?2 AS TEXT), CAST(?3 AS TEXT),"
	" CAST(?4 AS TEXT), CAST(?4 AS TEXT), CAST(?5 AS BIGINT),"
	" CAST(?5 AS BIGINT)"
	" WHERE EXISTS (SELECT 1 FROM scan_jobs"
	" WHERE digest = CAST(?1 AS TEXT) AND state = 'running'"
	" AND claim = CAST(?6 AS BIGINT))"
	" ON CONFLICT (digest) DO UPDATE SET"
	" report = '',"
	" report_blob = excluded.report_blob,"
	" findings = excluded.findings,"
	" db_version = excluded.db_version,"
	" checked_db = excluded.checked_db,"
	" updated = excluded.updated",
};

static int sql_scan_result_put(struct stor_meta *m, const struct digest *dg,
			       const struct stor_scan_job *job,
			       const struct stor_scan_result *r, struct err *e)
{
	char ds[DIGEST_STR_MAX], rs[DIGEST_STR_MAX];
	int n;

	/* PostgreSQL binds as many parameters as the statement names. */
	n = sql_do(m, job ? &sql_scan_result_claimed_q : &sql_scan_result_put_q,
		   NULL, NULL, e, job ? "ssssii" : "ssssi", digest_str(dg, ds),
		   digest_str(r->report_digest, rs),
		   r->findings ? r->findings : "[]", r->db_version, sql_now(),
		   job ? job->claim : (int64_t)0);
	if (n == 0 && job)
		return sql_not_ours(job, e);
	return n < 0 ? -1 : 0;
}

static const struct sql_stmt sql_scan_checked_q = {
	"note scan re-match",
	"UPDATE scan_results SET checked_db = ?2 WHERE digest = ?1",
};

static int sql_scan_checked(struct stor_meta *m,
			    const struct stor_scan_job *job,
			    const char *db_version, struct err *e)
{
	static const struct sql_stmt q = {
		"note scan re-match",
		"UPDATE scan_results SET checked_db = ?2 WHERE digest = ?1"
		" AND EXISTS (SELECT 1 FROM scan_jobs WHERE digest = ?1"
		" AND state = 'running' AND claim = ?3)",
	};
	char ds[DIGEST_STR_MAX];
	int n;

	n = sql_do(m, &q, NULL, NULL, e, "ssi", digest_str(&job->digest, ds),
		   db_version, job->claim);
	if (n == 0)
		return sql_not_ours(job, e);
	return n < 0 ? -1 : 0;
}

struct sql_finish_arg {
	const struct stor_scan_job *job;
	const char *why;  /* failing */
	int64_t retry_at; /* failing: < 0 for good */
	bool fail;
};

/* Queues the index jobs waiting for platform ds: its job ended, or is
 * gone. */
static int sql_wake_indexes(struct sql_conn *c, const char *ds, int64_t now,
			    struct err *e)
{
	static const struct sql_stmt q = {
		"wake index scans",
		"UPDATE scan_jobs SET state = 'queued', updated = ?2"
		" WHERE state = 'waiting' AND digest IN"
		" (SELECT digest FROM manifest_refs WHERE child = ?1)",
	};

	return sql_run(c, &q, NULL, NULL, e, "si", ds, now);
}

static int sql_finish_fn(struct sql_conn *c, const void *arg, struct err *e)
{
	static const struct sql_stmt done = {
		"finish scan job",
		"UPDATE scan_jobs SET"
		" state = CASE WHEN gen = ?2 THEN 'done' ELSE 'queued' END,"
		" attempts = 0, lease = 0, not_before = 0,"
		" error = NULL, updated = ?3, claim = 0"
		" WHERE digest = ?1 AND state = 'running' AND claim = ?4",
	};
	static const struct sql_stmt fail = {
		"fail scan job",
		"UPDATE scan_jobs SET state = ?2, not_before = ?3,"
		" error = ?4, lease = 0, updated = ?5, claim = 0"
		" WHERE digest = ?1 AND state = 'running' AND claim = ?6",
	};
	static const struct sql_stmt notify = {
		"notify scan end",
		"" SQL_PG("SELECT pg_notify('" PG_SCAN_CHANNEL "', ?1)"),
	};
	const struct sql_finish_arg *a = arg;
	char ds[DIGEST_STR_MAX];
	int64_t now = sql_now();
	bool final = !a->fail || a->retry_at < 0;
	int n;

	digest_str(&a->job->digest, ds);
	if (!a->fail)
		n = sql_run(c, &done, NULL, NULL, e, "siii", ds, a->job->gen,
			    now, a->job->claim);
	else
		n = sql_run(c, &fail, NULL, NULL, e, "ssisii", ds,
			    a->retry_at < 0 ? "failed" : "queued",
			    a->retry_at < 0 ? (int64_t)0 : a->retry_at, a->why,
			    now, a->job->claim);
	if (n < 0)
		return -1;
	/* Another claim's now: the transaction (its events too) is undone. */
	if (n == 0)
		return sql_not_ours(a->job, e);
	if (final && (sql_wake_indexes(c, ds, now, e) < 0 ||
		      sql_run(c, &notify, NULL, NULL, e, "s", ds) < 0))
		return -1;
	return 0;
}

int sql_scan_finish_in(struct sql_conn *c, const struct stor_scan_job *job,
		       bool fail, const char *why, int64_t retry_at,
		       struct err *e)
{
	struct sql_finish_arg a = {job, why, retry_at, fail};

	return sql_finish_fn(c, &a, e);
}

static int sql_scan_done(struct stor_meta *m, const struct stor_scan_job *job,
			 struct err *e)
{
	struct sql_finish_arg a = {job, NULL, 0, false};

	return sql_txn(m, sql_finish_fn, &a, e);
}

static int sql_scan_fail(struct stor_meta *m, const struct stor_scan_job *job,
			 const char *why, int64_t retry_at, struct err *e)
{
	struct sql_finish_arg a = {job, why, retry_at, true};

	return sql_txn(m, sql_finish_fn, &a, e);
}

struct sql_wait_arg {
	const struct stor_scan_job *job;
	const struct digest *children;
	size_t n;
	bool *ready;
};

static int sql_state_row(void *arg, const struct sql_row *s, struct err *e)
{
	(void)e;
	*(enum stor_scan_state *)arg = sql_scan_state(sql_col_text(s, 0));
	return 0;
}

/* Adds the child's job if it has none; 1 if it is done or failed.  On
 * PostgreSQL the child's row is held until the index is parked: a finish
 * of the child in flight is waited for (and its state read), and one that
 * comes later runs its wake after the park commits.  Without the lock
 * both could miss each other, leaving the index waiting for good. */
static int sql_child_final(struct sql_conn *c, const char *repo, const char *ds,
			   struct err *e)
{
	static const struct sql_stmt q = {
		"read platform scan state",
		"SELECT state FROM scan_jobs WHERE digest = ?1" SQL_PG(
			"SELECT state FROM scan_jobs WHERE digest = ?1"
			" FOR SHARE"),
	};
	enum stor_scan_state state = STOR_SCAN_NONE;

	if (sql_run(c, &sql_scan_add_child, NULL, NULL, e, "ssiis", ds, repo,
		    sql_now(), (int64_t)0, sql_request_id()) < 0 ||
	    sql_run(c, &q, sql_state_row, &state, e, "s", ds) < 0)
		return -1;
	return sql_scan_final(state);
}

static int sql_wait_fn(struct sql_conn *c, const void *arg, struct err *e)
{
	static const struct sql_stmt q = {
		"park index scan",
		"UPDATE scan_jobs SET state = 'waiting', attempts = 0,"
		" lease = 0, updated = ?2, claim = 0"
		" WHERE digest = ?1 AND state = 'running' AND claim = ?3",
	};
	const struct sql_wait_arg *a = arg;
	char ds[DIGEST_STR_MAX];
	bool ready = true;
	int rc;

	for (size_t i = 0; i < a->n; i++) {
		rc = sql_child_final(c, a->job->repo,
				     digest_str(&a->children[i], ds), e);
		if (rc < 0)
			return -1;
		if (!rc)
			ready = false;
	}
	if (!ready) {
		rc = sql_run(c, &q, NULL, NULL, e, "sii",
			     digest_str(&a->job->digest, ds), sql_now(),
			     a->job->claim);
		if (rc < 0)
			return -1;
		if (rc == 0)
			return sql_not_ours(a->job, e);
	}
	*a->ready = ready;
	return 0;
}

static int sql_scan_wait(struct stor_meta *m, const struct stor_scan_job *job,
			 const struct digest *children, size_t n, bool *ready,
			 struct err *e)
{
	struct sql_wait_arg a = {job, children, n, ready};

	return sql_txn(m, sql_wait_fn, &a, e);
}

/* A scan's columns from column at on: state, attempts, error, has a
 * result, report, findings, db_version, checked_db, updated,
 * report_blob, the running claim's token. */
static int sql_scan_cols(const struct sql_row *s, int at, struct stor_scan *out,
			 struct err *e)
{
	out->state = sql_scan_state(sql_col_text(s, at));
	out->attempts = (int)sql_col_int64(s, at + 1);
	out->error = sql_col_strdup(s, at + 2);
	out->has_result = (int)sql_col_int64(s, at + 3) != 0;
	out->report = sql_col_strdup(s, at + 4);
	out->findings = sql_col_strdup(s, at + 5);
	out->db_version = sql_col_strdup(s, at + 6);
	out->checked_db = sql_col_strdup(s, at + 7);
	out->updated = sql_col_int64(s, at + 8);
	out->claim = sql_col_int64(s, at + 10);
	if (sql_col_text(s, at + 9)) {
		if (sql_col_digest(s, at + 9, &out->report_blob, e) < 0)
			return -1;
		out->in_blob = true;
	}
	return 0;
}

static int sql_scan_row(void *arg, const struct sql_row *s, struct err *e)
{
	return sql_scan_cols(s, 0, arg, e);
}

/* stor_tag_scans(): the rows grown as they come. */
struct sql_tag_scans {
	struct stor_tag_scan *v;
	size_t len, alloc;
};

static int sql_tag_scan_row(void *arg, const struct sql_row *r, struct err *e)
{
	struct sql_tag_scans *ts = arg;
	struct stor_tag_scan *t;

	if (ts->len == ts->alloc) {
		ts->alloc = ts->alloc ? 2 * ts->alloc : 16;
		ts->v = xrealloc(ts->v, ts->alloc * sizeof(*ts->v));
	}
	t = &ts->v[ts->len];
	memset(t, 0, sizeof(*t));
	ts->len++;
	if (sql_col_digest(r, 1, &t->t.digest, e) < 0)
		return -1;
	t->t.tag = sql_col_strdup(r, 0);
	t->t.tagged = sql_col_int64(r, 2);
	t->t.created = sql_col_int64(r, 3);
	t->t.media_type = sql_col_strdup(r, 4);
	return sql_scan_cols(r, 5, &t->scan, e);
}

static int sql_tag_scans(struct stor_meta *m, const char *repo,
			 struct stor_tag_scan **out, size_t *count,
			 struct err *e)
{
#define SQL_TAG_SCANS(results)                                                 \
	"SELECT t.tag, t.digest, t.updated, m.created, m.media_type,"          \
	" j.state, j.attempts, j.error, r.digest IS NOT NULL, NULL, NULL,"     \
	" r.db_version, NULL, r.updated, r.report_blob,"                       \
	" CASE WHEN j.state = 'running' THEN j.claim ELSE 0 END"               \
	" FROM tags t"                                                         \
	" JOIN manifests m ON m.repo = t.repo AND m.digest = t.digest"         \
	" LEFT JOIN scan_jobs j ON j.digest = t.digest"                        \
	" LEFT JOIN " results " ON r.digest = t.digest"                        \
	" WHERE t.repo = ?1 ORDER BY t.updated, t.tag"
	static const struct sql_stmt q = {
		"list tag scans",
		SQL_TAG_SCANS("scan_results r INDEXED BY scan_results_brief")
			SQL_PG(SQL_TAG_SCANS("scan_results r")),
	};
#undef SQL_TAG_SCANS
	struct sql_tag_scans ts = {NULL, 0, 0};

	if (sql_do(m, &q, sql_tag_scan_row, &ts, e, "s", repo) < 0) {
		stor_tag_scans_free(ts.v, ts.len);
		return -1;
	}
	*out = ts.v;
	*count = ts.len;
	return 0;
}

static int sql_scan_get(struct stor_meta *m, const struct digest *dg,
			bool with_report, bool with_findings,
			struct stor_scan *out, struct err *e)
{
	/* A column not asked for is not read (CASE): a report's findings
	 * are as long as its list. */
	static const struct sql_stmt q = {
		"read scan",
		"SELECT j.state, j.attempts, j.error, r.digest IS NOT NULL,"
		" CASE WHEN CAST(?2 AS BIGINT) <> 0 AND r.report_blob IS NULL"
		" THEN r.report END,"
		" CASE WHEN CAST(?3 AS BIGINT) <> 0 THEN r.findings END,"
		" r.db_version, r.checked_db, r.updated, r.report_blob,"
		" CASE WHEN j.state = 'running' THEN j.claim ELSE 0 END"
		" FROM (SELECT ?1 AS digest) k"
		" LEFT JOIN scan_jobs j ON j.digest = k.digest"
		" LEFT JOIN scan_results r ON r.digest = k.digest" SQL_PG(
			"SELECT j.state, j.attempts, j.error,"
			" r.digest IS NOT NULL,"
			" CASE WHEN ?2::bigint <> 0 AND r.report_blob IS NULL"
			" THEN r.report END,"
			" CASE WHEN ?3::bigint <> 0 THEN r.findings END,"
			" r.db_version, r.checked_db, r.updated, r.report_blob,"
			" CASE WHEN j.state = 'running' THEN j.claim ELSE 0 END"
			" FROM (SELECT ?1::text COLLATE \"C\" AS digest) k"
			" LEFT JOIN scan_jobs j ON j.digest = k.digest"
			" LEFT JOIN scan_results r ON r.digest = k.digest"),
	};
	/* Without them: from the short columns' index (sqlite). */
#define SQL_SCAN_PEEK(key, results)                                            \
	"SELECT j.state, j.attempts, j.error, r.digest IS NOT NULL, NULL,"     \
	" NULL, r.db_version, NULL, r.updated, r.report_blob,"                 \
	" CASE WHEN j.state = 'running' THEN j.claim ELSE 0 END"               \
	" FROM (SELECT " key " AS digest) k"                                   \
	" LEFT JOIN scan_jobs j ON j.digest = k.digest"                        \
	" LEFT JOIN " results " ON r.digest = k.digest"
	static const struct sql_stmt peek = {
		"peek at scan",
		SQL_SCAN_PEEK("?1",
			      "scan_results r INDEXED BY scan_results_brief")
			SQL_PG(SQL_SCAN_PEEK("?1::text COLLATE \"C\"",
					     "scan_results r")),
	};
#undef SQL_SCAN_PEEK
	char ds[DIGEST_STR_MAX];
	int n;

	memset(out, 0, sizeof(*out));
	if (!with_report && !with_findings)
		n = sql_do(m, &peek, sql_scan_row, out, e, "s",
			   digest_str(dg, ds));
	else
		n = sql_do(m, &q, sql_scan_row, out, e, "sii",
			   digest_str(dg, ds), (int64_t)with_report,
			   (int64_t)with_findings);
	if (n < 0)
		stor_scan_release(out);
	return n < 0 ? -1 : 0;
}

static int sql_forget_fn(struct sql_conn *c, const void *arg, struct err *e)
{
	static const struct sql_stmt job = {
		"forget scan job",
		"DELETE FROM scan_jobs WHERE digest = ?1"
		" AND NOT EXISTS (SELECT 1 FROM manifests"
		" WHERE digest = CAST(?1 AS TEXT))",
	};
	static const struct sql_stmt result = {
		"forget scan result",
		"DELETE FROM scan_results WHERE digest = ?1"
		" AND NOT EXISTS (SELECT 1 FROM manifests"
		" WHERE digest = CAST(?1 AS TEXT))",
	};
	const char *ds = arg;
	int n = sql_run(c, &job, NULL, NULL, e, "s", ds);

	/* An index that waits for this platform looks again: it is gone. */
	if (n < 0 || (n > 0 && sql_wake_indexes(c, ds, sql_now(), e) < 0))
		return -1;
	return sql_run(c, &result, NULL, NULL, e, "s", ds);
}

static int sql_scan_forget(struct stor_meta *m, const struct digest *dg,
			   struct err *e)
{
	char ds[DIGEST_STR_MAX];

	return sql_txn(m, sql_forget_fn, digest_str(dg, ds), e);
}

/* Done jobs whose result was not matched against DB ?2 are queued behind
 * any push (prio 1); running and waiting ones get a new generation so
 * they run once more. */
static const struct sql_stmt sql_scan_rearm_q = {
	"re-arm scans",
	"UPDATE scan_jobs SET"
	" state = CASE WHEN state = 'done' THEN 'queued' ELSE state END,"
	" prio = CASE WHEN state = 'done' THEN 1 ELSE prio END,"
	" request_id = CASE WHEN state = 'done' THEN NULL ELSE request_id END,"
	" gen = gen + 1, updated = ?1"
	" WHERE state IN ('running', 'waiting')"
	" OR (state = 'done' AND digest IN"
	"  (SELECT digest FROM scan_results"
	"   WHERE checked_db IS DISTINCT FROM CAST(?2 AS TEXT)))",
};

static int sql_scan_rearm(struct stor_meta *m, const char *db_version,
			  size_t *n, struct err *e)
{
	int changes;

	changes = sql_do(m, &sql_scan_rearm_q, NULL, NULL, e, "is", sql_now(),
			 db_version);
	if (changes >= 0 && n)
		*n = (size_t)changes;
	return changes < 0 ? -1 : 0;
}

static void sql_stats_add(struct stor_scan_stats *out, const char *what,
			  size_t n)
{
	switch (sql_scan_state(what)) {
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

static int sql_stats_row(void *arg, const struct sql_row *s, struct err *e)
{
	const char *what = sql_col_text(s, 0);

	(void)e;
	sql_stats_add(arg, what ? what : "", (size_t)sql_col_int64(s, 1));
	return 0;
}

static int sql_scan_stats(struct stor_meta *m, struct stor_scan_stats *out,
			  struct err *e)
{
	static const struct sql_stmt q = {
		"count scans",
		"SELECT state, count(*) FROM scan_jobs GROUP BY state"
		" UNION ALL SELECT 'results', count(*) FROM scan_results",
	};

	memset(out, 0, sizeof(*out));
	return sql_do(m, &q, sql_stats_row, out, e, "") < 0 ? -1 : 0;
}

struct sql_claim_many {
	struct stor_scan_job *jobs;
	size_t max, got;
};

static int sql_claim_many_row(void *arg, const struct sql_row *s, struct err *e)
{
	struct sql_claim_many *a = arg;
	struct stor_scan_job *job;

	/* Every row is read, so the statement runs to its end; the LIMIT
	 * keeps to max, a guard all the same. */
	if (a->got == a->max)
		return 0;
	job = &a->jobs[a->got];
	memset(job, 0, sizeof(*job));
	if (sql_claim_row(job, s, e) < 0) {
		stor_scan_job_release(job);
		return -1;
	}
	a->got++;
	return 0;
}

/* Re-match jobs are those stor_scan_rearm() queued (prio 1); a queued
 * push (prio 0) keeps them waiting. */
static const struct sql_stmt sql_claim_rematch_q = {
	"claim re-match jobs",
	"UPDATE scan_jobs SET state = 'running',"
	" attempts = attempts + 1, lease = ?2, updated = ?1,"
	" claim = ?6"
	" WHERE digest IN (SELECT digest FROM scan_jobs"
	"  WHERE state = 'queued' AND prio = 1 AND not_before <= ?1"
	"  AND NOT EXISTS (SELECT 1 FROM scan_jobs WHERE state = "
	"'queued'"
	"   AND prio = 0 AND not_before <= ?1)"
	"  ORDER BY created LIMIT ?3)"
	" RETURNING digest, repo, gen, attempts, request_id, "
	"claim" SQL_PG("UPDATE scan_jobs SET state = 'running',"
		       " attempts = attempts + 1, lease = ?2, updated = ?1,"
		       " owner_pid = ?4::integer, owner_start = "
		       "?5::timestamptz,"
		       " claim = ?6"
		       " WHERE digest IN (SELECT digest FROM scan_jobs"
		       "  WHERE state = 'queued' AND prio = 1"
		       "  AND not_before <= ?1"
		       "  AND NOT EXISTS (SELECT 1 FROM scan_jobs"
		       "   WHERE state = 'queued'"
		       "   AND prio = 0 AND not_before <= ?1)"
		       "  ORDER BY created, digest LIMIT ?3"
		       "  FOR UPDATE SKIP LOCKED)"
		       " RETURNING digest, repo, gen, attempts, request_id,"
		       " claim"),
};

/* A re-match claim, its owner (sql_owner()) read before its transaction;
 * *n counts the jobs claimed. */
struct sql_rematch {
	int64_t lease_s;
	struct stor_scan_job *jobs;
	size_t max, *n;
	char pid[24], start[64];
};

/* Lets go of the jobs r holds. */
static void sql_rematch_drop(const struct sql_rematch *r)
{
	while (*r->n)
		stor_scan_job_release(&r->jobs[--*r->n]);
}

/* Claims into r->jobs on c; those of an earlier run of the transaction
 * (PostgreSQL runs it again after a conflict) are let go first, and a
 * failed transaction's by sql_rematch_end(). */
static int sql_claim_rematch_on(struct sql_conn *c, const struct sql_rematch *r,
				struct err *e)
{
	struct sql_claim_many a = {r->jobs, r->max, 0};
	int64_t now = sql_now(), token = 0;
	int rows;

	sql_rematch_drop(r);
	/* One token for the batch: a statement claims a row once. */
	if (sql_claim_token(&token, e) < 0)
		return -1;
	rows = sql_run(c, &sql_claim_rematch_q, sql_claim_many_row, &a, e,
		       "iiissi", now, now + r->lease_s, (int64_t)r->max,
		       *r->pid ? r->pid : NULL, *r->start ? r->start : NULL,
		       token);
	*r->n = a.got;
	return rows < 0 ? -1 : 0;
}

static int sql_claim_rematch_fn(struct sql_conn *c, const void *arg,
				struct err *e)
{
	return sql_claim_rematch_on(c, arg, e);
}

/* Jobs claimed by a transaction that failed are let go. */
static int sql_rematch_end(const struct sql_rematch *r, int rc)
{
	if (rc < 0 && r->n)
		sql_rematch_drop(r);
	return rc;
}

static int sql_scan_claim_rematch(struct stor_meta *m, int64_t lease_s,
				  struct stor_scan_job *jobs, size_t max,
				  size_t *n, struct err *e)
{
	struct sql_rematch r = {lease_s, jobs, max, n, "", ""};

	*n = 0;
	sql_owner(m, r.pid, r.start);
	return sql_rematch_end(&r, sql_txn(m, sql_claim_rematch_fn, &r, e));
}

static int sql_scan_push_waiting(struct stor_meta *m, bool *out, struct err *e)
{
	static const struct sql_stmt q = {
		"check for a waiting push",
		"SELECT 1 FROM scan_jobs WHERE state = 'queued' AND prio = 0"
		" AND not_before <= ?1 LIMIT 1",
	};
	int n = sql_do(m, &q, NULL, NULL, e, "i", sql_now());

	*out = n > 0;
	return n < 0 ? -1 : 0;
}

struct sql_unclaim_arg {
	const struct stor_scan_job *jobs;
	size_t n;
};

static int sql_unclaim_fn(struct sql_conn *c, const void *arg, struct err *e)
{
	static const struct sql_stmt q = {
		"give back scan job",
		"UPDATE scan_jobs SET state = 'queued',"
		" attempts = attempts - 1, claim = 0, updated = ?3"
		" WHERE digest = ?1 AND state = 'running' AND claim = ?2",
	};
	const struct sql_unclaim_arg *a = arg;
	char ds[DIGEST_STR_MAX];
	int64_t now = sql_now();

	for (size_t i = 0; i < a->n; i++)
		if (sql_run(c, &q, NULL, NULL, e, "sii",
			    digest_str(&a->jobs[i].digest, ds),
			    a->jobs[i].claim, now) < 0)
			return -1;
	return 0;
}

static int sql_scan_unclaim(struct stor_meta *m,
			    const struct stor_scan_job *jobs, size_t n,
			    struct err *e)
{
	struct sql_unclaim_arg a = {jobs, n};

	return sql_txn(m, sql_unclaim_fn, &a, e);
}

/* One re-matched job's rows of one step: 0 its referrers, 1 its result
 * (or the DB it was checked against), 2 stor_scan_done(). */
static int sql_outcome_rows(struct sql_conn *c,
			    const struct stor_scan_outcome *o, int step,
			    struct err *e)
{
	const struct stor_scan_result *r = o->result;
	struct sql_finish_arg done = {o->job, NULL, 0, false};
	char ds[DIGEST_STR_MAX], rs[DIGEST_STR_MAX];

	if (step == 0) {
		for (size_t i = 0; i < o->nrefs; i++)
			if (sql_referrer_put(c, &o->refs[i], e) < 0)
				return -1;
		return 0;
	}
	if (step == 2)
		return sql_finish_fn(c, &done, e);
	digest_str(&o->job->digest, ds);
	if (r && sql_run(c, &sql_scan_result_put_q, NULL, NULL, e, "ssssi", ds,
			 digest_str(r->report_digest, rs),
			 r->findings ? r->findings : "[]", r->db_version,
			 sql_now()) < 0)
		return -1;
	if (!r && sql_run(c, &sql_scan_checked_q, NULL, NULL, e, "ss", ds,
			  o->checked_db) < 0)
		return -1;
	return 0;
}

struct sql_many_arg {
	const struct stor_scan_outcome *v;
	size_t n;
	const struct sql_rematch *next; /* or NULL */
};

static int sql_outcome_cmp(const void *a, const void *b)
{
	const struct stor_scan_outcome *const *x = a, *const *y = b;

	return digest_cmp(&(*x)->job->digest, &(*y)->job->digest);
}

/* 1 if o's job is still its claim's (PostgreSQL: locked until the
 * transaction ends, so no claim takes it meanwhile), 0 if not. */
static int sql_outcome_ours(struct sql_conn *c,
			    const struct stor_scan_outcome *o, struct err *e)
{
	static const struct sql_stmt q = {
		"check scan claim",
		"SELECT 1 FROM scan_jobs WHERE digest = ?1"
		" AND state = 'running' AND claim = ?2" SQL_PG(
			"SELECT 1 FROM scan_jobs WHERE digest = ?1"
			" AND state = 'running' AND claim = ?2 FOR UPDATE"),
	};
	char ds[DIGEST_STR_MAX];

	return sql_run(c, &q, NULL, NULL, e, "si",
		       digest_str(&o->job->digest, ds), o->job->claim);
}

/* Step by step, each in digest order: a batch changes many more pages
 * than the connection's cache holds, and a page spilled to the WAL that
 * changes again is read and written again.  Jobs claimed again since
 * (their lease ran out) are left to that claim. */
static int sql_finish_many_fn(struct sql_conn *c, const void *arg,
			      struct err *e)
{
	const struct sql_many_arg *a = arg;
	const struct stor_scan_outcome **v = xcalloc(a->n + 1, sizeof(*v));
	size_t n = 0;
	int ret = -1, rc;

	for (size_t i = 0; i < a->n; i++)
		v[i] = &a->v[i];
	qsort(v, a->n, sizeof(*v), sql_outcome_cmp);
	for (size_t i = 0; i < a->n; i++) {
		rc = sql_outcome_ours(c, v[i], e);
		if (rc < 0)
			goto out;
		if (rc > 0)
			v[n++] = v[i];
		else if (v[i]->left_out)
			*v[i]->left_out = true;
	}
	for (int step = 0; step < 3; step++)
		for (size_t i = 0; i < n; i++)
			if (sql_outcome_rows(c, v[i], step, e) < 0)
				goto out;
	ret = a->next ? sql_claim_rematch_on(c, a->next, e) : 0;
out:
	free(v);
	return ret;
}

static int sql_scan_finish_many(struct stor_meta *m,
				const struct stor_scan_outcome *v, size_t n,
				struct stor_scan_next *next, struct err *e)
{
	struct sql_rematch r = {0};
	struct sql_many_arg a = {v, n, NULL};

	if (next) {
		r.lease_s = next->lease_s;
		r.jobs = next->jobs;
		r.max = next->max;
		r.n = &next->n; /* 0: see stor_scan_stage_end() */
		sql_owner(m, r.pid, r.start);
		a.next = &r;
	}
	/* Lazy: lost to a power cut, the batch's jobs were not done (nor
	 * the next batch's claimed), and run again. */
	return sql_rematch_end(&r, sql_txn_lazy(m, sql_finish_many_fn, &a, e));
}

/* stor_scan_failures(): one statement, newest first. */
struct sql_failures {
	struct stor_scan_failure *v;
	size_t len, max;
};

static int sql_failure_row(void *arg, const struct sql_row *r, struct err *e)
{
	struct sql_failures *f = arg;
	struct stor_scan_failure *x;

	if (f->len == f->max)
		return 1;
	x = &f->v[f->len];
	if (sql_col_digest(r, 0, &x->digest, e) < 0)
		return -1;
	x->repo = sql_col_strdup(r, 1);
	x->error = sql_col_strdup(r, 2);
	x->when = sql_col_int64(r, 3);
	x->attempts = (int)sql_col_int64(r, 4);
	f->len++;
	return 0;
}

static int sql_scan_failures(struct stor_meta *m, size_t max,
			     struct stor_scan_failure **out, size_t *count,
			     struct err *e)
{
	static const struct sql_stmt q = {
		"list failed scans",
		"SELECT digest, repo, error, updated, attempts FROM scan_jobs"
		" WHERE state = 'failed' ORDER BY updated DESC, digest"
		" LIMIT ?1",
	};
	struct sql_failures f = {xcalloc(max ? max : 1, sizeof(*f.v)), 0, max};

	if (sql_do(m, &q, sql_failure_row, &f, e, "i", (int64_t)max) < 0) {
		stor_scan_failures_free(f.v, f.len);
		return -1;
	}
	*out = f.v;
	*count = f.len;
	return 0;
}

const struct stor_scanq_ops sql_scanq_ops = {
	.scan_enqueue = sql_scan_enqueue,
	.scan_claim = sql_scan_claim,
	.scan_recover = sql_scan_recover,
	.scan_renew = sql_scan_renew,
	.scan_result_put = sql_scan_result_put,
	.scan_checked = sql_scan_checked,
	.scan_done = sql_scan_done,
	.scan_fail = sql_scan_fail,
	.scan_wait = sql_scan_wait,
	.scan_get = sql_scan_get,
	.tag_scans = sql_tag_scans,
	.scan_forget = sql_scan_forget,
	.scan_rearm = sql_scan_rearm,
	.scan_stats = sql_scan_stats,
	.scan_failures = sql_scan_failures,
	.scan_claim_rematch = sql_scan_claim_rematch,
	.scan_unclaim = sql_scan_unclaim,
	.scan_push_waiting = sql_scan_push_waiting,
	.scan_finish_many = sql_scan_finish_many,
	.on_final = sql_on_final,
};
