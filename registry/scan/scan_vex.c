/* scan_vex.c: VEX documents applied to the registry's reports.
 *
 * The documents that concern an image are: the files given with --vex;
 * its VEX referrers (REG_SCAN_VEX_TYPES) in every repository that has it;
 * and, for each such repository, the statements of the VEX referrers of
 * its tagged images that name the repository itself (a product
 * pkg:oci/NAME without a digest).  Referrers are named in the report by
 * their manifest digest, files by their path.
 *
 * VEX depends on the image (its repositories and digest), not on its
 * inventory: it is applied to each image's own copy of a report, after
 * the scan or the re-match (scan_batch.c shares re-matches between images
 * of one inventory; what it shares is never changed here).  A report
 * that had VEX applied is re-matched from its own inventory before VEX is
 * applied again, so a statement withdrawn brings its findings back.
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
#include "scanner/scanner.h"
#include "common/banned.h"

/* A referrer's document is read up to this size (scan_vex_add() refuses
 * larger ones too), and the documents read for one image or one
 * repository's statements up to RS_VEX_MAX_TOTAL together: a parsed
 * document costs several times its size. */
#define RS_VEX_MAX_BYTES (8 << 20)
#define RS_VEX_MAX_TOTAL (16 << 20)
/* Documents read for one image, and tagged images looked at for one
 * repository's repository-wide statements. */
#define RS_VEX_MAX_DOCS 64
#define RS_VEX_MAX_TAGS 256

static const char *const rs_vex_types[] = {REG_SCAN_VEX_TYPES};
#define RS_NVEX_TYPES (sizeof(rs_vex_types) / sizeof(rs_vex_types[0]))

bool rs_vex_type(const char *artifact_type)
{
	for (size_t i = 0; artifact_type && i < RS_NVEX_TYPES; i++)
		if (!strcmp(artifact_type, rs_vex_types[i]))
			return true;
	return false;
}

/* The document a referrer carries (its first layer) into *text. */
static int rs_vex_blob(struct stor *st, const char *repo,
		       const struct digest *ref, size_t max, char **text,
		       size_t *len, struct err *e)
{
	struct stor_manifest *m = NULL;
	struct digest dg;
	json_t *body = NULL;
	const char *ds;
	int64_t size = 0;
	int fd = -1, ret = -1;
	ssize_t got;

	*text = NULL;
	if (stor_manifest_get(st, repo, NULL, ref, &m, e) < 0)
		return -1;
	body = json_loadb(m->body, m->len, 0, NULL);
	ds = json_string_value(json_object_get(
		json_array_get(json_object_get(body, "layers"), 0), "digest"));
	if (!ds || digest_parse(ds, strlen(ds), &dg, e) < 0) {
		err_set(e, ERR_INVALID, "no layer holds a document");
		goto out;
	}
	if (stor_blob_open(st, NULL, &dg, &fd, &size, e) < 0)
		goto out;
	if (size < 0 || (uint64_t)size > max) {
		err_set(e, ERR_TOO_LARGE,
			"document over %zu bytes (or the VEX budget)", max);
		goto out;
	}
	*text = xmalloc((size_t)size + 1);
	got = fdio_read_all(fd, *text, (size_t)size);
	if (got != size) {
		err_set(e, ERR_IO, "reading the document: %s",
			got < 0 ? strerror(errno) : "short");
		goto out;
	}
	*len = (size_t)got;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ret < 0) {
		free(*text);
		*text = NULL;
	}
	json_decref(body);
	stor_manifest_free(m);
	return ret;
}

/* Adds the VEX referrers of subject in repo to v (wide: only their
 * repository-wide statements), reading at most *budget bytes (less what
 * was read).  refs, if not NULL, are subject's referrers in repo of every
 * type (not listed again). */
