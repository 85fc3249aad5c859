/* proxy_manifest.c: manifests pulled through an upstream.
 *
 * A request the store cannot answer (a tag past its freshness, a tag or
 * digest never stored) joins the in-flight entry of its repository and
 * reference, or starts one; the entry's job runs on a fetch thread:
 *
 *	RUNNING --HEAD says unchanged, or the upstream fails--> DONE (stored)
 *	        --GET--> GOT (in memory) --blobs fetched, stored--> DONE
 *	        --error--> FAILED
 *
 * Waiters are woken when they can be answered: at GOT from memory, except
 * an image's GET or HEAD under a pull policy, which waits for DONE and the
 * policy's word on the stored copy.
 */
#include "registry/proxy/proxy_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/oci.h"
#include "common/xmalloc.h"
#include "registry/policy_int.h"
#include "registry/reply_int.h"
#include "registry/scan/scan.h"
#include "common/banned.h"

enum pxm_state { PXM_RUNNING, PXM_GOT, PXM_DONE, PXM_FAILED };

struct pxm_waiter {
	struct pxm_waiter *next;
	struct pxm *m;
	struct http_req *req;
	bool gate; /* a GET or HEAD under a pull policy */
};

struct pxm {
	struct pxm *next; /* p->manifests, while in flight */
	struct reg_proxy *p;
	struct reg_ctx *ctx;
	int refs; /* the job's, and one per waiter */
	struct px_map map;
	struct reg_ref ref;
	bool have_cached; /* the store's copy of the tag, to revalidate */
	struct digest cached;
	enum pxm_state state;
	bool use_cached; /* DONE: serve the store's copy of the tag */
	/* From GOT on, and unchanged after. */
	struct digest digest;
	char media_type[REG_MEDIA_TYPE_MAX + 1];
	char *body;
	size_t len;
	bool is_index;
	struct err err; /* FAILED: the reply */
	struct pxm_waiter *waiters;
};

/* --- Replies ----------------------------------------------------------------
 */

/* Serves a stored manifest; an image's GET or HEAD goes past the pull
 * policy. */
static void pxm_serve_stored(struct reg_ctx *ctx, struct http_req *req,
			     const char *name, struct stor_manifest *sm)
{
	struct reg_call call = {.ctx = ctx, .req = req};

	if (oci_type_of(sm->media_type) != OCI_TYPE_INDEX) {
		snprintf(call.name, sizeof(call.name), "%s", name);
		if (reg_policy_gate(&call, sm, reg_reply_stored_manifest) !=
		    REG_CONTINUE)
			return;
	}
	reg_reply_stored_manifest(req, sm);
}

static bool pxm_gated(struct reg_ctx *ctx, struct http_req *req)
{
	enum http_method method = http_req_method(req);

	/* HEAD as GET (policy_int.h). */
	return (method == HTTP_M_GET || method == HTTP_M_HEAD) && ctx->policy &&
	       ctx->policy->deny >= 0;
}

/* --- Entries and waiters
 * ------------------------------------------------------ */

/* Under p->lock. */
static void pxm_unref(struct pxm *m)
{
	if (--m->refs > 0)
		return;
	free(m->body);
	free(m);
}

static bool pxm_ready(const struct pxm *m, const struct pxm_waiter *w)
{
	switch (m->state) {
	case PXM_RUNNING:
		return false;
	case PXM_GOT:
		return !w->gate || m->is_index;
	case PXM_DONE:
	case PXM_FAILED:
		return true;
	}
	return true;
}

static void pxm_waiter_run(struct http_req *req, void *arg);

/* Wakes the waiters that can be answered now; under p->lock. */
static void pxm_notify(struct pxm *m)
{
	struct pxm_waiter **pp = &m->waiters, *w;

	while ((w = *pp)) {
		if (!pxm_ready(m, w)) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		w->next = NULL;
		http_req_defer(w->req, pxm_waiter_run, w);
	}
}

static void pxm_waiter_free(struct pxm_waiter *w)
{
	struct reg_proxy *p = w->m->p;

	pthread_mutex_lock(&p->lock);
	pxm_unref(w->m);
	pthread_mutex_unlock(&p->lock);
	free(w);
}

/* The request ended (http_req_attach()): a client that went away may
 * still be waiting. */
