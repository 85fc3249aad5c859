/* reply_int.h: every reply the API sends goes through here.
 *
 * Each reply carries `Docker-Distribution-API-Version: registry/2.0`.
 * reg_reply_error() is the only writer of the spec's error body
 * {"errors":[{"code","message","detail"}]}.  A table maps each err_code to
 * an HTTP status and a log level (nginx's switch, as data); its wire code
 * is err_code_name()'s.
 * Internal codes (ERR_IO, ERR_DB, ERR_INTERNAL, ERR_NOSPACE) go out with a
 * generic message; their detail only reaches the log.
 */
#ifndef REGISTRY_REPLY_INT_H
#define REGISTRY_REPLY_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"

struct http_range;
struct http_req;
struct digest;
struct stor_manifest;

/* The wire code of a row is err_code_name()'s (common/err.c). */
struct reg_err_info {
	int status;	      /* HTTP status */
	const char *text;     /* the spec's description of the code */
	enum log_level level; /* level of the log line for this reply */
	bool internal;	      /* detail withheld from the client */
};

/* The row for code; ERR_OK and out-of-range codes give ERR_INTERNAL's. */
const struct reg_err_info *reg_err_info(enum err_code code);

/* Writes the JSON error body for e into out (cap 0 or large enough). */
int reg_error_body(const struct err *e, struct buf *out);

/* Logs e once (with the request id) and replies with its status and body.
 * A code without a message gets the table's text. */
void reg_reply_error(struct http_req *req, const struct err *e);
/* Shorthand: sets a fresh err and replies with it. */
void reg_reply_errorf(struct http_req *req, enum err_code code, const char *fmt,
		      ...) __attribute__((format(printf, 3, 4)));

/* A reply with no body (Content-Length: 0). */
void reg_reply_status(struct http_req *req, int status);
void reg_reply_mem(struct http_req *req, int status, const char *ctype,
		   const void *data, size_t len);
/* Serialises j (compact) as application/json; steals the reference. */
void reg_reply_json(struct http_req *req, int status, json_t *j);
void reg_reply_json_type(struct http_req *req, int status, const char *ctype,
			 json_t *j);
/* Sends [off, off + len) of fd; takes ownership of fd. */
void reg_reply_file(struct http_req *req, int status, const char *ctype, int fd,
		    off_t off, off_t len);
/* 206 multipart/byteranges of fd's ranges r[0..n); takes ownership of fd. */
void reg_reply_file_ranges(struct http_req *req, const char *ctype, int fd,
			   int64_t size, const struct http_range *r, int n);

/* Docker-Content-Digest and ETag, naming the manifest dg. */
void reg_reply_digest_headers(struct http_req *req, const struct digest *dg);
/* 200 with a manifest byte for byte, under the media type it was pushed
 * with, and its digest headers; a HEAD gets the headers alone.  Borrows
 * everything.  The one manifest reply of the API and the pull-through
 * cache. */
void reg_reply_manifest(struct http_req *req, const struct digest *dg,
			const char *media_type, const void *body, size_t len);
/* reg_reply_manifest() of a stored manifest, then frees m: the
 * reg_policy_serve_fn (policy.h) of every manifest GET and HEAD. */
void reg_reply_stored_manifest(struct http_req *req, struct stor_manifest *m);

#endif
