/* scan_publish.c: the report as a referrer artifact in each repository.
 *
 * The new referrer is stored before the old ones are deleted, so a
 * repository never lacks a report; a crash in between leaves two, and the
 * next publication of that subject removes the stale one.  The manifest is
 * built only from the report and the subject, so publishing the same
 * report again finds it in place and writes nothing.  rs_pub_plan() works
 * out what to write; rs_publish() writes it at once, a re-match batch
 * (scan_batch.c) with its other jobs.
 *
 * The SBOM referrers (rs_sbom_publish()) say what the image holds, not
 * what is wrong with it: made of the report's inventory only, they are
 * written when a scan finds an inventory other than the one they name,
 * never by a re-match (which keeps the inventory).
 */
#include "registry/scan/scan_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "registry/events/events.h"
#include "common/banned.h"

/* Deletes every referrer of type of subject in repo but keep (NULL:
 * all). */
static int rs_drop_type(struct stor *st, const char *repo,
			const struct digest *subject, const char *type,
			const struct digest *keep, struct err *e)
{
	struct stor_desc *d = NULL;
	size_t n = 0;
	int ret = 0;

	if (stor_referrers(st, repo, subject, type, &d, &n, e) < 0)
		return -1;
	for (size_t i = 0; i < n && ret == 0; i++) {
		struct err sub = ERR_INIT;

		if (keep && digest_eq(&d[i].digest, keep))
			continue;
		if (stor_manifest_delete(st, repo, &d[i].digest, &sub) < 0 &&
		    sub.code != ERR_MANIFEST_UNKNOWN)
			ret = err_set(e, sub.code, "%s", sub.msg);
	}
	stor_desc_free(d, n);
	return ret;
}

static int rs_drop_old(struct stor *st, const char *repo,
		       const struct digest *subject, const struct digest *keep,
		       struct err *e)
{
	return rs_drop_type(st, repo, subject, REG_SCAN_REPORT_TYPE, keep, e);
}

/* The SBOM formats published, by artifact type. */
static const struct {
	const char *type;
	enum scan_sbom_format f;
} rs_sboms[] = {
	{REG_SCAN_SBOM_SPDX_TYPE, SCAN_SBOM_SPDX},
	{REG_SCAN_SBOM_CDX_TYPE, SCAN_SBOM_CYCLONEDX},
};
#define RS_NSBOMS (sizeof(rs_sboms) / sizeof(rs_sboms[0]))

/* Every referrer of subject in repo that the scan made. */
static int rs_drop_all(struct stor *st, const char *repo,
		       const struct digest *subject, struct err *e)
{
	if (rs_drop_old(st, repo, subject, NULL, e) < 0)
		return -1;
	for (size_t i = 0; i < RS_NSBOMS; i++)
		if (rs_drop_type(st, repo, subject, rs_sboms[i].type, NULL, e) <
		    0)
			return -1;
	return 0;
}

/* Whether the referrers of type of subject in repo are one, made of the
 * inventory key. */
static int rs_sbom_in_place(struct stor *st, const char *repo,
			    const struct digest *subject, const char *type,
			    const char *key, bool *in_place, struct err *e)
{
	struct stor_desc *d = NULL;
	size_t n = 0;
	json_t *ann;

	*in_place = false;
	if (stor_referrers(st, repo, subject, type, &d, &n, e) < 0)
		return -1;
	if (n == 1 && d[0].annotations_json) {
		ann = json_loads(d[0].annotations_json, 0, NULL);
		*in_place = json_is_string(
				    json_object_get(ann, REG_SCAN_SBOM_KEY)) &&
			    !strcmp(json_string_value(json_object_get(
					    ann, REG_SCAN_SBOM_KEY)),
				    key);
		json_decref(ann);
	}
	stor_desc_free(d, n);
	return 0;
}

