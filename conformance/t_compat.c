/* t_compat.c: what real clients rely on beyond the spec's MUSTs: the
 * Docker headers, Content-Length on HEAD, Location forms, Docker media
 * types, Expect: 100-continue, §Warnings. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fixtures.h"

static const char *const accept_all[] = {ACCEPT_ALL, NULL};
static const char *const octet[] = {"Content-Type: application/octet-stream",
				    NULL};

static void t_api_version(struct ct *t)
{
	struct ct_resp *r = ct_get(t, "/v2/");
	const char *v;

	CT_TRY(ct_status(t, r, "200"));
	v = ct_hdr(r, "Docker-Distribution-API-Version");
	CT_CHECK(t, v && !strcmp(v, "registry/2.0"),
		 "Docker-Distribution-API-Version '%s', want 'registry/2.0'",
		 v ? v : "(none)");
}

/* Docker-Content-Digest is present and is the digest of `data`. */
static int dcd_is(struct ct *t, const struct ct_resp *r, const char *want)
{
	const char *dcd = ct_hdr(r, "Docker-Content-Digest");

	if (!dcd)
		return ct_fail(t, "%s -> %ld: no Docker-Content-Digest",
			       ct_what(t, r), r->status);
	if (strcmp(dcd, want) != 0)
		return ct_fail(t, "%s: Docker-Content-Digest %s, want %s",
			       ct_what(t, r), dcd, want);
	return 0;
}

static void manifest_dcd(struct ct *t, const char *method, bool by_tag)
{
	const struct fx_base *b = fx_base_image(t);
	struct ct_resp *r;

	if (!b)
		return;
	r = ct_do(t, method,
		  ct_printf(t, "/v2/%s/manifests/%s", ct_cfg(t)->ns,
			    by_tag ? b->tag : b->manifest.digest),
		  accept_all, NULL, 0, 0);
	CT_TRY(ct_status(t, r, "200"));
	CT_TRY(dcd_is(t, r, b->manifest.digest));
}

static void t_dcd_manifest_get(struct ct *t)
{
	manifest_dcd(t, "GET", true);
	manifest_dcd(t, "GET", false);
}

static void t_dcd_manifest_head(struct ct *t)
{
	manifest_dcd(t, "HEAD", true);
	manifest_dcd(t, "HEAD", false);
}

static void blob_dcd(struct ct *t, const char *method)
{
	const struct fx_base *b = fx_base_image(t);
	struct ct_resp *r;

	if (!b)
		return;
	r = ct_do(t, method,
		  ct_printf(t, "/v2/%s/blobs/%s", ct_cfg(t)->ns,
			    b->layer[0].digest),
		  NULL, NULL, 0, 0);
	CT_TRY(ct_status(t, r, "200"));
	CT_TRY(dcd_is(t, r, b->layer[0].digest));
}

static void t_dcd_blob_get(struct ct *t)
{
	blob_dcd(t, "GET");
}

static void t_dcd_blob_head(struct ct *t)
{
	blob_dcd(t, "HEAD");
}

static void t_dcd_blob_put(struct ct *t)
{
	const unsigned char *data = ct_random(t, 100);
	char *dg = ct_digest_s(t, "sha256", data, 100);
	char *loc = fx_start_upload(t, ct_cfg(t)->ns);
	struct ct_resp *r;

	CT_CHECK(t, loc, "no upload");
	r = fx_close(t, loc, dg, data, 0, 100, false);
	CT_TRY(ct_status(t, r, "201"));
	CT_TRY(dcd_is(t, r, dg));
}

static void t_dcd_manifest_put(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	struct fx_manifest m;
	const char *hdrs[] = {"Content-Type: " MT_OCI_MANIFEST, NULL};
	struct ct_resp *r;

	CT_TRY(fx_make_image(t, ns, NULL, false, &m));
	r = ct_do(t, "PUT",
		  ct_printf(t, "/v2/%s/manifests/%s", ns, fx_tag(t, "dcd")),
		  hdrs, m.body, m.len, 0);
	CT_TRY(ct_status(t, r, "201"));
	CT_TRY(dcd_is(t, r, m.digest));
}

