/* t_referrers.c: §Listing Referrers (end-12a/12b) and §Pushing Manifests
 * with Subject. */
#include <string.h>
#include <time.h>

#include "fixtures.h"

#define AT_SBOM	      "application/vnd.example.sbom.v1"
#define AT_SIG_CONFIG "application/vnd.example.signature.config.v1+json"

/* A subject with three referrers: an artifact with artifactType, an image
 * without one (artifactType comes from its config) and an index. */
struct family {
	struct fx_manifest subject, sbom, sig, idx;
};

static json_t *subject_of(const struct fx_manifest *m)
{
	return json_pack("{s:o}", "subject", fx_manifest_desc(m));
}

/* PUT of a manifest with a subject: 201; the OCI-Subject header is
 * checked by one test only, so that the others judge the listing. */
static bool check_subject_header;

static int put_referrer(struct ct *t, const char *repo,
			const struct fx_manifest *m, const char *subject)
{
	const char *hdrs[] = {ct_printf(t, "Content-Type: %s", m->media_type),
			      NULL};
	struct ct_resp *r;
	const char *hs;

	r = ct_do(t, "PUT",
		  ct_printf(t, "/v2/%s/manifests/%s", repo, m->digest), hdrs,
		  m->body, m->len, 0);
	if (ct_status(t, r, "201") < 0)
		return -1;
	hs = ct_hdr(r, "OCI-Subject");
	if (check_subject_header && (!hs || strcmp(hs, subject) != 0))
		return ct_fail(t,
			       "PUT of a manifest with a subject: "
			       "OCI-Subject '%s', want '%s'",
			       hs ? hs : "(none)", subject);
	return 0;
}

static int sig_manifest(struct ct *t, const char *repo,
			const struct fx_manifest *subject,
			struct fx_manifest *out)
{
	struct fx_blob config, layer;
	json_t *j;
	char *text;

	if (fx_push_random(t, repo, 64, &layer) < 0)
		return -1;
	config.data = (const unsigned char *)"{\"kind\":\"sig\"}";
	config.size = strlen((const char *)config.data);
	if (fx_push_blob(t, repo, config.data, config.size, "sha256",
			 config.digest) < 0)
		return -1;
	j = ct_jkeep(t,
		     json_pack("{s:i, s:s, s:o, s:[o], s:o, s:{s:s}}",
			       "schemaVersion", 2, "mediaType", MT_OCI_MANIFEST,
			       "config", fx_blob_desc(AT_SIG_CONFIG, &config),
			       "layers",
			       fx_blob_desc("application/octet-stream", &layer),
			       "subject", fx_manifest_desc(subject),
			       "annotations", "org.example.kind", "sig"));
	text = ct_dump(t, j);
	fx_manifest_set(t, out, MT_OCI_MANIFEST, text, strlen(text));
	return 0;
}

static int make_family(struct ct *t, const char *repo, struct family *f,
		       bool push_subject)
{
	const struct fx_manifest *kids[1];
	json_t *extra;

	if (push_subject) {
		if (fx_push_image(t, repo, NULL, NULL, &f->subject) < 0)
			return -1;
	} else if (fx_make_image(t, repo, NULL, false, &f->subject) < 0) {
		return -1;
	}
	extra = json_pack("{s:s, s:o, s:{s:s, s:s}}", "artifactType", AT_SBOM,
			  "subject", fx_manifest_desc(&f->subject),
			  "annotations", "org.example.kind", "sbom",
			  "org.opencontainers.image.created",
			  "2024-01-01T00:00:00Z");
	if (fx_make_image(t, repo, extra, true, &f->sbom) < 0 ||
	    put_referrer(t, repo, &f->sbom, f->subject.digest) < 0)
		return -1;
	if (sig_manifest(t, repo, &f->subject, &f->sig) < 0 ||
	    put_referrer(t, repo, &f->sig, f->subject.digest) < 0)
		return -1;
	/* The index lists the sbom; no artifactType of its own. */
	kids[0] = &f->sbom;
	extra = subject_of(&f->subject);
	json_object_set_new(extra, "annotations",
			    json_pack("{s:s}", "org.example.kind", "bundle"));
	fx_make_index(t, kids, 1, extra, &f->idx);
	return put_referrer(t, repo, &f->idx, f->subject.digest);
}

