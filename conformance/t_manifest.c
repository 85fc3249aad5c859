/* t_manifest.c: §Pushing Manifests (end-7) and what comes back. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"

static const char *const accept_all[] = {ACCEPT_ALL, NULL};

/* GET by ref gives exactly m's bytes with m's media type. */
static int check_manifest(struct ct *t, const char *repo, const char *ref,
			  const struct fx_manifest *m)
{
	struct ct_resp *r;
	const char *ctype;

	r = ct_do(t, "GET", ct_printf(t, "/v2/%s/manifests/%s", repo, ref),
		  accept_all, NULL, 0, 0);
	if (ct_status(t, r, "200") < 0)
		return -1;
	if (r->len != m->len || memcmp(r->body, m->body, m->len) != 0)
		return ct_fail(t,
			       "%s: %zu bytes, not the %zu pushed (byte for "
			       "byte)",
			       ct_what(t, r), r->len, m->len);
	ctype = ct_hdr(r, "Content-Type");
	if (!ctype || strncmp(ctype, m->media_type, strlen(m->media_type)))
		return ct_fail(t, "%s: Content-Type '%s', pushed '%s'",
			       ct_what(t, r), ctype ? ctype : "(none)",
			       m->media_type);
	return 0;
}

static void t_put_by_tag(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	char *tag = fx_tag(t, "by-tag");
	struct fx_manifest m;

	CT_TRY(fx_push_image(t, ns, tag, NULL, &m));
	CT_TRY(check_manifest(t, ns, tag, &m));
	CT_TRY(check_manifest(t, ns, m.digest, &m));
}

static void t_put_by_digest(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	struct fx_manifest m;

	CT_TRY(fx_push_image(t, ns, NULL, NULL, &m));
	CT_TRY(check_manifest(t, ns, m.digest, &m));
}

static void t_location_pullable(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	struct fx_manifest m;
	struct ct_resp *r;
	const char *hdrs[] = {"Content-Type: " MT_OCI_MANIFEST, NULL};
	char *loc;

	CT_TRY(fx_make_image(t, ns, NULL, false, &m));
	r = ct_do(t, "PUT",
		  ct_printf(t, "/v2/%s/manifests/%s", ns, fx_tag(t, "loc")),
		  hdrs, m.body, m.len, 0);
	CT_TRY(ct_status(t, r, "201"));
	CT_CHECK(t, (loc = ct_location(t, r)) != NULL, "no Location");
	r = ct_do(t, "GET", loc, accept_all, NULL, 0, 0);
	CT_TRY(ct_status(t, r, "200"));
	CT_CHECK(t, r->len == m.len && !memcmp(r->body, m.body, m.len),
		 "GET of Location %s is not the manifest", loc);
}

static void t_exact_bytes(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	struct fx_blob config, layer;
	struct fx_manifest m;
	char *text, *tag = fx_tag(t, "exact");

	CT_TRY(fx_push_parts(t, ns, &config, &layer));
	/* Indentation, odd spacing, keys out of the usual order, escapes
	 * and UTF-8, a trailing newline: none of it may be normalised. */
	text = ct_printf(
		t,
		"{\n\t\"schemaVersion\" :  2,\r\n"
		"  \"mediaType\": \"%s\",\n"
		"  \"layers\": [ { \"size\": %zu, \"digest\": \"%s\", "
		"\"mediaType\": \"%s\" } ],\n"
		"  \"config\":{\"digest\":\"%s\",\"size\":%zu,"
		"\"mediaType\":\"%s\"},\n"
		"  \"annotations\": { \"z\": \"caf\\u00e9 \\ud83d\\ude00 "
		"\xc3\xbc\xc3\xb1\xc3\xaf\", \"a\": \"\\/slash\\\"quote\" }\n"
		"}\n",
		MT_OCI_MANIFEST, layer.size, layer.digest, MT_OCI_LAYER,
		config.digest, config.size, MT_OCI_CONFIG);
	fx_manifest_set(t, &m, MT_OCI_MANIFEST, text, strlen(text));
	CT_TRY(fx_put_manifest(t, ns, tag, &m));
	CT_TRY(check_manifest(t, ns, tag, &m));
	CT_TRY(check_manifest(t, ns, m.digest, &m));
}

