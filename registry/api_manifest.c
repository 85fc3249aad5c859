/* api_manifest.c: GET, HEAD, PUT and DELETE /v2/<name>/manifests/<ref>. */
#include "registry/api_int.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "common/buf.h"
#include "common/xmalloc.h"
#include "common/log.h"
#include "registry/events/events.h"
#include "registry/maint_int.h"
#include "registry/reply_int.h"
#include "registry/scan/scan.h"
#include "registry/work_int.h"
#include "common/banned.h"

/* A manifest PUT: attached to the request while its body arrives, then
 * the store job's. */
struct mf_state {
	struct reg_ctx *ctx;
	char name[REG_NAME_MAX + 1];
	struct reg_ref ref;
	struct buf body; /* capped at --max-manifest */
	/* Stored on the pool (the commit fsyncs and may wait for the write
	 * lock): the request's Content-Type, then the outcome. */
	char *ctype;
	int rc;
	struct err err;
	struct digest dg;
	bool has_subject;
	struct digest subject;
	/* A PUT by digest's ?tag= values that are valid tags, once each. */
	char **tags;
	size_t ntags;
	struct reg_event_src src; /* with webhooks: for the push event */
};

/* Most ?tag= values one PUT by digest takes (the spec asks for at least
 * 10); more is 413, one of end-7b's failure statuses. */
#define MF_TAGS_MAX 100

/* Where a manifest's descriptors go: linked references, and the sparse
 * ones (listed but absent, allowed without --refuse-sparse). */
struct mf_refs {
	struct digest *refs, *sparse;
	size_t nrefs, nsparse;
};

/* Who asked, for an event (webhooks only). */
static void mf_event_src(struct reg_call *c, struct reg_event_src *src)
{
	reg_event_src_init(src, c->req,
			   c->who && c->who->user ? c->who->user : NULL);
}

static void api_manifest_event_pull(struct reg_events *ev, const char *name,
				    const struct reg_ref *ref,
				    const struct reg_event_src *src,
				    const struct stor_manifest *m)
{
	struct reg_event_target t = {
		.repo = name,
		.tag = ref->is_digest ? NULL : ref->tag,
		.dg = &m->digest,
		.media_type = m->media_type,
		.size = (int64_t)m->len,
	};

	reg_events_defer(ev, "pull", &t, src, NULL);
}

/* A GET or HEAD whose read may block (stor_blob_read_blocks(): S3 fetches
 * an object the node has not cached, PostgreSQL is a round trip away),
 * on the pool, so that one slow read stalls no other client of the
 * loop. */
struct mf_read {
	struct stor *st;
	struct reg_events *events; /* NULL: no pull event */
	char name[REG_NAME_MAX + 1];
	struct reg_ref ref;
	struct reg_event_src src; /* with events */
	struct stor_manifest *m;
	int rc;
	struct err e;
};

static void mf_read_run(void *arg)
{
	struct mf_read *r = arg;
	const struct reg_ref *ref = &r->ref;

	r->rc = stor_manifest_get(
		r->st, r->name, ref->is_digest ? NULL : ref->tag,
		ref->is_digest ? &ref->digest : NULL, &r->m, &r->e);
}

static void mf_read_done(struct http_req *req, void *arg)
{
	struct mf_read *r = arg;

	if (req && r->rc < 0) {
		reg_reply_error(req, &r->e);
	} else if (req && r->m) {
		if (r->events)
			api_manifest_event_pull(r->events, r->name, &r->ref,
						&r->src, r->m);
		reg_reply_stored_manifest(req, r->m);
		r->m = NULL;
	}
	stor_manifest_free(r->m);
	if (r->events)
		reg_event_src_release(&r->src);
	err_clear(&r->e);
	free(r);
}

enum reg_status api_manifest_get(struct reg_call *c)
{
	const struct reg_ref *ref = &c->ref;
	struct stor_manifest *m = c->manifest; /* the one the policy judged */
	struct reg_events *events =
		http_req_method(c->req) == HTTP_M_GET ? c->ctx->events : NULL;
	struct reg_event_src src;
	struct mf_read *r;
	struct err e = ERR_INIT;

