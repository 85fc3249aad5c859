/* t_pull.c: §Determining Support and §Pull (end-1, end-2, end-3). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fixtures.h"

static const char *const accept_all[] = {ACCEPT_ALL, NULL};

static void t_api_v2(struct ct *t)
{
	struct ct_resp *r = ct_get(t, "/v2/");

	CT_TRY(ct_status(t, r, "200"));
}

const struct ct_test ct_base_tests[] = {
	{"base/api-v2", "§Determining Support, end-1: GET /v2/ MUST be 200",
	 t_api_v2},
	{NULL, NULL, NULL},
};

static bool same_bytes(const struct ct_resp *r, const void *p, size_t n)
{
	return r->len == n && (n == 0 || !memcmp(r->body, p, n));
}

static void get_manifest(struct ct *t, bool by_digest)
{
	const struct fx_base *b = fx_base_image(t);
	struct ct_resp *r;

	if (!b)
		return;
	r = ct_do(t, "GET",
		  ct_printf(t, "/v2/%s/manifests/%s", ct_cfg(t)->ns,
			    by_digest ? b->manifest.digest : b->tag),
		  accept_all, NULL, 0, 0);
	CT_TRY(ct_status(t, r, "200"));
	CT_CHECK(t, same_bytes(r, b->manifest.body, b->manifest.len),
		 "%s: body (%zu bytes) differs from the pushed manifest "
		 "(%zu bytes)",
		 ct_what(t, r), r->len, b->manifest.len);
}

static void t_manifest_by_tag(struct ct *t)
{
	get_manifest(t, false);
}

static void t_manifest_by_digest(struct ct *t)
{
	get_manifest(t, true);
}

static void t_manifest_content_type(struct ct *t)
{
	const struct fx_base *b = fx_base_image(t);
	struct ct_resp *r;
	const char *ct;

	if (!b)
		return;
	r = ct_do(t, "GET",
		  ct_printf(t, "/v2/%s/manifests/%s", ct_cfg(t)->ns, b->tag),
		  accept_all, NULL, 0, 0);
	CT_TRY(ct_status(t, r, "200"));
	ct = ct_hdr(r, "Content-Type");
	CT_CHECK(t, ct && !strcmp(ct, MT_OCI_MANIFEST),
		 "Content-Type '%s', pushed as '%s' (and without parameters)",
		 ct ? ct : "(none)", MT_OCI_MANIFEST);
}

static void head_manifest(struct ct *t, bool by_digest)
{
	const struct fx_base *b = fx_base_image(t);
	struct ct_resp *r;

	if (!b)
		return;
	r = ct_do(t, "HEAD",
		  ct_printf(t, "/v2/%s/manifests/%s", ct_cfg(t)->ns,
			    by_digest ? b->manifest.digest : b->tag),
		  accept_all, NULL, 0, 0);
	CT_TRY(ct_status(t, r, "200"));
	CT_CHECK(t, r->len == 0, "HEAD returned a body of %zu bytes", r->len);
}

static void t_manifest_head_tag(struct ct *t)
{
	head_manifest(t, false);
}

static void t_manifest_head_digest(struct ct *t)
{
	head_manifest(t, true);
}

static void t_manifest_unknown_tag(struct ct *t)
{
	struct ct_resp *r = ct_do(t, "GET",
				  ct_printf(t, "/v2/%s/manifests/%s",
					    ct_cfg(t)->ns, fx_tag(t, "nope")),
				  accept_all, NULL, 0, 0);

	CT_TRY(ct_error(t, r, "404", "MANIFEST_UNKNOWN", false));
}

static void t_manifest_unknown_digest(struct ct *t)
{
	struct ct_resp *r =
		ct_do(t, "GET",
		      ct_printf(t, "/v2/%s/manifests/%s", ct_cfg(t)->ns,
				ct_digest_unknown(t)),
		      accept_all, NULL, 0, 0);

	CT_TRY(ct_error(t, r, "404", "MANIFEST_UNKNOWN", false));
}

static void t_manifest_head_unknown(struct ct *t)
{
	struct ct_resp *r = ct_do(t, "HEAD",
				  ct_printf(t, "/v2/%s/manifests/%s",
					    ct_cfg(t)->ns, fx_tag(t, "nope")),
				  accept_all, NULL, 0, 0);

	CT_TRY(ct_status(t, r, "404"));
}

static void t_manifest_unknown_repo(struct ct *t)
{
	struct ct_resp *r = ct_do(t, "GET",
				  ct_printf(t, "/v2/%s/manifests/latest",
					    fx_repo(t, "never-pushed")),
				  accept_all, NULL, 0, 0);

	CT_TRY(ct_error(t, r, "404", "NAME_UNKNOWN|MANIFEST_UNKNOWN", false));
}

static void t_manifest_other_repo(struct ct *t)
{
	struct fx_manifest m;
	struct ct_resp *r;

	CT_TRY(fx_push_image(t, ct_cfg(t)->ns2, NULL, NULL, &m));
	r = ct_do(t, "GET",
		  ct_printf(t, "/v2/%s/manifests/%s", ct_cfg(t)->ns, m.digest),
		  accept_all, NULL, 0, 0);
	CT_TRY(ct_error(t, r, "404", "MANIFEST_UNKNOWN", false));
}

static void t_manifest_without_accept(struct ct *t)
{
	const struct fx_base *b = fx_base_image(t);
	struct ct_resp *r;

	if (!b)
		return;
	r = ct_get(t, ct_printf(t, "/v2/%s/manifests/%s", ct_cfg(t)->ns,
				b->manifest.digest));
	CT_TRY(ct_status(t, r, "200"));
	CT_CHECK(t, same_bytes(r, b->manifest.body, b->manifest.len),
		 "body differs from the pushed manifest");
}

/* A reference that is no valid tag (a leading '.') names a manifest that
 * cannot exist: "not found", as the upstream conformance suite expects
 * (a PUT of one is a bad request, manifest/tag-bad-start).  --strict wants
 * the error body too. */
