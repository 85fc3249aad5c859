/* scan_batch.c: re-matching after a DB change, many jobs at a time.
 *
 * A DB change re-arms every report.  One by one, each would cost a dozen
 * syncs (claim, result, referrer blobs and rows, done); here a worker
 * claims up to RS_BATCH of them in one statement, re-matches each from
 * the inventory its report lists, and writes all their results and
 * referrers with stor_scan_finish_many(): the blobs synced together, the
 * rows in one transaction.  A report whose findings did not change only
 * gets its DB noted: its referrers are already the right ones (a push to
 * another repository queues its job as a push, not a re-match).  A job
 * that is not a plain re-match (an index, a report that is not there or
 * not JSON) runs alone as scan_job.c runs it.
 */
#include "registry/scan/scan_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "scanner/scanner.h"
#include "common/banned.h"

/* What one re-matched job keeps until the batch is written; the parsed
 * reports are dropped as soon as their text is made. */
struct rs_item {
	struct rs_job j;
	json_t *report; /* the new report's counts, for the log */
	struct stor_scan_result result;
	char *text, *findings;
	struct rs_pub *pubs;
	struct stor_scan_referrer *refs;
	size_t nrefs;
	struct stor_scan_outcome out;
	struct timespec t0;
};

static void rs_item_release(struct rs_item *it)
{
	for (size_t i = 0; it->pubs && i < it->j.nrepos; i++)
		rs_pub_release(&it->pubs[i]);
	free(it->pubs);
	free(it->refs);
	free(it->text);
	free(it->findings);
	json_decref(it->report);
	rs_job_release(&it->j);
	memset(it, 0, sizeof(*it));
}

/* Keeps of the new report only what the log line reads, and drops the
 * stored one: a batch holds many. */
static void rs_item_slim(struct rs_item *it, json_t *report)
{
	struct rs_job *j = &it->j;

	it->report = json_pack("{s:O?}", "counts",
			       json_object_get(report, "counts"));
	json_decref(j->old);
	j->old = NULL;
	free(j->cur.report);
	j->cur.report = NULL;
}

/* Whether a loaded job is a plain re-match: an image whose stored report
 * was matched against another DB. */
static bool rs_batchable(const struct rs_job *j)
{
	return j->old && !rs_same_str(j->cur.checked_db, j->dbv) &&
	       rs_manifest_kind(j->m->body, j->m->len) == 0;
}

/* The referrers of a changed report, for every repository that lacks
 * them. */
static int rs_item_refs(struct rs_item *it, const json_t *report,
			struct err *e)
{
	struct rs_job *j = &it->j;

	it->pubs = xcalloc(j->nrepos + 1, sizeof(*it->pubs));
	it->refs = xcalloc(j->nrepos + 1, sizeof(*it->refs));
	for (size_t i = 0; i < j->nrepos; i++) {
		struct rs_pub *p = &it->pubs[i];

		if (rs_pub_plan(j->st, j->repos[i], &j->job->digest, report,
				it->text, p, e) < 0)
			return -1;
		if (!p->put.repo || p->in_place)
			continue;
		it->refs[it->nrefs++] = (struct stor_scan_referrer){
			.put = &p->put,
			.blobs = p->blobs,
			.nblobs = 2,
			.drop = p->drop,
			.ndrop = p->ndrop,
		};
	}
	return 0;
}

/* Images often list the same inventory (one image under several configs,
 * rebuilds that changed no package): a batch matches each inventory once.
 * A report's inventory is what scan_rematch() reads (its packages, os and
 * notes); what the re-match changed in the first report of an inventory
 * is copied into the others. */
#define RS_MEMO_MAX 16

struct rs_memo_entry {
	struct digest key; /* of the inventory */
	json_t *changes;   /* the members the re-match set */
};

struct rs_memo {
	struct rs_memo_entry e[RS_MEMO_MAX];
	size_t n, next;
};

static void rs_memo_release(struct rs_memo *m)
{
	for (size_t i = 0; i < m->n; i++)
		json_decref(m->e[i].changes);
	memset(m, 0, sizeof(*m));
}

static void rs_memo_key(const json_t *report, struct digest *key)
{
	json_t *inv = json_pack("{s:O?, s:O?, s:O?}", "packages",
				json_object_get(report, "packages"), "os",
				json_object_get(report, "os"), "notes",
				json_object_get(report, "notes"));
	char *text = json_dumps(inv, JSON_COMPACT | JSON_SORT_KEYS);

	digest_of(DIGEST_SHA256, text ? text : "", text ? strlen(text) : 0,
		  key);
	free(text);
	json_decref(inv);
}

/* A copy of old with the changes made for its inventory, or NULL. */
static json_t *rs_memo_get(const struct rs_memo *m, const struct digest *key,
			   const json_t *old)
{
	const char *k;
	json_t *r, *v;

	for (size_t i = 0; i < m->n; i++) {
		if (!digest_eq(&m->e[i].key, key))
			continue;
		r = json_copy((json_t *)old);
		json_object_foreach(m->e[i].changes, k, v)
			json_object_set(r, k, v);
		return r;
	}
	return NULL;
}

