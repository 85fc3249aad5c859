/* err.h: error codes and the error detail that travels with them.
 *
 * Actions return int (0 on success, -1 on failure) and take a `struct err *`
 * as their last parameter.  err_set() stores a code and a message only if no
 * message is stored yet, so the innermost, most specific cause survives
 * (curl's Curl_failf).  It always returns -1, so `return err_set(...)`.
 * Passing e == NULL is allowed and discards the detail.
 */
#ifndef COMMON_ERR_H
#define COMMON_ERR_H

enum err_code {
	ERR_OK = 0,
	/* The 14 codes of the OCI distribution spec, in its order. */
	ERR_BLOB_UNKNOWN,
	ERR_BLOB_UPLOAD_INVALID,
	ERR_BLOB_UPLOAD_UNKNOWN,
	ERR_DIGEST_INVALID,
	ERR_MANIFEST_BLOB_UNKNOWN,
	ERR_MANIFEST_INVALID,
	ERR_MANIFEST_UNKNOWN,
	ERR_NAME_INVALID,
	ERR_NAME_UNKNOWN,
	ERR_SIZE_INVALID,
	ERR_UNAUTHORIZED,
	ERR_DENIED,
	ERR_UNSUPPORTED,
	ERR_TOOMANYREQUESTS,
	/* Ours: a range that does not fit: a chunk out of order, a Range
	 * past a blob's end (416). */
	ERR_RANGE_INVALID,
	/* Ours: a body or manifest over its size cap (413). */
	ERR_TOO_LARGE,
	/* Ours: a resource is busy (e.g. an upload written by another request).
	 */
	ERR_BUSY,
	/* Ours: the thing asked for does not exist (generic, non-OCI 404). */
	ERR_NOT_FOUND,
	/* Ours: bad input outside the spec's codes (400). */
	ERR_INVALID,
	/* Ours: an upstream registry failed or cannot be reached (502). */
	ERR_UPSTREAM,
	/* Ours: a repository over its storage quota (507, DENIED). */
	ERR_QUOTA,
	/* Legacy Docker codes (distribution's API spec), which the OCI spec
	 * says clients may meet: a bad `n` (400), a bad tag as `last`. */
	ERR_PAGINATION_INVALID,
	ERR_TAG_INVALID,
	/* Internal failures: 500 on the wire, detail only in the log. */
	ERR_IO,
	ERR_NOSPACE,
	ERR_DB,
	ERR_INTERNAL,
	ERR__COUNT
};

struct err {
	enum err_code code;
	char msg[256];
};

#define ERR_INIT                                                               \
	{                                                                      \
		ERR_OK, ""                                                     \
	}

/* Stores code and message unless a message is stored already; returns -1. */
int err_set(struct err *e, enum err_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like err_set(), appending ": strerror(errnum)"; ENOSPC/EDQUOT map to
 * ERR_NOSPACE whatever code is given. */
int err_errno(struct err *e, enum err_code code, int errnum, const char *fmt,
	      ...) __attribute__((format(printf, 4, 5)));

/* Forgets any stored error. */
void err_clear(struct err *e);

/* The code's wire string, the "code" of an error body ("BLOB_UNKNOWN");
 * internal and unknown codes give "UNKNOWN".  This is the one table of
 * wire names: registry/reply.c sends what it says. */
const char *err_code_name(enum err_code code);

#endif
