/* t_upload.c: upload sessions: chunk order (416), status (end-13), unknown
 * sessions, cancel. */
#include <string.h>

#include "fixtures.h"

/* GET <loc>: 204 + Location + Range "0-<end>"; returns the Location. */
static char *status_ok(struct ct *t, const char *loc, size_t end)
{
	struct ct_resp *r = ct_get(t, loc);
	const char *range;
	char *want;

	if (ct_status(t, r, "204") < 0)
		return NULL;
	range = ct_hdr(r, "Range");
	want = ct_printf(t, "0-%zu", end);
	if (!range || strcmp(range, want) != 0) {
		ct_fail(t, "upload status: Range '%s', want '%s'",
			range ? range : "(none)", want);
		return NULL;
	}
	return ct_location(t, r);
}

static void t_status(struct ct *t)
{
	const unsigned char *data = ct_random(t, 100);
	char *loc = fx_start_upload(t, ct_cfg(t)->ns);

	CT_CHECK(t, loc, "no upload");
	loc = fx_chunk_ok(t, fx_patch(t, loc, data, 0, 100), 99);
	CT_CHECK(t, loc, "chunk");
	CT_CHECK(t, status_ok(t, loc, 99), "status");
}

static void t_out_of_order(struct ct *t)
{
	const unsigned char *data = ct_random(t, 200);
	char *loc = fx_start_upload(t, ct_cfg(t)->ns);

	CT_CHECK(t, loc, "no upload");
	/* The second chunk first: the first MUST begin at 0. */
	CT_TRY(ct_status(t, fx_patch(t, loc, data, 100, 100), "416"));
}

static void t_replayed(struct ct *t)
{
	const unsigned char *data = ct_random(t, 200);
	char *loc = fx_start_upload(t, ct_cfg(t)->ns);

	CT_CHECK(t, loc, "no upload");
	loc = fx_chunk_ok(t, fx_patch(t, loc, data, 0, 100), 99);
	CT_CHECK(t, loc, "first chunk");
	CT_TRY(ct_status(t, fx_patch(t, loc, data, 0, 100), "416"));
}

static void t_gap(struct ct *t)
{
	const unsigned char *data = ct_random(t, 200);
	char *loc = fx_start_upload(t, ct_cfg(t)->ns);

	CT_CHECK(t, loc, "no upload");
	loc = fx_chunk_ok(t, fx_patch(t, loc, data, 0, 100), 99);
	CT_CHECK(t, loc, "first chunk");
	CT_TRY(ct_status(t, fx_patch(t, loc, data, 150, 50), "416"));
}

static void t_range_length_mismatch(struct ct *t)
{
	const unsigned char *data = ct_random(t, 100);
	char *loc = fx_start_upload(t, ct_cfg(t)->ns);
	const char *hdrs[] = {"Content-Type: application/octet-stream",
			      "Content-Range: 0-199", NULL};
	struct ct_resp *r;

	CT_CHECK(t, loc, "no upload");
	/* Says 200 bytes, sends 100. */
	r = ct_do(t, "PATCH", loc, hdrs, data, 100, 0);
	CT_TRY(ct_status(t, r, "400|416"));
}

static void t_resume_after_416(struct ct *t)
{
	const char *ns = ct_cfg(t)->ns;
	const unsigned char *data = ct_random(t, 300);
	char *dg = ct_digest_s(t, "sha256", data, 300);
	char *loc = fx_start_upload(t, ns);
	struct ct_resp *r;

	CT_CHECK(t, loc, "no upload");
	loc = fx_chunk_ok(t, fx_patch(t, loc, data, 0, 100), 99);
	CT_CHECK(t, loc, "first chunk");
	CT_TRY(ct_status(t, fx_patch(t, loc, data, 0, 100), "416"));
	/* "To get the current status after a 416 error, issue a GET". */
	loc = status_ok(t, loc, 99);
	CT_CHECK(t, loc, "status after 416");
	loc = fx_chunk_ok(t, fx_patch(t, loc, data, 100, 200), 299);
	CT_CHECK(t, loc, "chunk after 416");
	r = fx_close(t, loc, dg, NULL, 0, 0, false);
	CT_TRY(ct_status(t, r, "201"));
	CT_TRY(fx_check_blob(t, ns, dg, data, 300));
}

