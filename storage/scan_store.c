/* scan_store.c: the "Scan jobs and reports" part of storage.h, over the
 * metadata backend's scan queue (struct stor_scanq_ops). */
#include "storage/storage_int.h"
#include "common/log.h"
#include "common/xmalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/banned.h"

static struct stor_meta *meta(struct stor *st)
{
	return stor_meta_of(st);
}

void stor_scan_job_release(struct stor_scan_job *job)
{
	if (!job)
		return;
	free(job->repo);
	job->repo = NULL;
	free(job->request_id);
	job->request_id = NULL;
}

void stor_scan_release(struct stor_scan *s)
{
	if (!s)
		return;
	free(s->error);
	free(s->report);
	free(s->findings);
	free(s->db_version);
	free(s->checked_db);
	memset(s, 0, sizeof(*s));
}

int stor_scan_enqueue(struct stor *st, const char *repo,
		      const struct digest *dg, bool if_absent, struct err *e)
{
	return meta(st)->scanq->scan_enqueue(meta(st), repo, dg, if_absent, e);
}

int stor_scan_claim(struct stor *st, int64_t lease_s, struct stor_scan_job *job,
		    struct err *e)
{
	return meta(st)->scanq->scan_claim(meta(st), lease_s, job, e);
}

int stor_scan_renew(struct stor *st, int64_t lease_s, size_t *n, struct err *e)
{
	return meta(st)->scanq->scan_renew(meta(st), lease_s, n, e);
}

int stor_scan_recover(struct stor *st, int max_attempts, size_t *n,
		      struct err *e)
{
	return meta(st)->scanq->scan_recover(meta(st), max_attempts, n, e);
}

/* The report's digest: the caller's, else hashed into *own. */
static const struct digest *scan_report_dg(const struct stor_scan_result *r,
					   struct digest *own)
{
	if (r->report_digest)
		return r->report_digest;
	digest_of(DIGEST_SHA256, r->report, strlen(r->report), own);
	return own;
}

static int scan_result_put(struct stor *st, const struct digest *dg,
			   const struct stor_scan_job *job,
			   const struct stor_scan_result *r, struct err *e)
{
	struct stor_blobs *bs = stor_blobs_of(st);
	struct stor_scan_result row;
	struct digest own;
	int pin, ret;

	if (!r->report)
		return err_set(e, ERR_INTERNAL, "scan result without report");
	row = *r;
	row.report_digest = scan_report_dg(r, &own);
	if (stor_pin(st, false, &pin, e) < 0) /* see gc.c */
		return -1;
	ret = bs->ops->put(bs, row.report_digest, r->report, strlen(r->report),
			   e);
	if (ret == 0)
		ret = meta(st)->scanq->scan_result_put(meta(st), dg, job, &row,
						       e);
	stor_unpin(pin);
	return ret;
}

int stor_scan_result_put(struct stor *st, const struct digest *dg,
			 const struct stor_scan_result *r, struct err *e)
{
	return scan_result_put(st, dg, NULL, r, e);
}

int stor_scan_result_put_claimed(struct stor *st,
				 const struct stor_scan_job *job,
				 const struct stor_scan_result *r,
				 struct err *e)
{
	return scan_result_put(st, &job->digest, job, r, e);
}

int stor_scan_checked(struct stor *st, const struct stor_scan_job *job,
		      const char *db_version, struct err *e)
{
	return meta(st)->scanq->scan_checked(meta(st), job, db_version, e);
}

int stor_scan_done(struct stor *st, const struct stor_scan_job *job,
		   struct err *e)
{
	return meta(st)->scanq->scan_done(meta(st), job, e);
}

int stor_scan_fail(struct stor *st, const struct stor_scan_job *job,
		   const char *why, int64_t retry_at, struct err *e)
{
	return meta(st)->scanq->scan_fail(meta(st), job, why, retry_at, e);
}

int stor_scan_wait(struct stor *st, const struct stor_scan_job *job,
		   const struct digest *children, size_t n, bool *ready,
		   struct err *e)
{
	return meta(st)->scanq->scan_wait(meta(st), job, children, n, ready, e);
}

/* The report text of blob dg into *out (NULL if the blob is lost: the
 * caller scans the image again). */
