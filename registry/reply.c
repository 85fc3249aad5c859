#include "registry/reply_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/digest.h"
#include "registry/http/http.h"
#include "storage/storage.h"
#include "common/xmalloc.h"
#include "common/banned.h"

/*
 * Status, text and log level of each code.  The wire code ("code" of the
 * body) is err_code_name()'s: common/err.c holds the one table of them
 * and says why each of ours goes out as it does.  ERR_TOO_LARGE (413,
 * e.g. a manifest over --max-manifest) is SIZE_INVALID rather than
 * MANIFEST_INVALID: the body was refused for its length before anyone
 * read it, and 413 carries the meaning.
 */
static const struct reg_err_info reg_err_table[ERR__COUNT] = {
	[ERR_BLOB_UNKNOWN] = {404, "blob unknown to registry", LL_INFO, false},
	[ERR_BLOB_UPLOAD_INVALID] = {400, "blob upload invalid", LL_INFO,
				     false},
	[ERR_BLOB_UPLOAD_UNKNOWN] = {404, "blob upload unknown to registry",
				     LL_INFO, false},
	[ERR_DIGEST_INVALID] = {400,
				"provided digest did not match uploaded "
				"content",
				LL_INFO, false},
	[ERR_MANIFEST_BLOB_UNKNOWN] = {400,
				       "manifest references a manifest or "
				       "blob unknown to registry",
				       LL_INFO, false},
	[ERR_MANIFEST_INVALID] = {400, "manifest invalid", LL_INFO, false},
	[ERR_MANIFEST_UNKNOWN] = {404, "manifest unknown to registry", LL_INFO,
				  false},
	[ERR_NAME_INVALID] = {400, "invalid repository name", LL_INFO, false},
	[ERR_NAME_UNKNOWN] = {404, "repository name not known to registry",
			      LL_INFO, false},
	[ERR_SIZE_INVALID] = {400,
			      "provided length did not match content length",
			      LL_INFO, false},
	[ERR_UNAUTHORIZED] = {401, "authentication required", LL_INFO, false},
	[ERR_DENIED] = {403, "requested access to the resource is denied",
			LL_INFO, false},
	[ERR_UNSUPPORTED] = {405, "the operation is unsupported", LL_INFO,
			     false},
	[ERR_TOOMANYREQUESTS] = {429, "too many requests", LL_WARN, false},
	[ERR_RANGE_INVALID] = {416, "invalid content range", LL_INFO, false},
	[ERR_TOO_LARGE] = {413, "payload too large", LL_INFO, false},
	[ERR_BUSY] = {409, "the upload is in use by another request", LL_WARN,
		      false},
	[ERR_NOT_FOUND] = {404, "no such endpoint", LL_INFO, false},
	[ERR_INVALID] = {400, "invalid request", LL_INFO, false},
	/* A pull-through cache's upstream; the message names it, never the
	 * credentials. */
	[ERR_UPSTREAM] = {502,
			  "the upstream registry failed or cannot be reached",
			  LL_WARN, false},
	/* --quota: the storage is there, this repository may not use it. */
	[ERR_QUOTA] = {507, "repository storage quota exceeded", LL_INFO,
		       false},
	[ERR_PAGINATION_INVALID] = {400, "invalid number of results requested",
				    LL_INFO, false},
	[ERR_TAG_INVALID] = {400, "invalid tag", LL_INFO, false},
	[ERR_IO] = {500, "internal server error", LL_ERROR, true},
	[ERR_NOSPACE] = {507, "insufficient storage", LL_ERROR, true},
	[ERR_DB] = {500, "internal server error", LL_ERROR, true},
	[ERR_INTERNAL] = {500, "internal server error", LL_ERROR, true},
};

/* The code a reply goes out with: an unknown code, or an error reply
 * without an error, is an internal error. */
static enum err_code reply_code(enum err_code code)
{
	if ((int)code <= 0 || code >= ERR__COUNT || !reg_err_table[code].text)
		return ERR_INTERNAL;
	return code;
}

const struct reg_err_info *reg_err_info(enum err_code code)
{
	return &reg_err_table[reply_code(code)];
}

/* Copies s into out[size] with control and non-ASCII bytes as '?': error
 * messages quote client input, and neither the JSON body (UTF-8 only) nor
 * a log line (one per event) may be broken by it. */
static const char *reply_clean(const char *s, char *out, size_t size)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < size; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[i] = '\0';
	return out;
}