static const char *const accept_all[] = {ACCEPT_ALL, NULL};

/* What the descriptor of manifest m must say of its artifactType: its own,
 * else (an image manifest) its config's mediaType, else nothing. */
static const char *expected_type(json_t *m)
{
	const char *at = json_string_value(json_object_get(m, "artifactType"));

	if (at && *at)
		return at;
	return json_string_value(
		json_object_get(json_object_get(m, "config"), "mediaType"));
}

/* A listed descriptor must be what §Listing Referrers defines: a manifest
 * in <name> whose subject is <digest>, described by its mediaType, size,
 * artifactType and annotations.  Registries may add referrers of their own
 * (a scanner's report, a signature), so lists are judged entry by entry,
 * and the tests look for the entries they pushed. */
static int check_genuine(struct ct *t, const char *repo, const char *digest,
			 json_t *d)
{
	const char *dg = json_string_value(json_object_get(d, "digest"));
	const char *mt = json_string_value(json_object_get(d, "mediaType"));
	const char *at = json_string_value(json_object_get(d, "artifactType"));
	const char *want_at, *subj;
	json_t *m, *ann, *mann;
	struct ct_resp *r;

	if (!dg || !mt || !json_is_integer(json_object_get(d, "size")))
		return ct_fail(t, "referrers: a descriptor without digest, "
				  "mediaType or size");
	r = ct_do(t, "GET", ct_printf(t, "/v2/%s/manifests/%s", repo, dg),
		  accept_all, NULL, 0, 0);
	if (r->status != 200)
		return ct_fail(t,
			       "referrers: %s is listed but is no manifest "
			       "in %s (GET: %ld)",
			       dg, repo, r->status);
	if ((json_int_t)r->len !=
	    json_integer_value(json_object_get(d, "size")))
		return ct_fail(t, "referrers: %s listed with size %lld, is %zu",
			       dg,
			       (long long)json_integer_value(
				       json_object_get(d, "size")),
			       r->len);
	m = ct_json(t, r);
	if (!m)
		return -1;
	subj = json_string_value(
		json_object_get(json_object_get(m, "subject"), "digest"));
	if (!subj || strcmp(subj, digest) != 0)
		return ct_fail(t,
			       "referrers: %s is listed but its subject is "
			       "%s, not %s",
			       dg, subj ? subj : "(none)", digest);
	want_at = expected_type(m);
	if (want_at ? !at || strcmp(at, want_at) != 0 : at != NULL)
		return ct_fail(t,
			       "referrers: %s has artifactType '%s', MUST "
			       "be '%s'",
			       dg, at ? at : "(none)",
			       want_at ? want_at : "(omitted)");
	ann = json_object_get(d, "annotations");
	mann = json_object_get(m, "annotations");
	if (mann && json_object_size(mann) > 0 && !json_equal(ann, mann))
		return ct_fail(t,
			       "referrers: %s: the manifest's annotations "
			       "MUST be in its descriptor",
			       dg);
	return 0;
}

static int check_all_genuine(struct ct *t, const char *repo, const char *digest,
			     json_t *list)
{
	size_t i;
	json_t *d;

	json_array_foreach(list, i, d) {
		if (check_genuine(t, repo, digest, d) < 0)
			return -1;
	}
	return 0;
}

/* GET referrers; checks 200, the Content-Type, the index shape and every
 * entry, and returns the "manifests" array (NULL after a failure). */
static json_t *referrers(struct ct *t, const char *repo, const char *digest,
			 const char *query, struct ct_resp **out)
{
	struct ct_resp *r;
	const char *ctype;
	json_t *j, *list;

	r = ct_get(t, ct_printf(t, "/v2/%s/referrers/%s%s%s", repo, digest,
				query ? "?" : "", query ? query : ""));
	if (out)
		*out = r;
	if (ct_status(t, r, "200") < 0)
		return NULL;
	ctype = ct_hdr(r, "Content-Type");
	if (!ctype || strncmp(ctype, MT_OCI_INDEX, strlen(MT_OCI_INDEX))) {
		ct_fail(t, "referrers: Content-Type '%s', MUST be %s",
			ctype ? ctype : "(none)", MT_OCI_INDEX);
		return NULL;
	}
	j = ct_json(t, r);
	if (!j)
		return NULL;
	list = json_object_get(j, "manifests");
	if (json_integer_value(json_object_get(j, "schemaVersion")) != 2 ||
	    !json_is_array(list)) {
		ct_fail(t, "referrers: not an image index: %.200s", r->body);
		return NULL;
	}
	if (check_all_genuine(t, repo, digest, list) < 0)
		return NULL;
	return list;
}

