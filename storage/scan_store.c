/* scan_store.c: the "Scan jobs and reports" part of storage.h, over the
 * metadata backend's scan queue (struct stor_scanq_ops). */
#include "storage/storage_int.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

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

int stor_scan_recover(struct stor *st, int max_attempts, size_t *n,
		      struct err *e)
{
	return meta(st)->scanq->scan_recover(meta(st), max_attempts, n, e);
}

int stor_scan_result_put(struct stor *st, const struct digest *dg,
			 const struct stor_scan_result *r, struct err *e)
{
	if (!r->report)
		return err_set(e, ERR_INTERNAL, "scan result without report");
	return meta(st)->scanq->scan_result_put(meta(st), dg, r, e);
}

int stor_scan_checked(struct stor *st, const struct digest *dg,
		      const char *db_version, struct err *e)
{
	return meta(st)->scanq->scan_checked(meta(st), dg, db_version, e);
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

int stor_scan_get(struct stor *st, const struct digest *dg, bool with_report,
		  struct stor_scan *out, struct err *e)
{
	return meta(st)->scanq->scan_get(meta(st), dg, with_report, out, e);
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

/* Every blob of a batch, manifests included, checked against its digest. */
static int scan_blobs(const struct stor_scan_outcome *v, size_t n,
		      struct stor_blob_data **out, size_t *count, struct err *e)
{
	struct stor_blob_data *b;
	char ds[DIGEST_STR_MAX];
	struct digest got;
	size_t k = 0, cap = 0;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < v[i].nrefs; j++)
			cap += v[i].refs[j].nblobs + 1;
	b = xcalloc(cap + 1, sizeof(*b));
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < v[i].nrefs; j++) {
			const struct stor_scan_referrer *r = &v[i].refs[j];

			for (size_t l = 0; l < r->nblobs; l++)
				b[k++] = r->blobs[l];
			b[k++] = (struct stor_blob_data){
				r->put->digest, r->put->body, r->put->len};
		}
	}
	for (size_t i = 0; i < k; i++) {
		digest_of(b[i].digest->alg, b[i].data, b[i].len, &got);
		if (!digest_eq(&got, b[i].digest)) {
			err_set(e, ERR_DIGEST_INVALID, "report blob is not %s",
				digest_str(b[i].digest, ds));
			free(b);
			return -1;
		}
	}
	*out = b;
	*count = k;
	return 0;
}

int stor_scan_finish_many(struct stor *st, const struct stor_scan_outcome *v,
			  size_t n, struct err *e)
{
	struct stor_blobs *bs = stor_blobs_of(st);
	struct stor_blob_data *b = NULL;
	size_t nb = 0;
	int pin, ret = -1;

	if (scan_blobs(v, n, &b, &nb, e) < 0)
		return -1;
	if (stor_pin(st, false, &pin, e) < 0) /* see gc.c */
		goto out;
	if (bs->ops->put_many) {
		ret = nb ? bs->ops->put_many(bs, b, nb, e) : 0;
	} else {
		ret = 0;
		for (size_t i = 0; i < nb && ret == 0; i++)
			ret = bs->ops->put(bs, b[i].digest, b[i].data, b[i].len,
					   e);
	}
	if (ret == 0)
		ret = meta(st)->scanq->scan_finish_many(meta(st), v, n, e);
	stor_unpin(pin);
out:
	free(b);
	return ret;
}