static void t_custom_fields(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	struct fx_manifest m;
	json_t *extra;
	char *tag = fx_tag(t, "custom");

	/* Unknown members at the top and inside a descriptor, annotations. */
	extra = json_pack("{s:{s:[i,i,i], s:n, s:b}, s:{s:s, s:s}}",
			  "org.example.custom", "list", 1, 2, 3, "nothing",
			  "flag", 1, "annotations", "org.example.a", "1",
			  "org.opencontainers.image.title", "custom fields");
	CT_TRY(fx_make_image(t, ns, extra, false, &m));
	{
		json_t *j = ct_jkeep(t, json_loadb(m.body, m.len, 0, NULL));
		char *text;

		json_object_set_new(json_object_get(j, "config"),
				    "org.example.descriptor-extra",
				    json_string("kept"));
		text = ct_dump(t, j);
		fx_manifest_set(t, &m, MT_OCI_MANIFEST, text, strlen(text));
	}
	CT_TRY(fx_put_manifest(t, ns, tag, &m));
	CT_TRY(check_manifest(t, ns, tag, &m));
}

static void t_data_field(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	struct fx_blob config, layer;
	struct fx_manifest m;
	unsigned char *b64;
	json_t *j, *cdesc;
	char *text, *tag = fx_tag(t, "data");

	CT_TRY(fx_push_parts(t, ns, &config, &layer));
	b64 = ct_keep(t, calloc(1, 4 * ((config.size + 2) / 3) + 1), free);
	CT_CHECK(t, b64, "out of memory");
	EVP_EncodeBlock(b64, config.data, (int)config.size);
	cdesc = fx_blob_desc(MT_OCI_CONFIG, &config);
	json_object_set_new(cdesc, "data", json_string((char *)b64));
	j = ct_jkeep(t,
		     json_pack("{s:i, s:s, s:o, s:[o]}", "schemaVersion", 2,
			       "mediaType", MT_OCI_MANIFEST, "config", cdesc,
			       "layers", fx_blob_desc(MT_OCI_LAYER, &layer)));
	text = ct_dump(t, j);
	fx_manifest_set(t, &m, MT_OCI_MANIFEST, text, strlen(text));
	CT_TRY(fx_put_manifest(t, ns, tag, &m));
	CT_TRY(check_manifest(t, ns, tag, &m));
}

static void t_artifact(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	struct fx_manifest m;
	char *tag = fx_tag(t, "artifact");

	CT_TRY(fx_make_image(t, ns,
			     json_pack("{s:s}", "artifactType",
				       "application/vnd.example.thing.v1"),
			     true, &m));
	CT_TRY(fx_put_manifest(t, ns, tag, &m));
	CT_TRY(check_manifest(t, ns, tag, &m));
}

static void t_index(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	struct fx_manifest a, b, idx;
	const struct fx_manifest *kids[] = {&a, &b};
	char *tag = fx_tag(t, "index");

	CT_TRY(fx_push_image(t, ns, NULL, NULL, &a));
	CT_TRY(fx_push_image(t, ns, NULL, NULL, &b));
	fx_make_index(t, kids, 2, NULL, &idx);
	CT_TRY(fx_put_manifest(t, ns, tag, &idx));
	CT_TRY(check_manifest(t, ns, tag, &idx));
	CT_TRY(check_manifest(t, ns, idx.digest, &idx));
	CT_TRY(check_manifest(t, ns, a.digest, &a));
}

static void t_nested_index(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	struct fx_manifest a, b, c, inner, outer;
	const struct fx_manifest *in_kids[] = {&a, &b};
	const struct fx_manifest *out_kids[] = {&inner, &c};
	char *tag = fx_tag(t, "nested");

	CT_TRY(fx_push_image(t, ns, NULL, NULL, &a));
	CT_TRY(fx_push_image(t, ns, NULL, NULL, &b));
	CT_TRY(fx_push_image(t, ns, NULL, NULL, &c));
	fx_make_index(t, in_kids, 2, NULL, &inner);
	CT_TRY(fx_put_manifest(t, ns, NULL, &inner));
	fx_make_index(t, out_kids, 2, NULL, &outer);
	CT_TRY(fx_put_manifest(t, ns, tag, &outer));
	CT_TRY(check_manifest(t, ns, tag, &outer));
	CT_TRY(check_manifest(t, ns, inner.digest, &inner));
}

