/* t_push.c: §Pushing blobs: monolithic, single POST, chunked, mount. */
#include <ctype.h>
#include <string.h>

#include "fixtures.h"

static const char *const octet[] = {"Content-Type: application/octet-stream",
				    NULL};

static void t_monolithic(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	const unsigned char *data = ct_random(t, 2000);
	char *dg = ct_digest_s(t, "sha256", data, 2000), *loc;
	struct ct_resp *r;

	r = ct_do(t, "POST", ct_printf(t, "/v2/%s/blobs/uploads/", ns), NULL,
		  NULL, 0, 0);
	CT_TRY(ct_status(t, r, "202"));
	CT_CHECK(t, (loc = ct_location(t, r)) != NULL, "no Location");
	r = ct_do(t, "PUT", ct_url_param(t, loc, ct_printf(t, "digest=%s", dg)),
		  octet, data, 2000, 0);
	CT_TRY(ct_status(t, r, "201"));
	CT_CHECK(t, (loc = ct_location(t, r)) != NULL, "no Location");
	/* <blob-location> is "a pullable blob URL". */
	r = ct_get(t, loc);
	CT_TRY(ct_status(t, r, "200"));
	CT_CHECK(t, r->len == 2000 && !memcmp(r->body, data, 2000),
		 "GET of the returned Location gave other bytes");
	CT_TRY(fx_check_blob(t, ns, dg, data, 2000));
}

/* 8-4-4-4-12 hex digits (RFC 4122 text form) at p.  Stops at the NUL,
 * which is neither a hex digit nor '-'. */
static bool uuid_at(const char *p)
{
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? p[i] != '-' : !isxdigit((unsigned char)p[i]))
			return false;
	}
	return true;
}

static bool has_uuid(const char *s)
{
	for (; *s; s++)
		if (uuid_at(s))
			return true;
	return false;
}

static void t_location_uuid(struct ct *t)
{
	char *a = fx_start_upload(t, ct_cfg(t)->ns), *b;

	CT_CHECK(t, a, "no upload");
	b = fx_start_upload(t, ct_cfg(t)->ns);
	CT_CHECK(t, b, "no upload");
	CT_CHECK(t, strcmp(a, b) != 0, "two uploads got the same Location %s",
		 a);
	CT_CHECK(t, has_uuid(a), "Location %s contains no UUID", a);
}

static void t_single_post(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	const unsigned char *data = ct_random(t, 1500);
	char *dg = ct_digest_s(t, "sha256", data, 1500), *loc;
	struct ct_resp *r;

	r = ct_do(t, "POST",
		  ct_printf(t, "/v2/%s/blobs/uploads/?digest=%s", ns, dg),
		  octet, data, 1500, 0);
	CT_TRY(ct_status(t, r, "201|202"));
	CT_CHECK(t, (loc = ct_location(t, r)) != NULL, "no Location");
	if (r->status == 202) {
		/* Not supported: the registry hands out a session instead
		 * (SHOULD), and the client goes on with PUT. */
		if (ct_cfg(t)->strict)
			CT_CHECK(t, false,
				 "single-POST upload not supported "
				 "(202); --strict wants 201");
		ct_note(t, "single POST answered 202: completing with PUT");
		r = fx_close(t, loc, dg, data, 0, 1500, false);
		CT_TRY(ct_status(t, r, "201"));
	}
	CT_TRY(fx_check_blob(t, ns, dg, data, 1500));
}

enum final_chunk { FINAL_PATCH, FINAL_PUT_RANGE, FINAL_PUT_PLAIN };

static void chunked(struct ct *t, enum final_chunk final)
{
	const char *ns = ct_cfg(t)->ns;
	const unsigned char *data = ct_random(t, 2500);
	char *dg = ct_digest_s(t, "sha256", data, 2500);
	char *loc = fx_start_upload(t, ns);
	struct ct_resp *r;

	CT_CHECK(t, loc, "no upload");
	loc = fx_chunk_ok(t, fx_patch(t, loc, data, 0, 1000), 999);
	CT_CHECK(t, loc, "first chunk");
	if (final != FINAL_PATCH) {
		r = fx_close(t, loc, dg, data, 1000, 1500,
			     final == FINAL_PUT_RANGE);
	} else {
		loc = fx_chunk_ok(t, fx_patch(t, loc, data, 1000, 1500), 2499);
		CT_CHECK(t, loc, "second chunk");
		r = fx_close(t, loc, dg, NULL, 0, 0, false);
	}
	CT_TRY(ct_status(t, r, "201"));
	CT_CHECK(t, ct_location(t, r), "no Location");
	CT_TRY(fx_check_blob(t, ns, dg, data, 2500));
}

static void t_chunked(struct ct *t)
{
	chunked(t, FINAL_PATCH);
}

static void t_chunked_final_put(struct ct *t)
{
	chunked(t, FINAL_PUT_RANGE);
}

static void t_chunked_final_put_plain(struct ct *t)
{
	chunked(t, FINAL_PUT_PLAIN);
}

