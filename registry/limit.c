/* limit.c: per-client token buckets (limit.h). */
#include "registry/limit.h"
#include "common/xmalloc.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/banned.h"

#define LIMIT_SLOTS    8192
#define LIMIT_PROBES   8
#define LIMIT_PEER_MAX 64

struct limit_slot {
	char peer[LIMIT_PEER_MAX]; /* "" = free */
	double tokens;
	double last;
};

struct reg_limit {
	double per_s;
	double burst;
	pthread_mutex_t lock;
	struct limit_slot *slots;
};

struct reg_limit *reg_limit_new(double per_s, int burst)
{
	struct reg_limit *l;

	if (per_s <= 0)
		return NULL;
	l = xcalloc(1, sizeof(*l));
	l->per_s = per_s;
	l->burst = burst < 1 ? 1 : burst;
	pthread_mutex_init(&l->lock, NULL);
	l->slots = xcalloc(LIMIT_SLOTS, sizeof(*l->slots));
	return l;
}

void reg_limit_free(struct reg_limit *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->lock);
	free(l->slots);
	free(l);
}

static size_t limit_hash(const char *peer)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *peer; peer++)
		h = (h ^ (unsigned char)*peer) * 1099511628211ULL;
	return (size_t)(h % LIMIT_SLOTS);
}

/* peer's slot, or the stalest of its probes made over to it. */
static struct limit_slot *limit_slot(struct reg_limit *l, const char *peer,
				     double now)
{
	struct limit_slot *s, *victim = NULL;
	size_t h = limit_hash(peer);

	for (size_t i = 0; i < LIMIT_PROBES; i++) {
		s = &l->slots[(h + i) % LIMIT_SLOTS];
		if (!strcmp(s->peer, peer))
			return s;
		if (!victim || !s->peer[0] ||
		    (victim->peer[0] && s->last < victim->last))
			victim = s;
	}
	snprintf(victim->peer, sizeof(victim->peer), "%s", peer);
	victim->tokens = l->burst;
	victim->last = now;
	return victim;
}

int reg_limit_take(struct reg_limit *l, const char *peer, double now)
{
	struct limit_slot *s;
	double wait;
	int ret = 0;

	if (!l || !peer)
		return 0;
	pthread_mutex_lock(&l->lock);
	s = limit_slot(l, peer, now);
	if (now > s->last) {
		s->tokens += (now - s->last) * l->per_s;
		if (s->tokens > l->burst)
			s->tokens = l->burst;
	}
	s->last = now;
	if (s->tokens >= 1) {
		s->tokens -= 1;
	} else {
		wait = ceil((1 - s->tokens) / l->per_s);
		ret = wait < 1 ? 1 : wait > 3600 ? 3600 : (int)wait;
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}