static void t_manifest_invalid_tag(struct ct *t)
{
	const char *url = ct_printf(
		t, "/v2/%s/manifests/.INVALID_MANIFEST_NAME", ct_cfg(t)->ns);
	struct ct_resp *r = ct_do(t, "GET", url, accept_all, NULL, 0, 0);

	CT_TRY(ct_error(t, r, "404", "MANIFEST_UNKNOWN", !ct_cfg(t)->strict));
	r = ct_do(t, "HEAD", url, accept_all, NULL, 0, 0);
	CT_TRY(ct_status(t, r, "404"));
}

static void t_manifest_digest_invalid(struct ct *t)
{
	/* Looks like a digest, is neither a digest nor a tag. */
	struct ct_resp *r =
		ct_do(t, "GET",
		      ct_printf(t, "/v2/%s/manifests/sha256:%s", ct_cfg(t)->ns,
				"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
				"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"),
		      accept_all, NULL, 0, 0);

	CT_TRY(ct_error(t, r, "400|404",
			"DIGEST_INVALID|MANIFEST_UNKNOWN|MANIFEST_INVALID|"
			"TAG_INVALID|NAME_INVALID",
			true));
}

static void t_blob(struct ct *t)
{
	const struct fx_base *b = fx_base_image(t);
	struct ct_resp *r;
	char dg[CT_DIGEST_MAX];
	const char *dcd;

	if (!b)
		return;
	r = ct_get(t, ct_printf(t, "/v2/%s/blobs/%s", ct_cfg(t)->ns,
				b->layer[1].digest));
	CT_TRY(ct_status(t, r, "200"));
	ct_digest("sha256", r->body, r->len, dg);
	CT_CHECK(t, !strcmp(dg, b->layer[1].digest),
		 "body (%zu bytes) has digest %s, asked for %s", r->len, dg,
		 b->layer[1].digest);
	/* "If present, the value of this header MUST be a digest matching
	 * that of the response body." */
	dcd = ct_hdr(r, "Docker-Content-Digest");
	CT_CHECK(t,
		 !dcd || !strcmp(dcd, dg) ||
			 (!strncmp(dcd, "sha512:", 7) &&
			  !strcmp(dcd,
				  ct_digest_s(t, "sha512", r->body, r->len))),
		 "Docker-Content-Digest %s does not match the body (%s)", dcd,
		 dg);
}