	c->manifest = NULL;
	if (!m && stor_blob_read_blocks(c->ctx->st)) {
		r = xcalloc(1, sizeof(*r));
		r->st = c->ctx->st;
		r->events = events;
		snprintf(r->name, sizeof(r->name), "%s", c->name);
		r->ref = c->ref;
		if (events)
			mf_event_src(c, &r->src);
		r->e = (struct err)ERR_INIT;
		reg_work_call(c->ctx->work, c->req, mf_read_run, mf_read_done,
			      r);
		return REG_DEFERRED;
	}
	/* Local files and meta.db: a read in WAL mode never waits. */
	if (!m && stor_manifest_get(
			  c->ctx->st, c->name, ref->is_digest ? NULL : ref->tag,
			  ref->is_digest ? &ref->digest : NULL, &m, &e) < 0) {
		reg_reply_error(c->req, &e);
		return REG_DONE;
	}
	if (events) {
		mf_event_src(c, &src);
		api_manifest_event_pull(events, c->name, ref, &src, m);
		reg_event_src_release(&src);
	}
	reg_reply_stored_manifest(c->req, m);
	return REG_DONE;
}

/* A DELETE, on the pool: it writes to the database. */
struct mf_del {
	struct reg_work_job job;
	struct reg_ref ref;
	struct reg_events *events;
	struct reg_scan *scan;
	struct reg_event_src src; /* released by mf_delete_call() */
};

static int mf_delete_call(struct reg_work_job *j, struct err *e)
{
	struct mf_del *d = (struct mf_del *)j;
	const struct reg_ref *ref = &d->ref;
	struct err sub = ERR_INIT;
	struct reg_event_target t = {
		.repo = j->name,
		.tag = ref->is_digest ? NULL : ref->tag,
		.dg = ref->is_digest ? &ref->digest : NULL,
	};
	char *body = reg_event_make(d->events, "delete", &t, &d->src, NULL);
	struct stor_event ev = {"delete", j->name, body};
	struct reg_scan_vex_ref vex = {0};
	int rc;

	reg_event_src_release(&d->src);
	if (ref->is_digest)
		reg_scan_vex_of(d->scan, j->name, &ref->digest, &vex);
	rc = ref->is_digest
		     ? stor_manifest_delete_ev(j->st, j->name, &ref->digest,
					       body ? &ev : NULL, e)
		     : stor_tag_delete_ev(j->st, j->name, ref->tag,
					  body ? &ev : NULL, e);
	free(body);
	if (rc == 0 && body)
		reg_events_kick(d->events);
	if (rc < 0 || !ref->is_digest)
		return rc;
	/* The image's scan reports go with it. */
	if (reg_scan_forget(j->st, j->name, &ref->digest, &sub) < 0)
		log_msg(LL_WARN, "%s: scan reports of deleted manifest: %s",
			j->name, sub.msg);
	if (reg_scan_vex_dropped(d->scan, j->name, &vex, &sub) < 0)
		log_msg(LL_WARN, "%s: VEX deleted: %s", j->name, sub.msg);
	return 0;
}

enum reg_status api_manifest_delete(struct reg_call *c)
{
	struct mf_del *d = reg_work_job_new(sizeof(*d), mf_delete_call, 202,
					    c->ctx->st, c->name);

	d->ref = c->ref;
	d->events = c->ctx->events;
	d->scan = c->ctx->scan;
	if (d->events)
		mf_event_src(c, &d->src);
	reg_work_reply(c->ctx->work, c->req, &d->job);
	return REG_DEFERRED;
}

/* One config or layer: it must be linked to the repository (pushed or
 * mounted there), unless it is a non-distributable layer or has urls
 * (sparse content) and --refuse-sparse is off.  Adds what exists to
 * r->refs, what is absent to r->sparse. */
static int mf_check_blob(struct mf_state *s, const struct reg_mdesc *d,
			 struct mf_refs *r, struct err *e)
{
	char dg[DIGEST_STR_MAX];
	struct err sub = ERR_INIT;
	int64_t size;

