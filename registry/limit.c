/* limit.c: per-client token buckets (limit_int.h). */
#include "registry/limit_int.h"
#include "common/slots.h"
#include "common/xmalloc.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "common/banned.h"

#define LIMIT_SLOTS    8192
#define LIMIT_PEER_MAX 64

struct limit_slot {
	double tokens;
	double last;
};

struct reg_limit {
	double per_s;
	double burst;
	pthread_mutex_t lock;
	struct slots slots; /* peer -> struct limit_slot */
};

static double limit_stamp(const void *v)
{
	return ((const struct limit_slot *)v)->last;
}

struct reg_limit *reg_limit_new(double per_s, int burst)
{
	struct reg_limit *l;

	if (per_s <= 0)
		return NULL;
	l = xcalloc(1, sizeof(*l));
	l->per_s = per_s;
	l->burst = burst < 1 ? 1 : burst;
	pthread_mutex_init(&l->lock, NULL);
	slots_init(&l->slots, LIMIT_SLOTS, LIMIT_PEER_MAX,
		   sizeof(struct limit_slot), limit_stamp);
	return l;
}

void reg_limit_free(struct reg_limit *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->lock);
	slots_release(&l->slots);
	free(l);
}

/* peer's slot, or the stalest of its probes made over to it. */
static struct limit_slot *limit_slot(struct reg_limit *l, const char *peer,
				     double now)
{
	bool fresh;
	struct limit_slot *s = slots_get(&l->slots, peer, &fresh);

	if (fresh) {
		s->tokens = l->burst;
		s->last = now;
	}
	return s;
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