/* Stores doc as the one referrer of type of subj in repo. */
static int rs_sbom_put(struct stor *st, const char *repo,
		       const struct rs_subject *subj, const char *type,
		       const json_t *doc, const json_t *ann, struct err *e)
{
	char *text = json_dumps(doc, JSON_COMPACT), *body = NULL, *atext;
	struct digest refs[2], mdg, got;
	struct err sub = ERR_INIT;
	int ret = -1;

	atext = json_dumps(ann, JSON_COMPACT);
	if (!text || !atext) {
		err_set(e, ERR_INTERNAL, "cannot serialise SBOM");
		goto out;
	}
	digest_of(DIGEST_SHA256, "{}", 2, &refs[0]);
	digest_of(DIGEST_SHA256, text, strlen(text), &refs[1]);
	body = rs_artifact_manifest(type, ann, &refs[1], strlen(text), subj);
	digest_of(DIGEST_SHA256, body, strlen(body), &mdg);
	if (stor_blob_put(st, repo, "{}", 2, &got, e) < 0 ||
	    stor_blob_put(st, repo, text, strlen(text), &got, e) < 0)
		goto out;
	if (stor_manifest_put(st,
			      &(struct stor_manifest_put){
				      .repo = repo,
				      .digest = &mdg,
				      .media_type = OCI_MT_MANIFEST,
				      .body = body,
				      .len = strlen(body),
				      .subject = subj->digest,
				      .artifact_type = type,
				      .annotations_json = atext,
				      .refs = refs,
				      .nrefs = 2,
				      .enqueue_scan = false,
				      .if_subject = true,
			      },
			      &sub) < 0) {
		/* The image deleted meanwhile: nothing to describe. */
		if (sub.code != ERR_MANIFEST_UNKNOWN)
			err_set(e, sub.code, "%s", sub.msg);
		else
			ret = 0;
		goto out;
	}
	if (rs_drop_type(st, repo, subj->digest, type, &mdg, e) < 0)
		goto out;
	ret = 0;
out:
	free(text);
	free(atext);
	free(body);
	return ret;
}

int rs_sbom_publish(struct stor *st, const char *repo,
		    const struct digest *subject, const json_t *report, bool on,
		    struct err *e)
{
	struct stor_manifest *m = NULL;
	struct err sub = ERR_INIT;
	struct digest key;
	json_t *inv = NULL, *ann = NULL;
	char ks[DIGEST_STR_MAX];
	int ret = -1;

	if (!on) {
		for (size_t i = 0; i < RS_NSBOMS; i++)
			if (rs_drop_type(st, repo, subject, rs_sboms[i].type,
					 NULL, e) < 0)
				return -1;
		return 0;
	}
	if (stor_manifest_get(st, repo, NULL, subject, &m, &sub) < 0) {
		/* Deleted meanwhile: nothing to describe. */
		if (sub.code == ERR_MANIFEST_UNKNOWN)
			return 0;
		return err_set(e, sub.code, "%s", sub.msg);
	}
	inv = scan_sbom_inventory(report, &key);
	digest_str(&key, ks);
	ann = json_pack("{s:s}", REG_SCAN_SBOM_KEY, ks);
	if (json_is_string(json_object_get(inv, "created")))
		json_object_set(ann, "org.opencontainers.image.created",
				json_object_get(inv, "created"));
	for (size_t i = 0; i < RS_NSBOMS; i++) {
		struct rs_subject subj = {subject, m->media_type,
					  (int64_t)m->len};
		bool in_place;
		json_t *doc;
		int rc;

		if (rs_sbom_in_place(st, repo, subject, rs_sboms[i].type, ks,
				     &in_place, e) < 0)
			goto out;
		if (in_place)
			continue;
		doc = scan_sbom(report, rs_sboms[i].f);
		rc = rs_sbom_put(st, repo, &subj, rs_sboms[i].type, doc, ann,
				 e);
		json_decref(doc);
		if (rc < 0)
			goto out;
	}
	ret = 0;
out:
	json_decref(ann);
	json_decref(inv);
	stor_manifest_free(m);
	return ret;
}

/* The report referrers of subject in repo other than want; *in_place when
 * want is the only one.  From refs (every type) when the caller has
 * them. */
static int rs_others(struct stor *st, struct rs_pub *p,
		     const struct digest *subject, const struct rs_refs *refs,
		     struct err *e)
{
	struct stor_desc *d = NULL;
	size_t n = 0, nrep = 0;
	bool found = false;