static void t_sha512(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	struct fx_manifest m;
	char *dg;
	const char *hdrs[] = {"Content-Type: " MT_OCI_MANIFEST, NULL};
	const char *dcd;
	struct ct_resp *r;

	CT_TRY(fx_make_image(t, ns, NULL, false, &m));
	dg = ct_digest_s(t, "sha512", m.body, m.len);
	r = ct_do(t, "PUT", ct_printf(t, "/v2/%s/manifests/%s", ns, dg), hdrs,
		  m.body, m.len, 0);
	CT_TRY(ct_status(t, r, "201"));
	dcd = ct_hdr(r, "Docker-Content-Digest");
	CT_CHECK(t, !dcd || !strcmp(dcd, dg),
		 "Docker-Content-Digest %s; MUST equal the client's %s", dcd,
		 dg);
	CT_TRY(check_manifest(t, ns, dg, &m));
}

/* PUT by digest with ?tag= (end-7b, the spec's main branch): a registry
 * MAY support it; if it does, one OCI-Tag header (RFC 9110 field lines,
 * so comma-separated values count too) per accepted tag.  alg is the
 * digest's ("sha256"/"sha512"); extra_q is one more parameter (an invalid
 * tag: without --strict the request may then be refused with 400).
 * *done is false (and the test skipped) for a registry without it. */
static int put_with_tags(struct ct *t, const char *repo, const char *alg,
			 const struct fx_manifest *m, const char *const *tags,
			 size_t ntags, const char *extra_q, char *dg_out,
			 bool *done)
{
	bool may_refuse = extra_q && !ct_cfg(t)->strict;
	const char *hdrs[] = {ct_printf(t, "Content-Type: %s", m->media_type),
			      NULL};
	char *url, *dg = ct_digest_s(t, alg, m->body, m->len);
	const char *got, *dcd;
	struct ct_resp *r;

	*done = false;
	url = ct_printf(t, "/v2/%s/manifests/%s", repo, dg);
	for (size_t i = 0; i < ntags; i++)
		url = ct_url_param(t, url, ct_printf(t, "tag=%s", tags[i]));
	if (extra_q)
		url = ct_url_param(t, url, extra_q);
	r = ct_do(t, "PUT", url, hdrs, m->body, m->len, 0);
	if (r->status == 400 && may_refuse) {
		ct_note(t, "refused for the invalid tag (allowed)");
		return ct_error(t, r, "400", "TAG_INVALID|MANIFEST_INVALID",
				true);
	}
	if (ct_status(t, r, "201") < 0)
		return -1;
	dcd = ct_hdr(r, "Docker-Content-Digest");
	if (dcd && strcmp(dcd, dg))
		return ct_fail(t, "Docker-Content-Digest %s; MUST equal %s",
			       dcd, dg);
	got = ct_hdr_all(t, r, "OCI-Tag");
	if (!got) {
		if (ct_cfg(t)->strict)
			return ct_fail(t, "%s: no OCI-Tag header (--strict)",
				       ct_what(t, r));
		ct_skip(t, "no OCI-Tag: tags in the query are not supported "
			   "(MAY)");
		return 0;
	}
	/* Exactly the tags asked for, each once, in any order. */
	{
		char *want = ct_strdup(t, ""), *have = ct_strdup(t, got), *tok;
		char *save = NULL;
		size_t n = 0;

		for (tok = strtok_r(have, ", ", &save); tok;
		     tok = strtok_r(NULL, ", ", &save)) {
			size_t i;

			for (i = 0; i < ntags && strcmp(tags[i], tok); i++)
				;
			if (i == ntags ||
			    strstr(want, ct_printf(t, " %s ", tok)))
				return ct_fail(t,
					       "OCI-Tag '%s': '%s' was not "
					       "asked for, or is listed twice",
					       got, tok);
			want = ct_printf(t, "%s %s ", want, tok);
			n++;
		}
		if (n != ntags)
			return ct_fail(t, "OCI-Tag '%s': %zu of the %zu tags",
				       got, n, ntags);
	}
	snprintf(dg_out, CT_DIGEST_MAX, "%s", dg);
	*done = true;
	return 0;
}

