/* limit_int.h: the request rate of each client (a token bucket per peer
 * address), for --rate-limit and --rate-burst.
 *
 * The table has a fixed size and is open-addressed (a few probes, the
 * stalest slot taken over), so a flood of addresses costs neither memory
 * nor time; a client evicted that way merely starts with a full bucket.
 * Thread-safe.
 */
#ifndef REGISTRY_LIMIT_INT_H
#define REGISTRY_LIMIT_INT_H

struct reg_limit;

/* per_s requests a second on average, bursts of up to burst (at least 1).
 * per_s <= 0 gives NULL: no limit. */
struct reg_limit *reg_limit_new(double per_s, int burst);
void reg_limit_free(struct reg_limit *l);
/* One request of peer at monotonic time now (seconds): 0 if allowed,
 * else how many whole seconds until it would be (for Retry-After).  A
 * NULL limit allows everything. */
int reg_limit_take(struct reg_limit *l, const char *peer, double now);

#endif