static void t_dcd_mount(struct ct *t)
{
	const struct ct_cfg *c = ct_cfg(t);
	struct fx_blob b;
	struct ct_resp *r;

	CT_TRY(fx_push_random(t, c->ns2, 100, &b));
	r = ct_do(t, "POST",
		  ct_printf(t, "/v2/%s/blobs/uploads/?mount=%s&from=%s", c->ns,
			    b.digest, c->ns2),
		  NULL, NULL, 0, 0);
	CT_TRY(ct_status(t, r, "201"));
	CT_TRY(dcd_is(t, r, b.digest));
}

static int content_length_is(struct ct *t, const struct ct_resp *r, size_t n)
{
	const char *cl = ct_hdr(r, "Content-Length");
	char *want = ct_printf(t, "%zu", n);

	if (!cl || strcmp(cl, want) != 0)
		return ct_fail(t, "%s: Content-Length '%s', want %s",
			       ct_what(t, r), cl ? cl : "(none)", want);
	return 0;
}

static void t_head_content_length(struct ct *t)
{
	const struct fx_base *b = fx_base_image(t);
	struct ct_resp *r;

	if (!b)
		return;
	r = ct_do(t, "HEAD",
		  ct_printf(t, "/v2/%s/manifests/%s", ct_cfg(t)->ns, b->tag),
		  accept_all, NULL, 0, 0);
	CT_TRY(ct_status(t, r, "200"));
	CT_TRY(content_length_is(t, r, b->manifest.len));
	r = ct_head(t, ct_printf(t, "/v2/%s/blobs/%s", ct_cfg(t)->ns,
				 b->layer[1].digest));
	CT_TRY(ct_status(t, r, "200"));
	CT_TRY(content_length_is(t, r, b->layer[1].size));
}

static void t_head_content_type(struct ct *t)
{
	const struct fx_base *b = fx_base_image(t);
	struct ct_resp *r;
	const char *ctype;

	if (!b)
		return;
	r = ct_do(t, "HEAD",
		  ct_printf(t, "/v2/%s/manifests/%s", ct_cfg(t)->ns, b->tag),
		  accept_all, NULL, 0, 0);
	CT_TRY(ct_status(t, r, "200"));
	ctype = ct_hdr(r, "Content-Type");
	CT_CHECK(t,
		 ctype && !strncmp(ctype, MT_OCI_MANIFEST,
				   strlen(MT_OCI_MANIFEST)),
		 "HEAD Content-Type '%s', want %s", ctype ? ctype : "(none)",
		 MT_OCI_MANIFEST);
}

/* Every Location of a push is absolute ("http://...") or a reference that
 * resolves against the request URL ("/v2/..."); both work. */
static void t_location_forms(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	const unsigned char *data = ct_random(t, 200);
	char *dg = ct_digest_s(t, "sha256", data, 200), *loc;
	struct ct_resp *r;
	const char *raw[3];

	r = ct_do(t, "POST", ct_printf(t, "/v2/%s/blobs/uploads/", ns), NULL,
		  NULL, 0, 0);
	CT_TRY(ct_status(t, r, "202"));
	raw[0] = ct_hdr(r, "Location");
	CT_CHECK(t, (loc = ct_location(t, r)) != NULL, "POST Location");
	r = fx_patch(t, loc, data, 0, 100);
	raw[1] = ct_hdr(r, "Location");
	CT_CHECK(t, (loc = fx_chunk_ok(t, r, 99)) != NULL, "PATCH Location");
	r = fx_close(t, loc, dg, data, 100, 100, true);
	CT_TRY(ct_status(t, r, "201"));
	raw[2] = ct_hdr(r, "Location");
	CT_CHECK(t, (loc = ct_location(t, r)) != NULL, "PUT Location");
	for (int i = 0; i < 3; i++) {
		bool abs = !strncmp(raw[i], "http://", 7) ||
			   !strncmp(raw[i], "https://", 8);

		CT_CHECK(t, abs || raw[i][0] == '/',
			 "Location '%s' is neither absolute nor an absolute "
			 "path (allowed, but unusual)",
			 raw[i]);
		ct_note(t, "Location form: %s", abs ? "absolute" : "relative");
	}
	r = ct_get(t, loc);
	CT_TRY(ct_status(t, r, "200"));
	CT_CHECK(t, r->len == 200 && !memcmp(r->body, data, 200),
		 "blob Location gives other bytes");
}