static void rs_vex_referrers(struct stor *st, const char *repo,
			     const struct digest *subject,
			     const struct rs_refs *refs, bool wide,
			     struct scan_vex *v, size_t *budget)
{
	for (size_t t = 0; t < RS_NVEX_TYPES; t++) {
		struct stor_desc *d = NULL;
		struct err e = ERR_INIT;
		size_t n = 0;

		if (refs) {
			d = refs->d;
			n = refs->n;
		} else if (stor_referrers(st, repo, subject, rs_vex_types[t],
					  &d, &n, &e) < 0) {
			log_msg(LL_WARN, "scan: VEX referrers in %s: %s", repo,
				e.msg);
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			char name[DIGEST_STR_MAX], *text = NULL;
			size_t len = 0;
			int rc;

			if (refs &&
			    !rs_same_str(d[i].artifact_type, rs_vex_types[t]))
				continue;
			digest_str(&d[i].digest, name);
			/* Our own SBOM referrers share the CycloneDX type. */
			if (d[i].annotations_json &&
			    strstr(d[i].annotations_json, REG_SCAN_SBOM_KEY))
				continue;
			if (scan_vex_has(v, name) ||
			    scan_vex_count(v) >= RS_VEX_MAX_DOCS)
				continue;
			e = (struct err)ERR_INIT;
			rc = rs_vex_blob(st, repo, &d[i].digest,
					 *budget < RS_VEX_MAX_BYTES
						 ? *budget
						 : RS_VEX_MAX_BYTES,
					 &text, &len, &e);
			if (rc == 0)
				*budget -= len;
			if (rc == 0)
				rc = wide ? scan_vex_add_wide(v, name, text,
							      len, &e)
					  : scan_vex_add(v, name, text, len,
							 &e);
			/* A CycloneDX SBOM without analyses is no VEX. */
			if (rc < 0 && e.code != ERR_NOT_FOUND)
				log_msg(LL_WARN, "scan: VEX %s in %s: %s", name,
					repo, e.msg);
			free(text);
		}
		if (!refs)
			stor_desc_free(d, n);
	}
}

/* The repository-wide statements of repo's tagged images, read now. */
static struct scan_vex *rs_vex_wide_read(struct stor *st, const char *repo)
{
	struct scan_vex *v = scan_vex_new();
	char **tags = NULL;
	size_t ntags = 0, budget = RS_VEX_MAX_TOTAL;
	bool more = false;
	struct err e = ERR_INIT;

	if (stor_tags_list(st, repo, NULL, RS_VEX_MAX_TAGS, &tags, &ntags,
			   &more, &e) < 0) {
		if (e.code != ERR_NAME_UNKNOWN)
			log_msg(LL_WARN, "scan: VEX: tags of %s: %s", repo,
				e.msg);
		return v;
	}
	for (size_t i = 0; i < ntags; i++) {
		struct stor_manifest *m = NULL;

		e = (struct err)ERR_INIT;
		if (stor_manifest_get(st, repo, tags[i], NULL, &m, &e) == 0)
			rs_vex_referrers(st, repo, &m->digest, NULL, true, v,
					 &budget);
		stor_manifest_free(m);
	}
	stor_strv_free(tags, ntags);
	return v;
}

/* The cache's entry for repo, or NULL.  Under c->lock. */
static struct rs_vex_repo *rs_vex_find(struct rs_vex_cache *c, const char *repo)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->repos[i].name, repo))
			return &c->repos[i];
	return NULL;
}

/* Adds repo's repository-wide statements to v: cached, or read (outside
 * the lock: a walk of the tags) when older than RS_VEX_TTL_S. */
static void rs_vex_wide(struct reg_scan *s, const char *repo,
			struct scan_vex *v)
{
	struct rs_vex_cache *c = &s->vex_wide;
	struct rs_vex_repo *r;
	struct scan_vex *fresh;
	time_t now = time(NULL);
	uint64_t gen;

	pthread_mutex_lock(&c->lock);
	r = rs_vex_find(c, repo);
	if (r && now - r->at < RS_VEX_TTL_S && now >= r->at) {
		scan_vex_merge(v, r->vex);
		pthread_mutex_unlock(&c->lock);
		return;
	}
	gen = c->gen;
	pthread_mutex_unlock(&c->lock);
	fresh = rs_vex_wide_read(s->st, repo);
	pthread_mutex_lock(&c->lock);
	r = rs_vex_find(c, repo);
	if (!r) {
		c->repos = xrealloc(c->repos, (c->n + 1) * sizeof(*c->repos));
		r = &c->repos[c->n++];
		r->name = xstrdup(repo);
	} else {
		scan_vex_free(r->vex);
	}
	r->vex = fresh;
	r->at = gen == c->gen ? now : 0;
	scan_vex_merge(v, fresh);
	pthread_mutex_unlock(&c->lock);
}

/* repo's entry is read again next time. */
static void rs_vex_forget(struct rs_vex_cache *c, const char *repo)
{
	struct rs_vex_repo *r;

	pthread_mutex_lock(&c->lock);
	c->gen++;
	r = rs_vex_find(c, repo);
	if (r)
		r->at = 0;
	pthread_mutex_unlock(&c->lock);
}

void rs_vex_cache_init(struct rs_vex_cache *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
}

void rs_vex_cache_release(struct rs_vex_cache *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->repos[i].name);
		scan_vex_free(c->repos[i].vex);
	}
	free(c->repos);
	pthread_mutex_destroy(&c->lock);
	memset(c, 0, sizeof(*c));
}

struct scan_vex *rs_vex_load(struct rs_job *j)
{
	struct scan_vex *v = scan_vex_new();
	size_t budget = RS_VEX_MAX_TOTAL;

