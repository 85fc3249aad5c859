/* t_management.c: §Content Management: deleting tags, manifests, blobs
 * (end-9, end-10). */
#include <string.h>

#include "fixtures.h"

static const char *const accept_all[] = {ACCEPT_ALL, NULL};

static struct ct_resp *get_manifest(struct ct *t, const char *repo,
				    const char *ref)
{
	return ct_do(t, "GET", ct_printf(t, "/v2/%s/manifests/%s", repo, ref),
		     accept_all, NULL, 0, 0);
}

static struct ct_resp *del(struct ct *t, const char *what, const char *repo,
			   const char *ref)
{
	return ct_do(t, "DELETE", ct_printf(t, "/v2/%s/%s/%s", repo, what, ref),
		     NULL, NULL, 0, 0);
}

static bool tag_listed(struct ct *t, const char *repo, const char *tag)
{
	struct ct_resp *r = ct_get(t, ct_printf(t, "/v2/%s/tags/list", repo));
	json_t *j, *tags, *v;
	size_t i;

	if (r->status != 200)
		return false;
	j = json_loadb(r->body, r->len, 0, NULL);
	ct_keep(t, j, (void (*)(void *))json_decref);
	tags = json_object_get(j, "tags");
	json_array_foreach(tags, i, v)
		if (!strcmp(json_string_value(v) ? json_string_value(v) : "",
			    tag))
			return true;
	return false;
}

static void t_delete_tag(struct ct *t)
{
	const char *repo = fx_repo(t, "del-tag");
	char *gone = fx_tag(t, "gone"), *kept = fx_tag(t, "kept");
	struct fx_manifest m;

	CT_TRY(fx_push_image(t, repo, gone, NULL, &m));
	CT_TRY(fx_put_manifest(t, repo, kept, &m));
	CT_TRY(fx_delete_status(t, del(t, "manifests", repo, gone), "tag"));
	CT_TRY(ct_error(t, get_manifest(t, repo, gone), "404",
			"MANIFEST_UNKNOWN", false));
	CT_TRY(ct_status(t, get_manifest(t, repo, kept), "200"));
	CT_TRY(ct_status(t, get_manifest(t, repo, m.digest), "200"));
	CT_CHECK(t, !tag_listed(t, repo, gone), "deleted tag still listed");
	CT_CHECK(t, tag_listed(t, repo, kept), "other tag no longer listed");
}

static void t_delete_manifest(struct ct *t)
{
	const char *repo = fx_repo(t, "del-manifest");
	char *tag = fx_tag(t, "doomed");
	struct fx_manifest m;

	CT_TRY(fx_push_image(t, repo, tag, NULL, &m));
	CT_TRY(fx_delete_status(t, del(t, "manifests", repo, m.digest),
				"manifest"));
	CT_TRY(ct_error(t, get_manifest(t, repo, m.digest), "404",
			"MANIFEST_UNKNOWN", false));
	/* "and any tag pointing to that digest will return a 404" */
	CT_TRY(ct_error(t, get_manifest(t, repo, tag), "404",
			"MANIFEST_UNKNOWN", false));
	CT_TRY(ct_status(
		t,
		ct_head(t, ct_printf(t, "/v2/%s/manifests/%s", repo, m.digest)),
		"404"));
	CT_CHECK(t, !tag_listed(t, repo, tag),
		 "tag of a deleted manifest still listed");
}

static void t_delete_index(struct ct *t)
{
	const char *repo = fx_repo(t, "del-index");
	struct fx_manifest a, b, idx;
	const struct fx_manifest *kids[] = {&a, &b};

	CT_TRY(fx_push_image(t, repo, NULL, NULL, &a));
	CT_TRY(fx_push_image(t, repo, NULL, NULL, &b));
	fx_make_index(t, kids, 2, NULL, &idx);
	CT_TRY(fx_put_manifest(t, repo, fx_tag(t, "idx"), &idx));
	CT_TRY(fx_delete_status(t, del(t, "manifests", repo, idx.digest),
				"manifest"));
	CT_TRY(ct_status(t, get_manifest(t, repo, idx.digest), "404"));
	/* The children are manifests of their own. */
	CT_TRY(ct_status(t, get_manifest(t, repo, a.digest), "200"));
}