static json_t *find_desc(json_t *list, const char *digest)
{
	size_t i;
	json_t *d;

	json_array_foreach(list, i, d) {
		const char *dg =
			json_string_value(json_object_get(d, "digest"));

		if (dg && !strcmp(dg, digest))
			return d;
	}
	return NULL;
}

/* The descriptor of m in list: mediaType, size, artifactType, annotation. */
static int check_desc(struct ct *t, json_t *list, const struct fx_manifest *m,
		      const char *artifact_type, const char *kind)
{
	json_t *d = find_desc(list, m->digest);
	const char *mt, *at, *k;

	if (!d)
		return ct_fail(t, "referrer %s (%s) not listed", m->digest,
			       kind);
	mt = json_string_value(json_object_get(d, "mediaType"));
	if (!mt || strcmp(mt, m->media_type) != 0)
		return ct_fail(t, "referrer %s: mediaType '%s', want '%s'",
			       kind, mt ? mt : "(none)", m->media_type);
	if (json_integer_value(json_object_get(d, "size")) !=
	    (json_int_t)m->len)
		return ct_fail(t, "referrer %s: size %lld, want %zu", kind,
			       (long long)json_integer_value(
				       json_object_get(d, "size")),
			       m->len);
	at = json_string_value(json_object_get(d, "artifactType"));
	if (artifact_type && (!at || strcmp(at, artifact_type) != 0))
		return ct_fail(t,
			       "referrer %s: artifactType '%s', MUST be "
			       "'%s'",
			       kind, at ? at : "(none)", artifact_type);
	if (!artifact_type && json_object_get(d, "artifactType"))
		return ct_fail(t,
			       "referrer %s: an index without artifactType "
			       "MUST omit it, got '%s'",
			       kind, at ? at : "(not a string)");
	k = json_string_value(json_object_get(json_object_get(d, "annotations"),
					      "org.example.kind"));
	if (!k || strcmp(k, kind) != 0)
		return ct_fail(t,
			       "referrer %s: annotations of the manifest "
			       "MUST be copied (org.example.kind '%s')",
			       kind, k ? k : "(none)");
	return 0;
}

static void t_subject_header(struct ct *t)
{
	struct family f;

	/* Every push of the family is checked. */
	check_subject_header = true;
	make_family(t, ct_cfg(t)->ns, &f, true);
	check_subject_header = false;
}

static void t_list(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	struct family f;
	json_t *list;

	CT_TRY(make_family(t, ns, &f, true));
	list = referrers(t, ns, f.subject.digest, NULL, NULL);
	CT_CHECK(t, list, "referrers");
	CT_TRY(check_desc(t, list, &f.sbom, AT_SBOM, "sbom"));
	CT_TRY(check_desc(t, list, &f.sig, AT_SIG_CONFIG, "sig"));
	CT_TRY(check_desc(t, list, &f.idx, NULL, "bundle"));
}

static void t_empty(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	struct fx_manifest m;
	json_t *list;

	CT_TRY(fx_push_image(t, ns, NULL, NULL, &m));
	list = referrers(t, ns, m.digest, NULL, NULL);
	CT_CHECK(t, list, "referrers");
	/* Anything listed passed check_genuine(): the registry's own. */
	if (json_array_size(list) > 0)
		ct_note(t, "%zu referrer(s) the registry made itself",
			json_array_size(list));
}

/* A client that counts the referrers it pushed (the OCI conformance
 * suite does): an image of random blobs, which no one can read as a
 * filesystem, with one signature.  Registries may add referrers of their
 * own, but not to what they could not read; --strict wants exactly the
 * pushed one.  Listed a few times over a second, as a scan on push would
 * add its report after the push returned. */
