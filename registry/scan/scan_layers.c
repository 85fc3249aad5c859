/* scan_layers.c: per-layer indexes, the registry's side (scan.h).
 *
 * A blob upload that completes queues its digest (reg_scan_layer_uploaded);
 * a worker with no scan job to run claims it, sniffs its first bytes
 * (configs and other non-layers are skipped without a worker process) and
 * has a sandboxed worker read it alone into its index, stored by digest.
 * A manifest's scan job then merges its layers' indexes (scan_run_layers)
 * without reading any layer.  A layer not indexed yet (a mounted blob, a
 * pull-through cache's, one still queued) is indexed by the job itself
 * before the merge; one that cannot be (skipped, failed) sends the job to
 * the whole-image scan.
 */
#include "registry/scan/scan_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/fdio.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "registry/metrics_int.h"
#include "common/banned.h"

/* How often a job looks whether a layer another worker reads is done. */
#define RS_LAYER_POLL_MS 20
/* Bytes read to tell a layer from a config: a tar header and its magic. */
#define RS_SNIFF_BYTES 512

void reg_scan_layer_uploaded(struct reg_scan *s, const struct digest *dg)
{
	struct err e = ERR_INIT;
	char ds[DIGEST_STR_MAX];

	if (!s || !s->layers)
		return;
	if (stor_layer_enqueue(s->st, dg, &e) < 0) {
		log_msg(LL_WARN, "scan: queue layer %s: %s", digest_str(dg, ds),
			e.msg);
		return;
	}
	reg_scan_kick(s);
}

static int rs_layer_open(void *ctx, const struct digest *dg,
			 struct scan_blob *b, struct err *e)
{
	struct reg_scan *s = ctx;

	scan_blob_init(b);
	b->offset = 0;
	if (rs_stopping(s))
		return err_set(e, ERR_IO, "the registry is stopping");
	return stor_blob_open(s->st, NULL, dg, &b->fd, &b->size, e);
}

/* Whether blob dg looks like a layer (1), not (0), or cannot be read. */
static int rs_layer_sniff(struct reg_scan *s, const struct digest *dg,
			  struct err *e)
{
	unsigned char head[RS_SNIFF_BYTES];
	int64_t size = 0;
	ssize_t n;
	int fd = -1;

	if (stor_blob_open(s->st, NULL, dg, &fd, &size, e) < 0)
		return -1;
	n = fdio_pread_all(fd, head, sizeof(head), 0);
	if (n < 0)
		err_errno(e, ERR_IO, errno, "read blob");
	close(fd);
	return n < 0 ? -1 : scan_layer_sniff(head, (size_t)n);
}

/* Reads claimed layer dg into its index and stores it.  sniff: skip a
 * blob that does not look like a layer (one a manifest lists is read
 * whatever it is: its index then says so). */
static int rs_layer_index(struct rs_worker *w, const struct digest *dg,
			  bool sniff, struct err *e)
{
	struct reg_scan *s = w->pool;
	struct scan_source src = {rs_layer_open, s};
	char ds[DIGEST_STR_MAX];
	json_t *idx = NULL;
	char *text = NULL;
	int r, ret = -1;

	digest_str(dg, ds);
	r = sniff ? rs_layer_sniff(s, dg, e) : 1;
	if (r == 0) {
		reg_metrics_layer(REG_LAYER_SKIPPED, 1);
		return stor_layer_skip(s->st, dg, "not a layer", e);
	}
	if (r < 0 ||
	    scan_layer_index_sandboxed(&src, dg, &s->budget, &w->sb, &idx, e))
		goto out;
	text = json_dumps(idx, JSON_COMPACT);
	if (!text) {
		err_set(e, ERR_INTERNAL, "cannot serialise layer index");
		goto out;
	}
	if (stor_layer_put(s->st, dg, SCAN_LAYER_INDEX_V, text, e) < 0)
		goto out;
	reg_metrics_layer(REG_LAYER_INDEXED, 1);
	log_msg(LL_DEBUG, "scan: layer %s indexed", ds);
	ret = 0;
out:
	free(text);
	json_decref(idx);
	return ret;
}

/* A claimed layer that could not be indexed: queued again after a
 * passing failure (a few times), else skipped with why. */
static void rs_layer_failed(struct reg_scan *s, const struct digest *dg,
			    const struct err *why)
{
	struct stor_layer l = {0};
	struct err e = ERR_INIT;
	char ds[DIGEST_STR_MAX];
	bool again;

	stor_layer_get(s->st, dg, false, &l, &e);
	/* A shutdown cut it short: not the layer's fault. */
	again = rs_stopping(s) ||
		(why->code == ERR_IO && l.attempts < RS_MAX_ATTEMPTS);
	log_msg(again ? LL_INFO : LL_WARN, "scan: layer %s: %s%s",
		digest_str(dg, ds), why->msg,
		again ? "; will retry" : "; not indexed");
	stor_layer_release(&l);
	if (stor_layer_skip(s->st, dg, again ? NULL : why->msg, &e) < 0)
		log_msg(LL_ERROR, "scan: layer %s: %s", ds, e.msg);
}