	if (refs) {
		d = refs->d;
		n = refs->n;
	} else if (stor_referrers(st, p->put.repo, subject,
				  REG_SCAN_REPORT_TYPE, &d, &n, e) < 0) {
		return -1;
	}
	p->drop = xcalloc(n + 1, sizeof(*p->drop));
	for (size_t i = 0; i < n; i++) {
		if (refs &&
		    !rs_same_str(d[i].artifact_type, REG_SCAN_REPORT_TYPE))
			continue;
		nrep++;
		if (digest_eq(&d[i].digest, &p->mdg))
			found = true;
		else
			p->drop[p->ndrop++] = d[i].digest;
	}
	p->in_place = nrep == 1 && found;
	if (!refs)
		stor_desc_free(d, n);
	return 0;
}

/* Whether report already names repo (an image's report in the repository
 * it was scanned for). */
static bool rs_names(const json_t *report, const char *repo)
{
	const char *r = json_string_value(json_object_get(
		json_object_get(report, "image"), "repository"));

	return r && !strcmp(r, repo) && !json_object_get(report, "manifests");
}

int rs_pub_plan(struct stor *st, const char *repo, const struct digest *subject,
		const struct stor_manifest *known, const struct rs_refs *refs,
		const json_t *report, const char *text, struct rs_pub *p,
		struct err *e)
{
	struct stor_manifest *m = NULL;
	struct err sub = ERR_INIT;
	struct rs_subject subj;
	char es[DIGEST_STR_MAX];
	json_t *r = NULL;
	int ret = -1;

	memset(p, 0, sizeof(*p));
	if (!known &&
	    stor_manifest_get(st, repo, NULL, subject, &m, &sub) < 0) {
		/* Deleted meanwhile: nothing to annotate. */
		if (sub.code == ERR_MANIFEST_UNKNOWN)
			return 0;
		return err_set(e, sub.code, "%s", sub.msg);
	}
	if (known)
		subj = (struct rs_subject){subject, known->media_type,
					   (int64_t)known->len};
	else
		subj = (struct rs_subject){subject, m->media_type,
					   (int64_t)m->len};
	r = rs_report_in(report, repo);
	/* A batch holds many reports: text is borrowed, not copied. */
	p->borrowed = text && rs_names(report, repo);
	p->text = p->borrowed ? (char *)text : json_dumps(r, JSON_COMPACT);
	if (!p->text) {
		err_set(e, ERR_INTERNAL, "cannot serialise report");
		goto out;
	}
	digest_of(DIGEST_SHA256, "{}", 2, &p->refs[0]);
	if (strcmp(digest_str(&p->refs[0], es), OCI_EMPTY_DIGEST)) {
		err_set(e, ERR_INTERNAL, "empty descriptor digest is %s", es);
		goto out;
	}
	digest_of(DIGEST_SHA256, p->text, strlen(p->text), &p->refs[1]);
	p->body = rs_referrer_manifest(r, &p->refs[1], strlen(p->text), &subj,
				       &p->ann);
	digest_of(DIGEST_SHA256, p->body, strlen(p->body), &p->mdg);
	p->blobs[0] = (struct stor_blob_data){&p->refs[0], "{}", 2};
	p->blobs[1] =
		(struct stor_blob_data){&p->refs[1], p->text, strlen(p->text)};
	p->put = (struct stor_manifest_put){
		.repo = repo,
		.digest = &p->mdg,
		.media_type = OCI_MT_MANIFEST,
		.body = p->body,
		.len = strlen(p->body),
		.subject = subject,
		.artifact_type = REG_SCAN_REPORT_TYPE,
		.annotations_json = p->ann,
		.refs = p->refs,
		.nrefs = 2,
		.enqueue_scan = false,
		/* Never a referrer of an image deleted meanwhile. */
		.if_subject = true,
	};
	if (rs_others(st, p, subject, refs, e) < 0)
		goto out;
	ret = 0;
out:
	json_decref(r);
	stor_manifest_free(m);
	if (ret < 0)
		rs_pub_release(p);
	return ret;
}

void rs_pub_release(struct rs_pub *p)
{
	if (!p->borrowed)
		free(p->text);
	free(p->body);
	free(p->ann);
	free(p->drop);
	memset(p, 0, sizeof(*p));
}