/* An upload that existed and was completed: now unknown. */
static char *finished_upload(struct ct *t)
{
	const unsigned char *data = ct_random(t, 50);
	char *dg = ct_digest_s(t, "sha256", data, 50);
	char *loc = fx_start_upload(t, ct_cfg(t)->ns), *after;
	struct ct_resp *r;

	if (!loc)
		return NULL;
	after = fx_chunk_ok(t, fx_patch(t, loc, data, 0, 50), 49);
	if (!after)
		return NULL;
	r = fx_close(t, after, dg, NULL, 0, 0, false);
	if (ct_status(t, r, "201") < 0)
		return NULL;
	return after;
}

static void t_status_finished(struct ct *t)
{
	char *loc = finished_upload(t);

	CT_CHECK(t, loc, "setup");
	CT_TRY(ct_error(t, ct_get(t, loc), "404", "BLOB_UPLOAD_UNKNOWN",
			false));
}

static void t_patch_finished(struct ct *t)
{
	char *loc = finished_upload(t);
	const unsigned char *data = ct_random(t, 60);

	CT_CHECK(t, loc, "setup");
	/* The next chunk of the finished 50 bytes. */
	CT_TRY(ct_error(t, fx_patch(t, loc, data, 50, 10), "404",
			"BLOB_UPLOAD_UNKNOWN", false));
}

static void t_put_finished(struct ct *t)
{
	char *loc = finished_upload(t);

	CT_CHECK(t, loc, "setup");
	CT_TRY(ct_error(
		t, fx_close(t, loc, ct_digest_unknown(t), NULL, 0, 0, false),
		"404", "BLOB_UPLOAD_UNKNOWN", false));
}

static void t_unknown_session(struct ct *t)
{
	/* A session id the registry never gave out.  A registry may keep
	 * critical state in the Location's query, so a hand-made URL may
	 * also be refused as invalid. */
	struct ct_resp *r =
		ct_get(t, ct_printf(t, "/v2/%s/blobs/uploads/%s", ct_cfg(t)->ns,
				    "2f1b3c4d-5e6f-4a0b-8c9d-0e1f2a3b4c5d"));

	CT_TRY(ct_error(t, r, "404", "BLOB_UPLOAD_UNKNOWN|BLOB_UPLOAD_INVALID",
			false));
}

static void t_cancel(struct ct *t)
{
	const unsigned char *data = ct_random(t, 100);
	char *loc = fx_start_upload(t, ct_cfg(t)->ns);
	struct ct_resp *r;

	CT_CHECK(t, loc, "no upload");
	loc = fx_chunk_ok(t, fx_patch(t, loc, data, 0, 100), 99);
	CT_CHECK(t, loc, "chunk");
	r = ct_do(t, "DELETE", loc, NULL, NULL, 0, 0);
	CT_TRY(ct_status(t, r, "204"));
	CT_TRY(ct_error(t, ct_get(t, loc), "404", "BLOB_UPLOAD_UNKNOWN",
			false));
	/* Cancelled twice: the second one finds nothing. */
	r = ct_do(t, "DELETE", loc, NULL, NULL, 0, 0);
	CT_TRY(ct_error(t, r, "404", "BLOB_UPLOAD_UNKNOWN", false));
}

static void t_cancel_fresh(struct ct *t)
{
	char *loc = fx_start_upload(t, ct_cfg(t)->ns);
	struct ct_resp *r;

	CT_CHECK(t, loc, "no upload");
	r = ct_do(t, "DELETE", loc, NULL, NULL, 0, 0);
	CT_TRY(ct_status(t, r, "204"));
	CT_TRY(ct_error(t, ct_get(t, loc), "404", "BLOB_UPLOAD_UNKNOWN",
			false));
}

/* POST /v2/<ns>/blobs/uploads/?digest-algorithm=<alg> (end-4c). */
static struct ct_resp *alg_post(struct ct *t, const char *alg)
{
	return ct_do(t, "POST",
		     ct_printf(t, "/v2/%s/blobs/uploads/?digest-algorithm=%s",
			       ct_cfg(t)->ns, alg),
		     NULL, NULL, 0, 0);
}

