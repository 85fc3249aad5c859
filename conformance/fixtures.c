/* fixtures.c: pushing blobs, images and indexes for the tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct_int.h"
#include "fixtures.h"

char *fx_repo(struct ct *t, const char *what)
{
	return ct_printf(t, "%s-%s-%s", ct_cfg(t)->ns, ct_cfg(t)->run, what);
}

char *fx_tag(struct ct *t, const char *what)
{
	return ct_printf(t, "%s-%s", ct_cfg(t)->run, what);
}

static const char *const octet[] = {"Content-Type: application/octet-stream",
				    NULL};

int fx_push_blob(struct ct *t, const char *repo, const void *data, size_t len,
		 const char *alg, char *digest_out)
{
	char dg[CT_DIGEST_MAX];
	struct ct_resp *r;
	char *loc;
	const char *dcd;

	ct_digest(alg, data, len, dg);
	r = ct_do(t, "POST", ct_printf(t, "/v2/%s/blobs/uploads/", repo), NULL,
		  NULL, 0, 0);
	if (ct_status(t, r, "202") < 0 || !(loc = ct_location(t, r)))
		return -1;
	r = ct_do(t, "PUT", ct_url_param(t, loc, ct_printf(t, "digest=%s", dg)),
		  octet, data, len, 0);
	if (ct_status(t, r, "201") < 0 || !ct_location(t, r))
		return -1;
	dcd = ct_hdr(r, "Docker-Content-Digest");
	if (dcd && !strcmp(alg, "sha256") && strcmp(dcd, dg) != 0)
		return ct_fail(t,
			       "blob PUT: Docker-Content-Digest %s, pushed %s",
			       dcd, dg);
	if (digest_out)
		memcpy(digest_out, dg, CT_DIGEST_MAX);
	return 0;
}

int fx_push_random(struct ct *t, const char *repo, size_t n,
		   struct fx_blob *out)
{
	out->data = ct_random(t, n);
	out->size = n;
	return fx_push_blob(t, repo, out->data, n, "sha256", out->digest);
}

char *fx_start_upload(struct ct *t, const char *repo)
{
	static const char *const zero[] = {"Content-Length: 0", NULL};
	struct ct_resp *r =
		ct_do(t, "POST", ct_printf(t, "/v2/%s/blobs/uploads/", repo),
		      zero, NULL, 0, 0);

	if (ct_status(t, r, "202") < 0)
		return NULL;
	return ct_location(t, r);
}

struct ct_resp *fx_patch(struct ct *t, const char *loc,
			 const unsigned char *data, size_t off, size_t len)
{
	const char *hdrs[] = {
		"Content-Type: application/octet-stream",
		ct_printf(t, "Content-Range: %zu-%zu", off, off + len - 1),
		NULL};

	return ct_do(t, "PATCH", loc, hdrs, data + off, len, 0);
}

char *fx_chunk_ok(struct ct *t, const struct ct_resp *r, size_t end)
{
	const char *range;
	char *want;

	if (ct_status(t, r, "202") < 0)
		return NULL;
	range = ct_hdr(r, "Range");
	want = ct_printf(t, "0-%zu", end);
	if (!range || strcmp(range, want) != 0) {
		ct_fail(t, "%s: Range '%s', want '%s'", ct_what(t, r),
			range ? range : "(none)", want);
		return NULL;
	}
	return ct_location(t, r);
}

struct ct_resp *fx_close(struct ct *t, const char *loc, const char *digest,
			 const unsigned char *data, size_t off, size_t len,
			 bool range)
{
	const char *hdrs[3] = {NULL, NULL, NULL};

	if (len > 0) {
		hdrs[0] = "Content-Type: application/octet-stream";
		if (range)
			hdrs[1] = ct_printf(t, "Content-Range: %zu-%zu", off,
					    off + len - 1);
	}
	return ct_do(t, "PUT",
		     ct_url_param(t, loc, ct_printf(t, "digest=%s", digest)),
		     hdrs, len ? data + off : NULL, len, 0);
}

int fx_check_blob(struct ct *t, const char *repo, const char *digest,
		  const void *data, size_t len)
{
	struct ct_resp *r =
		ct_get(t, ct_printf(t, "/v2/%s/blobs/%s", repo, digest));

	if (ct_status(t, r, "200") < 0)
		return -1;
	if (r->len != len || (len && memcmp(r->body, data, len) != 0))
		return ct_fail(t, "%s: %zu bytes that are not the %zu pushed",
			       ct_what(t, r), r->len, len);
	return 0;
}

json_t *fx_desc(const char *media_type, const char *digest, size_t size)
{
	return json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest",
			 digest, "size", (json_int_t)size);
}

json_t *fx_blob_desc(const char *media_type, const struct fx_blob *b)
{
	return fx_desc(media_type, b->digest, b->size);
}

json_t *fx_manifest_desc(const struct fx_manifest *m)
{
	return fx_desc(m->media_type, m->digest, m->len);
}

void fx_manifest_set(struct ct *t, struct fx_manifest *m,
		     const char *media_type, const char *body, size_t len)
{
	m->media_type = media_type;
	m->body = ct_keep(t, ct_xmalloc(len + 1), free);
	memcpy(m->body, body, len);
	m->body[len] = '\0';
	m->len = len;
	ct_digest("sha256", body, len, m->digest);
}

int fx_put_manifest(struct ct *t, const char *repo, const char *ref,
		    const struct fx_manifest *m)
{
	const char *hdrs[] = {ct_printf(t, "Content-Type: %s", m->media_type),
			      NULL};
	struct ct_resp *r;
	const char *dcd;

	r = ct_do(t, "PUT",
		  ct_printf(t, "/v2/%s/manifests/%s", repo,
			    ref ? ref : m->digest),
		  hdrs, m->body, m->len, 0);
	if (ct_status(t, r, "201") < 0 || !ct_location(t, r))
		return -1;
	dcd = ct_hdr(r, "Docker-Content-Digest");
	if (dcd && strcmp(dcd, m->digest) != 0)
		return ct_fail(t,
			       "manifest PUT: Docker-Content-Digest %s, "
			       "but the manifest's digest is %s",
			       dcd, m->digest);
	return 0;
}

/* A small, unique image config: a nonce keeps digests apart per test. */
static char *make_config(struct ct *t, const struct fx_blob *layer)
{
	const unsigned char *nonce = ct_random(t, 8);
	char diff[CT_DIGEST_MAX];

	ct_digest("sha256", layer->data, layer->size, diff);
	return ct_printf(t,
			 "{\"architecture\":\"amd64\",\"os\":\"linux\","
			 "\"config\":{\"Labels\":{\"nonce\":\"%02x%02x%02x%02x"
			 "%02x%02x%02x%02x\"}},\"rootfs\":{\"type\":\"layers\","
			 "\"diff_ids\":[\"%s\"]}}",
			 nonce[0], nonce[1], nonce[2], nonce[3], nonce[4],
			 nonce[5], nonce[6], nonce[7], diff);
}