static void t_blob_head(struct ct *t)
{
	const struct fx_base *b = fx_base_image(t);
	struct ct_resp *r;

	if (!b)
		return;
	r = ct_head(t, ct_printf(t, "/v2/%s/blobs/%s", ct_cfg(t)->ns,
				 b->layer[0].digest));
	CT_TRY(ct_status(t, r, "200"));
	CT_CHECK(t, r->len == 0, "HEAD returned a body");
}

static void t_blob_unknown(struct ct *t)
{
	struct ct_resp *r =
		ct_get(t, ct_printf(t, "/v2/%s/blobs/%s", ct_cfg(t)->ns,
				    ct_digest_unknown(t)));

	CT_TRY(ct_error(t, r, "404", "BLOB_UNKNOWN", false));
}

static void t_blob_head_unknown(struct ct *t)
{
	struct ct_resp *r =
		ct_head(t, ct_printf(t, "/v2/%s/blobs/%s", ct_cfg(t)->ns,
				     ct_digest_unknown(t)));

	CT_TRY(ct_status(t, r, "404"));
}

static void t_blob_other_repo(struct ct *t)
{
	struct fx_blob b;
	struct ct_resp *r;

	CT_TRY(fx_push_random(t, ct_cfg(t)->ns2, 100, &b));
	r = ct_get(t, ct_printf(t, "/v2/%s/blobs/%s", ct_cfg(t)->ns, b.digest));
	CT_TRY(ct_error(t, r, "404", "BLOB_UNKNOWN", false));
}

static void t_blob_digest_invalid(struct ct *t)
{
	struct ct_resp *r = ct_get(t, ct_printf(t, "/v2/%s/blobs/sha256:%s",
						ct_cfg(t)->ns, "abc123"));

	CT_TRY(ct_error(t, r, "400|404", "DIGEST_INVALID|BLOB_UNKNOWN", true));
}

static void t_blob_digest_uppercase(struct ct *t)
{
	const struct fx_base *b = fx_base_image(t);
	struct ct_resp *r;
	char *upper;

	if (!b)
		return;
	upper = ct_strdup(t, b->layer[0].digest);
	for (char *p = upper + 7; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	r = ct_get(t, ct_printf(t, "/v2/%s/blobs/%s", ct_cfg(t)->ns, upper));
	CT_TRY(ct_error(t, r, "400|404", "DIGEST_INVALID|BLOB_UNKNOWN", true));
}

static void range(struct ct *t, const char *spec, size_t off, size_t len)
{
	const struct fx_base *b = fx_base_image(t);
	const struct fx_blob *l;
	const char *hdrs[2] = {NULL, NULL};
	struct ct_resp *r;
	const char *cr, *want;

	if (!b)
		return;
	l = &b->layer[1];
	hdrs[0] = ct_printf(t, "Range: bytes=%s", spec);
	r = ct_do(t, "GET",
		  ct_printf(t, "/v2/%s/blobs/%s", ct_cfg(t)->ns, l->digest),
		  hdrs, NULL, 0, 0);
	CT_TRY(ct_status(t, r, "206"));
	cr = ct_hdr(r, "Content-Range");
	want = ct_printf(t, "bytes %zu-%zu/%zu", off, off + len - 1, l->size);
	CT_CHECK(t, cr && !strcmp(cr, want), "Content-Range '%s', want '%s'",
		 cr ? cr : "(none)", want);
	CT_CHECK(t, same_bytes(r, l->data + off, len),
		 "body is not bytes %zu..%zu of the blob", off, off + len - 1);
}

static void t_blob_range(struct ct *t)
{
	range(t, "10-99", 10, 90);
}

static void t_blob_range_open(struct ct *t)
{
	range(t, "2900-", 2900, 100);
}

static void t_blob_range_suffix(struct ct *t)
{
	range(t, "-50", 2950, 50);
}

/* First n bytes of needle in hay[0..len), or NULL. */
static const char *find_bytes(const char *hay, size_t len, const char *needle,
			      size_t n)
{
	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(hay + i, needle, n))
			return hay + i;
	return NULL;
}