int reg_error_body(const struct err *e, struct buf *out)
{
	const struct reg_err_info *info = reg_err_info(e->code);
	const char *wire = err_code_name(reply_code(e->code));
	const char *msg = info->internal || !e->msg[0] ? info->text : e->msg;
	char clean[sizeof(e->msg)];
	json_t *root, *list;
	char *s = NULL;
	int rc = -1;

	msg = reply_clean(msg, clean, sizeof(clean));
	list = json_array();
	json_array_append_new(list,
			      json_pack("{s:s, s:s, s:s}", "code", wire,
					"message", msg, "detail", info->text));
	root = json_pack("{s:o}", "errors", list);
	if (!root)
		goto out;
	s = json_dumps(root, JSON_COMPACT);
	if (!s)
		goto out;
	rc = buf_adds(out, s);
out:
	free(s);
	json_decref(root);
	return rc;
}

static void reply_api_header(struct http_req *req)
{
	http_reply_header(req, "Docker-Distribution-API-Version",
			  "registry/2.0");
}

void reg_reply_error(struct http_req *req, const struct err *e)
{
	const struct reg_err_info *info = reg_err_info(e->code);
	struct buf body = BUF_INIT;
	char path[256], msg[sizeof(e->msg)], *note;

	reply_clean(e->msg[0] ? e->msg : info->text, msg, sizeof(msg));
	/* A client's mistake is told once, on its access line; a fault of
	 * ours (warn, error) gets a line of its level as well. */
	if (info->level <= LL_INFO) {
		note = xasprintf("%s: %s", err_code_name(reply_code(e->code)),
				 msg);
		http_req_log_note(req, note);
		free(note);
	} else {
		http_req_logf(
			req, info->level, "%s %s: %d %s: %s",
			http_req_method_name(req),
			reply_clean(http_req_path(req), path, sizeof(path)),
			info->status, err_code_name(reply_code(e->code)), msg);
	}
	if (reg_error_body(e, &body) < 0)
		buf_reset(&body);
	reg_reply_mem(req, info->status, "application/json", body.buf,
		      body.len);
	buf_release(&body);
}

void reg_reply_errorf(struct http_req *req, enum err_code code, const char *fmt,
		      ...)
{
	struct err e = ERR_INIT;
	va_list ap;

	e.code = code;
	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	reg_reply_error(req, &e);
}

void reg_reply_status(struct http_req *req, int status)
{
	reply_api_header(req);
	http_reply(req, status, NULL);
}

void reg_reply_mem(struct http_req *req, int status, const char *ctype,
		   const void *data, size_t len)
{
	reply_api_header(req);
	http_reply_mem(req, status, ctype, data, len);
}

void reg_reply_json_type(struct http_req *req, int status, const char *ctype,
			 json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (!s) {
		reg_reply_errorf(req, ERR_INTERNAL, "cannot serialise reply");
		return;
	}
	reg_reply_mem(req, status, ctype, s, strlen(s));
	free(s);
}

void reg_reply_json(struct http_req *req, int status, json_t *j)
{
	reg_reply_json_type(req, status, "application/json", j);
}

void reg_reply_file(struct http_req *req, int status, const char *ctype, int fd,
		    off_t off, off_t len)
{
	reply_api_header(req);
	http_reply_file(req, status, ctype, fd, off, len);
}

void reg_reply_file_ranges(struct http_req *req, const char *ctype, int fd,
			   int64_t size, const struct http_range *r, int n)
{
	reply_api_header(req);
	http_reply_file_ranges(req, ctype, fd, size, r, n);
}

void reg_reply_digest_headers(struct http_req *req, const struct digest *dg)
{
	char s[DIGEST_STR_MAX], etag[DIGEST_STR_MAX + 2];

	digest_str(dg, s);
	snprintf(etag, sizeof(etag), "\"%s\"", s);
	http_reply_header(req, "Docker-Content-Digest", s);
	http_reply_header(req, "ETag", etag);
}

void reg_reply_manifest(struct http_req *req, const struct digest *dg,
			const char *media_type, const void *body, size_t len)
{
	reg_reply_digest_headers(req, dg);
	reg_reply_mem(req, 200, media_type, body, len);
}

void reg_reply_stored_manifest(struct http_req *req, struct stor_manifest *m)
{
	reg_reply_manifest(req, &m->digest, m->media_type, m->body, m->len);
	stor_manifest_free(m);
}
