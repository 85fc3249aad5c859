/* scan_publish.c: the report as a referrer artifact in each repository.
 *
 * The new referrer is stored before the old ones are deleted, so a
 * repository never lacks a report; a crash in between leaves two, and the
 * next publication of that subject removes the stale one.  The manifest is
 * built only from the report and the subject, so publishing the same
 * report again finds it in place and writes nothing.
 */
#include "registry/scan/scan_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "common/banned.h"

/* Stores the referrer of one report; *out gets its digest. */
static int rs_put_referrer(struct stor *st, const char *repo,
			   const json_t *report, const char *text,
			   const struct rs_subject *subj, struct digest *out,
			   struct err *e)
{
	struct digest refs[2], empty, mdg;
	char *body = NULL, *ann = NULL, es[DIGEST_STR_MAX];
	struct stor_manifest_put put;
	size_t len = strlen(text);
	int ret = -1;

	if (stor_blob_put(st, repo, "{}", 2, &empty, e) < 0 ||
	    stor_blob_put(st, repo, text, len, &refs[1], e) < 0)
		goto out;
	if (strcmp(digest_str(&empty, es), OCI_EMPTY_DIGEST)) {
		err_set(e, ERR_INTERNAL, "empty descriptor digest is %s", es);
		goto out;
	}
	refs[0] = empty;
	body = rs_referrer_manifest(report, &refs[1], len, subj, &ann);
	digest_of(DIGEST_SHA256, body, strlen(body), &mdg);
	put = (struct stor_manifest_put){
		.repo = repo,
		.digest = &mdg,
		.media_type = OCI_MT_MANIFEST,
		.body = body,
		.len = strlen(body),
		.subject = subj->digest,
		.artifact_type = REG_SCAN_REPORT_TYPE,
		.annotations_json = ann,
		.refs = refs,
		.nrefs = 2,
		.enqueue_scan = false,
	};
	if (stor_manifest_put(st, &put, e) < 0)
		goto out;
	*out = mdg;
	ret = 0;
out:
	free(body);
	free(ann);
	return ret;
}

/* The referrer a report would get, without storing anything. */
static void rs_would_be(const json_t *report, const char *text,
			const struct rs_subject *subj, struct digest *out)
{
	struct digest rdg;
	char *body, *ann;

	digest_of(DIGEST_SHA256, text, strlen(text), &rdg);
	body = rs_referrer_manifest(report, &rdg, strlen(text), subj, &ann);
	digest_of(DIGEST_SHA256, body, strlen(body), out);
	free(body);
	free(ann);
}

/* Deletes every report referrer of subject in repo but keep (NULL: all). */
static int rs_drop_old(struct stor *st, const char *repo,
		       const struct digest *subject, const struct digest *keep,
		       struct err *e)
{
	struct stor_desc *d = NULL;
	size_t n = 0;
	int ret = 0;

	if (stor_referrers(st, repo, subject, REG_SCAN_REPORT_TYPE, &d, &n, e) <
	    0)
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

/* Whether repo's only report referrer of subject is want. */
static int rs_in_place(struct stor *st, const char *repo,
		       const struct digest *subject, const struct digest *want,
		       bool *yes, struct err *e)
{
	struct stor_desc *d = NULL;
	size_t n = 0;

	if (stor_referrers(st, repo, subject, REG_SCAN_REPORT_TYPE, &d, &n, e) <
	    0)
		return -1;
	*yes = n == 1 && digest_eq(&d[0].digest, want);
	stor_desc_free(d, n);
	return 0;
}

int rs_publish(struct stor *st, const char *repo, const struct digest *subject,
	       const json_t *report, struct err *e)
{
	struct stor_manifest *m = NULL;
	struct err sub = ERR_INIT;
	struct digest want, got;
	struct rs_subject subj;
	json_t *r = NULL;
	char *text = NULL;
	bool done = false;
	int ret = -1;

	if (stor_manifest_get(st, repo, NULL, subject, &m, &sub) < 0) {
		/* Deleted meanwhile: nothing to annotate. */
		if (sub.code == ERR_MANIFEST_UNKNOWN)
			return 0;
		return err_set(e, sub.code, "%s", sub.msg);
	}
	subj = (struct rs_subject){subject, m->media_type, (int64_t)m->len};
	r = rs_report_in(report, repo);
	text = json_dumps(r, JSON_COMPACT);
	if (!text) {
		err_set(e, ERR_INTERNAL, "cannot serialise report");
		goto out;
	}
	rs_would_be(r, text, &subj, &want);
	if (rs_in_place(st, repo, subject, &want, &done, e) < 0)
		goto out;
	if (!done && (rs_put_referrer(st, repo, r, text, &subj, &got, e) < 0 ||
		      rs_drop_old(st, repo, subject, &got, e) < 0))
		goto out;
	ret = 0;
out:
	free(text);
	json_decref(r);
	stor_manifest_free(m);
	return ret;
}

int reg_scan_forget(struct stor *st, const char *repo, const struct digest *dg,
		    struct err *e)
{
	if (rs_drop_old(st, repo, dg, NULL, e) < 0)
		return -1;
	return stor_scan_forget(st, dg, e);
}