/* The parts of a multipart/byteranges body (RFC 9110 §14.6): calls
 * part(first, last) with each part's Content-Range and checks its bytes
 * against blob; returns the number of parts, -1 after a failure. */
static int multipart_parts(struct ct *t, const struct ct_resp *r,
			   const unsigned char *blob, size_t size,
			   size_t (*got)[2], size_t max)
{
	const char *ct = ct_hdr(r, "Content-Type"), *b, *p, *end, *next, *h;
	char *delim;
	size_t n = 0, dlen;
	unsigned long long a, z, total;

	b = ct ? strstr(ct, "boundary=") : NULL;
	if (!ct || strncmp(ct, "multipart/byteranges", 20) || !b) {
		ct_fail(t,
			"Content-Type '%s', want multipart/byteranges with "
			"a boundary",
			ct ? ct : "(none)");
		return -1;
	}
	b += 9;
	delim = ct_printf(t, "--%.*s", (int)strcspn(b, "; \""), b);
	dlen = strlen(delim);
	end = r->body + r->len;
	p = find_bytes(r->body, r->len, delim, dlen);
	while (p && p + dlen + 2 <= end && memcmp(p + dlen, "--", 2)) {
		h = p + dlen;
		p = find_bytes(h, (size_t)(end - h), "\r\n\r\n", 4);
		if (!p || n == max)
			break;
		/* The part's head: find its Content-Range. */
		a = z = total = 0;
		for (const char *l = h; l < p; l++)
			if (!strncasecmp(l, "\nContent-Range: bytes ", 22) &&
			    sscanf(l + 22, "%llu-%llu/%llu", &a, &z, &total) ==
				    3)
				break;
		p += 4;
		next = find_bytes(p, (size_t)(end - p), delim, dlen);
		if (!next || next - p < 2 || total != size || z < a ||
		    z >= size || (size_t)(next - p - 2) != z - a + 1 ||
		    memcmp(p, blob + a, z - a + 1)) {
			ct_fail(t, "part %zu: bad Content-Range or bytes", n);
			return -1;
		}
		got[n][0] = a;
		got[n][1] = z;
		n++;
		p = next;
	}
	if (!p || p + dlen + 2 > end || memcmp(p + dlen, "--", 2)) {
		ct_fail(t, "multipart body has no closing delimiter");
		return -1;
	}
	return (int)n;
}

/* GET of the base image's 3000-byte layer with Range: bytes=<spec>; NULL
 * without the base image (the failure is recorded). */
static struct ct_resp *layer_ranges(struct ct *t, const char *spec)
{
	const struct fx_base *b = fx_base_image(t);
	const char *hdrs[] = {ct_printf(t, "Range: bytes=%s", spec), NULL};

	if (!b)
		return NULL;
	return ct_do(t, "GET",
		     ct_printf(t, "/v2/%s/blobs/%s", ct_cfg(t)->ns,
			       b->layer[1].digest),
		     hdrs, NULL, 0, 0);
}