static void t_put_tags(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	const char *tags[] = {fx_tag(t, "qt-a"), fx_tag(t, "qt-b"),
			      fx_tag(t, "qt.c-1")};
	struct fx_manifest m;
	char dg[CT_DIGEST_MAX];
	bool done;

	CT_TRY(fx_make_image(t, ns, NULL, false, &m));
	CT_TRY(put_with_tags(t, ns, "sha256", &m, tags, 3, NULL, dg, &done));
	if (!done)
		return;
	for (size_t i = 0; i < 3; i++)
		CT_TRY(check_manifest(t, ns, tags[i], &m));
}

/* An invalid tag among them is not accepted: no OCI-Tag for it, and it
 * is not a tag afterwards (without --strict the request may instead be
 * refused: 400). */
static void t_put_tags_invalid(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	const char *tags[] = {fx_tag(t, "qi-a")};
	const char *bad = ct_printf(t, ".%s-bad", ct_cfg(t)->run);
	struct fx_manifest m;
	char dg[CT_DIGEST_MAX];
	struct ct_resp *r;
	bool done;

	CT_TRY(fx_make_image(t, ns, NULL, false, &m));
	CT_TRY(put_with_tags(t, ns, "sha256", &m, tags, 1,
			     ct_printf(t, "tag=%s", bad), dg, &done));
	if (!done)
		return;
	CT_TRY(check_manifest(t, ns, tags[0], &m));
	r = ct_do(t, "GET", ct_printf(t, "/v2/%s/tags/list", ns), NULL, NULL, 0,
		  0);
	CT_TRY(ct_status(t, r, "200"));
	CT_CHECK(t, !strstr(r->body, bad), "the invalid tag %s was listed",
		 bad);
}

/* Pushed by a sha512 digest with a tag: GET and HEAD by the tag give the
 * sha512 digest the client chose, not a sha256 of the same bytes. */
static void t_sha512_tag(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	const char *tags[] = {fx_tag(t, "sha512")};
	struct fx_manifest m;
	char dg[CT_DIGEST_MAX];
	const char *dcd;
	struct ct_resp *r;
	bool done;

	CT_TRY(fx_make_image(t, ns, NULL, false, &m));
	CT_TRY(put_with_tags(t, ns, "sha512", &m, tags, 1, NULL, dg, &done));
	if (!done)
		return;
	CT_TRY(check_manifest(t, ns, tags[0], &m));
	for (int head = 0; head < 2; head++) {
		r = ct_do(t, head ? "HEAD" : "GET",
			  ct_printf(t, "/v2/%s/manifests/%s", ns, tags[0]),
			  accept_all, NULL, 0, 0);
		CT_TRY(ct_status(t, r, "200"));
		dcd = ct_hdr(r, "Docker-Content-Digest");
		CT_CHECK(t, dcd && !strcmp(dcd, dg),
			 "%s: Docker-Content-Digest %s, pushed as %s",
			 ct_what(t, r), dcd ? dcd : "(none)", dg);
	}
}

/* Sparse content (image-spec: an index need not have every platform in
 * the registry; non-distributable layers live elsewhere).  A registry
 * MAY refuse it (MANIFEST_BLOB_UNKNOWN); --strict wants it accepted and
 * served byte for byte. */
static void sparse_put(struct ct *t, const char *repo,
		       const struct fx_manifest *m, const char *what)
{
	const char *hdrs[] = {ct_printf(t, "Content-Type: %s", m->media_type),
			      NULL};
	const char *tag = fx_tag(t, what);
	struct ct_resp *r;

	r = ct_do(t, "PUT", ct_printf(t, "/v2/%s/manifests/%s", repo, tag),
		  hdrs, m->body, m->len, 0);
	if (r->status != 201 && !ct_cfg(t)->strict) {
		CT_TRY(ct_error(t, r, "400",
				"MANIFEST_BLOB_UNKNOWN|MANIFEST_INVALID",
				false));
		ct_note(t, "refused (the spec allows it)");
		return;
	}
	CT_TRY(ct_status(t, r, "201"));
	CT_TRY(check_manifest(t, repo, tag, m));
}

