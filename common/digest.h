/* digest.h: content digests ("sha256:<64 hex>", "sha512:<128 hex>").
 *
 * Parse at the edge: inner layers take a `struct digest`, never a raw string.
 * The hex part is kept lower-case and NUL-terminated.
 */
#ifndef COMMON_DIGEST_H
#define COMMON_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

enum digest_alg { DIGEST_SHA256, DIGEST_SHA512 };

/* "sha512:" + 128 hex + NUL */
#define DIGEST_STR_MAX 136

struct digest {
	enum digest_alg alg;
	char hex[129];
};

/* Parses s[0..len).  Fails with ERR_DIGEST_INVALID for a malformed digest or
 * an algorithm we do not support (message says which). */
int digest_parse(const char *s, size_t len, struct digest *out, struct err *e);
/* Writes "alg:hex" into out and returns out. */
const char *digest_str(const struct digest *d, char out[DIGEST_STR_MAX]);
const char *digest_alg_name(enum digest_alg alg);
/* "sha256" or "sha512" (s[0..len)) into *out; else ERR_DIGEST_INVALID. */
int digest_alg_parse(const char *s, size_t len, enum digest_alg *out,
		     struct err *e);
size_t digest_hex_len(enum digest_alg alg);
bool digest_eq(const struct digest *a, const struct digest *b);
/* A total order (algorithm, then hex): <0, 0 or >0, as strcmp(). */
int digest_cmp(const struct digest *a, const struct digest *b);
/* Sorts v[0..*n) by digest_cmp() and drops the repeats; *n becomes the
 * number left. */
void digest_sort_unique(struct digest *v, size_t *n);

/* Incremental hashing (OpenSSL).  hasher_new() never returns NULL. */
struct hasher;
struct hasher *hasher_new(enum digest_alg alg);
void hasher_update(struct hasher *h, const void *data, size_t len);
/* Finishes into out; the hasher may not be updated afterwards. */
void hasher_final(struct hasher *h, struct digest *out);
/* A copy of the running state (to peek at an intermediate digest). */
struct hasher *hasher_dup(const struct hasher *h);
void hasher_free(struct hasher *h);
/* The running state as bytes (at most HASHER_STATE_MAX), to resume with
 * hasher_load() later, in this process or another on this machine.
 * Returns the length, 0 if cap is too small. */
#define HASHER_STATE_MAX 256
size_t hasher_save(const struct hasher *h, unsigned char *out, size_t cap);
/* A hasher of alg resumed from hasher_save()'s bytes; NULL if they are not
 * a state of alg.  The caller frees it. */
struct hasher *hasher_load(enum digest_alg alg, const void *in, size_t len);

/* One-shot digest of a memory block. */
void digest_of(enum digest_alg alg, const void *data, size_t len,
	       struct digest *out);

#endif
