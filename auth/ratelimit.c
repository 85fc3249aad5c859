/* ratelimit.c: failed logins per client address.
 *
 * A token bucket per peer: AUTH_RL_BURST failures are allowed, refilled
 * over AUTH_RL_WINDOW_S; the failure that empties the bucket blocks the
 * peer for AUTH_RL_BLOCK_S, doubling with each further block up to
 * AUTH_RL_BLOCK_MAX_S (the bucket does not refill while blocked, so the
 * first failure after a block starts the next one).  While blocked, no password
 * is even checked.  A peer quiet for AUTH_RL_BLOCK_MAX_S starts afresh.
 *
 * Besides, one bucket for all peers together (rl->budget failures a
 * window): a flood of bad logins from many addresses, each under its own
 * limit, still cannot keep the password checks busy.  A check takes a
 * failure from it before bcrypt runs (so checks in flight count too) and
 * gives it back when the password was good.
 *
 * The table is fixed-size and open-addressed (a few probes, the stalest
 * entry evicted), so a flood of addresses costs no memory and no time.
 */
#include "auth/auth_int.h"

#include "common/banned.h"

/* A blocked peer's last is the end of its block: it is evicted last. */
static double rl_stamp(const void *v)
{
	return (double)((const struct auth_rl_slot *)v)->last;
}

void auth_rl_init(struct auth_rl *rl)
{
	pthread_mutex_init(&rl->lock, NULL);
	slots_init(&rl->slots, AUTH_RL_SLOTS, AUTH_RL_PEER_MAX,
		   sizeof(struct auth_rl_slot), rl_stamp);
	rl->budget = 0;
	rl->gtokens = 0;
	rl->glast = 0;
}

void auth_rl_release(struct auth_rl *rl)
{
	if (!rl->slots.mem)
		return;
	pthread_mutex_destroy(&rl->lock);
	slots_release(&rl->slots);
}

/* The peer's slot, or with create a fresh one (evicting the stalest). */
static struct auth_rl_slot *rl_find(struct auth_rl *rl, const char *peer,
				    bool create)
{
	struct auth_rl_slot *s;
	bool fresh;

	if (!create)
		return slots_find(&rl->slots, peer);
	s = slots_get(&rl->slots, peer, &fresh);
	if (fresh)
		s->tokens = AUTH_RL_BURST;
	return s;
}

int auth_rl_wait(struct auth_rl *rl, const char *peer, time_t now)
{
	struct auth_rl_slot *s;
	int wait = 0;

	pthread_mutex_lock(&rl->lock);
	s = rl_find(rl, peer ? peer : "", false);
	if (s && s->blocked_until > now)
		wait = (int)(s->blocked_until - now);
	pthread_mutex_unlock(&rl->lock);
	return wait;
}

void auth_rl_fail(struct auth_rl *rl, const char *peer, time_t now)
{
	struct auth_rl_slot *s;
	time_t block;

	pthread_mutex_lock(&rl->lock);
	s = rl_find(rl, peer ? peer : "", true);
	if (s->last && now - s->last > AUTH_RL_BLOCK_MAX_S) {
		s->strikes = 0;
		s->tokens = AUTH_RL_BURST;
	} else if (s->last && now > s->last) {
		s->tokens += (double)(now - s->last) * AUTH_RL_BURST /
			     AUTH_RL_WINDOW_S;
		if (s->tokens > AUTH_RL_BURST)
			s->tokens = AUTH_RL_BURST;
	}
	s->last = now;
	s->tokens -= 1;
	if (s->tokens < 1) {
		block = (time_t)AUTH_RL_BLOCK_S
			<< (s->strikes < 10 ? s->strikes : 10);
		if (block > AUTH_RL_BLOCK_MAX_S)
			block = AUTH_RL_BLOCK_MAX_S;
		s->strikes++;
		s->blocked_until = now + block;
		/* Nothing refills during the block, so one more failure
		 * right after it blocks again, for longer. */
		s->tokens = 1;
		s->last = s->blocked_until;
	}
	pthread_mutex_unlock(&rl->lock);
}

/* With rl->lock held: refills the global bucket up to now. */
static void rl_global_refill(struct auth_rl *rl, time_t now)
{
	if (rl->glast && now > rl->glast) {
		rl->gtokens += (double)(now - rl->glast) * rl->budget /
			       AUTH_RL_WINDOW_S;
		if (rl->gtokens > rl->budget)
			rl->gtokens = rl->budget;
	}
	if (!rl->glast || now > rl->glast)
		rl->glast = now;
}

/* With rl->lock held: seconds until a whole token is there. */
static int rl_global_wait_locked(const struct auth_rl *rl)
{
	double missing = 1 - rl->gtokens;
	int wait;

	if (missing <= 0)
		return 0;
	wait = (int)(missing * AUTH_RL_WINDOW_S / rl->budget + 0.999);
	return wait > 0 ? wait : 1;
}

/* The wait before the next failed login; with take, a failure is taken
 * from the budget when there is no wait. */
static int rl_global(struct auth_rl *rl, time_t now, bool take)
{
	int wait;

	if (rl->budget <= 0)
		return 0;
	pthread_mutex_lock(&rl->lock);
	rl_global_refill(rl, now);
	wait = rl_global_wait_locked(rl);
	if (!wait && take)
		rl->gtokens -= 1;
	pthread_mutex_unlock(&rl->lock);
	return wait;
}

int auth_rl_global_wait(struct auth_rl *rl, time_t now)
{
	return rl_global(rl, now, false);
}

int auth_rl_global_take(struct auth_rl *rl, time_t now)
{
	return rl_global(rl, now, true);
}

void auth_rl_global_refund(struct auth_rl *rl)
{
	if (rl->budget <= 0)
		return;
	pthread_mutex_lock(&rl->lock);
	rl->gtokens += 1;
	if (rl->gtokens > rl->budget)
		rl->gtokens = rl->budget;
	pthread_mutex_unlock(&rl->lock);
}
