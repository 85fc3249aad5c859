/* lfstack.h: a stack that any thread pushes on and one taker empties
 * whole, without a lock (Treiber's push; the taker swaps the top out, so
 * there is no ABA).  For handing work between threads of different
 * priorities: a thread never waits for another that was preempted.
 *
 * A node is embedded first in the caller's struct; the taker gets the
 * nodes oldest first, linked by next, and owns them from then on. */
#ifndef COMMON_LFSTACK_H
#define COMMON_LFSTACK_H

#include <stdatomic.h>
#include <stdbool.h>

struct lfs_node {
	struct lfs_node *next;
};

struct lfstack {
	_Atomic(struct lfs_node *) top;
};

/* Pushes n; true if the stack was empty (the pusher wakes the taker). */
bool lfs_push(struct lfstack *s, struct lfs_node *n);
/* Takes every node: *first the oldest, *last the newest (NULL when the
 * stack was empty; *last untouched then). */
void lfs_take(struct lfstack *s, struct lfs_node **first,
	      struct lfs_node **last);

#endif