static int scan_report_read(struct stor *st, const struct digest *dg,
			    char **out, struct err *e)
{
	char ds[DIGEST_STR_MAX];
	struct err sub = ERR_INIT;
	int64_t size;
	char *text;
	int fd, ret;

	*out = NULL;
	if (stor_blob_open(st, NULL, dg, &fd, &size, &sub) < 0) {
		if (sub.code != ERR_BLOB_UNKNOWN)
			return err_set(e, sub.code, "%s", sub.msg);
		log_msg(LL_WARN, "scan report %s: %s", digest_str(dg, ds),
			sub.msg);
		return 0;
	}
	if ((uint64_t)size >= SIZE_MAX) {
		close(fd);
		return err_set(e, ERR_IO, "scan report %s is too large",
			       digest_str(dg, ds));
	}
	text = xmalloc((size_t)size + 1);
	ret = stor_read_full(fd, text, (size_t)size, "scan report", e);
	close(fd);
	if (ret < 0) {
		free(text);
		return -1;
	}
	text[size] = '\0';
	*out = text;
	return 0;
}

int stor_scan_get(struct stor *st, const struct digest *dg, bool with_report,
		  struct stor_scan *out, struct err *e)
{
	if (meta(st)->scanq->scan_get(meta(st), dg, with_report, true, out, e) <
	    0)
		return -1;
	if (!with_report || !out->has_result || !out->in_blob)
		return 0;
	if (scan_report_read(st, &out->report_blob, &out->report, e) < 0) {
		stor_scan_release(out);
		return -1;
	}
	return 0;
}

int stor_scan_peek(struct stor *st, const struct digest *dg,
		   struct stor_scan *out, struct err *e)
{
	return meta(st)->scanq->scan_get(meta(st), dg, false, false, out, e);
}

int stor_tag_scans(struct stor *st, const char *repo,
		   struct stor_tag_scan **out, size_t *count, struct err *e)
{
	*out = NULL;
	*count = 0;
	return meta(st)->scanq->tag_scans(meta(st), repo, out, count, e);
}

void stor_tag_scans_free(struct stor_tag_scan *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].t.tag);
		free(v[i].t.media_type);
		stor_scan_release(&v[i].scan);
	}
	free(v);
}

int stor_scan_forget(struct stor *st, const struct digest *dg, struct err *e)
{
	return meta(st)->scanq->scan_forget(meta(st), dg, e);
}

int stor_scan_rearm(struct stor *st, const char *db_version, size_t *n,
		    struct err *e)
{
	return meta(st)->scanq->scan_rearm(meta(st), db_version, n, e);
}

int stor_scan_stats(struct stor *st, struct stor_scan_stats *out, struct err *e)
{
	return meta(st)->scanq->scan_stats(meta(st), out, e);
}

int stor_scan_failures(struct stor *st, size_t max,
		       struct stor_scan_failure **out, size_t *count,
		       struct err *e)
{
	*out = NULL;
	*count = 0;
	return meta(st)->scanq->scan_failures(meta(st), max, out, count, e);
}

void stor_scan_failures_free(struct stor_scan_failure *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].repo);
		free(v[i].error);
	}
	free(v);
}

int stor_scan_push_waiting(struct stor *st, bool *out, struct err *e)
{
	return meta(st)->scanq->scan_push_waiting(meta(st), out, e);
}

int stor_scan_unclaim(struct stor *st, const struct stor_scan_job *jobs,
		      size_t n, struct err *e)
{
	return n ? meta(st)->scanq->scan_unclaim(meta(st), jobs, n, e) : 0;
}

int stor_scan_claim_rematch(struct stor *st, int64_t lease_s,
			    struct stor_scan_job *jobs, size_t max, size_t *n,
			    struct err *e)
{
	*n = 0;
	if (!max)
		return 0;
	return meta(st)->scanq->scan_claim_rematch(meta(st), lease_s, jobs, max,
						   n, e);
}

/* Whether dg is among v[0..n). */
static bool scan_blob_listed(const struct stor_blob_data *v, size_t n,
			     const struct digest *dg)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].digest == dg || digest_eq(v[i].digest, dg))
			return true;
	return false;
}

/* Every blob of a batch: each referrer's, its manifest, and each result's
 * report unless one of its referrers carries it.  rows[] gets the results
 * with their report digests (hashed here if the caller had none, into
 * dgs[]).  The digests are the callers' (rs_pub_plan() computed them from
 * these bytes): not hashed again. */
static void scan_blobs(const struct stor_scan_outcome *v, size_t n,
		       struct stor_scan_result *rows, struct digest *dgs,
		       struct stor_blob_data **out, size_t *count)
{
	struct stor_blob_data *b;
	size_t k = 0, cap = 0;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < v[i].nrefs; j++)
			cap += v[i].refs[j].nblobs + 1;
	b = xcalloc(cap + n + 1, sizeof(*b));
	for (size_t i = 0; i < n; i++) {
		size_t first = k;

		for (size_t j = 0; j < v[i].nrefs; j++) {
			const struct stor_scan_referrer *r = &v[i].refs[j];

			for (size_t l = 0; l < r->nblobs; l++)
				b[k++] = r->blobs[l];
			b[k++] = (struct stor_blob_data){
				r->put->digest, r->put->body, r->put->len};
		}
		if (!v[i].result)
			continue;
		rows[i] = *v[i].result;
		rows[i].report_digest = scan_report_dg(v[i].result, &dgs[i]);
		if (!scan_blob_listed(b + first, k - first,
				      rows[i].report_digest))
			b[k++] = (struct stor_blob_data){
				rows[i].report_digest, rows[i].report,
				strlen(rows[i].report)};
	}
	*out = b;
	*count = k;
}