static void t_sparse_index(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	struct fx_manifest here, absent, idx;
	const struct fx_manifest *kids[] = {&here, &absent};

	CT_TRY(fx_push_image(t, ns, NULL, NULL, &here));
	CT_TRY(fx_make_image(t, ns, NULL, false, &absent));
	fx_make_index(t, kids, 2, NULL, &idx);
	sparse_put(t, ns, &idx, "sparse-index");
}

static void t_nondistributable(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	struct fx_blob config, layer;
	struct fx_manifest m;
	json_t *foreign, *j;
	char *text;

	CT_TRY(fx_push_parts(t, ns, &config, &layer));
	foreign = fx_desc("application/vnd.oci.image.layer.nondistributable."
			  "v1.tar+gzip",
			  ct_digest_unknown(t), 1234);
	json_object_set_new(foreign, "urls",
			    json_pack("[s]", "https://example.com/base.tgz"));
	j = ct_jkeep(t,
		     json_pack("{s:i, s:s, s:o, s:[o, o]}", "schemaVersion", 2,
			       "mediaType", MT_OCI_MANIFEST, "config",
			       fx_blob_desc(MT_OCI_CONFIG, &config), "layers",
			       foreign, fx_blob_desc(MT_OCI_LAYER, &layer)));
	text = ct_dump(t, j);
	fx_manifest_set(t, &m, MT_OCI_MANIFEST, text, strlen(text));
	sparse_put(t, ns, &m, "nondistributable");
}

static void t_digest_mismatch(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	struct fx_manifest m;
	char *wrong = ct_digest_unknown(t);
	const char *hdrs[] = {"Content-Type: " MT_OCI_MANIFEST, NULL};
	struct ct_resp *r;

	CT_TRY(fx_make_image(t, ns, NULL, false, &m));
	r = ct_do(t, "PUT", ct_printf(t, "/v2/%s/manifests/%s", ns, wrong),
		  hdrs, m.body, m.len, 0);
	CT_TRY(ct_error(t, r, "400", "DIGEST_INVALID|MANIFEST_INVALID", false));
	r = ct_do(t, "GET", ct_printf(t, "/v2/%s/manifests/%s", ns, wrong),
		  accept_all, NULL, 0, 0);
	CT_TRY(ct_status(t, r, "404"));
}

static void t_invalid_json(struct ct *t)
{
	const char *hdrs[] = {"Content-Type: " MT_OCI_MANIFEST, NULL};
	const char *body = "{\"schemaVersion\": 2, \"mediaType\": ";
	struct ct_resp *r;

	r = ct_do(t, "PUT",
		  ct_printf(t, "/v2/%s/manifests/%s", ct_cfg(t)->ns,
			    fx_tag(t, "invalid")),
		  hdrs, body, strlen(body), 0);
	CT_TRY(ct_error(t, r, "400", "MANIFEST_INVALID", false));
}

/* A registry MAY refuse a manifest whose descriptors point at nothing; if
 * it does, with MANIFEST_BLOB_UNKNOWN. */
static void dangling(struct ct *t, bool index)
{
	const char *ns = ct_cfg(t)->ns;
	struct fx_manifest m, ghost;
	const struct fx_manifest *kids[] = {&ghost};
	struct ct_resp *r;
	const char *hdrs[2] = {NULL, NULL};

	if (index) {
		CT_TRY(fx_make_image(t, ns, NULL, false, &ghost));
		fx_make_index(t, kids, 1, NULL, &m);
	} else {
		struct fx_blob config, layer;
		json_t *j;
		char *text;

		CT_TRY(fx_push_parts(t, ns, &config, &layer));
		snprintf(layer.digest, sizeof(layer.digest), "%s",
			 ct_digest_unknown(t));
		j = ct_jkeep(t, json_pack("{s:i, s:s, s:o, s:[o]}",
					  "schemaVersion", 2, "mediaType",
					  MT_OCI_MANIFEST, "config",
					  fx_blob_desc(MT_OCI_CONFIG, &config),
					  "layers",
					  fx_blob_desc(MT_OCI_LAYER, &layer)));
		text = ct_dump(t, j);
		fx_manifest_set(t, &m, MT_OCI_MANIFEST, text, strlen(text));
	}
	hdrs[0] = ct_printf(t, "Content-Type: %s", m.media_type);
	r = ct_do(t, "PUT",
		  ct_printf(t, "/v2/%s/manifests/%s", ns,
			    fx_tag(t, index ? "dangling-index" : "dangling")),
		  hdrs, m.body, m.len, 0);
	if (r->status == 201) {
		ct_note(t, "accepted (the spec allows it)");
		return;
	}
	CT_TRY(ct_error(t, r, "400", "MANIFEST_BLOB_UNKNOWN", false));
}