/* end-4c: a session opened for sha512 closes with a sha512 digest. */
static void t_digest_algorithm(struct ct *t)
{
	struct ct_resp *r = alg_post(t, "sha512");
	const unsigned char *data = ct_random(t, 200);
	char *dg = ct_digest_s(t, "sha512", data, 200), *loc;

	CT_TRY(ct_status(t, r, "202"));
	loc = ct_location(t, r);
	CT_CHECK(t, loc, "no Location");
	loc = fx_chunk_ok(t, fx_patch(t, loc, data, 0, 200), 199);
	CT_CHECK(t, loc, "chunk");
	CT_TRY(ct_status(t, fx_close(t, loc, dg, NULL, 0, 0, false), "201"));
	CT_TRY(fx_check_blob(t, ct_cfg(t)->ns, dg, data, 200));
}

/* end-4c's failure status is 400: an algorithm the registry cannot hash
 * is refused before the blob is sent.  A registry that ignores the
 * parameter answers 202 (accepted unless --strict). */
static void t_digest_algorithm_unknown(struct ct *t)
{
	struct ct_resp *r = alg_post(t, "md5");

	if (r->status == 202 && !ct_cfg(t)->strict)
		return;
	CT_TRY(ct_error(t, r, "400", "DIGEST_INVALID|UNSUPPORTED", true));
}

const struct ct_test ct_upload_tests[] = {
	{"upload/status",
	 "§Pushing a blob in chunks, end-13: GET <location> MUST be 204 + "
	 "Location + Range 0-<end>",
	 t_status},
	{"upload/chunk-out-of-order",
	 "§Pushing a blob in chunks, end-5: a chunk out of order MUST be 416 "
	 "(first chunk not at 0)",
	 t_out_of_order},
	{"upload/chunk-replayed",
	 "§Pushing a blob in chunks, end-5: a chunk out of order MUST be 416 "
	 "(the same chunk twice)",
	 t_replayed},
	{"upload/chunk-gap",
	 "§Pushing a blob in chunks, end-5: a chunk MUST start at <end>+1, "
	 "else 416",
	 t_gap},
	{"upload/content-range-mismatch",
	 "§Pushing a blob in chunks: <range> is the chunk's byte range; a "
	 "Content-Range that disagrees with the body is refused (400/416)",
	 t_range_length_mismatch},
	{"upload/resume-after-416",
	 "§Pushing a blob in chunks: after 416, GET gives the offset (204 + "
	 "Range) and the upload goes on from there",
	 t_resume_after_416},
	{"upload/status-finished",
	 "end-13 404; §Error Codes BLOB_UPLOAD_UNKNOWN (status of a "
	 "completed upload)",
	 t_status_finished},
	{"upload/patch-finished",
	 "end-5 404; §Error Codes BLOB_UPLOAD_UNKNOWN (PATCH to a completed "
	 "upload)",
	 t_patch_finished},
	{"upload/put-finished",
	 "end-6 404; §Error Codes BLOB_UPLOAD_UNKNOWN (PUT to a completed "
	 "upload)",
	 t_put_finished},
	{"upload/unknown-session",
	 "end-13 404; §Error Codes BLOB_UPLOAD_UNKNOWN (an id never issued)",
	 t_unknown_session},
	{"upload/cancel",
	 "upload cancel: DELETE <location> is 204, then the session is "
	 "unknown (404 BLOB_UPLOAD_UNKNOWN) (distribution-spec main end-14; "
	 "Docker Registry API V2 'Canceling an Upload')",
	 t_cancel},
	{"upload/cancel-fresh",
	 "upload cancel of a session with no data: 204, then 404 "
	 "(distribution-spec main end-14)",
	 t_cancel_fresh},
	{"upload/digest-algorithm",
	 "distribution-spec main end-4c: POST ?digest-algorithm=sha512, "
	 "then PATCH and a PUT with a sha512 digest: 201, the blob by it",
	 t_digest_algorithm},
	{"upload/digest-algorithm-unknown",
	 "distribution-spec main end-4c: ?digest-algorithm=md5 is 400 "
	 "(202, ignored, unless --strict)",
	 t_digest_algorithm_unknown},
	{NULL, NULL, NULL},
};
