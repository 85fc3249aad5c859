/* slots.h: a small fixed-size table of records keyed by a string, for
 * per-client or per-repository state that may be forgotten (rate buckets,
 * quota caches).
 *
 * Open addressing: a key lives in one of SLOTS_PROBES slots from its
 * FNV-1a hash.  A key not there takes over a free slot among them, else
 * the stalest (lowest stamp, as the stamp callback reads it from the
 * value): a flood of keys costs neither memory nor time, and whoever is
 * evicted merely starts afresh.  Keys are compared and kept up to
 * key_max - 1 bytes (longer ones share a slot with their prefix).
 *
 * Not thread-safe: the caller holds its own lock around every call.  A
 * value pointer stays valid until the next slots_get() or slots_release().
 */
#ifndef COMMON_SLOTS_H
#define COMMON_SLOTS_H

#include <stdbool.h>
#include <stddef.h>

#define SLOTS_PROBES 8

/* How stale a value is: the lowest is evicted first. */
typedef double (*slots_stamp_fn)(const void *value);

struct slots {
	unsigned char *mem; /* count slots of size bytes */
	size_t count, size;
	size_t key_max; /* bytes of a key, its NUL included */
	size_t value_off;
	slots_stamp_fn stamp;
};

/* count slots of value_size-byte values, all free (zeroed). */
void slots_init(struct slots *t, size_t count, size_t key_max,
		size_t value_size, slots_stamp_fn stamp);
void slots_release(struct slots *t);

/* key's value, or NULL if it has no slot. */
void *slots_find(struct slots *t, const char *key);
/* key's value; a key without a slot takes one over, its value zeroed, and
 * *fresh says so (fresh may be NULL). */
void *slots_get(struct slots *t, const char *key, bool *fresh);

#endif