	digest_str(&d->digest, dg);
	if (stor_blob_stat(s->ctx->st, s->name, &d->digest, &size, &sub) < 0) {
		if (sub.code != ERR_BLOB_UNKNOWN &&
		    sub.code != ERR_NAME_UNKNOWN)
			return err_set(e, sub.code, "%s", sub.msg);
		if (d->external && !s->ctx->cfg->refuse_sparse) {
			r->sparse[r->nsparse++] = d->digest;
			return 0;
		}
		return err_set(e, ERR_MANIFEST_BLOB_UNKNOWN,
			       "blob %s is not in repository %s%s", dg, s->name,
			       d->external ? " (sparse content is refused here)"
					   : "");
	}
	if (size != d->size)
		return err_set(e, ERR_MANIFEST_INVALID,
			       "blob %s has %lld bytes, the manifest says %lld",
			       dg, (long long)size, (long long)d->size);
	r->refs[r->nrefs++] = d->digest;
	return 0;
}

/* Every descriptor must name something the repository has: blobs, and
 * the child manifests of an index; but an index may list platforms that
 * were never pushed (a copy of some platforms only), and an image layers
 * that live elsewhere (mf_check_blob()), unless --refuse-sparse.  A
 * missing one is MANIFEST_BLOB_UNKNOWN either way: the spec says a
 * manifest rejected for a missing reference MUST give that code.  r gets
 * the digests, sorted, unique. */
static int mf_check_refs(struct mf_state *s, const struct reg_manifest *m,
			 struct mf_refs *r, struct err *e)
{
	char dg[DIGEST_STR_MAX];

	for (size_t i = 0; i < m->ndescs; i++) {
		const struct reg_mdesc *d = &m->descs[i];

		if (!d->is_manifest) {
			if (mf_check_blob(s, d, r, e) < 0)
				return -1;
			continue;
		}
		if (stor_manifest_exists(s->ctx->st, s->name, &d->digest))
			r->refs[r->nrefs++] = d->digest;
		else if (!s->ctx->cfg->refuse_sparse)
			r->sparse[r->nsparse++] = d->digest;
		else
			return err_set(e, ERR_MANIFEST_BLOB_UNKNOWN,
				       "manifest %s is not in repository %s "
				       "(sparse content is refused here)",
				       digest_str(&d->digest, dg), s->name);
	}
	digest_sort_unique(r->refs, &r->nrefs);
	digest_sort_unique(r->sparse, &r->nsparse);
	return 0;
}

static void mf_reply_created(struct http_req *req, const struct mf_state *s)
{
	char d[DIGEST_STR_MAX], *loc;

	loc = xasprintf("/v2/%s/manifests/%s", s->name, digest_str(&s->dg, d));
	http_reply_header(req, "Location", loc);
	free(loc);
	reg_reply_digest_headers(req, &s->dg);
	if (s->has_subject)
		http_reply_header(req, "OCI-Subject",
				  digest_str(&s->subject, d));
	for (size_t i = 0; i < s->ntags; i++)
		http_reply_header(req, "OCI-Tag", s->tags[i]);
	reg_reply_status(req, 201);
}

/* The push event of put, or NULL without webhooks. */
static char *mf_event_push(struct mf_state *s,
			   const struct stor_manifest_put *put)
{
	struct reg_event_target t = {
		.repo = put->repo,
		.tag = put->tag	    ? put->tag
		       : put->ntags ? put->tags[0]
				    : NULL,
		.dg = put->digest,
		.media_type = put->media_type,
		.size = (int64_t)put->len,
	};

	return reg_event_make(s->ctx->events, "push", &t, &s->src, NULL);
}