static void t_streamed_patch(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	const unsigned char *data = ct_random(t, 20000);
	char *dg = ct_digest_s(t, "sha256", data, 20000);
	char *loc = fx_start_upload(t, ns);
	struct ct_resp *r;

	CT_CHECK(t, loc, "no upload");
	/* What docker, containerd and containers/image do: one PATCH with
	 * the whole blob, chunked, no Content-Range. */
	r = ct_do(t, "PATCH", loc, octet, data, 20000, CT_STREAM);
	loc = fx_chunk_ok(t, r, 19999);
	CT_CHECK(t, loc, "streamed PATCH");
	r = fx_close(t, loc, dg, NULL, 0, 0, false);
	CT_TRY(ct_status(t, r, "201"));
	CT_TRY(fx_check_blob(t, ns, dg, data, 20000));
}

static void t_empty_blob(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	char dg[CT_DIGEST_MAX];
	struct ct_resp *r;
	const char *cl;

	CT_TRY(fx_push_blob(t, ns, "", 0, "sha256", dg));
	CT_CHECK(t,
		 !strcmp(dg, "sha256:"
			     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca"
			     "495991b7852b855"),
		 "digest of nothing is %s?", dg);
	r = ct_head(t, ct_printf(t, "/v2/%s/blobs/%s", ns, dg));
	CT_TRY(ct_status(t, r, "200"));
	cl = ct_hdr(r, "Content-Length");
	CT_CHECK(t, cl && !strcmp(cl, "0"), "HEAD Content-Length '%s', want 0",
		 cl ? cl : "(none)");
	CT_TRY(fx_check_blob(t, ns, dg, "", 0));
}

static void t_sha512_blob(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	const unsigned char *data = ct_random(t, 777);
	char dg[CT_DIGEST_MAX];
	struct ct_resp *r;
	const char *dcd;

	CT_TRY(fx_push_blob(t, ns, data, 777, "sha512", dg));
	CT_TRY(fx_check_blob(t, ns, dg, data, 777));
	r = ct_head(t, ct_printf(t, "/v2/%s/blobs/%s", ns, dg));
	CT_TRY(ct_status(t, r, "200"));
	dcd = ct_hdr(r, "Docker-Content-Digest");
	if (dcd) {
		/* May be another algorithm, but must match the content. */
		const char *alg =
			strncmp(dcd, "sha512:", 7) ? "sha256" : "sha512";
		char want[CT_DIGEST_MAX];

		ct_digest(alg, data, 777, want);
		CT_CHECK(t, !strcmp(dcd, want),
			 "Docker-Content-Digest %s does not match the blob",
			 dcd);
	}
}

static void t_reupload(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	const unsigned char *data = ct_random(t, 300);
	char dg[CT_DIGEST_MAX];

	CT_TRY(fx_push_blob(t, ns, data, 300, "sha256", dg));
	CT_TRY(fx_push_blob(t, ns, data, 300, "sha256", dg));
	CT_TRY(fx_check_blob(t, ns, dg, data, 300));
}

static void put_bad_digest(struct ct *t, const char *param, const char *codes)
{
	const unsigned char *data = ct_random(t, 100);
	char *loc = fx_start_upload(t, ct_cfg(t)->ns);
	struct ct_resp *r;

	CT_CHECK(t, loc, "no upload");
	r = ct_do(t, "PUT", param ? ct_url_param(t, loc, param) : loc, octet,
		  data, 100, 0);
	CT_TRY(ct_error(t, r, "400", codes, false));
}

static void t_put_digest_mismatch(struct ct *t)
{
	put_bad_digest(t, ct_printf(t, "digest=%s", ct_digest_unknown(t)),
		       "DIGEST_INVALID");
}

static void t_put_digest_missing(struct ct *t)
{
	put_bad_digest(t, NULL, "DIGEST_INVALID|BLOB_UPLOAD_INVALID");
}

static void t_put_digest_malformed(struct ct *t)
{
	put_bad_digest(t, "digest=sha256:not-hex", "DIGEST_INVALID");
}

static void t_put_digest_unsupported(struct ct *t)
{
	put_bad_digest(t, "digest=md5:0123456789abcdef0123456789abcdef",
		       "DIGEST_INVALID|UNSUPPORTED");
}

static void t_mount_from(struct ct *t)
{
	const struct ct_cfg *c = ct_cfg(t);
	struct fx_blob b;
	struct ct_resp *r;

	CT_TRY(fx_push_random(t, c->ns2, 600, &b));
	r = ct_do(t, "POST",
		  ct_printf(t, "/v2/%s/blobs/uploads/?mount=%s&from=%s", c->ns,
			    b.digest, c->ns2),
		  NULL, NULL, 0, 0);
	CT_TRY(ct_status(t, r, "201"));
	CT_CHECK(t, ct_location(t, r), "no Location");
	CT_TRY(fx_check_blob(t, c->ns, b.digest, b.data, b.size));
}