int fx_push_parts(struct ct *t, const char *repo, struct fx_blob *config,
		  struct fx_blob *layer)
{
	char *text;

	if (fx_push_random(t, repo, 512, layer) < 0)
		return -1;
	text = make_config(t, layer);
	config->data = (const unsigned char *)text;
	config->size = strlen(text);
	return fx_push_blob(t, repo, config->data, config->size, "sha256",
			    config->digest);
}

int fx_make_image(struct ct *t, const char *repo, json_t *extra,
		  bool artifact_config, struct fx_manifest *out)
{
	struct fx_blob layer, config;
	json_t *m = NULL;
	char *text;
	int ret = -1;

	if (artifact_config) {
		/* The empty descriptor of image-spec manifest.md. */
		if (fx_push_random(t, repo, 512, &layer) < 0)
			goto out;
		config.data = (const unsigned char *)"{}";
		config.size = 2;
		if (fx_push_blob(t, repo, "{}", 2, "sha256", config.digest) < 0)
			goto out;
	} else if (fx_push_parts(t, repo, &config, &layer) < 0) {
		goto out;
	}
	m = json_pack(
		"{s:i, s:s, s:o, s:[o]}", "schemaVersion", 2, "mediaType",
		MT_OCI_MANIFEST, "config",
		fx_blob_desc(artifact_config ? MT_OCI_EMPTY : MT_OCI_CONFIG,
			     &config),
		"layers", fx_blob_desc(MT_OCI_LAYER, &layer));
	if (!m)
		abort();
	if (extra)
		json_object_update(m, extra);
	text = ct_dump(t, m);
	fx_manifest_set(t, out, MT_OCI_MANIFEST, text, strlen(text));
	ret = 0;
out:
	json_decref(m);
	json_decref(extra);
	return ret;
}

int fx_push_image(struct ct *t, const char *repo, const char *ref,
		  json_t *extra, struct fx_manifest *out)
{
	if (fx_make_image(t, repo, extra, false, out) < 0)
		return -1;
	return fx_put_manifest(t, repo, ref, out);
}