static void pxm_waiter_end(void *ptr, bool gone)
{
	struct pxm_waiter *w = ptr, **pp;
	struct reg_proxy *p = w->m->p;

	(void)gone;
	pthread_mutex_lock(&p->lock);
	for (pp = &w->m->waiters; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	pthread_mutex_unlock(&p->lock);
	pxm_waiter_free(w);
}

/* The store's copy: of the tag (use_cached), or of the digest fetched. */
static void pxm_reply_stored(struct pxm *m, struct http_req *req)
{
	const struct reg_ref *ref = &m->ref;
	struct stor_manifest *sm = NULL;
	struct err e = ERR_INIT;
	int rc;

	if (m->use_cached)
		rc = stor_manifest_get(m->p->st, m->map.local,
				       ref->is_digest ? NULL : ref->tag,
				       ref->is_digest ? &ref->digest : NULL,
				       &sm, &e);
	else
		rc = stor_manifest_get(m->p->st, m->map.local, NULL, &m->digest,
				       &sm, &e);
	if (rc < 0) {
		reg_reply_error(req, &e);
		return;
	}
	pxm_serve_stored(m->ctx, req, m->map.local, sm);
}

static void pxm_waiter_run(struct http_req *req, void *arg)
{
	struct pxm_waiter *w = arg;
	struct pxm *m = w->m;
	bool memory;
	enum pxm_state state;
	struct err e;

	pthread_mutex_lock(&m->p->lock);
	state = m->state;
	e = m->err;
	/* The fetched body does, even if storing it failed afterwards,
	 * unless the policy must judge the stored copy. */
	memory = m->body && !(w->gate && !m->is_index);
	pthread_mutex_unlock(&m->p->lock);
	if (memory) {
		reg_reply_manifest(req, &m->digest, m->media_type, m->body,
				   m->len);
	} else if (state == PXM_FAILED) {
		reg_reply_error(req, &e);
	} else {
		pxm_reply_stored(m, req);
	}
}

/* --- The job
 * ------------------------------------------------------------------ */

static void pxm_path(const struct pxm *m, char *out, size_t n)
{
	char ds[DIGEST_STR_MAX];

	snprintf(out, n, "/v2/%s/manifests/%s", m->map.remote,
		 m->ref.is_digest ? digest_str(&m->ref.digest, ds)
				  : m->ref.tag);
}

/* The upstream failed but the store has the tag: that copy it is. */
static int pxm_fallback(struct pxm *m, const struct err *why)
{
	log_msg(LL_WARN, "pull-through %s:%s: %s; serving the cached copy",
		m->map.local, m->ref.tag, why->msg);
	m->use_cached = true;
	px_fresh_set(m->p, m->map.local, m->ref.tag, false);
	return 0;
}

/* 1: the store's copy stands (use_cached); 0: fetch the manifest. */
static int pxm_revalidate(struct ups_conn *conn, struct pxm *m)
{
	char path[REG_NAME_MAX + 200];
	struct ups_xfer x;
	struct err e = ERR_INIT;
	struct digest dg;
	int ret = 0;

	ups_xfer_init(&x);
	pxm_path(m, path, sizeof(path));
	x.head = true;
	x.path = path;
	x.repo = m->map.remote;
	x.accept = OCI_ACCEPT_MANIFESTS;
	if (ups_do(conn, m->map.r, &x, &e) < 0 ||
	    (x.status != 200 &&
	     ups_error(m->map.r, &x, ERR_MANIFEST_UNKNOWN, &e) < 0)) {
		pxm_fallback(m, &e);
		ret = 1;
	} else if (x.digest[0] &&
		   digest_parse(x.digest, strlen(x.digest), &dg, NULL) == 0 &&
		   digest_eq(&dg, &m->cached)) {
		m->use_cached = true;
		px_fresh_set(m->p, m->map.local, m->ref.tag, true);
		ret = 1;
	}
	ups_xfer_release(&x);
	return ret;
}

/* The body must hash to what was asked for, and to what the upstream
 * says it is. */
static int pxm_check_digest(struct pxm *m, const struct ups_xfer *x,
			    struct err *e)
{
	char got[DIGEST_STR_MAX], want[DIGEST_STR_MAX];
	struct digest said;

	digest_of(m->ref.is_digest ? m->ref.digest.alg : DIGEST_SHA256,
		  x->body.buf, x->body.len, &m->digest);
	if (m->ref.is_digest && !digest_eq(&m->digest, &m->ref.digest))
		return err_set(e, ERR_UPSTREAM,
			       "upstream %s sent a manifest with digest %s for "
			       "%s",
			       m->map.r->host, digest_str(&m->digest, got),
			       digest_str(&m->ref.digest, want));
	if (x->digest[0] &&
	    digest_parse(x->digest, strlen(x->digest), &said, NULL) == 0 &&
	    said.alg == m->digest.alg && !digest_eq(&said, &m->digest))
		return err_set(e, ERR_UPSTREAM,
			       "upstream %s sent a manifest with digest %s but "
			       "said %s",
			       m->map.r->host, digest_str(&m->digest, got),
			       digest_str(&said, want));
	return 0;
}

/* An index's references: the platform manifests repo has.  *missing
 * says whether it lacks any. */
static void pxm_index_refs(struct reg_proxy *p, const char *repo,
			   const struct reg_manifest *mf, struct digest *refs,
			   size_t *n, bool *missing)
{
	*n = 0;
	*missing = false;
	for (size_t i = 0; i < mf->ndescs; i++) {
		const struct reg_mdesc *d = &mf->descs[i];

		if (!d->is_manifest)
			continue;
		if (stor_manifest_exists(p->st, repo, &d->digest))
			refs[(*n)++] = d->digest;
		else
			*missing = true;
	}
	digest_sort_unique(refs, n);
}

/* The references to record, sorted and unique: every blob, fetched if
 * need be. */
static int pxm_refs(struct ups_conn *conn, struct pxm *m,
		    const struct reg_manifest *mf, struct digest *refs,
		    size_t *n, struct err *e)
{
	*n = 0;
	for (size_t i = 0; i < mf->ndescs; i++) {
		const struct reg_mdesc *d = &mf->descs[i];
		struct err sub = ERR_INIT;

		if (d->is_manifest)
			continue;
		if (px_blob_ensure(conn, m->p, &m->map, &d->digest, d->size,
				   &sub) < 0) {
			/* A foreign layer may live only at its urls. */
			if (d->has_urls)
				continue;
			return err_set(e, sub.code, "%s", sub.msg);
		}
		refs[(*n)++] = d->digest;
	}
	digest_sort_unique(refs, n);
	return 0;
}

/* --- Indexes stored before their platform manifests -------------------------
 */

static void pxm_partial_set(struct reg_proxy *p, const char *repo,
			    const struct digest *dg, bool partial)
{
	struct px_partial **pp, *x;

	pthread_mutex_lock(&p->lock);
	for (pp = &p->partials; (x = *pp); pp = &x->next) {
		if (digest_eq(&x->dg, dg) && !strcmp(x->repo, repo)) {
			*pp = x->next;
			free(x);
			p->npartials--;
			break;
		}
	}
	if (partial) {
		/* Full: the oldest is forgotten (its references stay as
		 * they are). */
		if (p->npartials >= PX_PARTIAL_MAX) {
			for (pp = &p->partials; (*pp)->next; pp = &(*pp)->next)
				;
			free(*pp);
			*pp = NULL;
			p->npartials--;
		}
		x = xcalloc(1, sizeof(*x));
		x->dg = *dg;
		snprintf(x->repo, sizeof(x->repo), "%s", repo);
		x->next = p->partials;
		p->partials = x;
		p->npartials++;
	}
	pthread_mutex_unlock(&p->lock);
}

void px_partials_free(struct reg_proxy *p)
{
	struct px_partial *x, *next;

	for (x = p->partials; x; x = next) {
		next = x->next;
		free(x);
	}
	p->partials = NULL;
	p->npartials = 0;
}

/* An index's report lists the platforms the repository had when it was
 * made: a new one makes it out of date. */
static void pxm_index_rescan(struct reg_proxy *p, struct reg_scan *scan,
			     const char *repo, const struct digest *idx,
			     struct err *e)
{
	struct stor_scan sc;

	if (stor_scan_get(p->st, idx, false, &sc, e) < 0)
		return;
	if (sc.state != STOR_SCAN_NONE &&
	    stor_scan_enqueue(p->st, repo, idx, false, e) == 0)
		reg_scan_kick(scan);
	stor_scan_release(&sc);
}

/* Stores index idx of repo again with the platform manifests repo now
 * has as its references, if child is one of them. */
static void pxm_index_refresh(struct reg_proxy *p, struct reg_scan *scan,
			      const char *repo, const struct digest *idx,
			      const struct digest *child)
{
	struct stor_manifest *sm = NULL;
	struct stor_manifest_put put;
	struct reg_manifest mf;
	struct digest *refs = NULL;
	struct err e = ERR_INIT;
	bool lists = false, missing;
	size_t nrefs;

	memset(&mf, 0, sizeof(mf));
	if (stor_manifest_get(p->st, repo, NULL, idx, &sm, &e) < 0 ||
	    reg_manifest_parse(sm->body, sm->len, sm->media_type, &mf, &e) < 0)
		goto out;
	for (size_t i = 0; i < mf.ndescs; i++)
		lists = lists || digest_eq(&mf.descs[i].digest, child);
	if (!lists)
		goto out;
	refs = xcalloc(mf.ndescs + 1, sizeof(*refs));
	pxm_index_refs(p, repo, &mf, refs, &nrefs, &missing);
	put = (struct stor_manifest_put){
		.repo = repo,
		.digest = idx,
		.media_type = sm->media_type,
		.body = sm->body,
		.len = sm->len,
		.subject = mf.has_subject ? &mf.subject : NULL,
		.artifact_type = mf.artifact_type,
		.annotations_json = mf.annotations_json,
		.refs = refs,
		.nrefs = nrefs,
		.verify_refs = true,
	};
	if (stor_manifest_put(p->st, &put, &e) < 0)
		goto out;
	if (!missing)
		pxm_partial_set(p, repo, idx, false);
	pxm_index_rescan(p, scan, repo, idx, &e);
out:
	if (e.code)
		log_msg(LL_WARN, "pull-through %s: references of an index: %s",
			repo, e.msg);
	free(refs);
	reg_manifest_release(&mf);
	stor_manifest_free(sm);
}

/* A list of index digests, without repeats. */
struct pxm_idxv {
	struct digest *v;
	size_t n, cap;
};

static void pxm_idxv_add(struct pxm_idxv *l, const struct digest *dg)
{
	for (size_t i = 0; i < l->n; i++)
		if (digest_eq(&l->v[i], dg))
			return;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 8;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = *dg;
}

/* The indexes m's repository's tags point at (the first PX_ADOPT_TAGS):
 * what survives a restart of what was pulled. */
static void pxm_tagged_indexes(struct pxm *m, struct pxm_idxv *l)
{
	struct stor_manifest *sm;
	char **tags = NULL;
	size_t n = 0;
	bool more;

	if (stor_tags_list(m->p->st, m->map.local, NULL, PX_ADOPT_TAGS, &tags,
			   &n, &more, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		sm = NULL;
		if (stor_manifest_get(m->p->st, m->map.local, tags[i], NULL,
				      &sm, NULL) == 0 &&
		    oci_type_of(sm->media_type) == OCI_TYPE_INDEX)
			pxm_idxv_add(l, &sm->digest);
		stor_manifest_free(sm);
	}
	stor_strv_free(tags, n);
}

/* A platform manifest came into m's repository: the indexes there that
 * list it record it now (and their reports take it in). */
static void pxm_adopt(struct pxm *m)
{
	struct reg_proxy *p = m->p;
	struct pxm_idxv l = {0};
	struct px_partial *x;

	pthread_mutex_lock(&p->lock);
	for (x = p->partials; x; x = x->next)
		if (!strcmp(x->repo, m->map.local))
			pxm_idxv_add(&l, &x->dg);
	pthread_mutex_unlock(&p->lock);
	pxm_tagged_indexes(m, &l);
	for (size_t i = 0; i < l.n; i++)
		pxm_index_refresh(p, m->ctx->scan, m->map.local, &l.v[i],
				  &m->digest);
	free(l.v);
}

static int pxm_store(struct ups_conn *conn, struct pxm *m,
		     const struct reg_manifest *mf, struct err *e)
{
	struct digest *refs = xcalloc(mf->ndescs + 1, sizeof(*refs));
	struct stor_manifest_put put;
	char ds[DIGEST_STR_MAX];
	size_t nrefs = 0;
	bool had, missing = false;
	int ret = -1;

	if (mf->type == OCI_TYPE_INDEX)
		pxm_index_refs(m->p, m->map.local, mf, refs, &nrefs, &missing);
	else if (pxm_refs(conn, m, mf, refs, &nrefs, e) < 0)
		goto out;
	had = stor_manifest_exists(m->p->st, m->map.local, &m->digest);
	put = (struct stor_manifest_put){
		.repo = m->map.local,
		.tag = m->ref.is_digest ? NULL : m->ref.tag,
		.digest = &m->digest,
		.media_type = m->media_type,
		.body = m->body,
		.len = m->len,
		.subject = mf->has_subject ? &mf->subject : NULL,
		.artifact_type = mf->artifact_type,
		.annotations_json = mf->annotations_json,
		.refs = refs,
		.nrefs = nrefs,
		.enqueue_scan = mf->kind == OCI_KIND_IMAGE && !had,
		.verify_refs = true,
	};
	if (stor_manifest_put(m->p->st, &put, e) < 0)
		goto out;
	if (put.enqueue_scan)
		reg_scan_kick(m->ctx->scan);
	if (missing)
		pxm_partial_set(m->p, m->map.local, &m->digest, true);
	else if (m->ref.is_digest)
		pxm_adopt(m);
	log_msg(LL_INFO, "pull-through %s%s%s: cached %s from %s", m->map.local,
		m->ref.is_digest ? "" : ":", m->ref.is_digest ? "" : m->ref.tag,
		digest_str(&m->digest, ds), m->map.r->host);
	ret = 0;
out:
	free(refs);
	return ret;
}

/* GOT: waiters that need no stored copy can be answered. */
static void pxm_got(struct pxm *m, struct ups_xfer *x,
		    const struct reg_manifest *mf)
{
	char *body = buf_detach(&x->body, &m->len);

	pthread_mutex_lock(&m->p->lock);
	m->body = body;
	snprintf(m->media_type, sizeof(m->media_type), "%s", mf->media_type);
	m->is_index = mf->type == OCI_TYPE_INDEX;
	m->state = PXM_GOT;
	pxm_notify(m);
	pthread_mutex_unlock(&m->p->lock);
}

/* Never cached, and the upstream is down or failing: a 404
 * MANIFEST_UNKNOWN, as distribution answers.  A 5xx reaches the user of
 * docker, podman or skopeo as "unexpected HTTP status: 502 Bad Gateway"
 * alone; a 404's code and message they print, and containerd and dockerd
 * try the next host of a mirror configuration (the upstream itself). */
static void pxm_unreachable(const struct pxm *m, const struct err *why,
			    struct err *e)
{
	char ds[DIGEST_STR_MAX];

	err_set(e, ERR_MANIFEST_UNKNOWN, "%s is not cached, and %s",
		m->ref.is_digest ? digest_str(&m->ref.digest, ds) : m->ref.tag,
		why->msg);
}

static int pxm_fetch(struct ups_conn *conn, struct pxm *m, struct err *e)
{
	char path[REG_NAME_MAX + 200];
	struct reg_manifest mf;
	struct err sub = ERR_INIT;
	struct ups_xfer x;
	int ret = -1;

	memset(&mf, 0, sizeof(mf));
	ups_xfer_init(&x);
	pxm_path(m, path, sizeof(path));
	x.path = path;
	x.repo = m->map.remote;
	x.accept = OCI_ACCEPT_MANIFESTS;
	x.max_body = m->p->max_manifest;
	if (ups_do(conn, m->map.r, &x, &sub) < 0 ||
	    (x.status != 200 &&
	     ups_error(m->map.r, &x, ERR_MANIFEST_UNKNOWN, &sub) < 0)) {
		if (m->have_cached && sub.code != ERR_TOO_LARGE)
			ret = pxm_fallback(m, &sub);
		else if (sub.code == ERR_TOO_LARGE)
			/* The upstream's fault, not the client's: a 502. */
			err_set(e, ERR_UPSTREAM,
				"upstream %s: manifest larger than "
				"--max-manifest (%zu bytes); not fetched",
				m->map.r->host, m->p->max_manifest);
		else if (sub.code == ERR_UPSTREAM)
			pxm_unreachable(m, &sub, e);
		else
			err_set(e, sub.code, "%s", sub.msg);
		goto out;
	}
	if (pxm_check_digest(m, &x, e) < 0) {
		ups_note_fail(m->p->ups, UPS_FAIL_CONTENT);
		goto out;
	}
	if (reg_manifest_parse(x.body.buf, x.body.len, x.ctype, &mf, &sub) <
	    0) {
		err_set(e, sub.code, "upstream %s: %s", m->map.r->host,
			sub.msg);
		goto out;
	}
	if (m->have_cached && digest_eq(&m->digest, &m->cached)) {
		/* The HEAD gave no digest; the GET says nothing changed. */
		m->use_cached = true;
	} else {
		pxm_got(m, &x, &mf);
		if (pxm_store(conn, m, &mf, e) < 0)
			goto out;
	}
	if (!m->ref.is_digest)
		px_fresh_set(m->p, m->map.local, m->ref.tag, true);
	ret = 0;
out:
	reg_manifest_release(&mf);
	ups_xfer_release(&x);
	return ret;
}

static void pxm_finish(struct pxm *m, int rc, const struct err *e)
{
	struct reg_proxy *p = m->p;
	struct pxm **pp;

	if (rc < 0 && m->state == PXM_GOT)
		log_msg(LL_WARN, "pull-through %s: not cached: %s",
			m->map.local, e->msg);
	pthread_mutex_lock(&p->lock);
	for (pp = &p->manifests; *pp; pp = &(*pp)->next) {
		if (*pp == m) {
			*pp = m->next;
			break;
		}
	}
	if (rc < 0)
		m->err = *e;
	m->state = rc < 0 ? PXM_FAILED : PXM_DONE;
	pxm_notify(m);
	pxm_unref(m);
	pthread_mutex_unlock(&p->lock);
}

static void pxm_job(struct ups_conn *conn, void *arg)
{
	struct pxm *m = arg;
	struct err e = ERR_INIT;
	int rc = 0;

	if (m->have_cached && !m->ref.is_digest)
		rc = pxm_revalidate(conn, m);
	rc = rc == 1 ? 0 : pxm_fetch(conn, m, &e);
	pxm_finish(m, rc, &e);
}

/* --- The handler
 * ---------------------------------------------------------------- */

static bool pxm_same(const struct pxm *m, const char *local,
		     const struct reg_ref *ref)
{
	if (strcmp(m->map.local, local) || m->ref.is_digest != ref->is_digest)
		return false;
	return ref->is_digest ? digest_eq(&m->ref.digest, &ref->digest)
			      : !strcmp(m->ref.tag, ref->tag);
}

/* Waits for the entry of (name, ref), starting it if there is none. */
static void pxm_join(struct reg_proxy *p, struct reg_call *c,
		     const struct px_map *map, const struct digest *cached)
{
	struct pxm_waiter *w = xcalloc(1, sizeof(*w));
	struct pxm *m;
	bool start = false;

	w->req = c->req;
	w->gate = pxm_gated(c->ctx, c->req);
	pthread_mutex_lock(&p->lock);
	for (m = p->manifests; m && !pxm_same(m, map->local, &c->ref);
	     m = m->next)
		;
	if (!m) {
		m = xcalloc(1, sizeof(*m));
		m->p = p;
		m->ctx = c->ctx;
		m->refs = 1;
		m->map = *map;
		m->ref = c->ref;
		m->have_cached = cached != NULL;
		if (cached)
			m->cached = *cached;
		m->next = p->manifests;
		p->manifests = m;
		start = true;
	}
	m->refs++;
	w->m = m;
	w->next = m->waiters;
	m->waiters = w;
	pxm_notify(m);
	pthread_mutex_unlock(&p->lock);
	http_req_attach(c->req, w, pxm_waiter_end);
	if (start)
		ups_submit(p->ups, pxm_job, m);
}

void px_manifest_get(struct reg_proxy *p, struct reg_call *c,
		     const struct px_map *map)
{
	const struct reg_ref *ref = &c->ref;
	struct stor_manifest *sm = NULL;
	struct err e = ERR_INIT;
	struct digest cached;

	if (stor_manifest_get(
		    p->st, map->local, ref->is_digest ? NULL : ref->tag,
		    ref->is_digest ? &ref->digest : NULL, &sm, &e) == 0) {
		/* By digest it never changes; by tag while fresh. */
		if (ref->is_digest || px_fresh(p, map->local, ref->tag)) {
			px_count(p, REG_PROXY_MANIFEST, REG_PROXY_HIT);
			pxm_serve_stored(c->ctx, c->req, map->local, sm);
			return;
		}
		cached = sm->digest;
		stor_manifest_free(sm);
		px_count(p, REG_PROXY_MANIFEST, REG_PROXY_STALE);
		pxm_join(p, c, map, &cached);
		return;
	}
	if (e.code != ERR_MANIFEST_UNKNOWN && e.code != ERR_NAME_UNKNOWN) {
		reg_reply_error(c->req, &e);
		return;
	}
	px_count(p, REG_PROXY_MANIFEST, REG_PROXY_MISS);
	pxm_join(p, c, map, NULL);
}