int rs_publish(struct stor *st, const char *repo, const struct digest *subject,
	       const json_t *report, struct err *e)
{
	struct err sub = ERR_INIT;
	struct digest got;
	struct rs_pub p;
	int ret = -1;

	if (rs_pub_plan(st, repo, subject, NULL, NULL, report, NULL, &p, e) < 0)
		return -1;
	if (!p.put.repo || p.in_place) {
		ret = 0;
		goto out;
	}
	for (size_t i = 0; i < 2; i++)
		if (stor_blob_put(st, repo, p.blobs[i].data, p.blobs[i].len,
				  &got, e) < 0)
			goto out;
	if (stor_manifest_put(st, &p.put, &sub) < 0) {
		/* Deleted since rs_pub_plan() looked: nothing to annotate. */
		if (sub.code != ERR_MANIFEST_UNKNOWN)
			err_set(e, sub.code, "%s", sub.msg);
		else
			ret = 0;
		goto out;
	}
	if (rs_drop_old(st, repo, subject, &p.mdg, e) < 0)
		goto out;
	ret = 0;
out:
	rs_pub_release(&p);
	return ret;
}

int rs_unpublish(struct stor *st, const char *repo,
		 const struct digest *subject, struct err *e)
{
	return rs_drop_all(st, repo, subject, e);
}

int reg_scan_forget(struct stor *st, const char *repo, const struct digest *dg,
		    struct err *e)
{
	if (rs_drop_all(st, repo, dg, e) < 0)
		return -1;
	return stor_scan_forget(st, dg, e);
}

/* The scan's events, one per repository that has the manifest; *n 0
 * without webhooks.  extra (taken) goes into each, under "scan". */
static struct stor_event *rs_events(struct rs_job *j, const char *action,
				    json_t *extra, size_t *n)
{
	struct reg_events *ev = j->w->pool->events;
	struct stor_event *v;
	char ds[DIGEST_STR_MAX];

	*n = 0;
	if (!ev || !j->m || !j->nrepos) {
		json_decref(extra);
		return NULL;
	}
	digest_str(&j->job->digest, ds);
	v = xcalloc(j->nrepos, sizeof(*v));
	for (size_t i = 0; i < j->nrepos; i++) {
		struct reg_event_target t = {.repo = j->repos[i],
					     .dg = &j->job->digest,
					     .media_type = j->m->media_type,
					     .size = (int64_t)j->m->len};
		json_t *x = json_deep_copy(extra);

		json_object_set_new(x, "report",
				    json_sprintf("/v2/%s/_customs/scan/%s",
						 j->repos[i], ds));
		v[*n].action = action;
		v[*n].repo = j->repos[i];
		v[*n].body = reg_event_make(ev, action, &t, NULL,
					    json_pack("{s:o}", "scan", x));
		if (v[*n].body)
			(*n)++;
	}
	json_decref(extra);
	return v;
}

static void rs_events_free(struct reg_events *ev, struct stor_event *v,
			   size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((char *)v[i].body);
	free(v);
	if (n)
		reg_events_kick(ev);
}

int rs_job_done(struct rs_job *j, const json_t *report, struct err *e)
{
	const json_t *counts = json_object_get(report, "counts");
	const json_t *status = json_object_get(report, "status");
	size_t n = 0;
	struct stor_event *v = NULL;
	int rc;

	if (j->w->pool->events)
		v = rs_events(j, "scan.completed",
			      json_pack("{s:O?, s:O?, s:s?}", "status", status,
					"counts", counts, "db", j->dbv),
			      &n);
	rc = stor_scan_done_ev(j->st, j->job, v, n, e);
	rs_events_free(j->w->pool->events, v, n);
	return rc;
}

int rs_job_failed(struct rs_job *j, const char *why, int64_t retry_at,
		  struct err *e)
{
	size_t n = 0;
	struct stor_event *v = NULL;
	int rc;

	if (retry_at < 0 && j->w->pool->events)
		v = rs_events(j, "scan.failed",
			      json_pack("{s:s}", "error", why ? why : ""), &n);
	rc = stor_scan_fail_ev(j->st, j->job, why, retry_at, v, n, e);
	rs_events_free(j->w->pool->events, v, n);
	return rc;
}
