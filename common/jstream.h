/* jstream.h: read a large JSON document as a stream of small jansson
 * values, in bounded memory.
 *
 * jansson loads a whole document; feeds such as the Debian Security
 * Tracker's JSON (~80 MB) or an NVD year file must not be.  jstream parses
 * with yajl's event API and builds only the values at one depth: each one
 * is handed to the callback with the keys leading to it, then freed.
 *
 *	{"curl": {"CVE-2024-1": {...}, "CVE-2024-2": {...}}, "zlib": {...}}
 *
 * with depth 2 gives ("curl", "CVE-2024-1") -> {...}, then ("curl",
 * "CVE-2024-2") -> {...}, ...; with depth 1 ("curl") -> the whole object.
 * Array elements have a NULL key.  Scalars above the depth (an envelope's
 * "format": "NVD_CVE") are handed over too, as they come.
 *
 * Budgets: one value may take at most max_value bytes of input (counted
 * from its first token), and nesting is capped at JSTREAM_MAX_DEPTH; past
 * either the parse fails with ERR_TOO_LARGE.
 */
#ifndef COMMON_JSTREAM_H
#define COMMON_JSTREAM_H

#include <jansson.h>
#include <stddef.h>

#include "common/err.h"

#define JSTREAM_MAX_DEPTH 64

/* keys[0..depth-1]: the keys leading to v (NULL for array elements).  v is
 * borrowed: take a reference to keep it.  A negative return stops the
 * parse; the callback has set e. */
typedef int (*jstream_fn)(void *ctx, const char *const *keys, size_t depth,
			  json_t *v, struct err *e);

struct jstream;

/* depth >= 1: the depth of the values handed over (the document is at
 * depth 0).  max_value: bytes of input one value may span; 0: no cap. */
struct jstream *jstream_new(size_t depth, size_t max_value, jstream_fn fn,
			    void *ctx);
void jstream_free(struct jstream *js);

/* Feeds the next bytes; then jstream_end() once at the end.  -1 with e set
 * on malformed JSON (with the byte offset), a budget, or the callback. */
int jstream_feed(struct jstream *js, const void *buf, size_t len,
		 struct err *e);
int jstream_end(struct jstream *js, struct err *e);

#endif