static void t_blob_unknown(struct ct *t)
{
	dangling(t, false);
}

static void t_index_child_unknown(struct ct *t)
{
	dangling(t, true);
}

static void t_subject_missing(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	struct fx_manifest m;
	json_t *subject = fx_desc(MT_OCI_MANIFEST, ct_digest_unknown(t), 1234);

	CT_TRY(fx_make_image(t, ns, json_pack("{s:o}", "subject", subject),
			     true, &m));
	CT_TRY(fx_put_manifest(t, ns, NULL, &m));
	CT_TRY(check_manifest(t, ns, m.digest, &m));
}

static void t_big(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	struct fx_manifest m;
	size_t pad = 4000000 - 2000;
	char *filler = ct_keep(t, malloc(pad + 1), free);
	json_t *extra;

	CT_CHECK(t, filler, "out of memory");
	memset(filler, 'x', pad);
	filler[pad] = '\0';
	extra = json_pack("{s:{s:s}}", "annotations", "org.example.filler",
			  filler);
	CT_TRY(fx_make_image(t, ns, extra, false, &m));
	CT_CHECK(t, m.len >= 3990000 && m.len <= 4000000,
		 "test bug: manifest is %zu bytes", m.len);
	CT_TRY(fx_put_manifest(t, ns, fx_tag(t, "big"), &m));
	CT_TRY(check_manifest(t, ns, m.digest, &m));
}

static void t_content_type_params(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	struct fx_manifest m;
	const char *hdrs[] = {
		"Content-Type: " MT_OCI_MANIFEST "; charset=utf-8", NULL};
	char *tag = fx_tag(t, "ctype-params");
	struct ct_resp *r;

	CT_TRY(fx_make_image(t, ns, NULL, false, &m));
	r = ct_do(t, "PUT", ct_printf(t, "/v2/%s/manifests/%s", ns, tag), hdrs,
		  m.body, m.len, 0);
	CT_TRY(ct_status(t, r, "201"));
	CT_TRY(check_manifest(t, ns, tag, &m));
}

static void t_oversize(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	size_t n = 32u << 20;
	char *body = ct_keep(t, malloc(n), free);
	const char *hdrs[] = {"Content-Type: " MT_OCI_MANIFEST, NULL};
	struct ct_resp *r;
	static const char head[] =
		"{\"schemaVersion\":2,\"annotations\":{\"x\":\"";

	/* Valid JSON, just far too big for a manifest. */
	CT_CHECK(t, body, "out of memory");
	memset(body, 'x', n);
	memcpy(body, head, sizeof(head) - 1);
	memcpy(body + n - 3, "\"}}", 3);
	r = ct_do(
		t, "PUT",
		ct_printf(t, "/v2/%s/manifests/%s", ns, fx_tag(t, "oversize")),
		hdrs, body, n, CT_EXPECT);
	if (ct_cfg(t)->strict) {
		CT_TRY(ct_status(t, r, "413"));
		return;
	}
	/* Without a limit the registry refuses it as a manifest. */
	CT_TRY(ct_status(t, r, "413|400"));
}

static void t_tag_overwrite(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	struct fx_manifest a, b;
	char *tag = fx_tag(t, "moving");

	CT_TRY(fx_push_image(t, ns, tag, NULL, &a));
	CT_TRY(fx_push_image(t, ns, tag, NULL, &b));
	CT_TRY(check_manifest(t, ns, tag, &b));
	/* The old manifest is still there by digest. */
	CT_TRY(check_manifest(t, ns, a.digest, &a));
}