static void t_upload_range(struct ct *t)
{
	const unsigned char *data = ct_random(t, 4096);
	char *loc = fx_start_upload(t, ct_cfg(t)->ns);
	struct ct_resp *r;
	const char *range;

	CT_CHECK(t, loc, "no upload");
	r = ct_do(t, "PATCH", loc, octet, data, 4096, CT_STREAM);
	CT_CHECK(t, (loc = fx_chunk_ok(t, r, 4095)) != NULL, "PATCH");
	r = ct_get(t, loc);
	CT_TRY(ct_status(t, r, "204"));
	range = ct_hdr(r, "Range");
	CT_CHECK(t, range && !strcmp(range, "0-4095"),
		 "status Range '%s', want 0-4095", range ? range : "(none)");
	/* Leaves nothing behind; the result is not what this checks. */
	(void)ct_do(t, "DELETE", loc, NULL, NULL, 0, 0);
}

static void t_chunk_min_length(struct ct *t)
{
	static const char *const zero[] = {"Content-Length: 0", NULL};
	struct ct_resp *r = ct_do(
		t, "POST", ct_printf(t, "/v2/%s/blobs/uploads/", ct_cfg(t)->ns),
		zero, NULL, 0, 0);
	const char *min;
	char *end;

	CT_TRY(ct_status(t, r, "202"));
	min = ct_hdr(r, "OCI-Chunk-Min-Length");
	if (!min) {
		ct_note(t, "no OCI-Chunk-Min-Length: any chunk size");
		return;
	}
	CT_CHECK(t, strtoull(min, &end, 10) > 0 && *end == '\0',
		 "OCI-Chunk-Min-Length '%s' is not a positive size", min);
}

static void t_docker_schema2(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	struct fx_blob config, layer;
	struct fx_manifest m;
	const char *hdrs[] = {"Accept: " MT_DOCKER_MANIFEST, NULL};
	struct ct_resp *r;
	json_t *j;
	char *text, *tag = fx_tag(t, "docker");
	const char *ctype;

	CT_TRY(fx_push_parts(t, ns, &config, &layer));
	j = ct_jkeep(t, json_pack("{s:i, s:s, s:o, s:[o]}", "schemaVersion", 2,
				  "mediaType", MT_DOCKER_MANIFEST, "config",
				  fx_blob_desc(MT_DOCKER_CONFIG, &config),
				  "layers",
				  fx_blob_desc(MT_DOCKER_LAYER, &layer)));
	text = ct_dump(t, j);
	fx_manifest_set(t, &m, MT_DOCKER_MANIFEST, text, strlen(text));
	CT_TRY(fx_put_manifest(t, ns, tag, &m));
	r = ct_do(t, "GET", ct_printf(t, "/v2/%s/manifests/%s", ns, tag), hdrs,
		  NULL, 0, 0);
	CT_TRY(ct_status(t, r, "200"));
	ctype = ct_hdr(r, "Content-Type");
	CT_CHECK(t, ctype && !strcmp(ctype, MT_DOCKER_MANIFEST),
		 "Content-Type '%s', want %s", ctype ? ctype : "(none)",
		 MT_DOCKER_MANIFEST);
	CT_CHECK(t, r->len == m.len && !memcmp(r->body, m.body, m.len),
		 "body is not the manifest pushed");
	CT_TRY(dcd_is(t, r, m.digest));
}