static void t_exact(struct ct *t)
{
	const struct timespec pause = {0, 200 * 1000 * 1000};
	const char *ns = ct_cfg(t)->ns;
	struct fx_manifest subject, sig;
	json_t *list;

	CT_TRY(fx_push_image(t, ns, NULL, NULL, &subject));
	CT_TRY(sig_manifest(t, ns, &subject, &sig));
	CT_TRY(put_referrer(t, ns, &sig, subject.digest));
	for (int i = 0; i < 5; i++) {
		if (i)
			nanosleep(&pause, NULL);
		list = referrers(t, ns, subject.digest, NULL, NULL);
		CT_CHECK(t, list, "referrers");
		CT_CHECK(t, find_desc(list, sig.digest),
			 "the pushed referrer is not listed");
		if (json_array_size(list) == 1)
			continue;
		CT_CHECK(t, !ct_cfg(t)->strict,
			 "%zu referrers of an image of random blobs, want "
			 "the 1 pushed (--strict)",
			 json_array_size(list));
		ct_note(t, "%zu referrer(s) the registry made itself",
			json_array_size(list) - 1);
		return;
	}
}

static void t_unknown_subject(struct ct *t)
{
	json_t *list =
		referrers(t, ct_cfg(t)->ns, ct_digest_unknown(t), NULL, NULL);

	CT_CHECK(t, list, "referrers");
	CT_CHECK(t, json_array_size(list) == 0, "%zu referrers, want none",
		 json_array_size(list));
}

/* Filters on type: the sbom is listed when is_sbom, else nothing is. */
static void filter(struct ct *t, const char *type, bool is_sbom)
{
	const char *ns = ct_cfg(t)->ns;
	struct family f;
	struct ct_resp *r;
	json_t *list, *d;
	const char *applied;
	size_t i;

	CT_TRY(make_family(t, ns, &f, true));
	list = referrers(t, ns, f.subject.digest,
			 ct_printf(t, "artifactType=%s", type), &r);
	CT_CHECK(t, list, "referrers");
	applied = ct_hdr(r, "OCI-Filters-Applied");
	CT_CHECK(t, applied && strstr(applied, "artifactType"),
		 "OCI-Filters-Applied '%s': filtering SHOULD be supported, and "
		 "then the header MUST name artifactType",
		 applied ? applied : "(none)");
	CT_CHECK(t,
		 is_sbom ? find_desc(list, f.sbom.digest) != NULL
			 : json_array_size(list) == 0,
		 "artifactType=%s: %zu referrers, %s", type,
		 json_array_size(list),
		 is_sbom ? "without the one of that type" : "want none");
	json_array_foreach(list, i, d) {
		const char *at =
			json_string_value(json_object_get(d, "artifactType"));

		CT_CHECK(t, at && !strcmp(at, type),
			 "filtered list holds artifactType '%s'",
			 at ? at : "(none)");
	}
}

static void t_filter(struct ct *t)
{
	filter(t, AT_SBOM, true);
}

static void t_filter_none(struct ct *t)
{
	filter(t, "application/vnd.example.nothing", false);
}

static void t_subject_later(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	struct family f;
	json_t *list;

	/* Referrers first, the subject after. */
	CT_TRY(make_family(t, ns, &f, false));
	list = referrers(t, ns, f.subject.digest, NULL, NULL);
	CT_CHECK(t, list, "referrers before the subject exists");
	CT_TRY(check_desc(t, list, &f.sbom, AT_SBOM, "sbom"));
	CT_TRY(check_desc(t, list, &f.sig, AT_SIG_CONFIG, "sig"));
	CT_TRY(check_desc(t, list, &f.idx, NULL, "bundle"));
	CT_TRY(fx_put_manifest(t, ns, NULL, &f.subject));
	list = referrers(t, ns, f.subject.digest, NULL, NULL);
	CT_CHECK(t, list, "referrers after the subject exists");
	CT_TRY(check_desc(t, list, &f.sbom, AT_SBOM, "sbom"));
	CT_TRY(check_desc(t, list, &f.sig, AT_SIG_CONFIG, "sig"));
	CT_TRY(check_desc(t, list, &f.idx, NULL, "bundle"));
}

