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
 * not JSON) runs alone as scan_job.c runs it.  A push that comes
 * meanwhile waits for a few re-matches, not the batch: the batch writes
 * what it has made and gives the rest of its claim back.  The batch's
 * transaction also claims the next batch: a worker does not wait for the
 * other's transaction to end before it claims, so the two do not fall in
 * step (both matching, then both writing), and one matches while the
 * other writes.
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
	struct stor_scan_result result; /* its findings: the memo's */
	char *text, *findings;		/* findings: until the memo takes it */
	struct rs_pub *pubs;
	struct stor_scan_referrer *refs;
	size_t nrefs;
	struct stor_scan_outcome out;
	bool left_out;	   /* claimed again meanwhile: nothing written */
	struct digest rdg; /* the report's, when no referrer carries it */
	struct timespec t0;
};

/* The image's referrers in each of its repositories, listed once for
 * VEX and for its report referrer. */
static int rs_item_list_refs(struct rs_job *j, struct err *e)
{
	j->refs = xcalloc(j->nrepos + 1, sizeof(*j->refs));
	for (size_t i = 0; i < j->nrepos; i++)
		if (stor_referrers(j->st, j->repos[i], &j->job->digest, NULL,
				   &j->refs[i].d, &j->refs[i].n, e) < 0)
			return -1;
	return 0;
}

static void rs_item_free_refs(struct rs_job *j)
{
	for (size_t i = 0; j->refs && i < j->nrepos; i++)
		stor_desc_free(j->refs[i].d, j->refs[i].n);
	free(j->refs);
	j->refs = NULL;
}

static void rs_item_release(struct rs_item *it)
{
	rs_item_free_refs(&it->j);
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
	stor_scan_release(&j->cur);
	rs_item_free_refs(j);
}

/* Whether a loaded job is a plain re-match: an image whose stored report
 * was matched against another DB, and that has a referrer (one that is
 * not a container image goes the usual way, which publishes none). */
static bool rs_batchable(const struct rs_job *j)
{
	return j->cur.has_result && j->cur.report &&
	       !rs_same_str(j->cur.checked_db, j->dbv) &&
	       rs_manifest_kind(j->m->body, j->m->len) == 0 &&
	       !rs_findings_not_scanned(j->cur.findings);
}

/* The referrers of a changed report, for every repository that lacks
 * them. */