static void t_many_tags(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	struct fx_manifest m;
	char *t1 = fx_tag(t, "one"), *t2 = fx_tag(t, "two");

	CT_TRY(fx_push_image(t, ns, t1, NULL, &m));
	CT_TRY(fx_put_manifest(t, ns, t2, &m));
	CT_TRY(check_manifest(t, ns, t1, &m));
	CT_TRY(check_manifest(t, ns, t2, &m));
}

static void t_tag_grammar(struct ct *t)
{
	/* 128 characters from the whole alphabet of the tag grammar. */
	const char *repo = fx_repo(t, "tags");
	char tag[129];
	static const char alpha[] = "_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmno"
				    "pqrstuvwxyz0123456789._-";
	struct fx_manifest m;

	for (size_t i = 0; i < 128; i++)
		tag[i] = alpha[i % (sizeof(alpha) - 1)];
	tag[128] = '\0';
	CT_TRY(fx_push_image(t, repo, tag, NULL, &m));
	CT_TRY(check_manifest(t, repo, tag, &m));
}

static void bad_tag(struct ct *t, const char *tag)
{
	const char *ns = ct_cfg(t)->ns;
	struct fx_manifest m;
	const char *hdrs[] = {"Content-Type: " MT_OCI_MANIFEST, NULL};
	struct ct_resp *r;

	CT_TRY(fx_make_image(t, ns, NULL, false, &m));
	r = ct_do(t, "PUT", ct_printf(t, "/v2/%s/manifests/%s", ns, tag), hdrs,
		  m.body, m.len, 0);
	CT_TRY(ct_error(t, r, "400|404",
			"TAG_INVALID|MANIFEST_INVALID|NAME_INVALID|"
			"DIGEST_INVALID",
			true));
}

static void t_tag_too_long(struct ct *t)
{
	char tag[130];

	memset(tag, 'a', 129);
	tag[129] = '\0';
	bad_tag(t, tag);
}

static void t_tag_bad_start(struct ct *t)
{
	bad_tag(t, ct_printf(t, ".%s", ct_cfg(t)->run));
}

static void t_name_grammar(struct ct *t)
{
	/* Every separator of the name grammar: '.', '_', '__', '-', '--',
	 * and several path components. */
	const char *repo =
		ct_printf(t, "%s/a.b_c__d-e--f/g0/h", fx_repo(t, "names"));
	struct fx_manifest m;

	CT_TRY(fx_push_image(t, repo, fx_tag(t, "x"), NULL, &m));
	CT_TRY(check_manifest(t, repo, m.digest, &m));
}

static void t_name_invalid(struct ct *t)
{
	struct ct_resp *r = ct_do(
		t, "POST",
		ct_printf(t, "/v2/%s/Upper_Case/blobs/uploads/", ct_cfg(t)->ns),
		NULL, NULL, 0, 0);

	CT_TRY(ct_error(t, r, "400|404", "NAME_INVALID|NAME_UNKNOWN", true));
}