static void t_other_repo(struct ct *t)
{
	const struct ct_cfg *c = ct_cfg(t);
	struct fx_manifest subject, sbom;
	json_t *list;

	CT_TRY(fx_push_image(t, c->ns, NULL, NULL, &subject));
	CT_TRY(fx_make_image(t, c->ns2,
			     json_pack("{s:s, s:o}", "artifactType", AT_SBOM,
				       "subject", fx_manifest_desc(&subject)),
			     true, &sbom));
	CT_TRY(fx_put_manifest(t, c->ns2, NULL, &sbom));
	list = referrers(t, c->ns, subject.digest, NULL, NULL);
	CT_CHECK(t, list, "referrers");
	CT_CHECK(t, !find_desc(list, sbom.digest),
		 "a referrer pushed to %s is listed in %s", c->ns2, c->ns);
}

static void t_bad_digest(struct ct *t)
{
	struct ct_resp *r = ct_get(t, ct_printf(t, "/v2/%s/referrers/sha256:%s",
						ct_cfg(t)->ns, "not-a-digest"));

	CT_TRY(ct_status(t, r, "400"));
}

static void t_after_delete(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	struct family f;
	struct ct_resp *r;
	json_t *list;

	CT_TRY(make_family(t, ns, &f, true));
	r = ct_do(t, "DELETE",
		  ct_printf(t, "/v2/%s/manifests/%s", ns, f.sbom.digest), NULL,
		  NULL, 0, 0);
	CT_TRY(fx_delete_status(t, r, "manifest"));
	list = referrers(t, ns, f.subject.digest, NULL, NULL);
	CT_CHECK(t, list, "referrers");
	CT_CHECK(t, !find_desc(list, f.sbom.digest),
		 "deleted referrer still listed");
	CT_TRY(check_desc(t, list, &f.sig, AT_SIG_CONFIG, "sig"));
	CT_TRY(check_desc(t, list, &f.idx, NULL, "bundle"));
}

const struct ct_test ct_referrers_tests[] = {
	{"referrers/oci-subject-header",
	 "§Pushing Manifests with Subject: a registry with the referrers API "
	 "MUST answer OCI-Subject: <subject digest>",
	 t_subject_header},
	{"referrers/list",
	 "§Listing Referrers, end-12a: 200, index Content-Type; each entry a "
	 "manifest of <name> with that subject; descriptors "
	 "with artifactType (or config mediaType; omitted for an index) and "
	 "annotations",
	 t_list},
	{"referrers/empty",
	 "§Listing Referrers: no referrers MUST give an empty manifests list "
	 "(entries the registry made itself must be genuine referrers)",
	 t_empty},
	{"referrers/exact",
	 "§Listing Referrers: an image of random blobs with one referrer "
	 "pushed lists exactly that one (--strict: the registry adds none to "
	 "what it cannot read)",
	 t_exact},
	{"referrers/unknown-subject",
	 "§Listing Referrers: MUST NOT be 404 when the API is supported; an "
	 "unknown digest gives an empty list",
	 t_unknown_subject},
	{"referrers/artifact-type-filter",
	 "§Listing Referrers, end-12b: SHOULD filter on artifactType; "
	 "OCI-Filters-Applied MUST then say artifactType",
	 t_filter},
	{"referrers/artifact-type-filter-none",
	 "§Listing Referrers, end-12b: a filter that matches nothing gives an "
	 "empty list (+ OCI-Filters-Applied)",
	 t_filter_none},
	{"referrers/subject-pushed-later",
	 "§Push: a subject that does not exist MUST be accepted; referrers "
	 "listed before and after the subject is pushed",
	 t_subject_later},
	{"referrers/other-repository",
	 "§Listing Referrers: descriptors are of manifests in the same "
	 "<name> namespace",
	 t_other_repo},
	{"referrers/bad-digest",
	 "§Listing Referrers: a <digest> with invalid syntax MUST be 400",
	 t_bad_digest},
	{"referrers/after-delete",
	 "§Deleting Manifests + §Listing Referrers: a deleted referrer is no "
	 "longer listed",
	 t_after_delete},
	{NULL, NULL, NULL},
};