static void t_delete_manifest_unknown(struct ct *t)
{
	struct ct_resp *r =
		del(t, "manifests", ct_cfg(t)->ns, ct_digest_unknown(t));

	if (r->status == 400 || r->status == 405) {
		CT_TRY(fx_delete_status(t, r, "manifest"));
		return;
	}
	CT_TRY(ct_error(t, r, "404", "MANIFEST_UNKNOWN", false));
}

static void t_delete_manifest_unknown_repo(struct ct *t)
{
	struct ct_resp *r = del(t, "manifests", fx_repo(t, "never-pushed"),
				ct_digest_unknown(t));

	if (r->status == 400 || r->status == 405) {
		CT_TRY(fx_delete_status(t, r, "manifest"));
		return;
	}
	CT_TRY(ct_error(t, r, "404", "NAME_UNKNOWN|MANIFEST_UNKNOWN", false));
}

static void t_delete_blob(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	struct fx_blob b;
	char *url;

	CT_TRY(fx_push_random(t, ns, 400, &b));
	CT_TRY(fx_delete_status(t, del(t, "blobs", ns, b.digest), "blob"));
	url = ct_printf(t, "/v2/%s/blobs/%s", ns, b.digest);
	CT_TRY(ct_error(t, ct_get(t, url), "404", "BLOB_UNKNOWN", false));
	CT_TRY(ct_status(t, ct_head(t, url), "404"));
}

static void t_delete_blob_unknown(struct ct *t)
{
	struct ct_resp *r =
		del(t, "blobs", ct_cfg(t)->ns, ct_digest_unknown(t));

	if (r->status == 400 || r->status == 405) {
		CT_TRY(fx_delete_status(t, r, "blob"));
		return;
	}
	CT_TRY(ct_error(t, r, "404", "BLOB_UNKNOWN", false));
}

static void t_delete_blob_other_repo(struct ct *t)
{
	const struct ct_cfg *c = ct_cfg(t);
	struct fx_blob b;
	struct ct_resp *r;

	/* The same blob in two repositories: deleting it from one leaves
	 * the other's. */
	CT_TRY(fx_push_random(t, c->ns, 400, &b));
	CT_TRY(fx_push_blob(t, c->ns2, b.data, b.size, "sha256", NULL));
	r = del(t, "blobs", c->ns2, b.digest);
	CT_TRY(fx_delete_status(t, r, "blob"));
	CT_TRY(ct_status(
		t,
		ct_head(t, ct_printf(t, "/v2/%s/blobs/%s", c->ns2, b.digest)),
		"404"));
	CT_TRY(fx_check_blob(t, c->ns, b.digest, b.data, b.size));
}

const struct ct_test ct_management_tests[] = {
	{"management/delete-tag",
	 "§Deleting tags, end-9: 202, then GET of the tag is 404; other tags "
	 "and the digest stay (400/405 if disabled)",
	 t_delete_tag},
	{"management/delete-manifest",
	 "§Deleting Manifests, end-9: 202, then the digest and any tag "
	 "pointing to it are 404",
	 t_delete_manifest},
	{"management/delete-index",
	 "§Deleting Manifests: deleting an index leaves the manifests it "
	 "lists",
	 t_delete_index},
	{"management/delete-manifest-unknown",
	 "§Deleting Manifests, end-9: unknown manifest 404; §Error Codes "
	 "MANIFEST_UNKNOWN",
	 t_delete_manifest_unknown},
	{"management/delete-manifest-unknown-repo",
	 "§Deleting Manifests: if the repository does not exist, MUST be 404",
	 t_delete_manifest_unknown_repo},
	{"management/delete-blob",
	 "§Deleting Blobs, end-10: 202, then GET and HEAD are 404",
	 t_delete_blob},
	{"management/delete-blob-unknown",
	 "§Deleting Blobs: if the blob is not found, MUST be 404; §Error "
	 "Codes BLOB_UNKNOWN",
	 t_delete_blob_unknown},
	{"management/delete-blob-one-repo",
	 "§Deleting Blobs, end-10: deletes from <name> only; the same blob "
	 "in another repository stays",
	 t_delete_blob_other_repo},
	{NULL, NULL, NULL},
};