const struct ct_test ct_manifest_tests[] = {
	{"manifest/put-by-tag",
	 "§Pushing Manifests, end-7: PUT by tag MUST be 201 + Location; "
	 "GET by tag and digest give it back",
	 t_put_by_tag},
	{"manifest/put-by-digest",
	 "§Pushing Manifests, end-7: <reference> MAY be a digest; 201",
	 t_put_by_digest},
	{"manifest/location-pullable",
	 "§Pushing Manifests: Location MUST be a pullable manifest URL",
	 t_location_pullable},
	{"manifest/exact-bytes",
	 "§Pushing Manifests: the registry MUST store the manifest in the "
	 "exact byte representation provided",
	 t_exact_bytes},
	{"manifest/custom-fields",
	 "image-spec considerations.md §Extensibility: unknown fields are "
	 "ignored, kept byte for byte (§Pushing Manifests)",
	 t_custom_fields},
	{"manifest/data-field",
	 "image-spec descriptor.md 'data' (embedded content) in a "
	 "descriptor; stored byte for byte",
	 t_data_field},
	{"manifest/artifact",
	 "image-spec manifest.md artifact guidelines: artifactType + empty "
	 "config descriptor",
	 t_artifact},
	{"manifest/index",
	 "§Pushing Manifests with an image index (image-index.md); "
	 "Content-Type is the index type",
	 t_index},
	{"manifest/nested-index",
	 "image-index.md: an index MAY list indexes; push and pull of an "
	 "index of an index",
	 t_nested_index},
	{"manifest/sha512",
	 "§Pushing Manifests by a sha512 digest; Docker-Content-Digest MUST "
	 "equal the client provided digest",
	 t_sha512},
	{"manifest/put-tags",
	 "§Pushing Manifests, end-7b (main branch): PUT by digest with "
	 "?tag=a&tag=b MAY tag it; then MUST send an OCI-Tag per accepted tag",
	 t_put_tags},
	{"manifest/put-tags-invalid",
	 "§Pushing Manifests, end-7b (main branch): an invalid ?tag= is not "
	 "accepted (no OCI-Tag for it, not listed)",
	 t_put_tags_invalid},
	{"manifest/sha512-tag",
	 "end-7b + §Pulling manifests: pushed by a sha512 digest with a tag, "
	 "GET/HEAD by tag give that Docker-Content-Digest",
	 t_sha512_tag},
	{"manifest/sparse-index",
	 "image-spec image-index.md: an index whose platforms are not all "
	 "pushed; MAY be refused (MANIFEST_BLOB_UNKNOWN), --strict accepts",
	 t_sparse_index},
	{"manifest/nondistributable-layer",
	 "image-spec layer.md non-distributable layers (urls), absent; MAY "
	 "be refused, --strict accepts",
	 t_nondistributable},
	{"manifest/digest-mismatch",
	 "§Pushing Manifests: the digest MUST equal the client provided one "
	 "-> refused (400 DIGEST_INVALID), nothing stored",
	 t_digest_mismatch},
	{"manifest/invalid",
	 "§Error Codes MANIFEST_INVALID (400) for a body that is not a "
	 "manifest",
	 t_invalid_json},
	{"manifest/blob-unknown",
	 "§Push: MAY reject a manifest referencing unknown blobs; then MUST "
	 "be MANIFEST_BLOB_UNKNOWN",
	 t_blob_unknown},
	{"manifest/index-child-unknown",
	 "§Push: MAY reject an index referencing unknown manifests; then "
	 "MUST be MANIFEST_BLOB_UNKNOWN",
	 t_index_child_unknown},
	{"manifest/subject-missing",
	 "§Push: MUST accept a manifest whose subject does not exist",
	 t_subject_missing},
	{"manifest/4mb",
	 "§Pushing Manifests: SHOULD support manifests of at least 4 "
	 "megabytes",
	 t_big},
	{"manifest/content-type-parameters",
	 "§Pushing Manifests: the registry SHOULD ignore parameters on the "
	 "Content-Type header",
	 t_content_type_params},
	{"manifest/oversize",
	 "§Pushing Manifests: SHOULD limit manifest size and answer 413 "
	 "over it (a 32 MiB body; 400 without a limit)",
	 t_oversize},
	{"manifest/tag-overwrite",
	 "§Definitions 'Tag': a pointer; pushing a tag again moves it, the "
	 "old manifest stays by digest",
	 t_tag_overwrite},
	{"manifest/many-tags",
	 "§Definitions 'Tag': a manifest may have many tags", t_many_tags},
	{"manifest/tag-grammar",
	 "§Pulling manifests: a tag is [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127} "
	 "(128 characters, whole alphabet)",
	 t_tag_grammar},
	{"manifest/tag-too-long",
	 "§Pulling manifests: a tag MUST be at most 128 characters (129 is "
	 "refused, 400/404)",
	 t_tag_too_long},
	{"manifest/tag-bad-start",
	 "§Pulling manifests: a tag MUST match [a-zA-Z0-9_]... ('.' first is "
	 "refused)",
	 t_tag_bad_start},
	{"manifest/name-grammar",
	 "§Pulling manifests: <name> grammar with '.', '_', '__', '-', '--' "
	 "and several components",
	 t_name_grammar},
	{"manifest/name-invalid",
	 "§Pulling manifests: <name> MUST match the grammar (upper case is "
	 "refused, NAME_INVALID)",
	 t_name_invalid},
	{NULL, NULL, NULL},
};
