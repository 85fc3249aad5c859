/* outbox.c: the events outbox's front (storage.h), over the metadata
 * backend's stor_outbox_ops; a backend without one (NULL) stores the
 * changes alone and says ERR_UNSUPPORTED to the outbox's own calls. */
#include "storage/storage_int.h"

#include <stdlib.h>

#include "common/banned.h"

static const struct stor_outbox_ops *ob_ops(struct stor *st,
					    struct stor_meta **m)
{
	*m = stor_meta_of(st);
	return (*m)->outbox;
}

static int ob_unsupported(struct err *e)
{
	return err_set(e, ERR_UNSUPPORTED,
		       "this metadata backend keeps no events outbox");
}

int stor_event_add(struct stor *st, const struct stor_event *v, size_t n,
		   struct err *e)
{
	struct stor_meta *m;
	const struct stor_outbox_ops *o = ob_ops(st, &m);

	return o ? o->add(m, v, n, e) : ob_unsupported(e);
}

int stor_manifest_delete_ev(struct stor *st, const char *repo,
			    const struct digest *dg,
			    const struct stor_event *ev, struct err *e)
{
	struct stor_meta *m;
	const struct stor_outbox_ops *o = ob_ops(st, &m);

	if (!ev || !o)
		return stor_manifest_delete(st, repo, dg, e);
	return o->mf_delete(m, repo, dg, ev, e);
}

int stor_tag_delete_ev(struct stor *st, const char *repo, const char *tag,
		       const struct stor_event *ev, struct err *e)
{
	struct stor_meta *m;
	const struct stor_outbox_ops *o = ob_ops(st, &m);

	if (!ev || !o)
		return stor_tag_delete(st, repo, tag, e);
	return o->tag_delete(m, repo, tag, ev, e);
}

int stor_scan_done_ev(struct stor *st, const struct stor_scan_job *job,
		      const struct stor_event *v, size_t n, struct err *e)
{
	struct stor_meta *m;
	const struct stor_outbox_ops *o = ob_ops(st, &m);

	if (!n || !o)
		return stor_scan_done(st, job, e);
	return o->scan_finish(m, job, false, NULL, 0, v, n, e);
}

int stor_scan_fail_ev(struct stor *st, const struct stor_scan_job *job,
		      const char *why, int64_t retry_at,
		      const struct stor_event *v, size_t n, struct err *e)
{
	struct stor_meta *m;
	const struct stor_outbox_ops *o = ob_ops(st, &m);

	if (!n || !o)
		return stor_scan_fail(st, job, why, retry_at, e);
	return o->scan_finish(m, job, true, why, retry_at, v, n, e);
}

int stor_outbox_route(struct stor *st, const char *endpoint,
		      stor_event_filter_fn fn, void *arg, size_t max, size_t *n,
		      struct err *e)
{
	struct stor_meta *m;
	const struct stor_outbox_ops *o = ob_ops(st, &m);

	return o ? o->route(m, endpoint, fn, arg, max, n, e)
		 : ob_unsupported(e);
}

int stor_outbox_keep(struct stor *st, const char *const *keep, size_t n,
		     size_t *dropped, struct err *e)
{
	struct stor_meta *m;
	const struct stor_outbox_ops *o = ob_ops(st, &m);

	return o ? o->keep(m, keep, n, dropped, e) : ob_unsupported(e);
}

int stor_outbox_due(struct stor *st, const char *endpoint, int64_t now_ms,
		    size_t max_repos, size_t per_repo,
		    struct stor_delivery **out, size_t *n, struct err *e)
{
	struct stor_meta *m;
	const struct stor_outbox_ops *o = ob_ops(st, &m);

	*out = NULL;
	*n = 0;
	return o ? o->due(m, endpoint, now_ms, max_repos, per_repo, out, n, e)
		 : ob_unsupported(e);
}

int stor_outbox_done(struct stor *st, const char *endpoint, const int64_t *seqs,
		     size_t n, struct err *e)
{
	struct stor_meta *m;
	const struct stor_outbox_ops *o = ob_ops(st, &m);

	return o ? o->done(m, endpoint, seqs, n, e) : ob_unsupported(e);
}

int stor_outbox_retry(struct stor *st, const char *endpoint,
		      const int64_t *seqs, size_t n, int64_t next_ms, bool dead,
		      const char *error, struct err *e)
{
	struct stor_meta *m;
	const struct stor_outbox_ops *o = ob_ops(st, &m);

	return o ? o->retry(m, endpoint, seqs, n, next_ms, dead, error, e)
		 : ob_unsupported(e);
}

int stor_outbox_dead(struct stor *st, size_t max, struct stor_delivery **out,
		     size_t *n, struct err *e)
{
	struct stor_meta *m;
	const struct stor_outbox_ops *o = ob_ops(st, &m);

	*out = NULL;
	*n = 0;
	return o ? o->dead(m, max, out, n, e) : ob_unsupported(e);
}

int stor_outbox_counts(struct stor *st, size_t *pending, size_t *dead,
		       struct err *e)
{
	struct stor_meta *m;
	const struct stor_outbox_ops *o = ob_ops(st, &m);

	*pending = *dead = 0;
	return o ? o->counts(m, pending, dead, e) : ob_unsupported(e);
}

void stor_delivery_free(struct stor_delivery *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].endpoint);
		free(v[i].action);
		free(v[i].repo);
		free(v[i].body);
		free(v[i].error);
	}
	free(v);
}