static void t_docker_list(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	struct fx_manifest img[2], list;
	const char *hdrs[] = {"Accept: " MT_DOCKER_LIST ", " MT_DOCKER_MANIFEST,
			      NULL};
	struct ct_resp *r;
	json_t *arr = json_array(), *j;
	char *text, *tag = fx_tag(t, "docker-list");
	const char *ctype;
	static const char *const arch[] = {"amd64", "arm64"};

	for (int i = 0; i < 2; i++) {
		struct fx_blob config, layer;
		json_t *mj;
		char *mt;

		if (fx_push_parts(t, ns, &config, &layer) < 0)
			break;
		mj = ct_jkeep(t,
			      json_pack("{s:i, s:s, s:o, s:[o]}",
					"schemaVersion", 2, "mediaType",
					MT_DOCKER_MANIFEST, "config",
					fx_blob_desc(MT_DOCKER_CONFIG, &config),
					"layers",
					fx_blob_desc(MT_DOCKER_LAYER, &layer)));
		mt = ct_dump(t, mj);
		fx_manifest_set(t, &img[i], MT_DOCKER_MANIFEST, mt, strlen(mt));
		if (fx_put_manifest(t, ns, NULL, &img[i]) < 0)
			break;
		mj = fx_manifest_desc(&img[i]);
		json_object_set_new(mj, "platform",
				    json_pack("{s:s, s:s}", "architecture",
					      arch[i], "os", "linux"));
		json_array_append_new(arr, mj);
	}
	j = ct_jkeep(t,
		     json_pack("{s:i, s:s, s:o}", "schemaVersion", 2,
			       "mediaType", MT_DOCKER_LIST, "manifests", arr));
	if (ct_failed(t))
		return;
	text = ct_dump(t, j);
	fx_manifest_set(t, &list, MT_DOCKER_LIST, text, strlen(text));
	CT_TRY(fx_put_manifest(t, ns, tag, &list));
	r = ct_do(t, "GET", ct_printf(t, "/v2/%s/manifests/%s", ns, tag), hdrs,
		  NULL, 0, 0);
	CT_TRY(ct_status(t, r, "200"));
	ctype = ct_hdr(r, "Content-Type");
	CT_CHECK(t, ctype && !strcmp(ctype, MT_DOCKER_LIST),
		 "Content-Type '%s', want %s", ctype ? ctype : "(none)",
		 MT_DOCKER_LIST);
	CT_CHECK(t, r->len == list.len && !memcmp(r->body, list.body, list.len),
		 "body is not the list pushed");
}

static void t_expect_continue(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	size_t n = 3u << 20;
	const unsigned char *data = ct_random(t, n);
	char *dg = ct_digest_s(t, "sha256", data, n);
	char *loc = fx_start_upload(t, ns);
	struct ct_resp *r;

	CT_CHECK(t, loc, "no upload");
	r = ct_do(t, "PUT", ct_url_param(t, loc, ct_printf(t, "digest=%s", dg)),
		  octet, data, n, CT_EXPECT);
	CT_TRY(ct_status(t, r, "201"));
	CT_TRY(fx_check_blob(t, ns, dg, data, n));
}

/* §Warnings: "299 - "text"", nothing else, at most 4096 bytes. */
static void t_warnings(struct ct *t)
{
	const struct fx_base *b = fx_base_image(t);
	struct ct_resp *rs[3];
	size_t total = 0;

	if (!b)
		return;
	rs[0] = ct_get(t, "/v2/");
	rs[1] = ct_do(
		t, "GET",
		ct_printf(t, "/v2/%s/manifests/%s", ct_cfg(t)->ns, b->tag),
		accept_all, NULL, 0, 0);
	rs[2] = ct_get(t, ct_printf(t, "/v2/%s/tags/list", ct_cfg(t)->ns));
	for (int i = 0; i < 3; i++) {
		for (size_t h = 0; h < rs[i]->nhdrs; h++) {
			const char *v = rs[i]->hdrs[h].value;
			size_t n = strlen(v);

			if (strcasecmp(rs[i]->hdrs[h].name, "Warning") != 0)
				continue;
			total += n;
			CT_CHECK(t,
				 n > 8 && !strncmp(v, "299 - \"", 7) &&
					 v[n - 1] == '"',
				 "Warning '%s': MUST be 299 - \"...\" without "
				 "a date",
				 v);
		}
	}
	CT_CHECK(t, total <= 4096, "%zu bytes of Warning headers (max 4096)",
		 total);
}