struct stor_scan_stage {
	struct stor_blob_stage *blobs; /* the backend's, or NULL */
	int pin;		       /* held until the rows are written */
};

static int scan_stage_new(struct stor *st, struct stor_scan_stage **sp,
			  struct err *e)
{
	struct stor_scan_stage *s = xcalloc(1, sizeof(*s));

	if (stor_pin(st, false, &s->pin, e) < 0) { /* see gc.c */
		free(s);
		return -1;
	}
	*sp = s;
	return 0;
}

int stor_scan_stage(struct stor *st, struct stor_scan_stage **sp,
		    const struct stor_scan_outcome *v, size_t n, struct err *e)
{
	struct stor_blobs *bs = stor_blobs_of(st);
	struct stor_scan_result *rows = xcalloc(n + 1, sizeof(*rows));
	struct digest *dgs = xcalloc(n + 1, sizeof(*dgs));
	struct stor_blob_data *b = NULL;
	size_t nb = 0;
	int ret = -1;

	if (!*sp && scan_stage_new(st, sp, e) < 0)
		goto out;
	scan_blobs(v, n, rows, dgs, &b, &nb);
	if (!nb)
		ret = 0;
	else if (bs->ops->stage)
		ret = bs->ops->stage(bs, b, nb, &(*sp)->blobs, e);
	else if (bs->ops->put_many)
		ret = bs->ops->put_many(bs, b, nb, e);
	else
		for (size_t i = ret = 0; i < nb && ret == 0; i++)
			ret = bs->ops->put(bs, b[i].digest, b[i].data, b[i].len,
					   e);
out:
	free(b);
	free(dgs);
	free(rows);
	return ret;
}

int stor_scan_stage_end(struct stor *st, struct stor_scan_stage *s,
			const struct stor_scan_outcome *v, size_t n,
			struct stor_scan_next *next, struct err *e)
{
	struct stor_blobs *bs = stor_blobs_of(st);
	int ret = -1;

	if (next)
		next->n = 0;
	if (!s && n && scan_stage_new(st, &s, e) < 0)
		return -1;
	if (!s)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (v[i].result && !v[i].result->report_digest) {
			err_set(e, ERR_INTERNAL,
				"staged report without digest");
			goto out;
		}
	if (bs->ops->stage_end &&
	    bs->ops->stage_end(bs, s->blobs, true, e) < 0) {
		s->blobs = NULL;
		goto out;
	}
	s->blobs = NULL;
	ret = n || next ? meta(st)->scanq->scan_finish_many(meta(st), v, n,
							    next, e)
			: 0;
out:
	stor_scan_stage_drop(st, s);
	return ret;
}

void stor_scan_stage_drop(struct stor *st, struct stor_scan_stage *s)
{
	struct stor_blobs *bs = stor_blobs_of(st);

	if (!s)
		return;
	if (s->blobs)
		bs->ops->stage_end(bs, s->blobs, false, NULL);
	stor_unpin(s->pin);
	free(s);
}

int stor_scan_finish_many(struct stor *st, const struct stor_scan_outcome *v,
			  size_t n, struct err *e)
{
	struct stor_scan_outcome *o = xcalloc(n + 1, sizeof(*o));
	struct stor_scan_result *rows = xcalloc(n + 1, sizeof(*rows));
	struct digest *dgs = xcalloc(n + 1, sizeof(*dgs));
	struct stor_scan_stage *s = NULL;
	int ret;

	/* The rows name each report by digest: hashed here if the caller
	 * had none. */
	for (size_t i = 0; i < n; i++) {
		o[i] = v[i];
		if (!v[i].result)
			continue;
		rows[i] = *v[i].result;
		rows[i].report_digest = scan_report_dg(v[i].result, &dgs[i]);
		o[i].result = &rows[i];
	}
	if (stor_scan_stage(st, &s, o, n, e) < 0) {
		stor_scan_stage_drop(st, s);
		ret = -1;
	} else {
		ret = stor_scan_stage_end(st, s, o, n, NULL, e);
	}
	free(dgs);
	free(rows);
	free(o);
	return ret;
}