void fx_make_index(struct ct *t, const struct fx_manifest *const *children,
		   size_t n, json_t *extra, struct fx_manifest *out)
{
	json_t *list = json_array(), *idx;
	static const char *const arch[] = {"amd64", "arm64", "s390x",
					   "ppc64le"};
	char *text;

	for (size_t i = 0; i < n; i++) {
		json_t *d = fx_manifest_desc(children[i]);

		if (!strcmp(children[i]->media_type, MT_OCI_MANIFEST))
			json_object_set_new(
				d, "platform",
				json_pack("{s:s, s:s}", "architecture",
					  arch[i % 4], "os", "linux"));
		json_array_append_new(list, d);
	}
	idx = json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType",
			MT_OCI_INDEX, "manifests", list);
	if (!idx)
		abort();
	if (extra) {
		json_object_update(idx, extra);
		json_decref(extra);
	}
	text = ct_dump(t, idx);
	json_decref(idx);
	fx_manifest_set(t, out, MT_OCI_INDEX, text, strlen(text));
}

/* The shared image outlives the test that pushed it. */
static struct {
	bool tried;
	char *error;
	struct fx_base base;
	unsigned char *data[3];
} base_state;

static void copy_blob(struct fx_blob *dst, unsigned char **store,
		      const struct fx_blob *src)
{
	*store = ct_xmalloc(src->size ? src->size : 1);
	memcpy(*store, src->data, src->size);
	memcpy(dst->digest, src->digest, CT_DIGEST_MAX);
	dst->data = *store;
	dst->size = src->size;
}

static int push_base(struct ct *t, struct fx_base *b)
{
	const struct ct_cfg *cfg = ct_cfg(t);
	struct fx_blob config, layer[2];
	struct fx_manifest m;
	json_t *j;
	char *text;

	if (fx_push_random(t, cfg->ns, 1024, &layer[0]) < 0 ||
	    fx_push_random(t, cfg->ns, 3000, &layer[1]) < 0)
		return -1;
	text = make_config(t, &layer[0]);
	config.data = (const unsigned char *)text;
	config.size = strlen(text);
	if (fx_push_blob(t, cfg->ns, config.data, config.size, "sha256",
			 config.digest) < 0)
		return -1;
	j = ct_jkeep(t,
		     json_pack("{s:i, s:s, s:o, s:[o,o], s:{s:s}}",
			       "schemaVersion", 2, "mediaType", MT_OCI_MANIFEST,
			       "config", fx_blob_desc(MT_OCI_CONFIG, &config),
			       "layers", fx_blob_desc(MT_OCI_LAYER, &layer[0]),
			       fx_blob_desc(MT_OCI_LAYER, &layer[1]),
			       "annotations", "org.example.fixture", "base"));
	text = ct_dump(t, j);
	fx_manifest_set(t, &m, MT_OCI_MANIFEST, text, strlen(text));
	if (fx_put_manifest(t, cfg->ns, fx_tag(t, "base"), &m) < 0)
		return -1;

	copy_blob(&b->config, &base_state.data[0], &config);
	copy_blob(&b->layer[0], &base_state.data[1], &layer[0]);
	copy_blob(&b->layer[1], &base_state.data[2], &layer[1]);
	b->manifest = m;
	b->manifest.body = ct_xstrdup(m.body);
	b->tag = ct_xstrdup(fx_tag(t, "base"));
	return 0;
}

const struct fx_base *fx_base_image(struct ct *t)
{
	if (!base_state.tried) {
		base_state.tried = true;
		if (push_base(t, &base_state.base) < 0)
			base_state.error = ct_xstrdup(t->msg ? t->msg : "?");
	}
	if (base_state.error) {
		ct_fail(t, "could not push the shared test image: %s",
			base_state.error);
		return NULL;
	}
	return &base_state.base;
}

void fx_cleanup(void)
{
	for (int i = 0; i < 3; i++)
		free(base_state.data[i]);
	free(base_state.base.manifest.body);
	free(base_state.base.tag);
	free(base_state.error);
}

int fx_delete_status(struct ct *t, const struct ct_resp *r, const char *what)
{
	if (r->status == 202)
		return 0;
	if ((r->status == 400 || r->status == 405) && !ct_cfg(t)->strict) {
		ct_skip(t,
			"%s deletion is disabled on this registry (%ld; "
			"§Content Management allows 400/405)",
			what, r->status);
		return -1;
	}
	return ct_status(t, r, "202");
}