static void t_blob_multirange(struct ct *t)
{
	struct ct_resp *r = layer_ranges(t, "10-19,100-199,2990-");
	const size_t want[3][2] = {{10, 19}, {100, 199}, {2990, 2999}};
	size_t got[8][2];
	int n;

	if (!r)
		return;
	CT_TRY(ct_status(t, r, "206"));
	n = multipart_parts(t, r, fx_base_image(t)->layer[1].data, 3000, got,
			    8);
	if (n < 0)
		return;
	/* Disjoint ranges come back as asked: clients (podman's partial
	 * pulls) match the parts to the ranges they asked for in order. */
	CT_CHECK(t, n == 3, "%d parts, want 3", n);
	for (int i = 0; i < 3; i++)
		CT_CHECK(t, got[i][0] == want[i][0] && got[i][1] == want[i][1],
			 "part %d is %zu-%zu, want %zu-%zu", i, got[i][0],
			 got[i][1], want[i][0], want[i][1]);
}

/* The same bytes asked for again and again: the reply never carries more
 * of the blob than it has (RFC 9110 §14.2: coalesce, or ignore the
 * header and send it all). */
static void t_blob_multirange_overlap(struct ct *t)
{
	struct ct_resp *r = layer_ranges(t, "0-2999,0-2999,0-2999,0-2999");
	size_t got[8][2], sum = 0;
	int n;

	if (!r)
		return;
	CT_TRY(ct_status(t, r, "200|206"));
	if (r->status == 200 ||
	    strncmp(ct_hdr(r, "Content-Type") ? ct_hdr(r, "Content-Type") : "",
		    "multipart/", 10)) {
		CT_CHECK(t, r->len <= 3000, "%zu bytes for a 3000-byte blob",
			 r->len);
		return;
	}
	n = multipart_parts(t, r, fx_base_image(t)->layer[1].data, 3000, got,
			    8);
	if (n < 0)
		return;
	for (int i = 0; i < n; i++)
		sum += got[i][1] - got[i][0] + 1;
	CT_CHECK(t, sum <= 3000, "%zu bytes of parts for a 3000-byte blob",
		 sum);
}

static void t_blob_range_unsatisfiable(struct ct *t)
{
	const struct fx_base *b = fx_base_image(t);
	const char *hdrs[] = {"Range: bytes=5000-6000", NULL};
	struct ct_resp *r;
	const char *cr;

	if (!b)
		return;
	r = ct_do(t, "GET",
		  ct_printf(t, "/v2/%s/blobs/%s", ct_cfg(t)->ns,
			    b->layer[1].digest),
		  hdrs, NULL, 0, 0);
	CT_TRY(ct_status(t, r, "416"));
	cr = ct_hdr(r, "Content-Range");
	CT_CHECK(t, cr && !strcmp(cr, "bytes */3000"),
		 "Content-Range '%s', want 'bytes */3000' (RFC 9110 §14.4)",
		 cr ? cr : "(none)");
}

