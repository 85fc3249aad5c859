/* slots.c: the hashed slot table (slots.h). */
#include "common/slots.h"
#include "common/xmalloc.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/banned.h"

/* A slot: a used flag, the key, then the value at value_off. */
#define SLOT_KEY_OFF 1

static size_t slots_align(size_t n)
{
	size_t a = alignof(max_align_t);

	return (n + a - 1) / a * a;
}

void slots_init(struct slots *t, size_t count, size_t key_max,
		size_t value_size, slots_stamp_fn stamp)
{
	t->count = count ? count : 1;
	t->key_max = key_max > 1 ? key_max : 2;
	t->value_off = slots_align(SLOT_KEY_OFF + t->key_max);
	t->size = t->value_off + slots_align(value_size);
	t->stamp = stamp;
	t->mem = xcalloc(t->count, t->size);
}

void slots_release(struct slots *t)
{
	free(t->mem);
	t->mem = NULL;
}

/* The key as kept: at most key_max - 1 bytes. */
static size_t slots_key_len(const struct slots *t, const char *key)
{
	return strnlen(key, t->key_max - 1);
}

static size_t slots_hash(const struct slots *t, const char *key, size_t len)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)key[i]) * 1099511628211ULL;
	return (size_t)(h % t->count);
}

static bool slot_used(const unsigned char *s)
{
	return s[0] != 0;
}

static bool slot_is(const unsigned char *s, const char *key, size_t len)
{
	const char *k = (const char *)s + SLOT_KEY_OFF;

	return slot_used(s) && !memcmp(k, key, len) && !k[len];
}

/* key's slot; without it, the one to take over when victim is set. */
static unsigned char *slots_probe(struct slots *t, const char *key, size_t len,
				  unsigned char **victim)
{
	size_t h = slots_hash(t, key, len);
	unsigned char *s, *v = NULL;

	for (size_t i = 0; i < SLOTS_PROBES && i < t->count; i++) {
		s = t->mem + ((h + i) % t->count) * t->size;
		if (slot_is(s, key, len))
			return s;
		if (!v ||
		    (slot_used(v) &&
		     (!slot_used(s) ||
		      t->stamp(s + t->value_off) < t->stamp(v + t->value_off))))
			v = s;
	}
	if (victim)
		*victim = v;
	return NULL;
}

void *slots_find(struct slots *t, const char *key)
{
	unsigned char *s = slots_probe(t, key, slots_key_len(t, key), NULL);

	return s ? s + t->value_off : NULL;
}

void *slots_get(struct slots *t, const char *key, bool *fresh)
{
	size_t len = slots_key_len(t, key);
	unsigned char *s, *victim;

	s = slots_probe(t, key, len, &victim);
	if (fresh)
		*fresh = !s;
	if (!s) {
		s = victim;
		memset(s, 0, t->size);
		s[0] = 1;
		memcpy(s + SLOT_KEY_OFF, key, len);
	}
	return s + t->value_off;
}