	scan_vex_merge(v, j->w->pool->vex);
	for (size_t i = 0; i < j->nrepos; i++) {
		rs_vex_referrers(j->st, j->repos[i], &j->job->digest,
				 j->refs ? &j->refs[i] : NULL, false, v,
				 &budget);
		rs_vex_wide(j->w->pool, j->repos[i], v);
	}
	if (!scan_vex_count(v)) {
		scan_vex_free(v);
		return NULL;
	}
	return v;
}

int rs_vex_report(struct rs_job *j, const struct scan_vex *v, const json_t *own,
		  json_t **report, struct err *e)
{
	json_t *r;

	if (!scan_vex_count(v) && !scan_vex_applied(*report))
		return 0;
	if (rs_report_not_scanned(*report))
		return 0;
	/* Findings VEX took away are only in the stored report's
	 * "suppressed": made again from its inventory. */
	if (own && scan_vex_applied(own)) {
		if (scan_rematch(own, j->w->db, 0, &r, e) < 0)
			return -1;
	} else {
		r = json_deep_copy(*report);
	}
	scan_vex_clear(r);
	scan_vex_apply(v, r);
	json_decref(*report);
	*report = r;
	return 1;
}

/* Queues subject's job in repo again and, when a statement about the
 * whole repository changed (wide), each tagged image's. */
static int rs_vex_requeue(struct reg_scan *s, const char *repo,
			  const struct digest *subject, bool wide,
			  struct err *e)
{
	char **tags = NULL;
	size_t ntags = 0;
	bool more = false;
	int ret = -1;

	rs_vex_forget(&s->vex_wide, repo);
	if (stor_scan_enqueue(s->st, repo, subject, false, e) < 0)
		goto out;
	if (wide && stor_tags_list(s->st, repo, NULL, RS_VEX_MAX_TAGS, &tags,
				   &ntags, &more, e) < 0)
		goto out;
	for (size_t i = 0; i < ntags; i++) {
		struct stor_manifest *m = NULL;
		struct err sub = ERR_INIT;

		if (stor_manifest_get(s->st, repo, tags[i], NULL, &m, &sub) ==
			    0 &&
		    oci_manifest_kind_of(m->body, m->len) !=
			    OCI_KIND_ARTIFACT &&
		    stor_scan_enqueue(s->st, repo, &m->digest, false, &sub) < 0)
			log_msg(LL_WARN, "scan: VEX: %s: %s", repo, sub.msg);
		stor_manifest_free(m);
	}
	ret = 0;
out:
	stor_strv_free(tags, ntags);
	reg_scan_kick(s);
	return ret;
}

int reg_scan_vex_pushed(struct reg_scan *s, const char *repo,
			const struct digest *subject, const char *artifact_type,
			struct err *e)
{
	size_t budget = RS_VEX_MAX_TOTAL;
	struct scan_vex *wide;
	int ret;

	if (!s || !rs_vex_type(artifact_type))
		return 0;
	wide = scan_vex_new();
	rs_vex_referrers(s->st, repo, subject, NULL, true, wide, &budget);
	ret = rs_vex_requeue(s, repo, subject, scan_vex_count(wide) > 0, e);
	scan_vex_free(wide);
	return ret;
}

void reg_scan_vex_of(struct reg_scan *s, const char *repo,
		     const struct digest *dg, struct reg_scan_vex_ref *out)
{
	struct stor_manifest *m = NULL;
	struct scan_vex *tmp = NULL;
	struct err e = ERR_INIT;
	json_t *body = NULL;
	const char *sub;
	char *text = NULL;
	size_t len = 0;

	memset(out, 0, sizeof(*out));
	if (!s || stor_manifest_get(s->st, repo, NULL, dg, &m, &e) < 0)
		return;
	body = json_loadb(m->body, m->len, 0, NULL);
	sub = json_string_value(
		json_object_get(json_object_get(body, "subject"), "digest"));
	if (!rs_vex_type(
		    json_string_value(json_object_get(body, "artifactType"))) ||
	    !sub || digest_parse(sub, strlen(sub), &out->subject, &e) < 0)
		goto out;
	out->vex = true;
	tmp = scan_vex_new();
	out->wide = rs_vex_blob(s->st, repo, dg, RS_VEX_MAX_BYTES, &text, &len,
				&e) == 0 &&
		    scan_vex_add_wide(tmp, "deleted", text, len, &e) == 0;
out:
	free(text);
	scan_vex_free(tmp);
	json_decref(body);
	stor_manifest_free(m);
}

int reg_scan_vex_dropped(struct reg_scan *s, const char *repo,
			 const struct reg_scan_vex_ref *r, struct err *e)
{
	if (!s || !r->vex)
		return 0;
	return rs_vex_requeue(s, repo, &r->subject, r->wide, e);
}