bool rs_layer_run(struct rs_worker *w)
{
	struct reg_scan *s = w->pool;
	struct err e = ERR_INIT;
	struct digest dg;
	int rc;

	if (!s->layers)
		return false;
	rc = stor_layer_claim(s->st, NULL, RS_LEASE_S, &dg, &e);
	if (rc < 0)
		log_msg(LL_ERROR, "scan: claim layer: %s", e.msg);
	if (rc <= 0)
		return false;
	if (rs_layer_index(w, &dg, true, &e) < 0)
		rs_layer_failed(s, &dg, &e);
	return true;
}

/* --- The merge ---------------------------------------------------------- */

struct rs_lookup {
	struct rs_job *j;
	struct digest *missing; /* layers without a usable index */
	size_t nmissing;
	bool unusable; /* one was skipped: the merge cannot be had */
};

static int rs_layer_get(void *ctx, const struct digest *dg, json_t **index,
			struct err *e)
{
	struct rs_lookup *lk = ctx;
	struct stor_layer l;
	int ret = 0;

	if (stor_layer_get(lk->j->st, dg, true, &l, e) < 0)
		return -1;
	if (l.state == STOR_LAYER_DONE && l.index && l.version &&
	    !strcmp(l.version, SCAN_LAYER_INDEX_V)) {
		*index = json_loads(l.index, 0, NULL);
		ret = *index ? 1 : 0;
		/* Made under other limits and cut by one: read it again. */
		if (ret && !scan_layer_index_current(*index,
						     &lk->j->w->pool->budget)) {
			json_decref(*index);
			*index = NULL;
			ret = 0;
		}
	}
	if (!ret) {
		if (l.state == STOR_LAYER_SKIPPED)
			lk->unusable = true;
		lk->missing = xrealloc(
			lk->missing, (lk->nmissing + 1) * sizeof(*lk->missing));
		lk->missing[lk->nmissing++] = *dg;
	}
	stor_layer_release(&l);
	return ret;
}

/* Waits while another worker indexes dg (a push's layer whose upload
 * just ended), at most as long as its budget lets it run; true when it
 * is indexed then. */
static bool rs_layer_await(struct rs_job *j, const struct digest *dg)
{
	struct reg_scan *s = j->w->pool;
	int64_t polls = (s->budget.deadline_ms / 1000 + j->w->sb.grace_s) *
			(1000 / RS_LAYER_POLL_MS);
	const struct timespec nap = {0, RS_LAYER_POLL_MS * 1000000L};
	enum stor_layer_state st = STOR_LAYER_RUNNING;

	for (int64_t i = 0;
	     st == STOR_LAYER_RUNNING && i < polls && !rs_stopping(s); i++) {
		struct stor_layer l;
		struct err e = ERR_INIT;

		nanosleep(&nap, NULL);
		if (stor_layer_get(j->st, dg, false, &l, &e) < 0)
			return false;
		st = l.state;
		stor_layer_release(&l);
	}
	return st == STOR_LAYER_DONE;
}

/* Indexes, here and now, the layers the merge lacked (claimed by digest;
 * one another worker is reading is waited for).  A layer absent from the
 * store (non-distributable) is left to the merge, which notes it. */
static void rs_layers_fill(struct rs_job *j, struct rs_lookup *lk)
{
	struct digest got;

	for (size_t i = 0; i < lk->nmissing && !rs_stopping(j->w->pool); i++) {
		struct err e = ERR_INIT;
		const struct digest *dg = &lk->missing[i];
		int r = stor_layer_claim(j->st, dg, RS_LEASE_S, &got, &e);

		if (r < 0)
			log_msg(LL_WARN, "scan: claim layer: %s", e.msg);
		if (r == 0 && rs_layer_await(j, dg))
			continue;
		if (rs_layer_index(j->w, dg, false, &e) < 0 &&
		    e.code != ERR_BLOB_UNKNOWN)
			rs_layer_failed(j->w->pool, dg, &e);
	}
}

int rs_job_layers(struct rs_job *j, const struct scan_source *src,
		  const struct scan_opts *o, json_t **out, struct err *e)
{
	struct rs_lookup lk = {.j = j};
	struct scan_layer_lookup look = {rs_layer_get, &lk};
	int rc;

	if (!j->w->pool->layers)
		return 1;
	rc = scan_run_layers(src, &j->job->digest, o, &look, out, e);
	if (rc == 1 && !lk.unusable) {
		rs_layers_fill(j, &lk);
		lk.nmissing = 0;
		rc = scan_run_layers(src, &j->job->digest, o, &look, out, e);
	}
	free(lk.missing);
	if (rc == 0)
		reg_metrics_layer(REG_LAYER_MERGED, 1);
	return rc;
}