/* Remembers which members of old the re-match made new. */
static void rs_memo_put(struct rs_memo *m, const struct digest *key,
			const json_t *old, const json_t *new_report)
{
	struct rs_memo_entry *en = &m->e[m->next];
	json_t *changes = json_object(), *v;
	const char *k;

	json_object_foreach((json_t *)new_report, k, v)
		if (!json_equal(v, json_object_get(old, k)))
			json_object_set(changes, k, v);
	if (m->n == RS_MEMO_MAX)
		json_decref(en->changes);
	else
		m->n++;
	en->key = *key;
	en->changes = changes;
	m->next = (m->next + 1) % RS_MEMO_MAX;
}

/* scan_rematch(), once per inventory. */
static int rs_rematch(struct rs_job *j, struct rs_memo *m, json_t **out,
		      struct err *e)
{
	struct digest key;

	rs_memo_key(j->old, &key);
	*out = rs_memo_get(m, &key, j->old);
	if (*out)
		return 0;
	if (scan_rematch(j->old, j->w->db, 0, out, e) < 0)
		return -1;
	rs_memo_put(m, &key, j->old, *out);
	return 0;
}

/* Re-matches a batchable job into it->out. */
static int rs_item_match(struct rs_item *it, struct rs_memo *memo,
			 struct err *e)
{
	struct rs_job *j = &it->j;
	json_t *report = NULL;
	int ret = -1;

	if (rs_rematch(j, memo, &report, e) < 0)
		return -1;
	it->out.job = j->job;
	if (rs_report_same(j->old, report)) {
		j->what = "unchanged";
		it->out.checked_db = j->dbv;
		ret = 0;
		goto out;
	}
	j->what = "re-matched";
	it->text = json_dumps(report, JSON_COMPACT);
	if (!it->text) {
		err_set(e, ERR_INTERNAL, "cannot serialise report");
		goto out;
	}
	it->findings = rs_findings(report);
	it->result = (struct stor_scan_result){it->text, it->findings, j->dbv};
	it->out.result = &it->result;
	if (rs_item_refs(it, report, e) < 0)
		goto out;
	it->out.refs = it->refs;
	it->out.nrefs = it->nrefs;
	ret = 0;
out:
	rs_item_slim(it, report);
	json_decref(report);
	return ret;
}

/* Loads and re-matches one claimed job: 1 when it joins the batch, 0 when
 * it ran alone (or failed, and was failed). */
static int rs_item_prepare(struct rs_worker *w, struct stor_scan_job *job,
			   struct rs_memo *memo, struct rs_item *it)
{
	struct err e = ERR_INIT;
	int rc;

	memset(it, 0, sizeof(*it));
	clock_gettime(CLOCK_MONOTONIC, &it->t0);
	it->j = (struct rs_job){.w = w, .st = w->pool->st, .job = job};
	it->j.dbv = w->db ? vulndb_version(w->db) : NULL;
	rc = rs_job_load(&it->j, &e);
	if (rc > 0 && rs_batchable(&it->j)) {
		if (rs_item_match(it, memo, &e) == 0)
			return 1;
		rs_job_fail(&it->j, &e);
	} else {
		/* Deleted, an index, no usable report, or a read that
		 * failed: the usual way (which reads again). */
		rs_job_release(&it->j);
		rs_job_run(w, job);
	}
	rs_item_release(it);
	return 0;
}

bool rs_batch_run(struct rs_worker *w)
{
	struct stor_scan_job *jobs = xcalloc(RS_BATCH, sizeof(*jobs));
	struct rs_item *items = xcalloc(RS_BATCH, sizeof(*items));
	struct stor_scan_outcome *out = xcalloc(RS_BATCH, sizeof(*out));
	struct rs_memo memo = {0};
	struct err e = ERR_INIT;
	size_t n = 0, k = 0, i;

	if (stor_scan_claim_rematch(w->pool->st, RS_LEASE_S, jobs, RS_BATCH,
				    &n, &e) < 0)
		log_msg(LL_ERROR, "scan: claim re-matches: %s", e.msg);
	if (n)
		rs_worker_db(w);
	for (i = 0; i < n; i++) {
		if (rs_item_prepare(w, &jobs[i], &memo, &items[k]) <= 0)
			continue;
		out[k] = items[k].out;
		k++;
	}
	if (k && stor_scan_finish_many(w->pool->st, out, k, &e) < 0) {
		for (i = 0; i < k; i++)
			rs_job_fail(&items[i].j, &e);
		k = 0;
	}
	for (i = 0; i < k; i++) {
		rs_job_log(&items[i].j, items[i].report, &items[i].t0);
		rs_notify(w->pool, &items[i].j.job->digest);
	}
	for (i = 0; i < n; i++)
		stor_scan_job_release(&jobs[i]);
	for (i = 0; i < RS_BATCH; i++)
		rs_item_release(&items[i]);
	rs_memo_release(&memo);
	free(out);
	free(items);
	free(jobs);
	return n > 0;
}