/* The whole body is here: check it and store it (on the pool). */
static void mf_store_run(void *arg)
{
	struct mf_state *s = arg;
	struct stor_manifest_put put;
	struct mf_refs r = {0};
	struct digest dg;
	char want[DIGEST_STR_MAX], got[DIGEST_STR_MAX];
	struct reg_manifest m;
	struct err e = ERR_INIT;
	struct stor_event ev = {0};
	char db[128];

	if (reg_manifest_parse(s->body.buf, s->body.len, s->ctype, &m, &e) < 0)
		goto fail;
	digest_of(s->ref.is_digest ? s->ref.digest.alg : DIGEST_SHA256,
		  s->body.buf, s->body.len, &dg);
	if (s->ref.is_digest && !digest_eq(&dg, &s->ref.digest)) {
		err_set(&e, ERR_DIGEST_INVALID, "manifest digest is %s, not %s",
			digest_str(&dg, got), digest_str(&s->ref.digest, want));
		goto fail;
	}
	r.refs = xcalloc(m.ndescs + 1, sizeof(*r.refs));
	r.sparse = xcalloc(m.ndescs + 1, sizeof(*r.sparse));
	if (mf_check_refs(s, &m, &r, &e) < 0)
		goto fail;
	put = (struct stor_manifest_put){
		.repo = s->name,
		.tag = s->ref.is_digest ? NULL : s->ref.tag,
		.digest = &dg,
		.media_type = m.media_type,
		.body = s->body.buf,
		.len = s->body.len,
		.subject = m.has_subject ? &m.subject : NULL,
		.artifact_type = m.artifact_type,
		.annotations_json = m.annotations_json,
		.refs = r.refs,
		.nrefs = r.nrefs,
		.sparse = r.sparse,
		.nsparse = r.nsparse,
		.tags = (const char *const *)s->tags,
		.ntags = s->ntags,
		.enqueue_scan = m.kind != OCI_KIND_ARTIFACT,
		/* gc may have freed a ref since mf_check_refs(). */
		.verify_refs = true,
	};
	/* A tag more for an image whose report is current: that report
	 * serves (see stor_manifest_put.scan_db). */
	if (s->ctx->scan) {
		reg_scan_db_version(s->ctx->scan, db, sizeof(db));
		put.scan_db = db;
	}
	ev.body = mf_event_push(s, &put);
	if (ev.body) {
		ev.action = "push";
		ev.repo = s->name;
		put.events = &ev;
		put.nevents = 1;
	}
	if (reg_quota_check(s->ctx->quota, s->name, (int64_t)s->body.len, &e) <
		    0 ||
	    stor_manifest_put(s->ctx->st, &put, &e) < 0)
		goto fail;
	reg_quota_add(s->ctx->quota, s->name, (int64_t)s->body.len);
	if (ev.body)
		reg_events_kick(s->ctx->events);
	if (put.enqueue_scan)
		reg_scan_kick(s->ctx->scan);
	else if (m.has_subject &&
		 reg_scan_vex_pushed(s->ctx->scan, s->name, &m.subject,
				     m.artifact_type, &e) < 0)
		log_msg(LL_WARN, "scan: VEX pushed to %s: %s", s->name, e.msg);
	s->dg = dg;
	s->has_subject = m.has_subject;
	s->subject = m.subject;
	goto out;
fail:
	s->rc = -1;
	s->err = e;
out:
	free((char *)ev.body);
	free(r.refs);
	free(r.sparse);
	reg_manifest_release(&m);
}

static void mf_state_free(struct mf_state *s)
{
	buf_release(&s->body);
	free(s->ctype);
	for (size_t i = 0; i < s->ntags; i++)
		free(s->tags[i]);
	free(s->tags);
	reg_event_src_release(&s->src);
	free(s);
}

/* Back on the loop (req NULL: the client left). */
static void mf_store_done(struct http_req *req, void *arg)
{
	struct mf_state *s = arg;

	if (req && s->rc < 0)
		reg_reply_error(req, &s->err);
	else if (req)
		mf_reply_created(req, s);
	mf_state_free(s);
}

/* 413 with SIZE_INVALID (reply.c says why not MANIFEST_INVALID). */
static void mf_reply_too_large(struct http_req *req, size_t cap)
{
	reg_reply_errorf(req, ERR_TOO_LARGE,
			 "manifest is larger than the limit of %zu bytes", cap);
}