/* A 202 must be a usable upload session. */
static void check_session(struct ct *t, const struct ct_resp *r)
{
	char *loc = ct_location(t, r);
	struct ct_resp *s;

	CT_CHECK(t, loc, "202 without Location");
	s = ct_get(t, loc);
	CT_TRY(ct_status(t, s, "204"));
}

static void t_mount_without_from(struct ct *t)
{
	const struct ct_cfg *c = ct_cfg(t);
	struct fx_blob b;
	struct ct_resp *r;

	CT_TRY(fx_push_random(t, c->ns2, 600, &b));
	r = ct_do(
		t, "POST",
		ct_printf(t, "/v2/%s/blobs/uploads/?mount=%s", c->ns, b.digest),
		NULL, NULL, 0, 0);
	CT_TRY(ct_status(t, r, "201|202"));
	if (r->status == 201) {
		ct_note(t, "mounted without 'from'");
		CT_CHECK(t, ct_location(t, r), "no Location");
		CT_TRY(fx_check_blob(t, c->ns, b.digest, b.data, b.size));
		return;
	}
	ct_note(t, "no automatic mount: upload session instead");
	check_session(t, r);
}

static void t_mount_unknown(struct ct *t)
{
	const struct ct_cfg *c = ct_cfg(t);
	struct ct_resp *r;

	r = ct_do(t, "POST",
		  ct_printf(t, "/v2/%s/blobs/uploads/?mount=%s&from=%s", c->ns,
			    ct_digest_unknown(t), c->ns2),
		  NULL, NULL, 0, 0);
	CT_TRY(ct_status(t, r, "202"));
	check_session(t, r);
}

const struct ct_test ct_push_tests[] = {
	{"push/monolithic",
	 "§POST then PUT, end-4a/end-6: POST MUST be 202 + Location, PUT "
	 "MUST be 201 + Location (a pullable blob URL)",
	 t_monolithic},
	{"push/upload-location-uuid",
	 "§POST then PUT: the <location> MUST contain a UUID (a unique "
	 "session ID)",
	 t_location_uuid},
	{"push/single-post",
	 "§Single POST, end-4b: MAY; 201 + Location, or 202 + Location and "
	 "the client goes on with PUT",
	 t_single_post},
	{"push/chunked",
	 "§Pushing a blob in chunks, end-5/end-6: PATCH MUST be 202 + "
	 "Location + Range 0-<end>, closing PUT MUST be 201 + Location",
	 t_chunked},
	{"push/chunked-final-in-put",
	 "§Pushing a blob in chunks: the final chunk MAY come with the "
	 "closing PUT",
	 t_chunked_final_put},
	{"push/chunked-final-in-put-no-range",
	 "§Pushing a blob in chunks: the closing PUT's Content-Range is "
	 "only 'if present'; a final chunk without it",
	 t_chunked_final_put_plain},
	{"push/streamed-patch",
	 "client behaviour (docker, containerd, containers/image): one "
	 "PATCH, Transfer-Encoding: chunked, no Content-Range; end-5 202 + "
	 "Range",
	 t_streamed_patch},
	{"push/empty-blob",
	 "§Pushing blobs: the empty blob (0 bytes, sha256:e3b0...) is a "
	 "blob like any other; HEAD Content-Length 0",
	 t_empty_blob},
	{"push/sha512-blob",
	 "§Pushing blobs with a sha512 digest (image-spec descriptor.md "
	 "registered algorithm); Docker-Content-Digest MUST match the body",
	 t_sha512_blob},
	{"push/blob-twice",
	 "§Use Cases: Layer Upload De-duplication: pushing a known blob "
	 "again succeeds (201)",
	 t_reupload},
	{"push/put-digest-mismatch",
	 "end-6 400; §Error Codes DIGEST_INVALID: digest did not match the "
	 "uploaded content",
	 t_put_digest_mismatch},
	{"push/put-digest-missing",
	 "§Pushing a blob in chunks: the closing PUT MUST include the digest; "
	 "end-6 400",
	 t_put_digest_missing},
	{"push/put-digest-malformed",
	 "end-6 400; §Error Codes DIGEST_INVALID (malformed digest)",
	 t_put_digest_malformed},
	{"push/put-digest-unsupported",
	 "end-6 400; §Error Codes DIGEST_INVALID/UNSUPPORTED (md5 is no "
	 "registered algorithm)",
	 t_put_digest_unsupported},
	{"push/mount-from",
	 "§Mounting a blob from another repository, end-11: MUST be 201 + "
	 "Location; blob then pullable from <name>",
	 t_mount_from},
	{"push/mount-without-from",
	 "§Mounting a blob: the registry MAY treat 'from' as optional (201), "
	 "else 202 with an upload session",
	 t_mount_without_from},
	{"push/mount-unknown-blob",
	 "§Mounting a blob: unable to mount SHOULD be 202 with an upload "
	 "session",
	 t_mount_unknown},
	{NULL, NULL, NULL},
};
