/* parse_int.h: typed values from the edge of the API.
 *
 * Everything a client puts in a URL or a header is checked here once and
 * turned into a bounded, typed value; handlers and storage never see the
 * raw strings.  Inputs are (ptr, len) pairs and need not be NUL-terminated.
 * Parsers fill their output only on success and report failures with the
 * OCI code a reply should carry.
 */
#ifndef REGISTRY_PARSE_INT_H
#define REGISTRY_PARSE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/err.h"

/* A repository name: the spec's regex, at most 255 bytes. */
#define REG_NAME_MAX 255
/* A tag: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}. */
#define REG_TAG_MAX 128
/* An upload session id: [A-Za-z0-9_-], shorter than STOR_UPLOAD_ID_MAX. */
#define REG_UPLOAD_ID_MAX 39
/* A media type without parameters (RFC 6838 allows 127 + '/' + 127). */
#define REG_MEDIA_TYPE_MAX 255

/* A manifest reference: a tag or a digest. */
struct reg_ref {
	bool is_digest;
	struct digest digest;	   /* when is_digest */
	char tag[REG_TAG_MAX + 1]; /* when !is_digest */
};

/* [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)* */
bool reg_name_valid(const char *s, size_t len);
/* Copies a valid name into out; ERR_NAME_INVALID otherwise. */
int reg_parse_name(const char *s, size_t len, char out[REG_NAME_MAX + 1],
		   struct err *e);

bool reg_tag_valid(const char *s, size_t len);
/* A digest when s contains ':' (ERR_DIGEST_INVALID if malformed), else a
 * tag (ERR_MANIFEST_INVALID if malformed). */
int reg_parse_ref(const char *s, size_t len, struct reg_ref *out,
		  struct err *e);

bool reg_upload_id_valid(const char *s, size_t len);

/* Content-Range of a chunk: "a-b", inclusive, both decimal.  Malformed:
 * ERR_BLOB_UPLOAD_INVALID; b < a: ERR_RANGE_INVALID. */
int reg_parse_content_range(const char *s, size_t len, int64_t *start,
			    int64_t *end, struct err *e);

/* The `n` query parameter: NULL gives -1 (no limit); otherwise a decimal
 * integer >= 0, clamped to max_n.  ERR_PAGINATION_INVALID when
 * malformed. */
int reg_parse_page_n(const char *s, long max_n, long *out, struct err *e);
/* The `last` query parameter of tags/list (a tag) or _catalog (a name);
 * NULL or "" are fine (no `last`).  ERR_TAG_INVALID or ERR_NAME_INVALID
 * when malformed. */
int reg_parse_last(const char *s, bool is_tag, struct err *e);

/* A Content-Type value without its parameters and surrounding blanks,
 * into out.  An absent header gives "".  ERR_INVALID when too long or
 * not of the form type/subtype. */
int reg_parse_media_type(const char *s, char out[REG_MEDIA_TYPE_MAX + 1],
			 struct err *e);

#endif