static int mf_on_data(struct http_req *req, const void *data, size_t len,
		      void *arg)
{
	struct mf_state *s = arg;

	if (buf_add(&s->body, data, len) == 0)
		return 0;
	mf_reply_too_large(req, s->ctx->cfg->max_manifest);
	return -1;
}

static void mf_on_end(struct http_req *req, void *arg)
{
	struct mf_state *s = arg;
	const char *ctype = http_req_header(req, "Content-Type");

	s->ctype = ctype ? xstrdup(ctype) : NULL;
	/* The job takes s; mf_store_done() frees it. */
	http_req_detach(req, s);
	reg_work_call(s->ctx->work, req, mf_store_run, mf_store_done, s);
}

static void mf_state_dtor(void *ptr, bool gone)
{
	(void)gone;
	mf_state_free(ptr);
}

/* The value of one query parameter, percent-decoded into out; false
 * unless it is a valid tag (one that is not cannot be accepted: it gets
 * no OCI-Tag). */
static bool mf_query_tag(const char *v, size_t len, char out[REG_TAG_MAX + 1])
{
	char *dec;
	int n = 0;
	bool ok;

	if (len > 3 * REG_TAG_MAX)
		return false;
	/* curl ignores the handle since 7.82. */
	dec = curl_easy_unescape(NULL, v, (int)len, &n);
	if (!dec)
		return false;
	ok = n > 0 && n <= REG_TAG_MAX && reg_tag_valid(dec, (size_t)n);
	if (ok) {
		memcpy(out, dec, (size_t)n);
		out[n] = '\0';
	}
	curl_free(dec);
	return ok;
}

/* A PUT by digest's ?tag= values (end-7b): each valid one once, in
 * order; an invalid one is not accepted (and gets no OCI-Tag).  -1 (a
 * reply sent) for too many. */
static int mf_query_tags(struct reg_call *c, struct mf_state *s)
{
	const char *q = http_req_query(c->req), *p, *end, *amp;
	char tag[REG_TAG_MAX + 1];
	size_t seen = 0, i;

	for (p = q; p && *p; p = *end ? end + 1 : end) {
		amp = strchr(p, '&');
		end = amp ? amp : p + strlen(p);
		if ((size_t)(end - p) < 4 || strncmp(p, "tag=", 4))
			continue;
		if (++seen > MF_TAGS_MAX) {
			reg_reply_errorf(c->req, ERR_TOO_LARGE,
					 "more than %d tag parameters",
					 MF_TAGS_MAX);
			return -1;
		}
		if (!mf_query_tag(p + 4, (size_t)(end - p - 4), tag))
			continue;
		for (i = 0; i < s->ntags && strcmp(s->tags[i], tag); i++)
			;
		if (i < s->ntags)
			continue;
		if (!s->tags)
			s->tags = xcalloc(MF_TAGS_MAX, sizeof(*s->tags));
		s->tags[s->ntags++] = xstrdup(tag);
	}
	return 0;
}

enum reg_status api_manifest_put(struct reg_call *c)
{
	size_t cap = c->ctx->cfg->max_manifest;
	int64_t cl = http_req_content_length(c->req);
	struct mf_state *s;

	if (cl >= 0 && (uint64_t)cl > cap) {
		mf_reply_too_large(c->req, cap);
		return REG_DONE;
	}
	s = xcalloc(1, sizeof(*s));
	s->ctx = c->ctx;
	memcpy(s->name, c->name, sizeof(s->name));
	s->ref = c->ref;
	/* The spec has ?tag= only with a digest. */
	if (c->ref.is_digest && mf_query_tags(c, s) < 0) {
		mf_state_free(s);
		return REG_DONE;
	}
	if (c->ctx->events)
		mf_event_src(c, &s->src);
	buf_init(&s->body, cap);
	http_req_attach(c->req, s, mf_state_dtor);
	http_req_body(c->req, mf_on_data, mf_on_end, s);
	return REG_DEFERRED;
}