const struct ct_test ct_compat_tests[] = {
	{"compat/api-version-header",
	 "client behaviour (docker): /v2/ sends Docker-Distribution-API-"
	 "Version: registry/2.0 (§Legacy Docker support HTTP headers)",
	 t_api_version},
	{"compat/dcd-manifest-get",
	 "client behaviour: Docker-Content-Digest on manifest GET (by tag "
	 "and digest) = digest of the body (§Pulling manifests SHOULD)",
	 t_dcd_manifest_get},
	{"compat/dcd-manifest-head",
	 "client behaviour (docker/containerd resolve tags by HEAD): "
	 "Docker-Content-Digest on manifest HEAD (§Checking if content "
	 "exists SHOULD)",
	 t_dcd_manifest_head},
	{"compat/dcd-blob-get",
	 "client behaviour: Docker-Content-Digest on blob GET (§Pulling "
	 "blobs SHOULD)",
	 t_dcd_blob_get},
	{"compat/dcd-blob-head",
	 "client behaviour: Docker-Content-Digest on blob HEAD (§Checking if "
	 "content exists SHOULD)",
	 t_dcd_blob_head},
	{"compat/dcd-blob-put",
	 "client behaviour: Docker-Content-Digest on the 201 of a blob "
	 "upload (Docker Registry API V2)",
	 t_dcd_blob_put},
	{"compat/dcd-manifest-put",
	 "client behaviour: Docker-Content-Digest on manifest PUT (§Pushing "
	 "Manifests: MUST equal the digest)",
	 t_dcd_manifest_put},
	{"compat/dcd-mount",
	 "client behaviour: Docker-Content-Digest on the 201 of a mount "
	 "(§Mounting a blob)",
	 t_dcd_mount},
	{"compat/head-content-length",
	 "§Checking if content exists: HEAD SHOULD carry Content-Length (the "
	 "size) for manifests and blobs",
	 t_head_content_length},
	{"compat/head-content-type",
	 "client behaviour (containerd takes the media type from HEAD): "
	 "manifest HEAD Content-Type",
	 t_head_content_type},
	{"compat/location-forms",
	 "§POST then PUT: Location MAY be absolute or relative; every "
	 "Location of a push resolves and works",
	 t_location_forms},
	{"compat/upload-range",
	 "client behaviour: Range on upload replies (PATCH 202 and status "
	 "204) after a streamed PATCH",
	 t_upload_range},
	{"compat/chunk-min-length",
	 "§Pushing a blob in chunks: OCI-Chunk-Min-Length, if sent, is a "
	 "size in bytes",
	 t_chunk_min_length},
	{"compat/docker-schema2",
	 "client behaviour (docker push): Docker Image Manifest V2 Schema 2 "
	 "stored and served with its media type",
	 t_docker_schema2},
	{"compat/docker-manifest-list",
	 "client behaviour (docker buildx): Docker manifest list stored and "
	 "served with its media type",
	 t_docker_list},
	{"compat/expect-100-continue",
	 "client behaviour (curl-based clients): a 3 MiB PUT with Expect: "
	 "100-continue (RFC 9110 §10.1.1)",
	 t_expect_continue},
	{"compat/warnings",
	 "§Warnings: Warning headers, if any, are 299 - \"text\", at most "
	 "4096 bytes",
	 t_warnings},
	{NULL, NULL, NULL},
};