const struct ct_test ct_pull_tests[] = {
	{"pull/manifest-by-tag",
	 "§Pulling manifests, end-3: GET by tag MUST be 200 with the manifest",
	 t_manifest_by_tag},
	{"pull/manifest-by-digest",
	 "§Pulling manifests, end-3: GET by digest MUST be 200 with the "
	 "manifest",
	 t_manifest_by_digest},
	{"pull/manifest-content-type",
	 "§Pulling manifests: Content-Type SHOULD match the pushed type, "
	 "SHOULD NOT carry parameters",
	 t_manifest_content_type},
	{"pull/manifest-head-tag",
	 "§Checking if content exists, end-3: HEAD by tag MUST be 200",
	 t_manifest_head_tag},
	{"pull/manifest-head-digest",
	 "§Checking if content exists, end-3: HEAD by digest MUST be 200",
	 t_manifest_head_digest},
	{"pull/manifest-unknown-tag",
	 "§Pulling manifests: unknown tag MUST be 404; §Error Codes "
	 "MANIFEST_UNKNOWN",
	 t_manifest_unknown_tag},
	{"pull/manifest-unknown-digest",
	 "§Pulling manifests: unknown digest MUST be 404; §Error Codes "
	 "MANIFEST_UNKNOWN",
	 t_manifest_unknown_digest},
	{"pull/manifest-head-unknown",
	 "§Checking if content exists: unknown manifest MUST be 404",
	 t_manifest_head_unknown},
	{"pull/manifest-unknown-repo",
	 "§Pulling manifests: not in the repository MUST be 404; §Error "
	 "Codes NAME_UNKNOWN",
	 t_manifest_unknown_repo},
	{"pull/manifest-other-repo",
	 "§Pulling manifests: a manifest not in the repository MUST be 404 "
	 "(pushed only to the cross-mount repository)",
	 t_manifest_other_repo},
	{"pull/manifest-without-accept",
	 "§Pulling manifests: GET of an existing manifest MUST be 200 "
	 "(Accept is only a SHOULD of the client)",
	 t_manifest_without_accept},
	{"pull/manifest-invalid-tag",
	 "§Pulling manifests, end-3: GET/HEAD of a reference that is no "
	 "valid tag ('.INVALID_MANIFEST_NAME') is 404 MANIFEST_UNKNOWN",
	 t_manifest_invalid_tag},
	{"pull/manifest-digest-invalid",
	 "§Pulling manifests: <reference> MUST be a digest or a tag; a "
	 "malformed one is a client error (4xx), §Error Codes",
	 t_manifest_digest_invalid},
	{"pull/blob",
	 "§Pulling blobs, end-2: GET MUST be 200 with the blob; "
	 "Docker-Content-Digest, if present, MUST match the body",
	 t_blob},
	{"pull/blob-head",
	 "§Checking if content exists, end-2: HEAD MUST be 200", t_blob_head},
	{"pull/blob-unknown",
	 "§Pulling blobs: unknown blob MUST be 404; §Error Codes BLOB_UNKNOWN",
	 t_blob_unknown},
	{"pull/blob-head-unknown",
	 "§Checking if content exists: unknown blob MUST be 404",
	 t_blob_head_unknown},
	{"pull/blob-other-repo",
	 "§Pulling blobs: a blob not in the repository MUST be 404 (pushed "
	 "only to the cross-mount repository)",
	 t_blob_other_repo},
	{"pull/blob-digest-invalid",
	 "§Pulling blobs, end-2: malformed digest gives 400/404; §Error Codes "
	 "DIGEST_INVALID",
	 t_blob_digest_invalid},
	{"pull/blob-digest-uppercase",
	 "image-spec descriptor.md: a sha256 digest's hex MUST be lower "
	 "case; an upper-case one is no digest of anything here (400/404)",
	 t_blob_digest_uppercase},
	{"pull/blob-range",
	 "§Pulling blobs: SHOULD support Range (RFC 9110 §14.2): bytes=a-b",
	 t_blob_range},
	{"pull/blob-range-open",
	 "§Pulling blobs: SHOULD support Range (RFC 9110 §14.2): bytes=a-",
	 t_blob_range_open},
	{"pull/blob-range-suffix",
	 "§Pulling blobs: SHOULD support Range (RFC 9110 §14.1.2): bytes=-n",
	 t_blob_range_suffix},
	{"pull/blob-range-unsatisfiable",
	 "§Pulling blobs: SHOULD support Range: unsatisfiable range is 416 "
	 "(RFC 9110 §15.5.17)",
	 t_blob_range_unsatisfiable},
	{"pull/blob-multirange",
	 "§Pulling blobs: SHOULD support Range: several ranges are 206 "
	 "multipart/byteranges, parts in the order asked (RFC 9110 §14.6)",
	 t_blob_multirange},
	{"pull/blob-multirange-overlap",
	 "§Pulling blobs: overlapping ranges never make a reply longer than "
	 "the blob (RFC 9110 §14.2: coalesce or ignore them)",
	 t_blob_multirange_overlap},
	{NULL, NULL, NULL},
};
