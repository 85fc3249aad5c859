#include "common/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int err_vset(struct err *e, enum err_code code, const char *fmt,
		    va_list ap, const char *suffix)
	__attribute__((format(printf, 3, 0)));

static int err_vset(struct err *e, enum err_code code, const char *fmt,
		    va_list ap, const char *suffix)
{
	size_t n;

	if (!e || e->code != ERR_OK)
		return -1;
	e->code = code;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	if (suffix) {
		n = strlen(e->msg);
		snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", suffix);
	}
	return -1;
}

int err_set(struct err *e, enum err_code code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(e, code, fmt, ap, NULL);
	va_end(ap);
	return -1;
}

int err_errno(struct err *e, enum err_code code, int errnum, const char *fmt,
	      ...)
{
	va_list ap;

	if (errnum == ENOSPC || errnum == EDQUOT)
		code = ERR_NOSPACE;
	va_start(ap, fmt);
	err_vset(e, code, fmt, ap, strerror(errnum));
	va_end(ap);
	return -1;
}

void err_clear(struct err *e)
{
	if (!e)
		return;
	e->code = ERR_OK;
	e->msg[0] = '\0';
}

/*
 * The wire codes.  A JSON error body MUST use one of the OCI spec's 14
 * codes; where none fits, the legacy Docker code CNCF distribution sends
 * (its API spec's table, which the OCI spec tells clients to expect), and
 * for the rest the nearest of the 14:
 * - ERR_RANGE_INVALID is RANGE_INVALID ("invalid content range", 416 in
 *   distribution): a chunk out of order, and a blob GET's unsatisfiable
 *   Range, which is about the range, not about an upload;
 * - a bad `n` is PAGINATION_NUMBER_INVALID, a bad tag as `last` is
 *   TAG_INVALID (a bad name is NAME_INVALID);
 * - ERR_BUSY (the upload is written by another request) is an upload
 *   problem; ERR_TOO_LARGE (413) is SIZE_INVALID: the body was refused
 *   for its length (reply.c says more);
 * - ERR_NOT_FOUND (no such endpoint) and ERR_INVALID (a bad parameter of
 *   our own endpoints, e.g. ?wait=) are UNSUPPORTED, which distribution
 *   describes as "unsupported due to a missing implementation or invalid
 *   set of parameters".  ERR_UNSUPPORTED itself is 405.
 */
static const char *const err_names[ERR__COUNT] = {
	[ERR_OK] = "OK",
	[ERR_BLOB_UNKNOWN] = "BLOB_UNKNOWN",
	[ERR_BLOB_UPLOAD_INVALID] = "BLOB_UPLOAD_INVALID",
	[ERR_BLOB_UPLOAD_UNKNOWN] = "BLOB_UPLOAD_UNKNOWN",
	[ERR_DIGEST_INVALID] = "DIGEST_INVALID",
	[ERR_MANIFEST_BLOB_UNKNOWN] = "MANIFEST_BLOB_UNKNOWN",
	[ERR_MANIFEST_INVALID] = "MANIFEST_INVALID",
	[ERR_MANIFEST_UNKNOWN] = "MANIFEST_UNKNOWN",
	[ERR_NAME_INVALID] = "NAME_INVALID",
	[ERR_NAME_UNKNOWN] = "NAME_UNKNOWN",
	[ERR_SIZE_INVALID] = "SIZE_INVALID",
	[ERR_UNAUTHORIZED] = "UNAUTHORIZED",
	[ERR_DENIED] = "DENIED",
	[ERR_UNSUPPORTED] = "UNSUPPORTED",
	[ERR_TOOMANYREQUESTS] = "TOOMANYREQUESTS",
	[ERR_RANGE_INVALID] = "RANGE_INVALID",
	[ERR_TOO_LARGE] = "SIZE_INVALID",
	[ERR_BUSY] = "BLOB_UPLOAD_INVALID",
	[ERR_NOT_FOUND] = "UNSUPPORTED",
	[ERR_INVALID] = "UNSUPPORTED",
	[ERR_UPSTREAM] = "UNKNOWN",
	[ERR_QUOTA] = "DENIED",
	[ERR_PAGINATION_INVALID] = "PAGINATION_NUMBER_INVALID",
	[ERR_TAG_INVALID] = "TAG_INVALID",
	[ERR_IO] = "UNKNOWN",
	[ERR_NOSPACE] = "UNKNOWN",
	[ERR_DB] = "UNKNOWN",
	[ERR_INTERNAL] = "UNKNOWN",
};

const char *err_code_name(enum err_code code)
{
	if ((int)code < 0 || code >= ERR__COUNT || !err_names[code])
		return "UNKNOWN";
	return err_names[code];
}