static int rs_item_refs(struct rs_item *it, const json_t *report, struct err *e)
{
	struct rs_job *j = &it->j;

	it->pubs = xcalloc(j->nrepos + 1, sizeof(*it->pubs));
	it->refs = xcalloc(j->nrepos + 1, sizeof(*it->refs));
	for (size_t i = 0; i < j->nrepos; i++) {
		struct rs_pub *p = &it->pubs[i];
		/* The manifest was just read from j->repo: not again. */
		const struct stor_manifest *known =
			j->repos[i] == j->repo ? j->m : NULL;

		if (rs_pub_plan(j->st, j->repos[i], &j->job->digest, known,
				&j->refs[i], report, it->text, p, e) < 0)
			return -1;
		/* The report's own blob: hashed once, stored once. */
		if (p->borrowed)
			it->result.report_digest = &p->refs[1];
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

/* Parsing a stored report and writing the new one cost most of a
 * re-match: a report lists every package and finding.  The reports of
 * images of one inventory, last matched against one DB, differ only in
 * members a re-match keeps (the image, the scan's usage...): a batch
 * parses and re-matches the first, and makes the others from it as text,
 * parsing only their members that differ from the first's.  Compared as
 * text, so a report that differs in any other way is parsed as usual. */
#define RS_TEXT_MAX 4

/* The members a re-match and rs_report_same() read. */
static const char *const rs_text_keys[] = {
	"packages", "os",     "notes",		 "counts",    "status",
	"budgets",  "failed", "vulnerabilities", "manifests",
};
#define RS_NTEXT_KEYS (sizeof(rs_text_keys) / sizeof(rs_text_keys[0]))

struct rs_text_entry {
	char *old;		 /* the first stored report */
	struct rs_text_span *sp; /* its members */
	size_t nsp;
	json_t *report;	    /* its re-match */
	json_t *changes;    /* the members the re-match set */
	const char **ckeys; /* their keys and values as text, in order */
	char **ctext;
	size_t nc;
	bool same;	/* rs_report_same(old, report) */
	char *findings; /* rs_findings(report) unless same */
};

struct rs_memo {
	struct rs_memo_entry e[RS_MEMO_MAX];
	size_t n, next;
	struct rs_text_entry t[RS_TEXT_MAX];
	size_t tn, tnext;
	char **findings; /* each distinct findings text of the batch */
	size_t nf;
};

static void rs_text_entry_release(struct rs_text_entry *t)
{
	for (size_t i = 0; i < t->nc; i++)
		free(t->ctext[i]);
	free(t->ctext);
	free(t->ckeys);
	json_decref(t->changes);
	json_decref(t->report);
	free(t->findings);
	free(t->sp);
	free(t->old);
	memset(t, 0, sizeof(*t));
}

static void rs_memo_release(struct rs_memo *m)
{
	for (size_t i = 0; i < m->n; i++)
		json_decref(m->e[i].changes);
	for (size_t i = 0; i < m->tn; i++)
		rs_text_entry_release(&m->t[i]);
	for (size_t i = 0; i < m->nf; i++)
		free(m->findings[i]);
	free(m->findings);
	memset(m, 0, sizeof(*m));
}

/* How many of the batch's latest findings texts a new one is compared
 * with. */
#define RS_FINDINGS_CMP 4

/* *f (taken, may be NULL) as the batch keeps it: images of one inventory
 * have the same findings, held once until the batch is written.  The
 * text returned lives as long as m. */
static const char *rs_memo_findings(struct rs_memo *m, char **f)
{
	char *s = *f;

	*f = NULL;
	if (!s)
		return NULL;
	for (size_t i = m->nf; i > 0 && i + RS_FINDINGS_CMP > m->nf; i--)
		if (!strcmp(m->findings[i - 1], s)) {
			free(s);
			return m->findings[i - 1];
		}
	m->findings = xrealloc(m->findings, (m->nf + 1) * sizeof(*m->findings));
	m->findings[m->nf++] = s;
	return s;
}

static const struct rs_text_span *rs_span_find(const char *text,
					       const struct rs_text_span *sp,
					       size_t n, const char *key,
					       size_t klen)
{
	for (size_t i = 0; i < n; i++)
		if (sp[i].klen == klen && !memcmp(text + sp[i].key, key, klen))
			return &sp[i];
	return NULL;
}

/* Whether member x of text a is written as member y of b (both absent
 * counts). */
static bool rs_span_eq(const char *a, const struct rs_text_span *x,
		       const char *b, const struct rs_text_span *y)
{
	if (!x || !y)
		return x == y;
	return x->vlen == y->vlen && !memcmp(a + x->val, b + y->val, x->vlen);
}

/* The entry whose first report has s's inventory and findings, or NULL. */
static struct rs_text_entry *rs_text_find(struct rs_memo *m, const char *s,
					  const struct rs_text_span *sp,
					  size_t n)
{
	for (size_t i = 0; i < m->tn; i++) {
		struct rs_text_entry *t = &m->t[i];
		size_t k;

		for (k = 0; k < RS_NTEXT_KEYS; k++) {
			const char *key = rs_text_keys[k];
			size_t kl = strlen(key);

			if (!rs_span_eq(t->old,
					rs_span_find(t->old, t->sp, t->nsp, key,
						     kl),
					s, rs_span_find(s, sp, n, key, kl)))
				break;
		}
		if (k == RS_NTEXT_KEYS)
			return t;
	}
	return NULL;
}

/* Whether a key can be written between quotes as it is. */
static bool rs_key_plain(const char *k)
{
	for (; *k; k++)
		if (*k == '"' || *k == '\\' || (unsigned char)*k < 0x20)
			return false;
	return true;
}

/* Remembers a re-match: old (taken; its members sp, taken) parsed as oldj
 * and re-matched to report. */
static void rs_text_put(struct rs_memo *m, char *old, struct rs_text_span *sp,
			size_t nsp, const json_t *oldj, json_t *report,
			bool same, const char *findings)
{
	struct rs_text_entry t = {
		.old = old,
		.sp = sp,
		.nsp = nsp,
		.same = same,
		.findings = findings ? xstrdup(findings) : NULL,
		.report = json_incref(report),
		.changes = json_object(),
	};
	const char *k;
	json_t *v;

	/* A re-match that drops a member is not made as text. */
	json_object_foreach((json_t *)oldj, k, v)
		if (!json_object_get(report, k))
			goto drop;
	json_object_foreach(report, k, v)
		if (!json_equal(v, json_object_get(oldj, k)))
			json_object_set(t.changes, k, v);
	t.ckeys = xcalloc(json_object_size(t.changes) + 1, sizeof(*t.ckeys));
	t.ctext = xcalloc(json_object_size(t.changes) + 1, sizeof(*t.ctext));
	json_object_foreach(t.changes, k, v) {
		t.ckeys[t.nc] = k;
		t.ctext[t.nc] = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!t.ctext[t.nc++] || !rs_key_plain(k))
			goto drop;
	}
	if (m->tn == RS_TEXT_MAX)
		rs_text_entry_release(&m->t[m->tnext]);
	else
		m->tn++;
	m->t[m->tnext] = t;
	m->tnext = (m->tnext + 1) % RS_TEXT_MAX;
	return;
drop:
	rs_text_entry_release(&t);
}

/* The value text of member key (klen bytes) if t's re-match set it. */
static const char *rs_text_change(const struct rs_text_entry *t,
				  const char *key, size_t klen)
{
	for (size_t i = 0; i < t->nc; i++)
		if (strlen(t->ckeys[i]) == klen &&
		    !memcmp(t->ckeys[i], key, klen))
			return t->ctext[i];
	return NULL;
}

/* The re-match of s (members sp) from t's: s's members with t's changes,
 * as rs_rematch() makes it.  *text only when the report says something
 * new.  -1 when a member of s is not JSON. */
static int rs_text_apply(const struct rs_text_entry *t, const char *s,
			 const struct rs_text_span *sp, size_t n,
			 json_t **report, char **text)
{
	json_t *r = json_copy(t->report), *v;
	size_t i, len = strlen(s) + 2, o = 0, cl;
	const char *c, *key;
	char *out;

	/* The members in which s differs from the first report. */
	for (i = 0; i < n; i++) {
		key = s + sp[i].key;
		if (rs_text_change(t, key, sp[i].klen) ||
		    rs_span_eq(t->old,
			       rs_span_find(t->old, t->sp, t->nsp, key,
					    sp[i].klen),
			       s, &sp[i]))
			continue;
		v = json_loadb(s + sp[i].val, sp[i].vlen, JSON_DECODE_ANY,
			       NULL);
		if (!v) {
			json_decref(r);
			return -1;
		}
		json_object_setn_new(r, key, sp[i].klen, v);
	}
	for (i = 0; i < t->nsp; i++) {
		key = t->old + t->sp[i].key;
		if (!rs_text_change(t, key, t->sp[i].klen) &&
		    !rs_span_find(s, sp, n, key, t->sp[i].klen))
			json_object_deln(r, key, t->sp[i].klen);
	}
	*report = r;
	*text = NULL;
	if (t->same)
		return 0;
	for (i = 0; i < t->nc; i++)
		len += strlen(t->ckeys[i]) + strlen(t->ctext[i]) + 4;
	out = xmalloc(len);
	out[o++] = '{';
	for (i = 0; i < n; i++) {
		key = s + sp[i].key;
		c = rs_text_change(t, key, sp[i].klen);
		if (i)
			out[o++] = ',';
		out[o++] = '"';
		memcpy(out + o, key, sp[i].klen);
		o += sp[i].klen;
		out[o++] = '"';
		out[o++] = ':';
		cl = c ? strlen(c) : sp[i].vlen;
		memcpy(out + o, c ? c : s + sp[i].val, cl);
		o += cl;
	}
	/* Members the re-match added go last, as json_object_set() puts
	 * them. */
	for (i = 0; i < t->nc; i++) {
		cl = strlen(t->ckeys[i]);
		if (rs_span_find(s, sp, n, t->ckeys[i], cl))
			continue;
		if (o > 1)
			out[o++] = ',';
		out[o++] = '"';
		memcpy(out + o, t->ckeys[i], cl);
		o += cl;
		out[o++] = '"';
		out[o++] = ':';
		memcpy(out + o, t->ctext[i], strlen(t->ctext[i]));
		o += strlen(t->ctext[i]);
	}
	out[o++] = '}';
	out[o] = '\0';
	*text = out;
	return 0;
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

/* A changed report's text and findings, for it to be written. */
static int rs_item_text(struct rs_item *it, const json_t *report, struct err *e)
{
	it->text = json_dumps(report, JSON_COMPACT);
	if (!it->text)
		return err_set(e, ERR_INTERNAL, "cannot serialise report");
	it->findings = rs_findings(report);
	return 0;
}

/* Re-matches a batchable job's stored report into *report, and when it
 * says something new (*same false) into it->text and it->findings: made
 * from the memo's text when it can, else parsed and matched.  0 when the
 * stored report is not JSON. */
static int rs_item_rematch(struct rs_item *it, struct rs_memo *memo,
			   json_t **report, bool *same, struct err *e)
{
	struct rs_job *j = &it->j;
	const char *s = j->cur.report;
	struct rs_text_span *sp = NULL;
	struct rs_text_entry *t = NULL;
	size_t nsp = 0;
	int ret = -1;

	*report = NULL;
	if (rs_text_split(s, strlen(s), &sp, &nsp) == 0)
		t = rs_text_find(memo, s, sp, nsp);
	if (t && rs_text_apply(t, s, sp, nsp, report, &it->text) == 0) {
		*same = t->same;
		it->findings = t->findings ? xstrdup(t->findings) : NULL;
		ret = 1;
		goto out;
	}
	j->old = json_loads(s, 0, NULL);
	if (!j->old) {
		ret = 0;
		goto out;
	}
	if (rs_rematch(j, memo, report, e) < 0)
		goto out;
	*same = rs_report_same(j->old, *report);
	if (!*same && rs_item_text(it, *report, e) < 0)
		goto out;
	if (sp && !t) {
		rs_text_put(memo, j->cur.report, sp, nsp, j->old, *report,
			    *same, it->findings);
		j->cur.report = NULL;
		sp = NULL;
	}
	ret = 1;
out:
	free(sp);
	return ret;
}

/* VEX, per image, outside the memo: the re-match above may be shared by
 * every image of an inventory, VEX depends on the image.  Makes *report
 * this image's (a new one) and it->text, it->findings and *same its own
 * when a document concerns it or its stored report had VEX. */
static int rs_item_vex(struct rs_item *it, json_t **report, bool *same,
		       struct err *e)
{
	struct rs_job *j = &it->j;
	struct scan_vex *v = rs_vex_load(j);
	json_t *own = j->old ? json_incref(j->old) : NULL;
	int ret = -1, rc;

	if (!v && !scan_vex_applied(*report)) {
		ret = 0;
		goto out;
	}
	if (!own && j->cur.report)
		own = json_loads(j->cur.report, 0, NULL);
	rc = rs_vex_report(j, v, own, report, e);
	if (rc <= 0) {
		ret = rc;
		goto out;
	}
	free(it->text);
	free(it->findings);
	it->text = it->findings = NULL;
	*same = own && rs_report_same(own, *report);
	if (!*same && rs_item_text(it, *report, e) < 0)
		goto out;
	ret = 0;
out:
	json_decref(own);
	scan_vex_free(v);
	return ret;
}

/* Re-matches a batchable job into it->out: 1 done, 0 when its stored
 * report is not JSON. */
static int rs_item_match(struct rs_item *it, struct rs_memo *memo,
			 struct err *e)
{
	struct rs_job *j = &it->j;
	json_t *report = NULL;
	bool same = false;
	int ret;

	ret = rs_item_rematch(it, memo, &report, &same, e);
	if (ret <= 0)
		goto out;
	ret = -1;
	if (rs_item_vex(it, &report, &same, e) < 0)
		goto out;
	it->out.job = j->job;
	if (same) {
		j->what = "unchanged";
		it->out.checked_db = j->dbv;
		ret = 1;
		goto out;
	}
	j->what = "re-matched";
	it->result = (struct stor_scan_result){
		it->text, rs_memo_findings(memo, &it->findings), j->dbv, NULL};
	it->out.result = &it->result;
	if (rs_item_refs(it, report, e) < 0)
		goto out;
	/* The rows name the report by digest once its text is gone. */
	if (!it->result.report_digest) {
		digest_of(DIGEST_SHA256, it->text, strlen(it->text), &it->rdg);
		it->result.report_digest = &it->rdg;
	}
	it->out.refs = it->refs;
	it->out.nrefs = it->nrefs;
	ret = 1;
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
	it->j.lazy = true; /* parsed only if the memo cannot make it */
	rc = rs_job_load(&it->j, &e);
	if (rc > 0 && rs_batchable(&it->j))
		rc = rs_item_list_refs(&it->j, &e) < 0
			     ? -1
			     : rs_item_match(it, memo, &e);
	else
		rc = 0;
	if (rc > 0)
		return 1;
	if (rc < 0) {
		rs_job_fail(&it->j, &e);
	} else {
		/* Deleted, an index, no usable report, or a read that
		 * failed: the usual way (which reads again). */
		rs_item_free_refs(&it->j);
		rs_job_release(&it->j);
		rs_job_run(w, job);
	}
	rs_item_release(it);
	return 0;
}

/* Stages the blobs of items[from..k) and drops their reports' text (the
 * rows need only their digests).  Items whose blobs could not be written
 * fail and leave the batch; the number kept is returned. */
static size_t rs_batch_stage(struct rs_worker *w, struct rs_item *items,
			     size_t from, size_t k,
			     struct stor_scan_stage **stg)
{
	struct stor_scan_outcome *out = xcalloc(k - from + 1, sizeof(*out));
	struct err e = ERR_INIT;
	size_t i;

	for (i = from; i < k; i++)
		out[i - from] = items[i].out;
	if (k > from &&
	    stor_scan_stage(w->pool->st, stg, out, k - from, &e) < 0) {
		for (i = from; i < k; i++) {
			rs_job_fail(&items[i].j, &e);
			rs_item_release(&items[i]);
		}
		k = from;
	}
	for (i = from; i < k; i++) {
		struct rs_item *it = &items[i];

		for (size_t r = 0; it->pubs && r < it->j.nrepos; r++) {
			if (!it->pubs[r].borrowed)
				free(it->pubs[r].text);
			it->pubs[r].text = NULL;
			it->pubs[r].blobs[1].data = NULL;
		}
		free(it->text);
		it->text = NULL;
		it->result.report = NULL;
	}
	free(out);
	return k;
}

/* A job whose lease ran out before its batch was written: claimed again,
 * its new claim writes what it finds (counted there). */
static void rs_left_out_log(const struct rs_job *j)
{
	char ds[DIGEST_STR_MAX];

	log_msg(LL_INFO,
		"scan %s (%s): claimed again meanwhile; left to that "
		"claim",
		digest_str(&j->job->digest, ds), j->job->repo);
}

/* Makes the staged blobs durable and writes the rows of items[0..k) in
 * one transaction (their jobs done, or failed together), and frees
 * them. */
static void rs_batch_write(struct rs_worker *w, struct rs_item *items, size_t k,
			   struct stor_scan_stage *stg,
			   struct stor_scan_next *next)
{
	struct stor_scan_outcome *out = xcalloc(k + 1, sizeof(*out));
	struct err e = ERR_INIT;
	size_t i;

	for (i = 0; i < k; i++) {
		out[i] = items[i].out;
		out[i].left_out = &items[i].left_out;
	}
	if (stor_scan_stage_end(w->pool->st, stg, out, k, next, &e) < 0) {
		for (i = 0; i < k; i++)
			rs_job_fail(&items[i].j, &e);
	} else {
		for (i = 0; i < k; i++) {
			if (items[i].left_out) {
				rs_left_out_log(&items[i].j);
				continue;
			}
			rs_job_log(&items[i].j, items[i].report, &items[i].t0);
			rs_notify(w->pool, &items[i].j.job->digest);
			/* A new report (an unchanged one was told of
			 * when it was stored). */
			if (items[i].out.result &&
			    !rs_report_not_scanned(items[i].report))
				rs_reported(w->pool, &items[i].j.job->digest);
		}
	}
	for (i = 0; i < k; i++)
		rs_item_release(&items[i]);
	free(out);
}

/* How often (in jobs prepared) a batch looks for a push that came: one
 * then waits for at most this many re-matches, not a whole batch. */
#define RS_PUSH_CHECK 32

/* Whether a push's job waits (any node's, the queue is shared). */
static bool rs_push_waits(struct rs_worker *w)
{
	struct err e = ERR_INIT;
	bool waits = false;

	if (stor_scan_push_waiting(w->pool->st, &waits, &e) < 0)
		log_msg(LL_WARN, "scan: look for pushes: %s", e.msg);
	return waits;
}

/* A batch that stops for a push gives its jobs not prepared back (if
 * that fails, their leases run out and they are claimed again). */
static void rs_batch_giveback(struct rs_worker *w,
			      const struct stor_scan_job *jobs, size_t n)
{
	struct err e = ERR_INIT;

	if (stor_scan_unclaim(w->pool->st, jobs, n, &e) < 0)
		log_msg(LL_WARN, "scan: give back %zu re-match(es): %s", n,
			e.msg);
}

/* The batch's jobs: those claimed ahead, else a claim now. */
static struct stor_scan_job *rs_batch_jobs(struct rs_worker *w, size_t *n)
{
	struct stor_scan_job *jobs = w->ahead;
	struct err e = ERR_INIT;

	*n = w->nahead;
	w->ahead = NULL;
	w->nahead = 0;
	if (*n)
		return jobs;
	if (!jobs)
		jobs = xcalloc(RS_BATCH, sizeof(*jobs));
	if (stor_scan_claim_rematch(w->pool->st, w->pool->lease_s, jobs,
				    RS_BATCH, n, &e) < 0)
		log_msg(LL_ERROR, "scan: claim re-matches: %s", e.msg);
	return jobs;
}

void rs_batch_end(struct rs_worker *w)
{
	if (w->nahead)
		rs_batch_giveback(w, w->ahead, w->nahead);
	while (w->nahead)
		stor_scan_job_release(&w->ahead[--w->nahead]);
	free(w->ahead);
	w->ahead = NULL;
}

bool rs_batch_run(struct rs_worker *w)
{
	size_t n = 0, k = 0, staged = 0, bytes = 0, i;
	struct stor_scan_job *jobs = rs_batch_jobs(w, &n);
	struct rs_item *items = xcalloc(RS_BATCH, sizeof(*items));
	struct stor_scan_next next = {w->pool->lease_s,
				      xcalloc(RS_BATCH, sizeof(*jobs)),
				      RS_BATCH, 0};
	struct stor_scan_stage *stg = NULL;
	struct rs_memo memo = {0};
	bool pushed = false;

	if (n)
		rs_worker_db(w);
	for (i = 0; i < n; i++) {
		if (i % RS_PUSH_CHECK == 0 && rs_push_waits(w)) {
			rs_batch_giveback(w, jobs + i, n - i);
			pushed = true;
			break;
		}
		if (rs_item_prepare(w, &jobs[i], &memo, &items[k]) <= 0)
			continue;
		bytes += items[k].text ? strlen(items[k].text) : 0;
		k++;
		/* The reports wait in memory only until their blobs are
		 * written; the whole claim is made durable at once. */
		if (bytes >= RS_BATCH_BYTES) {
			k = staged = rs_batch_stage(w, items, staged, k, &stg);
			bytes = 0;
		}
	}
	k = rs_batch_stage(w, items, staged, k, &stg);
	/* No claim ahead when a push waits (it comes first) or there was
	 * nothing to do. */
	rs_batch_write(w, items, k, stg, n && !pushed ? &next : NULL);
	for (i = 0; i < n; i++)
		stor_scan_job_release(&jobs[i]);
	rs_memo_release(&memo);
	free(items);
	w->ahead = next.jobs;
	w->nahead = next.n;
	free(jobs);
	return n > 0;
}
